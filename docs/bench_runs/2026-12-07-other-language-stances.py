"""The stances a run gives the comments of two non-English format samples (Chinese Disqus posts,
Indonesian YouTube comments), by the code on PYTHONPATH: before and after comments read as
another language got no stance (docs/stance.md, "English only").

    PYTHONPATH=<checkout> HF_HUB_OFFLINE=1 python docs/bench_runs/2026-12-07-other-language-stances.py OUT
"""
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

from pipeline.offline import go_offline

go_offline()
import pipeline  # noqa: E402
from pipeline import runner  # noqa: E402
from pipeline.config import load_config  # noqa: E402

FILES = ["../shared/data/formats/disqus/disqus_export_tanglei_trimmed_redacted.xml",
         "../shared/data/formats/youtube/ycd_2023_indonesian_abuabdirohman4_Test.jsonl"]
print("code:", Path(pipeline.__file__).parent)
with tempfile.TemporaryDirectory() as cache:
    for f in FILES:
        config = load_config(None, [f"output_dir={sys.argv[1]}/{Path(f).stem}", f"cache_dir={cache}"])
        folders = runner.run([str(Path(f).resolve())], config)
        stances = Counter()
        for folder in folders:
            for line in (folder / "comments.jsonl").read_text(encoding="utf-8").splitlines():
                stances[json.loads(line)["stance"]] += 1
        print(f"{Path(f).name}: {sum(stances.values())} comments in {len(folders)} threads: "
              + ", ".join(f"{k or 'none'} {v}" for k, v in stances.most_common()))

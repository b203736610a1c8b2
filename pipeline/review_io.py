"""review-import: the file I/O around pipeline.review."""
from __future__ import annotations

import json
from pathlib import Path

from pipeline import catalog, export, review
from pipeline.atomic import write_together
from pipeline.errors import PipelineError


def find_artifacts(review_file: Path, artifacts: Path | None) -> Path:
    folder = artifacts or (review_file.resolve().parent.parent
                           if review_file.resolve().parent.name == catalog.REVIEW else None)
    if folder is None or not (folder / catalog.COMMENTS_JSONL).exists():
        raise PipelineError("cannot find the run's comments.jsonl", path=folder or review_file,
                            hint="pass --artifacts artifacts/<dump name>")
    return folder


def import_review(review_file: Path, artifacts: Path | None) -> str:
    """Read the reviewed file, write the corrected labels and agreement; returns a summary."""
    if not review_file.is_file():
        raise PipelineError("no such file", path=review_file)
    folder = find_artifacts(review_file, artifacts)
    rows = export.read_jsonl(folder / catalog.COMMENTS_JSONL)
    reviewed = (review.read_review_csv(review_file) if review_file.suffix.lower() == ".csv"
                else review.read_label_studio(review_file))
    if not reviewed:
        raise PipelineError("no reviewed comments in the file", path=review_file,
                            hint="fill reviewed_stance / reviewed_topic_id, or annotate in Label Studio")
    result = review.agreement(rows, reviewed)
    out = folder / catalog.REVIEW
    out.mkdir(exist_ok=True)
    corrected = review.corrected_rows(rows, reviewed)
    training = review.stance_training_rows(rows, reviewed, _stance_target(folder))
    write_together({  # the three from one import, or the earlier three
        out / catalog.CORRECTED_LABELS: lambda path: export.write_csv(corrected, path, list(corrected[0])),
        out / catalog.AGREEMENT: lambda path: export.write_json(result, path),
        out / catalog.STANCE_LABELS: lambda path: export.write_jsonl(training, path)})
    return _summary(result, out)


def _stance_target(folder: Path) -> str:
    """The article as the stance stage read it, from the run's thread.json."""
    from pipeline.records import Article
    from pipeline.stance import article_target

    article = json.loads((folder / catalog.THREAD).read_text(encoding="utf-8"))["article"]
    return article_target(Article(**{**article, "paragraphs": tuple(article["paragraphs"])}))


def _summary(result: dict, out: Path) -> str:
    stance = result["stance"]
    lines = [f"stance: {stance['reviewed']} reviewed"]
    if stance["reviewed"]:
        lines[0] += f", accuracy {stance['accuracy']:.3f}, macro-F1 {stance['macro_f1']:.3f}"
    for topic_id, entry in result["topics"].items():
        lines.append(f"topic {topic_id} ({entry['label']}): {entry['kept']}/{entry['reviewed']} kept "
                     f"({entry['agreement']:.0%})")
    if result["unknown_ids"]:
        lines.append(f"{len(result['unknown_ids'])} reviewed ids not in this run: "
                     f"{', '.join(result['unknown_ids'][:5])}")
    lines.append(f"written: {out / catalog.CORRECTED_LABELS}, {out / catalog.AGREEMENT}, "
                 f"{out / catalog.STANCE_LABELS} (make train-stance LABELLED=...)")
    return "\n".join(lines)

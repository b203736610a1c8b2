"""UMAP's compiled code is kept under models_dir (pipeline/jit.py): a second
process loads it instead of compiling, and gets the same layout."""
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # two fresh processes, one of which compiles UMAP

FIT = r"""
import sys
import numpy as np
from numba.core.dispatcher import Dispatcher
from pipeline import jit
jit.use_folder(sys.argv[1])
UMAP = jit.umap_class()
X = np.random.default_rng(0).normal(size=(120, 32)).astype(np.float32)
Y = UMAP(n_neighbors=10, n_components=2, metric="cosine", random_state=42, n_jobs=1).fit_transform(X)
np.save(sys.argv[2], Y)
hits = misses = 0  # numba's own count of compiled code loaded from its cache, and not found there
for name, module in list(sys.modules.items()):
    if module is not None and name.split(".")[0] in ("umap", "pynndescent"):
        for value in vars(module).values():
            if isinstance(value, Dispatcher):
                hits += sum(value.stats.cache_hits.values())
                misses += sum(value.stats.cache_misses.values())
print(hits, misses)
"""


def test_a_second_process_loads_umaps_compiled_code_and_gets_the_same_layout(tmp_path):
    folder = tmp_path / "numba"
    runs = [subprocess.run([sys.executable, "-c", FIT, str(folder), str(tmp_path / f"y{i}.npy")],
                           cwd=ROOT, capture_output=True, text=True, timeout=300) for i in (1, 2)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    assert any(folder.rglob("*.nbi")) and any(folder.rglob("*.nbc"))  # numba's index and code files
    (hits_1, misses_1), (hits_2, misses_2) = (map(int, r.stdout.split()[-2:]) for r in runs)
    assert misses_1 > 0 and hits_2 > hits_1 and misses_2 < misses_1  # the second loaded what the first compiled
    np.testing.assert_array_equal(np.load(tmp_path / "y1.npy"), np.load(tmp_path / "y2.npy"))

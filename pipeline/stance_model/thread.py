"""The reply tree in a comment's stance: what a reply inherits from the comment it answers."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.stance_model.features import n_tokens


def propagate_from_parent(p_text: np.ndarray, p_parent: np.ndarray, p_reply: np.ndarray,
                          gate: np.ndarray) -> np.ndarray:
    """A reply that agrees with its parent inherits the parent's stance toward the article,
    one that disagrees inherits it with agree and disagree swapped, a neutral one keeps
    its own reading. `gate` (per row, in [0, 1]) says how far to trust the inheritance."""
    p_text, p_parent, p_reply = (np.asarray(a, np.float64) for a in (p_text, p_parent, p_reply))
    flip = p_parent[:, [1, 0, 2, 3, 4]]
    inherited = p_reply[:, [0]] * p_parent + p_reply[:, [1]] * flip + p_reply[:, [2]] * p_text
    g = np.asarray(gate, np.float64)[:, None]
    return (1 - g) * p_text + g * inherited


def short_text_gate(texts: Sequence[str], max_tokens: int = 8) -> np.ndarray:
    """1 for replies of up to `max_tokens` tokens, falling linearly to 0 at twice that."""
    n = n_tokens(texts)
    return np.clip((2 * max_tokens - n) / max_tokens, 0.0, 1.0)


def adapt_priors(P: np.ndarray, reference: np.ndarray, iterations: int = 100, tol: float = 1e-6) -> np.ndarray:
    """Posteriors re-weighted to one thread's own label mix (Saerens, Latinne and
    Decaestecker 2002): EM re-estimates the thread's priors from the posteriors,
    starting from `reference`, the mix the model's outputs have on its training
    sources, and rescales every row by new / reference priors."""
    P = np.asarray(P, np.float64)
    if len(P) == 0:
        return P
    ref = np.maximum(np.asarray(reference, np.float64), 1e-6)
    priors = ref.copy()
    for _ in range(iterations):
        Q = P * (priors / ref)
        Q /= Q.sum(1, keepdims=True)
        new = Q.mean(0)
        if np.abs(new - priors).max() < tol:
            priors = new
            break
        priors = new
    Q = P * (priors / ref)
    return Q / Q.sum(1, keepdims=True)

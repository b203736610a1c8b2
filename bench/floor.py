"""The compute floor of the embedding stage on this machine.

A BERT-style encoder does, per token and layer, the Q, K, V and output
projections (4 d^2 multiply-adds), the feed-forward block (2 d f), and
attention over the L tokens of its sequence (2 L d): FLOPs are twice the
multiply-adds. Summed over the corpus's word pieces (truncated as the stage
truncates them), divided by the rate this machine multiplies float32
matrices of the model's shapes, that is the time no implementation of this
model in float32 can beat; int8 has a higher ceiling. Padding is counted
apart: length-sorted batches keep it small.
"""
from __future__ import annotations

import json
import time
from pathlib import Path


def matmul_gflops(d: int, f: int, rows: int = 4096, seconds: float = 3.0) -> float:
    """float32 GFLOP/s of (rows x d) @ (d x f), torch with its default threads."""
    import torch

    a, b = torch.randn(rows, d), torch.randn(d, f)
    for _ in range(3):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * rows * d * f * count / (time.perf_counter() - start) / 1e9


def model_flops(model_path: str, texts: list[str], max_seq_length: int, batch_size: int) -> dict:
    """FLOPs to embed texts: on the real word pieces, and as length-sorted batches pad them."""
    from transformers import AutoTokenizer

    config = json.loads((Path(model_path) / "config.json").read_text())
    layers, d, f = config["num_hidden_layers"], config["hidden_size"], config["intermediate_size"]
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_seq_length)["input_ids"]]

    def flops(length: int) -> float:  # one sequence of `length` tokens
        return 2 * layers * length * (4 * d * d + 2 * d * f + 2 * length * d)

    real = sum(flops(n) for n in lengths)
    ordered = sorted(lengths, reverse=True)
    padded = sum(len(ordered[i:i + batch_size]) * flops(ordered[i])
                 for i in range(0, len(ordered), batch_size))
    return {"tokens": sum(lengths), "flops": real, "padded_flops": padded, "d": d, "f": f,
            "layers": layers}

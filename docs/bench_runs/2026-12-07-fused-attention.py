"""The embedding graphs before and after attention fusion, on this machine:
texts a second and cosine to the float32 graph's vectors, on 300 long posts and
2,000 comments of the bench's corpora, at batch sizes 16 and 64.

    .venv/bin/python docs/bench_runs/2026-12-07-fused-attention.py  (about 4 minutes on 2 cores)

'unfused' is the recipe before (r1: the model exported with PyTorch's default
attention, which ONNX Runtime does not fuse, then quantised); 'fused' is what
pipeline.backends builds now (r2)."""
import logging
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.corpus import long_texts, sample_comments  # noqa: E402
from pipeline.backends import ONNX_FILE, ONNX_INT8_FILE, OnnxEncoder, export_onnx  # noqa: E402
from pipeline.models import resolve_model_path  # noqa: E402


def unfused(model_path: str, folder: Path) -> dict[str, Path]:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    model, tokenizer = AutoModel.from_pretrained(model_path).eval(), AutoTokenizer.from_pretrained(model_path)
    sample = tokenizer(["an example", "a longer example sentence"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Pooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            given = dict(zip(names, inputs))
            tokens = self.inner(**given).last_hidden_state
            mask = given["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            return torch.nn.functional.normalize((tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9), p=2, dim=1)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pooled(model), tuple(sample[n] for n in names), str(folder / "fp32.onnx"), dynamo=False,
                          opset_version=17, input_names=names, output_names=["sentence_embedding"],
                          dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names},
                                        "sentence_embedding": {0: "batch"}})
    logging.getLogger().setLevel(logging.ERROR)
    quantize_dynamic(str(folder / "fp32.onnx"), str(folder / "int8.onnx"), weight_type=QuantType.QInt8,
                     per_channel=True, reduce_range=False,
                     extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})
    return {"unfused fp32": folder / "fp32.onnx", "unfused int8": folder / "int8.onnx"}


def main() -> None:
    model_path = resolve_model_path("all-MiniLM-L6-v2")
    long, _ = long_texts()
    random.Random(0).shuffle(long)
    corpora = {"300 long posts": long[:300], "2,000 comments": sample_comments(2000)[0]}
    with tempfile.TemporaryDirectory() as tmp:
        graphs = unfused(model_path, Path(tmp))
        built = export_onnx(model_path, Path(tmp) / "r2")
        graphs.update({"fused fp32": built / ONNX_FILE, "fused int8": built / ONNX_INT8_FILE})
        for corpus, texts in corpora.items():
            reference = None
            for batch in (64, 16):
                for name, graph in graphs.items():
                    if batch == 16 and "fp32" in name:
                        continue
                    encoder = OnnxEncoder(model_path, graph, 256, batch)
                    encoder.encode(texts[:batch])
                    start = time.perf_counter()
                    vectors = encoder.encode(texts)
                    seconds = time.perf_counter() - start
                    if reference is None:
                        reference = vectors
                    cos = (vectors * reference).sum(axis=1)
                    print(f"{corpus:15} batch {batch:3} {name:13} {seconds:6.1f} s {len(texts) / seconds:6.1f}/s"
                          f"  cosine to unfused fp32: mean {cos.mean():.5f} min {cos.min():.4f}", flush=True)


if __name__ == "__main__":
    main()

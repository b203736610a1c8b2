"""Embedding backends other than PyTorch, built offline from the packaged model.

- `onnx`, `onnx-int8`: the model with its mean pooling and L2 normalisation
  exported to one ONNX graph (torch.onnx, no optimum: sentence-transformers'
  own `backend="onnx"` needs optimum-onnx, which does not install beside
  transformers 5), its attention, layer norms and GELUs fused into ONNX
  Runtime's own operators where the model is a BERT (onnxruntime.transformers;
  kept only where the fused graph gives the exported graph's vectors), and a
  copy with int8 weights (onnxruntime dynamic quantisation, per channel: per
  tensor loses too much; the fused attention becomes int8 attention). Run
  with ONNX Runtime on length-sorted batches.
- `static`: a static embedding model distilled from the packaged model with
  model2vec (a vector per word piece, averaged): thousands of texts per
  second, at a cost in quality that `make bench` measures.

Each is built once, on first use, into `<models_dir>/<name>/`, written to
a temporary folder and renamed into place, so a killed build leaves nothing;
its `done` file lists the sha256 of every file built, checked before each
use, so a graph or model file damaged since is built again.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError
from pipeline.machine import usable_cpus

log = logging.getLogger("pipeline")
BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8", "static")  # embed.backend, besides auto (machine.auto_backend)
ONNX_FILE = "model_pooled.onnx"
ONNX_INT8_FILE = "model_pooled_qint8.onnx"
STATIC_DIMENSIONS = 256
# how each backend is built (export options, fusion, quantisation, distillation); a change
# here gives new model folders and new embedding-cache entries instead of reusing old ones.
# onnx r2: attention fused before quantising (r1: unfused; docs/benchmarks.md). Both onnx
# backends come from one build (one folder), so they share its recipe.
ONNX_RECIPE = "r2"
RECIPES = {"torch-bf16": "r1", "onnx": ONNX_RECIPE, "onnx-int8": ONNX_RECIPE, "static": "r1"}
FUSION_TOLERANCE = 1e-4  # largest difference in any vector component the fused fp32 graph may give
INT8_CHECK_FILE = "int8_check.json"  # the int8 graph's cosines to the fp32 graph's on PROBE_TEXTS, from its build
# the mean cosine below which a run on the int8 graph warns (the packaged MiniLM: 0.986, 0.964 at
# worst, on "lol"; its stance slices within 0.01 of PyTorch's, docs/benchmarks.md)
INT8_MIN_COSINE = 0.97
PROBE_TEXTS = ("A short one.", "A longer comment, padded less than the short one, with a question? " * 4,
               "Ünïcödé and numbers 12,345 — and a link https://example.org",
               "lol", "I could not agree more with every word of this.",
               "This is nonsense, and whoever wrote it knows that.", "What time does the game start tonight?",
               "The council voted seven to two to fund the new bike lane on Elm Street next spring.")


def _intact(folder: Path, needed: Sequence[str] | None) -> bool:
    """The build in `folder` finished (its `done` lists its files' sha256) and
    the files a run loads from it (`needed`; None: all) are as built."""
    from pipeline.stage_cache import sha256_of

    try:
        built = json.loads((folder / "done").read_text(encoding="utf-8"))["files"]
        return bool(built) and all(sha256_of(folder / name) == built[name] for name in needed or built)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _listed(folder: Path) -> bool:
    """`done` is there and lists the files built."""
    try:
        return bool(json.loads((folder / "done").read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _built(folder: Path, build, needed: Sequence[str] | None = None) -> Path:
    """`folder`, built by `build(tmp_folder)` unless it is there already with
    the files in `needed` intact. A damaged or unfinished build (a file
    truncated, altered, or from before the checksums) is built again."""
    from pipeline.stage_cache import sha256_of

    if _intact(folder, needed):
        return folder
    try:
        if folder.exists():
            if _listed(folder):
                log.warning("embed: %s is damaged (a file differs from its checksum); building it again",
                            folder)
            elif (folder / "done").exists():
                log.info("embed: %s was built before builds kept checksums; building it again", folder)
            aside = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
            with contextlib.suppress(OSError):
                os.replace(folder, aside)
            shutil.rmtree(aside, ignore_errors=True)
        tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
        tmp.mkdir(parents=True)
    except OSError as error:
        raise PipelineError(f"cannot build the model in models_dir: {error.strerror or error}", path=folder,
                            hint="set models_dir to a writable folder") from None
    try:
        build(tmp)
        files = {p.name: sha256_of(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        (tmp / "done").write_text(json.dumps({"files": files}, indent=1) + "\n", encoding="utf-8")
        try:
            os.replace(tmp, folder)
        except OSError:  # another run built it first
            if not _intact(folder, needed):
                raise
    except OSError as error:
        raise PipelineError(f"cannot build the model in models_dir: {error.strerror or error}", path=folder,
                            hint="set models_dir to a writable folder with space") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _check_mean_pooling(model_path: str) -> None:
    for config in Path(model_path).glob("*_Pooling/config.json"):
        if json.loads(config.read_text()).get("pooling_mode_mean_tokens"):
            return
    raise PipelineError("the onnx backends export mean-pooled models only", path=model_path,
                        hint="use embed.backend: torch for this model")


def export_onnx(model_path: str, folder: Path, graph: str = ONNX_INT8_FILE) -> Path:
    """The fp32 and int8 ONNX graphs of a mean-pooled sentence-transformers
    model; `graph`, the one a run loads, is checked against its checksum."""
    _check_mean_pooling(model_path)

    def build(tmp: Path) -> None:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel, AutoTokenizer

        log.info("embed: exporting %s to ONNX (once, into %s)", model_path, folder)
        # eager attention exports as the MatMul/Softmax pattern ONNX Runtime's fusion recognises
        # (scaled-dot-product attention exports as a pattern it does not)
        model = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()
        tokenizer = AutoTokenizer.from_pretrained(model_path)

        class Pooled(torch.nn.Module):
            def __init__(self, inner) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, *inputs):
                given = dict(zip(names, inputs))
                attention_mask = given["attention_mask"]
                tokens = self.inner(**given).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
                mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(mean, p=2, dim=1)

        sample = tokenizer(["an example", "a longer example sentence"], padding=True, return_tensors="pt")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
        exported = tmp / "exported.onnx"
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(Pooled(model), tuple(sample[n] for n in names), str(exported),
                              dynamo=False, opset_version=17, input_names=names,
                              output_names=["sentence_embedding"],
                              dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names},
                                            "sentence_embedding": {0: "batch"}})
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # onnxruntime advises pre-processing on the root logger
        try:
            unfused = _fuse(exported, tmp / ONNX_FILE, model.config, model_path)
            quantize_dynamic(str(tmp / ONNX_FILE), str(tmp / ONNX_INT8_FILE), weight_type=QuantType.QInt8,
                             per_channel=True, reduce_range=False,
                             extra_options={"WeightSymmetric": True, "ActivationSymmetric": False,
                                            "DefaultTensorType": 1})  # float, for the fused operators' outputs
        finally:
            root.setLevel(level)
        (tmp / INT8_CHECK_FILE).write_text(json.dumps(_int8_agreement(tmp, model_path)) + "\n", encoding="utf-8")
        if unfused:  # logged here: the root logger's level above would hide it
            log.warning("embed: the ONNX graph runs unfused (%s)", unfused)

    return _built(folder, build, (graph,))


def _fuse(exported: Path, target: Path, config, model_path: str) -> str | None:
    """`target`: the exported graph with ONNX Runtime's fused attention, layer
    norms and GELUs (1.2 to 1.3 times as fast in fp32, 1.1 to 1.6 times in
    int8 on 2026-12-07's AMD EPYC, docs/benchmarks.md), where the model is a
    BERT and the fused graph's vectors match the exported graph's within
    FUSION_TOLERANCE on a padded batch; else the exported graph as it is, and
    why (None: fused; a model that is not a BERT is not tried and says nothing).
    `exported` is moved or removed, and nothing else is left beside `target`."""
    if getattr(config, "model_type", "") != "bert":
        os.replace(exported, target)
        return None
    fused = target.with_name("fused.onnx")
    why = None
    try:
        from onnxruntime.transformers import optimizer

        optimized = optimizer.optimize_model(str(exported), model_type="bert",
                                             num_heads=config.num_attention_heads,
                                             hidden_size=config.hidden_size)
        if not optimized.get_fused_operator_statistics().get("Attention", 0):
            why = "ONNX Runtime found no attention to fuse"
        else:
            optimized.save_model_to_file(str(fused))
            if not _same_vectors(exported, fused, model_path):
                why = "the fused graph's vectors differ from the exported graph's"
    except Exception as error:  # noqa: BLE001 - any failure of the optional fusion keeps the plain graph
        why = f"fusing failed: {error}"
    if why is None:
        os.replace(fused, target)
        exported.unlink()
        return None
    fused.unlink(missing_ok=True)
    os.replace(exported, target)
    return why


def _probe_vectors(graph: Path, model_path: str) -> np.ndarray:
    """The graph's vectors of PROBE_TEXTS, as a run embeds them (OnnxEncoder), in one padded batch."""
    return OnnxEncoder(model_path, graph, max_seq_length=256, batch_size=len(PROBE_TEXTS)).encode(list(PROBE_TEXTS))


def _same_vectors(first: Path, second: Path, model_path: str) -> bool:
    """Both graphs give the same vectors (within FUSION_TOLERANCE) on a padded batch."""
    a, b = _probe_vectors(first, model_path), _probe_vectors(second, model_path)
    return a.shape == b.shape and float(np.abs(a - b).max()) <= FUSION_TOLERANCE


def _int8_agreement(folder: Path, model_path: str) -> dict:
    """The int8 graph's cosines to the fp32 graph's on PROBE_TEXTS (a text it gives no
    number for counts as -1)."""
    cosines = (_probe_vectors(folder / ONNX_FILE, model_path) * _probe_vectors(folder / ONNX_INT8_FILE, model_path)).sum(1)
    cosines = np.nan_to_num(cosines, nan=-1.0, posinf=-1.0, neginf=-1.0)
    return {"probe_texts": len(PROBE_TEXTS), "mean_cosine": round(float(cosines.mean()), 4),
            "min_cosine": round(float(cosines.min()), 4)}


def check_int8(folder: Path, model_path: str) -> dict | None:
    """The int8 graph's agreement with the fp32 graph, as its build measured it (a build
    from before the check is measured now, and the figures kept beside it where the
    folder is writable); a warning where the mean cosine is below INT8_MIN_COSINE, which a
    model whose activations quantise badly gives. None where there is nothing to read:
    no figures, and graphs that are not there or not as built (export_onnx builds them
    again), or that cannot be run."""
    try:
        check = json.loads((folder / INT8_CHECK_FILE).read_text(encoding="utf-8"))
        mean = float(check["mean_cosine"])
    except (OSError, ValueError, KeyError, TypeError):
        if not _intact(folder, (ONNX_FILE, ONNX_INT8_FILE)):
            return None
        from pipeline.atomic import write_atomically

        try:
            check = _int8_agreement(folder, model_path)
        except Exception as error:  # noqa: BLE001 - the check is advisory; the run goes on without it
            log.info("embed: the int8 graph could not be checked against the float32 graph: %s", error)
            return None
        mean = check["mean_cosine"]
        with contextlib.suppress(OSError):  # a read-only models_dir: measured again next time
            write_atomically(folder / INT8_CHECK_FILE,
                             lambda path: path.write_text(json.dumps(check) + "\n", encoding="utf-8"))
    if not mean >= INT8_MIN_COSINE:
        log.warning("embed: the int8 graph of %s gives vectors at a mean cosine of %.3f to its float32 graph's "
                    "(below %.2f, on %d probe texts): its topics and stances may differ from the model's; "
                    "embed.backend: onnx runs the float32 graph", model_path, mean, INT8_MIN_COSINE,
                    check.get("probe_texts", 0))
    return check


class OnnxEncoder:
    """Sentence embeddings from the exported graph with ONNX Runtime. The
    model's own tokenizer.json (Hugging Face tokenizers; no transformers
    import) tokenizes each batch; batches go longest text first, as
    sentence-transformers orders them, each padded to its own longest. int8
    activations are quantized per batch, so a text's int8 vector depends a
    little on its batch: the order is the one the Ray executor's batches
    keep too (docs/caching.md)."""

    def __init__(self, model_path: str, graph: Path, max_seq_length: int, batch_size: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        vocabulary = Path(model_path) / "tokenizer.json"
        if not vocabulary.is_file():
            raise PipelineError("the onnx backends need the model's tokenizer.json", path=model_path,
                                hint="use embed.backend: torch for this model")
        self.tokenizer = Tokenizer.from_file(str(vocabulary))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = usable_cpus()  # the manifest's machine.cpus
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size

    def _batch(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The graph's inputs for one batch, padded to its longest text (padding is
        masked out of attention and pooling)."""
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        arrays = {name: np.zeros((len(texts), width), dtype=np.int64) for name in self.inputs}
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            arrays["input_ids"][row, :n] = encoding.ids
            arrays["attention_mask"][row, :n] = 1
            if "token_type_ids" in arrays:
                arrays["token_type_ids"][row, :n] = encoding.type_ids
        return arrays

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Normalised float32 vectors (no progress bar: `progress` is for the interface)."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), 0), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start:start + self.batch_size]
            vectors = self.session.run(None, self._batch([texts[i] for i in rows]))[0]
            if out.shape[1] == 0:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out


def distill_static(model_path: str, folder: Path) -> Path:
    """A model2vec static model distilled from the packaged one (PCA to 256)."""

    def build(tmp: Path) -> None:
        from model2vec.distill import distill

        log.info("embed: distilling a static model from %s (once, into %s)", model_path, folder)
        with contextlib.redirect_stderr(io.StringIO()):  # model2vec's per-token progress bar
            model = distill(model_name=model_path, pca_dims=STATIC_DIMENSIONS)
        # safetensors 0.8 writes Fortran-ordered arrays (PCA output) scrambled (safetensors #825)
        model.embedding = np.ascontiguousarray(model.embedding)
        model.save_pretrained(str(tmp))

    return _built(folder, build)


class StaticEncoder:
    def __init__(self, folder: Path) -> None:
        from model2vec import StaticModel

        self.model = StaticModel.from_pretrained(str(folder))

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Normalised float32 vectors (fast enough to need no progress bar)."""
        vectors = np.asarray(self.model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

"""The machine a run computes on, as far as its numbers depend on it.

ONNX Runtime, PyTorch and numba pick their kernels by the CPU's instruction
sets (AVX2, AVX-512, VNNI, AMX, ...), and kernels for different sets add up
in a different order: float vectors differ in the last bits from one CPU
model to another, int8 ones more. The manifest records what is here, so a
user comparing two runs sees why their bytes differ (docs/caching.md).
"""
from __future__ import annotations

import hashlib
import os
import platform
from pathlib import Path

# the instruction sets the numeric kernels dispatch on (Linux /proc/cpuinfo names)
KERNEL_FLAGS = ("sse4_1", "sse4_2", "avx", "f16c", "fma", "avx2", "avx_vnni", "avx512f", "avx512bw",
                "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16",
                # ARM
                "asimd", "asimddp", "i8mm", "bf16", "sve", "sve2")


def usable_cpus() -> int:
    """The cores this process may run on (its affinity where the OS says, else all)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _cpuinfo(text: str) -> tuple[str | None, set[str]]:
    """The first processor's model name and flags in /proc/cpuinfo's text."""
    model, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and model is None:
            model = value.strip() or None
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return model, flags


def _read_cpuinfo(cpuinfo: Path) -> tuple[str | None, set[str]]:
    """_cpuinfo of the file; not Linux: no model, no flags (describe falls back to the platform module)."""
    try:
        return _cpuinfo(cpuinfo.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None, set()


def describe(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """CPU model, architecture, the kernel-relevant instruction sets it has,
    the cores usable here, and a fingerprint of those four: runs with the
    same fingerprint (and package versions) can give the same bytes; runs
    with different ones can differ in the last digits (docs/caching.md)."""
    model, flags = _read_cpuinfo(cpuinfo)
    about = {"cpu": model or platform.processor() or "unknown", "arch": platform.machine(),
             "isa": [flag for flag in KERNEL_FLAGS if flag in flags], "cpus": usable_cpus()}
    about["fingerprint"] = hashlib.sha256(repr(sorted(about.items())).encode()).hexdigest()[:12]
    return about


def auto_backend(device: str = "cpu", flags: set[str] | None = None) -> str:
    """What `embed.backend: auto` runs: on a CPU with AMX's bfloat16 tiles (Intel Xeon
    since Sapphire Rapids) PyTorch in bfloat16, which there embeds long posts 3.2 times
    faster than float32 (comments 2.8 times) with vectors at cosine 0.99998 to float32's;
    on any other CPU the int8 ONNX graph (docs/benchmarks.md: each measured on its
    machine); on a GPU, PyTorch. `flags`: the CPU's (default: /proc/cpuinfo's)."""
    if not device.startswith("cpu"):
        return "torch"
    flags = _read_cpuinfo(Path("/proc/cpuinfo"))[1] if flags is None else flags
    return "torch-bf16" if "amx_bf16" in flags else "onnx-int8"

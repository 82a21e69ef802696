"""Numeric precision of the model's forwards and gradients: ``fp32``, ``bf16``, ``fp16``, ``auto``.

Half precision runs under ``torch.autocast`` (matrix products in bf16/fp16, reductions and the
softmax in fp32); the weights stay fp32, so one loaded model serves every precision. ``auto``
resolves to what the hardware runs natively: bf16 on a CPU with bf16 instructions (``avx512_bf16``
or ``amx_bf16``), bf16 on a CUDA GPU that supports it (else fp16), otherwise fp32.

Examples::

    >>> from captum_ext.adapters.precision import check_precision, resolve_precision
    >>> check_precision("bf16")
    'bf16'
    >>> resolve_precision("fp32", "cpu")
    'fp32'
    >>> resolve_precision("auto", "meta")
    'fp32'
"""

from __future__ import annotations

import contextlib
import functools
import platform
from collections.abc import Iterator

import torch

from captum_ext.errors import InputError

__all__ = [
    "PRECISIONS",
    "autocast",
    "check_precision",
    "cpu_has_native_bf16",
    "resolve_device",
    "resolve_precision",
]

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a one-line :class:`InputError`."""
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}.")
    return precision


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic instructions (``avx512_bf16`` or ``amx_bf16``).

    Read from the ``flags`` of ``/proc/cpuinfo`` (Linux x86). ``torch.backends.cpu.
    get_cpu_capability()`` says only ``"AVX512"`` on CPUs with and without bf16 units, and
    oneDNN's own check (``torch.ops.mkldnn._is_mkldnn_bf16_supported``) is true on every AVX-512
    CPU, where bf16 is emulated and slower than fp32. Elsewhere (macOS, ARM) this answers False
    and ``auto`` stays fp32: a precision is only chosen where it is known to be native.
    """
    if platform.system() != "Linux":
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return any(f in flags for f in _CPU_BF16_FLAGS)
    except OSError:
        return False
    return False


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"``: CUDA when a GPU is present, else the CPU; anything else checked to exist here
    (:func:`captum_ext.validation.check_device`, the one device check)."""
    from captum_ext.validation import check_device

    return check_device(device, "device")


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """The concrete precision (``fp32``, ``bf16`` or ``fp16``) that ``precision`` means on ``device``."""
    check_precision(precision)
    if precision != "auto":
        return precision
    kind = torch.device(device).type
    if kind == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if kind == "cpu" and cpu_has_native_bf16():
        return "bf16"
    return "fp32"


@contextlib.contextmanager
def autocast(precision: str, device: str | torch.device) -> Iterator[None]:
    """Run the block in ``precision`` (concrete or ``auto``) on ``device``'s autocast.

    ``fp32`` (and devices without autocast, such as ``meta``) run the block unchanged.
    """
    concrete = resolve_precision(precision, device)
    kind = torch.device(device).type
    if concrete == "fp32" or kind not in ("cpu", "cuda"):
        yield
        return
    with torch.autocast(device_type=kind, dtype=_DTYPES[concrete]):
        yield

"""What the student's hardware can do fast, and the mixed-precision policy that follows.

* CPUs with bf16 matrix units (Intel AMX, or AVX512-BF16 on Intel and AMD)
  train in ``"mixed_bfloat16"``; elsewhere bf16 is emulated and slower, so
  ``"float32"``.  Detected from the ``flags`` line of ``/proc/cpuinfo`` (Linux
  only; other systems report no fast bf16).
* ``PARAM_SET = "auto"`` becomes ``gpu`` when a GPU is visible, else ``cpu``
  (:func:`default_param_set`).
* GPUs with tensor cores (compute capability 7.0 or higher) train in
  ``"mixed_float16"``.

A model trained under a mixed policy must keep its output layer in
``float32`` (``dtype="float32"``), as the builders in :mod:`course_utils.models.networks` do.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ENV_PARAM_SET, ENV_PRECISION

#: CPU flags (as in ``/proc/cpuinfo``) of units that make bf16 faster than float32.
FAST_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
#: Policies ``$COURSE_PRECISION`` may force.
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
#: Lowest CUDA compute capability with tensor cores (Volta).
TENSOR_CORE_CAPABILITY = (7, 0)
CPUINFO = Path("/proc/cpuinfo")


def read_cpuinfo() -> str:
    """Text of ``/proc/cpuinfo`` ("" where it does not exist, e.g. macOS or Windows)."""
    try:
        return CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU feature flags (first ``flags`` line of ``cpuinfo``; read from the system if ``None``)."""
    text = read_cpuinfo() if cpuinfo is None else cpuinfo
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def fast_bf16_units(cpuinfo: str | None = None) -> list[str]:
    """The fast bf16 units this CPU has (``[]`` when none, or not on Linux)."""
    flags = cpu_flags(cpuinfo)
    return [f for f in FAST_BF16_FLAGS if f in flags]


def vector_unit(cpuinfo: str | None = None) -> str:
    """The widest vector unit the course's speed depends on: ``"AVX-512"``, ``"AVX2"`` or ``"sin AVX2"``."""
    flags = cpu_flags(cpuinfo)
    return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "sin AVX2"


def cpu_summary(cpuinfo: str | None = None) -> str:
    """``"AVX-512, bf16: avx512_bf16"`` or ``"AVX2, sin unidades bf16"``: what decides the CPU's training speed."""
    bf16 = fast_bf16_units(cpuinfo)
    return f"{vector_unit(cpuinfo)}, {'bf16: ' + ' '.join(bf16) if bf16 else 'sin unidades bf16'}"


def tensor_core_gpus(devices: list[Any] | None = None) -> list[str]:
    """Names of visible GPUs with compute capability >= 7.0 (tensor cores)."""
    import tensorflow as tf

    found = []
    for dev in tf.config.list_physical_devices("GPU") if devices is None else devices:
        details = tf.config.experimental.get_device_details(dev) or {}
        capability = details.get("compute_capability")
        if capability and tuple(capability) >= TENSOR_CORE_CAPABILITY:
            found.append(details.get("device_name") or getattr(dev, "name", str(dev)))
    return found


@dataclass(frozen=True)
class PrecisionChoice:
    """The policy to train with and why (``description`` is Spanish, for the set-up table)."""

    policy: str
    description: str


def choose_precision(cpuinfo: str | None = None, gpus: list[str] | None = None) -> PrecisionChoice:
    """``mixed_float16`` with a tensor-core GPU, ``mixed_bfloat16`` with fast CPU bf16, else ``float32``.

    ``cpuinfo`` and ``gpus`` (names of tensor-core GPUs) default to what this
    machine has.  ``$COURSE_PRECISION`` (one of :data:`POLICIES`) overrides the
    choice, e.g. ``float32`` to run as on a CPU without bf16 units.
    """
    forced = forced_precision()
    if forced:
        if forced == "mixed_float16" and not (tensor_core_gpus() if gpus is None else gpus):
            warnings.warn(
                f"{ENV_PRECISION}='mixed_float16' sin una GPU con tensor cores: en la CPU los cálculos en float16 "
                "se emulan y el entrenamiento es varias veces más lento que en float32 (y no más preciso). Quita la "
                f"variable (o pon {ENV_PRECISION}=float32) salvo que quieras medir justamente eso.",
                stacklevel=2,
            )
        return PrecisionChoice(forced, f"{forced}: fijada con la variable de entorno {ENV_PRECISION}")
    gpus = tensor_core_gpus() if gpus is None else gpus
    if gpus:
        return PrecisionChoice("mixed_float16", f"mixed_float16: la GPU {gpus[0]} tiene tensor cores")
    units = fast_bf16_units(cpuinfo)
    if units:
        return PrecisionChoice(
            "mixed_bfloat16", f"mixed_bfloat16: la CPU tiene unidades bf16 rápidas ({', '.join(units)})"
        )
    return PrecisionChoice("float32", "float32: sin unidades bf16 rápidas ni GPU con tensor cores")


def forced_precision() -> str | None:
    """The policy ``$COURSE_PRECISION`` forces (None when unset); ``ValueError`` (Spanish, naming the variable) otherwise."""
    forced = os.environ.get(ENV_PRECISION, "").strip()
    if not forced:
        return None
    if forced not in POLICIES:
        why = (
            "el curso no entrena en 64 bits (Keras lo admite, pero es varias veces más lento y no mejora la exactitud)"
            if "64" in forced
            else "no es una política de precisión"
        )
        raise ValueError(
            f"La variable de entorno {ENV_PRECISION}={forced!r}: {why}. Pon en ella una de: {', '.join(POLICIES)} "
            f"(float32 para probar como en una CPU sin bf16), o quítala (`unset {ENV_PRECISION}`) para que se elija "
            "según el hardware."
        )
    return forced


def default_param_set(gpu_available: bool | None = None) -> str:
    """``$COURSE_PARAM_SET`` if set, else ``gpu`` when a GPU is visible, else ``cpu``."""
    env = os.environ.get(ENV_PARAM_SET)
    if env:
        return env
    if gpu_available is None:
        try:
            import tensorflow as tf

            gpu_available = bool(tf.config.list_physical_devices("GPU"))
        except ImportError:
            gpu_available = False
    return "gpu" if gpu_available else "cpu"

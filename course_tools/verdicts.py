"""MET/NOT MET verdicts of a series against the reference levels of :mod:`course_utils.levels`."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from course_utils.levels import (
    FROM_SCRATCH_ACCURACY,
    FROM_SCRATCH_NOTEBOOK,
    FROM_SCRATCH_TRAIN_MINUTES,
    LESSON_AUGMENTED_CNN,
    MEMORY_LIMITS_GB,
    PRETRAINED_MARGIN,
    SERIES_MINUTES,
)


def series_verdicts(
    param_set: str, rows: list[dict[str, Any]], expected: int | None = None, precision: str | None = None
) -> list[str]:
    """Spanish MET/NOT MET lines for the set's targets: time, from-scratch accuracy and training time, memory.

    ``rows`` are series summary rows (``notebook``, ``status``, ``seconds``, ``value``,
    ``peak_memory_gb``, ``train_seconds``); the time target needs all ``expected`` notebooks to
    have run.  The time targets are in float32: a series run with another ``precision`` (the
    one its summary records) reports its times beside them, without a verdict.
    """
    lines = []
    ok = [r for r in rows if r["status"] == "ok"]
    other = precision not in (None, "float32")
    minutes = SERIES_MINUTES.get(param_set)
    if minutes is not None:
        total = sum(r["seconds"] for r in rows) / 60
        if expected is not None and len(ok) < expected:
            lines.append(f"Tiempo: objetivo ≤ {minutes.value:g} min: no medido (serie incompleta, {total:.1f} min).")
        elif other:
            lines.append(
                f"Tiempo: {total:.1f} min con {precision} (el objetivo ≤ {minutes.value:g} min es en float32)."
            )
        else:
            met = total <= minutes.value
            lines.append(
                f"Tiempo: objetivo ≤ {minutes.value:g} min ({minutes.source}): "
                f"{'MET' if met else 'NOT MET'} ({total:.1f} min)."
            )
    accuracy = FROM_SCRATCH_ACCURACY.get(param_set)
    scratch = next((r for r in ok if r["notebook"] == FROM_SCRATCH_NOTEBOOK), None)
    if accuracy is not None and scratch is not None and scratch.get("value") is not None:
        met = scratch["value"] >= accuracy.value
        lines.append(
            f"Accuracy desde cero: objetivo ≥ {accuracy.value:.2f} ({accuracy.source}): "
            f"{'MET' if met else 'NOT MET'} ({scratch['value']:.3f} en {FROM_SCRATCH_NOTEBOOK}, una semilla)."
        )
    train = FROM_SCRATCH_TRAIN_MINUTES.get(param_set)
    if train is not None and scratch is not None and scratch.get("train_seconds") is not None:
        spent = scratch["train_seconds"] / 60
        if other:
            lines.append(
                f"Entrenamiento de {FROM_SCRATCH_NOTEBOOK}: {spent:.1f} min con {precision} "
                f"(el objetivo ≤ {train.value:g} min es en float32)."
            )
        else:
            lines.append(
                f"Entrenamiento de {FROM_SCRATCH_NOTEBOOK}: objetivo ≤ {train.value:g} min ({train.source}): "
                f"{'MET' if spent <= train.value else 'NOT MET'} ({spent:.1f} min)."
            )
    memory = memory_verdict(param_set, {r["notebook"]: r.get("peak_memory_gb") for r in ok})
    if memory:
        lines.append(memory)
    return lines


def memory_verdict(param_set: str, peaks_gb: dict[str, float | None]) -> str | None:
    """A Spanish line saying whether every notebook stayed under the set's memory limit (None: no limit)."""
    limit = MEMORY_LIMITS_GB.get(param_set)
    measured = {k: v for k, v in peaks_gb.items() if v is not None}
    if limit is None or not measured:
        return None
    worst = max(measured, key=measured.get)
    met = measured[worst] <= limit.value
    return (
        f"Memoria: objetivo ≤ {limit.value:g} GB por cuaderno ({limit.source}): "
        f"{'MET' if met else 'NOT MET'} (máximo {measured[worst]:.2f} GB en {worst})."
    )


def check_levels(summary: dict[str, Any] | str | os.PathLike) -> list[str]:
    """Problems with the GPU job's levels in a series summary (empty list when met).

    Failed notebooks are always problems.  The accuracy levels apply only to
    the ``gpu`` set (real data, ImageNet weights): the augmented CNN reaches
    :data:`LESSON_AUGMENTED_CNN` and pretrained embeddings beat it by
    :data:`PRETRAINED_MARGIN`.
    """
    data = summary if isinstance(summary, dict) else json.loads(Path(summary).read_text())
    runs = {r["name"]: r for r in data["runs"]}
    bad = [f"{n}: {r['status']} ({r['error']})" for n, r in runs.items() if r["status"] != "ok"]
    if data["param_set"] != "gpu":
        return bad
    cnn = runs.get("05_hacia_el_90", {}).get("metrics", {})
    pre = runs.get("07_modelos_preentrenados", {}).get("metrics", {})
    acc = cnn.get("test_accuracy")
    minimum, margin = LESSON_AUGMENTED_CNN.value, PRETRAINED_MARGIN.value
    if cnn.get("data_kind") != "real":
        bad.append("05_hacia_el_90 no usó los datos reales")
    if acc is None or not math.isfinite(acc) or acc < minimum:
        bad.append(f"CNN con aumento: accuracy {acc} < {minimum}")
    if not pre.get("pretrained"):
        bad.append("07_modelos_preentrenados no usó pesos ImageNet")
    feats = pre.get("feature_extractors") or {}
    best = max(feats.values()) if feats else None
    if best is None or acc is None or best < acc + margin:
        bad.append(f"Embeddings preentrenados ({best}) no superan a la CNN ({acc}) por {margin}")
    return bad

"""Reference levels: what the lesson reports, what its recipe gave here, what CI asserts.

Each number is declared once, with where it comes from.  The series summary,
the GPU job's check (:func:`check_levels`) and notebook 04's comparison read
them from here.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Level:
    """One reference number and its source."""

    value: float
    source: str


_LESSON = "lección 06-CNN-II, de la que deriva el curso"
_HERE = (
    "receta original de la lección ejecutada en la máquina del curso (2 núcleos, datos reales "
    "reducidos, conjunto cpu); medida a mano, ver README «Resultados»"
)

#: The lesson's CNN + Dropout + augmentation, 30 epochs, reduced real data: "a bit above 80 %".
LESSON_AUGMENTED_CNN = Level(0.80, f"{_LESSON}: CNN + Dropout + aumento, 30 épocas («un poco más de 80 %»)")
#: The lesson's larger model trained on the full 25,000 photos.
LESSON_LARGE_MODEL = Level(0.87, f"{_LESSON}: modelo más grande sobre las 25 000 fotos")
#: The course's own target for notebook 06: pretrained embeddings beat the CNN by this margin.
PRETRAINED_MARGIN = Level(0.05, "objetivo del curso (no de la lección): embeddings ImageNet ≥ CNN + 5 puntos")

#: Peak memory (GB, resident set of the kernel) each notebook may reach, per parameter set.
MEMORY_LIMITS_GB: dict[str, Level] = {
    "cpu": Level(3.0, "objetivo del curso: cada cuaderno del conjunto cpu cabe en 3 GB (issue 13)"),
}


#: Wall time of a whole series run (minutes, the notebooks' times added), per parameter set.
SERIES_MINUTES: dict[str, Level] = {
    "cpu": Level(20.0, "objetivo del curso: la serie cpu completa en ≤ 20 min en 2 núcleos (issue 13)"),
}
#: Test accuracy of the series' best from-scratch model (notebook 04's improved recipe), per set.
FROM_SCRATCH_ACCURACY: dict[str, Level] = {
    "cpu": Level(
        0.85,
        "objetivo del curso: el mejor modelo entrenado desde cero ≥ 85 % en prueba (issue 13; media de "
        "3 semillas y variantes probadas en benchmarks/results/from_scratch_cpu.json)",
    ),
}
#: The notebook whose test accuracy the from-scratch target reads.
FROM_SCRATCH_NOTEBOOK = "04_aumento_datos"


def series_verdicts(param_set: str, rows: list[dict[str, Any]], expected: int | None = None) -> list[str]:
    """Spanish MET/NOT MET lines for the set's targets: time, from-scratch accuracy, memory.

    ``rows`` are series summary rows (``notebook``, ``status``, ``seconds``, ``value``,
    ``peak_memory_gb``); the time target needs all ``expected`` notebooks to have run.
    """
    lines = []
    ok = [r for r in rows if r["status"] == "ok"]
    minutes = SERIES_MINUTES.get(param_set)
    if minutes is not None:
        total = sum(r["seconds"] for r in rows) / 60
        if expected is not None and len(ok) < expected:
            lines.append(f"Tiempo: objetivo ≤ {minutes.value:g} min: no medido (serie incompleta, {total:.1f} min).")
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


@dataclass(frozen=True)
class Reference:
    """The metric a notebook's summary row shows, and the levels it is compared with."""

    metric: str
    label: str
    lesson: Level | None = None
    original_here: Level | None = None


REFERENCES: dict[str, Reference] = {
    "02_mlp": Reference("test_accuracy", "MLP 16x16", original_here=Level(0.616, _HERE)),
    "03_cnn": Reference("test_accuracy", "CNN 150x150", original_here=Level(0.745, _HERE)),
    "04_aumento_datos": Reference(
        "test_accuracy", "CNN con aumento de datos", lesson=LESSON_AUGMENTED_CNN, original_here=Level(0.724, _HERE)
    ),
    "05_embeddings": Reference("svc_test_accuracy", "SVC sobre embeddings de la CNN"),
}


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
    cnn = runs.get("04_aumento_datos", {}).get("metrics", {})
    pre = runs.get("06_modelos_preentrenados", {}).get("metrics", {})
    acc = cnn.get("test_accuracy")
    minimum, margin = LESSON_AUGMENTED_CNN.value, PRETRAINED_MARGIN.value
    if cnn.get("data_kind") != "real":
        bad.append("04_aumento_datos no usó los datos reales")
    if acc is None or not math.isfinite(acc) or acc < minimum:
        bad.append(f"CNN con aumento: accuracy {acc} < {minimum}")
    if not pre.get("pretrained"):
        bad.append("06_modelos_preentrenados no usó pesos ImageNet")
    feats = pre.get("feature_extractors") or {}
    best = max(feats.values()) if feats else None
    if best is None or acc is None or best < acc + margin:
        bad.append(f"Embeddings preentrenados ({best}) no superan a la CNN ({acc}) por {margin}")
    return bad

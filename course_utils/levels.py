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

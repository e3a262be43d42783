"""Reference levels: what the lesson reports, what its recipe gave here, what CI asserts.

Each number is declared once, with where it comes from.  Notebook 04's
comparison reads them from here, and so do the maintainer's verdicts
(``course_tools.verdicts``: the series summary and the GPU job's check).
"""

from __future__ import annotations

from dataclasses import dataclass


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

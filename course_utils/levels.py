"""Reference levels: what the lesson reports and what CI asserts.

Each number is declared once, with where it comes from.  Notebook 05's
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

#: The lesson's CNN + Dropout + augmentation, 30 epochs, reduced real data: "a bit above 80 %".
LESSON_AUGMENTED_CNN = Level(0.80, f"{_LESSON}: CNN + Dropout + aumento, 30 épocas («un poco más de 80 %»)")
#: The lesson's larger model trained on the full 25,000 photos.
LESSON_LARGE_MODEL = Level(0.87, f"{_LESSON}: modelo más grande sobre las 25 000 fotos")
#: The highest published from-scratch result on the same 2,000-image subset (the bar 05's gpu set aims past).
BOOK_FROM_SCRATCH = Level(
    0.908,
    "Chollet, Deep Learning with Python, 3.ª ed., cap. 9: mini-Xception desde cero, 180 px, con aumento "
    "(cifra del libro, no medida aquí)",
)
#: The course's own target for notebook 07: pretrained embeddings beat the CNN by this margin.
PRETRAINED_MARGIN = Level(0.05, "objetivo del curso (no de la lección): embeddings ImageNet ≥ CNN + 5 puntos")

#: Notebook 07's targets on the course's test split with ImageNet weights (issue 32), cpu set, float32, 2 cores.
PRETRAINED_ACCURACY: dict[str, Level] = {
    "features_svc": Level(0.98, "objetivo del curso: características ImageNet + PCA + SVC ≥ 98 % en prueba (issue 32)"),
    "fine_tune": Level(
        0.985,
        "objetivo del curso: ajuste fino ≥ 98,5 % en prueba (issue 32; el 98,6 % de Chollet, DLwP 3.ª ed., "
        "es con Xception, una base cinco veces mayor)",
    ),
}

#: Peak memory (GB, resident set of the kernel) each notebook may reach, per parameter set.
MEMORY_LIMITS_GB: dict[str, Level] = {
    "cpu": Level(3.0, "objetivo del curso: cada cuaderno del conjunto cpu cabe en 3 GB (issue 13)"),
}


#: Wall time of a whole series run (minutes, the notebooks' times added), per parameter set.
SERIES_MINUTES: dict[str, Level] = {
    "cpu": Level(25.0, "objetivo del curso: la serie cpu completa en ≤ 25 min en float32 con 2 núcleos (issue 19)"),
}
#: Test accuracy of the series' best from-scratch model (notebook 05's residual CNN), per set.
FROM_SCRATCH_ACCURACY: dict[str, Level] = {
    "cpu": Level(
        0.86,
        "objetivo del curso: el modelo desde cero del cuaderno 05 ≥ 86 % en prueba, media de 3 semillas, "
        "≤ 12 min de entrenamiento en float32 con 2 núcleos (issue 19)",
    ),
    "gpu": Level(
        0.91,
        "objetivo del curso: la receta gpu del cuaderno 05 ≥ 91 % en prueba, por encima del 90,8 % "
        "del libro de Chollet, 3.ª ed., cap. 9 (issue 19)",
    ),
}
#: Training time of notebook 05's from-scratch model (minutes, its ``fit``), per set, in float32 on 2 cores.
FROM_SCRATCH_TRAIN_MINUTES: dict[str, Level] = {
    "cpu": Level(
        12.0, "objetivo del curso: el entrenamiento del cuaderno 05 en ≤ 12 min en float32 con 2 núcleos (issue 19)"
    ),
}
#: Wall time of one notebook of the cpu set (minutes) on 2 cores in float32.
#: Share of a time limit a run measured here may use: another 2-core CPU (AVX2 only, an older laptop, Colab's
#: CPU runtime) can be slower than the one that measured it, so a limit counts as kept only with this margin.
TIME_MARGIN = Level(0.8, "margen del curso: lo medido aquí en float32 ≤ 80 % de cada límite de tiempo (issue 33)")
NOTEBOOK_MINUTES: dict[str, Level] = {
    "cpu": Level(
        15.0, "objetivo del curso: cada cuaderno del conjunto cpu en ≤ 15 min en float32 con 2 núcleos (issue 18)"
    ),
}
#: The notebook whose test accuracy the from-scratch target reads.
FROM_SCRATCH_NOTEBOOK = "05_hacia_el_90"


@dataclass(frozen=True)
class Reference:
    """The metric a notebook's summary row shows, and the lesson's level it is compared with.

    What the lesson's own recipe gives on the course's data is not declared here: it is
    measured and recorded (02's MLP recipe in the benchmark, ``benchmarks/results/bench_full_*.json``;
    05's in the ablation, ``course_utils/recorded/ablation_05_cpu.json``, step ``original``).
    """

    metric: str
    label: str
    lesson: Level | None = None


REFERENCES: dict[str, Reference] = {
    "02_mlp": Reference("test_accuracy", "MLP 16x16"),
    "03_cnn": Reference("test_accuracy", "CNN de la lección"),
    "04_aumento_datos": Reference("test_accuracy", "la misma CNN con aumento de datos y Dropout"),
    "05_hacia_el_90": Reference("test_accuracy", "CNN moderna desde cero", lesson=LESSON_AUGMENTED_CNN),
    "06_embeddings": Reference("svc_test_accuracy", "SVC sobre embeddings de la CNN"),
}

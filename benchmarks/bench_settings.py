"""What the benchmark measures and on how much data: settings and the lesson's training recipes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SPLIT_NAMES = ("train", "validation", "test")


@dataclass
class BenchConfig:
    """What to measure and on how much data."""

    #: Images per class kept in each split (``None``: all of them).
    per_class: dict[str, int | None] = field(default_factory=lambda: {"train": None, "validation": None, "test": None})
    epochs: int = 5
    #: Epochs of the MLP recipe (cheap to train; ``None``: ``epochs``).
    mlp_epochs: int | None = None
    #: The lesson's batch size, used by both pipelines.
    batch_size: int = 20
    #: (MLP size, CNN size) in pixels.
    small_size: int = 16
    large_size: int = 150
    #: First-epoch throughput: fresh pipelines, legacy and course interleaved, this many times.
    repeats: int = 3
    #: Later-epoch throughput: passes are repeated (interleaved) until each pipeline
    #: has run this long, at least ``min_later_passes`` and at most ``max_later_passes``.
    min_later_seconds: float = 2.0
    min_later_passes: int = 3
    max_later_passes: int = 10
    #: Maximum epochs of the two MLP *recipes* (each with its own early stopping):
    #: the lesson's (30) and notebook 02's (60).
    mlp_recipe_epochs: tuple[int, int] = (30, 60)
    #: Dropout of the lesson's "CNN with Dropout" (its code uses 0.1).
    cnn_dropout: float = 0.1
    #: Training throughput per precision policy: (model, size) pairs, steps per measurement.
    precision_models: tuple[tuple[str, int], ...] = (("cnn", 150), ("cnn_improved", 96))
    precision_steps: int = 10
    seed: int = 42
    #: Tests only: run Keras eagerly (skips tf.function tracing; meaningless timings).
    run_eagerly: bool = False
    mode: str = "full"

    @classmethod
    def quick(cls, epochs: int | None = None, mlp_epochs: int | None = None, repeats: int | None = None) -> BenchConfig:
        """Subset of 200/50/100 images per class (train/validation/test), 2 epochs, 2 repeats."""
        return cls(
            per_class={"train": 200, "validation": 50, "test": 100},
            epochs=epochs or 2,
            mlp_epochs=mlp_epochs,
            min_later_seconds=1.0,
            repeats=repeats or 2,
            precision_steps=5,
            mode="quick",
        )

    @classmethod
    def full(cls, epochs: int | None = None, mlp_epochs: int | None = None, repeats: int | None = None) -> BenchConfig:
        """The whole dataset, 5 epochs and 3 repeats by default."""
        return cls(epochs=epochs or 5, mlp_epochs=mlp_epochs, repeats=repeats or 3, mode="full")

    def epochs_for(self, spec: ModelSpec) -> int:
        """Training epochs of one recipe (the same for both pipelines)."""
        return (self.mlp_epochs or self.epochs) if spec.key == "mlp" else self.epochs

    def size_of(self, spec: ModelSpec) -> int:
        return self.small_size if spec.size == "small" else self.large_size


@dataclass(frozen=True)
class ModelSpec:
    """One of the lesson's training recipes."""

    key: str
    label: str
    size: str  # "small" or "large"
    augment: bool


MODEL_SPECS = (
    ModelSpec("mlp", "MLP", "small", False),
    ModelSpec("cnn", "CNN", "large", False),
    ModelSpec("cnn_aug", "CNN + Dropout + augmentation", "large", True),
)


def build_model(spec: ModelSpec, size: int, cfg: BenchConfig) -> tuple[Any, Any]:
    """The lesson's model and optimizer for ``spec`` (MLP: Adam; CNN: Adam 1e-4; augmented: RMSprop 1e-4)."""
    import keras

    from course_utils.models.networks import build_cnn, build_mlp

    shape = (size, size, 3)
    if spec.key == "mlp":
        return build_mlp(shape), keras.optimizers.Adam()
    if spec.key == "cnn":
        return build_cnn(shape), keras.optimizers.Adam(learning_rate=1e-4)
    if spec.key == "cnn_aug":
        return build_cnn(shape, dropout=cfg.cnn_dropout), keras.optimizers.RMSprop(learning_rate=1e-4)
    raise ValueError(f"Unknown model {spec.key!r}")

"""Notebook 04's controlled experiment: the course's version of its model builder, its curves and recorded seeds.

The notebook writes the experiment itself (exercise 4.2's ``build_cnn`` and the two
``fit`` calls); this module holds the plumbing: the builder used when the exercise is
not solved yet, the side-by-side curves, and the figure and table of the three-seed
run recorded with ``python -m benchmarks.augmentation_experiment``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: The recorded three-seed run (``course_utils/recorded/<name>.json``).
RECORDED = "augmentation_experiment_cpu"
#: Spanish names of the experiment's arms, in the recorded file's keys.
ARM_LABELS = {"sin_aumento": "sin aumento", "con_aumento": "con aumento + Dropout"}


def course_build_cnn(image_shape: tuple[int, int, int]) -> Callable[..., Any]:
    """Exercise 4.2's answer: ``build_cnn(augmenter=None, dropout=0.0)``, 03's CNN compiled as in 03."""

    def build_cnn(augmenter: Any = None, dropout: float = 0.0) -> Any:
        import keras
        from keras import layers

        inputs = keras.Input(shape=image_shape)
        x = augmenter(inputs) if augmenter is not None else inputs
        for i, filters in enumerate((32, 64, 128, 128), start=1):
            x = layers.Conv2D(filters, 3, activation="relu", name=f"conv{i}")(x)
            x = layers.MaxPooling2D(name=f"pool{i}")(x)
        x = layers.Flatten(name="flatten")(x)
        if dropout:
            x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Dense(512, activation="relu", name="dense")(x)
        outputs = layers.Dense(1, activation="sigmoid", dtype="float32", name="output")(x)
        model = keras.Model(inputs, outputs, name="cnn_con_aumento" if augmenter is not None else "cnn")
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=1e-4), loss="binary_crossentropy", metrics=["accuracy"]
        )
        return model

    return build_cnn


def plot_compared_curves(histories: dict[str, Any], title: str = "Dos entrenamientos, un solo cambio"):
    """Accuracy and loss per epoch of several runs: training solid, validation dashed, one colour per run."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for (name, history), color in zip(
        histories.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False
    ):
        h = getattr(history, "history", history)
        epochs = np.arange(1, len(h["loss"]) + 1)
        for ax, key in ((axes[0], "accuracy"), (axes[1], "loss")):
            ax.plot(epochs, h[key], "-", color=color, label=f"{name}: entrenamiento")
            ax.plot(epochs, h[f"val_{key}"], "--", color=color, label=f"{name}: validación")
    for ax, label in ((axes[0], "Accuracy"), (axes[1], "Pérdida (entropía cruzada)")):
        ax.set_xlabel("Época")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    plt.tight_layout()
    plt.show()
    return fig


def _runs(record: dict, arm: str) -> list[dict]:
    return [r for r in record["runs"] if r["arm"] == arm]


def recorded_table(record: dict, epochs: int) -> Any:
    """Per arm, over the recorded seeds: test accuracy after ``epochs`` and at the end, and the train-val gap."""
    import pandas as pd

    last = record["settings"]["epochs"]
    rows = {}
    for arm, label in ARM_LABELS.items():
        runs = _runs(record, arm)
        if not runs:
            continue
        at = [r["test_accuracy_at"].get(str(epochs)) for r in runs]
        end = [r["test_accuracy_at"][str(last)] for r in runs]
        gap = [r["history"]["accuracy"][epochs - 1] - r["history"]["val_accuracy"][epochs - 1] for r in runs]
        rows[label] = {
            "semillas": len(runs),
            f"prueba, época {epochs} (media)": np.mean([a for a in at if a is not None]),
            f"prueba, época {epochs} (mín-máx)": f"{min(at):.3f}-{max(at):.3f}" if None not in at else "",
            f"brecha entr.-val., época {epochs}": np.mean(gap),
            f"prueba, época {last} (media)": np.mean(end),
            f"prueba, época {last} (mín-máx)": f"{min(end):.3f}-{max(end):.3f}",
        }
    return pd.DataFrame(rows).T.round(3)


def plot_recorded(record: dict, budget: int | None = None):
    """Test accuracy after each epoch of the recorded runs: mean over seeds and min-max band, per arm."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2))
    for (arm, label), color in zip(ARM_LABELS.items(), ("tab:blue", "tab:orange"), strict=True):
        runs = _runs(record, arm)
        if not runs:
            continue
        epochs = sorted({int(e) for r in runs for e in r["test_accuracy_at"]})
        values = np.array([[r["test_accuracy_at"].get(str(e), np.nan) for e in epochs] for r in runs])
        ax.plot(epochs, np.nanmean(values, axis=0), "-", color=color, label=f"{label} (media de {len(runs)})")
        ax.fill_between(epochs, np.nanmin(values, axis=0), np.nanmax(values, axis=0), color=color, alpha=0.2)
    if budget:
        ax.axvline(budget, color="gray", linestyle=":", label=f"épocas del conjunto cpu ({budget})")
    s = record["settings"]
    ax.set_xlabel("Épocas de entrenamiento")
    ax.set_ylabel("Accuracy en prueba")
    ax.set_title(f"Con y sin aumento, {s['img_size']} px, {s['optimizer']}, datos {s['data']}, {s['precision']}")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    plt.tight_layout()
    plt.show()
    return fig

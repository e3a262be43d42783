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
#: Adam's learning rate in both arms of the experiment: Keras's default, ten times 03's 1e-4 (chosen on
#: validation: benchmarks/results/augmentation_trials.json).
LEARNING_RATE = 1e-3


def course_build_cnn(image_shape: tuple[int, int, int], learning_rate: float = LEARNING_RATE) -> Callable[..., Any]:
    """Exercise 4.2's answer: ``build_cnn(augmenter=None, dropout=0.0)``, 03's CNN compiled with Adam(learning_rate)."""

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
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss="binary_crossentropy",
            metrics=["accuracy"],
        )
        return model

    return build_cnn


def best_epoch(history: Any) -> int:
    """The epoch (from 1) of the highest validation accuracy, the first if tied: the one EarlyStopping keeps."""
    h = getattr(history, "history", history)
    return int(np.argmax(h["val_accuracy"])) + 1


def plot_compared_curves(histories: dict[str, Any], title: str = "Dos entrenamientos, un solo cambio"):
    """Accuracy and loss per epoch of several runs: training solid, validation dashed, one colour per run.

    A star marks each run's best validation epoch (the weights it keeps), a dotted line its level.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for (name, history), color in zip(
        histories.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False
    ):
        h = getattr(history, "history", history)
        epochs = np.arange(1, len(h["loss"]) + 1)
        for ax, key in ((axes[0], "accuracy"), (axes[1], "loss")):
            ax.plot(epochs, h[key], "-", color=color, alpha=0.6, label=f"{name}: entrenamiento")
            ax.plot(epochs, h[f"val_{key}"], "--", color=color, label=f"{name}: validación")
        best = best_epoch(h)
        axes[0].axhline(h["val_accuracy"][best - 1], color=color, linestyle=":", linewidth=1, alpha=0.7)
        axes[0].plot(
            best,
            h["val_accuracy"][best - 1],
            "*",
            color=color,
            markersize=14,
            markeredgecolor="black",
            label=f"{name}: mejor época de validación ({best})",
        )
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


def recorded_summary(record: dict) -> dict[str, dict[str, Any]]:
    """Per arm, over the recorded seeds: best epochs, validation and test at them (mean, min, max), the gap.

    Also ``"ganancia"``: the augmented arm's test accuracy minus the plain one's, mean and per seed.
    """
    summary: dict[str, dict[str, Any]] = {}
    for arm in ARM_LABELS:
        runs = sorted(_runs(record, arm), key=lambda r: r["seed"])
        if not runs:
            continue
        test = [r["test_accuracy"] for r in runs]
        gap = [r["history"]["accuracy"][r["best_epoch"] - 1] - r["best_val_accuracy"] for r in runs]
        summary[arm] = dict(
            seeds=[r["seed"] for r in runs],
            epochs_budget=max(r["epochs_budget"] for r in runs),
            best_epochs=[r["best_epoch"] for r in runs],
            val=float(np.mean([r["best_val_accuracy"] for r in runs])),
            test=float(np.mean(test)),
            test_min=min(test),
            test_max=max(test),
            gap=float(np.mean(gap)),
            train_seconds=float(np.mean([r["train_seconds"] for r in runs])),
        )
    if len(summary) == len(ARM_LABELS):
        plain = {r["seed"]: r["test_accuracy"] for r in _runs(record, "sin_aumento")}
        per_seed = [r["test_accuracy"] - plain[r["seed"]] for r in _runs(record, "con_aumento") if r["seed"] in plain]
        summary["ganancia"] = dict(
            test=summary["con_aumento"]["test"] - summary["sin_aumento"]["test"], per_seed=per_seed
        )
    return summary


def recorded_table(record: dict) -> Any:
    """The recorded seeds per arm (:func:`recorded_summary`) as a table with Spanish headings."""
    import pandas as pd

    rows = {}
    for arm, s in recorded_summary(record).items():
        if arm not in ARM_LABELS:
            continue
        rows[ARM_LABELS[arm]] = {
            "semillas": len(s["seeds"]),
            "épocas (tope)": s["epochs_budget"],
            "mejor época de validación": ", ".join(map(str, s["best_epochs"])),
            "validación, mejor época (media)": round(s["val"], 3),
            "brecha entr.-val., mejor época": round(s["gap"], 3),
            "prueba (media)": round(s["test"], 3),
            "prueba (mín-máx)": f"{s['test_min']:.3f}-{s['test_max']:.3f}",
        }
    return pd.DataFrame(rows).T


def plot_recorded(record: dict):
    """Validation accuracy after each epoch of the recorded runs: mean over seeds, min-max band, best epochs."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2))
    for (arm, label), color in zip(ARM_LABELS.items(), ("tab:blue", "tab:orange"), strict=True):
        runs = _runs(record, arm)
        if not runs:
            continue
        n = max(len(r["history"]["val_accuracy"]) for r in runs)
        values = np.full((len(runs), n), np.nan)
        for i, r in enumerate(runs):
            values[i, : len(r["history"]["val_accuracy"])] = r["history"]["val_accuracy"]
        epochs = np.arange(1, n + 1)
        ax.plot(epochs, np.nanmean(values, axis=0), "-", color=color, label=f"{label} (media de {len(runs)})")
        ax.fill_between(epochs, np.nanmin(values, axis=0), np.nanmax(values, axis=0), color=color, alpha=0.2)
        ax.plot(
            [r["best_epoch"] for r in runs],
            [r["best_val_accuracy"] for r in runs],
            "*",
            color=color,
            markersize=12,
            markeredgecolor="black",
            linestyle="none",
            label=f"{label}: mejor época de cada semilla",
        )
    s = record["settings"]
    data = {"real": "reales", "synthetic": "sintéticos"}.get(s["data"], s["data"])
    rate = f"{s['learning_rate']:.0e}".replace("e-0", "e-")
    ax.set_xlabel("Época")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_ylabel("Accuracy en validación")
    ax.set_title(f"Con y sin aumento: {s['img_size']} px, Adam {rate}, datos {data}, {s['precision']}")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    plt.tight_layout()
    plt.show()
    return fig

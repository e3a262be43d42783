"""Evaluation of Keras models and scikit-learn estimators, training curves, error analysis and recorded runs.

Besides one model's numbers and curves: several runs' curves side by side
(:func:`plot_compared_curves`, each run's best validation epoch marked: :func:`best_epoch`), and
the figure, table and summary of notebook 04's controlled experiment as recorded over three
seeds (:data:`AUGMENTATION_RECORD`, written by ``python -m benchmarks.augmentation_experiment``;
:func:`plot_recorded`, :func:`recorded_table`, :func:`recorded_summary`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np


def iter_batches(data: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(x, y)`` batches from a SplitData, a tf.data dataset or a legacy generator."""
    dataset = getattr(data, "dataset", data)
    if hasattr(dataset, "reset") and hasattr(dataset, "__len__") and hasattr(dataset, "classes"):
        dataset.reset()
        for i in range(len(dataset)):
            x, y = dataset[i]
            yield x, y
        return
    for x, y in dataset:
        yield np.asarray(x), np.asarray(y)


def _scores(model: Any, x: Any) -> np.ndarray:
    if hasattr(model, "predict_proba") or not hasattr(model, "layers"):  # scikit-learn
        return np.asarray(model.predict(x))
    return np.asarray(model.predict(x, verbose=0))


def scores_to_labels(scores: np.ndarray) -> np.ndarray:
    """Class indices from model outputs: sigmoid (threshold 0.5), softmax (argmax) or labels."""
    scores = np.asarray(scores)
    if scores.ndim == 2 and scores.shape[1] > 1:
        return scores.argmax(axis=1)
    scores = scores.reshape(-1)
    if np.issubdtype(scores.dtype, np.integer):
        return scores.astype(int)
    return (scores > 0.5).astype(int)


def predict(model: Any, data: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y_true, y_pred, scores)`` with labels taken from the same batches as the images.

    ``data`` is an array (then ``y`` is required), a SplitData, a tf.data dataset
    of ``(images, labels)`` or a legacy generator: shuffled or not, labels stay aligned.
    """
    if isinstance(data, np.ndarray) or (
        y is not None and not hasattr(data, "element_spec") and not hasattr(data, "dataset")
    ):
        if y is None:
            raise ValueError("Con un arreglo de entradas hace falta pasar y (las etiquetas).")
        scores = _scores(model, data)
        return np.asarray(y).reshape(-1).astype(int), scores_to_labels(scores), scores
    ys, ss = [], []
    for xb, yb in iter_batches(data):
        ss.append(_scores(model, xb))
        ys.append(np.asarray(yb).reshape(-1))
    scores = np.concatenate(ss)
    return np.concatenate(ys).astype(int), scores_to_labels(scores), scores


def evaluate(
    model: Any,
    data: Any,
    y: Any = None,
    class_names: Sequence[str] = ("cats", "dogs"),
    title: str = "Matriz de confusión",
    plot: bool = True,
    verbose: bool = True,
) -> dict[str, Any]:
    """Accuracy, macro F1 and confusion matrix of a Keras model or scikit-learn estimator.

    Prints a small table, draws the confusion-matrix heatmap and returns the numbers.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    y_true, y_pred, scores = predict(model, data, y)
    result = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro")),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=range(len(class_names))),
        "y_true": y_true,
        "y_pred": y_pred,
        "scores": scores,
        "n": int(len(y_true)),
    }
    if verbose:
        print(
            f"{'Métrica':<14}{'Valor':>8}\n{'accuracy':<14}{result['accuracy']:>8.3f}\n"
            f"{'F1 (macro)':<14}{result['f1_macro']:>8.3f}\n{'imágenes':<14}{result['n']:>8d}"
        )
    if plot:
        plot_confusion_matrix(result["confusion_matrix"], class_names, title=title)
    return result


def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str], title: str = "Matriz de confusión"):
    """Heatmap of a confusion matrix with counts, axis labels and a colour bar."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(4.5, 3.8))
    sns.heatmap(
        cm,
        annot=True,
        fmt="d",
        cmap="Blues",
        xticklabels=class_names,
        yticklabels=class_names,
        ax=ax,
        cbar_kws={"label": "imágenes"},
    )
    ax.set_xlabel("Clase predicha")
    ax.set_ylabel("Clase real")
    ax.set_title(title)
    plt.show()
    return fig


def plot_training_curves(history: Any, title: str = "Curvas de entrenamiento"):
    """Loss and accuracy per epoch, training vs validation, side by side."""
    import matplotlib.pyplot as plt

    h = getattr(history, "history", history)
    epochs = np.arange(1, len(h["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, name in ((axes[0], "loss", "Pérdida (entropía cruzada)"), (axes[1], "accuracy", "Accuracy")):
        ax.plot(epochs, h[key], "o-", label="entrenamiento")
        if f"val_{key}" in h:
            ax.plot(epochs, h[f"val_{key}"], "s-", label="validación")
        ax.set_xlabel("Época")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))  # no "época 1.25"
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    plt.tight_layout()
    plt.show()
    return fig


def misclassified(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    """Indices of false positives (predicted 1, true 0) and false negatives (predicted 0, true 1)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return {
        "false_positives": np.flatnonzero((y_pred == 1) & (y_true == 0)),
        "false_negatives": np.flatnonzero((y_pred == 0) & (y_true == 1)),
    }


def show_misclassified(
    paths: Sequence[str],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
    n: int = 4,
    seed: int = 0,
    scores: np.ndarray | None = None,
    title: str = "Errores del modelo",
):
    """Show up to ``n`` false positives and ``n`` false negatives with their images."""
    import matplotlib.pyplot as plt
    from PIL import Image

    errs = misclassified(y_true, y_pred)
    rng = np.random.default_rng(seed)
    picks = []
    for kind, label in (("false_positives", "falso positivo"), ("false_negatives", "falso negativo")):
        idx = errs[kind]
        chosen = rng.choice(idx, size=min(n, len(idx)), replace=False) if len(idx) else []
        picks += [(int(i), label) for i in chosen]
    print(f"Falsos positivos: {len(errs['false_positives'])} | Falsos negativos: {len(errs['false_negatives'])}")
    if not picks:
        print("No hay errores que mostrar.")
        return None
    cols = min(4, len(picks))
    rows = int(np.ceil(len(picks) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (i, label) in zip(axes.flat, picks, strict=False):
        with Image.open(paths[i]) as im:
            ax.imshow(im.convert("RGB"))
        extra = (
            f" ({float(np.ravel(scores)[i]):.2f})"
            if scores is not None and np.ndim(scores) <= 2 and np.size(scores) == len(y_true)
            else ""
        )
        ax.set_title(f"{label}\nreal: {class_names[y_true[i]]} · pred: {class_names[y_pred[i]]}{extra}", fontsize=9)
    fig.suptitle(title)
    plt.tight_layout()
    plt.show()
    return fig


def comparison_table(rows: list[dict[str, Any]], sort_by: str | None = None):
    """A pandas DataFrame from result rows, rounded to 3 decimals, optionally sorted (descending)."""
    import pandas as pd

    df = pd.DataFrame(rows)
    if sort_by:
        df = df.sort_values(sort_by, ascending=False)
    return df.round(3).reset_index(drop=True)


def plot_comparison(
    df: Any,
    x: str,
    ys: Sequence[str],
    title: str,
    ylabel: str = "accuracy",
    reference: float | None = None,
    reference_label: str = "referencia",
):
    """Grouped bar chart of ``ys`` columns per ``x`` row, with an optional reference line."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(df)) + 2.2, 3.8))  # + room for the legend
    width = 0.8 / len(ys)
    pos = np.arange(len(df))
    for k, col in enumerate(ys):
        ax.bar(pos + k * width, df[col], width, label=col)
    if reference is not None:
        ax.axhline(reference, color="gray", ls="--", label=reference_label)
    ax.set_xticks(pos + width * (len(ys) - 1) / 2)
    ax.set_xticklabels(df[x], rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_xlabel(x)
    ax.set_title(title)
    # Outside the axes: inside, the legend covered bars that reach 1.0.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    plt.tight_layout()
    plt.show()
    return fig


# --------------------------------------------------------------------------- several runs; notebook 04's recorded experiment

#: Notebook 04's recorded three-seed run (``course_utils/recorded/<name>.json``; read it with ``artifacts.recorded``).
AUGMENTATION_RECORD = "augmentation_experiment_cpu"
#: Spanish names of the experiment's arms, in the recorded file's keys.
ARM_LABELS = {"sin_aumento": "sin aumento", "con_aumento": "con aumento + Dropout"}


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

    Also ``"ganancia"``: the augmented arm's test accuracy minus the plain one's over the seeds recorded in
    both arms (``seeds``): per seed and their mean (a seed run in one arm only does not count).
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
        pairs = sorted(
            (r["seed"], r["test_accuracy"] - plain[r["seed"]])
            for r in _runs(record, "con_aumento")
            if r["seed"] in plain
        )
        if pairs:
            per_seed = [gain for _, gain in pairs]
            summary["ganancia"] = dict(
                seeds=[seed for seed, _ in pairs], per_seed=per_seed, test=float(np.mean(per_seed))
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

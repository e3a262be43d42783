"""course_utils.evaluation: numbers that match scikit-learn, for Keras models and scikit-learn estimators; several runs' curves; notebook 04's recorded experiment."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from course_utils import evaluation
from course_utils.data import loaders


@pytest.fixture
def color_set(tmp_path, color_dataset_factory):
    root = tmp_path / "colores"
    color_dataset_factory(root, {"train": 8, "validation": 2, "test": 8})
    return root


def _keras_rule_model(threshold_index=4):
    """Predicts "dog" when red > threshold: right for the dogs (red >= 100) and for cats with index > threshold."""
    import keras

    inputs = keras.Input((None, None, 3))
    red = keras.layers.GlobalAveragePooling2D()(inputs)[:, :1]
    outputs = keras.layers.Activation("sigmoid")((red - (threshold_index + 0.5)) * 10.0)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("shuffle", [False, True])
def test_evaluate_keras_model_matches_sklearn(color_set, shuffle, capsys):
    split = loaders.load_split(color_set / "test", img_size=4, batch_size=3, shuffle=shuffle, preprocessing="none")
    model = _keras_rule_model(threshold_index=4)
    res = evaluation.evaluate(model, split, plot=False)
    # Independent truth: cats 0..4 are right, cats 5..7 are predicted dogs, all dogs right.
    y_true = np.array([0] * 8 + [1] * 8)
    y_pred = np.array([0] * 5 + [1] * 3 + [1] * 8)
    assert res["n"] == 16
    assert res["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred)) == pytest.approx(13 / 16)
    assert res["f1_macro"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert np.array_equal(res["confusion_matrix"], confusion_matrix(y_true, y_pred))
    assert np.array_equal(res["confusion_matrix"], [[5, 3], [0, 8]])
    assert np.array_equal(evaluation.scores_to_labels(res["scores"]), res["y_pred"])
    out = capsys.readouterr().out
    assert "accuracy" in out and "0.812" in out and "F1 (macro)" in out


def test_evaluate_sklearn_estimator_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 5))
    y = (x[:, 0] + 0.7 * rng.normal(size=80) > 0).astype(int)
    clf = LogisticRegression().fit(x[:50], y[:50])
    res = evaluation.evaluate(clf, x[50:], y[50:], plot=True, verbose=False, title="LR")
    pred = clf.predict(x[50:])
    assert res["accuracy"] == pytest.approx(clf.score(x[50:], y[50:]))
    assert res["f1_macro"] == pytest.approx(f1_score(y[50:], pred, average="macro"))
    assert np.array_equal(res["confusion_matrix"], confusion_matrix(y[50:], pred))
    assert np.array_equal(res["y_pred"], pred) and res["n"] == 30


def test_predict_with_array_requires_labels():
    from sklearn.dummy import DummyClassifier

    clf = DummyClassifier(strategy="constant", constant=1).fit([[0], [1]], [0, 1])
    with pytest.raises(ValueError, match="hace falta pasar y"):
        evaluation.predict(clf, np.zeros((3, 1)))
    y_true, y_pred, _ = evaluation.predict(clf, [[0], [1], [2]], y=[0, 1, 1])
    assert list(y_true) == [0, 1, 1] and list(y_pred) == [1, 1, 1]


def test_predict_labels_come_with_their_batches(color_set):
    split = loaders.load_split(color_set / "train", img_size=4, batch_size=5, shuffle=True, preprocessing="none")
    y_true, y_pred, scores = evaluation.predict(_keras_rule_model(threshold_index=50), split)
    assert np.array_equal(y_true, y_pred), "the rule is perfect when labels stay with their images"
    assert scores.shape == (16, 1)


@pytest.mark.parametrize(
    "scores, expected",
    [
        (np.array([[0.2], [0.7], [0.5]]), [0, 1, 0]),
        (np.array([0.9, 0.1]), [1, 0]),
        (np.array([[0.1, 0.9], [0.8, 0.2]]), [1, 0]),
        (np.array([1, 0, 1]), [1, 0, 1]),
    ],
)
def test_scores_to_labels(scores, expected):
    assert list(evaluation.scores_to_labels(scores)) == expected


def test_misclassified_indices():
    y_true = np.array([0, 0, 1, 1, 0, 1])
    y_pred = np.array([1, 0, 0, 1, 1, 1])
    m = evaluation.misclassified(y_true, y_pred)
    assert list(m["false_positives"]) == [0, 4] and list(m["false_negatives"]) == [2]


def test_show_misclassified(color_set, capsys):
    split = loaders.load_split(color_set / "test", img_size=4)
    y_true = split.labels
    y_pred = y_true.copy()
    y_pred[[0, 1]] = 1
    y_pred[-1] = 0
    fig = evaluation.show_misclassified(
        split.paths, y_true, y_pred, split.class_names, n=4, scores=np.linspace(0, 1, len(y_true))
    )
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert sum("falso positivo" in t for t in titles) == 2 and sum("falso negativo" in t for t in titles) == 1
    assert "Falsos positivos: 2 | Falsos negativos: 1" in capsys.readouterr().out
    assert evaluation.show_misclassified(split.paths, y_true, y_true, split.class_names) is None
    assert "No hay errores" in capsys.readouterr().out


def test_plot_confusion_matrix_and_training_curves():
    fig = evaluation.plot_confusion_matrix(np.array([[3, 1], [0, 4]]), ["cats", "dogs"], title="T")
    ax = fig.axes[0]
    assert ax.get_title() == "T" and ax.get_xlabel() == "Clase predicha" and ax.get_ylabel() == "Clase real"
    assert sorted(t.get_text() for t in ax.texts) == ["0", "1", "3", "4"]
    hist = {
        "loss": [0.7, 0.5, 0.4],
        "val_loss": [0.7, 0.6, 0.6],
        "accuracy": [0.5, 0.7, 0.8],
        "val_accuracy": [0.5, 0.6, 0.65],
    }
    fig = evaluation.plot_training_curves(hist)
    assert all(len(ax.lines) == 2 for ax in fig.axes)
    assert list(fig.axes[0].lines[1].get_ydata()) == hist["val_loss"]
    assert fig.axes[0].get_xlabel() == "Época"
    fig = evaluation.plot_training_curves({"loss": [1.0], "accuracy": [0.5]})
    assert all(len(ax.lines) == 1 for ax in fig.axes)


def test_comparison_table_and_plot():
    rows = [{"modelo": "mlp", "accuracy": 0.61234}, {"modelo": "cnn", "accuracy": 0.84567}]
    df = evaluation.comparison_table(rows, sort_by="accuracy")
    assert list(df["modelo"]) == ["cnn", "mlp"] and df["accuracy"].tolist() == [0.846, 0.612]
    assert list(df.index) == [0, 1]
    fig = evaluation.plot_comparison(df, "modelo", ["accuracy"], "Comparación", reference=0.5)
    ax = fig.axes[0]
    assert len(ax.patches) == 2 and ax.get_title() == "Comparación"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["referencia", "accuracy"]


def _run(arm, seed, val, test, train=None):
    best = max(range(len(val)), key=lambda i: (val[i], -i)) + 1
    return dict(
        arm=arm,
        seed=seed,
        epochs_budget=len(val),
        epochs_run=len(val),
        best_epoch=best,
        best_val_accuracy=val[best - 1],
        test_accuracy=test,
        train_seconds=10.0,
        history={
            "accuracy": train or [0.9] * len(val),
            "val_accuracy": val,
            "loss": [0.5] * len(val),
            "val_loss": [0.6] * len(val),
        },
    )


def _record():
    runs = [
        _run("sin_aumento", 1, [0.60, 0.70, 0.68], 0.70, train=[0.7, 0.9, 0.95]),
        _run("con_aumento", 1, [0.55, 0.65, 0.72, 0.75, 0.74], 0.76),
        _run("sin_aumento", 2, [0.62, 0.72, 0.72], 0.72, train=[0.7, 0.8, 0.95]),
        _run("con_aumento", 2, [0.50, 0.60, 0.70, 0.71, 0.77], 0.78),
    ]
    settings = dict(img_size=32, learning_rate=0.001, data="synthetic", precision="float32")
    return dict(settings=settings, runs=runs)


def test_best_epoch_is_the_first_highest_validation_accuracy():
    assert evaluation.best_epoch({"val_accuracy": [0.5, 0.7, 0.6, 0.7]}) == 2
    assert evaluation.best_epoch(type("History", (), {"history": {"val_accuracy": [0.9, 0.1]}})()) == 1


def test_recorded_summary_means_over_seeds_and_the_gain_per_seed():
    summary = evaluation.recorded_summary(_record())
    plain, augmented = summary["sin_aumento"], summary["con_aumento"]
    assert plain["best_epochs"] == [2, 2] and augmented["best_epochs"] == [4, 5]
    assert plain["test"] == pytest.approx(0.71) and (plain["test_min"], plain["test_max"]) == (0.70, 0.72)
    assert augmented["val"] == pytest.approx(0.76)
    assert plain["gap"] == pytest.approx(((0.9 - 0.70) + (0.8 - 0.72)) / 2)
    assert summary["ganancia"]["test"] == pytest.approx(0.06)
    assert summary["ganancia"]["per_seed"] == pytest.approx([0.06, 0.06]) and summary["ganancia"]["seeds"] == [1, 2]
    # A seed recorded in one arm only counts in that arm's mean, not in the gain (paired seeds only).
    record = _record()
    record["runs"].append(_run("sin_aumento", 3, [0.60, 0.80, 0.70], 0.80))
    summary = evaluation.recorded_summary(record)
    assert summary["sin_aumento"]["test"] == pytest.approx(0.74) and summary["ganancia"]["seeds"] == [1, 2]
    assert summary["ganancia"]["test"] == pytest.approx(0.06)


def test_recorded_table_has_one_row_per_arm():
    table = evaluation.recorded_table(_record())
    assert list(table.index) == ["sin aumento", "con aumento + Dropout"]
    assert table.loc["con aumento + Dropout", "mejor época de validación"] == "4, 5"
    assert table.loc["sin aumento", "prueba (mín-máx)"] == "0.700-0.720"
    assert table.loc["con aumento + Dropout", "prueba (media)"] == pytest.approx(0.77)


def test_plots_have_titles_labels_and_legends_and_name_no_parameter_set():
    """The recorded figure draws validation per epoch and each seed's best epoch; no label names a parameter
    set (it used to say «épocas del conjunto cpu» whatever set the notebook ran)."""
    fig = evaluation.plot_recorded(_record())
    ax = fig.axes[0]
    assert ax.get_title() == "Con y sin aumento: 32 px, Adam 1e-3, datos sintéticos, float32"
    assert ax.get_xlabel() and "validación" in ax.get_ylabel()
    texts = [t.get_text() for t in ax.get_legend().get_texts()] + [ax.get_title()]
    assert any("mejor época" in t for t in texts)
    assert not [t for t in texts if re.search(r"\b(cpu|gpu|smoke)\b", t)], texts
    h = _record()["runs"][1]["history"]
    fig = evaluation.plot_compared_curves({"a": h, "b": _record()["runs"][0]["history"]})
    assert all(a.get_title() and a.get_xlabel() and a.get_legend() for a in fig.axes)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "a: mejor época de validación (4)" in legend and "b: mejor época de validación (2)" in legend

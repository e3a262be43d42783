"""Notebook 04's experiment plumbing: the course's build_cnn, the curves, the recorded seeds, the benchmark."""

from __future__ import annotations

import json
import re

import pytest

from course_utils import augmentation_experiment as experiment


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


def test_course_build_cnn_is_the_lesson_cnn_plus_what_is_asked():
    import keras

    from course_utils.models import build_cnn

    build = experiment.course_build_cnn((48, 48, 3))
    plain = build()
    assert plain.count_params() == build_cnn((48, 48, 3)).count_params()
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in plain.layers)
    augment = keras.Sequential([keras.layers.RandomFlip("horizontal")])
    with_aug = build(augmenter=augment, dropout=0.5)
    assert with_aug.layers[1] is augment and with_aug.get_layer("dropout").rate == 0.5
    assert float(with_aug.optimizer.learning_rate) == pytest.approx(experiment.LEARNING_RATE)
    assert float(experiment.course_build_cnn((48, 48, 3), 0.01)().optimizer.learning_rate) == pytest.approx(0.01)


def test_best_epoch_is_the_first_highest_validation_accuracy():
    assert experiment.best_epoch({"val_accuracy": [0.5, 0.7, 0.6, 0.7]}) == 2
    assert experiment.best_epoch(type("History", (), {"history": {"val_accuracy": [0.9, 0.1]}})()) == 1


def test_recorded_summary_means_over_seeds_and_the_gain_per_seed():
    summary = experiment.recorded_summary(_record())
    plain, augmented = summary["sin_aumento"], summary["con_aumento"]
    assert plain["best_epochs"] == [2, 2] and augmented["best_epochs"] == [4, 5]
    assert plain["test"] == pytest.approx(0.71) and (plain["test_min"], plain["test_max"]) == (0.70, 0.72)
    assert augmented["val"] == pytest.approx(0.76)
    assert plain["gap"] == pytest.approx(((0.9 - 0.70) + (0.8 - 0.72)) / 2)
    assert summary["ganancia"]["test"] == pytest.approx(0.06)
    assert summary["ganancia"]["per_seed"] == pytest.approx([0.06, 0.06])


def test_recorded_table_has_one_row_per_arm():
    table = experiment.recorded_table(_record())
    assert list(table.index) == ["sin aumento", "con aumento + Dropout"]
    assert table.loc["con aumento + Dropout", "mejor época de validación"] == "4, 5"
    assert table.loc["sin aumento", "prueba (mín-máx)"] == "0.700-0.720"
    assert table.loc["con aumento + Dropout", "prueba (media)"] == pytest.approx(0.77)


def test_plots_have_titles_labels_and_legends_and_name_no_parameter_set():
    """The recorded figure draws validation per epoch and each seed's best epoch; no label names a parameter
    set (it used to say «épocas del conjunto cpu» whatever set the notebook ran)."""
    fig = experiment.plot_recorded(_record())
    ax = fig.axes[0]
    assert ax.get_title() == "Con y sin aumento: 32 px, Adam 1e-3, datos sintéticos, float32"
    assert ax.get_xlabel() and "validación" in ax.get_ylabel()
    texts = [t.get_text() for t in ax.get_legend().get_texts()] + [ax.get_title()]
    assert any("mejor época" in t for t in texts)
    assert not [t for t in texts if re.search(r"\b(cpu|gpu|smoke)\b", t)], texts
    h = _record()["runs"][1]["history"]
    fig = experiment.plot_compared_curves({"a": h, "b": _record()["runs"][0]["history"]})
    assert all(a.get_title() and a.get_xlabel() and a.get_legend() for a in fig.axes)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "a: mejor época de validación (4)" in legend and "b: mejor época de validación (2)" in legend


def test_benchmark_tests_once_at_the_best_validation_epoch_and_resumes(
    tmp_path, tiny_dataset, isolated_course_env, monkeypatch
):
    """The benchmark of the recorded figure, on the synthetic set: each arm its own epochs, validation every
    epoch, the test split scored once per run (05's rule: choose on validation, look at test once), with the
    best validation epoch's weights; --resume skips done runs; --no-test and --trial keep a log of trials."""
    import keras

    from benchmarks import augmentation_experiment as bench

    test_sets, evaluated = [], []
    split, evaluate = bench.keras_split, keras.Model.evaluate

    def keeping_test_split(folder, *args, **kwargs):
        ds = split(folder, *args, **kwargs)
        if folder.name == "test":
            test_sets.append(ds)
        return ds

    def counting_evaluate(self, x=None, *args, **kwargs):  # fit's validation calls evaluate too: not counted
        if any(x is ds for ds in test_sets):
            evaluated.append(self.name)
        return evaluate(self, x, *args, **kwargs)

    monkeypatch.setattr(bench, "keras_split", keeping_test_split)
    monkeypatch.setattr(keras.Model, "evaluate", counting_evaluate)
    out = tmp_path / "exp.json"
    args = ["--data", str(tiny_dataset), "--epochs", "1", "--augmented-epochs", "3", "--img-size", "48"]
    args += ["--seeds", "3", "--precision", "float32", "--learning-rate", "0.001", "--out", str(out)]
    assert bench.main(args) == 0
    record = json.loads(out.read_text())
    assert [(r["arm"], r["seed"]) for r in record["runs"]] == [("sin_aumento", 3), ("con_aumento", 3)]
    assert len(evaluated) == 2, "the test split is scored once per run, not after every epoch"
    plain, augmented = record["runs"]
    assert plain["epochs_run"] == 1 and augmented["epochs_budget"] == 3 and len(augmented["epoch_cpu_seconds"]) == 3
    assert augmented["best_epoch"] == experiment.best_epoch(augmented["history"])
    assert augmented["best_val_accuracy"] == max(augmented["history"]["val_accuracy"])
    assert 0 <= augmented["test_accuracy"] <= 1 and "bf16" in record["machine"]
    assert record["settings"]["epochs"] == {"sin_aumento": 1, "con_aumento": 3}
    assert record["settings"]["optimizer"] == "Adam 0.001"
    stamp = out.stat().st_mtime_ns
    assert bench.main([*args, "--resume"]) == 0
    assert out.stat().st_mtime_ns == stamp  # nothing left to run, nothing rewritten

    trials = tmp_path / "trials.json"
    trial = ["--data", str(tiny_dataset), "--img-size", "48", "--seeds", "3", "--precision", "float32"]
    trial += ["--arms", "sin_aumento", "--epochs", "2", "--no-test", "--out", str(trials)]
    evaluated.clear()
    assert bench.main([*trial, "--trial", "a"]) == 0
    assert bench.main([*trial, "--trial", "b", "--patience", "1"]) == 0
    log = json.loads(trials.read_text())["trials"]
    assert set(log) == {"a", "b"} and not evaluated, "design trials choose on validation: no test score"
    assert log["a"]["runs"][0]["test_accuracy"] is None and log["b"]["settings"]["patience"] == 1


def _quoted(x: float) -> str:
    return f"{100 * x:.1f} %".replace(".", ",")


def test_04_quotes_the_recorded_seeds_and_they_show_the_win():
    """04's text about the three seeds quotes course_utils/recorded/augmentation_experiment_cpu.json, whose
    settings are the cpu set's, and the record shows what the text teaches: with augmentation the test accuracy
    is higher, by more than the spread of the seeds."""
    from course_utils import artifacts
    from course_utils.config import PROJECT_ROOT
    from course_utils.schema import notebook

    record = artifacts.recorded(experiment.RECORDED)
    s = record["settings"]
    assert s["data"] == "real" and s["precision"] == "float32" and record["command"].startswith("python ")
    cpu = notebook("04_aumento_datos").values["cpu"]
    assert s["img_size"] == cpu["img_size"]
    assert s["epochs"] == {"sin_aumento": cpu["epochs"], "con_aumento": cpu["epochs"]}
    assert s["learning_rate"] == experiment.LEARNING_RATE
    cells = json.loads((PROJECT_ROOT / "source" / "04_aumento_datos.ipynb").read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    (rule,) = re.findall(
        r"EarlyStopping\(monitor=\"val_accuracy\", patience=(\d+),\s+restore_best_weights=True\)", code
    )
    assert int(rule) == s["patience"], "04 stops with the record's patience"
    (text,) = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "markdown" and "**Qué dicen las semillas**" in "".join(c["source"])
    ]
    text = " ".join(text.split())
    summary = experiment.recorded_summary(record)
    for arm in experiment.ARM_LABELS:
        a = summary[arm]
        assert len(a["seeds"]) == 3, arm
        for value in (a["test"], a["test_min"], a["test_max"], a["val"]):
            assert _quoted(value) in text, f"{arm}: {_quoted(value)} missing from 04's text"
        assert "épocas " + ", ".join(map(str, a["best_epochs"][:-1])) + f" y {a['best_epochs'][-1]}" in text, arm
    gain = summary["ganancia"]
    assert f"{100 * gain['test']:.1f} puntos".replace(".", ",") in text
    spread = max(summary[arm]["test_max"] - summary[arm]["test_min"] for arm in experiment.ARM_LABELS)
    assert gain["test"] > spread and min(gain["per_seed"]) > 0, "the record does not show the win the text teaches"

"""Notebook 04's experiment plumbing: the course's build_cnn, the curves, the recorded seeds, the benchmark."""

from __future__ import annotations

import json

import pytest

from course_utils import augmentation_experiment as experiment


def _record(epochs=3):
    runs = []
    for seed, base in ((1, 0.70), (2, 0.72)):
        for arm, bonus in (("sin_aumento", 0.0), ("con_aumento", 0.05)):
            runs.append(
                dict(
                    arm=arm,
                    seed=seed,
                    test_accuracy_at={str(e): base + bonus + 0.01 * e for e in range(1, epochs + 1)},
                    history={
                        "accuracy": [0.9 - bonus] * epochs,
                        "val_accuracy": [0.7] * epochs,
                        "loss": [0.5] * epochs,
                        "val_loss": [0.6] * epochs,
                    },
                )
            )
    settings = dict(epochs=epochs, img_size=32, optimizer="Adam 1e-4", data="synthetic", precision="float32")
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
    assert float(with_aug.optimizer.learning_rate) == pytest.approx(1e-4)


def test_recorded_table_means_over_seeds():
    table = experiment.recorded_table(_record(), epochs=2)
    assert list(table.index) == ["sin aumento", "con aumento + Dropout"]
    assert table.loc["sin aumento", "prueba, época 2 (media)"] == pytest.approx(0.73)
    assert table.loc["con aumento + Dropout", "prueba, época 3 (media)"] == pytest.approx(0.79)
    assert table.loc["con aumento + Dropout", "brecha entr.-val., época 2"] == pytest.approx(0.15)
    assert table.loc["sin aumento", "prueba, época 2 (mín-máx)"] == "0.720-0.740"


def test_plots_have_titles_labels_and_legends():
    fig = experiment.plot_recorded(_record(), budget=2)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    h = _record()["runs"][0]["history"]
    fig = experiment.plot_compared_curves({"a": h, "b": h})
    assert all(a.get_title() and a.get_xlabel() and a.get_legend() for a in fig.axes)


def test_benchmark_records_each_run_and_resumes(tmp_path, tiny_dataset, isolated_course_env):
    """The benchmark of the recorded figure, on the synthetic set: one epoch, one seed; --resume skips done runs."""
    from benchmarks import augmentation_experiment as bench

    out = tmp_path / "exp.json"
    args = ["--data", str(tiny_dataset), "--epochs", "1", "--eval-at", "1", "--img-size", "48"]
    args += ["--seeds", "3", "--precision", "float32", "--out", str(out)]
    assert bench.main(args) == 0
    record = json.loads(out.read_text())
    assert [(r["arm"], r["seed"]) for r in record["runs"]] == [("sin_aumento", 3), ("con_aumento", 3)]
    assert set(record["runs"][0]["test_accuracy_at"]) == {"1"} and "bf16" in record["machine"]
    stamp = out.stat().st_mtime_ns
    assert bench.main([*args, "--resume"]) == 0
    assert out.stat().st_mtime_ns == stamp  # nothing left to run, nothing rewritten


def test_04_quotes_the_recorded_seeds():
    """04's text about the three seeds quotes course_utils/recorded/augmentation_experiment_cpu.json."""
    from statistics import mean

    from course_utils import artifacts
    from course_utils.config import PROJECT_ROOT
    from course_utils.schema import notebook

    record = artifacts.recorded(experiment.RECORDED)
    assert record["settings"]["data"] == "real" and record["command"].startswith("python ")
    cells = json.loads((PROJECT_ROOT / "source" / "04_aumento_datos.ipynb").read_text())["cells"]
    (text,) = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "markdown" and "**Qué dicen las semillas**" in "".join(c["source"])
    ]
    budget, last = notebook("04_aumento_datos").values["cpu"]["epochs"], record["settings"]["epochs"]
    for arm in experiment.ARM_LABELS:
        runs = [r for r in record["runs"] if r["arm"] == arm]
        assert len(runs) == 3, arm
        for epochs in (budget, last):
            quoted = f"{100 * mean(r['test_accuracy_at'][str(epochs)] for r in runs):.1f} %".replace(".", ",")
            assert quoted in text, f"{arm}, {epochs} épocas: {quoted} missing from 04's text"

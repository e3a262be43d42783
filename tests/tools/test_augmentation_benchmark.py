"""benchmarks/augmentation_experiment.py: each arm to its best validation epoch, the test split once, resumable."""

from __future__ import annotations

import json

from course_utils import evaluation


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
    assert augmented["best_epoch"] == evaluation.best_epoch(augmented["history"])
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

"""benchmarks/augmentation_experiment.py: each run recorded, resumable."""

from __future__ import annotations

import json


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

"""Notebook 07's record with ImageNet weights (benchmarks/pretrained_07.py): built from a series summary, and the
README's line and the notebook's text quote exactly what it says."""

from __future__ import annotations

import json

import pytest

from benchmarks import pretrained_07
from course_tools import readme
from course_utils.config import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "source" / "07_modelos_preentrenados.ipynb"

LSCPU = """Architecture:             x86_64
  Model name:             Intel(R) Xeon(R) Processor
    Flags:                fpu avx512f avx512_bf16
"""


def _summary(pretrained=True, status="ok", precision="float32", seconds=600.0):
    metrics = {
        "data_kind": "real",
        "weights": "imagenet",
        "pretrained": pretrained,
        "main_backbone": "efficientnet_lite0",
        "weights_used": "pesos ImageNet de EfficientNet-Lite0 (paquete de pip)",
        "classifiers": {"SVC": 0.991, "DecisionTree": 0.95, "RandomForest": 0.975, "KNN": 0.985},
        "feature_extractors": {"efficientnet_lite0": 0.991},
        "transfer_head_test_accuracy": 0.987,
        "fine_tune_test_accuracy": 0.984,
        "train_seconds": 300.0,
    }
    return {
        "param_set": "cpu",
        "recorded": {
            "date": "2026-12-07 18:00 UTC",
            "command": "python -m course_tools.series --params cpu --notebooks 07 --out build/cpu-07",
            "precision": precision,
            "cpu": "AVX-512, bf16: avx512_bf16",
            "load": "1.00 / 1.00 / 1.00",
        },
        "runs": [{"name": "07_modelos_preentrenados", "status": status, "seconds": seconds, "metrics": metrics}],
    }


def test_cpu_model_is_lscpus_model_name():
    assert pretrained_07.cpu_model(LSCPU) == "Intel(R) Xeon(R) Processor"


def test_record_from_a_summary_has_the_figures_and_the_verdicts():
    r = pretrained_07.record_from_summary(_summary(), "Intel(R) Xeon(R) Processor")
    assert r["weights_used"] == "pesos ImageNet de EfficientNet-Lite0 (paquete de pip)"
    assert r["test_accuracy"]["features_pca_classifiers"]["KNN"] == 0.985 and r["minutes"] == 10.0
    assert r["targets"]["features_svc"]["met"] is True
    assert r["targets"]["fine_tune"]["met"] is False  # 0.984 < 0.985
    assert r["targets"]["minutes_float32"]["met"] is True
    assert r["settings"]["pca_components"] == 100 and r["cpu_model"] == "Intel(R) Xeon(R) Processor"
    slow_bf16 = pretrained_07.record_from_summary(_summary(precision="mixed_bfloat16"), "x")
    assert slow_bf16["targets"]["minutes_float32"]["met"] is False  # the time target is in float32


@pytest.mark.parametrize(("kwargs", "why"), [({"pretrained": False}, "aleatorios"), ({"status": "failed"}, "terminó")])
def test_record_refuses_random_weights_or_a_failed_run(kwargs, why):
    with pytest.raises(ValueError, match=why):
        pretrained_07.record_from_summary(_summary(**kwargs), "x")


def test_readme_line_says_which_weights_and_that_they_are_not_efficientnetb0s(tmp_path):
    path = tmp_path / "pretrained_07_cpu.json"
    path.write_text(json.dumps(pretrained_07.record_from_summary(_summary(), "Intel(R) Xeon(R) Processor")))
    line = readme.pretrained_line(path)
    assert "pesos ImageNet de EfficientNet-Lite0 (paquete de pip)" in line
    assert "SVC 0.991" in line and "ajuste fino 0.984" in line and "ajuste fino ≥ 0.985: NOT MET" in line
    assert "no de EfficientNetB0" in line
    assert "sin ejecución registrada" in readme.pretrained_line(tmp_path / "ninguno.json")


def test_percent_uses_a_decimal_comma():
    assert readme.percent(0.9934) == "99,3 %"


# ----------------------------------------------------------------------------- the recorded run


@pytest.fixture(scope="module")
def record():
    if not pretrained_07.RECORD.is_file():
        pytest.fail(f"falta {pretrained_07.RECORD}: `python -m benchmarks.pretrained_07 build/cpu-07/summary.json`")
    return json.loads(pretrained_07.RECORD.read_text())


def test_the_recorded_run_used_imagenet_weights_in_float32(record):
    assert record["weights_used"].startswith("pesos ImageNet de ") and record["precision"] == "float32"
    assert record["data_kind"] == "real" and record["param_set"] == "cpu"


def test_readme_line_is_generated_from_the_record(record):
    assert readme.pretrained_line(pretrained_07.RECORD) in readme.README.read_text()


def test_notebook_text_quotes_the_record(record):
    nb = json.loads(NOTEBOOK.read_text())
    text = " ".join(" ".join("".join(c["source"]).split()) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert readme.pretrained_quote(record) in text
    assert "EfficientNetB0 + SVC" not in text  # nothing claims EfficientNetB0 figures measured with Lite0


def test_fit_validation_reads_every_epochs_val_accuracy_in_order():
    notebook = {
        "cells": [
            {"outputs": [{"output_type": "stream", "text": ["63/63 - 5s - accuracy: 0.9 - val_accuracy: 0.9840\n"]}]},
            {"outputs": [{"output_type": "display_data", "data": {}}]},
            {"outputs": [{"output_type": "stream", "text": "x - val_accuracy: 0.99 - val_loss: 0.1\n"}]},
        ]
    }
    assert pretrained_07.fit_validation(notebook) == [0.984, 0.99]


def test_cpu_seconds_from_time_v():
    log = "\tUser time (seconds): 1200.50\n\tSystem time (seconds): 30.25\n"
    assert pretrained_07.cpu_seconds(log) == 1230.8 and pretrained_07.cpu_seconds("nada") is None

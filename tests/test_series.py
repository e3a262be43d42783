"""The series runner's pure parts: selection, summary and the GPU job's level check."""

from __future__ import annotations

import json

import pytest

from course_utils import series
from course_utils.series import NotebookRun, check_levels, write_summary


def _summary(tmp_path, param_set, cnn_acc, feat_acc, pretrained=True, kind="real", status="ok"):
    runs = [NotebookRun("04_aumento_datos", status=status, seconds=10,
                        metrics={"test_accuracy": cnn_acc, "data_kind": kind, "epochs_run": 3}),
            NotebookRun("06_modelos_preentrenados", status="ok", seconds=20,
                        metrics={"pretrained": pretrained, "feature_extractors": {"efficientnetb0": feat_acc},
                                 "data_kind": kind})]
    write_summary(runs, tmp_path, param_set)
    return tmp_path / "summary.json"


def test_gpu_levels_met(tmp_path):
    assert check_levels(_summary(tmp_path, "gpu", 0.84, 0.97)) == []


@pytest.mark.parametrize("cnn,feat,pretrained,kind,expect", [
    (0.75, 0.97, True, "real", "CNN con aumento"),
    (0.84, 0.86, True, "real", "no superan"),
    (0.84, 0.97, False, "real", "pesos ImageNet"),
    (0.84, 0.97, True, "synthetic", "datos reales"),
])
def test_gpu_levels_not_met(tmp_path, cnn, feat, pretrained, kind, expect):
    bad = check_levels(_summary(tmp_path, "gpu", cnn, feat, pretrained, kind))
    assert any(expect in b for b in bad), bad


def test_levels_not_asserted_for_smoke_but_failures_are(tmp_path):
    assert check_levels(_summary(tmp_path, "smoke", 0.5, 0.5, False, "synthetic")) == []
    assert check_levels(_summary(tmp_path, "smoke", 0.5, 0.5, status="failed"))


def test_summary_files(tmp_path):
    path = _summary(tmp_path, "cpu", 0.81, 0.9)
    data = json.loads(path.read_text())
    assert data["param_set"] == "cpu"
    row = data["rows"][0]
    assert row["metric"] == "test_accuracy" and row["value"] == 0.81 and row["lesson_level"] == 0.80
    md = (tmp_path / "summary.md").read_text()
    assert "| 04_aumento_datos | ok |" in md and "0.810" in md
    assert "<table" in (tmp_path / "summary.html").read_text()


def test_select_notebooks():
    assert series._select(["03", "01"]) == ["01_exploracion_datos", "03_cnn"]
    assert series._select(None)[0] == "01_exploracion_datos"
    with pytest.raises(SystemExit):
        series._select(["99"])


def test_unknown_param_set():
    with pytest.raises(SystemExit):
        series.run_series("turbo")

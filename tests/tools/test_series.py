"""The series runner's pure parts: selection, summary, the GPU job's level check and the exit codes."""

from __future__ import annotations

import json

import pytest

from course_tools import series
from course_tools.series import NotebookRun, write_summary
from course_tools.verdicts import check_levels
from course_utils import levels
from course_utils.params.resolve import NOTEBOOKS


def _summary(tmp_path, param_set, cnn_acc, feat_acc, pretrained=True, kind="real", status="ok"):
    runs = [
        NotebookRun(
            "05_hacia_el_90",
            status=status,
            seconds=10,
            metrics={"test_accuracy": cnn_acc, "data_kind": kind, "epochs_run": 3},
        ),
        NotebookRun(
            "07_modelos_preentrenados",
            status="ok",
            seconds=20,
            metrics={"pretrained": pretrained, "feature_extractors": {"efficientnetb0": feat_acc}, "data_kind": kind},
        ),
    ]
    tmp_path.mkdir(parents=True, exist_ok=True)
    write_summary(runs, tmp_path, param_set)
    return tmp_path / "summary.json"


def test_gpu_levels_met(tmp_path):
    assert check_levels(_summary(tmp_path, "gpu", 0.84, 0.97)) == []


@pytest.mark.parametrize(
    "cnn,feat,pretrained,kind,expect",
    [
        (0.75, 0.97, True, "real", "CNN con aumento"),
        (0.84, 0.86, True, "real", "no superan"),
        (0.84, 0.97, False, "real", "pesos ImageNet"),
        (0.84, 0.97, True, "synthetic", "datos reales"),
    ],
)
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
    assert row["metric"] == "test_accuracy" and row["value"] == 0.81
    assert row["lesson_level"] == levels.LESSON_AUGMENTED_CNN.value
    assert "original_recipe_here" not in row, "the lesson recipe's numbers come from their records, not from levels"
    md = (tmp_path / "summary.md").read_text()
    assert "| 05_hacia_el_90 | ok |" in md and "0.810" in md
    assert "<table" in (tmp_path / "summary.html").read_text()


def test_select_notebooks():
    assert series._select(["03", "01"]) == ["01_exploracion_datos", "03_cnn"]
    assert series._select(None)[0] == "01_exploracion_datos"
    with pytest.raises(ValueError, match="Cuaderno desconocido: 99"):
        series._select(["99"])


def test_unknown_param_set():
    with pytest.raises(ValueError, match="turbo"):
        series.run_series("turbo")


def test_main_exit_codes(tmp_path, capsys):
    assert series.main(["--notebooks", "99", "--out", str(tmp_path)]) == 2
    assert "Cuaderno desconocido" in capsys.readouterr().err
    good = _summary(tmp_path / "ok", "gpu", 0.84, 0.97)
    assert series.main(["--check-levels", str(good)]) == 0
    bad = _summary(tmp_path / "bad", "gpu", 0.5, 0.97)
    assert series.main(["--check-levels", str(bad)]) == 1
    assert "CNN con aumento" in capsys.readouterr().out


def test_levels_name_their_source():
    for name, ref in levels.REFERENCES.items():
        assert name in series.NOTEBOOKS
        assert ref.lesson is None or (0 < ref.lesson.value < 1 and ref.lesson.source)


@pytest.mark.parametrize(
    "peaks, verdict",
    [
        ((1.2, 2.9), "MET (máximo 2.90 GB en 07_modelos_preentrenados)"),
        ((3.4, 2.0), "NOT MET (máximo 3.40 GB en 05_hacia_el_90)"),
    ],
)
def test_summary_shows_peak_memory_and_the_cpu_memory_target(tmp_path, peaks, verdict):
    runs = [
        NotebookRun("05_hacia_el_90", status="ok", seconds=10, peak_memory_gb=peaks[0]),
        NotebookRun("07_modelos_preentrenados", status="ok", seconds=20, peak_memory_gb=peaks[1]),
    ]
    write_summary(runs, tmp_path, "cpu")
    md = (tmp_path / "summary.md").read_text()
    assert "Memoria pico (GB)" in md and f"| 05_hacia_el_90 | ok | 10 | {peaks[0]:.3f} |" in md
    assert verdict in md
    assert json.loads((tmp_path / "summary.json").read_text())["rows"][1]["peak_memory_gb"] == peaks[1]
    write_summary(runs, tmp_path, "smoke")
    assert "Memoria: objetivo" not in (tmp_path / "summary.md").read_text()


def test_run_series_records_the_kernels_peak_memory(tmp_path, monkeypatch):
    """A fake papermill whose 'kernel' is a child process allocating 200 MB."""
    import subprocess
    import sys

    import papermill

    def fake_execute(src, out, **kwargs):
        code = "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(1.5)"
        subprocess.run([sys.executable, "-c", code], check=True)

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    runs = series.run_series("smoke", out_dir=tmp_path, notebooks=["01"], log=lambda *_: None)
    assert runs[0].status == "ok" and runs[0].peak_memory_gb >= 0.19


def test_run_series_hides_only_its_own_parameters_from_papermills_unknown_parameter_warning(
    tmp_path, monkeypatch, caplog
):
    import logging

    import papermill

    def fake_execute(src, out, **kwargs):
        log = logging.getLogger("papermill")
        for name in ("DATA_SOURCE", "ARTIFACTS_DIR", "EPCOHS"):
            log.warning(f"Passed unknown parameter: {name}")

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    with caplog.at_level(logging.WARNING, logger="papermill"):
        series.run_series("smoke", out_dir=tmp_path, notebooks=["01"], log=lambda *_: None)
    said = [r.getMessage() for r in caplog.records if r.name == "papermill"]
    assert said == ["Passed unknown parameter: EPCOHS"]


def _rows(seconds, accuracy, n=8):
    names = list(NOTEBOOKS)[:n]
    return [
        {
            "notebook": name,
            "status": "ok",
            "seconds": seconds / n,
            "peak_memory_gb": 1.0,
            "value": accuracy if name == "05_hacia_el_90" else None,
        }
        for name in names
    ]


@pytest.mark.parametrize(
    "seconds, accuracy, words",
    [
        (24 * 60, 0.86, ["MET (24.0 min)", "MET (0.860 en 05_hacia_el_90"]),
        (26 * 60, 0.85, ["NOT MET (26.0 min)", "NOT MET (0.850 en 05_hacia_el_90"]),
    ],
)
def test_series_verdicts_for_time_and_from_scratch_accuracy(seconds, accuracy, words):
    from course_tools.verdicts import series_verdicts

    lines = series_verdicts("cpu", _rows(seconds, accuracy), expected=8)
    text = "\n".join(lines)
    for w in words:
        assert w in text
    assert "no medido" in "\n".join(series_verdicts("cpu", _rows(seconds, accuracy, n=4), expected=8))
    assert series_verdicts("smoke", _rows(seconds, accuracy), expected=8) == []


def test_series_verdicts_judge_times_only_in_float32():
    """The time targets are in float32: a bf16 series reports its times beside them, with no verdict."""
    from course_tools.verdicts import series_verdicts

    rows = _rows(24 * 60, 0.87)
    next(r for r in rows if r["notebook"] == "05_hacia_el_90")["train_seconds"] = 13 * 60
    text = "\n".join(series_verdicts("cpu", rows, expected=8, precision="float32"))
    assert "MET (24.0 min)" in text and "Entrenamiento de 05_hacia_el_90" in text and "NOT MET (13.0 min)" in text
    text = "\n".join(series_verdicts("cpu", rows, expected=8, precision="mixed_bfloat16"))
    assert "Tiempo: 24.0 min con mixed_bfloat16 (el objetivo ≤ 25 min es en float32)" in text
    assert "13.0 min con mixed_bfloat16" in text and "MET (24.0 min)" not in text and "NOT MET (13" not in text
    assert "MET (0.870 en 05_hacia_el_90" in text  # accuracy is judged in any precision
    assert "Entrenamiento" not in "\n".join(series_verdicts("cpu", _rows(24 * 60, 0.87), expected=8))


def test_main_exit_code_is_1_when_a_notebook_fails(monkeypatch, tmp_path):
    """``make gpu-ci`` relies on this exit code."""
    runs = [series.NotebookRun("02_mlp", status="ok"), series.NotebookRun("03_cnn", status="failed")]
    monkeypatch.setattr(series, "run_series", lambda *a, **k: runs)
    assert series.main(["--out", str(tmp_path)]) == 1
    monkeypatch.setattr(series, "run_series", lambda *a, **k: runs[:1])
    assert series.main(["--out", str(tmp_path)]) == 0


def test_summary_keeps_paths_inside_the_repository_relative(tmp_path):
    """An executed copy or a model named in the metrics is recorded relative to the repository."""
    from course_utils.config import PROJECT_ROOT

    model = PROJECT_ROOT / "build" / "cpu" / "artifacts" / "models" / "m.keras"
    run = NotebookRun(
        "08_mapas_caracteristicas",
        status="ok",
        seconds=1,
        output=str(PROJECT_ROOT / "build" / "cpu" / "notebooks" / "07.ipynb"),
        metrics={"model_source": f"modelo guardado ({model})"},
    )
    write_summary([run], tmp_path, "cpu", command=f"python -m course_tools.series --out {PROJECT_ROOT}/build/x")
    text = (tmp_path / "summary.json").read_text()
    assert str(PROJECT_ROOT) not in text
    recorded = json.loads(text)
    assert recorded["runs"][0]["output"] == "build/cpu/notebooks/07.ipynb"
    assert recorded["runs"][0]["metrics"]["model_source"] == "modelo guardado (build/cpu/artifacts/models/m.keras)"
    assert recorded["recorded"]["command"].endswith("--out build/x")


def test_parallel_series_starts_the_longest_first_and_keeps_the_series_order(tmp_path, monkeypatch):
    """``start_first`` notebooks are submitted first to the pool; the runs come back in the series' order."""
    import concurrent.futures

    submitted: list[str] = []

    class FakePool:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, name, *args):
            submitted.append(name)
            future = concurrent.futures.Future()
            future.set_result(series.NotebookRun(name, status="ok", output=str(tmp_path / f"{name}.ipynb")))
            return future

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", FakePool)
    monkeypatch.setattr(series, "write_summary", lambda *args: None)
    longest = ("07_modelos_preentrenados", "05_hacia_el_90")
    runs = series.run_series(
        "smoke", out_dir=tmp_path, keep_going=True, standalone=True, jobs=2, start_first=longest, log=lambda *_: None
    )
    assert submitted[:2] == ["05_hacia_el_90", "07_modelos_preentrenados"], submitted
    assert sorted(submitted) == [r.name for r in runs] == list(series.NOTEBOOKS)


def test_start_first_names_an_unknown_notebook_fails_before_running(tmp_path):
    """A renamed notebook left in ``start_first`` would silently lose its early start: it fails instead."""
    with pytest.raises(ValueError, match="99_no_existe"):
        series.run_series(
            "smoke",
            out_dir=tmp_path,
            keep_going=True,
            standalone=True,
            jobs=2,
            start_first=("99_no_existe",),
            log=lambda *_: None,
        )

"""Execution tests: the whole series with papermill and the smoke set, then its recorded results.

The series runs once per test session (module fixture) into build/test-series/,
each notebook alone with its own empty artifacts folder (as in a fresh Colab runtime),
on the student version (exercises unanswered),
with the real course data when ../shared/data (or COURSE_DATA_MIRROR) has it,
else the synthetic set; the tests say which one was used.  Assertions are on
what the notebooks recorded, not only on "it ran".
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.exercises import MISSING, OK
from course_utils.nbtools import is_checked, source_text
from course_utils.params import NOTEBOOKS

pytestmark = pytest.mark.notebooks
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "test-series"


@pytest.fixture(scope="module")
def series():
    from course_utils.series import run_series

    shutil.rmtree(OUT, ignore_errors=True)
    runs = run_series("smoke", out_dir=OUT, keep_going=True, standalone=True)
    by_name = {r.name: r for r in runs}
    kinds = {r.metrics.get("data_kind") for r in runs if r.metrics}
    print(f"\nSerie smoke ejecutada con datos: {', '.join(sorted(k for k in kinds if k))}")
    return by_name


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(series, name):
    run = series[name]
    assert run.status == "ok", (
        f"{name} falló en la celda {run.cell}: {run.error}\nSalida parcial conservada en {run.output}"
    )
    assert Path(run.output).exists()
    assert run.metrics, f"{name} no registró resultados en artifacts/results/{name}.json"


def test_each_notebook_ran_alone_with_an_empty_artifacts_folder(series):
    from course_utils.course_model import FALLBACK_MODEL, SAVED_MODELS

    for name in NOTEBOOKS:
        own = OUT / "artifacts" / name
        assert (own / "results" / f"{name}.json").exists(), name
        assert series[name].metrics, name
    for name in ("05_embeddings", "07_mapas_caracteristicas"):
        own = OUT / "artifacts" / name
        assert not any((own / rel).exists() for rel in SAVED_MODELS.values())
        assert (own / FALLBACK_MODEL).exists(), f"{name}: sin los modelos de 03/04 entrena el suyo"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_unanswered_exercises_run_and_say_the_answer_is_missing(series, name):
    out = json.loads(Path(series[name].output).read_text())
    checks = [c for c in out["cells"] if c["cell_type"] == "code" and "exercises.check(" in source_text(c)]
    for cell in checks:
        text = "".join("".join(o.get("text", "")) for o in cell["outputs"] if o.get("output_type") == "stream")
        assert MISSING in text and OK not in text, f"{name}: {source_text(cell)!r} -> {text!r}"


def test_data_kind_is_reported(series):
    kinds = {n: r.metrics.get("data_kind") for n, r in series.items()}
    assert set(kinds.values()) <= {"real", "synthetic", "local"}, kinds
    expected = "real" if os.environ.get("COURSE_DATA_MIRROR") else None
    if expected:
        assert set(kinds.values()) == {"real"}, f"con espejo local se esperaban datos reales: {kinds}"


def test_exploration_counts(series):
    m = series["01_exploracion_datos"].metrics
    n = m["n_images"]
    assert set(n) == {"train", "validation", "test"}
    assert all(v == 2 * 40 for v in n.values()), n  # smoke: 40 per class and split
    assert m["bad_files"] == 0
    assert m["mean_width"] > 16 and m["mean_height"] > 16


@pytest.mark.parametrize("name", ["02_mlp", "03_cnn", "04_aumento_datos"])
def test_trained_models_metrics(series, name):
    m = series[name].metrics
    for key in ("test_accuracy", "test_f1", "train_seconds", "train_accuracy_final", "val_accuracy_final"):
        assert _finite(m.get(key)), f"{name}: {key}={m.get(key)!r}"
    assert 0.0 <= m["test_accuracy"] <= 1.0 and 0.0 <= m["test_f1"] <= 1.0
    assert 1 <= m["epochs_run"] <= 10
    assert m["train_seconds"] > 0
    # Smoke runs are too short to learn real photos; they must still not be degenerate.
    assert m["test_accuracy"] >= 0.3, f"{name}: accuracy {m['test_accuracy']} por debajo de lo razonable"


def test_saved_models_load(series):
    from course_utils.artifacts import load_model
    from course_utils.course_model import SAVED_MODELS

    for name, key in (("03_cnn", "cnn"), ("04_aumento_datos", "cnn_aumento")):
        model = load_model(OUT / "artifacts" / name / SAVED_MODELS[key])
        assert model.input_shape[1:] == (64, 64, 3)
        assert model.output_shape[-1] == 1
    # 04's model for photos takes raw pixels of any size.
    photo = load_model(OUT / "artifacts" / "04_aumento_datos" / SAVED_MODELS["cnn_aumento_fotos"])
    assert photo.input_shape[1:] == (None, None, 3) and photo.output_shape[-1] == 1


def test_embeddings_metrics(series):
    m = series["05_embeddings"].metrics
    assert m["embedding_dim"] > 0
    assert m["classifiers"] and all(
        _finite(v["test_accuracy"]) and _finite(v["train_accuracy"]) for v in m["classifiers"].values()
    )
    assert set(m["classifiers"]) == {"SVC", "DecisionTree", "RandomForest", "KNN"}
    assert _finite(m["svc_test_accuracy"])


def test_pretrained_is_labelled_honestly(series):
    m = series["06_modelos_preentrenados"].metrics
    assert m["weights"] == "random" and m["pretrained"] is False
    out = json.loads(Path(series["06_modelos_preentrenados"].output).read_text())
    text = "".join(
        "".join(o.get("text", ""))
        for c in out["cells"]
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )
    assert "PESOS ALEATORIOS, no preentrenados" in text, "el cuaderno debe decir que no hay pesos preentrenados"
    for key in ("transfer_head_test_accuracy", "fine_tune_test_accuracy"):
        assert _finite(m[key])
    assert all(_finite(v) for v in m["feature_extractors"].values())


def test_feature_maps_metrics(series):
    m = series["07_mapas_caracteristicas"].metrics
    assert m["n_layers_visualised"] >= 8  # 4 conv + 4 pooling layers, found by type
    assert m["n_filter_patterns"] > 0 and m["n_gradcam"] > 0


def test_summary_written(series):
    md = (OUT / "summary.md").read_text()
    for name in NOTEBOOKS:
        assert name in md
    summary = json.loads((OUT / "summary.json").read_text())
    assert [r["notebook"] for r in summary["rows"]] == list(NOTEBOOKS)
    assert "data:image/png;base64," in (OUT / "summary.html").read_text()


def test_smoke_cnn_learns_synthetic_data(tmp_path):
    """On the synthetic set the smoke CNN must be clearly above chance."""
    from course_utils.series import run_series

    runs = run_series("smoke", out_dir=tmp_path, notebooks=["04"], data_source="synthetic")
    run = runs[0]
    assert run.status == "ok", run.error
    assert run.metrics["data_kind"] == "synthetic"
    assert run.metrics["test_accuracy"] > 0.7, run.metrics


def test_failing_notebook_is_reported_with_partial_output(tmp_path):
    from course_utils.series import run_series

    runs = run_series("smoke", out_dir=tmp_path, notebooks=["02"], extra_params={"EPOCHS": -1})
    run = runs[0]
    assert run.status == "failed"
    assert "EPOCHS" in run.error and "ParameterError" in run.error
    assert Path(run.output).exists(), "la salida parcial debe conservarse"
    assert "falló" in (tmp_path / "summary.md").read_text()


def test_nbval_detects_changed_reference(tmp_path):
    """Corrupt one checked reference output: nbval must fail."""
    src = ROOT / "source" / "01_exploracion_datos.ipynb"
    nb = json.loads(src.read_text())
    checked = [c for c in nb["cells"] if c["cell_type"] == "code" and is_checked(c)]
    assert checked, "01 debe tener celdas con la etiqueta nbval-check-output"
    changed = False
    for out in checked[0]["outputs"]:
        if "text" in out:
            text = "".join(out["text"])
            new = text.replace("40", "41", 1) if "40" in text else text + "x"
            out["text"] = new
            changed = True
            break
    assert changed
    bad = tmp_path / "01_corrupto.ipynb"
    bad.write_text(json.dumps(nb))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--sanitize-with",
            str(ROOT / "tests" / "nbval_sanitize.cfg"),
            str(bad),
            "-q",
        ],
        cwd=ROOT / "notebooks",
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COURSE_ARTIFACTS_DIR": str(tmp_path / "art")},
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "1 failed" in proc.stdout

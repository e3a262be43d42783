"""Execution tests: the whole series with papermill and the smoke set, then its recorded results.

Each notebook executes once per test session (module fixture) into build/test-series/:
its merged version (``course_tools.checked_run``): the source, with each exercise's solution
preceded by the student's blank cell and check, which must say the answer is missing; later cells
see the solutions, so every reference output of the source (cells tagged ``nbval-check-output``)
is compared with nbval's rules and sanitizers, without running nbval again.  Each notebook runs
alone with its own empty artifacts folder (as in a fresh Colab runtime), with the real course data
when ../shared/data (or COURSE_DATA_MIRROR) has it, else the synthetic set; the tests say which
one was used.  Assertions are on what the notebooks recorded, not only on "it ran".
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

from course_tools import checked_run
from course_tools.nbtools import SOURCE_DIR, problem_outputs, read, source_text
from course_utils.exercises import MISSING, OK
from course_utils.params.resolve import NOTEBOOKS

pytestmark = pytest.mark.notebooks
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "test-series"
SANITIZERS = ROOT / "tests" / "notebooks" / "nbval_sanitize.cfg"


#: ``make test NB=03`` runs only the notebooks whose names start so (COURSE_TEST_NOTEBOOKS).
SELECTED = [n for n in os.environ.get("COURSE_TEST_NOTEBOOKS", "").split(",") if n.strip()]


#: The smoke notebooks that take longest (fresh clone, 2 cores, float32: 07 68 s, 05 28 s, the others 10-19 s): they
#: start first, so that the series does not end with one kernel running alone.
LONGEST_SMOKE_RUNS = ("07_modelos_preentrenados", "05_hacia_el_90")


class _Series(dict):
    """The runs by notebook name; a notebook left out with ``NB=`` skips its tests."""

    def __missing__(self, name: str):
        pytest.skip(f"{name} no se ejecutó en esta prueba (NB={','.join(SELECTED)})")


@pytest.fixture(scope="module")
def series():
    from course_tools.series import _select, run_series

    shutil.rmtree(OUT, ignore_errors=True)
    names = _select(SELECTED or None)
    sources = [SOURCE_DIR / f"{name}.ipynb" for name in names]
    checked_run.write_merged_versions([p for p in sources if p.exists()], OUT / "input")  # a missing one fails below
    # Each notebook alone (its own artifacts folder), two at a time on two cores or more: a smoke
    # notebook leaves a core idle much of the time (kernel start, imports, small batches).
    runs = run_series(
        "smoke",
        out_dir=OUT,
        keep_going=True,
        standalone=True,
        notebooks=names,
        notebook_dir=OUT / "input",
        jobs=min(2, os.cpu_count() or 1),
        start_first=LONGEST_SMOKE_RUNS,
    )
    by_name = _Series({r.name: r for r in runs})
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
    from course_utils.models.course_model import FALLBACK_MODEL, SAVED_MODELS

    ran = [name for name in NOTEBOOKS if name in series]  # NB= runs some of them
    assert ran
    for name in ran:
        own = OUT / "artifacts" / name
        assert (own / "results" / f"{name}.json").exists(), name
        assert series[name].metrics, name
    for name in {"06_embeddings", "08_mapas_caracteristicas"} & set(ran):
        own = OUT / "artifacts" / name
        assert not any((own / rel).exists() for rel in SAVED_MODELS.values())
        assert (own / FALLBACK_MODEL).exists(), f"{name}: sin los modelos de 03/04 entrena el suyo"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_unanswered_exercises_run_and_say_the_answer_is_missing(series, name):
    """The student's blank cell and check run before each solution; every check of the source says so."""
    out = json.loads(Path(series[name].output).read_text())
    source = read(SOURCE_DIR / f"{name}.ipynb")
    checks = [i for i, c in enumerate(source["cells"]) if checked_run.is_check(c)]
    student = checked_run.cells_by_role(out, "student")
    assert checks and set(checks) <= set(student), f"{name}: comprobaciones sin su versión del alumno"
    for i in checks:
        (cell,) = student[i]
        text = "".join("".join(o.get("text", "")) for o in cell["outputs"] if o.get("output_type") == "stream")
        assert MISSING in text and OK not in text, f"{name}: {source_text(cell)!r} -> {text!r}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_checked_outputs_match_the_sources_references(series, name):
    """nbval --nbval-lax on the one execution: each cell tagged nbval-check-output against source/'s reference."""
    out = json.loads(Path(series[name].output).read_text())
    source = read(SOURCE_DIR / f"{name}.ipynb")
    assert any(c.get("execution_count") for c in source["cells"]), f"{name}: sin salidas de referencia"
    problems = checked_run.compare_checked(out, source, checked_run.read_sanitizers(SANITIZERS))
    assert problems == [], f"{name}:\n" + "\n".join(problems)


def test_problem_outputs_are_found():
    stderr = {"output_type": "stream", "name": "stderr", "text": "aviso"}
    warning = {"output_type": "stream", "name": "stdout", "text": ".../site-packages/keras/x.py: UserWarning: ..."}
    fine = {"output_type": "stream", "name": "stdout", "text": "Precisión 0.81"}
    nb = {"cells": [{"outputs": [fine]}, {"outputs": [stderr]}, {"outputs": [warning]}]}
    assert [p.split(" ")[1].rstrip(":") for p in problem_outputs(nb)] == ["1", "2"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_cell_shows_stderr_or_a_warning(series, name):
    """A student sees no red block: no stderr stream and no warning text in any output (smoke set, standalone)."""
    out = json.loads(Path(series[name].output).read_text())
    assert problem_outputs(out) == [], name


def absolute_paths_shown(nb: dict, roots: list[Path]) -> list[str]:
    """The outputs of ``nb`` that show one of ``roots`` (the runner's folders) as an absolute path."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            text += "".join(out.get("data", {}).get("text/html", ""))
            found += [f"celda {i}: {root}" for root in roots if str(root) in text]
    return found


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_output_shows_the_runners_absolute_paths(series, name):
    """Prints say where things went as the student finds them (``artifacts.shown_path``): never the
    absolute path of the machine that ran the notebook (the course site shows these outputs)."""
    out = json.loads(Path(series[name].output).read_text())
    assert absolute_paths_shown(out, [ROOT.resolve(), Path.home().resolve()]) == [], name


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


@pytest.mark.parametrize("name", ["02_mlp", "03_cnn", "05_hacia_el_90"])
def test_trained_models_metrics(series, name):
    m = series[name].metrics
    for key in ("test_accuracy", "test_f1", "train_seconds", "train_accuracy_final", "val_accuracy_final"):
        assert _finite(m.get(key)), f"{name}: {key}={m.get(key)!r}"
    assert 0.0 <= m["test_accuracy"] <= 1.0 and 0.0 <= m["test_f1"] <= 1.0
    assert 1 <= m["epochs_run"] <= 10
    assert m["train_seconds"] > 0
    # Smoke runs are too short to learn real photos; they must still not be degenerate.
    assert m["test_accuracy"] >= 0.3, f"{name}: accuracy {m['test_accuracy']} por debajo de lo razonable"


def test_augmentation_experiment_metrics(series):
    """04 records both arms of its experiment: test accuracy and train-validation gap, with and without."""
    m = series["04_aumento_datos"].metrics
    for key in ("test_accuracy", "test_accuracy_without_augmentation", "gap_with", "gap_without", "train_seconds"):
        assert _finite(m.get(key)), f"04: {key}={m.get(key)!r}"
    assert 0.0 <= m["test_accuracy"] <= 1.0 and 0.0 <= m["test_accuracy_without_augmentation"] <= 1.0
    assert 1 <= m["epochs_run"] <= 10 and m["train_seconds"] > 0


def test_saved_models_load(series):
    from course_utils.artifacts import load_model
    from course_utils.models.course_model import SAVED_MODELS

    for name, key in (("03_cnn", "cnn"), ("04_aumento_datos", "cnn_aumento"), ("05_hacia_el_90", "cnn_mejorada")):
        assert series[name].status == "ok"  # skips the test if NB= left this notebook out
        model = load_model(OUT / "artifacts" / name / SAVED_MODELS[key])
        assert model.input_shape[1:] == (64, 64, 3)
        assert model.output_shape[-1] == 1
    # 05's model for photos takes raw pixels of any size.
    photo = load_model(OUT / "artifacts" / "05_hacia_el_90" / SAVED_MODELS["cnn_mejorada_fotos"])
    assert photo.input_shape[1:] == (None, None, 3) and photo.output_shape[-1] == 1


def test_embeddings_metrics(series):
    m = series["06_embeddings"].metrics
    assert m["embedding_dim"] > 0
    assert m["classifiers"] and all(
        _finite(v["test_accuracy"]) and _finite(v["train_accuracy"]) for v in m["classifiers"].values()
    )
    assert set(m["classifiers"]) == {"SVC", "DecisionTree", "RandomForest", "KNN"}
    assert _finite(m["svc_test_accuracy"])


def test_pretrained_is_labelled_honestly(series):
    m = series["07_modelos_preentrenados"].metrics
    assert m["weights"] == "random" and m["pretrained"] is False
    out = json.loads(Path(series["07_modelos_preentrenados"].output).read_text())
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
    m = series["08_mapas_caracteristicas"].metrics
    assert m["n_layers_visualised"] >= 8  # 4 conv + 4 pooling layers, found by type
    assert m["n_filter_patterns"] > 0 and m["n_gradcam"] > 0


def test_summary_written(series):
    ran = [name for name in NOTEBOOKS if name in series]  # all of them, or those NB= selects
    md = (OUT / "summary.md").read_text()
    for name in ran:
        assert name in md
    summary = json.loads((OUT / "summary.json").read_text())
    assert [r["notebook"] for r in summary["rows"]] == ran
    assert "data:image/png;base64," in (OUT / "summary.html").read_text()


def test_failing_notebook_is_reported_with_partial_output(tmp_path):
    from course_tools.series import run_series

    runs = run_series("smoke", out_dir=tmp_path, notebooks=["02"], extra_params={"EPOCHS": -1})
    run = runs[0]
    assert run.status == "failed"
    assert "EPOCHS" in run.error and "ParameterError" in run.error
    assert Path(run.output).exists(), "la salida parcial debe conservarse"
    assert "falló" in (tmp_path / "summary.md").read_text()


def _nbval(path: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "--sanitize-with",
         str(ROOT / "tests" / "notebooks" / "nbval_sanitize.cfg"), str(path), "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("reference, fails", [("40 imágenes en 1.2 s\n", False), ("41 imágenes en 1.2 s\n", True)])
def test_nbval_detects_a_changed_reference_and_sanitizes_timings(tmp_path, reference, fails):
    """A checked cell (tag nbval-check-output) whose reference differs fails; a different time does not.

    A two-line notebook instead of a course notebook: each course notebook runs once per ``make test``.
    ``checked_run.compare_outputs``, which compares the series' executed copies, gives nbval's verdict.
    """
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('import time\nprint(f"40 imágenes en {time.perf_counter() % 9:.1f} s")')
    cell.metadata["tags"] = ["nbval-check-output"]
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=reference)]
    nb.cells = [cell]
    path = tmp_path / "referencia.ipynb"
    nbformat.write(nb, path)
    proc = _nbval(path, tmp_path)
    assert proc.returncode == (1 if fails else 0), proc.stdout[-3000:]
    executed = [nbformat.v4.new_output("stream", name="stdout", text="40 imágenes en 3.4 s\n")]
    verdict = checked_run.compare_outputs(executed, cell.outputs, checked_run.read_sanitizers(SANITIZERS))
    assert (verdict is not None) is fails, verdict

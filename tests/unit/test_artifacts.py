"""course_utils.artifacts: atomic writers, safe model loading with Spanish errors, results files."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from course_testing import sha256_of

from course_utils import artifacts
from course_utils.artifacts import ModelLoadError


def _tiny_model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])


def test_atomic_path_success_and_failure(tmp_path):
    target = tmp_path / "sub" / "f.txt"
    with artifacts.atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("uno")
        assert not target.exists(), "nothing appears before the block ends"
    assert target.read_text() == "uno"
    with pytest.raises(RuntimeError):
        with artifacts.atomic_path(target) as tmp:
            tmp.write_text("dos a medias")
            raise RuntimeError("fallo")
    assert target.read_text() == "uno"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.txt"]


def test_write_json_numpy_and_paths(tmp_path):
    p = artifacts.write_json(tmp_path / "r.json", {"a": np.arange(3), "p": Path("/x/y"), "ñ": "año"})
    text = p.read_text()
    assert json.loads(text) == {"a": [0, 1, 2], "p": "/x/y", "ñ": "año"}
    assert "año" in text  # readable UTF-8, not \\u escapes


def test_write_json_failure_keeps_previous_file(tmp_path):
    p = artifacts.write_json(tmp_path / "r.json", {"ok": 1})
    before = sha256_of(p)
    with pytest.raises(TypeError, match="no se puede guardar en JSON"):
        artifacts.write_json(p, {"bad": object()})
    assert sha256_of(p) == before
    assert [x.name for x in tmp_path.iterdir()] == ["r.json"]


def test_save_and_load_model_roundtrip(tmp_path):
    model = _tiny_model()
    path = artifacts.save_model(model, tmp_path / "models" / "m.keras")
    assert path == tmp_path / "models" / "m.keras" and path.stat().st_size > 0
    loaded = artifacts.load_model(path)
    x = np.random.default_rng(0).random((5, 4)).astype("float32")
    assert np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert [p.name for p in path.parent.iterdir()] == ["m.keras"]


def test_save_model_requires_keras_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"\.keras"):
        artifacts.save_model(_tiny_model(), tmp_path / "m.h5")
    assert list(tmp_path.iterdir()) == []


def test_save_model_failure_keeps_previous_model(tmp_path, monkeypatch):
    path = artifacts.save_model(_tiny_model(0), tmp_path / "m.keras")
    before = sha256_of(path)
    new = _tiny_model(1)

    def partial_save(filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"PK\x03\x04 medio modelo")
        raise OSError("disco lleno")

    monkeypatch.setattr(new, "save", partial_save)
    with pytest.raises(OSError, match="disco lleno"):
        artifacts.save_model(new, path)
    assert sha256_of(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"], "no temporary file may be left"
    artifacts.load_model(path)  # still a good model


def test_load_model_missing(tmp_path):
    with pytest.raises(ModelLoadError, match="No existe el modelo.*Ejecuta antes el cuaderno"):
        artifacts.load_model(tmp_path / "nada.keras")


def test_load_model_empty_and_corrupt(tmp_path):
    empty = tmp_path / "vacio.keras"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="vacío"):
        artifacts.load_model(empty)
    bad = tmp_path / "roto.keras"
    bad.write_bytes(b"esto no es un modelo" * 10)
    with pytest.raises(ModelLoadError, match="dañado"):
        artifacts.load_model(bad)


def test_load_model_refuses_lambda_in_safe_mode(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2.0)])
    path = artifacts.save_model(model, tmp_path / "lambda.keras")
    before = sha256_of(path)
    with pytest.raises(ModelLoadError) as exc:
        artifacts.load_model(path)
    msg = str(exc.value)
    assert "modo seguro" in msg and "Lambda" in msg and "safe_mode=False" in msg
    assert sha256_of(path) == before
    loaded = artifacts.load_model(path, safe_mode=False)  # the owner of the file may opt out
    assert np.allclose(loaded.predict(np.ones((1, 3), "float32"), verbose=0), 2.0)


def test_record_and_read_results(tmp_path):
    artifacts.record_results(
        tmp_path,
        "03_cnn",
        accuracy=np.float32(0.75),
        n=np.int64(10),
        perdida=float("nan"),
        curva=[1.0, float("inf")],
        por_clase={"cats": np.float64(0.5)},
    )
    artifacts.record_results(tmp_path, "03_cnn", epochs=3)
    artifacts.record_results(tmp_path, "02_mlp", accuracy=0.6)
    res = artifacts.read_results(tmp_path)
    assert set(res) == {"02_mlp", "03_cnn"}
    r = res["03_cnn"]
    assert r["accuracy"] == pytest.approx(0.75) and r["n"] == 10 and r["epochs"] == 3
    assert r["perdida"] is None and r["curva"] == [1.0, None] and r["por_clase"] == {"cats": 0.5}
    assert r["notebook"] == "03_cnn" and time.strptime(r["updated"], "%Y-%m-%dT%H:%M:%S")
    text = (tmp_path / "results" / "03_cnn.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert artifacts.read_results(tmp_path / "nada") == {}


def test_timer():
    with artifacts.Timer() as t:
        time.sleep(0.02)
    assert 0.015 < t.seconds < 5 and math.isfinite(t.seconds)


# --------------------------------------------------------------------------- faults: kill and full disk (issue 10)

_CHILD = r"""
import os, sys, time
from pathlib import Path
import numpy as np
import keras
from course_utils import artifacts

folder, when = Path(sys.argv[1]), sys.argv[2]
marker = folder.parent / "listo"
keras.utils.set_random_seed(1)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
x, y = np.random.rand(64, 4), np.random.rand(64, 1)

class Checkpoint(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        artifacts.save_model(self.model, folder / "03_cnn.keras")
        artifacts.record_results(folder, "03_cnn", accuracy=0.1, epoch=epoch)

    def on_train_batch_end(self, batch, logs=None):
        if when == "fit" and batch == 1:
            marker.write_text("en fit")
            time.sleep(600)

if when == "save":
    real_save = model.save

    def slow_save(filepath, *a, **k):
        Path(filepath).write_bytes(b"PK\x03\x04 a medias")
        marker.write_text("guardando")
        time.sleep(600)

    model.save = slow_save
model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[Checkpoint()])
"""


def _previous_work(folder: Path):
    artifacts.save_model(_tiny_model(0), folder / "03_cnn.keras")
    artifacts.record_results(folder, "03_cnn", accuracy=0.8)
    return sha256_of(folder / "03_cnn.keras"), sha256_of(folder / "results" / "03_cnn.json")


@pytest.mark.parametrize("when", ["fit", "save"])
def test_killed_during_fit_or_save_keeps_the_previous_model_and_results(tmp_path, when):
    """SIGKILL (the kernel dies) in the middle of ``fit`` or of ``save_model``."""
    import signal
    import subprocess
    import sys

    folder = tmp_path / "artefactos"
    model_sum, results_sum = _previous_work(folder)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder), when])
    try:
        deadline = time.time() + 120
        while not (tmp_path / "listo").exists():
            assert child.poll() is None and time.time() < deadline, "the child process ended too early"
            time.sleep(0.1)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert sha256_of(folder / "03_cnn.keras") == model_sum
    assert sha256_of(folder / "results" / "03_cnn.json") == results_sum
    assert artifacts.load_model(folder / "03_cnn.keras") is not None
    assert artifacts.read_results(folder)["03_cnn"]["accuracy"] == 0.8
    # What the killed process left is named as partial, never like a finished file ...
    left = sorted(p.name for p in folder.rglob("*") if p.is_file() and p.name not in ("03_cnn.keras", "03_cnn.json"))
    assert all(".partial" in name for name in left), left
    if when == "save":
        assert left, "the half-written model must exist (and be recognisable as partial)"
    # ... and the next save in that folder clears it.
    artifacts.save_model(_tiny_model(2), folder / "03_cnn.keras")
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["03_cnn.keras"]


def _disk_full(*args, **kwargs):
    import errno

    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("what", ["model", "json", "results"])
def test_disk_full_during_save_says_so_and_keeps_the_previous_file(tmp_path, monkeypatch, what):
    import errno

    folder = tmp_path / "artefactos"
    _previous_work(folder)
    target = {
        "model": folder / "03_cnn.keras",
        "json": folder / "r.json",
        "results": folder / "results" / "03_cnn.json",
    }[what]
    if what == "json":
        artifacts.write_json(target, {"a": 1})
    before = sha256_of(target)
    model = _tiny_model(3)

    def partial_then_full(self, *a, **k):
        with open(self, "wb") as f:
            f.write(b"medio")
        _disk_full()

    if what == "model":
        monkeypatch.setattr(model, "save", lambda fp, *a, **k: partial_then_full(Path(fp)))
        action = lambda: artifacts.save_model(model, target)  # noqa: E731
    else:
        monkeypatch.setattr(Path, "write_text", partial_then_full)
        action = (
            (lambda: artifacts.write_json(target, {"a": 2}))
            if what == "json"
            else (lambda: artifacts.record_results(folder, "03_cnn", accuracy=0.9))
        )
    with pytest.raises(OSError) as exc:
        action()
    assert exc.value.errno == errno.ENOSPC
    assert "No queda espacio en disco" in str(exc.value) and target.name in str(exc.value)
    assert "sigue intacto" in str(exc.value)
    monkeypatch.undo()
    assert sha256_of(target) == before
    assert not [p for p in folder.rglob("*") if ".partial" in p.name or p.name.startswith(".")]


def test_saved_files_follow_the_umask(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        p = artifacts.write_json(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == 0o644


def test_remove_partial_files_keeps_those_of_live_processes(tmp_path):
    import os

    mine = tmp_path / f".m.keras.{os.getpid()}.abc123.partial.keras"
    dead = tmp_path / ".m.keras.999999999.abc123.partial.keras"
    for p in (mine, dead):
        p.write_bytes(b"x")
    assert artifacts.remove_partial_files(tmp_path) == [dead.name]
    assert mine.exists() and not dead.exists()


def test_recorded_reads_shipped_results_and_none_when_missing():
    from course_utils import artifacts

    assert artifacts.recorded("no_existe_este_resultado") is None
    ablation = artifacts.recorded("ablation_05_cpu")
    assert ablation is not None and ablation["command"] and ablation["steps"]
    assert {"step", "test_accuracy"} <= set(ablation["steps"][0])


def test_shown_path_is_what_the_student_finds(tmp_path, monkeypatch):
    """Relative to the notebook's folder or the repository, from ``~``, or in Google Drive; files without ``/``."""
    from course_utils import config

    repo, home = tmp_path / "repo", tmp_path / "home"
    (repo / "notebooks").mkdir(parents=True)
    results = repo / "artifacts" / "results" / "03_cnn.json"
    results.parent.mkdir(parents=True)
    results.write_text("{}")
    monkeypatch.chdir(repo / "notebooks")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(config, "COLAB_DRIVE_MOUNT", tmp_path / "drive")
    assert artifacts.shown_path(results) == "../artifacts/results/03_cnn.json"
    assert artifacts.shown_path(results.parent) == "../artifacts/results/"
    assert artifacts.shown_path(home / ".cache" / "curso-cnn", from_home=True) == "~/.cache/curso-cnn/"
    assert artifacts.shown_path(home / "otros" / "m.keras") == "~/otros/m.keras"  # not there yet: a file
    assert artifacts.shown_path(home / "otros") == "~/otros/"
    drive = tmp_path / "drive" / "MyDrive" / "curso-cnn"
    drive.mkdir(parents=True)
    (drive / "m.keras").write_bytes(b"x")
    assert artifacts.shown_path(drive / "m.keras") == "tu Google Drive: curso-cnn/m.keras"
    assert artifacts.shown_path(tmp_path / "x") == f"{(tmp_path / 'x').resolve()}/"

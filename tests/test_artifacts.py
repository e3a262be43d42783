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
    artifacts.record_results(tmp_path, "03_cnn", accuracy=np.float32(0.75), n=np.int64(10), perdida=float("nan"),
                             curva=[1.0, float("inf")], por_clase={"cats": np.float64(0.5)})
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

"""course_utils.setup: seeds, versions, GPU hint, paths and plot defaults."""

from __future__ import annotations

import random

import numpy as np
import pytest

from course_utils import config, params, setup


def test_in_colab(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(__import__("sys").modules, "google.colab", raising=False)
    assert setup.in_colab() is False
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20250101")
    assert setup.in_colab() is True


def test_drive_artifacts_dir_mounts_drive_and_uses_the_course_folder(fake_colab_drive, tmp_path):
    art = setup.drive_artifacts_dir()
    assert fake_colab_drive.calls == [str(tmp_path / "drive")]
    assert art == (tmp_path / "drive" / "MyDrive" / config.DRIVE_ARTIFACTS_SUBFOLDER).resolve() and art.is_dir()


def test_drive_artifacts_dir_says_in_spanish_when_mounting_fails_and_touches_nothing(fake_colab_drive, tmp_path):
    my_drive = tmp_path / "drive" / "MyDrive"
    my_drive.mkdir(parents=True)
    (my_drive / "mio.txt").write_text("de la estudiante")
    fake_colab_drive.error = ValueError("mount failed")
    with pytest.raises(RuntimeError, match="No se pudo conectar tu Google Drive.*mount failed.*vuelve a ejecutar"):
        setup.drive_artifacts_dir()
    assert [p.name for p in my_drive.iterdir()] == ["mio.txt"] and (
        my_drive / "mio.txt"
    ).read_text() == "de la estudiante"


def test_drive_artifacts_dir_refuses_a_drive_without_my_drive(fake_colab_drive, tmp_path):
    fake_colab_drive.mount = lambda mountpoint, **kwargs: None  # "mounted", but nothing there
    with pytest.raises(RuntimeError, match="MyDrive"):
        setup.drive_artifacts_dir()
    assert not (tmp_path / "drive").exists(), "no local folder pretends to be the Drive"


def test_drive_artifacts_dir_outside_colab_says_what_to_use(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(__import__("sys").modules, "google.colab", raising=False)
    with pytest.raises(params.ParameterError, match="solo funciona en Google Colab.*ARTIFACTS_DIR = None"):
        setup.drive_artifacts_dir()


def test_set_seed_makes_python_numpy_and_keras_repeatable():
    import keras

    def draw():
        dense = keras.layers.Dense(4)
        dense.build((None, 3))
        return random.random(), float(np.random.rand()), np.asarray(dense.kernel)

    setup.set_seed(7)
    a = draw()
    setup.set_seed(7)
    b = draw()
    setup.set_seed(8)
    c = draw()
    assert a[:2] == b[:2] and np.array_equal(a[2], b[2])
    assert a[0] != c[0] and a[1] != c[1] and not np.array_equal(a[2], c[2])


def test_library_versions():
    import tensorflow as tf

    v = setup.library_versions()
    assert {"python", "tensorflow", "keras", "numpy", "sklearn", "matplotlib", "seaborn", "PIL"} <= set(v)
    assert v["tensorflow"] == tf.__version__ and v["numpy"] == np.__version__
    assert v["python"].count(".") == 2


def test_plot_defaults():
    import matplotlib as mpl

    with mpl.rc_context():
        mpl.rcParams["figure.dpi"] = 50
        setup.plot_defaults()
        assert mpl.rcParams["figure.dpi"] == 90 and tuple(mpl.rcParams["figure.figsize"]) == (8.0, 4.5)


def test_setup_notebook_prints_and_returns_info(tmp_path, monkeypatch, capsys):
    import matplotlib as mpl
    import tensorflow as tf

    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delenv("COURSE_PARAM_SET", raising=False)
    with mpl.rc_context():
        info = setup.setup_notebook(seed=3, artifacts_dir=tmp_path / "art")
    out = capsys.readouterr().out
    assert info.seed == 3 and info.colab is False
    assert info.artifacts_dir == (tmp_path / "art").resolve() and info.artifacts_dir.is_dir()
    assert info.cache_dir == (tmp_path / "cache").resolve()
    assert info.versions["tensorflow"] == tf.__version__
    assert "Versiones:" in out and str(info.artifacts_dir) in out and "Caché de datos" in out
    assert "papermill" not in out and "JupyterLab" not in out
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    assert info.gpu is has_gpu
    if not has_gpu:
        assert setup.GPU_HINT_LOCAL in out
    with mpl.rc_context():
        setup.setup_notebook(seed=3, artifacts_dir=tmp_path / "art", quiet=True)
    assert capsys.readouterr().out == ""


def test_setup_notebook_in_colab_without_gpu_gives_the_menu_hint(tmp_path, monkeypatch, capsys):
    import matplotlib as mpl
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("hay GPU")
    monkeypatch.setenv("COLAB_RELEASE_TAG", "x")
    with mpl.rc_context():
        setup.setup_notebook(artifacts_dir=tmp_path / "art")
    out = capsys.readouterr().out
    assert "Google Colab" in out and "Cambiar tipo de entorno de ejecución" in out


def test_gpu_hint_names_the_set_in_effect():
    assert setup.gpu_hint(False, "cpu") == setup.GPU_HINT_LOCAL
    assert "'smoke'" in setup.gpu_hint(False, "smoke") and "'cpu'" not in setup.gpu_hint(False, "smoke")
    assert 'PARAM_SET = "cpu"' in setup.gpu_hint(False, "gpu")
    assert "'smoke'" in setup.gpu_hint(True, "smoke") and "Cambiar tipo" in setup.gpu_hint(True, "smoke")

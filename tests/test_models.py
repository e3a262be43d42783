"""course_utils.models: builders, sub-models for every kind of model, backbones, the course CNN loader."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import models

# Calling a functional sub-model with a bare tensor (not a list) is fine; Keras warns about the structure.
pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs` doesn't match:UserWarning")


def _conv(k, cin, cout, bias=True):
    return k * k * cin * cout + (cout if bias else 0)


def test_build_cnn_lesson_shapes_and_params():
    m = models.build_cnn((150, 150, 3))
    assert m.get_layer("pool4").output.shape == (None, 7, 7, 128), "the lesson's CNN has a 7x7x128 map before Flatten"
    assert m.get_layer("flatten").output.shape == (None, 7 * 7 * 128)
    expected = (_conv(3, 3, 32) + _conv(3, 32, 64) + _conv(3, 64, 128) + _conv(3, 128, 128)
                + (7 * 7 * 128 * 512 + 512) + (512 + 1))
    assert m.count_params() == expected == 3_453_121
    assert models.count_params(m) == {"trainable": expected, "non_trainable": 0, "total": expected}
    assert m.output_shape == (None, 1) and m.layers[-1].activation.__name__ == "sigmoid"


def test_build_cnn_with_dropout():
    m = models.build_cnn((64, 64, 3), dropout=0.5, dense_units=32)
    assert m.name == "cnn_dropout"
    names = [l.name for l in m.layers]
    assert names.index("dropout") == names.index("flatten") + 1
    assert m.get_layer("dropout").rate == 0.5


def test_build_mlp_params():
    m = models.build_mlp((16, 16, 3))
    sizes = [16 * 16 * 3, 256, 512, 512, 256, 1]
    assert m.count_params() == sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    assert sum(type(l).__name__ == "Dropout" for l in m.layers) == 4


def test_build_cnn_improved_params_and_batchnorm():
    m = models.build_cnn_improved((64, 64, 3), dense_units=16)
    convs = _conv(3, 3, 32, False) + _conv(3, 32, 64, False) + _conv(3, 64, 128, False) + _conv(3, 128, 128, False)
    bn = 4 * (32 + 64 + 128 + 128)
    dense = 128 * 16 + 16 + 16 + 1
    counts = models.count_params(m)
    assert counts["total"] == convs + bn + dense
    assert counts["non_trainable"] == bn // 2  # moving mean and variance
    # valid padding: 64 -> 62 -> 31 -> 29 -> 14 -> 12 -> 6 -> 4 -> 2
    assert m.get_layer("pool4").output.shape == (None, 2, 2, 128)


# --------------------------------------------------------------------------- sub-models


def _named_conv_sequential():
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    return keras.Sequential([
        keras.Input((12, 12, 3)),
        layers.Conv2D(4, 3, activation="relu", name="Convolution1"),
        layers.MaxPooling2D(name="Pooling1"),
        layers.Conv2D(6, 3, activation="relu", name="Convolution2"),
        layers.Flatten(name="aplanar"),
        layers.Dense(5, activation="relu", name="densa"),
        layers.Dense(1, activation="sigmoid", name="salida"),
    ])


def _named_conv_functional():
    import keras
    from keras import layers

    keras.utils.set_random_seed(2)
    i = keras.Input((12, 12, 3))
    x = layers.Conv2D(4, 3, activation="relu", name="Convolution1")(i)
    x = layers.MaxPooling2D(name="Pooling1")(x)
    x = layers.Conv2D(6, 3, activation="relu", name="Convolution2")(x)
    x = layers.Flatten(name="aplanar")(x)
    x = layers.Dense(5, activation="relu", name="densa")(x)
    return keras.Model(i, layers.Dense(1, activation="sigmoid", name="salida")(x))


def _manual(model, x, upto):
    """Apply the model's layers one by one up to layer ``upto`` (inclusive)."""
    for lyr in model.layers:
        if type(lyr).__name__ == "InputLayer":
            continue
        x = lyr(x)
        if lyr.name == upto:
            return np.asarray(x)
    raise AssertionError(upto)


@pytest.fixture(scope="module", params=["sequential", "functional", "sequential_loaded", "functional_loaded"])
def any_model(request, tmp_path_factory):
    from course_utils.artifacts import load_model, save_model

    kind = request.param
    model = _named_conv_sequential() if kind.startswith("sequential") else _named_conv_functional()
    if kind.endswith("loaded"):
        path = save_model(model, tmp_path_factory.mktemp(kind) / "m.keras")
        loaded = load_model(path)
        assert type(loaded).__name__ == type(model).__name__
        x = np.random.default_rng(0).random((2, 12, 12, 3)).astype("float32")
        assert np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
        model = loaded
    return model


def test_conv_layers_found_by_type(any_model):
    assert [l.name for l in models.conv_layers(any_model)] == ["Convolution1", "Convolution2"]
    assert [l.name for l in models.conv_layers(any_model, include_pooling=True)] == \
        ["Convolution1", "Pooling1", "Convolution2"]


def test_sub_model_by_name_index_layer_and_list(any_model):
    x = np.random.default_rng(3).random((3, 12, 12, 3)).astype("float32")
    m = any_model
    conv2 = models.conv_layers(m)[1]
    by_name = np.asarray(models.sub_model(m, "Convolution2")(x))
    by_layer = np.asarray(models.sub_model(m, conv2)(x))
    expected = _manual(m, x, "Convolution2")
    assert by_name.shape == (3, 3, 3, 6)
    assert np.allclose(by_name, expected, atol=1e-5) and np.allclose(by_layer, expected, atol=1e-5)
    outs = models.sub_model(m, ["Convolution1", "Convolution2"])(x)
    assert [tuple(o.shape) for o in outs] == [(3, 10, 10, 4), (3, 3, 3, 6)]
    assert np.allclose(np.asarray(outs[0]), _manual(m, x, "Convolution1"), atol=1e-5)
    index = [l.name for l in m.layers].index("densa")
    assert np.allclose(np.asarray(models.sub_model(m, index)(x)), _manual(m, x, "densa"), atol=1e-5)


def test_feature_extractor_defaults_to_penultimate_layer(any_model):
    x = np.random.default_rng(4).random((2, 12, 12, 3)).astype("float32")
    ext = models.feature_extractor(any_model)
    assert ext.output.shape == (None, 5)
    assert np.allclose(ext.predict(x, verbose=0), _manual(any_model, x, "densa"), atol=1e-5)
    # Shares the weights of the original model.
    assert ext.get_layer("densa") is any_model.get_layer("densa") or \
        np.allclose(ext.get_layer("densa").get_weights()[0], any_model.get_layer("densa").get_weights()[0])


def test_sub_model_unknown_layer_lists_layers(any_model):
    with pytest.raises(ValueError, match="no tiene una capa llamada 'conv9'.*Convolution1"):
        models.sub_model(any_model, "conv9")


def test_sub_model_of_lesson_builders():
    m = models.build_cnn((64, 64, 3), dense_units=8)
    ext = models.feature_extractor(m, "dense")
    assert ext.output.shape == (None, 8)
    assert [l.name for l in models.conv_layers(m)] == ["conv1", "conv2", "conv3", "conv4"]
    f = models.feature_extractor(models.build_cnn_improved((48, 48, 3)), "gap")
    assert f.output.shape == (None, 128)


# --------------------------------------------------------------------------- backbones


def test_load_backbone_random_weights_small_input():
    m = models.load_backbone("efficientnetb0", weights=None, input_shape=(32, 32, 3))
    assert m.output.shape == (None, 1280) and m.trainable is False
    counts = models.count_params(m)
    assert counts["trainable"] == 0 and counts["non_trainable"] > 4_000_000
    out = np.asarray(m(np.random.default_rng(0).random((1, 32, 32, 3)).astype("float32") * 255, training=False))
    assert out.shape == (1, 1280) and np.isfinite(out).all()
    trainable = models.load_backbone("mobilenetv2", weights=None, input_shape=(32, 32, 3), pooling=None,
                                     trainable=True)
    assert trainable.output.shape == (None, 1, 1, 1280) and models.count_params(trainable)["trainable"] > 0


def test_load_backbone_unknown_name():
    with pytest.raises(ValueError, match="Modelo base desconocido: 'vgg16'.*efficientnetb0"):
        models.load_backbone("vgg16", weights=None)


def test_load_backbone_imagenet_offline_explains(offline_keras_downloads):
    with pytest.raises(models.WeightsUnavailableError) as exc:
        models.load_backbone("efficientnetb0", weights="imagenet", input_shape=(64, 64, 3))
    msg = str(exc.value)
    assert offline_keras_downloads, "Keras should have tried to download the weights"
    assert "pesos ImageNet" in msg and "WEIGHTS=None" in msg and "~/.keras/models" in msg
    assert "ALEATORIOS" in msg


# --------------------------------------------------------------------------- the course CNN


def test_load_course_cnn_prefers_saved_models(tmp_path, capsys):
    from course_utils.artifacts import save_model

    art = tmp_path / "art"
    small = models.build_cnn_improved((48, 48, 3), dense_units=4)
    save_model(small, art / models.SAVED_MODELS["cnn"])
    model, how = models.load_course_cnn(art, allow_download=False)
    assert model.input_shape == (None, 48, 48, 3) and "03" in how
    # A corrupt 04 model is reported and skipped, never deleted.
    bad = art / models.SAVED_MODELS["cnn_aumento"]
    bad.write_bytes(b"roto")
    model, how = models.load_course_cnn(art, allow_download=False)
    assert "03" in how and "AVISO" in capsys.readouterr().out
    assert bad.read_bytes() == b"roto"


def test_load_course_cnn_without_anything_explains(tmp_path, isolated_course_env, offline_gdown):
    from course_utils.artifacts import ModelLoadError

    with pytest.raises(ModelLoadError, match="04_aumento_datos.ipynb"):
        models.load_course_cnn(tmp_path / "art")
    assert offline_gdown, "the course's trained model should have been tried"


def test_load_course_cnn_trains_a_short_fallback(tmp_path, tiny_dataset, isolated_course_env, offline_gdown, capsys):
    from course_utils.pipelines import load_datasets

    ds = load_datasets(tiny_dataset, img_size=48, batch_size=8)
    model, how = models.load_course_cnn(tmp_path / "art", train_data=ds["train"], validation_data=ds["validation"],
                                        fallback_epochs=1, img_size=48)
    assert "1 épocas" in how and model.input_shape == (None, 48, 48, 3)
    saved = tmp_path / "art" / getattr(models, "FALLBACK_MODEL", models.SAVED_MODELS["cnn_aumento"])
    assert saved.exists(), "the short run must be saved so that the next notebook reuses it"
    again, how2 = models.load_course_cnn(tmp_path / "art", allow_download=False)
    assert "entrenada aquí mismo" not in how2, "the second call must load the saved model, not train again"
    x = np.random.default_rng(0).random((2, 48, 48, 3)).astype("float32")
    assert np.allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("builder, shape", [("build_mlp", (16, 16, 3)), ("build_cnn", (48, 48, 3)),
                                            ("build_cnn_improved", (48, 48, 3))])
def test_builders_keep_a_float32_output_under_mixed_precision(builder, shape):
    """Mixed precision (bf16 on CPU, fp16 on GPU) needs a float32 output for a stable loss."""
    import keras

    from course_utils import models

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = getattr(models, builder)(shape)
        out = model(np.zeros((2, *shape), dtype="float32"))
        assert model.layers[1].compute_dtype == "bfloat16"
        assert keras.backend.standardize_dtype(out.dtype) == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")

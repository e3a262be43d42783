"""course_utils.course_model: the CNN that notebooks 06 and 08 build on."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.models.course_model import FALLBACK_MODEL, SAVED_MODELS, FoundModel, find_course_cnn
from course_utils.models.networks import build_cnn_improved


def test_find_course_cnn_prefers_saved_models(tmp_path):
    import keras

    from course_utils.artifacts import save_model

    art = tmp_path / "art"
    small = build_cnn_improved((48, 48, 3), dense_units=4)
    save_model(small, art / SAVED_MODELS["cnn"])
    path, how = find_course_cnn(art, allow_download=False)
    assert path == art / SAVED_MODELS["cnn"] and "03" in how
    assert keras.models.load_model(path).input_shape == (None, 48, 48, 3)
    # 05's model comes first when it is there.
    save_model(small, art / SAVED_MODELS["cnn_mejorada"])
    assert find_course_cnn(art, allow_download=False).path == art / SAVED_MODELS["cnn_mejorada"]
    # A corrupt 05 model is reported and skipped, never deleted.
    bad = art / SAVED_MODELS["cnn_mejorada"]
    bad.write_bytes(b"roto")
    with pytest.warns(UserWarning, match="05_cnn_mejorada"):
        path, how = find_course_cnn(art, allow_download=False)
    assert path == art / SAVED_MODELS["cnn"] and "03" in how
    assert bad.read_bytes() == b"roto"


def test_find_course_cnn_without_anything_explains(tmp_path, isolated_course_env, offline_gdown):
    from course_utils.artifacts import ModelLoadError

    with pytest.raises(ModelLoadError, match="05_hacia_el_90.ipynb"):
        find_course_cnn(tmp_path / "art")
    assert offline_gdown, "the course's trained model should have been tried"
    assert not (tmp_path / "art").exists(), "nothing is written when there is nothing to find"


def test_find_course_cnn_trains_a_short_fallback(tmp_path, tiny_dataset, isolated_course_env, offline_gdown, capsys):
    import keras

    art = tmp_path / "art"
    path, how = find_course_cnn(art, tiny_dataset, img_size=48, batch_size=8, fallback_epochs=1)
    assert "1 épocas" in how and path == art / FALLBACK_MODEL
    assert "Se entrena una CNN corta (1 épocas)" in capsys.readouterr().out
    model = keras.models.load_model(path)
    assert model.input_shape == (None, 48, 48, 3) and model.output_shape == (None, 1)
    again, how2 = find_course_cnn(art, allow_download=False)
    assert again == path and "entrenamiento corto hecho antes" in how2, "the second call reuses it, no training"
    x = np.random.default_rng(0).random((2, 48, 48, 3)).astype("float32")
    np.testing.assert_allclose(keras.models.load_model(again).predict(x, verbose=0), model.predict(x, verbose=0))


def test_result_is_a_named_pair(tmp_path):
    from course_utils.artifacts import save_model

    save_model(build_cnn_improved((48, 48, 3), dense_units=4), tmp_path / SAVED_MODELS["cnn_mejorada"])
    result = find_course_cnn(tmp_path, allow_download=False)
    assert isinstance(result, FoundModel) and "05" in result.source and result.path.name == "05_cnn_mejorada.keras"


def test_a_model_trained_in_mixed_precision_is_analysed_in_float32(tmp_path):
    """05 trains under mixed_bfloat16 where the CPU has bf16 units; 06 and 08 load it and convert it to float32."""
    import keras

    from course_utils.artifacts import save_model
    from course_utils.models.networks import as_float32, sub_model

    art = tmp_path / "art"
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        trained = build_cnn_improved((48, 48, 3), dense_units=4)
        save_model(trained, art / SAVED_MODELS["cnn_mejorada"])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    loaded = keras.models.load_model(find_course_cnn(art, allow_download=False).path)
    assert {layer.compute_dtype for layer in loaded.layers} != {"float32"}, "the file keeps its policy"
    model = as_float32(loaded)
    x = np.random.default_rng(0).random((2, 48, 48, 3), dtype="float32")
    features = sub_model(model, model.layers[-2])(x)
    assert keras.backend.standardize_dtype(features.dtype) == "float32"
    assert {layer.compute_dtype for layer in model.layers} == {"float32"}
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(trained(x)), atol=0.02)

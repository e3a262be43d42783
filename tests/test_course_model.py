"""course_utils.course_model: the CNN that notebooks 06 and 08 build on."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.course_model import FALLBACK_MODEL, SAVED_MODELS, CourseModel, load_course_cnn
from course_utils.models import build_cnn_improved


def test_load_course_cnn_prefers_saved_models(tmp_path):
    from course_utils.artifacts import save_model

    art = tmp_path / "art"
    small = build_cnn_improved((48, 48, 3), dense_units=4)
    save_model(small, art / SAVED_MODELS["cnn"])
    model, how = load_course_cnn(art, allow_download=False)
    assert model.input_shape == (None, 48, 48, 3) and "03" in how
    # A corrupt 05 model is reported and skipped, never deleted.
    bad = art / SAVED_MODELS["cnn_mejorada"]
    bad.write_bytes(b"roto")
    with pytest.warns(UserWarning, match="05_cnn_mejorada"):
        model, how = load_course_cnn(art, allow_download=False)
    assert "03" in how
    assert bad.read_bytes() == b"roto"


def test_load_course_cnn_without_anything_explains(tmp_path, isolated_course_env, offline_gdown):
    from course_utils.artifacts import ModelLoadError

    with pytest.raises(ModelLoadError, match="05_hacia_el_90.ipynb"):
        load_course_cnn(tmp_path / "art")
    assert offline_gdown, "the course's trained model should have been tried"


def test_load_course_cnn_trains_a_short_fallback(tmp_path, tiny_dataset, isolated_course_env, offline_gdown):
    from course_utils.pipelines import load_datasets

    ds = load_datasets(tiny_dataset, img_size=48, batch_size=8)
    model, how = load_course_cnn(
        tmp_path / "art", train_data=ds["train"], validation_data=ds["validation"], fallback_epochs=1, img_size=48
    )
    assert "1 épocas" in how and model.input_shape == (None, 48, 48, 3)
    saved = tmp_path / "art" / FALLBACK_MODEL
    assert saved.exists(), "the short run must be saved so that the next notebook reuses it"
    again, how2 = load_course_cnn(tmp_path / "art", allow_download=False)
    assert "entrenada aquí mismo" not in how2, "the second call must load the saved model, not train again"
    x = np.random.default_rng(0).random((2, 48, 48, 3)).astype("float32")
    assert np.allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_result_is_a_named_pair(tmp_path):
    from course_utils.artifacts import save_model

    save_model(build_cnn_improved((48, 48, 3), dense_units=4), tmp_path / SAVED_MODELS["cnn_mejorada"])
    result = load_course_cnn(tmp_path, allow_download=False)
    assert isinstance(result, CourseModel) and "05" in result.source and result.model.input_shape[1] == 48


def test_with_data_loads_the_splits_at_the_model_size(tmp_path, tiny_dataset, capsys):
    from course_utils.artifacts import save_model
    from course_utils.course_model import load_course_cnn_with_data

    save_model(build_cnn_improved((48, 48, 3), dense_units=4), tmp_path / SAVED_MODELS["cnn"])
    (model, source), splits = load_course_cnn_with_data(tmp_path, tiny_dataset, img_size=64, batch_size=4)
    assert "03" in source and model.input_shape[1] == 48
    x, _ = next(iter(splits["test"].dataset))
    assert tuple(x.shape[1:]) == (48, 48, 3), "the data must come at the model's input size"
    assert "48×48" in capsys.readouterr().out


def test_a_model_trained_in_mixed_precision_is_loaded_in_float32(tmp_path):
    """05 trains under mixed_bfloat16 where the CPU has bf16 units; 05 and 07 need float32 activations."""
    import keras

    from course_utils.artifacts import save_model
    from course_utils.models import sub_model

    art = tmp_path / "art"
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        trained = build_cnn_improved((48, 48, 3), dense_units=4)
        save_model(trained, art / SAVED_MODELS["cnn_mejorada"])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model, _ = load_course_cnn(art, allow_download=False)
    x = np.random.default_rng(0).random((2, 48, 48, 3), dtype="float32")
    features = sub_model(model, model.layers[-2])(x)
    assert keras.backend.standardize_dtype(features.dtype) == "float32"
    assert {layer.compute_dtype for layer in model.layers} == {"float32"}
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(trained(x)), atol=0.02)

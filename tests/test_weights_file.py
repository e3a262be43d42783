"""course_utils.weights_file: WEIGHTS given as a path."""

from __future__ import annotations

from course_utils import weights_file


def test_is_weights_path():
    assert weights_file.is_weights_path("mios.weights.h5")
    assert not any(weights_file.is_weights_path(v) for v in (None, "imagenet", "random", "auto"))


def test_a_keras_weights_file_for_one_backbone_has_no_problem(tmp_path):
    import keras

    path = tmp_path / "mios.weights.h5"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]).save_weights(path)
    assert weights_file.weights_file_problem(path, ("mobilenetv2",)) is None
    assert "un solo modelo base" in weights_file.weights_file_problem(path, ("mobilenetv2", "resnet50"))
    error = weights_file.weights_mismatch("ResNet50", path, ValueError("89 objects could not be loaded"))
    assert "no corresponden a ResNet50" in str(error) and "89 objects" in str(error)

"""course_utils.embeddings: features and labels stay paired, even from shuffled data.

The original lesson fitted its classifiers on ``train_generator.classes`` (the
files' labels in folder order) with features computed from a *shuffled*
generator.  Here the label of every image is readable from its own feature
(the image's green channel), so any such mismatch fails the test.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import pipelines
from course_utils.embeddings import extract_embeddings


@pytest.fixture
def color_set(tmp_path, color_dataset_factory):
    root = tmp_path / "colores"
    color_dataset_factory(root, {"train": 12, "validation": 2, "test": 2})
    return root


@pytest.fixture
def mean_colour_model():
    """A model whose features are each image's mean colour (green = 255 * label)."""
    import keras

    return keras.Sequential([keras.Input((None, None, 3)), keras.layers.GlobalAveragePooling2D()])


def _label_from_feature(feats, scale):
    return (feats[:, 1] > scale / 2).astype(int)


@pytest.mark.parametrize("shuffle", [True, False])
def test_features_and_labels_aligned_from_split_data(color_set, mean_colour_model, shuffle):
    split = pipelines.load_split(color_set / "train", img_size=6, batch_size=5, shuffle=shuffle, preprocessing="none")
    feats, labels = extract_embeddings(mean_colour_model, split, progress=False)
    assert feats.shape == (24, 3) and labels.shape == (24,) and labels.dtype.kind == "i"
    assert np.array_equal(_label_from_feature(feats, 255), labels)
    if shuffle:
        # The lesson's bug: pairing these features with the file-order labels.
        assert not np.array_equal(_label_from_feature(feats, 255), split.labels)


def test_features_and_labels_aligned_from_plain_tf_dataset(color_set, mean_colour_model):
    split = pipelines.load_split(color_set / "train", img_size=6, batch_size=4, shuffle=True, preprocessing="rescale")
    feats, labels = extract_embeddings(mean_colour_model, split.dataset, progress=True, desc="prueba")
    assert np.array_equal(_label_from_feature(feats, 1.0), labels)


def test_features_and_labels_aligned_from_shuffled_legacy_generator(color_set, mean_colour_model):
    train, _, _ = pipelines.get_generators(
        color_set / "train", color_set / "validation", color_set / "test", (6, 6), batch_size=5, seed=3
    )
    assert train.shuffle
    feats, labels = extract_embeddings(mean_colour_model, train, progress=False)
    assert len(labels) == train.samples == 24
    assert np.array_equal(_label_from_feature(feats, 1.0), labels)
    assert sorted(labels) == sorted(train.classes)


def test_features_are_flattened_per_image(color_set):
    import keras

    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(2, 3)])
    split = pipelines.load_split(color_set / "test", img_size=6, batch_size=3)
    feats, labels = extract_embeddings(model, split, progress=False)
    assert feats.shape == (4, 4 * 4 * 2) and list(labels) == list(split.labels)


def test_plain_callable_model(color_set):
    split = pipelines.load_split(color_set / "train", img_size=4, batch_size=7, shuffle=True, preprocessing="none")
    feats, labels = extract_embeddings(lambda x: np.asarray(x).mean(axis=(1, 2)), split, progress=False)
    assert np.array_equal(_label_from_feature(feats, 255), labels)


@pytest.mark.parametrize("plain_dataset", [False, True])
def test_features_are_float32_whatever_the_model_outputs(color_set, plain_dataset):
    """A model under a mixed precision policy outputs float16/bfloat16; scikit-learn gets float32."""
    split = pipelines.load_split(color_set / "train", img_size=4, batch_size=5, shuffle=True, preprocessing="none")
    data = split.dataset if plain_dataset else split
    feats, labels = extract_embeddings(
        lambda x: np.asarray(x).mean(axis=(1, 2)).astype(np.float16), data, progress=False
    )
    assert feats.dtype == np.float32 and feats.shape == (24, 3)
    assert np.array_equal(_label_from_feature(feats, 255), labels)


def test_a_split_with_fewer_images_than_announced_is_an_error(color_set):
    split = pipelines.load_split(color_set / "train", img_size=4, batch_size=5, preprocessing="none")
    split.paths = split.paths + ["falta.jpg"]
    with pytest.raises(ValueError, match="anuncian 25 imágenes y dieron 24"):
        extract_embeddings(lambda x: np.asarray(x).mean(axis=(1, 2)), split, progress=False)

"""Exercise traps (issues 28 item 6 and 31 item 12): every correct alternative accepted, every crash explained in Spanish."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from course_utils import exercises


def _status(key, *answers, **context):
    return exercises.evaluate(key, *answers, **context)


def _moderate(**changes):
    """Exercise 4.1's answer; ``changes`` replaces one layer's arguments (the same meaning, or another)."""
    import keras
    from keras import layers

    args = {
        "rotation": ((0.05,), {}),
        "translation": ((0.1, 0.1), {}),
        "zoom": ((0.15,), {}),
    }
    args.update(changes)
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(*args["rotation"][0], fill_mode="nearest", **args["rotation"][1]),
            layers.RandomTranslation(*args["translation"][0], fill_mode="nearest", **args["translation"][1]),
            layers.RandomZoom(*args["zoom"][0], fill_mode="nearest", **args["zoom"][1]),
        ]
    )


@pytest.mark.parametrize(
    "change",
    [
        {"translation": (((-0.1, 0.1), (-0.1, 0.1)), {})},
        {"zoom": (((-0.15, 0.15),), {})},
        {"rotation": (((-0.05, 0.05),), {})},
        {"translation": ((), {"height_factor": 0.1, "width_factor": [-0.1, 0.1]})},
    ],
    ids=["translation-tuples", "zoom-tuple", "rotation-tuple", "keywords-and-list"],
)
def test_04_1_accepts_tuple_factors_with_the_same_meaning(change):
    outcome = _status("04.1", _moderate(**change))
    assert outcome.status == exercises.RIGHT, outcome.message


def test_04_1_explains_why_a_second_zoom_factor_differs():
    for second in (0.15, (-0.15, 0.15)):
        outcome = _status("04.1", _moderate(zoom=((0.15, second), {})))
        assert outcome.status == exercises.WRONG_ANSWER
        assert "width_factor" in outcome.message and "proporciones" in outcome.message, outcome.message
    other = _status("04.1", _moderate(translation=(((-0.2, 0.2), (-0.1, 0.1)), {})))  # a different range
    assert other.status == exercises.WRONG_ANSWER and "height_factor" in other.message


def _controlled_model():
    """A real CNN whose P(dogs) for a constant image of value v is sigmoid(v): the test chooses the scores."""
    import keras
    from keras import layers

    inputs = keras.Input((4, 4, 3))
    x = layers.Conv2D(1, 1, use_bias=False, kernel_initializer=keras.initializers.Constant(1 / 3), name="c")(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(1, activation="sigmoid", kernel_initializer="ones", bias_initializer="zeros")(x)
    return keras.Model(inputs, outputs)


def _split(values, labels):
    import tensorflow as tf

    from course_utils.data.loaders import SplitData

    x = np.ones((len(values), 4, 4, 3), "float32") * np.asarray(values, "float32")[:, None, None, None]
    labels = np.asarray(labels)
    dataset = tf.data.Dataset.from_tensor_slices((x, labels.astype("float32"))).batch(4)
    return x, SplitData(dataset, [f"{i}.jpg" for i in range(len(values))], labels, ["cats", "dogs"], False)


def _without_column(model, split):
    """What the student's cell gives without ``[:, 0]``: argmax over an n × n matrix."""
    return int(np.argmax(np.abs(split.labels - model.predict(split.dataset, verbose=0))))


def test_08_2_without_the_column_gets_a_spanish_explanation_not_an_index_error():
    from course_utils import visualization

    model = _controlled_model()
    layer = model.get_layer("c")
    # Scores sigmoid(values); the most extreme score is in row 3, so the n × n argmax lands beyond n.
    x, split = _split([0.5, -0.5, 0.2, 3.0, -1.0, 1.0], [1, 0, 0, 1, 0, 0])
    worst = int(np.argmax(np.abs(split.labels - model.predict(x, verbose=0)[:, 0])))
    heatmap, _ = visualization.grad_cam(model, x[worst], conv_layer=layer)
    right = _status("08.2", worst, heatmap, model=model, split=split, conv_layer=layer)
    assert right.status == exercises.RIGHT, right.message
    wrong = _without_column(model, split)
    assert wrong >= len(split.labels)
    outcome = _status("08.2", wrong, heatmap, model=model, split=split, conv_layer=layer)
    assert outcome.status == exercises.WRONG_ANSWER
    assert "forma (6, 1)" in outcome.message and "IndexError" not in outcome.message, outcome.message


def test_08_2_without_the_column_on_few_images_is_not_a_misleading_verdict():
    """With the extreme score in row 0 the n × n argmax stays below n: a real photo, but not the worst."""
    from course_utils import visualization

    model = _controlled_model()
    layer = model.get_layer("c")
    x, split = _split([3.0, 0.5, -0.5, -1.0, 1.0, 0.2], [1, 1, 0, 0, 1, 0])
    wrong = _without_column(model, split)
    worst = int(np.argmax(np.abs(split.labels - model.predict(x, verbose=0)[:, 0])))
    assert wrong < len(split.labels) and wrong != worst
    heatmap, _ = visualization.grad_cam(model, x[wrong], conv_layer=layer)
    outcome = _status("08.2", wrong, heatmap, model=model, split=split, conv_layer=layer)
    assert outcome.status == exercises.WRONG_ANSWER
    assert "forma (6, 1)" in outcome.message and "[:, 0]" in outcome.message, outcome.message


def test_08_2_storing_grad_cams_pair_is_explained_not_a_raw_value_error():
    from course_utils import visualization

    model = _controlled_model()
    layer = model.get_layer("c")
    x, split = _split([0.5, -0.5, 0.2, 3.0], [1, 0, 0, 0])
    worst = int(np.argmax(np.abs(split.labels - model.predict(x, verbose=0)[:, 0])))
    pair = visualization.grad_cam(model, x[worst], conv_layer=layer)  # (heatmap, P(dogs)), as grad_cam returns
    outcome = _status("08.2", worst, pair, model=model, split=split, conv_layer=layer)
    assert outcome.status == exercises.WRONG_ANSWER
    assert "worst_heatmap, worst_p_dog" in outcome.message and "inhomogeneous" not in outcome.message, outcome.message
    assert _status("08.2", worst, pair[0], model=model, split=split, conv_layer=layer).status == exercises.RIGHT


def test_08_1_after_a_name_error_says_to_define_the_name_first(monkeypatch, tiny_cnn_factory):
    layer = tiny_cnn_factory(img_size=16).get_layer("c2")
    error = NameError("name 'conv_only' is not defined", name="conv_only")  # what IPython records
    monkeypatch.setattr(sys, "last_value", error, raising=False)
    monkeypatch.setattr(sys, "last_exc", error, raising=False)
    outcome = _status("08.1", None, layer=layer)
    assert outcome.status == exercises.NOT_ANSWERED and "define conv_only primero" in outcome.message, outcome.message
    monkeypatch.setattr(sys, "last_value", ValueError("otra cosa"), raising=False)
    monkeypatch.setattr(sys, "last_exc", ValueError("otra cosa"), raising=False)
    assert "primero" not in _status("08.1", None, layer=layer).message
    assert _status("08.1", 3 * 3 * 4, layer=layer).status == exercises.RIGHT


def test_08_1_a_count_for_other_input_channels_says_so(tiny_cnn_factory):
    """3 · 3 · 128 where the layer receives another number of channels: the message names the channels."""
    layer = tiny_cnn_factory(img_size=16).get_layer("c2")  # receives 4 channels
    outcome = _status("08.1", 3 * 3 * 128, layer=layer)
    assert outcome.status == exercises.WRONG_ANSWER
    assert "128 canales de entrada" in outcome.message and "model.summary()" in outcome.message, outcome.message


def test_03_3_accepts_acc_and_binary_accuracy_as_the_metric():
    import keras
    from keras import layers

    shape = (16, 16, 3)
    rng = np.random.default_rng(0)
    images, labels = rng.random((4, *shape)).astype("float32"), rng.integers(0, 2, (4, 1)).astype("float32")

    def cnn(metrics):
        model = keras.Sequential(
            [
                keras.Input(shape=shape),
                layers.Conv2D(4, 3, activation="relu"),
                layers.MaxPooling2D(),
                layers.Conv2D(8, 3, activation="relu"),
                layers.GlobalAveragePooling2D(),
                layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=metrics)
        return model

    for metrics in (["acc"], ["accuracy"], [keras.metrics.BinaryAccuracy()], ["binary_accuracy"]):
        outcome = _status("03.3", cnn(metrics), image_shape=shape, images=images, labels=labels)
        assert outcome.status == exercises.RIGHT, (metrics, outcome.message)
    outcome = _status("03.3", cnn([]), image_shape=shape, images=images, labels=labels)
    assert outcome.status == exercises.WRONG_ANSWER and "metrics=['accuracy']" in outcome.message


def test_01_1_counts_images_not_every_file(tmp_path):
    for cls, n in (("cats", 5), ("dogs", 4)):
        folder = tmp_path / "validation" / cls
        folder.mkdir(parents=True)
        for i in range(n):
            (folder / f"{cls}.{i}.jpg").write_bytes(b"x")
    (tmp_path / "validation" / "cats" / ".DS_Store").write_bytes(b"\0")
    assert _status("01.1", 5, 4, root=tmp_path).status == exercises.RIGHT
    outcome = _status("01.1", 6, 4, root=tmp_path)  # every file, .DS_Store included
    assert outcome.status == exercises.WRONG_ANSWER
    assert ".DS_Store" in outcome.message and "imágenes" in outcome.message, outcome.message
    assert _status("01.1", 4, 4, root=tmp_path).status == exercises.WRONG_ANSWER


def test_03_1_a_shape_in_quotes_is_explained_not_spelled_out():
    outcome = _status("03.1", "(49, 49, 64)")
    assert outcome.status == exercises.WRONG_ANSWER
    assert "sin comillas" in outcome.message and "'('" not in outcome.message, outcome.message
    assert _status("03.1", [48, 48, 64]).status == exercises.RIGHT  # a list is a shape too
    assert _status("03.1", (48, 48, 64)).status == exercises.RIGHT

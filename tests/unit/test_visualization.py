"""course_utils.visualization: image grids (ipyplot and matplotlib), activation grids, filters, Grad-CAM."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from course_utils import visualization
from course_utils.data import image_files, loaders


@pytest.fixture
def captured_html(monkeypatch):
    """What ipyplot sends to IPython's display(), as HTML strings."""
    from ipyplot import _html_helpers

    shown = []
    monkeypatch.setattr(_html_helpers, "display", lambda obj, *a, **k: shown.append(getattr(obj, "data", obj)))
    return shown


def _mixed_images(folder):
    """Files of different sizes and modes, as a student's folder might hold."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    specs = [
        ("rgb.jpg", "RGB", (300, 200)),
        ("gris.jpg", "L", (120, 160)),
        ("rgba.png", "RGBA", (50, 50)),
        ("paleta.png", "P", (90, 40)),
        ("cmyk.jpg", "CMYK", (64, 80)),
    ]
    paths = []
    for name, mode, size in specs:
        arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        img = Image.fromarray(arr).convert(mode)
        img.save(folder / name)
        paths.append(str(folder / name))
    return paths


def test_load_thumbnails_uint8_rgb_bounded(tmp_path):
    paths = _mixed_images(tmp_path / "imgs")
    thumbs = visualization.load_thumbnails(paths, size=64)
    assert len(thumbs) == len(paths)
    for t in thumbs:
        assert t.dtype == np.uint8 and t.ndim == 3 and t.shape[2] == 3 and max(t.shape[:2]) <= 64
    assert thumbs[0].shape == (43, 64, 3)  # 300x200 keeps its aspect ratio


def test_show_images_renders_an_ipyplot_grid(tmp_path, tiny_dataset, captured_html):
    paths = image_files.list_images(tiny_dataset / "train")[0][:4] + _mixed_images(tmp_path / "imgs")
    labels = [f"img{i}" for i in range(len(paths))]
    visualization.show_images(paths, labels, img_width=80)
    assert captured_html, "ipyplot displayed nothing"
    html = "".join(captured_html)
    assert all(isinstance(h, str) for h in captured_html) and html.count("<img") >= len(paths)
    assert "data:image" in html, "images must be embedded (base64), not linked"
    assert "/train/" not in html, "no file paths in the grid"
    for lab in labels:
        assert lab in html


def test_show_images_respects_max_images(tiny_dataset, captured_html):
    paths = image_files.list_images(tiny_dataset / "train")[0]
    visualization.show_images(paths, max_images=3)
    import re

    embedded = set(re.findall(r"data:image/[a-z]+;base64,([A-Za-z0-9+/=]+)", "".join(captured_html)))
    assert len(embedded) == 3


def test_plot_image_grid_paths_and_arrays(tiny_dataset):
    paths = image_files.list_images(tiny_dataset / "test")[0][:3]
    floats = [np.full((8, 8, 3), 0.5), np.full((8, 8, 3), 200.0)]
    fig = visualization.plot_image_grid(paths + floats, titles=list("abcde"), cols=2, title="Grid")
    assert len(fig.axes) == 6 and fig._suptitle.get_text() == "Grid"
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == list("abcde")
    assert np.allclose(shown[4].images[0].get_array(), 200 / 255)


def test_plot_class_balance_and_sizes(tiny_dataset):
    counts = image_files.count_images(tiny_dataset)
    fig = visualization.plot_class_balance(counts)
    ax = fig.axes[0]
    assert len(ax.patches) == 6
    assert all("dogs: 50%" in t.get_text() for t in ax.get_xticklabels())
    fig = visualization.plot_size_histograms(image_files.image_sizes(tiny_dataset / "train"))
    assert len(fig.axes) == 3  # two histograms and a colour bar
    assert fig.axes[1].get_xlabel() == "Ancho (px)"


def test_plot_augmentations(tiny_dataset):
    split = loaders.load_split(tiny_dataset / "test", img_size=24, batch_size=1, preprocessing="none")
    img = np.asarray(next(iter(split.dataset))[0][0])
    fig = visualization.plot_augmentations(img, loaders.make_augmentation(seed=0), n=4, cols=2)
    arrays = [np.asarray(ax.images[0].get_array()) for ax in fig.axes if ax.images]
    assert len(arrays) == 4 and all(a.dtype == np.uint8 for a in arrays)
    assert not all(np.array_equal(arrays[0], a) for a in arrays[1:])


@pytest.fixture(scope="module")
def small_cnn():
    import keras

    from course_utils.models.networks import build_cnn

    keras.utils.set_random_seed(0)
    return build_cnn((48, 48, 3), dense_units=8)


def test_grad_cam_sequential_map_in_unit_range(small_cnn):
    img = np.random.default_rng(1).random((48, 48, 3)).astype("float32")
    cam, score = visualization.grad_cam(small_cnn, img)
    assert cam.shape == small_cnn.get_layer("conv4").output.shape[1:3] == (2, 2)
    assert np.isfinite(cam).all() and cam.min() >= 0 and cam.max() <= 1
    assert score == pytest.approx(float(small_cnn.predict(img[None], verbose=0)[0, 0]), abs=1e-5)
    cam2, _ = visualization.grad_cam(small_cnn, img, conv_layer="conv2")
    assert cam2.shape == (21, 21) and np.isfinite(cam2).all() and cam2.max() <= 1


def test_grad_cam_functional_model(tiny_cnn_factory):
    model = tiny_cnn_factory(img_size=16, conv_names=("Convolution1", "Convolution2"))
    img = np.random.default_rng(2).random((16, 16, 3)).astype("float32") * 255
    cam, score = visualization.grad_cam(model, img)
    assert cam.shape == (8, 8) and np.isfinite(cam).all() and 0 <= cam.min() and cam.max() <= 1
    assert 0.0 <= score <= 1.0


def test_filter_pattern_uint8(small_cnn):
    out = visualization.filter_pattern(small_cnn, "conv1", 3, img_size=48, steps=3)
    assert out.dtype == np.uint8 and out.shape == (48, 48, 3)
    assert out.std() > 0
    again = visualization.filter_pattern(small_cnn, "conv1", 3, img_size=48, steps=3)
    assert np.array_equal(out, again), "same seed, same pattern"


def test_filter_pattern_functional_deeper_layer(tiny_cnn_factory):
    model = tiny_cnn_factory(img_size=16)
    out = visualization.filter_pattern(model, "c2", 1, img_size=16, steps=2)
    assert out.dtype == np.uint8 and out.shape == (16, 16, 3)


def test_filter_pattern_default_size_with_fixed_input_model(small_cnn):
    """The default img_size (128) must not crash a model with a fixed 48 px input (e.g. the lesson's 150 px CNN)."""
    out = visualization.filter_pattern(small_cnn, "conv2", 0, steps=2)
    assert out.dtype == np.uint8 and out.shape == (48, 48, 3)


def test_overlay_heatmap():
    img = np.full((20, 30, 3), 255, np.uint8)
    heat = np.zeros((4, 4), "float32")
    heat[0, 0] = 1.0
    out = visualization.overlay_heatmap(img, heat, alpha=0.5)
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)
    assert not np.array_equal(out[0, 0], out[-1, -1])
    out01 = visualization.overlay_heatmap(img / 255.0, heat, alpha=0.5)
    assert np.abs(out01.astype(int) - out.astype(int)).max() <= 1


def test_scatter_by_class_one_cloud_per_class_with_counts():
    import matplotlib.pyplot as plt

    from course_utils.visualization import scatter_by_class

    fig, ax = plt.subplots()
    points = np.array([[0, 0], [1, 1], [2, 2], [5, 5]], dtype=float)
    scatter_by_class(ax, points, np.array([0, 0, 1, 1]), ["cats", "dogs"], "t", "x", "y")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["cats (2)", "dogs (2)"] and ax.get_title() == "t" and ax.get_xlabel() == "x"
    assert [len(c.get_offsets()) for c in ax.collections] == [2, 2]
    assert np.allclose(ax.collections[1].get_offsets(), [[2, 2], [5, 5]])


def _confident(model, img):
    """``model`` with its output Dense scaled up so that the sigmoid saturates to exactly 1.0 or 0.0 on ``img``."""
    from course_utils.models.networks import sub_model

    last = model.layers[-1]
    kernel, bias = last.get_weights()
    features = sub_model(model, model.layers[-2])(img[None])
    logit = float(visualization.pre_activation(last, features).numpy()[0, 0])
    scale = 200.0 / max(abs(logit), 1e-3)
    last.set_weights([kernel * scale, bias * scale])
    return model


def test_grad_cam_uses_the_logit_not_the_saturated_probability(small_cnn):
    """A confident prediction (p == 1.0 in float32) still gets a map; the sigmoid's gradient there is zero."""
    import tensorflow as tf

    from course_utils.models.networks import sub_model

    img = np.random.default_rng(3).random((48, 48, 3)).astype("float32")
    model = _confident(small_cnn, img)
    p = float(model.predict(img[None], verbose=0)[0, 0])
    assert p in (0.0, 1.0), "the test needs a saturated sigmoid"
    # The probability's gradient, as Grad-CAM on the sigmoid would take it: zero everywhere.
    grad_model = sub_model(model, ["conv4", model.layers[-1]])
    with tf.GradientTape() as tape:
        conv_out, pred = grad_model(tf.constant(img[None]))
        target = pred[:, 0] if p > 0.5 else 1.0 - pred[:, 0]
    assert float(tf.reduce_max(tf.abs(tape.gradient(target, conv_out)))) == 0.0
    cam, score = visualization.grad_cam(model, img)
    assert score == p
    assert cam.max() == pytest.approx(1.0), "the logit's map is not empty"


def test_filter_pattern_leaves_the_start_for_filters_silent_on_grey(small_cnn):
    """Filters whose ReLU output is zero on the grey start still get their own pattern (not the start noise)."""
    import tensorflow as tf

    from course_utils.models.networks import sub_model

    layer = small_cnn.get_layer("conv4")
    start = np.random.default_rng(0).uniform(0.4, 0.6, (1, 48, 48, 3)).astype("float32")
    act = sub_model(small_cnn, layer)(tf.constant(start)).numpy()[0]
    silent = [f for f in range(act.shape[-1]) if act[..., f].max() == 0]
    active = [f for f in range(act.shape[-1]) if act[..., f].max() > 0]
    assert len(silent) >= 2 and active, "the test needs filters that are zero on the grey start"
    patterns = [visualization.filter_pattern(small_cnn, layer, f, img_size=48, steps=5) for f in silent[:2]]
    assert not np.array_equal(patterns[0], patterns[1])


def test_pre_activation_is_the_layer_output_before_its_relu(small_cnn):
    import tensorflow as tf

    from course_utils.models.networks import sub_model

    x = tf.constant(np.random.default_rng(4).random((1, 48, 48, 3)).astype("float32"))
    inputs_conv2 = sub_model(small_cnn, "pool1")(x)
    pre = visualization.pre_activation(small_cnn.get_layer("conv2"), inputs_conv2).numpy()
    assert (pre < 0).any()
    np.testing.assert_allclose(np.maximum(pre, 0), sub_model(small_cnn, "conv2")(x).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="no es Conv2D ni Dense"):
        visualization.pre_activation(small_cnn.get_layer("pool1"), inputs_conv2)


@pytest.mark.parametrize("layer", ["conv1", "conv3"])
def test_filter_response_of_a_conv_layer_is_its_output_before_the_relu(small_cnn, layer):
    from course_utils.models.networks import sub_model

    x = np.random.default_rng(5).random((1, 48, 48, 3)).astype("float32")
    response = np.asarray(visualization.filter_response(small_cnn, layer)(x))
    after_relu = sub_model(small_cnn, layer)(x).numpy()
    assert response.shape == after_relu.shape and (response < 0).any()
    np.testing.assert_allclose(np.maximum(response, 0), after_relu, atol=1e-5)


def test_filter_response_of_another_layer_is_its_output(small_cnn):
    from course_utils.models.networks import sub_model

    x = np.random.default_rng(6).random((1, 48, 48, 3)).astype("float32")
    response = np.asarray(visualization.filter_response(small_cnn, "pool2")(x))
    np.testing.assert_allclose(response, sub_model(small_cnn, "pool2")(x).numpy(), atol=1e-6)


def test_pattern_image_is_grey_centred_uint8():
    x = np.random.default_rng(7).normal(3.0, 20.0, (8, 8, 3))
    out = visualization.pattern_image(x)
    assert out.dtype == np.uint8 and out.shape == (8, 8, 3)
    assert abs(out.mean() - 127.5) < 2 and 30 < out.std() < 45  # contrast 0.15 of the [0, 1] range
    assert np.array_equal(visualization.pattern_image(np.full((2, 2, 3), 9.0)), np.full((2, 2, 3), 127))

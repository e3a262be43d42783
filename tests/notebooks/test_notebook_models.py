"""The models a notebook writes out equal the helper that builds them elsewhere (types, config, parameters)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from course_utils.config import PROJECT_ROOT
from course_utils.models import networks

KEYS = (
    "units",
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "activation",
    "pool_size",
    "rate",
    "use_bias",
    "momentum",
)


def _notebook_model(name: str, image_shape):
    import keras
    from keras import layers

    cells = json.loads((PROJECT_ROOT / "source" / f"{name}.ipynb").read_text())["cells"]
    (source,) = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "code" and "".join(c["source"]).startswith("model = keras.Sequential(")
    ]
    namespace = {"keras": keras, "layers": layers, "P": SimpleNamespace(image_shape=image_shape)}
    exec(source.replace("model.summary()", ""), namespace)
    return namespace["model"]


def _signature(model):
    """The layers (kind and settings) and the parameter count: the network, whether Sequential or functional."""
    return [
        (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k in KEYS})
        for layer in model.layers
        if type(layer).__name__ != "InputLayer"
    ], model.count_params()


@pytest.mark.parametrize(
    ("name", "build", "shape"),
    [
        ("02_mlp", networks.build_mlp, (16, 16, 3)),
        ("03_cnn", networks.build_cnn, (64, 64, 3)),
    ],
)
def test_notebook_model_equals_the_helper(name, build, shape):
    assert _signature(_notebook_model(name, shape)) == _signature(build(input_shape=shape))


def test_signature_sees_a_changed_layer():
    a, b = networks.build_cnn(input_shape=(64, 64, 3)), networks.build_cnn(input_shape=(64, 64, 3), dense_units=256)
    assert _signature(a) != _signature(b)


def test_legacy_generator_has_a_length_so_fit_needs_no_steps_per_epoch(tiny_dataset):
    """What 01 and 02 say: in Keras 3 a generator of ImageDataGenerator is a PyDataset with ``len``."""
    import math

    import keras

    from course_utils.data import loaders

    d = tiny_dataset
    train, _, _ = loaders.get_generators(
        d / "train", d / "validation", d / "test", (20, 20), preprocessing_mode="rescaling", batch_size=3
    )
    assert isinstance(train, keras.utils.PyDataset)
    assert len(train) == math.ceil(train.n / 3)


def _notebook_cell(name: str, start: str) -> str:
    cells = json.loads((PROJECT_ROOT / "source" / f"{name}.ipynb").read_text())["cells"]
    (source,) = ["".join(c["source"]) for c in cells if c["cell_type"] == "code" and start in "".join(c["source"])]
    return source


def _augmentation_signature(model):
    drop = {"name", "seed", "trainable", "dtype"}
    return [
        (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k not in drop}) for layer in model.layers
    ]


def test_augmentation_written_in_04_equals_make_augmentation():
    """04 writes the lesson's augmentation layer by layer; loaders.make_augmentation builds the same stack."""
    import keras
    from keras import layers

    from course_utils.data import loaders

    source = _notebook_cell("04_aumento_datos", "plot_augmentations(example, augmenter")
    source = source[source.index("augmenter = keras.Sequential(") : source.index("visualization.plot_augmentations")]
    namespace = {"keras": keras, "layers": layers, "P": SimpleNamespace(seed=7)}
    exec(source, namespace)
    notebook = _augmentation_signature(namespace["augmenter"])
    assert notebook == _augmentation_signature(loaders.make_augmentation(seed=7))
    assert notebook != _augmentation_signature(loaders.make_augmentation(seed=7, zoom=0.1))


def test_grad_cam_written_in_07_equals_visualization_grad_cam(tiny_cnn_factory):
    """07 writes the Grad-CAM GradientTape (on the logit); visualization.grad_cam computes the same map."""
    import keras
    import numpy as np
    import tensorflow as tf

    from course_utils import visualization
    from course_utils.models import networks

    source = _notebook_cell("08_mapas_caracteristicas", "def grad_cam(x):")
    source = source[source.index("output_layer = ") : source.index("per_class = ")]
    model = tiny_cnn_factory(img_size=16)
    namespace = {
        "keras": keras,
        "np": np,
        "tf": tf,
        "networks": networks,
        "model": model,
        "model_input": model.inputs[0],
        "gradcam_layer": model.get_layer("c2"),
    }
    exec(source, namespace)
    for seed in (0, 1):
        x = np.random.default_rng(seed).random((16, 16, 3)).astype("float32")
        cam, p = namespace["grad_cam"](x)
        expected, p_expected = visualization.grad_cam(model, x, conv_layer="c2")
        np.testing.assert_allclose(cam, expected, atol=1e-5)
        assert p == pytest.approx(p_expected, abs=1e-6)


def test_activation_grid_written_in_08_leaves_constant_channels_black_and_counts_them(monkeypatch):
    """08 writes the lesson's channel grid: a constant channel (std 0) is black, not NaN, and counted."""
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(0)
    act = rng.random((1, 6, 5, 7)).astype("float32")
    act[..., 2] = 0.0
    act[..., 5] = 4.2
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gca().get_images()[0].get_array().copy()))
    namespace = {"np": np, "plt": plt, "layer_names": ["capa_a", "capa_b"], "activations": [act, act[..., :2]]}
    with np.errstate(all="raise"):
        exec(_notebook_cell("08_mapas_caracteristicas", "constant_channels = {}"), namespace)
    plt.close("all")
    assert namespace["constant_channels"] == {"capa_a": 2, "capa_b": 0}
    grid = np.asarray(shown[0])
    assert grid.shape == (6, 5 * 7) and np.isfinite(grid).all()
    assert (grid[:, 10:15] == 0).all() and (grid[:, 25:30] == 0).all()  # channels 2 and 5: black
    assert grid[:, 0:5].std() > 0


@pytest.mark.parametrize("layer", ["conv1", "conv2"])
def test_filter_pattern_written_in_08_equals_visualization_filter_pattern(layer):
    """08 writes the gradient-ascent GradientTape; visualization.filter_pattern (the benchmark's) climbs the same way."""
    import keras
    import numpy as np
    import tensorflow as tf

    from course_utils import visualization

    source = _notebook_cell("08_mapas_caracteristicas", "def filter_pattern(")
    keras.utils.set_random_seed(0)
    model = networks.build_cnn((48, 48, 3), dense_units=4)  # the lesson's CNN: its ReLU inside each Conv2D
    namespace = {"np": np, "tf": tf, "keras": keras, "visualization": visualization}
    namespace.update(P=SimpleNamespace(seed=3), MODEL_SIZE=model.input_shape[1])
    exec(source, namespace)
    response = visualization.filter_response(model, layer)
    for f in (0, 5):
        mine = namespace["filter_pattern"](response, f, steps=3)
        expected = visualization.filter_pattern(model, layer, f, steps=3, seed=3)
        assert mine.dtype == np.uint8 and mine.shape == expected.shape
        assert np.abs(mine.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("name", ["06_embeddings", "08_mapas_caracteristicas"])
def test_06_and_08_load_the_course_cnn_with_keras_in_view(name):
    """The notebook finds the file with course_model and loads it itself; a float32 copy is said, not hidden."""
    source = _notebook_cell(name, "course_model.find_course_cnn(")
    assert "model = keras.models.load_model(MODEL_PATH)" in source
    assert "model = networks.as_float32(model)" in source and "precisión mixta" in source
    cells = json.loads((PROJECT_ROOT / "source" / f"{name}.ipynb").read_text())["cells"]
    assert not any("load_course_cnn" in "".join(c["source"]) for c in cells)


def test_loader_speed_in_01_is_the_recorded_measurement():
    """01 quotes results/loader_speed.json (made by scripts/loader_speed.py): the text follows the data."""
    recorded = json.loads((PROJECT_ROOT / "results" / "loader_speed.json").read_text())
    assert recorded["recorded"]["command"] == "python scripts/loader_speed.py"
    cells = json.loads((PROJECT_ROOT / "source" / "01_exploracion_datos.ipynb").read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    keras_s, course_s = recorded["seconds_per_pass"].values()

    def es(t: float, digits: int) -> str:  # the text's decimal comma
        return f"{t:.{digits}f}".replace(".", ",")

    assert "; ".join(es(t, 1) for t in keras_s[:-1]) + f" y {es(keras_s[-1], 1)} s" in text
    assert f"{es(course_s[0], 1)} s la primera" in text
    assert " y ".join(es(t, 2) for t in course_s[1:]) + " s las siguientes" in text


def _exec_cell(name: str, start: str, end: str, namespace: dict) -> dict:
    source = _notebook_cell(name, start)
    exec(source[source.index(start) : source.index(end)], namespace)
    return namespace


def test_build_cnn_written_in_04_equals_the_lesson_cnn_and_the_course_fallback():
    """04's solution to exercise 4.2 builds 03's CNN, and with an augmenter and Dropout the course's fallback."""
    import keras
    from keras import layers

    from course_utils.data import loaders
    from course_utils.models import networks

    shape = (64, 64, 3)
    ns = _exec_cell(
        "04_aumento_datos",
        "def build_cnn(augmenter=None, dropout=0.0):",
        "# END SOLUTION",
        {"keras": keras, "layers": layers, "P": SimpleNamespace(image_shape=shape)},
    )
    plain = ns["build_cnn"]()
    assert _signature(plain) == _signature(networks.build_cnn(input_shape=shape))
    augment = loaders.make_augmentation(seed=1)
    written = ns["build_cnn"](augmenter=augment, dropout=0.5)
    fallback = networks.course_build_cnn(shape)(augmenter=augment, dropout=0.5)
    assert _signature(written) == _signature(fallback)
    assert _signature(written) != _signature(plain)
    # The experiment's learning rate (the recorded runs' and the exercise check's), in both arms.
    for model in (plain, written):
        assert float(model.optimizer.learning_rate) == pytest.approx(networks.AUGMENTATION_LEARNING_RATE)


def test_residual_cnn_written_in_05_is_the_recorded_res_s2():
    """05's residual CNN, built with exercise 5.1's solution or with the course's block, is the network of the
    recorded runs (benchmarks/ablation.py, variant res_s2): the same layers in kind and settings, the same
    parameter count."""
    import sys

    import keras
    from keras import layers

    sys.path.insert(0, str(PROJECT_ROOT))
    from benchmarks.ablation import VARIANTS
    from benchmarks.scratch_models import residual_cnn

    shape = (64, 64, 3)
    solution = _exec_cell("05_hacia_el_90", "def shortcut(x, filters):", "# END SOLUTION", {"layers": layers})
    recorded = residual_cnn(shape[0], **VARIANTS["res_s2"]["model"])

    def kinds(model):
        return sorted((kind, str(sorted(config.items()))) for kind, config in _signature(model)[0])

    blocks = []
    for answer in (solution["shortcut"], None):  # the solution, and the course's shortcut after a blank answer
        ns = {"layers": layers, "networks": networks, "shortcut": answer}
        exec(_notebook_cell("05_hacia_el_90", "if not callable(shortcut):"), ns)
        blocks.append(ns["residual_block"])
    for block in (*blocks, networks.residual_block):
        ns = _exec_cell(
            "05_hacia_el_90",
            "inputs = keras.Input(",
            "model.compile(",
            {"keras": keras, "layers": layers, "residual_block": block, "P": SimpleNamespace(image_shape=shape)},
        )
        written = ns["model"]
        assert kinds(written) == kinds(recorded)
        assert written.count_params() == recorded.count_params()
        assert written.output_shape == recorded.output_shape == (None, 1)


def test_ablation_text_in_05_is_the_recorded_measurement():
    """05 quotes course_utils/recorded/ablation_05_cpu.json (made by benchmarks/ablation.py): text follows data."""
    from course_utils import artifacts

    recorded = artifacts.recorded("ablation_05_cpu")
    assert recorded["command"].startswith("python benchmarks/ablation.py")
    assert recorded["settings"]["epochs"] >= 40 and recorded["settings"]["data"] == "real"
    cells = json.loads((PROJECT_ROOT / "source" / "05_hacia_el_90.ipynb").read_text())["cells"]
    (text,) = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "markdown" and "**Qué dice esta medición" in "".join(c["source"])
    ]
    for step in recorded["steps"]:
        quoted = f"{100 * step['test_accuracy']:.1f} %".replace(".", ",")
        assert quoted in text, f"{step['step']}: {quoted} missing from 05's text about the ablation"


def test_05_quotes_the_recorded_residual_runs():
    """05's table and text quote benchmarks/results/from_scratch_cpu.json (three seeds of res_s2): text follows data."""
    from quoted_05 import quoted

    record = json.loads((PROJECT_ROOT / "benchmarks" / "results" / "from_scratch_cpu.json").read_text())
    assert len([r for r in record["runs"] if r["variant"] == "res_s2"]) >= 3, "three seeds of the chosen network"
    cells = json.loads((PROJECT_ROOT / "source" / "05_hacia_el_90.ipynb").read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    q = quoted(record)
    row = f"| **red residual** (la de este cuaderno) | {q['N_RES']} | 48 | **{q['VAL_RES']}** | **{q['TEST_RES']}** |"
    assert row in text
    assert f"| 2 | 40 | {q['VAL_WIDE']} | {q['TEST_WIDE']} |" in text
    assert f"de {q['MIN_RES']} a\n{q['MAX_RES']}" in text
    assert f"entre el {q['JUMP_LO']} % y el {q['JUMP_HI']} %" in text
    assert f"entre el {q['LATE_LO']} % y el {q['LATE_HI']} %" in text
    assert f"({q['TRAIN_FINAL']} % de media" in text
    assert f"en {q['FLIP_VAL']} puntos de media (y la prueba en\n{q['FLIP_TEST']})" in text
    assert "@" not in text.replace("#@param", "")


def test_04_and_05_train_with_the_course_answers_when_the_exercises_are_blank(capsys):
    """make test runs each exercise's blank cell, then the solution: the fallbacks after a blank answer are
    checked here (04: build_cnn and the augmenter, 05: the block)."""
    import keras

    from course_utils.data import loaders
    from course_utils.models import networks

    shape = (48, 48, 3)
    ns = _exec_cell(
        "04_aumento_datos",
        "if not callable(build_cnn):",
        "arms = {",
        {
            "keras": keras,
            "build_cnn": None,
            "moderate_augmenter": None,
            "networks": networks,
            "loaders": loaders,
            "P": SimpleNamespace(image_shape=shape, seed=1),
        },
    )
    out = capsys.readouterr().out
    assert "ejercicio 4.2 aún no está resuelto" in out and "ejercicio 4.1 aún no está resuelto" in out
    model = ns["build_cnn"](augmenter=ns["train_augmenter"], dropout=0.5)
    assert model.layers[0] is ns["train_augmenter"] and model.input_shape == (None, *shape)
    ns = _exec_cell(
        "05_hacia_el_90",
        "if not callable(shortcut):",
        "def residual_block(",
        {"shortcut": None, "networks": networks},
    )
    assert ns["shortcut"] is networks.projection_shortcut
    assert "ejercicio 5.1 aún no está resuelto" in capsys.readouterr().out


@pytest.mark.parametrize("strength", ["moderate", "strong"])
def test_augmentation_written_in_05_equals_make_augmentation(strength):
    """05 writes its augmentation layer by layer (in tf.data); loaders.make_augmentation builds the same stack."""
    import keras
    from keras import layers

    from course_utils.data import loaders

    source = _notebook_cell("05_hacia_el_90", "augmenter = keras.Sequential(")
    source = source[source.index("ranges = ") : source.index("train_augmented = ")]
    namespace = {
        "keras": keras,
        "layers": layers,
        "loaders": loaders,
        "P": SimpleNamespace(seed=7, augmentation=strength),
    }
    exec(source, namespace)
    notebook = _augmentation_signature(namespace["augmenter"])
    assert notebook == _augmentation_signature(loaders.make_augmentation(seed=7, **loaders.STRENGTHS[strength]))
    assert notebook != _augmentation_signature(loaders.make_augmentation(seed=7, zoom=0.1))


def test_05_text_on_the_progressive_recipe_and_mixup_is_the_recorded_search():
    """05 quotes benchmarks/results/cpu_recipe_search.json (res_s2_prog112, three seeds; mixup, one seed)."""
    from quoted_05 import quoted_search

    record = json.loads((PROJECT_ROOT / "benchmarks" / "results" / "cpu_recipe_search.json").read_text())
    cells = json.loads((PROJECT_ROOT / "source" / "05_hacia_el_90.ipynb").read_text())["cells"]
    text = " ".join(" ".join("".join(c["source"]).split()) for c in cells if c["cell_type"] == "markdown")
    q = quoted_search(record)
    assert q["N_PROG"] == "3"
    assert f"llega al {q['TEST_PROG']} en prueba de media con 3 semillas ({q['VAL_PROG']} en validación)" in text
    assert f"{q['TEST_MIXUP']} en prueba frente al {q['TEST_NO_MIXUP']} sin él, con la misma semilla" in text


def test_05_text_on_its_own_cpu_run_is_the_record():
    """05 quotes benchmarks/results/notebook05_cpu_f32.json (the notebook as shipped, cpu set, float32)."""
    from quoted_05 import percent

    record = json.loads((PROJECT_ROOT / "benchmarks" / "results" / "notebook05_cpu_f32.json").read_text())
    assert record["precision"] == "float32" and record["epochs_run"] == 48
    cells = json.loads((PROJECT_ROOT / "source" / "05_hacia_el_90.ipynb").read_text())["cells"]
    text = " ".join(" ".join("".join(c["source"]).split()) for c in cells if c["cell_type"] == "markdown")
    val, test = percent(record["val_accuracy_best"]), percent(record["test_accuracy"])
    assert f"se quedó con la época {record['best_epoch']} ({val} % en validación) y dio un {test} % en prueba" in text
    repeats = [run["test_accuracy"] for run in record["repeats"]["runs"]]
    low, high = percent(min(repeats)), percent(max(repeats))
    assert len(repeats) == 3 and record["test_accuracy"] in repeats  # the text says "Tres"
    assert f"Tres ejecuciones de este cuaderno tal cual dieron entre el {low} % y el {high} %" in text


def test_08_text_on_the_zeros_is_the_recorded_cpu_run():
    """08 quotes benchmarks/results/relu_zeros_08_cpu.json (its ReLU table on 05's network, cpu set): text follows data."""
    record = json.loads((PROJECT_ROOT / "benchmarks" / "results" / "relu_zeros_08_cpu.json").read_text())
    zeros, off, dead = (
        record["relu_zeros"][k]
        for k in ("activaciones_cero", "canales_apagados_por_foto", "canales_muertos_en_el_batch")
    )
    cells = json.loads((PROJECT_ROOT / "source" / "08_mapas_caracteristicas.ipynb").read_text())["cells"]
    text = " ".join(" ".join("".join(c["source"]).split()) for c in cells if c["cell_type"] == "markdown")

    def pct(x: float) -> str:
        return f"{100 * x:.0f} %"

    assert f"entre el {pct(min(zeros.values()))} y el {pct(max(zeros.values()))}" in text
    first, last = list(off)[0], list(off)[-1]
    assert f"{pct(off[first])} en `{first}`" in text and f"{pct(off[last])} en `{last}`" in text
    assert ("ninguno en ninguna capa" in text) == (sum(dead.values()) == 0)

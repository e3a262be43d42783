"""course_utils.params.resolve: every set resolves for every notebook; bad values raise ParameterError in Spanish; WEIGHTS given as a path."""

from __future__ import annotations

import itertools

import pytest

from course_utils import hardware
from course_utils.config import ENV_PARAM_SET
from course_utils.params import resolve, schema
from course_utils.params.resolve import ParameterError


@pytest.fixture(autouse=True)
def no_param_set_env(monkeypatch):
    monkeypatch.delenv(ENV_PARAM_SET, raising=False)


@pytest.mark.parametrize("notebook, param_set", list(itertools.product(resolve.NOTEBOOKS, schema.PARAM_SET_NAMES)))
def test_every_set_resolves_for_every_notebook(notebook, param_set):
    p = resolve.resolve(notebook, param_set)
    assert p.notebook == notebook and p.param_set == param_set
    assert p.img_size >= resolve.MIN_IMG_SIZE[notebook]
    assert p.epochs > 0 and p.batch_size > 0
    assert p.image_shape == (p.img_size, p.img_size, 3)
    d = p.as_dict()
    assert d["img_size"] == p.img_size and "extra" not in d
    for key, value in p.extra.items():
        assert p[key] == value and d[key] == value
    if param_set == "smoke":
        assert p.weights == "random" and p.max_per_class is not None, "smoke must run offline and small"
    else:
        assert p.weights == "imagenet"
    resolve.check(p)


def test_smoke_is_never_bigger_than_cpu_nor_cpu_than_gpu():
    for nb in resolve.NOTEBOOKS:
        s, c, g = (resolve.resolve(nb, ps) for ps in schema.PARAM_SET_NAMES)
        assert s.img_size <= c.img_size <= g.img_size, nb
        assert s.epochs <= c.epochs <= g.epochs, nb


def _smallest_pooled_side(build, side: int) -> int:
    """Smallest spatial side among the pooling outputs of ``build((side, side, 3))``; 0 if it cannot be built.

    Keras 3.15+ refuses a zero-sized output when building; 3.8-3.14 build it with a
    ``(None, 0, 0, 128)`` pooling output. Both mean: this size does not fit the model.
    """
    try:
        model = build((side, side, 3))
    except ValueError:
        return 0
    shapes = [layer.output.shape for layer in model.layers if "pool" in layer.name and len(layer.output.shape) == 4]
    assert len(shapes) == 4, [layer.name for layer in model.layers]
    return min(min(s[1], s[2]) for s in shapes)


def test_min_img_size_is_the_smallest_the_lesson_cnn_fits():
    """MIN_IMG_SIZE is exactly the smallest side whose last pooling output is non-empty (any Keras 3)."""
    from course_utils.models.networks import build_cnn, build_cnn_improved

    for nb, build in (
        ("03_cnn", build_cnn),
        ("04_aumento_datos", build_cnn),
        ("05_hacia_el_90", build_cnn_improved),
        ("06_embeddings", build_cnn_improved),
        ("08_mapas_caracteristicas", build_cnn_improved),
    ):
        s = resolve.MIN_IMG_SIZE[nb]
        assert _smallest_pooled_side(build, s) >= 1, nb
        assert _smallest_pooled_side(build, s - 1) == 0, nb
        resolve.check(resolve.resolve(nb, "smoke", img_size=s))
        with pytest.raises(ParameterError, match="IMG_SIZE"):
            resolve.check(resolve.resolve(nb, "smoke", img_size=s - 1))


def test_overrides_and_extras():
    p = resolve.resolve(
        "05_hacia_el_90",
        "smoke",
        img_size=80,
        epochs=1,
        batch_size=4,
        max_per_class=7,
        weights="imagenet",
        seed=5,
        augmentation="strong",
        data_source="synthetic",
        artifacts_dir="/tmp/a",
    )
    assert (p.img_size, p.epochs, p.batch_size, p.max_per_class, p.weights, p.seed) == (80, 1, 4, 7, "imagenet", 5)
    assert p["augmentation"] == "strong" and p.data_source == "synthetic" and p.artifacts_dir == "/tmp/a"
    keep = resolve.resolve("05_hacia_el_90", "smoke", augmentation=None)
    assert keep["augmentation"] == "moderate"
    assert resolve.resolve("07_modelos_preentrenados", "cpu", weights="random").weights == "random"
    # None means "the set's value" for WEIGHTS as for every other parameter (it meant random weights once).
    assert resolve.resolve("07_modelos_preentrenados", "cpu", weights=None).weights == "imagenet"
    assert resolve.resolve("07_modelos_preentrenados", "smoke", weights=None).weights == "random"


def test_auto_uses_environment_then_gpu(monkeypatch):
    monkeypatch.setenv(ENV_PARAM_SET, "smoke")
    assert hardware.default_param_set() == "smoke"
    assert resolve.resolve("03_cnn", "auto").param_set == "smoke"
    monkeypatch.delenv(ENV_PARAM_SET)
    assert hardware.default_param_set(gpu_available=True) == "gpu"
    assert hardware.default_param_set(gpu_available=False) == "cpu"


def test_table_lists_every_value():
    p = resolve.resolve("03_cnn", "smoke")
    lines = resolve.table(p).splitlines()
    assert lines[0].startswith("notebook") and "'03_cnn'" in lines[0]
    assert any(line.split()[0] == "img_size" and line.split()[1] == str(p.img_size) for line in lines)
    assert {line.split()[0] for line in lines} == set(p.as_dict())


def test_every_value_reads_as_attribute_and_item():
    p = resolve.resolve("05_hacia_el_90", "smoke")
    assert p.img_size == p["img_size"] and p.augmentation == p["augmentation"] == p.extra["augmentation"]
    with pytest.raises(AttributeError, match="no tiene el parámetro"):
        _ = p.receta
    with pytest.raises(KeyError):
        p["receta"]


BAD = [
    ("epochs_zero", dict(notebook="03_cnn", epochs=0), ["EPOCHS=0", "entero positivo", "Prueba con EPOCHS"]),
    ("epochs_negative", dict(notebook="03_cnn", epochs=-5), ["EPOCHS=-5", "entero positivo"]),
    ("epochs_float", dict(notebook="03_cnn", epochs=2.5), ["EPOCHS=2.5", "entero positivo"]),
    ("epochs_text", dict(notebook="03_cnn", epochs="10"), ["EPOCHS='10'", "entero positivo"]),
    ("epochs_bool", dict(notebook="03_cnn", epochs=True), ["EPOCHS=True"]),
    ("batch_zero", dict(notebook="02_mlp", batch_size=0), ["BATCH_SIZE=0", "Prueba con BATCH_SIZE"]),
    ("img_size_negative", dict(notebook="02_mlp", img_size=-16), ["IMG_SIZE=-16", "entero positivo"]),
    (
        "img_size_too_small_cnn",
        dict(notebook="03_cnn", img_size=32),
        ["IMG_SIZE=32", "demasiado pequeño", "IMG_SIZE>=46"],
    ),
    (
        "img_size_too_small_pretrained",
        dict(notebook="07_modelos_preentrenados", img_size=16),
        ["demasiado pequeño", "IMG_SIZE>=32"],
    ),
    ("max_per_class_zero", dict(notebook="03_cnn", max_per_class=0), ["MAX_PER_CLASS=0", "None"]),
    (
        "weights_unknown",
        dict(notebook="07_modelos_preentrenados", weights="imagnet"),
        ["WEIGHTS='imagnet'", "imagenet", "random"],
    ),
    ("seed_text", dict(notebook="03_cnn", seed="42"), ["SEED", "entero"]),
    (
        "backbone_unknown",
        dict(notebook="07_modelos_preentrenados", backbones=("efficientnetb0", "vgg16")),
        ["Modelo base desconocido", "vgg16", "Opciones", "efficientnetb0"],
    ),
    (
        "augmentation_unknown",
        dict(notebook="05_hacia_el_90", augmentation="rapida"),
        ["AUGMENTATION='rapida'", "no existe", "moderate"],
    ),
    (
        "extra_unknown",
        dict(notebook="02_mlp", augmentation="strong"),
        ["desconocido", "augmentation", "02_mlp", "acepta"],
    ),
    (
        "extra_negative",
        dict(notebook="08_mapas_caracteristicas", filter_steps=0),
        ["FILTER_STEPS=0", "entero positivo"],
    ),
    ("notebook_unknown", dict(notebook="08_gan"), ["Cuaderno desconocido", "03_cnn"]),
    ("param_set_unknown", dict(notebook="03_cnn", param_set="rapido"), ["PARAM_SET='rapido'", "smoke", "cpu", "gpu"]),
]


@pytest.mark.parametrize("kwargs, words", [(k, w) for _, k, w in BAD], ids=[i for i, _, _ in BAD])
def test_bad_values_raise_parameter_error_in_spanish(kwargs, words):
    kwargs = dict(kwargs)
    notebook = kwargs.pop("notebook")
    param_set = kwargs.pop("param_set", "smoke")
    with pytest.raises(ParameterError) as exc:
        resolve.resolve(notebook, param_set, **kwargs)
    assert isinstance(exc.value, ValueError)
    for w in words:
        assert w in str(exc.value), f"{w!r} missing from: {exc.value}"


def test_labels_give_spanish_names_for_display():
    assert schema.label("improved") == "mejorada" and schema.label("strong") == "fuerte"
    assert schema.label("original") == "original" and schema.label("sin_nombre") == "sin_nombre"
    for spec in schema.PARAMETERS.values():
        if spec.kind == "choice":
            assert all(v in schema.LABELS for v in spec.choices)


@pytest.mark.parametrize("value", ["ceiling+1", 10000])
def test_image_size_has_a_ceiling(value):
    value = schema.MAX_IMG_SIZE + 1 if value == "ceiling+1" else value
    with pytest.raises(ParameterError) as exc:
        resolve.resolve("03_cnn", "smoke", img_size=value)
    assert f"IMG_SIZE={value}" in str(exc.value) and "demasiado grande" in str(exc.value)
    assert resolve.resolve("03_cnn", "smoke", img_size=schema.MAX_IMG_SIZE).img_size == schema.MAX_IMG_SIZE


def test_transfer_image_size_has_the_same_ceiling():
    with pytest.raises(ParameterError, match="TRANSFER_IMG_SIZE=4000"):
        resolve.resolve("07_modelos_preentrenados", "smoke", transfer_img_size=4000)


@pytest.mark.parametrize("seed", [-1, 2**32, 2**40, True, 1.5])
def test_seed_outside_the_range_keras_accepts_is_refused(seed):
    with pytest.raises(ParameterError) as exc:
        resolve.resolve("03_cnn", "smoke", seed=seed)
    assert "SEED" in str(exc.value) and "Prueba con SEED=42" in str(exc.value)


@pytest.mark.parametrize("seed", [0, 2**32 - 1])
def test_seed_bounds_are_accepted(seed):
    assert resolve.resolve("03_cnn", "smoke", seed=seed).seed == seed


def test_precision_auto_becomes_this_machines_policy():
    from course_utils import hardware

    p = resolve.resolve("04_aumento_datos", "cpu")
    assert p.precision == hardware.choose_precision().policy
    assert resolve.resolve("04_aumento_datos", "cpu", precision="float32").precision == "float32"
    with pytest.raises(ParameterError, match="PRECISION"):
        resolve.resolve("04_aumento_datos", "cpu", precision="float8")


def test_float_parameters_are_checked_and_an_unknown_kind_is_refused():
    from course_utils.params.schema import Param

    rate = Param("float", "tasa de aprendizaje", minimum=0.0, maximum=1.0)
    resolve.check_value("learning_rate", rate, 1e-3)
    for bad, words in (("0.001", "número"), (True, "número"), (2.0, "fuera de rango"), (-1e-3, "fuera de rango")):
        with pytest.raises(resolve.ParameterError, match=words):
            resolve.check_value("learning_rate", rate, bad)
    odd = Param("int", "x")
    object.__setattr__(odd, "kind", "nuevo")  # a kind added to the schema without its check
    with pytest.raises(resolve.ParameterError, match="no sabe comprobar"):
        resolve.check_value("x", odd, 1)


def test_an_unknown_parameter_lists_what_the_notebook_accepts(monkeypatch):
    from course_utils.params import schema

    for entry in schema.NOTEBOOKS:
        with pytest.raises(ParameterError) as exc:
            resolve.resolve(entry.name, "smoke", receta=1)
        accepted = ", ".join(sorted(entry.parameters)) or "ninguno adicional"
        assert "receta" in str(exc.value) and f"acepta: {accepted}." in str(exc.value)
    plain = schema.Notebook("99_sin_propios", "t", "t", "t", min_img_size=8, values={s: {} for s in schema.SETS})
    monkeypatch.setitem(schema.BY_NAME, plain.name, plain)
    with pytest.raises(ParameterError, match="acepta: ninguno adicional"):
        resolve.resolve(plain.name, "smoke", receta=1)


def test_is_weights_path():
    assert resolve.is_weights_path("mios.weights.h5")
    assert not any(resolve.is_weights_path(v) for v in (None, *schema.WEIGHTS_CHOICES))
    with pytest.raises(ParameterError, match="WEIGHTS='auto' no es válido"):  # not a value of WEIGHTS
        resolve.resolve("07_modelos_preentrenados", "cpu", weights="auto")


def test_a_keras_weights_file_for_one_backbone_has_no_problem(tmp_path):
    import keras

    path = tmp_path / "mios.weights.h5"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]).save_weights(path)
    assert resolve.weights_file_problem(path, ("mobilenetv2",)) is None
    assert "un solo modelo base" in resolve.weights_file_problem(path, ("mobilenetv2", "resnet50"))
    error = resolve.weights_mismatch("ResNet50", path, ValueError("89 objects could not be loaded"))
    assert "no corresponden a ResNet50" in str(error) and "89 objects" in str(error)

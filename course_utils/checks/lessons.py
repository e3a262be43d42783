"""The checks of notebooks 01-05's exercises (data, MLP, CNN, augmentation, a modern CNN), registered in :data:`course_utils.checks.registry.EXERCISES`.

Each check receives the student's answer (and what it needs from the
notebook) and raises ``AssertionError`` with a Spanish explanation when the
answer is wrong.  Keys: ``"<notebook number>.<exercise number>"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..config import IMAGE_EXTENSIONS
from ..data.image_files import count_images
from ..data.loaders import STRENGTHS, make_augmentation
from ..models.networks import AUGMENTATION_LEARNING_RATE as EXPERIMENT_LEARNING_RATE
from ..models.networks import build_cnn as lesson_cnn
from .registry import close, exercise, expect, numbers, to_numpy, whole_number


def _factor(value: Any) -> Any:
    """A Keras augmentation factor in one form: ``f`` and ``(-f, f)`` mean the same range."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (-abs(float(value)), abs(float(value)))
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(float(v) for v in value)
    return value


def _augmentation_signature(model: Any) -> list[tuple[str, dict]]:
    drop = {"name", "seed", "trainable", "dtype"}
    factors = {"factor", "height_factor", "width_factor"}
    return [
        (
            type(layer).__name__,
            {k: _factor(v) if k in factors else v for k, v in layer.get_config().items() if k not in drop},
        )
        for layer in getattr(model, "layers", [])
    ]


@exercise(
    "01.1",
    "contar imágenes",
    "Cuenta solo las fotos: en una carpeta puede haber otros archivos (el .DS_Store de macOS, un "
    "README); quédate con los que terminan en .jpg.",
    solution='n_validation_cats = len(list((DATA.root / "validation" / "cats").glob("*.jpg")))\n'
    'n_validation_dogs = len(list((DATA.root / "validation" / "dogs").glob("*.jpg")))',
)
def _count_images(n_cats: int, n_dogs: int, *, root: Any) -> None:
    table = count_images(root, splits=("validation",))  # the same count as the notebook's table
    for name, answer in (("cats", n_cats), ("dogs", n_dogs)):
        answer = whole_number(answer, f"n_validation_{name}")
        folder = Path(root) / "validation" / name
        expected = int(table.loc["validation", name])
        others = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        extra = len(others) - expected
        if answer == len(others) and extra > 0:
            strays = [n for n in others if n.startswith(".") or not n.lower().endswith(IMAGE_EXTENSIONS)]
            example = f" (p. ej. {strays[0]!r})" if strays else ""
            raise AssertionError(
                f"En validation/{name} cuentas {answer} archivos, pero {extra} no son fotos{example}: "
                "cuenta solo las imágenes, por ejemplo con .glob('*.jpg')."
            )
        expect(
            answer == expected,
            f"En validation/{name} hay {'más' if expected > answer else 'menos'} imágenes que {answer}.",
        )


@exercise(
    "01.2",
    "reescalar con Rescaling",
    "Los píxeles llegan en [0, 255]: crea una capa Rescaling que los lleve a [0, 1] y aplícala solo a las "
    "imágenes de cada batch con .map (las etiquetas pasan tal cual).",
    solution="rescale = layers.Rescaling(1 / 255)\nrescaled_train = keras_train.map(lambda x, y: (rescale(x), y))",
)
def _rescaled_loader(dataset: Any, *, img_size: int) -> None:
    expect(
        hasattr(dataset, "take") and hasattr(dataset, "element_spec"),
        f"rescaled_train debe ser un tf.data.Dataset (es {type(dataset).__name__}).",
    )
    x, y = next(iter(dataset.take(1)))
    x = to_numpy(x)
    expect(
        x.ndim == 4 and x.shape[1:] == (img_size, img_size, 3),
        f"Cada batch de imágenes debe tener forma (batch, {img_size}, {img_size}, 3); tiene {x.shape}.",
    )
    expect(
        x.min() >= 0.0 and x.max() <= 1.0 + 1e-6,
        f"Los píxeles deben quedar en [0, 1]; van de {x.min():.2f} a {x.max():.2f}.",
    )
    expect(x.max() > 0.05, "Los píxeles son casi todos 0: ¿dividiste dos veces?")
    expect(x.std() > 0.02, "Todos los píxeles valen casi lo mismo: la capa debe reescalar la foto, no reemplazarla.")
    expect(
        np.mean(x >= 1.0 - 1e-6) < 0.5,
        "Más de la mitad de los píxeles valen exactamente 1: recortar (clip) a [0, 1] no es reescalar; divide entre 255.",
    )
    expect(len(to_numpy(y)) == len(x), "Cada batch debe conservar sus etiquetas.")


@exercise(
    "02.1",
    "parámetros de una capa densa",
    "Cada neurona tiene un peso por entrada y un sesgo: entradas · neuronas + neuronas.",
    solution="first_dense_params = n_inputs * 256 + 256",
)
def _dense_params(answer: int, *, model: Any) -> None:
    import keras

    answer = whole_number(answer, "first_dense_params")
    dense = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
    expected = dense.count_params()
    expect(answer == expected, f"{answer:,} no es el número de parámetros de la primera Dense.")


@exercise(
    "02.2",
    "model.evaluate",
    "model.evaluate devuelve [pérdida, accuracy] (las métricas de compile); evalúa la partición de prueba.",
    solution="test_loss, test_accuracy = model.evaluate(test.dataset, verbose=0)",
)
def _evaluate(loss: float, accuracy: float, *, model: Any, dataset: Any) -> None:
    loss, accuracy = numbers((loss, accuracy), "(test_loss, test_accuracy)", 2)
    want_loss, want_accuracy = (float(v) for v in model.evaluate(dataset, verbose=0)[:2])
    expect(
        not (close(loss, want_accuracy) and close(accuracy, want_loss)),
        "Tienes la pérdida y la accuracy intercambiadas: model.evaluate devuelve [pérdida, accuracy], en ese orden.",
    )
    expect(
        close(loss, want_loss) and close(accuracy, want_accuracy),
        f"(pérdida {loss:.4f}, accuracy {accuracy:.4f}) no es lo que da model.evaluate sobre la partición de "
        "prueba: ¿evaluaste test.dataset (y no la de validación o la de entrenamiento)?",
    )


@exercise(
    "03.1",
    "formas a mano",
    "Conv2D 3×3 sin relleno: s → s − 2; MaxPooling 2×2: s → s // 2; los canales son los filtros de la "
    "última Conv2D (64 en conv2).",
    solution="pool2_shape_200 = (((200 - 2) // 2 - 2) // 2, ((200 - 2) // 2 - 2) // 2, 64)  # (48, 48, 64)",
)
def _pool2_shape(answer: tuple) -> None:
    size = 200
    for _ in range(2):
        size = (size - 2) // 2
    expected = (size, size, 64)
    shape = numbers(answer, "pool2_shape_200", 3)
    expect(shape == expected, f"{tuple(answer)} no es la forma de la salida de pool2.")


@exercise(
    "03.2",
    "guardar y cargar",
    "Keras carga un modelo completo (arquitectura y pesos) desde el archivo .keras que guardaste.",
    solution="reloaded = keras.models.load_model(model_path)",
)
def _reloaded(reloaded: Any, *, model: Any, images: Any) -> None:
    import keras

    expect(isinstance(reloaded, keras.Model), f"reloaded debe ser un modelo de Keras (es {type(reloaded).__name__}).")
    expect(reloaded is not model, "reloaded debe cargarse del archivo, no ser el mismo objeto que model.")
    same = np.allclose(to_numpy(reloaded(images, training=False)), to_numpy(model(images, training=False)), atol=1e-5)
    expect(same, "El modelo cargado no predice lo mismo que model: ¿cargaste model_path?")


@exercise(
    "03.3",
    "tu propia CNN, definida y compilada",
    "Sigue el esquema de la CNN de arriba, en pequeño: entrada, dos bloques convolución + pooling, un "
    "pooling global y una salida de una neurona; después compila con una pérdida para dos clases.",
    solution="my_cnn = keras.Sequential([\n    keras.Input(shape=P.image_shape),\n"
    "    layers.Conv2D(16, 3, activation='relu'),\n    layers.MaxPooling2D(),\n"
    "    layers.Conv2D(32, 3, activation='relu'),\n    layers.MaxPooling2D(),\n"
    "    layers.GlobalAveragePooling2D(),\n    layers.Dense(1, activation='sigmoid'),\n])\n"
    "my_cnn.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])",
)
def _small_cnn(model: Any, *, image_shape: tuple, images: Any, labels: Any) -> None:
    import keras

    expect(isinstance(model, keras.Model), f"my_cnn debe ser un modelo de Keras (es {type(model).__name__}).")
    expect(
        tuple(model.input_shape[1:]) == tuple(image_shape),
        f"La entrada debe ser {tuple(image_shape)} (keras.Input(shape=P.image_shape)); es {model.input_shape[1:]}.",
    )
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    expect(len(convs) >= 2, f"Se piden dos capas Conv2D; tu modelo tiene {len(convs)}.")
    expect(
        any(
            isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.GlobalAveragePooling2D))
            for layer in model.layers
        ),
        "Falta el pooling (MaxPooling2D y GlobalAveragePooling2D) entre las convoluciones y la salida.",
    )
    expect(
        tuple(model.output_shape) == (None, 1),
        f"La salida debe ser una sola probabilidad por imagen, forma (None, 1); es {model.output_shape}.",
    )
    last = model.layers[-1]
    expect(
        getattr(getattr(last, "activation", None), "__name__", "") == "sigmoid",
        "La última capa debe usar activation='sigmoid': da P(perro) entre 0 y 1.",
    )
    expect(
        getattr(model, "compiled", False),
        "Falta compilar el modelo: my_cnn.compile(optimizer=..., loss=..., metrics=...).",
    )
    config = {k: str(v).lower() for k, v in (model.get_compile_config() or {}).items()}
    expect(
        "binary" in config.get("loss", "") and "crossentropy" in config.get("loss", ""),
        f"Con dos clases y una salida sigmoide la pérdida es 'binary_crossentropy' (tienes {config.get('loss')}).",
    )
    expect(
        "acc" in config.get("metrics", "") and "categorical" not in config.get("metrics", ""),
        "Añade metrics=['accuracy'] (o 'acc', o keras.metrics.BinaryAccuracy()) al compilar.",
    )
    loss = float(np.asarray(model.train_on_batch(images, labels, return_dict=True)["loss"]))
    expect(np.isfinite(loss), f"Un paso de entrenamiento dio una pérdida no finita ({loss}).")


@exercise(
    "04.1",
    "el aumento moderado, capa a capa",
    "Un keras.Sequential con cuatro capas Random..., en el orden del texto: espejo, giro, desplazamiento y "
    "zoom; los giros se dan en fracciones de vuelta, los desplazamientos y el zoom en fracciones del tamaño.",
    solution='moderate_augmenter = keras.Sequential([\n    layers.RandomFlip("horizontal"),\n'
    '    layers.RandomRotation(0.05, fill_mode="nearest"),\n'
    '    layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),\n'
    '    layers.RandomZoom(0.15, fill_mode="nearest"),\n])',
)
def _moderate_augmentation(augmenter: Any) -> None:
    expected = _augmentation_signature(make_augmentation(**STRENGTHS["moderate"]))
    got = _augmentation_signature(augmenter)
    expect(bool(got), "moderate_augmenter debe ser un keras.Sequential con las capas de aumento.")
    kinds = [k for k, _ in got]
    expect(
        kinds == [k for k, _ in expected],
        f"Las capas son {', '.join(kinds)}; se esperaban {', '.join(k for k, _ in expected)}.",
    )
    for (kind, cfg), (_, want) in zip(got, expected, strict=True):
        if kind == "RandomZoom" and want.get("width_factor") is None and cfg.get("width_factor") is not None:
            raise AssertionError(
                "RandomZoom: su segundo argumento es width_factor, el zoom del ancho por separado; con "
                f"RandomZoom({', '.join(str(v) for v in _zoom_args(cfg))}) el alto y el ancho cambian cada uno a "
                "su aire y la foto se deforma. Con un solo factor, RandomZoom(0.15), el ancho sigue al alto y "
                "se conservan las proporciones."
            )
        wrong = sorted(k for k in want if cfg.get(k) != want[k])
        expect(
            not wrong, f"{kind}: revisa {', '.join(wrong)} (tienes {', '.join(f'{k}={cfg.get(k)!r}' for k in wrong)})."
        )


def _zoom_args(cfg: dict) -> list[Any]:
    """RandomZoom's two factors as the student may have written them (``f`` for ``(-f, f)``)."""
    return [v[1] if isinstance(v, tuple) and v[0] == -v[1] else v for v in (cfg["height_factor"], cfg["width_factor"])]


@exercise(
    "04.2",
    "el aumento dentro del modelo",
    "Parte de la CNN de 03: el aumento, si lo hay, es lo primero que recibe la entrada; el Dropout, "
    f"solo si dropout > 0, va entre Flatten y la Dense de 512; compila con Adam({EXPERIMENT_LEARNING_RATE:g}), "
    "binary_crossentropy y accuracy.",
    solution="def build_cnn(augmenter=None, dropout=0.0):\n    inputs = keras.Input(shape=P.image_shape)\n"
    "    x = augmenter(inputs) if augmenter is not None else inputs\n"
    "    for filters in (32, 64, 128, 128):\n        x = layers.Conv2D(filters, 3, activation='relu')(x)\n"
    "        x = layers.MaxPooling2D()(x)\n    x = layers.Flatten()(x)\n    if dropout > 0:\n"
    "        x = layers.Dropout(dropout)(x)\n    x = layers.Dense(512, activation='relu')(x)\n"
    "    outputs = layers.Dense(1, activation='sigmoid')(x)\n    model = keras.Model(inputs, outputs)\n"
    "    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),\n"
    "                  loss='binary_crossentropy', metrics=['accuracy'])\n    return model",
)
def _augmented_cnn(build_cnn: Any, *, image_shape: tuple[int, int, int]) -> None:
    import keras

    augmenter = keras.Sequential([keras.layers.RandomFlip("horizontal")], name="aumento_de_prueba")
    expect(callable(build_cnn), "build_cnn debe ser una función: def build_cnn(augmenter=None, dropout=0.0): ...")
    plain, augmented = build_cnn(augmenter=None, dropout=0.0), build_cnn(augmenter=augmenter, dropout=0.5)
    for model, call in ((plain, "build_cnn(None, 0.0)"), (augmented, "build_cnn(augmenter, 0.5)")):
        expect(
            hasattr(model, "layers") and hasattr(model, "count_params"),
            f"{call} debe devolver un modelo de Keras (return model); devuelve {type(model).__name__}.",
        )
        expect(
            tuple(model.input_shape[1:]) == tuple(image_shape),
            f"{call}: la entrada debe ser keras.Input(shape={tuple(image_shape)}); es {model.input_shape}.",
        )
    expect(
        plain.count_params() == lesson_cnn(tuple(image_shape)).count_params(),
        f"Sin aumento ni Dropout debe ser la CNN de 03 ({lesson_cnn(tuple(image_shape)).count_params():,} "
        f"parámetros); la tuya tiene {plain.count_params():,}.",
    )
    kinds = [type(layer).__name__ for layer in plain.layers]
    expect("Dropout" not in kinds, "Con dropout=0.0 no debe haber capa Dropout: añádela solo si dropout > 0.")
    expect(augmenter not in plain.layers, "Con augmenter=None el modelo no debe llevar aumento.")
    layers_ = augmented.layers
    expect(
        augmenter in layers_,
        "El aumento no está dentro del modelo: aplícalo a la entrada, x = augmenter(inputs), antes de la "
        "primera Conv2D (dentro del modelo se desactiva solo al predecir).",
    )
    kinds = [type(layer).__name__ for layer in layers_]
    expect(
        layers_.index(augmenter) < kinds.index("Conv2D"),
        "El aumento debe ser la primera etapa, antes de la primera Conv2D: se aumenta la imagen, no los mapas.",
    )
    drops = [i for i, k in enumerate(kinds) if k == "Dropout"]
    expect(len(drops) == 1, f"Con dropout=0.5 debe haber una capa Dropout; hay {len(drops)}.")
    expect(
        close(layers_[drops[0]].rate, 0.5), f"Dropout debe usar la tasa que recibe (0.5); usa {layers_[drops[0]].rate}."
    )
    expect(
        kinds.index("Flatten") < drops[0] < kinds.index("Dense"),
        "Dropout va entre Flatten y la Dense de 512 neuronas, como en la lección.",
    )
    config = {k: str(v).lower() for k, v in (augmented.get_compile_config() or {}).items()}
    expect(getattr(augmented, "compiled", False), "Falta compilar el modelo dentro de build_cnn (model.compile(...)).")
    expect(
        "adam" in config.get("optimizer", "")
        and abs(float(augmented.optimizer.learning_rate) - EXPERIMENT_LEARNING_RATE) < 1e-9,
        f"Compila con keras.optimizers.Adam(learning_rate={EXPERIMENT_LEARNING_RATE:g}), la tasa de los dos brazos del "
        "experimento: solo debe cambiar lo que se mide.",
    )
    expect("binary" in config.get("loss", ""), f"La pérdida es 'binary_crossentropy' (tienes {config.get('loss')}).")


@exercise(
    "05.1",
    "el atajo del bloque residual: la forma del camino principal",
    "El atajo debe dar la forma del camino principal con lo mínimo: ¿qué capa cambia el número de canales "
    "sin mirar a los píxeles vecinos, y con qué argumento reduce a la vez el alto y el ancho a la mitad, "
    "redondeando hacia arriba como el MaxPooling con padding='same'?",
    solution="def shortcut(x, filters):\n"
    "    return layers.Conv2D(filters, 1, strides=2, padding='same', use_bias=False)(x)",
)
def _shortcut(shortcut: Any) -> None:
    for shape, filters in (((16, 16, 4), 8), ((15, 15, 8), 8), ((9, 7, 16), 32)):
        _shortcut_fits(shortcut, shape, filters)


def _shortcut_fits(shortcut: Any, shape: tuple[int, int, int], filters: int) -> None:
    """Exercise 5.1 on one input: ``shortcut(x, filters)`` gives the main path's shape, from ``x``, cheaply."""
    import keras

    expect(callable(shortcut), "shortcut debe ser una función: def shortcut(x, filters): ... return ...")
    h, w, channels = shape
    main = (-(-h // 2), -(-w // 2), filters)  # MaxPooling2D(3, strides=2, padding="same"): la mitad, hacia arriba
    case = f"Con una entrada de forma {shape} y filters={filters}"
    inputs = keras.Input(shape=shape)
    try:
        out = shortcut(inputs, filters)
    except Exception as exc:  # noqa: BLE001 (the student's code: any error is explained, not raised)
        expect(
            False,
            f"{case}, tu atajo dio un error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. "
            "Aplica capas de Keras a x, por ejemplo layers.Conv2D(...)(x), y devuelve su resultado.",
        )
    expect(
        isinstance(out, keras.KerasTensor),
        f"shortcut debe devolver el tensor que sale de aplicar capas a x (return ...); devuelve {type(out).__name__}.",
    )
    got = tuple(out.shape[1:])
    if got != main:
        expect(
            len(got) == 3,
            f"{case}, tu atajo devuelve un tensor de forma {got}; el camino principal, {main} (alto, ancho, canales).",
        )
        if got[:2] == main[:2]:
            expect(
                False,
                f"{case}, tu atajo devuelve {got[2]} canales y el camino principal {filters}: layers.add solo suma "
                "tensores de la misma forma. Hace falta una capa que dé `filters` canales: una Conv2D con filters "
                "filtros; con un núcleo 1 × 1 mezcla los canales de cada píxel sin mirar a los vecinos.",
            )
        if got[:2] == (h, w):
            channels_too = (
                f" Y devuelve {got[2]} canales donde el camino principal da {filters}: cámbialos con una capa "
                "de filters filtros."
                if got[2] != filters
                else ""
            )
            expect(
                False,
                f"{case}, tu atajo devuelve mapas de {h}×{w}, como la entrada, y el camino principal de "
                f"{main[0]}×{main[1]}: su MaxPooling avanza de 2 en 2, y layers.add solo suma tensores de la "
                f"misma forma. Reduce también el atajo a la mitad (strides=2).{channels_too}",
            )
        expect(
            False,
            f"{case}, tu atajo devuelve mapas de {got[0]}×{got[1]} y el camino principal de {main[0]}×{main[1]}: "
            "con un lado impar, el MaxPooling con padding='same' redondea hacia arriba. Usa padding='same' "
            "también en el atajo (y strides=2).",
        )
    try:
        model = keras.Model(inputs, out)
    except ValueError:
        expect(False, "Tu atajo no sale de x: aplica las capas a la entrada del bloque (la x que recibe la función).")
    x = np.random.default_rng(0).random((1, *shape)).astype("float32")
    expect(
        np.abs(to_numpy(model(x))).max() > 0,
        "Tu atajo devuelve ceros sea cual sea la entrada: no lleva nada de x a la suma. Un atajo transforma x.",
    )
    params, projection = model.count_params(), channels * filters
    expect(
        params <= projection + 5 * filters,
        f"{case}, tu atajo funciona pero tiene {params:,} pesos; una Conv2D 1 × 1 tiene {projection:,}. Un núcleo "
        "más grande mira los píxeles vecinos, que ya mira el camino principal, y convierte el atajo en otro camino "
        "largo: el atajo es el camino corto, usa kernel_size=1.",
    )


@exercise(
    "05.2",
    "parámetros del segundo bloque residual",
    "Conv2D 3x3 sin sesgo: 3·3·entradas·filtros; la 1x1 del atajo: entradas·filtros; cada BatchNorm: "
    "4 por canal de lo que normaliza (la primera, los 32 de la entrada; la segunda, 64).",
    solution="block2_params = 3 * 3 * 32 * 64 + 3 * 3 * 64 * 64 + 32 * 64 + 4 * 32 + 4 * 64",
)
def _block_params(answer: int) -> None:
    answer = whole_number(answer, "block2_params")
    conv1, conv2, proj, bn1, bn2 = 3 * 3 * 32 * 64, 3 * 3 * 64 * 64, 32 * 64, 4 * 32, 4 * 64
    right = conv1 + conv2 + proj + bn1 + bn2
    hints = {
        right - proj: "Falta la convolución 1 × 1 del atajo (32 · 64 pesos).",
        right - bn1 - bn2: "Faltan las dos BatchNorm: 4 números por canal (γ, β, media y varianza).",
        right - (bn1 + bn2) // 2: "Cada BatchNorm guarda 4 números por canal: γ y β (entrenables), y la media y la "
        "varianza acumuladas (no entrenables).",
        right + 3 * 64: "Las convoluciones del bloque no tienen sesgo (use_bias=False).",
        right - bn1 + 4 * 64: "La primera BatchNorm normaliza la entrada del bloque: 32 canales, no 64.",
        right + conv2 - conv1: "La primera Conv2D recibe 32 canales (la salida del bloque 1), no 64.",
    }
    expect(answer == right, hints.get(answer, f"{answer:,} no es el número de parámetros del bloque."))

"""The checks of notebooks 06-08's exercises (features, pretrained models, what the network sees).

Registered in :data:`course_utils.checks.registry.EXERCISES` like those of
:mod:`course_utils.checks.lessons`, whose helpers they share.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..data.loaders import BACKBONE_PREPROCESSING
from ..models.networks import count_params
from ..params.schema import BACKBONES
from ..visualization import grad_cam
from .registry import NotAnswered, exercise, expect, numbers, to_numpy, whole_number


@exercise(
    "06.2",
    "el bucle para datos barajados",
    "Recorre train_shuffled.dataset batch a batch y guarda, de cada batch, sus vectores y SUS etiquetas "
    "(las del mismo batch, no train_shuffled.labels); al final, une las listas.",
    solution="vectors, labels = [], []\nfor x, y in train_shuffled.dataset:\n"
    "    vectors.append(keras.ops.convert_to_numpy(features_model(x, training=False)))\n"
    "    labels.append(keras.ops.convert_to_numpy(y))\nX_mine, y_mine = np.concatenate(vectors), np.concatenate(labels)",
)
def _embedding_loop(X: Any, y: Any, *, expected: tuple) -> None:
    """Each vector must come with its own label; the order is free (the data are shuffled)."""
    from sklearn.neighbors import NearestNeighbors

    X, y = np.asarray(X, dtype="float32"), np.asarray(y).reshape(-1)
    X_ref, y_ref = np.asarray(expected[0], dtype="float32"), np.asarray(expected[1]).reshape(-1)
    expect(X.shape == X_ref.shape, f"X_mine tiene forma {X.shape}; debe ser {X_ref.shape} (un vector por imagen).")
    expect(y.shape == y_ref.shape, f"y_mine tiene {y.size} etiquetas; debe tener {y_ref.size}, una por imagen.")
    distance, index = NearestNeighbors(n_neighbors=1).fit(X_ref).kneighbors(X)
    twin = index[:, 0]  # the same image in the ordered pass
    scale = np.linalg.norm(X_ref[twin], axis=1) + 1e-3
    expect(
        bool((distance[:, 0] <= 1e-3 * scale).all()),
        "Los vectores no son los de features_model sobre las imágenes de entrenamiento.",
    )
    expect(
        np.array_equal(y.astype(int), y_ref[twin].astype(int)),
        "Hay vectores con la etiqueta de otra imagen: guarda la y de cada batch junto a su x (no "
        "train_shuffled.labels, que está en el orden de las carpetas, ni las de otra pasada).",
    )


@exercise(
    "06.3",
    "1 vecino más cercano",
    "Como el clasificador de arriba, pero con un solo vecino (n_neighbors=1) y sin olvidar el "
    "StandardScaler; entrena en X_train y puntúa en X_test.",
    solution='knn1 = Pipeline([("scaler", StandardScaler()), ("clf", KNeighborsClassifier(n_neighbors=1))])\n'
    "knn1_test_accuracy = knn1.fit(X_train, y_train).score(X_test, y_test)",
)
def _knn1(answer: float, *, data: tuple) -> None:
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X_train, y_train, X_test, y_test = data
    pipe = Pipeline([("scaler", StandardScaler()), ("clf", KNeighborsClassifier(n_neighbors=1))])
    expected = pipe.fit(X_train, y_train).score(X_test, y_test)
    expect(0.0 <= float(answer) <= 1.0, f"Una accuracy está entre 0 y 1 (la tuya es {answer}).")
    expect(
        abs(float(answer) - expected) < 1e-9,
        f"{float(answer):.3f} no es la accuracy en prueba del 1-NN con StandardScaler.",
    )


@exercise(
    "06.1",
    "un modelo con dos salidas",
    "keras.Model acepta una lista de salidas: la misma entrada que model y las salidas de las dos capas, "
    "primero la convolucional.",
    solution="two_outputs = keras.Model(inputs=model.inputs[0], outputs=[conv_output.output, penultimate.output])",
)
def _two_outputs(two_outputs: Any, *, images: Any, expected: tuple) -> None:
    import keras

    expect(
        isinstance(two_outputs, keras.Model),
        f"two_outputs debe ser un keras.Model (es {type(two_outputs).__name__}).",
    )
    with warnings.catch_warnings():  # a model built on ``model.inputs`` (a list) warns when called with a tensor
        warnings.simplefilter("ignore", UserWarning)
        got = two_outputs(images, training=False)
    expect(
        isinstance(got, (list, tuple)) and len(got) == 2,
        "El modelo debe tener dos salidas: outputs=[conv_output.output, penultimate.output].",
    )
    want = [to_numpy(m(images, training=False)) for m in expected]
    got = [to_numpy(g) for g in got]
    if [g.shape for g in got] == [w.shape for w in reversed(want)] and want[0].shape != want[1].shape:
        raise AssertionError("Las salidas están en el orden inverso: primero la convolucional, después la densa.")
    for name, g, w in zip(("convolucional", "densa"), got, want, strict=True):
        expect(g.shape == w.shape, f"La salida {name} tiene forma {g.shape}; debería ser {w.shape}.")
        expect(np.allclose(g, w, atol=1e-4), f"La salida {name} no coincide con la de esa capa del modelo.")


@exercise(
    "07.1",
    "el preprocesamiento de cada modelo base",
    "Relee la sección 1: EfficientNet reescala por dentro, MobileNetV2 quiere [-1, 1] y "
    "ResNet50 usa el modo 'caffe' (BGR menos la media).",
    solution='preprocessing_for = {"efficientnetb0": "efficientnet", "mobilenetv2": "mobilenet_v2", '
    '"resnet50": "resnet"}',
)
def _backbone_preprocessing(answer: dict) -> None:
    expect(isinstance(answer, dict), "preprocessing_for debe ser un diccionario {modelo base: modo}.")
    pending = [name for name, mode in answer.items() if mode is Ellipsis]
    if pending and len(pending) == len(answer):
        raise NotAnswered
    expect(not pending, f"Te falta completar: {', '.join(pending)} (sustituye su `...` por el modo).")
    asked = {name for name, b in BACKBONES.items() if b.module == "keras.applications"}  # the three of the text
    for name, mode in BACKBONE_PREPROCESSING.items():
        if name not in asked:
            continue
        expect(name in answer, f"Falta el modelo base {name!r}.")
        expect(answer[name] == mode, f"{name}: {answer[name]!r} no es su preprocesamiento.")


@exercise(
    "07.2",
    "el rango de MobileNetV2",
    "Aplica keras.applications.mobilenet_v2.preprocess_input a np.array([0., 255.]) y mira el resultado.",
    solution="mobilenet_range = tuple(float(v) for v in "
    "keras.applications.mobilenet_v2.preprocess_input(np.array([0.0, 255.0])))",
)
def _mobilenet_range(answer: Any) -> None:
    from keras.applications.mobilenet_v2 import preprocess_input

    low, high = (float(v) for v in preprocess_input(np.array([0.0, 255.0], dtype="float32")))
    answer = numbers(answer, "mobilenet_range", 2)
    expect(np.allclose(answer, (low, high)), f"{answer} no es lo que preprocess_input hace con los píxeles 0 y 255.")


@exercise(
    "07.3",
    "una cabeza nueva sobre otro modelo base",
    "Como la cabeza de la fase 1: congela la base, llámala como una capa (en modo inferencia) sobre una "
    "entrada nueva, reduce sus mapas a un vector y termina en una probabilidad.",
    solution="head_base.trainable = False\ninputs = keras.Input(shape=(T, T, 3))\n"
    "x = head_base(inputs, training=False)\nx = layers.GlobalAveragePooling2D()(x)\n"
    "outputs = layers.Dense(1, activation='sigmoid')(x)\nhead_model = keras.Model(inputs, outputs)",
)
def _transfer_head(head_model: Any, *, base: Any) -> None:
    import keras

    expect(isinstance(head_model, keras.Model), f"head_model debe ser un keras.Model (es {type(head_model).__name__}).")
    expect(
        any(layer is base for layer in head_model.layers),
        "head_model debe usar head_base como una capa: x = head_base(inputs, training=False).",
    )
    expect(not base.trainable, "La base debe quedar congelada: head_base.trainable = False.")
    expect(
        tuple(head_model.output_shape) == (None, 1),
        f"La salida debe ser una probabilidad por imagen, forma (None, 1); es {head_model.output_shape} "
        "(¿falta GlobalAveragePooling2D antes de la Dense?).",
    )
    last = head_model.layers[-1]
    expect(
        getattr(getattr(last, "activation", None), "__name__", "") == "sigmoid",
        "La última capa debe ser Dense(1, activation='sigmoid').",
    )
    channels = int(base.output_shape[-1])
    trainable = count_params(head_model)["trainable"]
    expect(
        trainable == channels + 1,
        f"head_model tiene {trainable:,} pesos entrenables; con la base congelada y una sola Dense(1) sobre "
        f"{channels} canales serían {channels + 1:,} (un peso por canal y el sesgo).",
    )


@exercise(
    "07.4",
    "descongelar las últimas N capas",
    "Primero descongela el modelo entero; después vuelve a congelar lo que no debe entrenar: las capas "
    "anteriores a las últimas N y todas las BatchNormalization.",
    solution="exercise_base.trainable = True\nfor layer in exercise_base.layers[:-N]:\n"
    "    layer.trainable = False\nfor layer in exercise_base.layers:\n"
    "    if isinstance(layer, layers.BatchNormalization):\n        layer.trainable = False",
)
def _unfreeze_last_layers(base: Any, *, n_layers: int) -> None:
    import keras

    expect(isinstance(base, keras.Model), f"exercise_base debe ser un modelo de Keras (es {type(base).__name__}).")

    def size(variables: Any) -> int:
        return int(sum(np.prod(v.shape) for v in variables))

    got = size(base.trainable_weights)
    flagged = [layer.name for layer in base.layers if layer.trainable]
    if got == 0 and not base.trainable and flagged:
        raise AssertionError(
            f"Marcaste {len(flagged)} capas como entrenables, pero exercise_base.trainable sigue en False: "
            "mientras el modelo entero esté congelado, ninguna de sus capas entrena. Pon primero "
            "exercise_base.trainable = True y después congela las que no quieras."
        )
    if got == 0:
        raise NotAnswered  # still frozen as loaded: nothing was unfrozen
    head, tail = base.layers[:-n_layers], base.layers[-n_layers:]
    is_bn = [isinstance(layer, keras.layers.BatchNormalization) for layer in base.layers]
    trainable_bn = [layer.name for layer, bn in zip(base.layers, is_bn, strict=True) if bn and layer.trainable_weights]
    expect(
        not trainable_bn,
        f"{len(trainable_bn)} capas BatchNormalization quedaron entrenables (p. ej. '{trainable_bn[0]}') "
        "y deben seguir congeladas."
        if trainable_bn
        else "",
    )
    early = [layer.name for layer in head if layer.trainable_weights]
    expect(
        not early,
        f"{len(early)} capas anteriores a las últimas {n_layers} quedaron entrenables (p. ej. '{early[0]}')."
        if early
        else "",
    )
    # Every weight of the backbones' other layers (Conv2D, DepthwiseConv2D, Dense) is trainable;
    # a variable's own ``trainable`` flag follows its layer's, so it cannot tell what should be.
    expected = sum(layer.count_params() for layer in tail if not isinstance(layer, keras.layers.BatchNormalization))
    expect(
        got == expected,
        f"Tienes {got:,} pesos entrenables; con las últimas {n_layers} capas descongeladas (sin sus "
        f"BatchNormalization) serían {'más' if expected > got else 'menos'}.",
    )


@exercise(
    "08.1",
    "pesos de un filtro",
    "Un filtro de 3×3 mira todos los canales de su entrada: 3 · 3 · canales de entrada (sin el sesgo).",
    solution="filter_weights = 3 * 3 * networks.conv_layers(model, spatial_only=True)[-1].input.shape[-1]",
)
def _filter_weights(answer: int, *, layer: Any) -> None:
    answer = whole_number(answer, "filter_weights")
    height, width, channels = (int(v) for v in layer.kernel.shape[:3])
    expected = height * width * channels
    if answer != expected and answer > 0 and answer % (height * width) == 0:
        raise AssertionError(
            f"{answer:,} = {height} · {width} · {answer // (height * width)}: supone "
            f"{answer // (height * width)} canales de entrada, y a '{layer.name}' le llegan otros. Cuéntalos en "
            "model.summary(): son los canales de salida de la capa anterior."
        )
    expect(answer == expected, f"{answer:,} no es el número de pesos (sin sesgo) de un filtro de '{layer.name}'.")


@exercise(
    "08.2",
    "la foto peor clasificada, explicada con Grad-CAM",
    "model.predict da una columna de P(dogs) por foto; el error de cada foto es la distancia entre su "
    "etiqueta y esa probabilidad, y np.argmax da la peor. grad_cam devuelve dos cosas: el mapa y P(dogs).",
    solution="scores = model.predict(test.dataset, verbose=0)[:, 0]\n"
    "worst_index = int(np.argmax(np.abs(test.labels - scores)))\n"
    "worst_heatmap, worst_p_dog = grad_cam(get_images(test, [worst_index])[0])",
)
def _worst_photo_grad_cam(index: Any, heatmap: Any, *, model: Any, split: Any, conv_layer: Any) -> None:
    predictions = model.predict(split.dataset, verbose=0)
    scores = predictions[:, 0]
    errors = np.abs(split.labels - scores)
    expect(
        isinstance(index, (int, np.integer)) and not isinstance(index, bool),
        f"worst_index debe ser un entero (es {type(index).__name__}).",
    )
    n = len(errors)
    broadcast = int(np.argmax(np.abs(split.labels - predictions)))  # without [:, 0]: an n × n matrix
    without_column = (
        f"model.predict devuelve una columna por foto, forma ({n}, 1); restarla de test.labels, forma ({n},), "
        f"da una matriz de {n} × {n} y np.argmax cuenta sus casillas, no las fotos. Toma la columna: "
        "scores = model.predict(...)[:, 0]."
    )
    expect(
        0 <= index < n,
        f"worst_index = {index}, pero la partición de prueba tiene {n} fotos (posiciones 0 a {n - 1}). "
        + (without_column if index == broadcast else ""),
    )
    expect(
        index != broadcast or np.isclose(errors[index], errors.max(), atol=1e-6),
        f"La foto {index} no es la peor: {without_column}",
    )
    expect(
        np.isclose(errors[index], errors.max(), atol=1e-6),
        f"La foto {index} tiene un error de {errors[index]:.3f}; la peor llega a {errors.max():.3f}.",
    )
    image = next(x for i, (x, _) in enumerate(split.dataset.unbatch().as_numpy_iterator()) if i == index)
    expected, _ = grad_cam(model, image, conv_layer=conv_layer)
    if isinstance(heatmap, (tuple, list)) and len(heatmap) == 2 and np.ndim(heatmap[1]) == 0:
        raise AssertionError(
            "worst_heatmap es la pareja (mapa, P(dogs)) que devuelve grad_cam; guarda solo el mapa: "
            "worst_heatmap, worst_p_dog = grad_cam(...)."
        )
    heatmap = np.asarray(heatmap)
    expect(
        heatmap.shape == expected.shape,
        f"El mapa debe tener la forma de los mapas de '{conv_layer.name}', {expected.shape}; tiene {heatmap.shape}.",
    )
    expect(np.allclose(heatmap, expected, atol=1e-4), "El mapa no es el Grad-CAM de esa foto: ¿usaste su índice?")


@exercise(
    "08.3",
    "un mapa de saliencia con GradientTape",
    "La imagen es la variable: pídele a la cinta que la vigile (tape.watch) antes de pasarla por el "
    "modelo; después, el gradiente de P(dogs) respecto a la imagen, en valor absoluto y con el máximo "
    "sobre los canales.",
    solution="image = tf.convert_to_tensor(img_tensor)\nwith tf.GradientTape() as tape:\n"
    "    tape.watch(image)\n    p_dog = model(image, training=False)[0, 0]\n"
    "grads = tape.gradient(p_dog, image)\nsaliency = np.max(np.abs(grads[0]), axis=-1)",
)
def _saliency(saliency: Any, *, model: Any, image: Any) -> None:
    import tensorflow as tf

    saliency = np.asarray(saliency, dtype="float32")
    height, width = image.shape[:2]
    expect(
        saliency.shape == (height, width),
        f"saliency debe tener un valor por píxel, forma {(height, width)}; tiene {saliency.shape} "
        "(¿tomaste el máximo de |gradiente| sobre los canales, axis=-1?).",
    )
    x = tf.convert_to_tensor(np.asarray(image, dtype="float32")[np.newaxis])
    with tf.GradientTape() as tape:
        tape.watch(x)
        p_dog = model(x, training=False)[0, 0]
    expected = np.max(np.abs(to_numpy(tape.gradient(p_dog, x))[0]), axis=-1)
    expect(float(np.abs(saliency).max()) > 0, "El mapa es todo ceros: ¿llamaste a tape.watch(image) antes del modelo?")
    expect(
        np.allclose(saliency, expected, rtol=1e-3, atol=1e-6 * float(expected.max() or 1)),
        "El mapa no es max(|∂P(dogs)/∂píxel|) sobre los canales para esta imagen.",
    )

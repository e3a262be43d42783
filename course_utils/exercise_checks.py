"""The checks of notebooks 01-04's exercises (data, MLP, CNN, augmentation), registered in :data:`course_utils.exercise_registry.EXERCISES`.

Each check receives the student's answer (and what it needs from the
notebook) and raises ``AssertionError`` with a Spanish explanation when the
answer is wrong.  Keys: ``"<notebook number>.<exercise number>"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .exercise_registry import close, exercise, expect, numbers, to_numpy, whole_number


def _augmentation_signature(model: Any) -> list[tuple[str, dict]]:
    drop = {"name", "seed", "trainable", "dtype"}
    return [
        (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k not in drop})
        for layer in getattr(model, "layers", [])
    ]


@exercise("01.1", "contar imágenes", "Path.iterdir() da los archivos de una carpeta; len(list(...)) los cuenta.")
def _count_images(n_cats: int, n_dogs: int, *, root: Any) -> None:
    for name, answer in (("cats", n_cats), ("dogs", n_dogs)):
        folder = Path(root) / "validation" / name
        expected = sum(1 for p in folder.iterdir() if p.is_file())
        expect(
            answer == expected,
            f"En validation/{name} hay {'más' if expected > answer else 'menos'} archivos que {answer}.",
        )


@exercise(
    "01.2",
    "reescalar con Rescaling",
    "layers.Rescaling(1 / 255) multiplica por 1/255; aplícala con keras_train.map(lambda x, y: (rescale(x), y)).",
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
    "model.evaluate(test.dataset, verbose=0) devuelve [pérdida, accuracy] (las métricas de compile).",
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
)
def _pool2_shape(answer: tuple) -> None:
    size = 200
    for _ in range(2):
        size = (size - 2) // 2
    expected = (size, size, 64)
    expect(tuple(answer) == expected, f"{tuple(answer)} no es la forma de la salida de pool2.")


@exercise("03.2", "guardar y cargar", "keras.models.load_model(model_path) devuelve el modelo completo.")
def _reloaded(reloaded: Any, *, model: Any, images: Any) -> None:
    import keras

    expect(isinstance(reloaded, keras.Model), f"reloaded debe ser un modelo de Keras (es {type(reloaded).__name__}).")
    expect(reloaded is not model, "reloaded debe cargarse del archivo, no ser el mismo objeto que model.")
    same = np.allclose(to_numpy(reloaded(images, training=False)), to_numpy(model(images, training=False)), atol=1e-5)
    expect(same, "El modelo cargado no predice lo mismo que model: ¿cargaste model_path?")


@exercise(
    "03.3",
    "tu propia CNN, definida y compilada",
    "keras.Sequential([keras.Input(shape=P.image_shape), layers.Conv2D(16, 3, activation='relu'), "
    "layers.MaxPooling2D(), layers.Conv2D(32, 3, activation='relu'), layers.MaxPooling2D(), "
    "layers.GlobalAveragePooling2D(), layers.Dense(1, activation='sigmoid')]); después "
    "my_cnn.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy']).",
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
    expect("accuracy" in config.get("metrics", ""), "Añade metrics=['accuracy'] al compilar.")
    loss = float(np.asarray(model.train_on_batch(images, labels, return_dict=True)["loss"]))
    expect(np.isfinite(loss), f"Un paso de entrenamiento dio una pérdida no finita ({loss}).")


@exercise(
    "04.1",
    "el aumento moderado, capa a capa",
    'Cuatro capas, en este orden: RandomFlip("horizontal"), RandomRotation(0.05), '
    'RandomTranslation(0.1, 0.1) y RandomZoom(0.15), todas con fill_mode="nearest" salvo el espejo.',
)
def _moderate_augmentation(augmenter: Any) -> None:
    from .pipelines import make_augmentation

    expected = _augmentation_signature(make_augmentation(rotation=0.05, shift=0.1, zoom=0.15, shear=0.0))
    got = _augmentation_signature(augmenter)
    expect(bool(got), "moderate_augmenter debe ser un keras.Sequential con las capas de aumento.")
    kinds = [k for k, _ in got]
    expect(
        kinds == [k for k, _ in expected],
        f"Las capas son {', '.join(kinds)}; se esperaban {', '.join(k for k, _ in expected)}.",
    )
    for (kind, cfg), (_, want) in zip(got, expected, strict=True):
        wrong = sorted(k for k in want if cfg.get(k) != want[k])
        expect(
            not wrong, f"{kind}: revisa {', '.join(wrong)} (tienes {', '.join(f'{k}={cfg.get(k)!r}' for k in wrong)})."
        )


@exercise(
    "04.2",
    "parámetros de la densa tras GlobalAveragePooling",
    "GlobalAveragePooling2D deja un valor por canal (128); cada una de las 256 neuronas tiene "
    "un peso por entrada y un sesgo.",
)
def _gap_dense_params(answer: int) -> None:
    answer = whole_number(answer, "gap_dense_params")
    expect(answer == 128 * 256 + 256, f"{answer:,} no es el número de parámetros de Dense(256) sobre 128 valores.")

"""The checks of every notebook's exercises, registered in :data:`course_utils.exercises.EXERCISES`.

Each check receives the student's answer (and what it needs from the
notebook) and raises ``AssertionError`` with a Spanish explanation when the
answer is wrong.  Keys: ``"<notebook number>.<exercise number>"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .exercises import exercise, expect


def _numpy(x: Any) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(x))


@exercise("01.1", "reescalar con Rescaling",
          "layers.Rescaling(1 / 255) multiplica por 1/255; aplícala con "
          "keras_train.map(lambda x, y: (rescale(x), y)).")
def _rescaled_loader(dataset: Any, *, img_size: int) -> None:
    expect(hasattr(dataset, "take") and hasattr(dataset, "element_spec"),
           f"rescaled_train debe ser un tf.data.Dataset (es {type(dataset).__name__}).")
    x, y = next(iter(dataset.take(1)))
    x = _numpy(x)
    expect(x.ndim == 4 and x.shape[1:] == (img_size, img_size, 3),
           f"Cada batch de imágenes debe tener forma (batch, {img_size}, {img_size}, 3); tiene {x.shape}.")
    expect(x.min() >= 0.0 and x.max() <= 1.0 + 1e-6,
           f"Los píxeles deben quedar en [0, 1]; van de {x.min():.2f} a {x.max():.2f}.")
    expect(x.max() > 0.05, "Los píxeles son casi todos 0: ¿dividiste dos veces?")
    expect(len(_numpy(y)) == len(x), "Cada batch debe conservar sus etiquetas.")


@exercise("01.2", "contar imágenes", "Path.iterdir() da los archivos de una carpeta; len(list(...)) los cuenta.")
def _count_images(n_cats: int, n_dogs: int, *, root: Any) -> None:
    for name, answer in (("cats", n_cats), ("dogs", n_dogs)):
        folder = Path(root) / "validation" / name
        expected = sum(1 for p in folder.iterdir() if p.is_file())
        expect(answer == expected, f"En validation/{name} hay {'más' if expected > answer else 'menos'} "
               f"archivos que {answer}.")


@exercise("02.1", "parámetros de una capa densa",
          "Cada neurona tiene un peso por entrada y un sesgo: entradas · neuronas + neuronas.")
def _dense_params(answer: int, *, model: Any) -> None:
    import keras

    dense = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
    expected = dense.count_params()
    expect(answer == expected, f"{answer:,} no es el número de parámetros de la primera Dense.")


@exercise("02.2", "model.evaluate",
          "model.evaluate(test.dataset, verbose=0) devuelve [pérdida, accuracy] (las métricas de compile).")
def _evaluate(loss: float, accuracy: float, *, expected_accuracy: float) -> None:
    expect(np.isfinite(loss) and loss > 0, f"La pérdida debe ser un número positivo (es {loss!r}).")
    expect(abs(float(accuracy) - expected_accuracy) < 0.01,
           f"accuracy={accuracy:.3f} no coincide con la de evaluation.evaluate ({expected_accuracy:.3f}): "
           "¿evaluaste test.dataset?")


@exercise("03.1", "formas a mano",
          "Conv2D 3×3 sin relleno: s → s − 2; MaxPooling 2×2: s → s // 2; los canales son los filtros de la "
          "última Conv2D (64 en conv2).")
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
    same = np.allclose(_numpy(reloaded(images, training=False)), _numpy(model(images, training=False)), atol=1e-5)
    expect(same, "El modelo cargado no predice lo mismo que model: ¿cargaste model_path?")


@exercise("05.1", "el bucle de los embeddings",
          "Dentro del for x, y in test.dataset: añade a una lista los vectores de features_model(x, training=False) "
          "y a otra las etiquetas y; al final, np.concatenate de cada lista.")
def _embedding_loop(X: Any, y: Any, *, expected: tuple) -> None:
    X, y = np.asarray(X), np.asarray(y).reshape(-1)
    X_ref, y_ref = expected
    expect(X.shape == X_ref.shape, f"X_mine tiene forma {X.shape}; debe ser {X_ref.shape} (un vector por imagen).")
    expect(np.allclose(X, X_ref, atol=1e-4), "Los vectores no coinciden con los de extract_embeddings.")
    expect(np.array_equal(y.astype(int), np.asarray(y_ref).astype(int)),
           "Las etiquetas no coinciden: guarda la y de cada batch, junto a su x.")


@exercise("05.2", "1 vecino más cercano",
          "Pipeline([(\"scaler\", StandardScaler()), (\"clf\", KNeighborsClassifier(n_neighbors=1))]), "
          ".fit(X_train, y_train) y .score(X_test, y_test).")
def _knn1(answer: float, *, data: tuple) -> None:
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X_train, y_train, X_test, y_test = data
    pipe = Pipeline([("scaler", StandardScaler()), ("clf", KNeighborsClassifier(n_neighbors=1))])
    expected = pipe.fit(X_train, y_train).score(X_test, y_test)
    expect(0.0 <= float(answer) <= 1.0, f"Una accuracy está entre 0 y 1 (la tuya es {answer}).")
    expect(abs(float(answer) - expected) < 1e-9, f"{float(answer):.3f} no es la accuracy en prueba del 1-NN "
           "con StandardScaler.")

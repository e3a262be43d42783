"""Training that survives interruptions: one checkpoint file per run, written after every epoch.

A run (a variant and a seed) keeps, in one ``.npz`` file replaced atomically at the end of
every epoch (written to a temporary file, then renamed): the model's variables (weights,
BatchNorm statistics, random-generator states), the optimizer's variables (step count and
Adam moments, so that the learning-rate schedule carries on), the best validation epoch's
weights, the history and the training seconds so far.  ``resume`` continues from the last
finished epoch; a checkpoint that cannot be read (truncated, empty, not a checkpoint, keys
missing, an epoch count beyond the run's) is set aside as ``<name>.damaged-<time>``, with a
Spanish message, and that run starts afresh.

What is and is not exactly reproducible after a resume:

- the order of the training images in epoch ``e`` is a permutation drawn from
  ``(seed, e)`` alone (NumPy), so it is the same whether or not the run was interrupted;
- the augmentation of epoch ``e`` is built with a seed drawn from ``(seed, e)`` and runs
  sequentially in ``tf.data`` (no parallel map), so its random draws are the same too;
- model, optimizer and best weights are restored bit for bit;
- what remains is floating point: TensorFlow on CPU may sum in a different order from
  one run to another (threads), so a resumed run matches an uninterrupted one to
  rounding (about 1e-6 after a few epochs), not bit for bit; an uninterrupted run repeated
  has the same limit.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1


def epoch_seed(seed: int, epoch: int) -> int:
    """A seed for epoch ``epoch`` of a run seeded ``seed`` (independent of any earlier epoch)."""
    return int(np.random.default_rng([int(seed), int(epoch)]).integers(0, 2**31 - 1))


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order of the ``n`` training images in epoch ``epoch`` (a function of ``(seed, epoch)`` only)."""
    return np.random.default_rng([int(seed), int(epoch), 1]).permutation(n)


def load_images(split_dir: Path, img_size: int, max_per_class: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All images of a split folder as ``uint8`` (n, img_size, img_size, 3) and their labels.

    Decoded by :func:`course_utils.data.loaders.load_split` (same resizing as the course's loaders).
    """
    from course_utils.data import loaders

    split = loaders.load_split(split_dir, img_size, 256, max_per_class=max_per_class, preprocessing="none", cache=False)
    images = np.concatenate([np.asarray(x) for x, _ in split.dataset]).astype("uint8")
    return images, split.labels.astype("float32")


def epoch_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    seed: int,
    epoch: int,
    augment_factory: Callable[[int], Any] | None = None,
    warp_factory: Callable[[int], Any] | None = None,
    mixup: float = 0.0,
):
    """The batches of epoch ``epoch``: images in :func:`epoch_order`, rescaled to [0, 1], augmented.

    ``mixup`` (alpha > 0): after augmentation, each image and its label are mixed with those of the
    batch read backwards, weight ``lam ~ Beta(alpha, alpha)`` per image (mixup, Zhang et al. 2018),
    drawn from the epoch's seed as well.

    ``warp_factory(seed)``: a batch function on ``uint8`` (e.g. :func:`course_utils.data.loaders.lesson_augment`);
    ``augment_factory(seed)``: a Keras layer applied to the float batch.  Both are built with
    :func:`epoch_seed` and mapped sequentially, so that the epoch's random draws do not depend on
    thread timing nor on the epochs before it.
    """
    import tensorflow as tf

    order = epoch_order(len(images), seed, epoch)
    ds = tf.data.Dataset.from_tensor_slices((images[order], labels[order])).batch(batch_size)
    s = epoch_seed(seed, epoch)
    if warp_factory is not None:
        warp = warp_factory(s)
        ds = ds.map(lambda x, y: (warp(x), y))
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y))
    if augment_factory is not None:
        augment = augment_factory(s)
        ds = ds.map(lambda x, y: (augment(x, training=True), y))
    if mixup > 0:
        ds = ds.map(mixup_batch(mixup, s + 1))
    return ds.prefetch(2)


def mixup_batch(alpha: float, seed: int) -> Callable:
    """A ``tf.data`` batch function mixing each (image, label) with the batch's reverse: mixup."""
    import tensorflow as tf

    gen = tf.random.Generator.from_seed(seed)

    def fn(x, y):
        n = tf.shape(x)[0]
        seeds = gen.make_seeds(2)
        a = tf.random.stateless_gamma([n], seeds[:, 0], alpha)  # Beta(alpha, alpha) = a / (a + b)
        b = tf.random.stateless_gamma([n], seeds[:, 1], alpha)
        lam = a / (a + b)
        y = tf.cast(y, tf.float32)
        mixed = lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * tf.reverse(x, [0])
        return mixed, lam * y + (1 - lam) * tf.reverse(y, [0])

    return fn


def save_checkpoint(path: Path, model, best_weights: list[np.ndarray] | None, state: dict[str, Any]) -> None:
    """Write model, optimizer, best weights and ``state`` (JSON-able) to ``path``, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"model_{i}": np.asarray(v) for i, v in enumerate(model.variables)}
    arrays |= {f"optimizer_{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)}
    arrays |= {f"best_{i}": w for i, w in enumerate(best_weights or [])}
    arrays["state"] = np.frombuffer(json.dumps(dict(state, format=FORMAT)).encode(), dtype="uint8")
    tmp = path.with_name(path.name + ".tmp.npz")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


#: Keys every checkpoint's state has (written by :func:`fit_resumable`).
STATE_KEYS = ("identity", "epochs_done", "history", "best_val", "best_epoch", "epoch_seconds")
#: What reading a damaged checkpoint raises (truncated, empty, an HTML page, keys missing, not UTF-8, a folder).
DAMAGED = (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile)


def state_problem(state: Any, epochs: int) -> str | None:
    """Why ``state`` cannot resume a run of ``epochs`` epochs (Spanish), or None."""
    if not isinstance(state, dict):
        return "su estado no es un diccionario"
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        return f"a su estado le falta {', '.join(missing)}"
    done = state["epochs_done"]
    if isinstance(done, bool) or not isinstance(done, int) or not 0 <= done <= epochs:
        return f"dice que hizo {done!r} épocas de {epochs}"
    return None


def set_aside(path: Path, problem: str) -> Path:
    """Rename a checkpoint that cannot be used (file or folder) to ``<name>.damaged-<time>``, say so; the new name."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(path, aside)
    print(
        f"El punto de control {path} no sirve para reanudar ({problem}); se apartó como {aside.name} (no se "
        "borró) y esta ejecución empieza de cero. Si esperabas reanudarla, revisa ese archivo.",
        flush=True,
    )
    return aside


def read_state(path: Path) -> dict[str, Any] | None:
    """The ``state`` of a checkpoint (``None`` if there is none)."""
    if not path.exists():
        return None
    with np.load(path) as z:
        return json.loads(z["state"].tobytes().decode())


def load_checkpoint(path: Path, model) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Restore model and optimizer variables from ``path``; return the best weights and the state."""
    with np.load(path) as z:
        state = json.loads(z["state"].tobytes().decode())
        model_vars = [z[f"model_{i}"] for i in range(len(model.variables))]
        if f"model_{len(model.variables)}" in z:
            raise ValueError(f"El punto de control {path} no corresponde a este modelo: bórralo o quita --resume.")
        model.optimizer.build(model.trainable_variables)
        opt_vars = model.optimizer.variables
        opt_arrays = [z[f"optimizer_{i}"] for i in range(len(opt_vars))]
        best = [z[k] for k in sorted((k for k in z.files if k.startswith("best_")), key=lambda k: int(k[5:]))]
    for var, value in zip(list(model.variables) + list(opt_vars), model_vars + opt_arrays, strict=True):
        if tuple(var.shape) != value.shape:
            raise ValueError(f"El punto de control {path} no corresponde a este modelo: bórralo o quita --resume.")
        var.assign(value)
    return best, state


def fit_resumable(
    model,
    make_train: Callable[[int], Any],
    validation,
    epochs: int,
    checkpoint: Path,
    *,
    identity: dict[str, Any],
    resume: bool = False,
    stop_after: int | None = None,
    verbose: int = 2,
) -> dict[str, Any]:
    """Train ``model`` (compiled) for ``epochs`` epochs, one ``fit`` call per epoch, checkpointing each.

    ``make_train(epoch)``: the training dataset of that epoch.  ``validation``: a dataset scored after
    every epoch, or a function ``epoch -> dataset or None`` (``None``: no validation after that epoch,
    its ``val_*`` history is ``None`` and it cannot be the best epoch).  ``identity``: what must match for a
    resume (settings, configuration, precision); a checkpoint of another run is refused.
    ``stop_after``: train at most this many epochs in this sitting (then return, resumable).
    Returns the state: ``epochs_done``, ``history``, ``best_val``, ``best_epoch``,
    ``epoch_seconds``, ``epoch_cpu_seconds`` (CPU time of the process, all threads), ``train_seconds`` and ``best_weights`` (a list of arrays).
    """
    state: dict[str, Any] = dict(identity=identity, epochs_done=0, history={}, best_val=-1.0, best_epoch=0)
    state["epoch_seconds"] = []
    best: list[np.ndarray] | None = None
    if checkpoint.is_dir():  # never a checkpoint: the first save would fail on it
        set_aside(checkpoint, "es una carpeta")
    if resume and checkpoint.exists():
        try:
            saved = read_state(checkpoint)
        except DAMAGED as exc:
            saved, problem = None, f"{type(exc).__name__}: {exc}"
        else:
            problem = state_problem(saved, epochs)
        if problem is not None:
            set_aside(checkpoint, problem)
        elif saved["identity"] != json.loads(json.dumps(identity)):
            raise ValueError(
                f"El punto de control {checkpoint} es de otra configuración ({saved['identity']}): "
                "usa la misma orden que lo creó, o bórralo para empezar de cero."
            )
        else:
            try:
                best, state = load_checkpoint(checkpoint, model)
            except (OSError, EOFError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError) as exc:
                set_aside(checkpoint, f"{type(exc).__name__}: {exc}")
            else:
                print(f"Reanudando {checkpoint} tras la época {state['epochs_done']} de {epochs}.", flush=True)
    sitting = 0
    while state["epochs_done"] < epochs and (stop_after is None or sitting < stop_after):
        epoch = state["epochs_done"]
        t0, c0 = time.perf_counter(), time.process_time()
        val_data = validation(epoch) if callable(validation) else validation
        hist = model.fit(
            make_train(epoch), validation_data=val_data, epochs=epoch + 1, initial_epoch=epoch, verbose=verbose
        )
        state["epoch_seconds"].append(round(time.perf_counter() - t0, 2))
        # CPU seconds of all this process's threads: with N free cores, wall time is about cpu / N
        state.setdefault("epoch_cpu_seconds", []).append(round(time.process_time() - c0, 2))
        for key, values in hist.history.items():
            state["history"].setdefault(key, [None] * epoch).append(round(float(values[-1]), 4))
        for values in state["history"].values():  # no validation this epoch: val_* is None
            values.extend([None] * (epoch + 1 - len(values)))
        val = float(hist.history["val_accuracy"][-1]) if val_data is not None else None
        if val is not None and val > state["best_val"]:
            state.update(best_val=val, best_epoch=epoch + 1)
            best = [np.array(w) for w in model.get_weights()]
        state["epochs_done"] = epoch + 1
        state["train_seconds"] = round(sum(state["epoch_seconds"]), 1)
        save_checkpoint(checkpoint, model, best, state)
        sitting += 1
    state.setdefault("train_seconds", round(sum(state["epoch_seconds"]), 1))
    return dict(state, best_weights=best)

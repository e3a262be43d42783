"""Training speed and accuracy per Keras precision policy (``float32`` vs ``mixed_bfloat16``).

Speed (:func:`training_throughput`): images per second of ``train_on_batch``
steps on a fixed in-memory batch (no input pipeline, only the model's
compute), policies interleaved, repeated.  Accuracy
(:func:`accuracy_per_policy`): short trainings of the course's improved CNN
on the real data with each policy and several seeds, test accuracy of each.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .machine import load_average

POLICIES = ("float32", "mixed_bfloat16")
#: Models measured: key -> (builder in course_utils.models.networks, keyword arguments).
MODELS = {"cnn": ("build_cnn", {}), "cnn_improved": ("build_cnn_improved", {})}


@contextlib.contextmanager
def policy(name: str) -> Iterator[None]:
    """Set Keras's global dtype policy for the block (restored afterwards)."""
    import keras

    before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def build(model_key: str, size: int, seed: int = 0) -> Any:
    """The course model ``model_key`` at ``size`` px, compiled (Adam, binary cross-entropy)."""
    import keras

    from course_utils.models import networks

    builder, kwargs = MODELS[model_key]
    keras.utils.set_random_seed(seed)
    model = getattr(networks, builder)((size, size, 3), **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _steps_per_second(model: Any, x: Any, y: Any, steps: int) -> float:
    model.train_on_batch(x, y)  # trace and warm up
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps / (time.perf_counter() - start)


def training_throughput(
    model_key: str,
    size: int,
    *,
    batch_size: int = 32,
    steps: int = 10,
    repeats: int = 3,
    policies: tuple[str, ...] = POLICIES,
) -> dict[str, Any]:
    """Training images/s of ``model_key`` per policy: ``{"runs": {policy: [...]}, "median": {...}, "loads": [...]}``.

    Each repeat builds and measures every policy in turn (interleaved), so a
    change of machine load hits all of them alike; the spread of the repeats
    shows how noisy the machine was.
    """
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((batch_size, size, size, 3), dtype=np.float32)
    y = rng.integers(0, 2, (batch_size, 1)).astype("float32")
    runs: dict[str, list[float]] = {p: [] for p in policies}
    loads = []
    for _ in range(repeats):
        for name in policies:
            keras.backend.clear_session()
            with policy(name):
                model = build(model_key, size)
                runs[name].append(batch_size * _steps_per_second(model, x, y, steps))
            del model
            gc.collect()
        loads.append(load_average())
    return {
        "model": model_key,
        "size": size,
        "batch_size": batch_size,
        "steps": steps,
        "runs": runs,
        "median": {p: statistics.median(v) for p, v in runs.items()},
        "loads": loads,
    }


def train_once(
    root: Path,
    model_key: str,
    size: int,
    policy_name: str,
    seed: int,
    epochs: int,
    batch_size: int = 32,
    lr: float = 2e-3,
) -> dict[str, Any]:
    """One short training on the real data (lesson augmentation in the loader, Adam with cosine decay).

    Returns validation and test accuracy, wall time and the policy.
    """
    import keras

    from course_utils.data.loaders import load_datasets
    from course_utils.models import networks

    keras.backend.clear_session()
    ds = load_datasets(root, size, batch_size, seed=seed, augment="lesson")
    with policy(policy_name):
        keras.utils.set_random_seed(seed)
        builder, kwargs = MODELS[model_key]
        model = getattr(networks, builder)((size, size, 3), **kwargs)
        steps = epochs * -(-len(ds["train"]) // batch_size)
        schedule = keras.optimizers.schedules.CosineDecay(lr, steps)
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss="binary_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        hist = model.fit(ds["train"].dataset, validation_data=ds["validation"].dataset, epochs=epochs, verbose=0)
        seconds = time.perf_counter() - start
        test = model.evaluate(ds["test"].dataset, verbose=0, return_dict=True)["accuracy"]
    out = {
        "model": model_key,
        "size": size,
        "policy": policy_name,
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "train_seconds": round(seconds, 1),
        "val_accuracy": float(hist.history["val_accuracy"][-1]),
        "test_accuracy": float(test),
        "load_average": load_average(),
    }
    del model
    gc.collect()
    return out


def accuracy_per_policy(
    root: Path,
    *,
    model_key: str = "cnn_improved",
    size: int = 96,
    epochs: int = 10,
    seeds: tuple[int, ...] = (1, 2),
    policies: tuple[str, ...] = POLICIES,
    progress: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Train ``model_key`` once per (seed, policy), policies interleaved within each seed."""
    results = []
    for seed in seeds:
        for name in policies:
            r = train_once(root, model_key, size, name, seed, epochs)
            progress(
                f"{model_key} {size}px {name} seed {seed}: val {100 * r['val_accuracy']:.1f} %, "
                f"test {100 * r['test_accuracy']:.1f} %, {r['train_seconds']:.0f} s "
                f"(load {r['load_average']})"
            )
            results.append(r)
    return results

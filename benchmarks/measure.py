"""Measurements: pipeline throughput and training with the lesson's recipe and with ``course_utils``.

Every comparison runs both sides in the same process, interleaved (legacy,
course, course, legacy, ...), repeated, and records the load average, so a
busy machine shows up as spread between repeats rather than as a regression.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import shutil
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .bench_report import Row
from .bench_settings import SPLIT_NAMES, BenchConfig, ModelSpec, build_model
from .machine import load_average

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def make_subset_view(
    root: str | os.PathLike, dest: str | os.PathLike, per_class: dict[str, int | None]
) -> dict[str, int]:
    """Mirror ``root`` in ``dest`` with symlinks to the first N valid images per class.

    Files are chosen by :func:`course_utils.data.image_files.list_images` (sorted by
    name, undecodable files left out), so the legacy generator and the modern
    loader both read exactly the same images.  Returns the image count per split.
    """
    from course_utils.data.image_files import list_images

    root, dest = Path(root), Path(dest)
    counts: dict[str, int] = {}
    for split in SPLIT_NAMES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            paths, labels, names = list_images(root / split, max_per_class=per_class.get(split))
        for path, label in zip(paths, labels, strict=True):
            target = dest / split / names[label] / Path(path).name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                target.symlink_to(Path(path).resolve())
            except OSError:  # no symlinks (some Windows setups): copy instead
                shutil.copy2(path, target)
        counts[split] = len(paths)
    return counts


def warm_file_cache(root: Path) -> None:
    """Read every image once so that neither pipeline pays the first disk read."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            path.read_bytes()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Hide the 'Found N images' prints and library warnings of pipeline construction."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ---------------------------------------------------------------------------
# Throughput
# ---------------------------------------------------------------------------


def touch(x: Any) -> float:
    """Consume a batch the same way for both pipelines: sum all its pixels."""
    return float(np.asarray(x).sum())


def lesson_generators(root: Path, size: int, augment: bool, cfg: BenchConfig) -> tuple[Any, Any, Any]:
    """The lesson's generators ``(train, validation, test)`` (``ImageDataGenerator``, rescale, optional augmentation)."""
    from course_utils.data.loaders import get_generators

    with quiet():
        return get_generators(
            root / "train",
            root / "validation",
            root / "test",
            (size, size),
            preprocessing_mode="augmenting" if augment else "rescaling",
            batch_size=cfg.batch_size,
            seed=cfg.seed,
        )


def legacy_train_iterator(root: Path, size: int, augment: bool, cfg: BenchConfig) -> Any:
    """The lesson's training generator (``ImageDataGenerator``, rescale, optional augmentation)."""
    return lesson_generators(root, size, augment, cfg)[0]


def course_train_dataset(root: Path, size: int, augment: bool, cfg: BenchConfig) -> Any:
    """The course loader's training split (checked file list, decode once, cache, lesson augmentation)."""
    from course_utils.data.loaders import load_split

    with quiet():
        return load_split(
            root / "train", size, cfg.batch_size, shuffle=True, seed=cfg.seed, augment="lesson" if augment else None
        ).dataset


def legacy_pass(iterator: Any) -> int:
    """One epoch of a legacy iterator (``len`` batches, then reshuffle, as ``fit`` does)."""
    n = 0
    for i in range(len(iterator)):
        x, _ = iterator[i]
        touch(x)
        n += len(x)
    iterator.on_epoch_end()
    return n


def course_pass(dataset: Any) -> int:
    """One epoch of a ``tf.data`` dataset."""
    n = 0
    for x, _ in dataset:
        touch(x)
        n += int(x.shape[0])
    return n


SIDES: dict[str, tuple[Callable, Callable[[Any], int]]] = {
    "original": (legacy_train_iterator, legacy_pass),
    "course": (course_train_dataset, course_pass),
}


def _timed(fn: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - start


def _load1() -> float:
    load = load_average()
    return load[0] if load else float("nan")


def first_epochs(
    root: Path, size: int, augment: bool, cfg: BenchConfig
) -> tuple[dict[str, list], dict[str, Any], list[float]]:
    """``cfg.repeats`` first epochs per side (fresh pipeline each time), interleaved.

    Returns ``({side: [(images, seconds, setup_seconds), ...]}, {side: last pipeline}, loads)``.
    The order of the sides alternates between repeats.
    """
    runs: dict[str, list] = {s: [] for s in SIDES}
    objs: dict[str, Any] = {}
    loads = []
    for rep in range(cfg.repeats):
        order = list(SIDES) if rep % 2 == 0 else list(reversed(SIDES))
        for side in order:
            build, run = SIDES[side]
            objs.pop(side, None)
            gc.collect()
            start = time.perf_counter()
            objs[side] = build(root, size, augment, cfg)
            setup = time.perf_counter() - start
            n, t = _timed(lambda run=run, side=side: run(objs[side]))
            runs[side].append((n, setup + t, setup))
        loads.append(_load1())
    return runs, objs, loads


def later_epochs(objs: dict[str, Any], cfg: BenchConfig) -> tuple[dict[str, list[float]], list[float]]:
    """Further passes (images/s), alternating sides, until each has run long enough."""
    later: dict[str, list[float]] = {s: [] for s in SIDES}
    spent = {s: 0.0 for s in SIDES}
    loads = []
    done = lambda s: len(later[s]) >= cfg.min_later_passes and spent[s] >= cfg.min_later_seconds  # noqa: E731
    for _ in range(cfg.max_later_passes):
        for side, (_, run) in SIDES.items():
            if done(side):
                continue
            n, t = _timed(lambda run=run, side=side: run(objs[side]))
            later[side].append(n / t)
            spent[side] += t
        loads.append(_load1())
        if all(done(s) for s in SIDES):
            break
    return later, loads


def measure_throughput(root: Path, size: int, augment: bool, cfg: BenchConfig) -> list[Row]:
    """Rows "first epoch" and "later epochs" (images/s) for one size and augmentation setting.

    First epoch: building the pipeline (listing, and for the course loader its
    file check) plus one pass, ``cfg.repeats`` times per side, interleaved; the
    row gives the medians and the ratio of each repeat.  Later epochs: medians
    of further interleaved passes over the last pipelines built.
    """
    aug_txt = "with augmentation" if augment else "no augmentation"
    tag = f"{size}_{'aug' if augment else 'noaug'}"
    first, objs, loads_first = first_epochs(root, size, augment, cfg)
    later, loads_later = later_epochs(objs, cfg)
    del objs
    gc.collect()
    images = {side: {n for n, _, _ in runs} for side, runs in first.items()}
    if images["original"] != images["course"] or len(images["course"]) != 1:
        raise RuntimeError(f"The pipelines saw different numbers of images: {images}")
    n = images["course"].pop()
    speed = {s: [n / t for _, t, _ in runs] for s, runs in first.items()}
    ratios_first = [c / o for o, c in zip(speed["original"], speed["course"], strict=True)]
    fo, fc = statistics.median(speed["original"]), statistics.median(speed["course"])
    lo, lc = statistics.median(later["original"]), statistics.median(later["course"])
    k = min(len(later["original"]), len(later["course"]))
    label = f"Throughput {size}x{size}, {aug_txt}"
    return [
        Row(
            f"throughput_{tag}_first",
            f"{label}, first epoch",
            "img/s",
            fo,
            fc,
            fc / fo,
            runs=ratios_first,
            loads=loads_first,
            details={
                "images": n,
                "img_s": speed,
                "setup_s": {s: [round(x, 3) for _, _, x in r] for s, r in first.items()},
            },
        ),
        Row(
            f"throughput_{tag}_later",
            f"{label}, later epochs (cached)",
            "img/s",
            lo,
            lc,
            lc / lo,
            runs=[c / o for o, c in zip(later["original"][:k], later["course"][:k], strict=True)],
            loads=loads_later,
            details={"images": n, "img_s": later},
        ),
    ]


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


def fit_original(model: Any, root: Path, size: int, augment: bool, epochs: int, cfg: BenchConfig) -> dict[str, float]:
    """The lesson's recipe: generators, ``steps_per_epoch = samples // batch``, validation each epoch."""
    start, cpu = time.perf_counter(), time.process_time()
    train, val, test = lesson_generators(root, size, augment, cfg)
    setup = time.perf_counter() - start
    with quiet():
        model.fit(
            train,
            steps_per_epoch=max(1, train.samples // train.batch_size),
            epochs=epochs,
            validation_data=val,
            validation_steps=max(1, val.samples // val.batch_size),
            verbose=0,
        )
    test.reset()
    return _tested(model, test, int(test.samples), setup, start, cpu)


def fit_course(model: Any, root: Path, size: int, augment: bool, epochs: int, cfg: BenchConfig) -> dict[str, float]:
    """The course's loaders (checked file list, decode once, cache, prefetch), same epochs."""
    from course_utils.data.loaders import load_datasets

    start, cpu = time.perf_counter(), time.process_time()
    with quiet():
        ds = load_datasets(root, size, cfg.batch_size, seed=cfg.seed, augment="lesson" if augment else None)
    setup = time.perf_counter() - start
    with quiet():
        model.fit(ds["train"].dataset, epochs=epochs, validation_data=ds["validation"].dataset, verbose=0)
    return _tested(model, ds["test"].dataset, len(ds["test"]), setup, start, cpu)


def _tested(model: Any, test: Any, test_images: int, setup: float, start: float, cpu: float) -> dict[str, float]:
    """The record of one training (wall time since ``start``, CPU time since ``cpu``) and its test evaluation."""
    train_time, cpu = time.perf_counter() - start, time.process_time() - cpu
    t0 = time.perf_counter()
    with quiet():
        acc = model.evaluate(test, verbose=0, return_dict=True)["accuracy"]
    return {
        "setup_s": setup,
        "time_s": train_time,
        "cpu_s": cpu,
        "eval_s": time.perf_counter() - t0,
        "accuracy": float(acc),
        "test_images": test_images,
    }


def train_and_evaluate(spec: ModelSpec, side: str, root: Path, cfg: BenchConfig) -> dict[str, float]:
    """Build ``spec``'s model from a fixed seed, train it with ``side``'s pipeline and test it.

    ``time_s`` is the wall time a student waits: building the pipelines plus
    ``fit`` (with the per-epoch validation of the lesson); ``cpu_s`` the process
    CPU time of the same span; test evaluation is timed separately (``eval_s``).
    """
    import keras

    size = cfg.size_of(spec)
    keras.backend.clear_session()
    keras.utils.set_random_seed(cfg.seed)  # same initial weights for both pipelines
    model, optimizer = build_model(spec, size, cfg)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"], run_eagerly=cfg.run_eagerly)
    fit = fit_original if side == "original" else fit_course
    out = fit(model, root, size, spec.augment, cfg.epochs_for(spec), cfg)
    del model
    gc.collect()
    return out


def measure_training(spec: ModelSpec, root: Path, cfg: BenchConfig) -> list[Row]:
    """Rows "training time" (original/course) and "test accuracy" (difference) for one recipe."""
    size = cfg.size_of(spec)
    load0 = _load1()
    original = train_and_evaluate(spec, "original", root, cfg)
    course = train_and_evaluate(spec, "course", root, cfg)
    loads = [load0, _load1()]
    label = f"{spec.label} {size}x{size}"
    epochs = cfg.epochs_for(spec)
    return [
        Row(
            f"train_{spec.key}_time",
            f"{label}: training time, {epochs} epoch{'s' * (epochs != 1)}",
            "s",
            original["time_s"],
            course["time_s"],
            original["time_s"] / course["time_s"],
            loads=loads,
            details={"original": original, "course": course},
        ),
        Row(
            f"train_{spec.key}_accuracy",
            f"{label}: test accuracy",
            "%",
            100 * original["accuracy"],
            100 * course["accuracy"],
            100 * (course["accuracy"] - original["accuracy"]),
            "pp",
            details={"test_images": original["test_images"]},
        ),
    ]


def _mlp_callbacks(patience: int, lr_patience: int) -> list[Any]:
    import keras

    return [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=lr_patience, min_lr=1e-5),
    ]


def measure_mlp_recipe(root: Path, cfg: BenchConfig) -> list[Row]:
    """The whole MLP recipe of each side, as a student runs it, until its early stopping ends it.

    Original (the lesson): ``ImageDataGenerator``, batch 20, Adam 1e-3, EarlyStopping
    patience 5, ReduceLROnPlateau patience 4, at most 30 epochs.  Course (notebook 02):
    ``course_utils`` loader, batch 64, Adam 3e-4, patience 8 and 6, at most 60 epochs.
    Wall time covers building the pipelines and ``fit``.
    """
    import keras

    from course_utils.data.loaders import get_generators, load_datasets
    from course_utils.models.networks import build_mlp

    size = cfg.small_size
    out = {}
    loads = []
    for side in ("original", "course"):
        keras.backend.clear_session()
        keras.utils.set_random_seed(cfg.seed)
        model = build_mlp((size, size, 3))
        start, cpu = time.perf_counter(), time.process_time()
        with quiet():
            if side == "original":
                model.compile(
                    optimizer=keras.optimizers.Adam(),
                    loss="binary_crossentropy",
                    metrics=["accuracy"],
                    run_eagerly=cfg.run_eagerly,
                )
                train, val, test = get_generators(
                    root / "train", root / "validation", root / "test", (size, size), batch_size=20, seed=cfg.seed
                )
                hist = model.fit(
                    train,
                    steps_per_epoch=max(1, train.samples // train.batch_size),
                    epochs=cfg.mlp_recipe_epochs[0],
                    validation_data=val,
                    validation_steps=max(1, val.samples // val.batch_size),
                    callbacks=_mlp_callbacks(5, 4),
                    verbose=0,
                )
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                test.reset()
                acc = model.evaluate(test, verbose=0, return_dict=True)["accuracy"]
            else:
                model.compile(
                    optimizer=keras.optimizers.Adam(3e-4),
                    loss="binary_crossentropy",
                    metrics=["accuracy"],
                    run_eagerly=cfg.run_eagerly,
                )
                ds = load_datasets(root, size, 64, seed=cfg.seed)
                hist = model.fit(
                    ds["train"].dataset,
                    epochs=cfg.mlp_recipe_epochs[1],
                    validation_data=ds["validation"].dataset,
                    callbacks=_mlp_callbacks(8, 6),
                    verbose=0,
                )
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                acc = model.evaluate(ds["test"].dataset, verbose=0, return_dict=True)["accuracy"]
        out[side] = {"time_s": elapsed, "cpu_s": cpu, "accuracy": float(acc), "epochs": len(hist.history["loss"])}
        loads.append(_load1())
        del model
        gc.collect()
    o, c = out["original"], out["course"]
    label = (
        f"MLP {size}x{size} recipe (original: batch 20, Adam 1e-3, patience 5; course: batch 64, Adam 3e-4, patience 8)"
    )
    return [
        Row(
            "recipe_mlp_time",
            f"{label}: wall time to early stop ({o['epochs']} vs {c['epochs']} epochs)",
            "s",
            o["time_s"],
            c["time_s"],
            o["time_s"] / c["time_s"],
            loads=loads,
            details=out,
        ),
        Row(
            "recipe_mlp_accuracy",
            f"{label}: test accuracy",
            "%",
            100 * o["accuracy"],
            100 * c["accuracy"],
            100 * (c["accuracy"] - o["accuracy"]),
            "pp",
        ),
    ]


def measure_precision(cfg: BenchConfig) -> list[Row]:
    """Training throughput, float32 ("original") vs mixed_bfloat16 ("course"), per course model."""
    from .precision import training_throughput

    rows = []
    for key, size in cfg.precision_models:
        r = training_throughput(key, size, steps=cfg.precision_steps, repeats=cfg.repeats)
        f32, bf16 = r["median"]["float32"], r["median"]["mixed_bfloat16"]
        rows.append(
            Row(
                f"precision_{key}_{size}",
                f"Training throughput, {key} {size}x{size}, batch "
                f"{r['batch_size']}: float32 (original) vs mixed_bfloat16 (course)",
                "img/s",
                f32,
                bf16,
                bf16 / f32,
                runs=[b / f for f, b in zip(r["runs"]["float32"], r["runs"]["mixed_bfloat16"], strict=False)],
                loads=[ld[0] for ld in r["loads"] if ld],
                details=r,
            )
        )
    return rows

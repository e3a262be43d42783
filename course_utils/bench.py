"""Benchmark: the lesson's ``ImageDataGenerator`` recipe against the course's ``tf.data`` loaders.

Run ``python -m course_utils.bench [--data auto|DIR|ZIP] [--quick] [--epochs N] [--mlp-epochs N]
[--out FILE]``.
In one process it measures, side by side:

* input-pipeline throughput (images/s) of one pass over the training split,
  first epoch and later epochs, without and with the lesson's augmentation, at
  the MLP size (16x16) and the CNN size (150x150); the consumer only sums each
  batch, there is no model;
* the time to train the lesson's three models (MLP 16x16, CNN 150x150, CNN with
  Dropout and augmentation 150x150) for the same number of epochs with each
  pipeline (same builder, optimizer, batch size, seed), and their test accuracy.

It prints one table (Markdown) and writes it to ``--out`` (default
``build/bench.md``) plus a JSON file beside it with every raw number.  Absolute
numbers depend on the machine and on whatever else runs on it; the ratios,
measured in the same process with the two pipelines interleaved, are the
figures that count.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

SPLIT_NAMES = ("train", "validation", "test")

Progress = Callable[[str], None]


@dataclass
class BenchConfig:
    """What to measure and on how much data."""

    #: Images per class kept in each split (``None``: all of them).
    per_class: dict[str, int | None] = field(
        default_factory=lambda: {"train": None, "validation": None, "test": None})
    epochs: int = 5
    #: Epochs of the MLP recipe (cheap to train; ``None``: ``epochs``).
    mlp_epochs: int | None = None
    #: The lesson's batch size, used by both pipelines.
    batch_size: int = 20
    #: (MLP size, CNN size) in pixels.
    small_size: int = 16
    large_size: int = 150
    #: Later-epoch throughput: passes are repeated (interleaved) until each pipeline
    #: has run this long, at least ``min_later_passes`` and at most ``max_later_passes``.
    min_later_seconds: float = 2.0
    min_later_passes: int = 3
    max_later_passes: int = 10
    #: Maximum epochs of the two MLP *recipes* (each with its own early stopping):
    #: the lesson's (30) and notebook 02's (60).
    mlp_recipe_epochs: tuple[int, int] = (30, 60)
    #: Dropout of the lesson's "CNN with Dropout" (its code uses 0.1).
    cnn_dropout: float = 0.1
    seed: int = 42
    #: Tests only: run Keras eagerly (skips tf.function tracing; meaningless timings).
    run_eagerly: bool = False
    mode: str = "full"

    @classmethod
    def quick(cls, epochs: int | None = None, mlp_epochs: int | None = None) -> "BenchConfig":
        """Subset of 200/50/100 images per class (train/validation/test), 2 epochs."""
        return cls(per_class={"train": 200, "validation": 50, "test": 100}, epochs=epochs or 2,
                   mlp_epochs=mlp_epochs, min_later_seconds=1.0, mode="quick")

    @classmethod
    def full(cls, epochs: int | None = None, mlp_epochs: int | None = None) -> "BenchConfig":
        """The whole dataset, 5 epochs by default."""
        return cls(epochs=epochs or 5, mlp_epochs=mlp_epochs, mode="full")

    def epochs_for(self, spec: "ModelSpec") -> int:
        """Training epochs of one recipe (the same for both pipelines)."""
        return (self.mlp_epochs or self.epochs) if spec.key == "mlp" else self.epochs


@dataclass
class Row:
    """One line of the table: the same measurement for both pipelines."""

    key: str
    label: str
    unit: str
    legacy: float
    modern: float
    #: The figure that counts: modern/legacy throughput, legacy/modern time, or the
    #: accuracy difference (modern - legacy, in percentage points).
    ratio: float
    ratio_kind: str  # "x" or "pp"
    target: str = ""
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def ratio_text(self) -> str:
        if self.ratio_kind == "pp":
            return f"{self.ratio:+.1f} pp"
        return f"{self.ratio:.2f}x" if self.ratio < 10 else f"{self.ratio:.1f}x"


@dataclass
class BenchResult:
    """Rows plus what is needed to read them (data, settings, machine, wall time)."""

    rows: list[Row]
    meta: dict[str, Any]


@dataclass(frozen=True)
class ModelSpec:
    """One of the lesson's training recipes."""

    key: str
    label: str
    size: str  # "small" or "large"
    augment: bool


MODEL_SPECS = (
    ModelSpec("mlp", "MLP", "small", False),
    ModelSpec("cnn", "CNN", "large", False),
    ModelSpec("cnn_aug", "CNN + Dropout + augmentation", "large", True),
)


def _build_model(spec: ModelSpec, size: int, cfg: BenchConfig) -> tuple[Any, Any]:
    """The lesson's model and optimizer for ``spec`` (MLP: Adam; CNN: Adam 1e-4; augmented: RMSprop 1e-4)."""
    import keras

    from .models import build_cnn, build_mlp

    shape = (size, size, 3)
    if spec.key == "mlp":
        return build_mlp(shape), keras.optimizers.Adam()
    if spec.key == "cnn":
        return build_cnn(shape), keras.optimizers.Adam(learning_rate=1e-4)
    if spec.key == "cnn_aug":
        return build_cnn(shape, dropout=cfg.cnn_dropout), keras.optimizers.RMSprop(learning_rate=1e-4)
    raise ValueError(f"Unknown model {spec.key!r}")


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def make_subset_view(root: str | os.PathLike, dest: str | os.PathLike,
                     per_class: dict[str, int | None]) -> dict[str, int]:
    """Mirror ``root`` in ``dest`` with symlinks to the first N valid images per class.

    Files are chosen by :func:`course_utils.inspection.list_images` (sorted by
    name, undecodable files left out), so the legacy generator and the modern
    loader both read exactly the same images.  Returns the image count per split.
    """
    from .inspection import list_images

    root, dest = Path(root), Path(dest)
    counts: dict[str, int] = {}
    for split in SPLIT_NAMES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            paths, labels, names = list_images(root / split, max_per_class=per_class.get(split))
        for path, label in zip(paths, labels):
            target = dest / split / names[label] / Path(path).name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                target.symlink_to(Path(path).resolve())
            except OSError:  # no symlinks (some Windows setups): copy instead
                shutil.copy2(path, target)
        counts[split] = len(paths)
    return counts


def _warm_file_cache(root: Path) -> None:
    """Read every image once so that neither pipeline pays the first disk read."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            path.read_bytes()


# ---------------------------------------------------------------------------
# Throughput
# ---------------------------------------------------------------------------

def touch(x: Any) -> float:
    """Consume a batch the same way for both pipelines: sum all its pixels."""
    return float(np.asarray(x).sum())


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hide the 'Found N images' prints and library warnings of pipeline construction."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _legacy_train_iterator(root: Path, size: int, augment: bool, cfg: BenchConfig) -> Any:
    from .pipelines import get_generators

    with _quiet():
        train, _, _ = get_generators(root / "train", root / "validation", root / "test", (size, size),
                                     preprocessing_mode="augmenting" if augment else "rescaling",
                                     batch_size=cfg.batch_size, seed=cfg.seed)
    return train


def _modern_train_dataset(root: Path, size: int, augment: bool, cfg: BenchConfig) -> Any:
    from .pipelines import load_split, make_augmentation

    with _quiet():
        aug = make_augmentation(seed=cfg.seed) if augment else None
        return load_split(root / "train", size, cfg.batch_size, shuffle=True, seed=cfg.seed,
                          augment=aug).dataset


def legacy_pass(iterator: Any) -> int:
    """One epoch of a legacy iterator (``len`` batches, then reshuffle, as ``fit`` does)."""
    n = 0
    for i in range(len(iterator)):
        x, _ = iterator[i]
        touch(x)
        n += len(x)
    iterator.on_epoch_end()
    return n


def modern_pass(dataset: Any) -> int:
    """One epoch of a ``tf.data`` dataset."""
    n = 0
    for x, _ in dataset:
        touch(x)
        n += int(x.shape[0])
    return n


def _timed(fn: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - start


def measure_throughput(root: Path, size: int, augment: bool, cfg: BenchConfig) -> list[Row]:
    """Rows "first epoch" and "later epochs" (images/s) for one size and augmentation setting.

    First epoch: building the pipeline (listing, and for the modern loader its file
    check) plus one pass.  Later epochs: the median of further passes, run
    alternately (legacy, modern, legacy, ...) so both see the same machine load.
    """
    aug_txt = "with augmentation" if augment else "no augmentation"
    tag = f"{size}_{'aug' if augment else 'noaug'}"
    first: dict[str, tuple[int, float, float]] = {}
    objs: dict[str, Any] = {}
    builders = {"legacy": (_legacy_train_iterator, legacy_pass),
                "modern": (_modern_train_dataset, modern_pass)}
    for name, (build, run) in builders.items():
        start = time.perf_counter()
        objs[name] = build(root, size, augment, cfg)
        setup = time.perf_counter() - start
        n, t = _timed(lambda: run(objs[name]))
        first[name] = (n, setup + t, setup)
    later: dict[str, list[float]] = {"legacy": [], "modern": []}
    spent = {"legacy": 0.0, "modern": 0.0}
    for _ in range(cfg.max_later_passes):
        for name, (_, run) in builders.items():
            if len(later[name]) >= cfg.min_later_passes and spent[name] >= cfg.min_later_seconds:
                continue
            n, t = _timed(lambda: run(objs[name]))
            later[name].append(n / t)
            spent[name] += t
        if all(len(later[k]) >= cfg.min_later_passes and spent[k] >= cfg.min_later_seconds for k in later):
            break
    del objs
    gc.collect()
    images = first["legacy"][0]
    if first["modern"][0] != images:
        raise RuntimeError(f"The pipelines saw different numbers of images: {first['legacy'][0]} "
                           f"vs {first['modern'][0]}")
    fl, fm = images / first["legacy"][1], images / first["modern"][1]
    ll, lm = statistics.median(later["legacy"]), statistics.median(later["modern"])
    label = f"Throughput {size}x{size}, {aug_txt}"
    return [
        Row(f"throughput_{tag}_first", f"{label}, first epoch", "img/s", fl, fm, fm / fl, "x",
            details={"images": images, "seconds_legacy": first["legacy"][1],
                     "seconds_modern": first["modern"][1], "setup_s_legacy": first["legacy"][2],
                     "setup_s_modern": first["modern"][2]}),
        Row(f"throughput_{tag}_later", f"{label}, later epochs (cached)", "img/s", ll, lm, lm / ll, "x",
            details={"images": images, "passes_legacy": later["legacy"], "passes_modern": later["modern"]}),
    ]


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------

def _fit_legacy(model: Any, root: Path, size: int, augment: bool, epochs: int,
                cfg: BenchConfig) -> dict[str, float]:
    """The lesson's recipe: generators, ``steps_per_epoch = samples // batch``, validation each epoch."""
    from .pipelines import get_generators

    start, cpu = time.perf_counter(), time.process_time()
    with _quiet():
        train, val, test = get_generators(root / "train", root / "validation", root / "test", (size, size),
                                          preprocessing_mode="augmenting" if augment else "rescaling",
                                          batch_size=cfg.batch_size, seed=cfg.seed)
    setup = time.perf_counter() - start
    with _quiet():
        model.fit(train, steps_per_epoch=max(1, train.samples // train.batch_size), epochs=epochs,
                  validation_data=val, validation_steps=max(1, val.samples // val.batch_size), verbose=0)
    train_time, cpu = time.perf_counter() - start, time.process_time() - cpu
    t0 = time.perf_counter()
    test.reset()
    with _quiet():
        acc = model.evaluate(test, verbose=0, return_dict=True)["accuracy"]
    return {"setup_s": setup, "time_s": train_time, "cpu_s": cpu, "eval_s": time.perf_counter() - t0,
            "accuracy": float(acc), "test_images": int(test.samples)}


def _fit_modern(model: Any, root: Path, size: int, augment: bool, epochs: int,
                cfg: BenchConfig) -> dict[str, float]:
    """The course's loaders (checked file list, decode once, cache, prefetch), same epochs."""
    from .pipelines import load_datasets, make_augmentation

    start, cpu = time.perf_counter(), time.process_time()
    with _quiet():
        ds = load_datasets(root, size, cfg.batch_size, seed=cfg.seed,
                           augment=make_augmentation(seed=cfg.seed) if augment else None)
    setup = time.perf_counter() - start
    with _quiet():
        model.fit(ds["train"].dataset, epochs=epochs, validation_data=ds["validation"].dataset, verbose=0)
    train_time, cpu = time.perf_counter() - start, time.process_time() - cpu
    t0 = time.perf_counter()
    with _quiet():
        acc = model.evaluate(ds["test"].dataset, verbose=0, return_dict=True)["accuracy"]
    return {"setup_s": setup, "time_s": train_time, "cpu_s": cpu, "eval_s": time.perf_counter() - t0,
            "accuracy": float(acc), "test_images": len(ds["test"])}


def train_and_evaluate(spec: ModelSpec, pipeline: str, root: Path, cfg: BenchConfig) -> dict[str, float]:
    """Build ``spec``'s model from a fixed seed, train it with ``pipeline`` and test it.

    ``time_s`` is the wall time a student waits: building the pipelines plus
    ``fit`` (with the per-epoch validation of the lesson); ``cpu_s`` the process
    CPU time of the same span (less sensitive to other jobs on the machine);
    test evaluation is timed separately (``eval_s``).
    """
    import keras

    size = cfg.small_size if spec.size == "small" else cfg.large_size
    keras.backend.clear_session()
    keras.utils.set_random_seed(cfg.seed)  # same initial weights for both pipelines
    model, optimizer = _build_model(spec, size, cfg)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"],
                  run_eagerly=cfg.run_eagerly)
    fit = _fit_legacy if pipeline == "legacy" else _fit_modern
    out = fit(model, root, size, spec.augment, cfg.epochs_for(spec), cfg)
    del model
    gc.collect()
    return out


def measure_training(spec: ModelSpec, root: Path, cfg: BenchConfig) -> list[Row]:
    """Rows "training time" (legacy/modern) and "test accuracy" (difference) for one recipe."""
    size = cfg.small_size if spec.size == "small" else cfg.large_size
    legacy = train_and_evaluate(spec, "legacy", root, cfg)
    modern = train_and_evaluate(spec, "modern", root, cfg)
    label = f"{spec.label} {size}x{size}"
    epochs = cfg.epochs_for(spec)
    return [
        Row(f"train_{spec.key}_time", f"{label}: training time, {epochs} epoch{'s' * (epochs != 1)}", "s",
            legacy["time_s"], modern["time_s"], legacy["time_s"] / modern["time_s"], "x",
            details={"legacy": legacy, "modern": modern}),
        Row(f"train_{spec.key}_accuracy", f"{label}: test accuracy", "%",
            100 * legacy["accuracy"], 100 * modern["accuracy"],
            100 * (modern["accuracy"] - legacy["accuracy"]), "pp",
            details={"test_images": legacy["test_images"]}),
    ]


def _mlp_callbacks(patience: int, lr_patience: int) -> list[Any]:
    import keras

    return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=lr_patience, min_lr=1e-5)]


def measure_mlp_recipe(root: Path, cfg: BenchConfig) -> list[Row]:
    """The whole MLP recipe of each side, as a student runs it, until its early stopping ends it.

    Original (the lesson): ``ImageDataGenerator``, batch 20, Adam 1e-3, EarlyStopping
    patience 5, ReduceLROnPlateau patience 4, at most 30 epochs.  Course (notebook 02):
    ``course_utils`` loader (decode once, cache), batch 64, Adam 3e-4, patience 8 and 6,
    at most 60 epochs.  Wall time covers building the pipelines and ``fit``.
    """
    import keras

    from .models import build_mlp
    from .pipelines import get_generators, load_datasets

    size = cfg.small_size
    out = {}
    for side in ("legacy", "modern"):
        keras.backend.clear_session()
        keras.utils.set_random_seed(cfg.seed)
        model = build_mlp((size, size, 3))
        start, cpu = time.perf_counter(), time.process_time()
        with _quiet():
            if side == "legacy":
                model.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy",
                              metrics=["accuracy"], run_eagerly=cfg.run_eagerly)
                train, val, test = get_generators(root / "train", root / "validation", root / "test",
                                                  (size, size), batch_size=20, seed=cfg.seed)
                hist = model.fit(train, steps_per_epoch=max(1, train.samples // train.batch_size),
                                 epochs=cfg.mlp_recipe_epochs[0], validation_data=val,
                                 validation_steps=max(1, val.samples // val.batch_size),
                                 callbacks=_mlp_callbacks(5, 4), verbose=0)
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                test.reset()
                acc = model.evaluate(test, verbose=0, return_dict=True)["accuracy"]
            else:
                model.compile(optimizer=keras.optimizers.Adam(3e-4), loss="binary_crossentropy",
                              metrics=["accuracy"], run_eagerly=cfg.run_eagerly)
                ds = load_datasets(root, size, 64, seed=cfg.seed)
                hist = model.fit(ds["train"].dataset, epochs=cfg.mlp_recipe_epochs[1],
                                 validation_data=ds["validation"].dataset, callbacks=_mlp_callbacks(8, 6),
                                 verbose=0)
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                acc = model.evaluate(ds["test"].dataset, verbose=0, return_dict=True)["accuracy"]
        out[side] = {"time_s": elapsed, "cpu_s": cpu, "accuracy": float(acc),
                     "epochs": len(hist.history["loss"])}
        del model
        gc.collect()
    lg, md = out["legacy"], out["modern"]
    label = f"MLP {size}x{size} recipe (original: batch 20, Adam 1e-3, patience 5; course: batch 64, Adam 3e-4, patience 8)"
    return [
        Row("recipe_mlp_time", f"{label}: wall time to early stop ({lg['epochs']} vs {md['epochs']} epochs)", "s",
            lg["time_s"], md["time_s"], lg["time_s"] / md["time_s"], "x", details=out),
        Row("recipe_mlp_accuracy", f"{label}: test accuracy", "%", 100 * lg["accuracy"], 100 * md["accuracy"],
            100 * (md["accuracy"] - lg["accuracy"]), "pp"),
    ]


# ---------------------------------------------------------------------------
# Whole run, targets and report
# ---------------------------------------------------------------------------

def expected_keys(cfg: BenchConfig) -> list[str]:
    """Keys of every row :func:`run_benchmark` produces, in table order."""
    keys = []
    for size in (cfg.small_size, cfg.large_size):
        for aug in ("noaug", "aug"):
            keys += [f"throughput_{size}_{aug}_first", f"throughput_{size}_{aug}_later"]
    for spec in MODEL_SPECS:
        keys += [f"train_{spec.key}_time", f"train_{spec.key}_accuracy"]
    return keys + ["recipe_mlp_time", "recipe_mlp_accuracy"]


def apply_targets(rows: list[Row], cfg: BenchConfig) -> None:
    """Mark the rows that carry the project's targets (and whether they are met)."""
    by_key = {r.key: r for r in rows}
    cached = by_key.get(f"throughput_{cfg.large_size}_noaug_later")
    if cached:
        cached.target, cached.met = ">= 20x", cached.ratio >= 20
    mlp_time, mlp_acc = by_key.get("recipe_mlp_time"), by_key.get("recipe_mlp_accuracy")
    if mlp_time:
        mlp_time.target, mlp_time.met = ">= 3x (<= 1/3 of the time)", mlp_time.ratio >= 3
    if mlp_acc:
        mlp_acc.target, mlp_acc.met = ">= original", mlp_acc.modern >= mlp_acc.legacy


def _load() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except (OSError, AttributeError):
        return "n/a"


def run_benchmark(data_root: str | os.PathLike, cfg: BenchConfig, *, progress: Progress = print,
                  data_kind: str = "local", data_description: str = "") -> BenchResult:
    """Measure everything on the dataset at ``data_root`` and return the rows.

    The images used are chosen once (``cfg.per_class``) and exposed to both
    pipelines through a temporary folder of symlinks.
    """
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # no retracing notices between the measurement lines
    started = time.perf_counter()
    load_start = _load()
    rows: list[Row] = []
    n_steps = 8 + len(MODEL_SPECS) + 1
    step = 0
    with tempfile.TemporaryDirectory(prefix="course_bench_") as tmp:
        root = Path(tmp) / "data"
        counts = make_subset_view(data_root, root, cfg.per_class)
        _warm_file_cache(root)
        progress(f"Data: {data_root} ({data_kind}); images used: "
                 + ", ".join(f"{s} {counts[s]}" for s in SPLIT_NAMES)
                 + f"; {cfg.epochs} epochs (MLP {cfg.epochs_for(MODEL_SPECS[0])}), batch {cfg.batch_size}; "
                 f"load average {load_start}")
        for size in (cfg.small_size, cfg.large_size):
            for augment in (False, True):
                t0 = time.perf_counter()
                new = measure_throughput(root, size, augment, cfg)
                for r in new:
                    step += 1
                    progress(f"[{step:2d}/{n_steps}] {r.label}: original {r.legacy:,.0f} img/s, "
                             f"course_utils {r.modern:,.0f} img/s -> {r.ratio_text()}"
                             + (f"  ({time.perf_counter() - t0:.1f} s)" if r.key.endswith("later") else ""))
                rows += new
        for spec in MODEL_SPECS:
            t0 = time.perf_counter()
            new = measure_training(spec, root, cfg)
            step += 1
            tr, acc = new
            progress(f"[{step:2d}/{n_steps}] {tr.label}: original {tr.legacy:.1f} s "
                     f"(acc {acc.legacy:.1f}%), course_utils {tr.modern:.1f} s (acc {acc.modern:.1f}%) "
                     f"-> {tr.ratio_text()}  ({time.perf_counter() - t0:.1f} s)")
            rows += new
        t0 = time.perf_counter()
        new = measure_mlp_recipe(root, cfg)
        step += 1
        tr, acc = new
        progress(f"[{step:2d}/{n_steps}] {tr.label}: original {tr.legacy:.1f} s (acc {acc.legacy:.1f}%), "
                 f"course_utils {tr.modern:.1f} s (acc {acc.modern:.1f}%) -> {tr.ratio_text()}  "
                 f"({time.perf_counter() - t0:.1f} s)")
        rows += new
    apply_targets(rows, cfg)
    meta = {
        "mode": cfg.mode, "config": asdict(cfg), "data_root": str(data_root), "data_kind": data_kind,
        "data_description": data_description, "images": counts,
        "wall_time_s": time.perf_counter() - started,
        "load_average_start": load_start, "load_average_end": _load(),
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "tensorflow": tf.__version__, "keras": keras.__version__, "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return BenchResult(rows, meta)


def render_markdown(result: BenchResult) -> str:
    """The table (Markdown), with a short header saying what was measured where."""
    m, cfg = result.meta, result.meta["config"]
    imgs = m["images"]
    lines = [
        "# Benchmark: ImageDataGenerator (lesson) vs course_utils tf.data loaders",
        "",
        f"- Mode: **{m['mode']}**; data: {m['data_kind']} ({m['data_root']}); images used: "
        f"train {imgs['train']}, validation {imgs['validation']}, test {imgs['test']}.",
        f"- Batch size {cfg['batch_size']} for both pipelines; training: {cfg['epochs']} epochs "
        f"(MLP: {cfg['mlp_epochs'] or cfg['epochs']}), same "
        f"builder, optimizer and seed, validation every epoch; time = building the pipelines + fit.",
        "- Throughput: one pass over the training split, each batch summed, no model. First epoch "
        "includes building the pipeline; later epochs: median of interleaved passes.",
        "- Ratio: course_utils/original for throughput, original/course_utils for time "
        "(higher is better for course_utils); accuracy: difference in percentage points.",
        f"- Machine: {m['cpu_count']} CPU cores, load average (1/5/15 min) {m['load_average_start']} "
        f"at start, {m['load_average_end']} at end; TensorFlow {m['tensorflow']}, Keras {m['keras']}; "
        f"{m['date']}. Total wall time {m['wall_time_s']:.0f} s.",
        "",
        "| Measurement | Unit | Original (ImageDataGenerator) | course_utils (tf.data) | Ratio | Target |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in result.rows:
        fmt = (lambda v: f"{v:,.0f}") if r.unit == "img/s" else (lambda v: f"{v:.1f}")
        target = ""
        if r.target:
            target = f"{r.target}: {'MET' if r.met else 'NOT MET'}"
        lines.append(f"| {r.label} | {r.unit} | {fmt(r.legacy)} | {fmt(r.modern)} | "
                     f"{r.ratio_text()} | {target} |")
    return "\n".join(lines) + "\n"


def write_outputs(result: BenchResult, out: str | os.PathLike) -> tuple[Path, Path]:
    """Write the Markdown table to ``out`` and the JSON (every raw number) beside it."""
    md = Path(out)
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(render_markdown(result), encoding="utf-8")
    js = md.with_suffix(".json")
    payload = {"meta": result.meta, "rows": [asdict(r) for r in result.rows]}
    js.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return md, js


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m course_utils.bench", description=__doc__.splitlines()[0])
    p.add_argument("--data", default="auto",
                   help="'auto' (real data via COURSE_DATA_MIRROR/Drive, else synthetic), 'synthetic', "
                        "or a folder/.zip with train/validation/test")
    p.add_argument("--quick", action="store_true",
                   help="subset (200/50/100 images per class for train/validation/test), 2 epochs")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: 2 quick, 5 full)")
    p.add_argument("--mlp-epochs", type=int, default=None,
                   help="epochs of the MLP recipe only (default: --epochs; the lesson uses 30)")
    p.add_argument("--out", default="build/bench.md", help="Markdown output; the JSON goes beside it")
    args = p.parse_args(argv)
    for name in ("epochs", "mlp_epochs"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = _parse(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from .data import get_course_data

    make = BenchConfig.quick if args.quick else BenchConfig.full
    cfg = make(args.epochs, args.mlp_epochs)
    info = get_course_data(args.data, progress=False)
    print(f"Benchmark ({cfg.mode}) on {info.description}", flush=True)
    result = run_benchmark(info.root, cfg, progress=lambda s: print(s, flush=True),
                           data_kind=info.kind, data_description=info.description)
    md, js = write_outputs(result, args.out)
    print()
    print(render_markdown(result))
    print(f"Written: {md} and {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

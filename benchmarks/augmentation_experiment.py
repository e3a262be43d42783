"""Notebook 04's controlled experiment, over several seeds: 03's CNN with and without augmentation + Dropout.

The two arms differ only in what the lesson adds: the moderate augmentation (the
layers of exercise 4.1, inside the model) and ``Dropout(0.5)`` before the dense
layer.  Both use 03's CNN (Conv 32-64-128-128 "valid", Flatten, Dense 512), the same
optimizer and learning rate, image size, batch, initial weights and data path as
notebook 04 (``keras.utils.image_dataset_from_directory`` + ``Rescaling`` + ``cache``
+ ``shuffle`` + ``prefetch``).  What differs is how long each arm trains, decided
by one rule for both: train up to ``--epochs`` epochs, stop when the validation
accuracy has not improved for ``--patience`` epochs, and keep the weights of the
best validation epoch (``EarlyStopping(monitor="val_accuracy", restore_best_weights=True)``,
the callback notebook 04 uses); ``--augmented-epochs`` gives the augmented arm
another ceiling (design trials).  The arm without augmentation learns its 2000
photos by heart in a few epochs and stops early; the augmented one keeps
improving.  Validation is recorded after every epoch; the test split is scored
**once** per run, with the weights of that best validation epoch (``--no-test`` leaves it out: the design trials choose
on validation alone).  Notebook 04 draws its figure and table from the JSON this
writes (``course_utils/recorded/augmentation_experiment_cpu.json``) and never
retrains these models.  Results are written after every run: an interrupted run
keeps what finished, and ``--resume`` skips the (arm, seed) pairs already recorded.
With ``--trial NAME`` the file is a log of design trials, one record per name.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import load_average
from course_utils.config import portable

ROOT = Path(__file__).parents[1]
DEFAULT_OUT = ROOT / "course_utils" / "recorded" / "augmentation_experiment_cpu.json"
ARMS = ("sin_aumento", "con_aumento")


def keras_split(folder: Path, img_size: int, batch_size: int, *, shuffle: bool, seed: int):
    """The data path of notebooks 03 and 04, written with Keras and tf.data only."""
    import keras
    import tensorflow as tf

    rescale = keras.layers.Rescaling(1 / 255)
    ds = keras.utils.image_dataset_from_directory(
        folder, label_mode="binary", image_size=(img_size, img_size), batch_size=None, shuffle=False
    )
    ds = ds.map(lambda x, y: (rescale(x), y), num_parallel_calls=tf.data.AUTOTUNE).cache()
    if shuffle:
        ds = ds.shuffle(4000, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def moderate_augmenter(seed: int):
    """Exercise 4.1's solution: flip, ±18° rotation, 10 % shift, 15 % zoom (the course's moderate strength)."""
    from course_utils.data.loaders import STRENGTHS, make_augmentation

    return make_augmentation(seed, **STRENGTHS["moderate"], name="aumento_moderado")


def build_cnn(img_size: int, augmenter=None, dropout: float = 0.0, learning_rate: float | None = None):
    """03's CNN compiled as in 04, with the augmenter first and Dropout if asked: exercise 4.2's answer."""
    from course_utils.models.networks import AUGMENTATION_LEARNING_RATE, course_build_cnn

    rate = AUGMENTATION_LEARNING_RATE if learning_rate is None else learning_rate
    return course_build_cnn((img_size, img_size, 3), learning_rate=rate)(augmenter=augmenter, dropout=dropout)


class EpochClock:
    """Wall and CPU seconds of each epoch (CPU: this process, every thread), and the load average at its end."""

    def __init__(self):
        import keras

        clock = self

        class _Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                clock._wall, clock._cpu = time.perf_counter(), time.process_time()

            def on_epoch_end(self, epoch, logs=None):
                clock.wall.append(round(time.perf_counter() - clock._wall, 2))
                clock.cpu.append(round(time.process_time() - clock._cpu, 2))
                clock.load.append(load_average())

        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.load: list = []
        self.callback = _Callback()


def run_arm(arm: str, seed: int, args, folders: dict) -> dict:
    """Train one arm with one seed to its best validation epoch; test once, with that epoch's weights."""
    import keras

    from course_utils.start import set_seed

    set_seed(seed)
    train = keras_split(folders["train"], args.img_size, args.batch_size, shuffle=True, seed=seed)
    val = keras_split(folders["validation"], args.img_size, args.batch_size, shuffle=False, seed=seed)
    test = keras_split(folders["test"], args.img_size, args.batch_size, shuffle=False, seed=seed)
    augmented = arm == "con_aumento"
    if augmented:
        model = build_cnn(args.img_size, moderate_augmenter(seed), dropout=0.5, learning_rate=args.learning_rate)
    else:
        model = build_cnn(args.img_size, learning_rate=args.learning_rate)
    epochs = args.augmented_epochs if augmented else args.epochs
    best = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", patience=args.patience or epochs, restore_best_weights=True
    )
    clock = EpochClock()
    load_before = load_average()
    t0, c0 = time.perf_counter(), time.process_time()
    history = model.fit(train, validation_data=val, epochs=epochs, verbose=2, callbacks=[best, clock.callback])
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    val_accuracy = [round(float(v), 4) for v in history.history["val_accuracy"]]
    best_epoch = int(np.argmax(val_accuracy)) + 1  # the first best, as EarlyStopping keeps it
    test_accuracy = None if args.no_test else round(float(model.evaluate(test, verbose=0)[1]), 4)
    return dict(
        arm=arm,
        seed=seed,
        params=int(model.count_params()),
        epochs_budget=epochs,
        epochs_run=len(val_accuracy),
        best_epoch=best_epoch,
        best_val_accuracy=val_accuracy[best_epoch - 1],
        test_accuracy=test_accuracy,
        train_seconds=round(seconds, 1),
        cpu_seconds=round(cpu_seconds, 1),
        epoch_seconds=clock.wall,
        epoch_cpu_seconds=clock.cpu,
        load_average=dict(before=load_before, after=load_average()),
        history={k: [round(float(v), 4) for v in vals] for k, vals in history.history.items()},
    )


def main(argv: list[str] | None = None) -> int:
    from course_utils.models.networks import AUGMENTATION_LEARNING_RATE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50, help="most epochs of each arm (notebook 04's EPOCHS)")
    parser.add_argument(
        "--augmented-epochs",
        type=int,
        default=None,
        help="most epochs of the arm with augmentation (default: --epochs)",
    )
    parser.add_argument(
        "--patience", type=int, default=10, help="stop after this many epochs without a better val_accuracy (0: never)"
    )
    parser.add_argument(
        "--learning-rate", type=float, default=AUGMENTATION_LEARNING_RATE, help="Adam's rate, both arms"
    )
    parser.add_argument("--img-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-per-class", type=int, default=None)
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--data", default="course", help="course, synthetic or a folder")
    parser.add_argument("--precision", default="auto", help="auto (course_utils.hardware), float32, mixed_bfloat16")
    parser.add_argument("--no-test", action="store_true", help="validation only (design trials): no test score")
    parser.add_argument("--trial", default=None, help="a design trial's name: --out is a log of trials by name")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--resume", action="store_true", help="keep the runs already in --out and skip them")
    args = parser.parse_args(argv)
    if args.augmented_epochs is None:
        args.augmented_epochs = args.epochs

    import keras

    from benchmarks.machine import cpu_flags_summary
    from course_utils import hardware
    from course_utils.data import course_data
    from course_utils.data.image_files import split_folder

    precision = hardware.choose_precision().policy if args.precision == "auto" else args.precision
    keras.mixed_precision.set_global_policy(precision)
    course = course_data.get_course_data(args.data)
    folders = {s: split_folder(course.root, s, args.max_per_class) for s in ("train", "validation", "test")}
    out = Path(args.out)
    stored = json.loads(out.read_text()) if out.exists() and (args.resume or args.trial) else {}
    previous = (stored.get("trials", {}).get(args.trial, {}) if args.trial else stored) if args.resume else {}
    record = dict(
        command=portable(
            "python " + " ".join([os.path.relpath(__file__, Path.cwd())] + (argv if argv is not None else sys.argv[1:]))
        ),
        settings=dict(
            epochs={"sin_aumento": args.epochs, "con_aumento": args.augmented_epochs},
            patience=args.patience or None,
            selection="mejor época de validación (val_accuracy), EarlyStopping(restore_best_weights=True)",
            test="no evaluada (ensayo de diseño)" if args.no_test else "una vez, con los pesos de la mejor época",
            img_size=args.img_size,
            batch_size=args.batch_size,
            max_per_class=args.max_per_class,
            data=course.kind,
            precision=precision,
            learning_rate=args.learning_rate,
            optimizer=f"Adam {args.learning_rate:g}",
            augmentation="moderada (ejercicio 4.1) + Dropout 0.5",
        ),
        machine=f"{platform.machine()}, {os.cpu_count()} CPU, {cpu_flags_summary()}",
        keras=keras.__version__,
        started=previous.get("started", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())),
        runs=previous.get("runs", []),
    )
    done = {(r["arm"], r["seed"]) for r in record["runs"]}
    for seed in (int(s) for s in args.seeds.split(",")):
        for arm in (a for a in args.arms.split(",") if a):
            if (arm, seed) in done:
                continue
            run = run_arm(arm, seed, args, folders)
            record["runs"].append(run)
            record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
            if args.trial:
                stored = json.loads(out.read_text()) if out.exists() else {}
                stored.setdefault("trials", {})[args.trial] = record
                _write(out, stored)
            else:
                _write(out, record)
            print(
                f"{arm} seed {seed}: best val {run['best_val_accuracy']} at epoch {run['best_epoch']}"
                f"/{run['epochs_run']}, test {run['test_accuracy']}, {run['train_seconds']:.0f} s"
                f" ({run['cpu_seconds']:.0f} CPU s)",
                flush=True,
            )
    return 0


def _write(out: Path, content: dict) -> None:
    """Write ``content`` as JSON, atomically (a temporary file, then renamed)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(out)


if __name__ == "__main__":
    sys.exit(main())

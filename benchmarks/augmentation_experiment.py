"""Notebook 04's controlled experiment, over several seeds: 03's CNN with and without augmentation + Dropout.

The two arms differ only in what the lesson adds: the moderate augmentation (the
layers of exercise 4.1, inside the model) and ``Dropout(0.5)`` before the dense
layer.  Both use 03's CNN (Conv 32-64-128-128 "valid", Flatten, Dense 512), Adam
1e-4, the same image size, batch, epochs and data path as notebook 04
(``keras.utils.image_dataset_from_directory`` + ``Rescaling`` + ``cache`` +
``shuffle`` + ``prefetch``).  The test split is scored at every epoch of
``--eval-at``, so that one run of ``--epochs`` epochs also gives the result of the
shorter budgets (Adam with a constant rate: the first N epochs of a longer run
are an N-epoch run).  Notebook 04 draws its figure from the JSON this writes
(``course_utils/recorded/augmentation_experiment_cpu.json``) and never retrains
these models.  Results are written after every run: an interrupted run keeps what
finished, and ``--resume`` skips the (arm, seed) pairs already recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

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


def build_cnn(img_size: int, augmenter=None, dropout: float = 0.0):
    """03's CNN compiled as in 03, with the augmenter first and Dropout if asked: exercise 4.2's answer."""
    from course_utils.models.networks import build_cnn as lesson_cnn

    return lesson_cnn((img_size, img_size, 3), dropout, augmenter=augmenter, compile=True)


def run_arm(arm: str, seed: int, args, folders: dict) -> dict:
    """Train one arm with one seed; test accuracy at every epoch of ``--eval-at``."""
    import keras

    from course_utils.start import set_seed

    set_seed(seed)
    train = keras_split(folders["train"], args.img_size, args.batch_size, shuffle=True, seed=seed)
    val = keras_split(folders["validation"], args.img_size, args.batch_size, shuffle=False, seed=seed)
    test = keras_split(folders["test"], args.img_size, args.batch_size, shuffle=False, seed=seed)
    if arm == "con_aumento":
        model = build_cnn(args.img_size, moderate_augmenter(seed), dropout=0.5)
    else:
        model = build_cnn(args.img_size)
    eval_at = {int(e) for e in args.eval_at.split(",") if e} | {args.epochs}
    test_at: dict[str, float] = {}

    def score(epoch, logs):
        if epoch + 1 in eval_at:
            test_at[str(epoch + 1)] = round(float(model.evaluate(test, verbose=0)[1]), 4)

    t0 = time.perf_counter()
    history = model.fit(
        train,
        validation_data=val,
        epochs=args.epochs,
        verbose=2,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=score)],
    )
    seconds = time.perf_counter() - t0
    return dict(
        arm=arm,
        seed=seed,
        params=int(model.count_params()),
        train_seconds=round(seconds, 1),
        test_accuracy_at=test_at,
        history={k: [round(float(v), 4) for v in vals] for k, vals in history.history.items()},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--eval-at", default="12", help="epochs at which the test split is also scored")
    parser.add_argument("--img-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-per-class", type=int, default=None)
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--data", default="course", help="course, synthetic or a folder")
    parser.add_argument("--precision", default="auto", help="auto (course_utils.hardware), float32, mixed_bfloat16")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--resume", action="store_true", help="keep the runs already in --out and skip them")
    args = parser.parse_args(argv)

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
    previous = json.loads(out.read_text()) if args.resume and out.exists() else {}
    record = dict(
        command=portable(
            "python " + " ".join([os.path.relpath(__file__, Path.cwd())] + (argv if argv is not None else sys.argv[1:]))
        ),
        settings=dict(
            epochs=args.epochs,
            eval_at=sorted({int(e) for e in args.eval_at.split(",") if e} | {args.epochs}),
            img_size=args.img_size,
            batch_size=args.batch_size,
            max_per_class=args.max_per_class,
            data=course.kind,
            precision=precision,
            optimizer="Adam 1e-4",
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
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
            tmp.replace(out)
            print(f"{arm} seed {seed}: test {run['test_accuracy_at']} in {run['train_seconds']:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

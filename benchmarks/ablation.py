"""Ablation of notebook 04 and the search for a better from-scratch CNN (issue 13, target 1).

Run once on the real data (``make ablation``); notebook 04 draws its figure from the
JSON this writes (``course_utils/recorded/ablation_04_cpu.json``, shipped with
the package so that the notebook finds it in Colab too) and never retrains these models.

**Ablation** (``--steps``): each step adds one change to the previous one:

0. ``original``: the lesson's CNN (Conv 32-64-128-128, Flatten, Dropout 0.5, Dense 512),
   RMSprop 1e-4, the lesson's strong augmentation in the pipeline.
1. ``+batchnorm``: BatchNormalization after every convolution (no bias, ReLU after).
2. ``+gap``: GlobalAveragePooling2D instead of Flatten.
3. ``+dense256``: Dense 256 instead of 512.
4. ``+adam_cosine``: Adam with cosine decay from 2e-3 instead of RMSprop 1e-4.
5. ``+moderate_aug``: the moderate augmentation instead of the lesson's strong one
   (this is notebook 04's improved recipe).
6. ``+early_stopping``: the weights of the best validation epoch of step 5 (no new run:
   the best weights are kept while step 5 trains, as ``EarlyStopping(restore_best_weights=True)``
   would).

**Variants** (``--variants``, written to ``--variants-out``): the improved recipe with
changes that might buy accuracy per CPU second, each trained with every seed of
``--seeds``.  A variant's model is the one of its best validation epoch; it is chosen on
the validation split, and the test split gives the final number.  Every model is
also scored with test-time flip (the mean of the prediction on the image and on its
mirror image), on validation and test.

Results are written after every run, so an interrupted run keeps what finished.
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

STEPS = ("original", "+batchnorm", "+gap", "+dense256", "+adam_cosine", "+moderate_aug")
STRONG = dict(rotation=40 / 360, shift=0.2, zoom=0.2, shear=0.2)
MODERATE = dict(rotation=0.05, shift=0.1, zoom=0.15, shear=0.0)
#: The improved recipe's settings (step ``+moderate_aug``).
IMPROVED = dict(
    batchnorm=True,
    gap=True,
    dense_units=256,
    optimizer="adam_cosine",
    augmentation="moderate",
    widths=(32, 64, 128, 128),
    padding="valid",
    bn_momentum=0.99,
    label_smoothing=0.0,
    learning_rate=2e-3,
)
#: Variants of the improved recipe tried for a better from-scratch model (overrides of IMPROVED).
VARIANTS: dict[str, dict] = {
    "improved": {},
    "bn_momentum_0.9": dict(bn_momentum=0.9),
    "bn0.9+label_smoothing": dict(bn_momentum=0.9, label_smoothing=0.1),
    "wide_same_5blocks": dict(widths=(32, 64, 128, 256, 256), padding="same", bn_momentum=0.9),
}
ROOT = Path(__file__).parents[1]
DEFAULT_OUT = ROOT / "course_utils" / "recorded" / "ablation_04_cpu.json"
DEFAULT_VARIANTS_OUT = ROOT / "benchmarks" / "results" / "from_scratch_cpu.json"


def config_for(step: str) -> dict:
    """The cumulative settings of ablation ``step``."""
    order = STEPS.index(step)
    return dict(
        IMPROVED,
        batchnorm=order >= 1,
        gap=order >= 2,
        dense_units=256 if order >= 3 else 512,
        optimizer="adam_cosine" if order >= 4 else "rmsprop",
        augmentation="moderate" if order >= 5 else "strong",
    )


def build(cfg: dict, img_size: int):
    """The CNN of ``cfg`` (float32 output, so that it trains under mixed precision)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(img_size, img_size, 3))
    x = inputs
    for i, filters in enumerate(cfg["widths"], start=1):
        if cfg["batchnorm"]:
            x = layers.Conv2D(filters, 3, padding=cfg["padding"], use_bias=False, name=f"conv{i}")(x)
            x = layers.BatchNormalization(momentum=cfg["bn_momentum"], name=f"bn{i}")(x)
            x = layers.ReLU(name=f"relu{i}")(x)
        else:
            x = layers.Conv2D(filters, 3, padding=cfg["padding"], activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(name=f"pool{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x) if cfg["gap"] else layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    x = layers.Dense(cfg["dense_units"], activation="relu", name="dense")(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs)


def scores(model, split) -> dict:
    """Accuracy on ``split`` (unshuffled), plain and with test-time flip."""
    import numpy as np
    import tensorflow as tf

    plain, flipped = [], []
    for x, _ in split.dataset:
        plain.append(np.asarray(model(x, training=False), dtype="float32").ravel())
        flipped.append(np.asarray(model(tf.reverse(x, axis=[2]), training=False), dtype="float32").ravel())
    p, f = np.concatenate(plain), np.concatenate(flipped)
    y = split.labels
    return dict(accuracy=float(np.mean((p > 0.5) == y)), flip_accuracy=float(np.mean(((p + f) / 2 > 0.5) == y)))


def train(cfg: dict, args, course, splits, seed: int) -> dict:
    """Train ``cfg`` once; the final and the best-validation model's scores."""
    import keras

    from course_utils import pipelines
    from course_utils.setup import set_seed

    set_seed(seed)
    augment = pipelines.make_augmentation(seed=seed, **(STRONG if cfg["augmentation"] == "strong" else MODERATE))
    train_split = pipelines.load_split(
        course.root / "train",
        args.img_size,
        args.batch_size,
        max_per_class=args.max_per_class,
        shuffle=True,
        seed=seed,
        augment=augment,
    )
    model = build(cfg, args.img_size)
    if cfg["optimizer"] == "rmsprop":
        optimizer = keras.optimizers.RMSprop(learning_rate=1e-4)
    else:
        schedule = keras.optimizers.schedules.CosineDecay(cfg["learning_rate"], args.epochs * len(train_split.dataset))
        optimizer = keras.optimizers.Adam(learning_rate=schedule)
    loss = keras.losses.BinaryCrossentropy(label_smoothing=cfg["label_smoothing"])
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    best = {"val": -1.0, "weights": None, "epoch": 0}
    keep_best = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs, best=best, model=model: (
            best.update(val=float(logs["val_accuracy"]), weights=model.get_weights(), epoch=epoch + 1)
            if logs["val_accuracy"] > best["val"]
            else None
        )
    )
    t0 = time.perf_counter()
    history = model.fit(
        train_split.dataset,
        validation_data=splits["validation"].dataset,
        epochs=args.epochs,
        callbacks=[keep_best],
        verbose=2,
    )
    seconds = time.perf_counter() - t0
    final = {name: scores(model, splits[name]) for name in ("validation", "test")}
    model.set_weights(best["weights"])
    at_best = {name: scores(model, splits[name]) for name in ("validation", "test")}
    return dict(
        seed=seed,
        params=int(model.count_params()),
        train_seconds=round(seconds, 1),
        best_epoch=best["epoch"],
        final=final,
        best=at_best,
        history={k: [round(float(v), 4) for v in vals] for k, vals in history.history.items()},
        model=model,
    )


def _write(path: Path, record: dict) -> None:
    record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--img-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-per-class", type=int, default=None)
    parser.add_argument("--steps", default=",".join(STEPS), help="ablation steps ('' for none)")
    parser.add_argument("--variants", default="", help=f"variants to train: {', '.join(VARIANTS)}")
    parser.add_argument("--seeds", default="42", help="seeds of each variant, comma-separated")
    parser.add_argument("--data", default="course", help="course, synthetic or a folder")
    parser.add_argument("--precision", default="auto", help="auto (course_utils.hardware), float32, mixed_bfloat16")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--variants-out", default=str(DEFAULT_VARIANTS_OUT))
    parser.add_argument("--seed", type=int, default=42, help="seed of the ablation steps")
    parser.add_argument(
        "--save-model", default=None, help="save the model of the last step (the improved recipe) to this .keras file"
    )
    args = parser.parse_args(argv)

    import keras

    from course_utils import data, hardware, pipelines

    precision = hardware.choose_precision().policy if args.precision == "auto" else args.precision
    keras.mixed_precision.set_global_policy(precision)
    course = data.get_course_data(args.data)
    head = dict(
        command=portable(
            "python " + " ".join([os.path.relpath(__file__, Path.cwd())] + (argv if argv is not None else sys.argv[1:]))
        ),
        settings=dict(
            epochs=args.epochs,
            img_size=args.img_size,
            batch_size=args.batch_size,
            max_per_class=args.max_per_class,
            seed=args.seed,
            data=course.kind,
            precision=precision,
        ),
        machine=f"{platform.machine()}, {os.cpu_count()} CPU",
        keras=keras.__version__,
        started=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    )
    splits = pipelines.load_datasets(
        course.root,
        args.img_size,
        args.batch_size,
        max_per_class=args.max_per_class,
        seed=args.seed,
        splits=("validation", "test"),
    )
    steps = [s for s in args.steps.split(",") if s]
    record = dict(head, steps=[])
    order = STEPS + ("+early_stopping",)
    for step in steps:
        cfg = config_for(step)
        run = train(cfg, args, course, splits, args.seed)
        model = run.pop("model")
        record["steps"].append(
            dict(
                step=step,
                config=cfg,
                params=run["params"],
                test_accuracy=run["final"]["test"]["accuracy"],
                val_accuracy=run["final"]["validation"]["accuracy"],
                train_seconds=run["train_seconds"],
                history=run["history"],
            )
        )
        if step == STEPS[-1]:
            if args.save_model:
                model.save(args.save_model)
            record["steps"].append(
                dict(
                    step="+early_stopping",
                    config=dict(cfg, best_epoch=run["best_epoch"]),
                    params=run["params"],
                    test_accuracy=run["best"]["test"]["accuracy"],
                    val_accuracy=run["best"]["validation"]["accuracy"],
                    train_seconds=0.0,
                    history=run["history"],
                )
            )
        record["steps"].sort(key=lambda r: order.index(r["step"]))
        _write(Path(args.out), record)
        print(
            f"{step}: test accuracy {run['final']['test']['accuracy']:.3f} in {run['train_seconds']:.0f} s", flush=True
        )

    variants = [v for v in args.variants.split(",") if v]
    if variants:
        out = Path(args.variants_out)
        previous = json.loads(out.read_text()) if out.exists() else {}
        vrecord = dict(head, runs=previous.get("runs", []))
        for name in variants:
            cfg = dict(IMPROVED, **VARIANTS[name])
            for seed in (int(s) for s in args.seeds.split(",")):
                run = train(cfg, args, course, splits, seed)
                run.pop("model")
                vrecord["runs"].append(
                    dict(variant=name, config=cfg, settings=head["settings"], command=head["command"], **run)
                )
                _write(out, vrecord)
                b = run["best"]
                print(
                    f"{name} seed {seed}: val {b['validation']['accuracy']:.3f} (flip {b['validation']['flip_accuracy']:.3f})"
                    f" test {b['test']['accuracy']:.3f} (flip {b['test']['flip_accuracy']:.3f}) in {run['train_seconds']:.0f} s",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())

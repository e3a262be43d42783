"""Ablation of notebook 04: from the lesson's recipe to the improved one, one change at a time.

Run once on the real data (``make ablation``); notebook 04 draws its figure from the
JSON this writes (``course_utils/recorded/ablation_04_cpu.json``, shipped with
the package so that the notebook finds it in Colab too) and never retrains these models.

Each step adds one change to the previous one:

0. ``original``: the lesson's CNN (Conv 32-64-128-128, Flatten, Dropout 0.5, Dense 512),
   RMSprop 1e-4, the lesson's strong augmentation in the pipeline.
1. ``+batchnorm``: BatchNormalization after every convolution (no bias, ReLU after).
2. ``+gap``: GlobalAveragePooling2D instead of Flatten.
3. ``+dense256``: Dense 256 instead of 512.
4. ``+adam_cosine``: Adam with cosine decay from 2e-3 instead of RMSprop 1e-4.
5. ``+moderate_aug``: the moderate augmentation instead of the lesson's strong one.
6. ``+early_stopping``: the weights of the best validation epoch of step 5 (no new run:
   the best weights are kept while step 5 trains, as ``EarlyStopping(restore_best_weights=True)``
   would).

Results are written after every step, so an interrupted run keeps what finished.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

STEPS = ("original", "+batchnorm", "+gap", "+dense256", "+adam_cosine", "+moderate_aug")
STRONG = dict(rotation=40 / 360, shift=0.2, zoom=0.2, shear=0.2)
MODERATE = dict(rotation=0.05, shift=0.1, zoom=0.15, shear=0.0)


def config_for(step: str) -> dict:
    """The cumulative settings of ``step``."""
    order = STEPS.index(step)
    return dict(
        batchnorm=order >= 1,
        gap=order >= 2,
        dense_units=256 if order >= 3 else 512,
        optimizer="adam_cosine" if order >= 4 else "rmsprop",
        augmentation="moderate" if order >= 5 else "strong",
    )


def build(cfg: dict, img_size: int):
    import keras
    from keras import layers

    inputs = keras.Input(shape=(img_size, img_size, 3))
    x = inputs
    for i, filters in enumerate((32, 64, 128, 128), start=1):
        if cfg["batchnorm"]:
            x = layers.Conv2D(filters, 3, use_bias=False, name=f"conv{i}")(x)
            x = layers.BatchNormalization(name=f"bn{i}")(x)
            x = layers.ReLU(name=f"relu{i}")(x)
        else:
            x = layers.Conv2D(filters, 3, activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(name=f"pool{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x) if cfg["gap"] else layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    x = layers.Dense(cfg["dense_units"], activation="relu", name="dense")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="output")(x)
    return keras.Model(inputs, outputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--img-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-per-class", type=int, default=None)
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--data", default="course", help="course, synthetic or a folder")
    parser.add_argument(
        "--out", default=str(Path(__file__).parents[1] / "course_utils" / "recorded" / "ablation_04_cpu.json")
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--save-model", default=None, help="save the model of the last step (the improved recipe) to this .keras file"
    )
    args = parser.parse_args(argv)

    import keras

    from course_utils import data, pipelines
    from course_utils.setup import set_seed

    course = data.get_course_data(args.data)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "command": "python "
        + " ".join([os.path.relpath(__file__, Path.cwd())] + (argv if argv is not None else sys.argv[1:])),
        "settings": dict(
            epochs=args.epochs,
            img_size=args.img_size,
            batch_size=args.batch_size,
            max_per_class=args.max_per_class,
            seed=args.seed,
            data=course.kind,
        ),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU, shared with other jobs",
        "keras": keras.__version__,
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "steps": [],
    }
    splits = pipelines.load_datasets(
        course.root,
        args.img_size,
        args.batch_size,
        max_per_class=args.max_per_class,
        seed=args.seed,
        splits=("validation", "test"),
    )
    for step in args.steps.split(","):
        cfg = config_for(step)
        set_seed(args.seed)
        augment = pipelines.make_augmentation(
            seed=args.seed, **(STRONG if cfg["augmentation"] == "strong" else MODERATE)
        )
        train = pipelines.load_split(
            course.root / "train",
            args.img_size,
            args.batch_size,
            max_per_class=args.max_per_class,
            shuffle=True,
            seed=args.seed,
            augment=augment,
        )
        model = build(cfg, args.img_size)
        if cfg["optimizer"] == "rmsprop":
            optimizer = keras.optimizers.RMSprop(learning_rate=1e-4)
        else:
            schedule = keras.optimizers.schedules.CosineDecay(2e-3, args.epochs * len(train.dataset))
            optimizer = keras.optimizers.Adam(learning_rate=schedule)
        model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
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
            train.dataset,
            validation_data=splits["validation"].dataset,
            epochs=args.epochs,
            callbacks=[keep_best],
            verbose=2,
        )
        seconds = time.perf_counter() - t0
        _, test_acc = model.evaluate(splits["test"].dataset, verbose=0)
        h = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        record["steps"].append(
            dict(
                step=step,
                config=cfg,
                params=int(model.count_params()),
                test_accuracy=float(test_acc),
                train_seconds=round(seconds, 1),
                history=h,
            )
        )
        if step == STEPS[-1] and args.save_model:
            model.save(args.save_model)
        if step == STEPS[-1]:
            model.set_weights(best["weights"])
            _, best_acc = model.evaluate(splits["test"].dataset, verbose=0)
            record["steps"].append(
                dict(
                    step="+early_stopping",
                    config=dict(cfg, best_epoch=best["epoch"]),
                    params=int(model.count_params()),
                    test_accuracy=float(best_acc),
                    train_seconds=0.0,
                    history=h,
                )
            )
        record["steps"].sort(key=lambda r: (STEPS + ("+early_stopping",)).index(r["step"]))
        record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"{step}: test accuracy {test_acc:.3f} in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cost of one training epoch of notebook 05's network per image size and setting (issue 33).

Trains the cpu recipe's network (``res_s2`` of :mod:`benchmarks.ablation`, built for any image
size) on random images for a few batches per setting and reports, per training image and per
2,000-image epoch, wall and CPU seconds (all threads of this process; under load, CPU seconds
over the number of free cores estimates the wall time of an idle machine).  Also the cost of
scoring the 1,000 validation images once, which every validated epoch pays.

``python benchmarks/epoch_speed.py --sizes 64,80,96,112,128 --batch-sizes 32,64 --precision float32``;
``--jit`` adds each setting with ``jit_compile=True``.  ``--augmentation none,tfdata,model``
measures the moderate augmentation (notebook 05's Keras layers) in each place: mapped over the
``tf.data`` pipeline (with ``AUTOTUNE`` and ``prefetch``) or as the model's first layers.  Thread
settings are taken from the environment (``TF_NUM_INTRAOP_THREADS``, ``TF_NUM_INTEROP_THREADS``),
recorded with the result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TRAIN_IMAGES, VAL_IMAGES = 2000, 1000


#: Where the moderate augmentation runs: nowhere, mapped over the tf.data pipeline, or in the model.
AUGMENTATION_PLACES = ("none", "tfdata", "model")


def measure(size: int, batch_size: int, *, jit: bool, steps: int, repeats: int, augmentation: str = "none") -> dict:
    """Seconds per training image and per validation image of res_s2 at ``size`` (median of ``repeats``)."""
    import statistics

    import keras
    import numpy as np
    import tensorflow as tf

    from benchmarks.ablation import VARIANTS, build
    from benchmarks.scratch_models import optimizer_for
    from course_utils.data.loaders import STRENGTHS, make_augmentation

    if augmentation not in AUGMENTATION_PLACES:
        raise ValueError(f"--augmentation {augmentation!r}: usa {', '.join(AUGMENTATION_PLACES)}")
    cfg = dict(VARIANTS["res_s2"])
    keras.backend.clear_session()
    model = build(cfg, None)
    augmenter = make_augmentation(seed=0, **STRENGTHS["moderate"]) if augmentation != "none" else None
    if augmentation == "model":
        inputs = keras.Input(shape=(size, size, 3))
        model = keras.Model(inputs, model(augmenter(inputs)))
    model.compile(
        optimizer=optimizer_for(cfg, steps, 10),
        loss=keras.losses.BinaryCrossentropy(label_smoothing=0.1),
        metrics=["accuracy"],
        jit_compile=jit,
    )
    rng = np.random.default_rng(0)
    x = rng.random((batch_size * steps, size, size, 3), dtype=np.float32)
    y = rng.integers(0, 2, (batch_size * steps, 1)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).cache()
    train_ds = ds
    if augmentation == "tfdata":  # as notebook 05 does: the Keras layers mapped over the batches
        train_ds = ds.map(lambda a, b: (augmenter(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
        train_ds = train_ds.prefetch(tf.data.AUTOTUNE)
    model.fit(train_ds.take(2), epochs=1, verbose=0)  # trace and warm up
    model.evaluate(ds.take(2), verbose=0)
    train, infer = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(train_ds, epochs=1, verbose=0)
        t1, c1 = time.perf_counter(), time.process_time()
        model.evaluate(ds, verbose=0)
        t2, c2 = time.perf_counter(), time.process_time()
        n = batch_size * steps
        train.append(((t1 - t0) / n, (c1 - c0) / n))
        infer.append(((t2 - t1) / n, (c2 - c1) / n))
    wall, cpu = statistics.median(t for t, _ in train), statistics.median(c for _, c in train)
    iwall, icpu = statistics.median(t for t, _ in infer), statistics.median(c for _, c in infer)
    return dict(
        size=size,
        batch_size=batch_size,
        jit_compile=jit,
        augmentation=augmentation,
        train_epoch_wall=round(wall * TRAIN_IMAGES, 2),
        train_epoch_cpu=round(cpu * TRAIN_IMAGES, 2),
        validation_wall=round(iwall * VAL_IMAGES, 2),
        validation_cpu=round(icpu * VAL_IMAGES, 2),
        load=os.getloadavg(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,80,96,112,128")
    parser.add_argument("--batch-sizes", default="32")
    parser.add_argument("--jit", action="store_true", help="also measure each setting with jit_compile=True")
    parser.add_argument("--steps", type=int, default=8, help="batches per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--augmentation", default="none", help=f"comma-separated, of {', '.join(AUGMENTATION_PLACES)}")
    parser.add_argument("--out", default=None, help="append the result to this JSON file")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from benchmarks.machine import cpu_flags_summary
    from course_utils.config import portable

    keras.mixed_precision.set_global_policy(args.precision)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            for jit in (False, True) if args.jit else (False,):
                for place in args.augmentation.split(","):
                    row = measure(size, batch, jit=jit, steps=args.steps, repeats=args.repeats, augmentation=place)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    record = dict(
        command=portable("python " + " ".join([os.path.relpath(__file__, Path.cwd())] + (argv or sys.argv[1:]))),
        precision=args.precision,
        threads=dict(
            intra_op=os.environ.get("TF_NUM_INTRAOP_THREADS", "default"),
            inter_op=os.environ.get("TF_NUM_INTEROP_THREADS", "default"),
            tf_intra_op=tf.config.threading.get_intra_op_parallelism_threads(),
            tf_inter_op=tf.config.threading.get_inter_op_parallelism_threads(),
        ),
        onednn=os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        cpu_flags=cpu_flags_summary(),
        cpus=os.cpu_count(),
        tensorflow=tf.__version__,
        keras=keras.__version__,
        rows=rows,
        finished=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    )
    if args.out:
        out = Path(args.out)
        previous = json.loads(out.read_text()) if out.exists() else {"measurements": []}
        previous["measurements"].append(record)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(previous, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

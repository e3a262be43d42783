"""Why did most conv4 filter patterns of the lesson CNN look the same?  Measure it.

For a saved lesson CNN (ReLU inside each ``Conv2D``), counts the ``conv4`` filters that are
zero on the grey starting image of the gradient ascent (their gradient is zero, so the old
method left the start noise unchanged), the filters that are zero on every one of
``--images`` test photos (dead in the network), and how many of the first ``--filters``
patterns are identical with the old objective (ReLU output) and with the new one
(pre-activation, :func:`course_utils.visualization.filter_pattern`).  Writes
``benchmarks/results/filter_patterns.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from course_utils.config import portable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--layer", default="conv4")
    parser.add_argument("--filters", type=int, default=8)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "filter_patterns.json"))
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from course_utils import visualization
    from course_utils.data import course_data, loaders
    from course_utils.models import networks

    model = keras.models.load_model(args.model)
    size = int(model.input_shape[1])
    layer = model.get_layer(args.layer)
    extractor = networks.sub_model(model, layer)
    start = np.random.default_rng(42).uniform(0.4, 0.6, (1, size, size, 3)).astype("float32")
    on_start = extractor(start, training=False).numpy()[0].max(axis=(0, 1))
    course = course_data.get_course_data("course")
    test = loaders.load_split(course.root / "test", size, 50, max_per_class=args.images // 2)
    peak = np.zeros(layer.output.shape[-1])
    for x, _ in test.dataset:
        peak = np.maximum(peak, extractor(x, training=False).numpy().max(axis=(0, 1, 2)))

    def old_pattern(f):  # the previous objective: the ReLU output's mean
        img = tf.Variable(start.copy())
        for _ in range(args.steps):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(extractor(img, training=False)[:, 2:-2, 2:-2, f])
            g = tape.gradient(loss, img)
            img.assign_add(10.0 / 255 * g / (tf.sqrt(tf.reduce_mean(tf.square(g))) + 1e-8))
        return img.numpy()[0]

    def distinct(patterns):
        return len({p.tobytes() for p in patterns})

    n = min(args.filters, len(peak))
    old = [np.round(old_pattern(f), 4) for f in range(n)]
    new = [visualization.filter_pattern(model, layer, f, img_size=size, steps=args.steps, seed=42) for f in range(n)]
    record = {
        "command": portable(
            "python " + " ".join([os.path.relpath(__file__, Path.cwd())] + (argv if argv is not None else sys.argv[1:]))
        ),
        "layer": args.layer,
        "filters": int(len(peak)),
        "zero_on_grey_start": int((on_start == 0).sum()),
        "zero_on_grey_start_first_n": int((on_start[:n] == 0).sum()),
        "dead_on_test_photos": int((peak == 0).sum()),
        "test_photos": len(test),
        "first_n": n,
        "distinct_patterns_old_objective": distinct(old),
        "distinct_patterns_pre_activation": distinct(new),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

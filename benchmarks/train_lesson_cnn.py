"""Train the lesson's CNN briefly on the real data and save it (for the measurements of
``preprocessing_paths.py`` and of the filter patterns of notebook 08).

The lesson's architecture (:func:`course_utils.models.networks.build_cnn` with Dropout 0.5), Adam 1e-3,
no augmentation, pixels in [0, 1].  Prints the test accuracy.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help=".keras file to write")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--img-size", type=int, default=96)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    import keras

    from course_utils.data import course_data, loaders
    from course_utils.models import networks
    from course_utils.start import set_seed

    set_seed(args.seed)
    course = course_data.get_course_data("course")
    splits = loaders.load_datasets(course.root, args.img_size, 32, seed=args.seed)
    model = networks.build_cnn((args.img_size, args.img_size, 3), dropout=0.5)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(splits["train"].dataset, validation_data=splits["validation"].dataset, epochs=args.epochs, verbose=2)
    print(f"test accuracy {model.evaluate(splits['test'].dataset, verbose=0)[1]:.3f}")
    model.save(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

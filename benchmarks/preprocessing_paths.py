"""Does a saved model give the same test accuracy whichever way the photos are loaded?

Loads a CNN trained on ``img_size`` px images with pixels in [0, 1] (e.g. the one
``python -m benchmarks ablation --save-model`` saves), wraps it with
:func:`course_utils.models.networks.with_photo_preprocessing` (resizing with antialiasing and
rescaling inside the model) and measures the test accuracy through:

1. ``keras.utils.load_img(path)`` with default arguments, one photo at a time (any size);
2. ``keras.utils.image_dataset_from_directory(test_dir)`` with default arguments (256 x 256);
3. the course loader ``loaders.load_split(..., preprocessing="none")``;

and, for contrast, the bare model fed by ``image_dataset_from_directory(image_size=(s, s))``
plus ``Rescaling(1/255)`` (resizing without antialiasing: the failure the wrapper removes).
Writes ``benchmarks/results/preprocessing_paths.json``.
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
    parser.add_argument("model", help=".keras model that takes [0, 1] pixels at a fixed size")
    parser.add_argument("--data", default="course")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "preprocessing_paths.json"))
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from course_utils.data import course_data, loaders
    from course_utils.models import networks

    course = course_data.get_course_data(args.data)
    test_dir = course.root / "test"
    bare = keras.models.load_model(args.model)
    size = int(bare.input_shape[1])
    photo_model = networks.with_photo_preprocessing(bare)
    results: dict[str, float] = {}
    t0 = time.perf_counter()

    # 1. keras.utils.load_img with default arguments: each photo at its own size.
    split = loaders.load_split(test_dir, size, preprocessing="none", check_files=False)
    correct = 0
    for path, label in zip(split.paths, split.labels, strict=True):
        x = keras.utils.img_to_array(keras.utils.load_img(path))[None]
        correct += int((float(photo_model(x, training=False)[0, 0]) > 0.5) == bool(label))
    results["load_img (por defecto, cada foto a su tamaño)"] = correct / len(split.paths)

    # 2. image_dataset_from_directory with default arguments (256 x 256, bilinear).
    def accuracy(model, ds) -> float:
        labels = np.concatenate([np.asarray(y).reshape(-1) for _, y in ds])
        return float(((model.predict(ds, verbose=0)[:, 0] > 0.5) == labels.astype(bool)).mean())

    ds = keras.utils.image_dataset_from_directory(test_dir, label_mode="binary", shuffle=False)
    results["image_dataset_from_directory (por defecto, 256 px)"] = accuracy(photo_model, ds)

    # 3. The course loader, raw pixels at the training size.
    results[f"loaders.load_split ({size} px, antialias)"] = accuracy(photo_model, split.dataset)

    # Contrast: the bare model, image_dataset_from_directory at the training size, no antialiasing.
    ds_small = keras.utils.image_dataset_from_directory(
        test_dir, label_mode="binary", shuffle=False, image_size=(size, size)
    )
    rescale = keras.layers.Rescaling(1 / 255)
    results[f"sin el envoltorio: image_dataset_from_directory({size} px) + Rescaling"] = accuracy(
        bare, ds_small.map(lambda x, y: (rescale(x), y))
    )

    record = {
        "command": portable(
            "python " + " ".join([os.path.relpath(__file__, Path.cwd())] + (argv if argv is not None else sys.argv[1:]))
        ),
        "model": portable(args.model),
        "img_size": size,
        "data": course.kind,
        "test_images": len(split.paths),
        "test_accuracy": results,
        "seconds": round(time.perf_counter() - t0, 1),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    for name, acc in results.items():
        print(f"{acc:.3f}  {name}")
    return 0 if np.isfinite(list(results.values())).all() else 1


if __name__ == "__main__":
    sys.exit(main())

"""Measure the reason notebook 01 gives for the course loader: seconds per pass over the train split.

``python scripts/loader_speed.py [DATA_ROOT]`` times three passes (epochs) over the course's
train split at 150 px, batches of 32, with ``keras.utils.image_dataset_from_directory`` +
``Rescaling(1/255)`` and with ``course_utils.data.loaders.load_split`` (decoded once, cached),
and writes ``results/loader_speed.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import keras

from course_tools.series import provenance
from course_utils.data import course_data, loaders


def passes(dataset, n: int = 3) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        for x, _y in dataset:
            float(x[0, 0, 0, 0])
        out.append(round(time.perf_counter() - start, 2))
    return out


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else course_data.get_course_data("course").root
    size, batch = 150, 32
    rescale = keras.layers.Rescaling(1 / 255)
    keras_ds = keras.utils.image_dataset_from_directory(
        root / "train", label_mode="binary", image_size=(size, size), batch_size=batch, seed=42
    )
    keras_ds = keras_ds.map(lambda x, y: (rescale(x), y))
    split = loaders.load_split(root / "train", size, batch, shuffle=True)
    course = split.dataset
    result = {
        "img_size": size,
        "batch_size": batch,
        "n_images": len(split),
        "seconds_per_pass": {
            "image_dataset_from_directory + Rescaling": passes(keras_ds),
            "loaders.load_split (caché)": passes(course),
        },
        "recorded": provenance("python scripts/loader_speed.py"),
    }
    out = Path(__file__).resolve().parents[1] / "results" / "loader_speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""How do the course's saved models do on cat and dog photos from another source?

Evaluates a ``.keras`` model that a notebook saved (03's CNN, 05's residual network, a
transfer model...) on the photo set of ``data/other_source_photos.json`` (Oxford-IIIT Pet
photos, fetched into the course cache by :func:`course_utils.data.photo_sets.fetch_photo_set`) and,
for comparison, on the test split of the course's own data, through both loaders of the course:

1. ``keras.utils.image_dataset_from_directory`` (bilinear resizing, no antialiasing) plus
   ``Rescaling(1/255)``, as notebooks 03 and 04 load;
2. the course loader ``course_utils.data.loaders.load_split`` (antialiased resizing), as 05 and 07 load.

Which pixels a model takes is read from the model (:func:`pixel_range`): a model with a
``Rescaling`` layer anywhere inside (05's photo model, an EfficientNet) takes raw [0, 255]
pixels, any other one the [0, 1] pixels of the notebooks' loaders; ``--pixels`` overrides it.
The image size is the model's input size, or its first ``Resizing`` layer's (``--img-size``
overrides it).  Writes accuracy per class and overall, the command, the model file and the
machine to ``benchmarks/results/other_source_<model>.json``::

    python -m benchmarks.other_source --model build/cpu03/artifacts/models/03_cnn.keras
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.config import portable

RESULTS = Path(__file__).parent / "results"
LOADERS = ("image_dataset_from_directory", "load_split")


def _layers(model: Any):
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from _layers(layer)


def pixel_range(model: Any) -> str:
    """``"raw"`` ([0, 255]) when the model has a ``Rescaling`` layer anywhere inside, else ``"unit"`` ([0, 1])."""
    from keras import layers

    return "raw" if any(isinstance(layer, layers.Rescaling) for layer in _layers(model)) else "unit"


def model_img_size(model: Any) -> int | None:
    """The side the model works at: its fixed input side, else its first ``Resizing`` layer's, else None."""
    from keras import layers

    side = model.input_shape[1]
    if side is not None:
        return int(side)
    resizing = next((layer for layer in _layers(model) if isinstance(layer, layers.Resizing)), None)
    return int(resizing.height) if resizing is not None else None


def accuracy_by_class(probs: np.ndarray, labels: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """Overall and per-class accuracy of sigmoid outputs ``probs`` (> 0.5 is class 1) against ``labels``."""
    probs, labels = np.asarray(probs, dtype="float64").reshape(-1), np.asarray(labels).reshape(-1).astype(int)
    if probs.shape != labels.shape or not len(labels):
        raise ValueError(f"{len(probs)} predicciones para {len(labels)} etiquetas: deben ser las mismas y no cero.")
    hits = (probs > 0.5).astype(int) == labels
    per_class = {
        name: {"accuracy": round(float(hits[labels == i].mean()), 4), "images": int((labels == i).sum())}
        for i, name in enumerate(class_names)
        if (labels == i).any()
    }
    return {"accuracy": round(float(hits.mean()), 4), "images": int(len(labels)), "per_class": per_class}


def evaluate_folder(model: Any, folder: str | os.PathLike, img_size: int, pixels: str, batch_size: int = 32) -> dict:
    """Accuracy of ``model`` on ``folder`` (one subfolder per class) through both course loaders."""
    import keras

    from course_utils.data import loaders
    from course_utils.data.image_files import split_folder

    if pixels not in ("unit", "raw"):
        raise ValueError(f"pixels={pixels!r}: usa 'unit' ([0, 1]) o 'raw' ([0, 255]).")
    folder = Path(folder)
    out: dict[str, Any] = {}

    # 1. As notebooks 03/04 load: the readable images, image_dataset_from_directory, Rescaling.
    rescale = keras.layers.Rescaling(1 / 255)
    ds = keras.utils.image_dataset_from_directory(
        split_folder(folder.parent, folder.name),
        label_mode="binary",
        image_size=(img_size, img_size),
        batch_size=batch_size,
        shuffle=False,
        verbose=False,
    )
    class_names = ds.class_names
    if pixels == "unit":
        ds = ds.map(lambda x, y: (rescale(x), y))
    labels = np.concatenate([np.asarray(y).reshape(-1) for _, y in ds])
    out["image_dataset_from_directory"] = accuracy_by_class(model.predict(ds, verbose=0), labels, class_names)

    # 2. The course loader (antialiased resizing; bad files left out with a warning).
    split = loaders.load_split(
        folder, img_size, batch_size, preprocessing="rescale" if pixels == "unit" else "none", cache=False
    )
    out["load_split"] = accuracy_by_class(model.predict(split.dataset, verbose=0), split.labels, split.class_names)
    return out


def _cpu_model() -> str:
    """The processor's name (``model name`` of ``/proc/cpuinfo``), or the platform's word for it."""
    import platform

    from course_utils.hardware import read_cpuinfo

    names = [line.split(":", 1)[1].strip() for line in read_cpuinfo().splitlines() if line.startswith("model name")]
    return names[0] if names else platform.processor() or "desconocida"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help=".keras file saved by a notebook (e.g. artifacts/models/03_cnn.keras)")
    parser.add_argument("--photos", help="folder with cats/ and dogs/ (default: fetch data/other_source_photos.json)")
    parser.add_argument("--manifest", help="photo-set manifest (default: data/other_source_photos.json)")
    parser.add_argument("--data", default="course", help="DATA_SOURCE whose test split is the comparison")
    parser.add_argument("--no-course-test", action="store_true", help="skip the course's test split")
    parser.add_argument("--pixels", choices=("auto", "unit", "raw"), default="auto")
    parser.add_argument("--img-size", type=int)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", help="JSON record (default: benchmarks/results/other_source_<model>.json)")
    parser.add_argument("--fetch-only", action="store_true", help="only download the photos into the cache")
    args = parser.parse_args(argv)

    from course_utils.data import photo_sets

    manifest = photo_sets.load_manifest(args.manifest or photo_sets.DEFAULT_MANIFEST)
    photos = Path(args.photos) if args.photos else photo_sets.fetch_photo_set(manifest)
    print(f"Fotos de otra fuente: {photos}")
    if args.fetch_only:
        return 0
    if not args.model:
        parser.error("falta --model PATH (o --fetch-only)")

    import keras

    from course_utils import artifacts
    from course_utils.data import course_data, download

    from . import machine

    t0 = time.perf_counter()
    load_start = machine.load_text()
    model = artifacts.load_model(args.model, compile=False)
    pixels = pixel_range(model) if args.pixels == "auto" else args.pixels
    size = args.img_size or model_img_size(model)
    if size is None:
        parser.error("el modelo acepta cualquier tamaño y no tiene capa Resizing: indica --img-size")
    results = {"other_source": evaluate_folder(model, photos, size, pixels, args.batch_size)}
    if not args.no_course_test:
        course = course_data.get_course_data(args.data)
        results["course_test"] = evaluate_folder(model, course.root / "test", size, pixels, args.batch_size)
    given = argv if argv is not None else sys.argv[1:]
    record = {
        "command": portable("python -m benchmarks.other_source " + " ".join(given)),
        "model": portable(args.model),
        "model_sha256": download.sha256sum(args.model),
        "model_name": model.name,
        "model_dtype_policy": getattr(model.dtype_policy, "name", str(model.dtype_policy)),
        "pixels": pixels,
        "img_size": size,
        "photos": {
            "set": manifest.name,
            "folder": portable(photos),
            "license": manifest.license.get("name"),
            "dataset": manifest.license.get("dataset"),
            "listed_per_class": {c: sum(f.label == c for f in manifest.files) for c in manifest.class_names},
        },
        "results": results,
        "machine": {
            **machine.describe(),
            "cpu": _cpu_model(),
            "cpu_flags": machine.cpu_flags_summary(),
            "load_average_start": load_start,
        },
        "keras_global_policy": keras.mixed_precision.global_policy().name,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out = Path(args.out) if args.out else RESULTS / f"other_source_{Path(args.model).stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    for where, by_loader in results.items():
        for loader, r in by_loader.items():
            classes = ", ".join(f"{c} {v['accuracy']:.3f} ({v['images']})" for c, v in r["per_class"].items())
            print(f"{where:13s} {loader:29s} {r['accuracy']:.3f} de {r['images']}  [{classes}]")
    print(f"Registro: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

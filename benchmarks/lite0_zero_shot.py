"""EfficientNet-Lite0 (the Keras port, ImageNet weights) on the course's real photos, without any training.

Zero-shot: ImageNet has no "cat" or "dog" class but breeds, so a photo's dog score is the
softmax summed over the 118 dog breeds (indices 151-268, Chihuahua ... Mexican hairless) and
its cat score the sum over the 5 domestic cats (281 tabby, 282 tiger cat, 283 Persian, 284
Siamese, 285 Egyptian cat).  Left out on purpose: wolves, foxes, dingo, dhole, hyena (269-280:
wild canids), the big cats (286-293: cougar, lynx, leopard, ...) and 383 "Madagascar cat" (a
lemur).  The rule "dog if dog score > cat score" needs nothing from the data; the variant with
a threshold on dog / (dog + cat) picks it on the validation split and applies it to the test
split.  The same with random weights is the floor (about 50 %).

Also measured in the same pass (for notebook 07's phase B): the 1280 averaged features
(``include_top=False, pooling="avg"`` is the same tensor) of train and test, and 07's
classifiers on them (logistic regression; PCA(100) + SVC).

    COURSE_DATA_MIRROR=../shared/data COURSE_CACHE_DIR=build/cache python benchmarks/lite0_zero_shot.py

writes ``benchmarks/results/lite0_zero_shot.json`` (float32, 224 px, the course's loader).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.lite0_port_check import _cpu_name  # noqa: E402
from benchmarks.machine import load_text  # noqa: E402
from course_utils.config import portable  # noqa: E402

#: ImageNet-1k indices: the 118 dog breeds and the 5 domestic cats.
DOG_CLASSES = tuple(range(151, 269))
CAT_CLASSES = tuple(range(281, 286))
RECORD = Path("benchmarks/results/lite0_zero_shot.json")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def dog_share(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``dog / (dog + cat)`` per photo and the summed cat+dog probability."""
    p = softmax(logits.astype(np.float64))
    dog, cat = p[:, DOG_CLASSES].sum(axis=1), p[:, CAT_CLASSES].sum(axis=1)
    return dog / (dog + cat), dog + cat


def best_threshold(share: np.ndarray, is_dog: np.ndarray) -> float:
    """The threshold on ``share`` with the best accuracy (the middle of the best run of candidates)."""
    candidates = np.unique(np.concatenate([[0.0, 1.0], share]))
    cuts = (candidates[:-1] + candidates[1:]) / 2
    accuracy = np.array([((share > c) == is_dog).mean() for c in cuts])
    best = np.flatnonzero(accuracy == accuracy.max())
    return float(cuts[best[len(best) // 2]])


def zero_shot(logits: dict[str, np.ndarray], labels: dict[str, np.ndarray], dog_label: int) -> dict:
    share_val, _ = dog_share(logits["validation"])
    share_test, mass_test = dog_share(logits["test"])
    is_dog_val, is_dog_test = labels["validation"] == dog_label, labels["test"] == dog_label
    threshold = best_threshold(share_val, is_dog_val)
    top1 = logits["test"].argmax(axis=1)
    in_classes = np.isin(top1, DOG_CLASSES + CAT_CLASSES)
    return {
        "test_accuracy": float(((share_test > 0.5) == is_dog_test).mean()),
        "validation_accuracy": float(((share_val > 0.5) == is_dog_val).mean()),
        "threshold_from_validation": threshold,
        "validation_accuracy_at_threshold": float(((share_val > threshold) == is_dog_val).mean()),
        "test_accuracy_at_threshold": float(((share_test > threshold) == is_dog_test).mean()),
        "test_errors": int(((share_test > 0.5) != is_dog_test).sum()),
        "test_top1_in_cat_or_dog_classes": float(in_classes.mean()),
        "test_mean_cat_plus_dog_probability": float(mass_test.mean()),
    }


def classifiers(x_train, y_train, x_test, y_test, seed: int = 42) -> dict:
    """07's classifiers on the features: logistic regression, PCA(100) + SVC (seconds of each fit)."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    out = {}
    for name, model in (
        ("logistic_regression", make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))),
        ("pca100_svc", make_pipeline(StandardScaler(), PCA(100, random_state=seed), SVC())),
    ):
        t = time.time()
        model.fit(x_train, y_train)
        out[name] = {
            "train_accuracy": float(model.score(x_train, y_train)),
            "test_accuracy": float(model.score(x_test, y_test)),
            "fit_seconds": round(time.time() - t, 2),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--out", default=str(RECORD))
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from course_utils.data import course_data, loaders
    from course_utils.data.download import sha256sum
    from course_utils.models.efficientnet_lite import EfficientNetLite0, imagenet_weights_path

    keras.config.set_dtype_policy("float32")
    started, cpu_started = time.time(), cpu_seconds()
    info = course_data.get_course_data("course", progress=False)
    if info.kind != "real":
        raise SystemExit(f"Se necesitan las fotos reales del curso, no {info.kind}: define COURSE_DATA_MIRROR.")
    shape = (args.img_size, args.img_size, 3)
    splits = {}
    for split in ("train", "validation", "test"):
        splits[split] = loaders.load_split(
            info.root / split, args.img_size, args.batch_size, preprocessing="none", cache=False
        )
    names = splits["train"].class_names
    assert all(s.class_names == names for s in splits.values()) and names == ["cats", "dogs"], names
    dog_label = names.index("dogs")
    labels = {k: s.labels.astype(int) for k, s in splits.items()}
    weights_file = imagenet_weights_path(progress=False)
    load = {"start": load_text()}

    def run(weights, which: tuple[str, ...]) -> tuple[dict, dict, dict]:
        net = EfficientNetLite0(weights=weights, input_shape=shape, classifier_activation=None)
        both = keras.Model(net.input, [net.get_layer("avg_pool").output, net.output])
        features, logits, timing = {}, {}, {}
        for split in which:
            t, c = time.time(), cpu_seconds()
            features[split], logits[split] = both.predict(splits[split].dataset, verbose=0)
            timing[split] = {"images": len(splits[split]), "wall_s": round(time.time() - t, 1)}
            timing[split]["cpu_s"] = round(cpu_seconds() - c, 1)
        return features, logits, timing

    features, logits, timing = run(str(weights_file), ("train", "validation", "test"))
    imagenet = zero_shot(logits, labels, dog_label)
    fitted = classifiers(features["train"], labels["train"], features["test"], labels["test"])
    keras.utils.set_random_seed(args.seed)
    _, random_logits, random_timing = run(None, ("validation", "test"))
    random = zero_shot(random_logits, labels, dog_label)
    load["end"] = load_text()

    record = {
        "what": "EfficientNet-Lite0 Keras port: zero-shot cat/dog from ImageNet classes, and 07's classifiers "
        "on its averaged features, on the course's real photos",
        "command": portable("python " + " ".join(sys.argv)),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "load_average": load,
        "precision": "float32",
        "keras": keras.__version__,
        "img_size": args.img_size,
        "loader": "course_utils.data.loaders.load_split(preprocessing='none'): pixels in [0, 255], the port rescales",
        "data": {"source": info.description, "counts": {k: len(s) for k, s in splits.items()}},
        "weights_sha256": sha256sum(weights_file),
        "classes": {
            "dog": "ImageNet 151-268 (118 dog breeds)",
            "cat": "ImageNet 281-285 (tabby, tiger cat, Persian, Siamese, Egyptian cat)",
            "left_out": "269-280 wolves/foxes/wild dogs/hyena, 286-293 big cats, 383 Madagascar cat (a lemur)",
            "rule": "dog if sum(softmax[dog]) > sum(softmax[cat]); threshold variant: dog/(dog+cat) > t, "
            "t chosen on validation",
        },
        "zero_shot_imagenet": imagenet,
        "zero_shot_random_weights": {**random, "seed": args.seed},
        "features_avg_pool_1280": fitted,
        "timing_imagenet": timing,
        "timing_random": random_timing,
        "minutes_total": round((time.time() - started) / 60, 2),
        "cpu_minutes_total": round((cpu_seconds() - cpu_started) / 60, 2),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({"imagenet": imagenet, "random": random, "classifiers": fitted}, indent=1))
    print(f"Escrito {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Notebook 07's cpu settings with EfficientNet-Lite0's ImageNet weights, chosen on the validation split only.

Runs, in float32, the two parts of notebook 07 that have settings to choose, and measures each
candidate on ``validation`` (never on ``test``):

1. features (``pooling="avg"``) + StandardScaler + PCA + SVC at each ``--feature-sizes``;
2. transfer learning: a new head on the frozen base (``--head-epochs``), then fine-tuning of the last
   ``--unfreeze`` layers (BatchNormalization frozen, Adam 1e-5) for ``--fine-tune-epochs``, at each
   ``--transfer-sizes`` x ``--max-per-class``; validation accuracy after every epoch.

Writes the runs, the command, CPU, load and CPU seconds to ``benchmarks/results/pretrained_07_choices.json``::

    python -m benchmarks.pretrained_07_choices
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def cpu_model() -> str:
    """``lscpu``'s model name (or the platform's processor string where there is no ``lscpu``)."""
    import platform
    import subprocess

    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return platform.processor()
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "")


def features_run(root: Path, size: int, pca: int, seed: int) -> dict[str, Any]:
    """Validation accuracy of Lite0 features + StandardScaler + PCA + SVC at ``size`` px."""
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from course_utils.data import loaders
    from course_utils.models import backbones

    t0, c0 = time.time(), _cpu_seconds()
    base = backbones.load_backbone("efficientnet_lite0", "imagenet", (size, size, 3), pooling="avg")
    # Unshuffled splits, as the notebook loads them: predict's rows follow ``labels``.
    data = {s: loaders.load_split(root / s, size, 32, preprocessing="none") for s in ("train", "validation")}
    x = {s: base.predict(d.dataset, verbose=0) for s, d in data.items()}
    y = {s: d.labels.astype(int) for s, d in data.items()}
    pipe = Pipeline([("scaler", StandardScaler()), ("pca", PCA(pca, random_state=seed)), ("clf", SVC())])
    pipe.fit(x["train"], y["train"])
    return {
        "part": "features_svc",
        "img_size": size,
        "pca_components": pca,
        "val_accuracy": float((pipe.predict(x["validation"]) == y["validation"]).mean()),
        "seconds": round(time.time() - t0, 1),
        "cpu_seconds": round(_cpu_seconds() - c0, 1),
    }


def transfer_run(
    root: Path, size: int, max_per_class: int | None, head_epochs: int, unfreeze: int, ft_epochs: int, seed: int
) -> dict[str, Any]:
    """Head on the frozen base, then fine-tuning of the last ``unfreeze`` layers: validation accuracy per epoch."""
    import keras
    from keras import layers

    from course_utils.data import loaders
    from course_utils.models import backbones
    from course_utils.start import set_seed

    t0, c0 = time.time(), _cpu_seconds()
    data = loaders.load_datasets(
        root, size, 32, max_per_class=max_per_class, preprocessing="none", seed=seed, splits=("train", "validation")
    )
    set_seed(seed)
    base = backbones.load_backbone("efficientnet_lite0", "imagenet", (size, size, 3), pooling=None)
    inputs = keras.Input(shape=(size, size, 3))
    x = base(inputs, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    h1 = model.fit(data["train"].dataset, validation_data=data["validation"].dataset, epochs=head_epochs, verbose=0)
    head_seconds = time.time() - t0
    base.trainable = True
    for layer in base.layers[:-unfreeze]:
        layer.trainable = False
    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="binary_crossentropy", metrics=["accuracy"])
    h2 = model.fit(data["train"].dataset, validation_data=data["validation"].dataset, epochs=ft_epochs, verbose=0)
    return {
        "part": "transfer",
        "img_size": size,
        "max_per_class": max_per_class,
        "head_epochs": head_epochs,
        "unfreeze": unfreeze,
        "fine_tune_epochs": ft_epochs,
        "head_val_accuracy": [round(v, 4) for v in h1.history["val_accuracy"]],
        "fine_tune_val_accuracy": [round(v, 4) for v in h2.history["val_accuracy"]],
        "head_seconds": round(head_seconds, 1),
        "seconds": round(time.time() - t0, 1),
        "cpu_seconds": round(_cpu_seconds() - c0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the candidates and write the record."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pretrained_07_choices", description=__doc__.splitlines()[0])
    ap.add_argument("--feature-sizes", type=int, nargs="*", default=[224])
    ap.add_argument(
        "--transfer",
        nargs="*",
        default=["160:500:20", "224:none:20", "224:none:40"],
        help="SIZE:MAX_PER_CLASS:UNFREEZE",
    )
    ap.add_argument("--pca", type=int, default=100)
    ap.add_argument("--head-epochs", type=int, default=3)
    ap.add_argument("--fine-tune-epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=RESULTS / "pretrained_07_choices.json")
    args = ap.parse_args(argv)
    os.environ.setdefault("COURSE_PRECISION", "float32")
    import keras

    keras.config.set_dtype_policy("float32")
    from benchmarks.machine import cpu_flags_summary, describe
    from course_utils.data.course_data import get_course_data

    root = Path(get_course_data("course", progress=False).root)
    record: dict[str, Any] = {
        "command": "python -m benchmarks.pretrained_07_choices " + " ".join(sys.argv[1:] if argv is None else argv),
        "precision": "float32",
        "split": "validation",
        "machine": {**describe(), "cpu_model": cpu_model(), "cpu_flags": cpu_flags_summary()},
        "runs": [],
    }

    def done(run: dict[str, Any]) -> None:  # the record is rewritten after every run: a long search loses nothing
        record["runs"].append(run)
        record["load_at_end"] = [round(v, 2) for v in os.getloadavg()]
        args.out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        print(json.dumps(run), flush=True)
        keras.backend.clear_session()

    for size in args.feature_sizes:
        done(features_run(root, size, args.pca, args.seed))
    for spec in args.transfer:
        size, mpc, unfreeze = spec.split(":")
        mpc_value = None if mpc == "none" else int(mpc)
        done(
            transfer_run(root, int(size), mpc_value, args.head_epochs, int(unfreeze), args.fine_tune_epochs, args.seed)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Maintainer check: the Keras EfficientNet-Lite0 port computes what timm's PyTorch ``tf_efficientnet_lite0`` does.

Run it in a throw-away venv with torch and timm (never the project's ``.venv``, never in ``make test``);
timm runs in a subprocess of it (TensorFlow and torch crash when imported into one process)::

    python3.11 -m venv build/venv-port-check
    build/venv-port-check/bin/pip install -e ".[tf,port-check]"
    COURSE_DATA_MIRROR=../shared/data build/venv-port-check/bin/python benchmarks/lite0_port_check.py

Both networks get the same weights (the pinned ``.pth``: timm through ``torch.load``, the port through
:mod:`course_utils.models.torch_pickle` and the converted Keras file of the registry) and the same images
(the first test photos of each class of the course's real data, resized to 224 x 224); the logits
must agree within ``--tolerance`` and give the same top-5 classes.  Also checked: the restricted
reader gives exactly ``torch.load``'s arrays.  The JSON record (``benchmarks/results/lite0_port_check.json``)
is what ``tests/test_efficientnet_lite.py`` reads, without torch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import load_text  # noqa: E402
from course_utils.config import ENV_MIRROR, portable  # noqa: E402

#: Where the record goes (relative to the repository).
RECORD = Path("benchmarks/results/lite0_port_check.json")
ZIP_NAME = "cnn_perros_gatos-small.zip"


def timm_key(name: str) -> str:
    """The name timm's ``tf_efficientnet_lite0`` gives a tensor of the ``.pth`` (``_blocks.N._expand_conv``...)."""
    from course_utils.models.efficientnet_lite import STAGES

    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    module, _, leaf = name.rpartition(".")
    if not module.startswith("_blocks."):
        return f"{top[module]}.{leaf}"
    _, index, part = module.split(".")
    stage_of = [(s, j) for s, stage in enumerate(STAGES) for j in range(stage.repeats)]
    stage, j = stage_of[int(index)]
    if STAGES[stage].expand == 1:  # timm's DepthwiseSeparableConv
        parts = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    else:  # timm's InvertedResidual
        parts = {
            "_expand_conv": "conv_pw",
            "_bn0": "bn1",
            "_depthwise_conv": "conv_dw",
            "_bn1": "bn2",
            "_project_conv": "conv_pwl",
            "_bn2": "bn3",
        }
    return f"blocks.{stage}.{j}.{parts[part]}.{leaf}"


def test_photos(zip_path: Path, per_class: int) -> tuple[list[str], np.ndarray]:
    """The first ``per_class`` test photos of each class (by number), as 224 x 224 RGB float32 in [0, 255]."""
    from PIL import Image

    with zipfile.ZipFile(zip_path) as archive:
        names = [n for n in archive.namelist() if "/test/" in n and n.endswith(".jpg")]

        def number(n: str) -> int:
            return int(Path(n).stem.split(".")[1])

        chosen = []
        for cls in ("cats", "dogs"):
            chosen += sorted((n for n in names if f"/test/{cls}/" in n), key=number)[:per_class]
        images = []
        for n in chosen:
            with archive.open(n) as f:
                image = Image.open(f).convert("RGB").resize((224, 224), Image.BILINEAR)
            images.append(np.asarray(image, dtype=np.float32))
    return [Path(n).name for n in chosen], np.stack(images)


def torch_side(pth: str, images_npy: str, out_json: str) -> None:
    """In its own process (TensorFlow and torch crash when imported together): timm's logits and the reader check."""
    import timm
    import torch

    from course_utils.models import efficientnet_lite
    from course_utils.models.backbones import IMAGENET_FILES
    from course_utils.models.torch_pickle import load_state_dict

    ours = load_state_dict(pth, IMAGENET_FILES[efficientnet_lite.PTH].sha256)
    theirs = torch.load(pth, map_location="cpu", weights_only=True)
    identical = list(ours) == list(theirs) and all(
        ours[k].dtype == theirs[k].numpy().dtype and np.array_equal(ours[k], theirs[k].numpy()) for k in ours
    )
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    loaded = net.load_state_dict({timm_key(k): v for k, v in theirs.items()}, strict=True)
    net.eval()
    images = np.load(images_npy)
    with torch.no_grad():
        x = torch.from_numpy(((images - 127.5) / 127.5).transpose(0, 3, 1, 2).copy())
        logits = net(x).numpy()
    np.save(Path(out_json).with_suffix(".npy"), logits)
    result = {
        "reader_equals_torch_load": bool(identical),
        "tensors": len(ours),
        "timm_strict_load": str(loaded),
        "parameters": int(sum(p.numel() for p in net.parameters())),
        "modules": {
            kind.__name__: sum(isinstance(m, kind) for m in net.modules())
            for kind in (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.Linear)
        },
        "versions": {"torch": torch.__version__, "timm": timm.__version__, "python": platform.python_version()},
        "torch_threads": torch.get_num_threads(),
    }
    Path(out_json).write_text(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help=f"the course's zip (default: {ZIP_NAME} in ${ENV_MIRROR})")
    parser.add_argument("--per-class", type=int, default=16, help="test photos per class (default 16: 32 photos)")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest allowed |logit difference|")
    parser.add_argument("--torch-python", default=sys.executable, help="the interpreter with torch and timm")
    parser.add_argument("--out", default=str(RECORD))
    parser.add_argument("--torch-side", nargs=3, metavar=("PTH", "IMAGES_NPY", "OUT_JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.torch_side:
        torch_side(*args.torch_side)
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    zip_path = Path(args.data) if args.data else Path(os.environ.get(ENV_MIRROR, "").split(",")[0]) / ZIP_NAME
    if not zip_path.is_file():
        parser.error(f"no encuentro {zip_path}: da --data o define {ENV_MIRROR}")
    started = time.time()
    from course_utils.data.download import sha256sum
    from course_utils.models import efficientnet_lite

    files, images = test_photos(zip_path, args.per_class)
    with tempfile.TemporaryDirectory() as work:
        pth = efficientnet_lite.obtain_pth(work, progress=False)
        np.save(Path(work) / "images.npy", images)
        side = Path(work) / "torch_side.json"
        subprocess.run(
            [args.torch_python, __file__, "--torch-side", str(pth), str(Path(work) / "images.npy"), str(side)],
            check=True,
        )
        timm_side = json.loads(side.read_text())
        pth_sha256 = sha256sum(pth)
        torch_logits = np.load(side.with_suffix(".npy"))

    import keras
    import tensorflow as tf

    keras.config.set_dtype_policy("float32")
    weights_file = efficientnet_lite.imagenet_weights_path(progress=False)
    port = efficientnet_lite.EfficientNetLite0(weights=weights_file, classifier_activation=None)
    keras_logits = keras.ops.convert_to_numpy(port(images, training=False))
    keras_trainable = int(sum(np.prod(w.shape) for w in port.trainable_weights))

    keras.config.set_dtype_policy("mixed_bfloat16")  # for information: the course's "auto" precision on bf16 CPUs
    port_bf16 = efficientnet_lite.EfficientNetLite0(weights=weights_file, classifier_activation=None)
    bf16_logits = keras.ops.convert_to_numpy(keras.ops.cast(port_bf16(images, training=False), "float32"))
    keras.config.set_dtype_policy("float32")
    identical = timm_side["reader_equals_torch_load"]

    diff = np.abs(keras_logits - torch_logits)
    top5_keras = np.argsort(-keras_logits, axis=1)[:, :5]
    top5_torch = np.argsort(-torch_logits, axis=1)[:, :5]
    same_top5 = int(sum(np.array_equal(a, b) for a, b in zip(top5_keras, top5_torch, strict=True)))
    match = bool(identical and diff.max() <= args.tolerance and same_top5 == len(files))
    record = {
        "what": "Keras EfficientNet-Lite0 port vs timm tf_efficientnet_lite0 (PyTorch), same .pth, same images",
        "verdict": "match" if match else "MISMATCH",
        "command": portable("python " + " ".join(sys.argv)),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "load_average": load_text(),
        "precision": "float32",
        "versions": {
            "python": platform.python_version(),
            "python_of_timm_side": timm_side["versions"]["python"],
            "torch": timm_side["versions"]["torch"],
            "timm": timm_side["versions"]["timm"],
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
        "weights": {
            "pth_sha256": pth_sha256,
            "keras_file_sha256": sha256sum(weights_file),
            "reader_equals_torch_load": identical,
            "tensors": timm_side["tensors"],
        },
        "parameters": {"timm": timm_side["parameters"], "keras_trainable": keras_trainable},
        "timm_modules": timm_side["modules"],
        "images": {"count": len(files), "size": 224, "source": f"{ZIP_NAME}, test split", "files": files},
        "preprocessing": "PIL bilinear resize to 224x224; timm gets (x - 127.5) / 127.5 in NCHW, "
        "the port gets x in [0, 255] (its Rescaling layer)",
        "tolerance_abs_logit": args.tolerance,
        "max_abs_logit_diff": float(diff.max()),
        "mean_abs_logit_diff": float(diff.mean()),
        "logit_range": [float(torch_logits.min()), float(torch_logits.max())],
        "top1_agreement": int((top5_keras[:, 0] == top5_torch[:, 0]).sum()),
        "top5_agreement": same_top5,
        "timm_strict_load": timm_side["timm_strict_load"],
        "processes": "timm runs in a subprocess (TensorFlow and torch crash when imported in one process)",
        "mixed_bfloat16_for_information": {
            "max_abs_logit_diff": float(np.abs(bf16_logits - torch_logits).max()),
            "top1_agreement": int((bf16_logits.argmax(axis=1) == top5_torch[:, 0]).sum()),
            "top5_same_set": int(
                sum(set(a) == set(b) for a, b in zip(np.argsort(-bf16_logits, axis=1)[:, :5], top5_torch, strict=True))
            ),
        },
        "seconds": round(time.time() - started, 1),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(
        json.dumps({k: record[k] for k in ("verdict", "max_abs_logit_diff", "top5_agreement", "tolerance_abs_logit")})
    )
    print(f"Escrito {out}")
    return 0 if match else 1


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    raise SystemExit(main())

"""Memory at full scale: a synthetic set of 25,000 JPEGs, loaded and trained on at 150 and 224 px.

For each size a fresh process (so each peak is its own) loads the three
splits with the course's loaders (their cache policy decides memory or file
within the budget), reads every split once (the cache is then full), and
trains the course's improved CNN for one epoch (or ``train_steps`` batches).
It reports the peak resident set of the process after loading and after
training.  Run ``python -m benchmarks memory`` (``make bench-memory``).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .machine import load_text, peak_rss_bytes

#: The full Kaggle "Dogs vs. Cats" set has 25,000 photos; split as train/validation/test.
FULL_SPLITS = {"train": 20_000, "validation": 2_500, "test": 2_500}


def make_synthetic_jpegs(
    dest: Path,
    counts: dict[str, int] = FULL_SPLITS,
    size: tuple[int, int] = (400, 300),
    distinct: int = 256,
    seed: int = 0,
) -> int:
    """Write ``counts`` images per split (half cats, half dogs) as small JPEGs; returns the total.

    Only ``distinct`` different pictures are encoded (smooth random gradients,
    about 10 KB each); the files reuse their bytes, so 25,000 files take
    seconds.  Decoding cost per file is that of a real photo of ``size``.
    """
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    xs, ys = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    blobs = []
    for _ in range(distinct):
        a, b, c = rng.random((3, 3))
        arr = np.stack([(255 * (a[i] * xs + b[i] * ys + c[i])) % 256 for i in range(3)], axis=-1).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=85)
        blobs.append(buf.getvalue())
    total = 0
    for split, n in counts.items():
        for cls_i, cls in enumerate(("cats", "dogs")):
            folder = dest / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n // 2):
                (folder / f"{cls[:-1]}.{i}.jpg").write_bytes(blobs[(i * 2 + cls_i) % distinct])
                total += 1
    return total


def run_one(
    root: Path,
    size: int,
    *,
    batch_size: int = 32,
    train_steps: int | None = None,
    budget_gb: float = 12.0,
    policy: str = "float32",
) -> dict[str, Any]:
    """In this process: load the splits, read each once, train; peak RSS after each stage (GB)."""
    import keras

    from course_utils.data.loaders import load_datasets
    from course_utils.models.networks import build_cnn_improved

    from .precision import policy as dtype_policy

    t0 = time.perf_counter()
    from course_utils.data.loaders import DEFAULT_BUDGET_FRACTION

    # the loaders' default share of a machine with budget_gb of memory (e.g. a free Colab runtime)
    ds = load_datasets(root, size, batch_size, memory_budget_gb=DEFAULT_BUDGET_FRACTION * budget_gb, augment="lesson")
    for split in ds.values():
        for _ in split.dataset:
            pass
    load_s = time.perf_counter() - t0
    load_peak = peak_rss_bytes()
    with dtype_policy(policy):
        keras.utils.set_random_seed(0)
        model = build_cnn_improved((size, size, 3))
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        steps = train_steps or -(-len(ds["train"]) // batch_size)
        t1 = time.perf_counter()
        model.fit(ds["train"].dataset, epochs=1, steps_per_epoch=steps, verbose=0)
        train_s = time.perf_counter() - t1
    return {
        "size": size,
        "images": {k: len(v) for k, v in ds.items()},
        "cache": {k: v.cache for k, v in ds.items()},
        "cache_message": ds["train"].cache_message,
        "load_peak_gb": load_peak / 1e9,
        "load_s": round(load_s, 1),
        "train_peak_gb": peak_rss_bytes() / 1e9,
        "train_steps": steps,
        "train_s": round(train_s, 1),
        "batch_size": batch_size,
        "policy": policy,
        "load_average": load_text(),
    }


def run_in_child(root: Path, size: int, **kwargs: Any) -> dict[str, Any]:
    """:func:`run_one` in a fresh Python process (its own peak memory); returns its JSON result."""
    args = [sys.executable, "-m", "benchmarks.loader_memory", "--child", str(root), str(size), json.dumps(kwargs)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"memory benchmark at {size} px failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--child":
    result = run_one(Path(sys.argv[2]), int(sys.argv[3]), **json.loads(sys.argv[4]))
    print(json.dumps(result))

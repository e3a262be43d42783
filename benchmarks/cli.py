"""Command line of the benchmarks: ``python -m benchmarks [memory|precision-accuracy] ...``.

The only place that parses arguments, prints the final table and returns exit codes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from course_utils.config import portable

from . import bench_report, machine
from .bench_report import BenchResult, Row
from .bench_settings import MODEL_SPECS, SPLIT_NAMES, BenchConfig
from .targets import apply_targets

Progress = Callable[[str], None]


def run_benchmark(
    data_root: str | os.PathLike,
    cfg: BenchConfig,
    *,
    progress: Progress = print,
    data_kind: str = "local",
    precision: bool = True,
) -> BenchResult:
    """Pipelines (throughput), the lesson's trainings, the MLP recipe and the precision policies.

    The images used are chosen once (``cfg.per_class``) and exposed to both
    pipelines through a temporary folder of symlinks.
    """
    import tensorflow as tf

    from . import measure

    tf.get_logger().setLevel("ERROR")
    started = time.perf_counter()
    load_start = machine.load_text()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="course_bench_") as tmp:
        root = Path(tmp) / "data"
        counts = measure.make_subset_view(data_root, root, cfg.per_class)
        measure.warm_file_cache(root)
        progress(
            f"Data: {data_root} ({data_kind}); images used: "
            + ", ".join(f"{s} {counts[s]}" for s in SPLIT_NAMES)
            + f"; {cfg.epochs} epochs, batch {cfg.batch_size}, {cfg.repeats} interleaved repeats; "
            f"load average {load_start}"
        )

        def emit(new: list[Row], t0: float) -> None:
            for r in new:
                progress(
                    f"{r.label}: original {bench_report._fmt(r.original, r.unit)}, course "
                    f"{bench_report._fmt(r.course, r.unit)} {r.unit} -> {r.ratio_text()} [{r.spread_text()}]"
                    f"  ({time.perf_counter() - t0:.0f} s)"
                )
            rows.extend(new)

        for size in (cfg.small_size, cfg.large_size):
            for augment in (False, True):
                t0 = time.perf_counter()
                emit(measure.measure_throughput(root, size, augment, cfg), t0)
        for spec in MODEL_SPECS:
            t0 = time.perf_counter()
            emit(measure.measure_training(spec, root, cfg), t0)
        t0 = time.perf_counter()
        emit(measure.measure_mlp_recipe(root, cfg), t0)
    if precision:
        t0 = time.perf_counter()
        emit(measure.measure_precision(cfg), t0)
    apply_targets(rows, cfg.mode, cfg.small_size, cfg.large_size)
    from dataclasses import asdict

    meta = {
        "mode": cfg.mode,
        "config": asdict(cfg),
        "data_root": portable(data_root),
        "data_kind": data_kind,
        "images": counts,
        "wall_time_s": time.perf_counter() - started,
        "load_average_start": load_start,
        "load_average_end": machine.load_text(),
        **machine.describe(),
    }
    meta["header"] = [
        f"Mode: **{cfg.mode}**; data: {data_kind} ({portable(data_root)}); images used: "
        + ", ".join(f"{s} {counts[s]}" for s in SPLIT_NAMES)
        + ".",
        f"Original = the lesson's `ImageDataGenerator` recipe; course_utils = the course's `tf.data` "
        f'loaders (augmentation: `augment="lesson"`, one warp per image). Batch {cfg.batch_size}; '
        f"training: {cfg.epochs} epochs, same builder, optimizer and seed; time = building the pipelines + fit.",
        f"Throughput: one pass over the training split, each batch summed, no model. First epoch: fresh "
        f"pipelines (listing, file check, decode), median of {cfg.repeats} interleaved repeats; later "
        "epochs: median of interleaved passes.",
        "Precision rows: `train_on_batch` on an in-memory batch, float32 (original column) vs "
        "`mixed_bfloat16` (course column), interleaved repeats.",
        "Ratio: course/original for throughput, original/course for time; accuracy: difference in points.",
    ]
    return BenchResult(rows, meta)


def run_memory(
    dest: Path,
    sizes: tuple[int, ...],
    budget_gb: float,
    train_steps: int | None,
    n_images: int,
    progress: Progress = print,
) -> BenchResult:
    """The memory mode: a synthetic full-size set, then one child process per image size."""
    from . import loader_memory

    started = time.perf_counter()
    load_start = machine.load_text()
    counts = {
        k: round(v * n_images / sum(loader_memory.FULL_SPLITS.values())) for k, v in loader_memory.FULL_SPLITS.items()
    }
    if not (dest / "train").is_dir():
        t0 = time.perf_counter()
        total = loader_memory.make_synthetic_jpegs(dest, counts)
        progress(f"Synthetic set: {total} JPEGs in {dest} ({time.perf_counter() - t0:.0f} s)")
    rows = []
    for size in sizes:
        r = loader_memory.run_in_child(dest, size, train_steps=train_steps, budget_gb=budget_gb)
        progress(
            f"{size} px: cache {r['cache']}, peak after loading {r['load_peak_gb']:.2f} GB "
            f"({r['load_s']} s), after training {r['train_steps']} steps {r['train_peak_gb']:.2f} GB "
            f"({r['train_s']} s); load {r['load_average']}"
        )
        n = sum(r["images"].values())
        rows.append(
            Row(
                f"memory_{size}_load_peak",
                f"Peak memory, loading {n} images at {size}x{size} (cache: {r['cache']['train']})",
                "GB",
                None,
                r["load_peak_gb"],
                None,
                "value",
                details=r,
            )
        )
        steps = r["train_steps"]
        full = steps * r["batch_size"] >= r["images"]["train"]
        rows.append(
            Row(
                f"memory_{size}_train_peak",
                f"Peak memory, loading + training "
                f"{'one epoch' if full else f'{steps} steps'} of the improved CNN at {size}x{size}",
                "GB",
                None,
                r["train_peak_gb"],
                None,
                "value",
                details=r,
            )
        )
    apply_targets(rows, "full", budget_gb=budget_gb)
    meta = {
        "mode": "memory",
        "images": counts,
        "wall_time_s": time.perf_counter() - started,
        "load_average_start": load_start,
        "load_average_end": machine.load_text(),
        **machine.describe(),
        "header": [
            f"Synthetic set of {sum(counts.values())} JPEGs (400x300, "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
            + f"); budget {budget_gb:g} GB (a free Colab runtime has about 12.7 GB); the loaders "
            f"may cache up to 40 % of it. One fresh process per size; peak resident set (ru_maxrss)."
        ],
    }
    return BenchResult(rows, meta)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Benchmarks of the course: pipelines, training, precision, memory."
    )
    p.add_argument(
        "command",
        nargs="?",
        default="pipelines",
        choices=("pipelines", "memory", "precision-accuracy"),
        help="pipelines (default): throughput, training and precision tables; memory: the 25,000-"
        "image memory run; precision-accuracy: short trainings per precision policy",
    )
    p.add_argument(
        "--data",
        default="auto",
        help="'auto' (real data via COURSE_DATA_MIRROR/Drive, else synthetic), 'synthetic', "
        "or a folder/.zip with train/validation/test",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="subset (200/50/100 images per class for train/validation/test), 2 epochs, 2 repeats",
    )
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: 2 quick, 5 full)")
    p.add_argument("--mlp-epochs", type=int, default=None, help="epochs of the MLP comparison only")
    p.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default: 2 quick, 3 full)")
    p.add_argument("--no-precision", action="store_true", help="skip the precision-policy rows")
    p.add_argument("--images", type=int, default=25_000, help="memory: size of the synthetic set")
    p.add_argument("--sizes", type=int, nargs="+", default=[150, 224], help="memory: image sizes")
    p.add_argument("--budget-gb", type=float, default=12.0, help="memory: the budget to stay within")
    p.add_argument("--train-steps", type=int, default=None, help="memory: cap the training epoch (batches)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="precision-accuracy: seeds")
    p.add_argument(
        "--out",
        default=None,
        help="Markdown output (default build/bench.md, "
        "build/bench-memory.md or benchmarks/results/precision_accuracy.json)",
    )
    args = p.parse_args(argv)
    for name in ("epochs", "mlp_epochs", "repeats", "train_steps", "images"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: 0 on success, 2 on bad arguments (argparse), 1 when a run fails."""
    args = parse(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    say = lambda s: print(s, flush=True)  # noqa: E731
    try:
        if args.command == "memory":
            from course_utils.config import cache_dir

            dest = cache_dir() / f"bench-synthetic-{args.images}"
            result = run_memory(dest, tuple(args.sizes), args.budget_gb, args.train_steps, args.images, say)
            out, title = args.out or "build/bench-memory.md", "Memory benchmark"
        else:
            from course_utils.data.course_data import get_course_data

            info = get_course_data(args.data, progress=False)
            if args.command == "precision-accuracy":
                from .precision import accuracy_per_policy

                results = accuracy_per_policy(
                    Path(info.root), seeds=tuple(args.seeds), epochs=args.epochs or 10, progress=say
                )
                out = Path(args.out or "benchmarks/results/precision_accuracy.json")
                out.parent.mkdir(parents=True, exist_ok=True)
                cmd = portable("python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv))
                out.write_text(json.dumps({"command": cmd, "runs": results}, indent=1), encoding="utf-8")
                say(f"Written: {out}")
                return 0
            make = BenchConfig.quick if args.quick else BenchConfig.full
            cfg = make(args.epochs, args.mlp_epochs, args.repeats)
            say(f"Benchmark ({cfg.mode}) on {info.description}")
            result = run_benchmark(info.root, cfg, progress=say, data_kind=info.kind, precision=not args.no_precision)
            out, title = args.out or "build/bench.md", "Benchmark: ImageDataGenerator (lesson) vs course_utils"
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"Benchmark failed: {exc}", file=sys.stderr)
        return 1
    md, js = bench_report.write_outputs(result, out, title)
    print()
    print(bench_report.render_markdown(result, title))
    print(f"Written: {md} and {js}")
    return 0

"""A planted class graded as a teacher grades it: minutes, CPU, memory per submission, and whether each row is right.

``python -m benchmarks grading-class [--real 16] [--jobs 2] [--timeout 180]`` plants
``grading.planted``'s class (one of each hostile or broken notebook, ``--real`` of
each real one: right, wrong, blank; 61 submissions by default) in a temporary folder,
runs ``python -m grading`` on it and records ``benchmarks/results/grading_class.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course_utils.config import PROJECT_ROOT

from .machine import cpu_flags_summary, describe, load_text

RESULT = Path(PROJECT_ROOT) / "benchmarks" / "results" / "grading_class.json"


def main(argv: list[str] | None = None) -> int:
    from grading import planted

    parser = argparse.ArgumentParser(prog="python -m benchmarks grading-class")
    parser.add_argument("--real", type=int, default=16, help="copies of each real notebook (16: 61 submissions)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="clase-plantada-") as tmp:
        tmp = Path(tmp)
        (tmp / "entregas").mkdir()
        expected = planted.plant(tmp / "entregas", tmp / "botin", copies=1, real=args.real)
        load_before = load_text()
        start, usage = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        cmd = [sys.executable, "-m", "grading", str(tmp / "entregas"), "--out", str(tmp / "notas")]
        cmd += ["--jobs", str(args.jobs), "--timeout", str(args.timeout)]
        done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, start_new_session=True)
        seconds = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(tmp / "notas" / "grades.csv", encoding="utf-8") as f:
            rows = {r["student"].removesuffix("_02_mlp"): r for r in csv.DictReader(f)}
        wrong = []
        for name, (status, first, second, _review) in expected.items():
            r = rows.get(name, {})
            statuses = status if isinstance(status, tuple) else (status,)
            if r.get("status") not in statuses or (
                first is not None and (r.get("02.1"), r.get("02.2")) != (first, second)
            ):
                wrong.append(f"{name}: {r.get('status')} {r.get('02.1')} {r.get('02.2')}")
        peaks = sorted(float(r["peak_mb"]) for r in rows.values() if float(r["peak_mb"] or 0) > 0)
        real = [float(r["peak_mb"]) for n, r in rows.items() if n.startswith(("correcta", "incorrecta", "en_blanco"))]
        summary = (tmp / "notas" / "summary.md").read_text(encoding="utf-8")
    record = {
        "submissions": len(expected),
        "real_notebooks": 3 * args.real,
        "jobs": args.jobs,
        "timeout_s": args.timeout,
        "minutes": round(seconds / 60, 2),
        "cpu_seconds_children": round(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime, 1),
        "peak_mb_per_submission_max": max(peaks, default=0),
        "peak_mb_real_notebook_median": sorted(real)[len(real) // 2] if real else 0,
        "rows_not_as_expected": wrong,
        "grader_exit": done.returncode,
        "isolation": next((line for line in summary.splitlines() if "Aislamiento" in line), ""),
        "load_before": load_before,
        "load_after": load_text(),
        "cpu": cpu_flags_summary(),
        "machine": describe(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: record[k] for k in ("submissions", "minutes", "rows_not_as_expected")}, ensure_ascii=False))
    return 0 if not wrong and done.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

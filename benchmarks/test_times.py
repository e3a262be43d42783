"""Time a test target as a new user's machine runs it, and append the run to its record.

``python -m benchmarks test-times test`` (in a fresh clone, with no ``../shared`` beside it) creates
``.venv`` first if it is missing (timed apart), then runs ``make test`` with a new, empty home folder
(no ``~/.cache/curso-cnn``, no ``~/.keras``; removed afterwards) and float32 forced, and appends the
run to ``benchmarks/results/test_times.json``: wall, user and system seconds, pytest's summaries, the
commit, the CPU and whether ``../shared`` was there; then it regenerates the README (``make readme``),
so that the tree stays consistent for the next run (``test_readme`` checks the generated blocks).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from course_utils.artifacts import write_json
from course_utils.config import PROJECT_ROOT

RECORD = PROJECT_ROOT / "benchmarks" / "results" / "test_times.json"

#: pytest's closing line, with or without ``-q``'s padding: "=== 70 passed, 2 skipped in 250.61s (0:04:10) ===".
_SUMMARY = re.compile(r"^=*\s*(?P<counts>(?:\d+ [a-z]+(?:, )?)+|no tests ran) in [\d.]+s", re.MULTILINE)


def pytest_summaries(output: str) -> list[str]:
    """pytest's closing counts found in ``output``, in order (``["70 passed, 2 skipped", ...]``)."""
    return [m.group("counts") for m in _SUMMARY.finditer(output)]


def run_timed(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run ``command``, echoing its output; its exit status, output and wall, user and system seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    lines = []
    for line in process.stdout:  # type: ignore[union-attr]
        sys.stdout.write(line)
        lines.append(line)
    returncode = process.wait()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "returncode": returncode,
        "output": "".join(lines),
        "wall_seconds": round(wall, 1),
        "user_seconds": round(after.ru_utime - before.ru_utime, 1),
        "sys_seconds": round(after.ru_stime - before.ru_stime, 1),
    }


def fresh_home_env(home: Path, precision: str) -> dict[str, str]:
    """This environment as a new user's: ``HOME`` is ``home``, no course cache or mirror variables.

    ``precision`` "float32" is forced (as on a CPU without bf16 units); "auto" leaves the machine's choice.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "KERAS_", "XDG_"))}
    env["HOME"] = str(home)
    if precision != "auto":
        env["COURSE_PRECISION"] = precision
    return env


def _commit(cwd: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True, text=True)
    return done.stdout.strip() or "?"


def time_target(target: str, precision: str = "float32", cwd: Path = PROJECT_ROOT) -> dict[str, Any]:
    """``make <target>`` timed with a new empty home (``make venv`` first, apart, if ``.venv`` is missing)."""
    from .machine import cpu_flags_summary

    entry: dict[str, Any] = {"target": f"make {target}", "commit": _commit(cwd), "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory(prefix="curso-cnn-home-") as home:
        env = fresh_home_env(Path(home), precision)
        if not (cwd / ".venv" / ".installed").exists():
            entry["venv_seconds"] = run_timed(["make", "venv"], env, cwd)["wall_seconds"]
        run = run_timed(["make", target], env, cwd)
    cores = os.cpu_count() or 1
    gpu = "con GPU" if shutil.which("nvidia-smi") else "sin GPU"
    entry.update(
        command=f"python3 -m benchmarks test-times {target}   # HOME nuevo y vacío, COURSE_PRECISION={precision}",
        machine_words=f"una computadora de {cores} núcleos {gpu}",
        machine=f"{cores} cores; {cpu_flags_summary()}",
        precision=precision,
        shared_data=(cwd.parent / "shared" / "data").is_dir(),
        wall_seconds=run["wall_seconds"],
        user_seconds=run["user_seconds"],
        sys_seconds=run["sys_seconds"],
        result=f"rc {run['returncode']}: " + "; ".join(pytest_summaries(run["output"])),
    )
    return entry


def append_run(entry: dict[str, Any], record: Path = RECORD) -> None:
    """Add ``entry`` to ``record``'s runs, keeping everything already there."""
    try:
        data = json.loads(record.read_text())
        runs = data["runs"]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(
            f"No se pudo leer el registro {record} ({exc}). Recupéralo con `git checkout -- {record.name}` "
            "y vuelve a ejecutar: no se ha escrito nada."
        ) from exc
    runs.append(entry)
    write_json(record, data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks test-times", description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["test", "test-fast"], help="el objetivo de make que se mide")
    parser.add_argument("--precision", default="float32", choices=["float32", "auto"])
    parser.add_argument("--note", default="", help="una nota que se guarda con la ejecución")
    parser.add_argument("--record", type=Path, default=RECORD)
    args = parser.parse_args(argv)
    entry = time_target(args.target, args.precision)
    if args.note:
        entry["note"] = args.note
    append_run(entry, args.record)
    if args.record == RECORD:  # the README's block `pruebas` reads it
        subprocess.run(["make", "-s", "readme"], cwd=PROJECT_ROOT, check=True)
    print(f"make {args.target}: {entry['wall_seconds']} s ({entry['result']}); guardado en {args.record}")
    return 0 if entry["result"].startswith("rc 0") else 1

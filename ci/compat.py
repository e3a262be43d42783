"""Compatibility matrix: one fresh virtual environment per stack, then the tests.

    python3 ci/compat.py floor            # or pins, colab; see ci/stacks/*.txt
    python3 ci/compat.py --all            # the three stacks, then build/compat/summary.md
    python3 ci/compat.py --report         # summary.md from stacks run one by one

For a stack ``S`` (a pip constraints file ``ci/stacks/S.txt``):

1. a fresh venv (``--venv-root``, a temporary folder by default);
2. the user's TensorFlow: ``pip install -c S.txt tensorflow keras numpy``;
3. ``pip install -e .`` with no constraint, as a user would, then TensorFlow must
   still import and NumPy keep its version (installing never breaks the user's TF);
4. ``pip install -c S.txt -e .[tf,dev]`` (the stack's versions of everything);
5. the unit tests (``pytest -m "not notebooks"``) and 6. the smoke series.

Results (status, seconds, test counts, ``pip freeze``) go to
``build/compat/S/result.json`` and ``result.md``.  Standard library only: it runs
before any environment exists.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACK_DIR = ROOT / "ci" / "stacks"
#: What a user already has before installing the course: these come from the stack file.
USER_STACK = ("tensorflow", "keras", "numpy")
VERSIONS = (
    "import sys, numpy, tensorflow as tf, keras; "
    "print(sys.version.split()[0], tf.__version__, keras.__version__, numpy.__version__)"
)


def stacks() -> list[str]:
    """Names of the stacks (``ci/stacks/*.txt``)."""
    return sorted(p.stem for p in STACK_DIR.glob("*.txt"))


def _run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> tuple[int, float, str]:
    """Run ``cmd``, append its output to ``log``; return (exit code, seconds, last output line)."""
    start = time.perf_counter()
    with log.open("a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        fh.write(proc.stdout)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, time.perf_counter() - start, lines[-1] if lines else ""


def junit_counts(path: Path) -> dict[str, int]:
    """passed/failed/errors/skipped from a pytest ``--junitxml`` file."""
    if not path.is_file():
        return {}
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    n = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    return {
        "passed": n["tests"] - n["failures"] - n["errors"] - n["skipped"],
        "failed": n["failures"],
        "errors": n["errors"],
        "skipped": n["skipped"],
    }


def run_stack(
    stack: str, *, python: str, venv_root: Path, out_root: Path, series: bool = True, keep_venv: bool = False
) -> dict:
    """Build the stack's environment, run the checks; return the result record."""
    constraints = STACK_DIR / f"{stack}.txt"
    if not constraints.is_file():
        raise SystemExit(f"Pila desconocida: {stack}. Opciones: {', '.join(stacks())}")
    out = out_root / stack
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    log = out / "log.txt"
    venv = venv_root / stack
    shutil.rmtree(venv, ignore_errors=True)
    py = str(venv / "bin" / "python")
    pip = [py, "-m", "pip", "install", "-q"]
    env = dict(os.environ, COURSE_CACHE_DIR=os.environ.get("COURSE_CACHE_DIR", str(out / "cache")))
    env.pop("VIRTUAL_ENV", None)
    steps: list[dict] = []
    record = {"stack": stack, "constraints": str(constraints.relative_to(ROOT)), "steps": steps}

    def step(name: str, cmd: list[str]) -> bool:
        rc, secs, last = _run(cmd, log, env)
        steps.append(
            {"step": name, "ok": rc == 0, "seconds": round(secs, 1), "command": " ".join(cmd), "last_line": last[-300:]}
        )
        print(
            f"[{stack}] {name}: {'ok' if rc == 0 else 'FALLÓ'} en {secs:.0f} s"
            + ("" if rc == 0 else f" — {last[-200:]}"),
            flush=True,
        )
        return rc == 0

    started = time.perf_counter()
    ok = (
        step("venv", [python, "-m", "venv", str(venv)])
        and step("pip", pip + ["--upgrade", "pip"])
        and step("user-tensorflow", pip + ["-c", str(constraints), *USER_STACK])
    )
    if ok:
        before = subprocess.run([py, "-c", VERSIONS], capture_output=True, text=True).stdout.strip()
        record["user_stack"] = before
        ok = step("install-keeps-tf", pip + ["-e", "."])
        if ok:
            after = subprocess.run([py, "-c", VERSIONS], capture_output=True, text=True)
            kept = after.returncode == 0 and after.stdout.strip() == before
            steps[-1].update(ok=kept, after=after.stdout.strip() or after.stderr.strip().splitlines()[-1:])
            print(
                f"[{stack}] TensorFlow tras `pip install -e .`: {'intacto' if kept else 'ROTO o cambiado'} "
                f"(antes: {before}; después: {steps[-1]['after']})",
                flush=True,
            )
            ok = kept
    if ok:
        ok = step("install-stack", pip + ["-c", str(constraints), "-e", ".[tf,dev]"])
    if ok:
        record["versions"] = subprocess.run([py, "-c", VERSIONS], capture_output=True, text=True).stdout.strip()
        (out / "freeze.txt").write_text(
            subprocess.run([py, "-m", "pip", "freeze"], capture_output=True, text=True).stdout
        )
        junit = out / "unit.xml"
        ok = step(
            "unit-tests",
            [py, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests", "-m", "not notebooks", f"--junitxml={junit}"],
        )
        record["unit_tests"] = junit_counts(junit)
        if series:
            ok = (
                step(
                    "smoke-series",
                    [
                        py,
                        "-m",
                        "course_tools.series",
                        "--params",
                        "smoke",
                        "--keep-going",
                        "--out",
                        str(out / "series"),
                    ],
                )
                and ok
            )
    record["ok"] = ok and all(s["ok"] for s in steps)
    record["seconds"] = round(time.perf_counter() - started, 1)
    (out / "result.json").write_text(json.dumps(record, indent=2, ensure_ascii=False))
    (out / "result.md").write_text(markdown([record]))
    if not keep_venv:
        shutil.rmtree(venv, ignore_errors=True)
    return record


def markdown(records: list[dict]) -> str:
    """A results table: one row per stack."""
    lines = [
        "| pila | Python, TF, Keras, NumPy | `pip install -e .` deja TF intacto | tests unitarios | serie smoke | total |",
        "|---|---|---|---|---|---:|",
    ]
    for r in records:
        by = {s["step"]: s for s in r["steps"]}

        def mark(name: str, by: dict = by) -> str:
            if name not in by:
                return "—"
            return ("ok" if by[name]["ok"] else "falla") + f" ({by[name]['seconds']:.0f} s)"

        u = r.get("unit_tests") or {}
        unit = (
            f"{u.get('passed', 0)} ok, {u.get('failed', 0)} fallos, {u.get('errors', 0)} errores, "
            f"{u.get('skipped', 0)} omitidos"
            if u
            else "—"
        )
        if "unit-tests" in by:
            unit += f" ({by['unit-tests']['seconds']:.0f} s)"
        lines.append(
            f"| {r['stack']} | {r.get('versions') or r.get('user_stack', '—')} | {mark('install-keeps-tf')} | "
            f"{unit} | {mark('smoke-series')} | {r['seconds'] / 60:.1f} min |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stack", nargs="*", help=f"pilas: {', '.join(stacks())}")
    ap.add_argument("--all", action="store_true", help="todas las pilas")
    ap.add_argument("--python", default=sys.executable, help="intérprete con el que crear los entornos")
    ap.add_argument("--venv-root", default=str(Path(tempfile.gettempdir()) / "curso-cnn-compat"))
    ap.add_argument("--out", default=str(ROOT / "build" / "compat"))
    ap.add_argument("--no-series", action="store_true", help="sin la serie smoke")
    ap.add_argument("--keep-venv", action="store_true", help="no borrar el entorno al terminar")
    ap.add_argument(
        "--report",
        action="store_true",
        help="solo reunir los result.json existentes en summary.md (pilas corridas por separado)",
    )
    args = ap.parse_args(argv)
    if args.report:
        found = [json.loads(p.read_text()) for p in sorted(Path(args.out).glob("*/result.json"))]
        (Path(args.out) / "summary.md").write_text(markdown(found))
        print(markdown(found))
        return 0 if found and all(r["ok"] for r in found) else 1
    chosen = stacks() if args.all else args.stack
    if not chosen:
        ap.error(f"indica una pila ({', '.join(stacks())}) o --all")
    records = [
        run_stack(
            s,
            python=args.python,
            venv_root=Path(args.venv_root),
            out_root=Path(args.out),
            series=not args.no_series,
            keep_venv=args.keep_venv,
        )
        for s in chosen
    ]
    if len(records) > 1:
        (Path(args.out) / "summary.md").write_text(markdown(records))
    print(markdown(records))
    return 0 if all(r["ok"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Compatibility matrix: one fresh virtual environment per stack, then the tests.

    python3 ci/compat.py colab floor      # each stack on its own Python (STACK_PYTHON)
    python3 ci/compat.py colab --python 3.12   # a version (found with pyenv or on PATH) or a path
    python3 ci/compat.py --all            # the three stacks, then build/compat/summary.md
    python3 ci/compat.py --report         # summary.md from stacks run one by one
    python3 ci/compat.py --record-from build/compat   # add finished runs to ci/results/compat.json

Each stack runs on the Python of :data:`STACK_PYTHON` unless ``--python`` says
otherwise: ``colab`` on Colab's Python, ``floor`` on the oldest Python that
``pyproject.toml`` accepts.  A version is looked up in pyenv's installs
(``pyenv root``), then as ``pythonX.Y`` on ``PATH``; a missing one stops with a
Spanish message that says how to install it.

For a stack ``S`` (a pip constraints file ``ci/stacks/S.txt``):

1. a fresh venv (``--venv-root``, a temporary folder by default);
2. the user's TensorFlow: ``pip install -c S.txt tensorflow keras numpy``;
3. ``pip install -e .`` with no constraint, as a user would, then TensorFlow must
   still import and NumPy keep its version (installing never breaks the user's TF);
4. ``pip install -c S.txt -e .[tf,dev]`` (the stack's versions of everything);
5. the unit tests (``pytest -m "not notebooks"``) and 6. the smoke series.

Results (status, seconds, test counts, ``pip freeze``) go to
``build/compat/S/result.json`` and ``result.md``; ``--record FILE`` also keeps a
short entry per (stack, Python) in a tracked JSON (``ci/results/compat.json``,
from which ``make readme`` writes the README's compatibility table).  Standard
library only: it runs before any environment exists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACK_DIR = ROOT / "ci" / "stacks"
#: The tracked record of measured runs (``--record``); the README's table is generated from it.
RECORD = ROOT / "ci" / "results" / "compat.json"
#: What a user already has before installing the course: these come from the stack file.
USER_STACK = ("tensorflow", "keras", "numpy")
VERSIONS = (
    "import sys, numpy, tensorflow as tf, keras; "
    "print(sys.version.split()[0], tf.__version__, keras.__version__, numpy.__version__)"
)


def stacks() -> list[str]:
    """Names of the stacks (``ci/stacks/*.txt``)."""
    return sorted(p.stem for p in STACK_DIR.glob("*.txt"))


#: CPU features that change TensorFlow's speed on CPU (lscpu's flags), recorded with each run.
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "fma")


def cpu_flags(cpuinfo: str | None = None) -> list[str]:
    """The :data:`CPU_FLAGS` this machine has (from ``/proc/cpuinfo``; empty where it does not exist)."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.is_file() else ""
    have: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            have.update(line.split(":", 1)[1].split())
            break
    return [f for f in CPU_FLAGS if f in have]


def oldest_python(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The oldest ``X.Y`` that ``requires-python`` (``>=X.Y``) accepts."""
    found = re.search(r'requires-python\s*=\s*">=\s*(\d+\.\d+)', pyproject.read_text())
    if not found:
        raise SystemExit(f'{pyproject.name} no declara requires-python = ">=X.Y": no sé qué Python es el mínimo.')
    return found.group(1)


#: The Python each stack runs on when ``--python`` is not given: Colab's runtime for ``colab``
#: (update it with ci/stacks/colab.txt), the oldest supported for ``floor``, the one running this for ``pins``.
STACK_PYTHON = {"colab": "3.13", "floor": oldest_python(), "pins": None}


def _pyenv_root() -> Path | None:
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        proc = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        root = proc.stdout.strip() if proc.returncode == 0 else None
    return Path(root) if root else None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", name))


def find_python(wanted: str | None, pyenv_root: Path | None = None, path: str | None = None) -> str:
    """The interpreter for ``wanted``: ``None`` (this one), a path or command, or a version ``X.Y``.

    A version is taken from pyenv's installs (the newest ``X.Y.Z`` under ``<pyenv root>/versions``),
    else ``pythonX.Y`` on ``PATH``; ``SystemExit`` with a Spanish message when there is none.
    """
    if wanted is None:
        return sys.executable
    if not re.fullmatch(r"\d+\.\d+", wanted):
        found = shutil.which(wanted, path=path)
        if not found:
            raise SystemExit(f"No encuentro el intérprete {wanted!r}: indica una ruta que exista o una versión X.Y.")
        return found
    root = pyenv_root if pyenv_root is not None else _pyenv_root()
    if root is not None:
        installs = [
            d
            for d in (root / "versions").glob(f"{wanted}.*")
            if re.fullmatch(rf"{re.escape(wanted)}\.\d+", d.name) and (d / "bin" / f"python{wanted}").is_file()
        ]
        if installs:
            newest = max(installs, key=lambda d: _version_key(d.name))
            return str(newest / "bin" / f"python{wanted}")
    found = shutil.which(f"python{wanted}", path=path)
    if found:
        return found
    raise SystemExit(
        f"No encuentro Python {wanted} (ni en pyenv ni como python{wanted} en el PATH). "
        f"Instálalo con `pyenv install {wanted}` o indica otro intérprete con `--python RUTA` "
        f"(en make: `make compat STACK=... COMPAT_PYTHON=RUTA`)."
    )


def _entry(result: dict) -> dict:
    """The short record of one run kept in :data:`RECORD`."""
    python, tf, keras, numpy = ((result.get("versions") or result.get("user_stack") or "").split() + ["?"] * 4)[:4]
    steps = {s["step"]: s for s in result.get("steps", [])}
    return {
        "stack": result["stack"],
        "python": python,
        "tensorflow": tf,
        "keras": keras,
        "numpy": numpy,
        "outcome": "ok" if result.get("ok") else "falla",
        "failed_steps": [name for name, s in steps.items() if not s["ok"]],
        "install_keeps_tf": steps["install-keeps-tf"]["ok"] if "install-keeps-tf" in steps else None,
        "unit_tests": result.get("unit_tests") or {},
        "smoke_series": (steps["smoke-series"]["ok"] if "smoke-series" in steps else None),
        "seconds": result.get("seconds"),
        "step_seconds": {name: s["seconds"] for name, s in steps.items()},
        "date": result.get("date"),
        "cpu_flags": result.get("cpu_flags"),
        "cores": result.get("cores"),
    }


def record_results(results: list[dict], path: Path = RECORD) -> list[dict]:
    """Add each run to ``path`` (one entry per stack and Python ``X.Y``, the newest wins); return all entries."""
    entries = json.loads(path.read_text())["runs"] if path.is_file() else []

    def key(e: dict) -> tuple[str, str]:
        return e["stack"], ".".join(e["python"].split(".")[:2])

    for new in map(_entry, results):
        entries = [e for e in entries if key(e) != key(new)] + [new]
    entries.sort(key=lambda e: (e["stack"], _version_key(e["python"])))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "about": "Compatibility matrix runs (ci/compat.py --record); `make readme` writes the README's table from it.",
        "runs": entries,
    }
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return entries


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
    record = {
        "stack": stack,
        "constraints": str(constraints.relative_to(ROOT)),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "steps": steps,
    }

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
    ap.add_argument(
        "--python",
        help="versión X.Y (pyenv o PATH) o ruta del intérprete; por defecto, la de cada pila (STACK_PYTHON)",
    )
    ap.add_argument("--venv-root", default=str(Path(tempfile.gettempdir()) / "curso-cnn-compat"))
    ap.add_argument("--out", default=str(ROOT / "build" / "compat"))
    ap.add_argument("--no-series", action="store_true", help="sin la serie smoke")
    ap.add_argument("--keep-venv", action="store_true", help="no borrar el entorno al terminar")
    ap.add_argument(
        "--report",
        action="store_true",
        help="solo reunir los result.json existentes en summary.md (pilas corridas por separado)",
    )
    ap.add_argument(
        "--record", type=Path, help=f"añadir los resultados a este JSON (p. ej. {RECORD.relative_to(ROOT)})"
    )
    ap.add_argument(
        "--record-from", type=Path, help="añadir a --record los result.json ya escritos en esta carpeta y salir"
    )
    args = ap.parse_args(argv)
    if args.record_from:
        found = [json.loads(p.read_text()) for p in sorted(args.record_from.glob("*/result.json"))]
        if not found:
            raise SystemExit(f"No hay ningún */result.json en {args.record_from}: corre antes una pila.")
        record_results(found, args.record or RECORD)
        return 0
    if args.report:
        found = [json.loads(p.read_text()) for p in sorted(Path(args.out).glob("*/result.json"))]
        (Path(args.out) / "summary.md").write_text(markdown(found))
        print(markdown(found))
        return 0 if found and all(r["ok"] for r in found) else 1
    chosen = stacks() if args.all else args.stack
    if not chosen:
        ap.error(f"indica una pila ({', '.join(stacks())}) o --all")
    for s in chosen:
        if s not in stacks():
            raise SystemExit(f"Pila desconocida: {s}. Opciones: {', '.join(stacks())}")
    pythons = {s: find_python(args.python or STACK_PYTHON.get(s)) for s in chosen}  # all found before any run
    records = [
        run_stack(
            s,
            python=pythons[s],
            venv_root=Path(args.venv_root),
            out_root=Path(args.out),
            series=not args.no_series,
            keep_venv=args.keep_venv,
        )
        for s in chosen
    ]
    if args.record:
        record_results(records, args.record)
    if len(records) > 1:
        (Path(args.out) / "summary.md").write_text(markdown(records))
    print(markdown(records))
    return 0 if all(r["ok"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())

"""binder/: what repo2docker reads (pinned requirements, runtime, postBuild) agrees with the project."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier  # exactly one specifier: an exact pin
            assert spec.operator == "==", f"{path.name}: {line} no está fijado con =="
            pins[req.name.lower()] = spec.version
    return pins


def test_requirements_pin_every_runtime_dependency_within_the_declared_ranges():
    pins = _pins(BINDER / "requirements.txt")
    for text in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["tf"]:
        req = Requirement(text)
        assert req.name.lower() in pins, f"binder/requirements.txt no fija {req.name}"
        assert req.specifier.contains(pins[req.name.lower()]), (text, pins[req.name.lower()])
    colab = _pins(ROOT / "ci" / "stacks" / "colab.txt")
    assert {k: pins[k] for k in colab} == colab, "TensorFlow, Keras y NumPy de Binder son los de Colab"
    assert {"papermill", "ipykernel"} <= set(pins)  # the series runs inside Binder


def test_runtime_is_a_supported_python():
    (line,) = (BINDER / "runtime.txt").read_text().split()
    major, minor = map(int, re.fullmatch(r"python-(\d+)\.(\d+)", line).groups())
    low = tuple(map(int, re.search(r">=\s*(\d+)\.(\d+)", PROJECT["requires-python"]).groups()))
    assert (major, minor) >= low


def test_postbuild_installs_the_package_without_dependencies_and_the_course_kernel():
    post = BINDER / "postBuild"
    assert post.stat().st_mode & 0o111, "postBuild debe ser ejecutable"
    commands = [line for line in post.read_text().splitlines() if line and not line.startswith("#")]
    assert commands == [
        "set -euo pipefail",
        "python -m pip install --no-deps -e .",
        "python -m course_tools.kernel install-kernel",
    ]
    assert "-m course_tools.kernel install-kernel" in (ROOT / "Makefile").read_text()  # as `make venv` does

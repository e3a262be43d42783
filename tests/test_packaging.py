"""The repository's set-up files agree with each other and with the README."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

from course_utils import config
from course_utils.params import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower()


def test_hard_requirements_leave_colab_tensorflow_alone():
    """Installing course_utils in Colab must not replace Colab's TensorFlow or Keras."""
    names = {_name(r) for r in PROJECT["dependencies"]}
    assert not names & {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "keras", "tf-keras"}, names
    extra = {_name(r) for r in PROJECT["optional-dependencies"]["tf"]}
    assert {"tensorflow", "keras"} <= extra


def test_hard_requirements_installable_beside_colab_pins():
    """No hard requirement pins a version (== or upper bound) that a current Colab may not meet."""
    for req in PROJECT["dependencies"]:
        assert "==" not in req and "<" not in req, req


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    python = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    assert python == ["python=3.11"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert len(pip) == 1
    spec = pip[0]
    assert spec.startswith("-e .[") or spec.startswith(".[")
    extras = set(spec[spec.index("[") + 1:spec.index("]")].split(","))
    assert extras == set(PROJECT["optional-dependencies"]), "environment.yml debe instalar todos los extras"
    major, minor = 3, 11
    low = re.search(r">=\s*(\d+)\.(\d+)", PROJECT["requires-python"])
    assert (int(low.group(1)), int(low.group(2))) <= (major, minor)


def test_every_declared_dependency_is_importable():
    import importlib

    modules = {"pillow": "PIL", "scikit-learn": "sklearn", "pyyaml": "yaml", "tensorflow": "tensorflow",
               "jupyterlab": "jupyterlab", "ipykernel": "ipykernel"}
    for req in PROJECT["dependencies"] + sum(PROJECT["optional-dependencies"].values(), []):
        name = _name(req)
        importlib.import_module(modules.get(name, name.replace("-", "_")))


def test_ci_runs_the_readme_test_command():
    run = (ROOT / ".ci" / "run").read_text()
    commands = [line.strip() for line in run.splitlines() if line.strip() and not line.startswith("#")
                and not line.startswith(("set ", "cd "))]
    assert commands == ["make test"]
    assert "make test" in (ROOT / "README.md").read_text()


def test_repository_address_written_once():
    """Badges and Colab install cells use config's address (the one place it is written)."""
    readme = (ROOT / "README.md").read_text()
    for nb in NOTEBOOKS:
        assert config.colab_url(f"{nb}.ipynb") in readme, nb
        cells = json.loads((ROOT / "notebooks" / f"{nb}.ipynb").read_text())["cells"]
        setup = [c for c in cells if c["cell_type"] == "code"][1]  # the start cell, after the parameters
        src = "".join(setup["source"])
        assert config.PIP_SPEC in src, f"{nb}: la celda de instalación debe usar {config.PIP_SPEC}"
        assert "google.colab" in src, f"{nb}: la instalación debe limitarse a Colab"
    addresses = set(re.findall(r"github\.com/([\w.-]+/[\w.-]+?)(?:/|@|\.git|\)|$)", readme))
    assert addresses <= {config.REPO}, addresses


def test_workflows_are_valid():
    cpu = yaml.safe_load((ROOT / ".github/workflows/cpu.yml").read_text())
    gpu = yaml.safe_load((ROOT / ".github/workflows/gpu.yml").read_text())
    for wf in (cpu, gpu):
        assert True in wf or "on" in wf  # PyYAML reads the key `on` as True
        for job in wf["jobs"].values():
            assert job["runs-on"] and job["steps"]
            for step in job["steps"]:
                assert "run" in step or "uses" in step
    cpu_runs = " ".join(s.get("run", "") for s in cpu["jobs"]["test"]["steps"])
    assert "make test" in cpu_runs
    job = gpu["jobs"]["series"]
    assert job["runs-on"] == ["self-hosted", "gpu"]
    runs = " ".join(s.get("run", "") for s in job["steps"])
    assert "make gpu-ci PARAMS=gpu" in runs
    assert any("upload-artifact" in s.get("uses", "") for s in job["steps"])
    makefile = (ROOT / "Makefile").read_text()
    assert "list_physical_devices('GPU')" in makefile and "--check-levels" in makefile


def test_gitignore_keeps_data_and_builds_out():
    ignored = (ROOT / ".gitignore").read_text().split()
    for entry in ("build/", "artifacts/", ".venv/", "*.keras"):
        assert entry in ignored


def test_data_registry_file_matches_code():
    from course_utils.data import registry_records

    on_disk = json.loads((ROOT / "data" / "datasets.json").read_text())
    assert on_disk == json.loads(json.dumps(registry_records())), "regenera data/datasets.json (ver data/README.md)"
    names = {r["name"] for r in on_disk}
    assert {"cats_dogs_small", "cats_dogs_full", "external_cat", "external_dog", "cnn_improved_model"} <= names

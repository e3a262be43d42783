"""The repository's set-up files agree with each other and with the README."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

from course_utils import config
from course_utils.params.resolve import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[2]
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


def _stack(name: str) -> dict[str, str]:
    """``{package: version}`` of the ``==`` pins in ``ci/stacks/<name>.txt``."""
    pins = {}
    for line in (ROOT / "ci" / "stacks" / f"{name}.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            pkg, _, version = line.partition("==")
            pins[pkg.strip().lower()] = version.strip()
    return pins


def _runtime_requirements():
    from packaging.requirements import Requirement

    return [Requirement(r) for r in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["tf"]]


def test_requirements_admit_colab_versions():
    """Every requirement that names a package of Colab's stack (ci/stacks/colab.txt) admits Colab's version,
    so installing course_utils in Colab changes none of them."""
    colab = _stack("colab")
    assert {"tensorflow", "keras", "numpy"} <= set(colab)
    for req in _runtime_requirements():
        if req.name.lower() in colab:
            assert req.specifier.contains(colab[req.name.lower()]), (str(req), colab[req.name.lower()])


def test_declared_floors_are_the_tested_floor_stack():
    """Each runtime requirement's lower bound is the version ci/stacks/floor.txt pins (the floor tested)."""
    floor = _stack("floor")
    declared = {}
    for req in _runtime_requirements():
        lows = [s.version for s in req.specifier if s.operator == ">="]
        assert len(lows) == 1, f"{req}: declara un mínimo (>=)"
        declared[req.name.lower()] = lows[0]
    for name, low in declared.items():
        assert name in floor, f"{name} falta en ci/stacks/floor.txt"
        assert floor[name].startswith(low) and (floor[name] == low or floor[name][len(low)] == "."), (
            name,
            low,
            floor[name],
        )
    assert set(floor) == set(declared), set(floor) ^ set(declared)


#: Extras only for a maintainer's check in a throw-away venv, never the project's .venv
#: (`port-check`: torch + timm for benchmarks/lite0_port_check.py).
MAINTAINER_EXTRAS = ("port-check",)


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    python = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    assert python == ["python=3.11"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert len(pip) == 1
    spec = pip[0]
    assert spec.startswith("-e .[") or spec.startswith(".[")
    extras = set(spec[spec.index("[") + 1 : spec.index("]")].split(","))
    assert extras == set(PROJECT["optional-dependencies"]) - {"gpu", "site", *MAINTAINER_EXTRAS}, (
        "environment.yml: todos los extras salvo gpu, site y los del mantenedor (no son parte de la instalación "
        "del alumno)"
    )
    major, minor = 3, 11
    low = re.search(r">=\s*(\d+)\.(\d+)", PROJECT["requires-python"])
    assert (int(low.group(1)), int(low.group(2))) <= (major, minor)


def test_every_declared_dependency_is_importable():
    import importlib

    modules = {
        "pillow": "PIL",
        "scikit-learn": "sklearn",
        "pyyaml": "yaml",
        "pytest-xdist": "xdist",
        "tensorflow": "tensorflow",
        "jupyterlab": "jupyterlab",
        "ipykernel": "ipykernel",
    }
    # `site`: only `make site` installs it; the maintainer's extras go into a throw-away venv.
    extras = {k: v for k, v in PROJECT["optional-dependencies"].items() if k not in ("site", *MAINTAINER_EXTRAS)}
    for req in PROJECT["dependencies"] + sum(extras.values(), []):
        name = _name(req)
        importlib.import_module(modules.get(name, name.replace("-", "_")))


def test_ci_runs_the_readme_test_command():
    run = (ROOT / ".ci" / "run").read_text()
    commands = [
        line.strip()
        for line in run.splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))
    ]
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
    texts = [readme] + [(ROOT / "source" / f"{nb}.ipynb").read_text() for nb in NOTEBOOKS]
    for text in texts:  # the README and every notebook's links (e.g. 01's link to the glossary)
        addresses = set(re.findall(r"github\.com/([\w.-]+/[\w.-]+?)(?:/|@|\.git|\)|$)", text))
        assert addresses <= {config.REPO}, addresses


WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _make_commands(job: dict) -> list[list[str]]:
    """The ``make ...`` commands of a job's steps, once per matrix entry (``${{ matrix.x }}`` filled in)."""
    import shlex

    entries = job.get("strategy", {}).get("matrix", {}).get("include") or [{}]
    commands = []
    for entry in entries:
        for step in job["steps"]:
            run = step.get("run", "")
            for key, value in entry.items():
                run = re.sub(r"\$\{\{\s*matrix\." + key + r"\s*\}\}", str(value), run)
            assert "${{" not in run or "make" not in run, run
            for line in run.splitlines():
                words = shlex.split(line)
                if words[:1] == ["make"]:
                    commands.append(words)
    return commands


def _dry_run(words: list[str]) -> str:
    """``make -n`` of a workflow's make command: what it would run (fails if the target does not exist)."""
    import subprocess

    proc = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (words, proc.stderr)
    return proc.stdout


def test_workflows_parse_and_their_make_commands_exist():
    assert {p.name for p in WORKFLOWS} >= {"cpu.yml", "gpu.yml", "compat.yml"}
    for path in WORKFLOWS:
        wf = yaml.safe_load(path.read_text())
        assert True in wf or "on" in wf, path.name  # PyYAML reads the key `on` as True
        for name, job in wf["jobs"].items():
            assert job["runs-on"] and job["steps"], (path.name, name)
            for step in job["steps"]:
                assert "run" in step or "uses" in step, (path.name, step)
            for words in _make_commands(job):
                _dry_run(words)


def test_cpu_workflow_runs_make_test():
    job = yaml.safe_load((ROOT / ".github/workflows/cpu.yml").read_text())["jobs"]["test"]
    assert [w[1] for w in _make_commands(job)] == ["test"]


def test_compat_workflow_runs_every_stack_on_colab_pythons():
    job = yaml.safe_load((ROOT / ".github/workflows/compat.yml").read_text())["jobs"]["stack"]
    entries = job["strategy"]["matrix"]["include"]
    stacks = {p.stem for p in (ROOT / "ci" / "stacks").glob("*.txt")}
    assert {e["stack"] for e in entries} == stacks
    assert {e["python"] for e in entries if e["stack"] == "colab"} >= {"3.12", "3.13"}
    for words in _make_commands(job):
        stack = next(w.split("=", 1)[1] for w in words if w.startswith("STACK="))
        assert f"ci/compat.py {stack}" in _dry_run(words)


def test_site_workflow_runs_the_cpu_series_builds_and_publishes_to_pages():
    wf = yaml.safe_load((ROOT / ".github/workflows/site.yml").read_text())
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    assert [w[1:] for w in _make_commands(build)] == [
        ["notebooks", "PARAMS=cpu", "PYTHON=python"],
        ["site", "PARAMS=cpu", "PYTHON=python"],
    ]
    upload = next(s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "build/site/html"
    assert deploy["needs"] == "build" and any("deploy-pages" in s.get("uses", "") for s in deploy["steps"])
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    plan = _dry_run(["make", "site", "PARAMS=cpu"])
    assert "course_tools.course_site --params cpu" in plan


def test_site_extra_is_not_in_the_student_install():
    """`make venv` (and so `make test` and the students' local install) does not pull the site builder."""
    site = {_name(r) for r in PROJECT["optional-dependencies"]["site"]}
    assert {"sphinx", "myst-nb", "sphinx-book-theme"} <= site
    student = {_name(r) for k in ("tf", "dev") for r in PROJECT["optional-dependencies"][k]}
    assert not site & (student | {_name(r) for r in PROJECT["dependencies"]})


def test_gpu_workflow_installs_a_gpu_build_and_runs_series_levels_and_nbval():
    job = yaml.safe_load((ROOT / ".github/workflows/gpu.yml").read_text())["jobs"]["series"]
    assert job["runs-on"] == ["self-hosted", "gpu"]
    assert any("upload-artifact" in s.get("uses", "") for s in job["steps"])
    (words,) = _make_commands(job)
    plan = _dry_run(words)
    assert "PARAMS=gpu" in words
    assert '-e ".[gpu,dev]"' in plan and "list_physical_devices('GPU')" in plan
    assert "course_tools.series --params gpu" in plan and "--check-levels build/gpu/summary.json" in plan
    assert "--nbval-lax" in plan
    gpu_extra = PROJECT["optional-dependencies"]["gpu"]
    assert any(r.startswith("tensorflow[and-cuda]") for r in gpu_extra)
    dry = _dry_run(["make", "gpu-ci", "PARAMS=smoke", "REQUIRE_GPU=0"])
    assert "[gpu" not in dry and "course_tools.series --params smoke" in dry and "--nbval-lax" in dry


def test_gitignore_keeps_data_and_builds_out():
    ignored = (ROOT / ".gitignore").read_text().split()
    for entry in ("build/", "artifacts/", ".venv/", "*.keras"):
        assert entry in ignored


def test_data_registry_file_matches_code():
    from course_utils.data.catalog import registry_records

    on_disk = json.loads((ROOT / "data" / "datasets.json").read_text())
    assert on_disk == json.loads(json.dumps(registry_records())), "regenera data/datasets.json (ver data/README.md)"
    names = {r["name"] for r in on_disk}
    assert {"cats_dogs_small", "cats_dogs_full", "external_cat", "external_dog", "cnn_improved_model"} <= names

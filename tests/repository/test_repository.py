"""Repository-wide rules: no folder of a maintainer's machine reaches what students and users read."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from course_utils import config

ROOT = Path(__file__).resolve().parents[2]
#: A path of somebody's machine: a home folder, root's, the workplace's, or a temporary folder.
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|root|home/[^/\s\"']+|Users/[^/\s\"']+|tmp)/")
#: Documented defaults that are meant to be typed as they are.
ALLOWED = ("/tmp/curso-cnn-compat/",)
#: Tests name such paths on purpose (zip-escape and unsafe-path cases).
SKIP_DIRS = ("tests/",)
TEXT = (".py", ".ipynb", ".json", ".md", ".yml", ".yaml", ".toml", ".cfg", ".txt", ".sh", ".in", "Makefile", "run")


def tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("sin git: no se puede listar los archivos del repositorio")
    names = [n for n in out.split("\0") if n and n.endswith(TEXT) and not n.startswith(SKIP_DIRS)]
    return [ROOT / n for n in names if (ROOT / n).is_file()]


def machine_paths(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        for allowed in ALLOWED:
            line = line.replace(allowed, "")
        if MACHINE_PATH.search(line):
            found.append(line.strip()[:160])
    return found


def test_the_pattern_finds_machine_paths_and_leaves_urls_alone():
    def at(*parts: str) -> str:  # a machine path, built so that this file holds none literally
        return "/" + "/".join(parts)

    assert machine_paths(f'"output": "{at("tmp", "fresh", "main", "build", "x.ipynb")}"')
    assert (
        machine_paths(f"--out {at('work', 'runs', 'a.json')}")
        and machine_paths(f"cd {at('home', 'ana', 'curso')}")
        and machine_paths(at("root", ".cache"))
    )
    assert not machine_paths("https://example.org/work/tmp/ and build/runs/a.json, ~/.keras/models/")
    assert not machine_paths("make compat crea /tmp/curso-cnn-compat/ y lo borra")


@pytest.mark.local_files  # git's list of files: `make test`'s plain copy has no .git, its first pass runs it
def test_no_tracked_file_keeps_a_path_of_the_machine_that_wrote_it():
    bad = {
        str(p.relative_to(ROOT)): hits
        for p in tracked_text_files()
        if (hits := machine_paths(p.read_text(errors="ignore")))
    }
    assert not bad, f"rutas de una máquina concreta (usa rutas relativas al repositorio): {bad}"


def test_portable_strips_the_repository_and_home_folders(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path / "repo")
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path / "home"))
    command = f"python x.py --out {tmp_path}/repo/build/runs/a.json --cache {tmp_path}/home/.cache/curso-cnn"
    assert config.portable(command) == "python x.py --out build/runs/a.json --cache ~/.cache/curso-cnn"
    assert config.portable(tmp_path / "repo" / "build" / "n.ipynb") == "build/n.ipynb"
    assert config.portable("/elsewhere/n.ipynb") == "/elsewhere/n.ipynb"

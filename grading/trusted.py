"""The grader's own copy of the checks, and the fingerprints that tell whether a submission changed anything.

At the grader's start :func:`make_copy` copies ``course_utils``, ``grading`` and the
shipped student notebooks into a private folder; the judge imports only from it.
:func:`snapshot` fingerprints the repository's packages (content) and the virtual
environment (sizes and times), before and after each submission.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = ("course_utils", "grading")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def make_copy(repo: Path, dest: Path) -> None:
    """Copy the packages and ``notebooks/*.ipynb`` of ``repo`` to ``dest`` (no caches, no links followed)."""
    for name in PACKAGES:
        shutil.copytree(repo / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), symlinks=True)
    (dest / "notebooks").mkdir(parents=True, exist_ok=True)
    for nb in (repo / "notebooks").glob("*.ipynb"):
        shutil.copy2(nb, dest / "notebooks" / nb.name)


def package_hashes(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of the packages under ``root``."""
    out = {}
    for name in PACKAGES:
        for p in _files(root / name):
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def environment_stats() -> dict[str, tuple[int, int]]:
    """``{path: (size, mtime_ns)}`` of every file of the virtual environment's ``site-packages``."""
    out = {}
    for root in {p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix)}:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                out[path] = (st.st_size, st.st_mtime_ns)
    return out


def snapshot(repo: Path, environment: bool = True) -> tuple[dict, dict]:
    """The packages' hashes and (if ``environment``) the environment's file stats, to compare before and after."""
    return package_hashes(repo), environment_stats() if environment else {}


def changes(before: tuple[dict, dict], after: tuple[dict, dict]) -> list[str]:
    """Paths whose content (packages) or size/time (environment) differ, added or removed."""
    out = []
    for old, new in zip(before, after, strict=True):
        out += sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return out


def restore(repo: Path, copy: Path, paths: list[str]) -> None:
    """Put back the packages' files from the grader's copy (files a submission added are removed)."""
    for rel in paths:
        if rel.split("/")[0] not in PACKAGES:
            continue
        src, dst = copy / rel, repo / rel
        if src.is_file():
            shutil.copy2(src, dst)
        elif dst.is_file():
            dst.unlink()


def local_edits(repo: Path) -> list[str]:
    """Files of the packages that differ from git's last commit (empty without git)."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--", *PACKAGES],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line[3:] for line in out.splitlines() if line.strip()]

"""course_utils.folders: the artifacts folder is checked before any training."""

from __future__ import annotations

import pytest

from course_utils import folders


def test_writable_artifacts_dir_creates_the_folder_and_leaves_nothing(tmp_path):
    path = folders.writable_artifacts_dir(str(tmp_path / "a" / "b"))
    assert path == (tmp_path / "a" / "b").resolve() and path.is_dir() and list(path.iterdir()) == []


def test_writable_artifacts_dir_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(folders.FolderNotWritableError, match="es un archivo"):
        folders.writable_artifacts_dir(str(tmp_path / "f"))
    assert (tmp_path / "f").read_text() == "x"

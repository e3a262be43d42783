"""split_folder: the folder image_dataset_from_directory reads (clean, capped), built safely."""

from __future__ import annotations

import pytest

from course_utils.split_folders import split_folder


def _count(folder):
    return {c.name: len(list(c.iterdir())) for c in sorted(folder.iterdir())}


def test_clean_split_without_cap_is_the_split_itself(tiny_dataset, isolated_course_env):
    assert split_folder(tiny_dataset, "train") == tiny_dataset / "train"


def test_cap_gives_a_view_with_at_most_n_per_class(tiny_dataset, isolated_course_env, tree_snapshot):
    before = tree_snapshot(tiny_dataset)
    view = split_folder(tiny_dataset, "train", max_per_class=2)
    assert view != tiny_dataset / "train" and _count(view) == {"cats": 2, "dogs": 2}
    assert split_folder(tiny_dataset, "train", max_per_class=2) == view  # built once, reused
    assert tree_snapshot(tiny_dataset) == before  # the data is never touched
    assert not list(view.parent.glob("*.tmp-*"))


def test_broken_image_is_left_out_of_the_view(dataset_copy, isolated_course_env):
    import keras

    broken = dataset_copy / "validation" / "cats" / "roto.jpg"
    broken.write_bytes(b"\xff\xd8 no es una imagen")
    total = _count(dataset_copy / "validation")
    with pytest.warns(UserWarning):
        view = split_folder(dataset_copy, "validation")
    assert view != dataset_copy / "validation"
    assert _count(view) == {"cats": total["cats"] - 1, "dogs": total["dogs"]}
    assert broken.exists()  # nothing deleted
    ds = keras.utils.image_dataset_from_directory(view, batch_size=None, image_size=(8, 8), verbose=False)
    assert sum(1 for _ in ds) == total["cats"] - 1 + total["dogs"]


def test_missing_split_says_what_to_do_in_spanish(tmp_path, isolated_course_env):
    with pytest.raises(FileNotFoundError, match="No existe la carpeta .*Vuelve a ejecutar"):
        split_folder(tmp_path, "train")


def test_a_race_with_another_process_leaves_no_temporary_folder(tiny_dataset, isolated_course_env, monkeypatch):
    """Two notebooks at once: when the other one renames its view first, ours is removed, nothing half-built stays."""
    from pathlib import Path

    def other_process_won(self, target):
        raise OSError("el otro proceso ya creó la vista")

    monkeypatch.setattr(Path, "rename", other_process_won)
    view = split_folder(tiny_dataset, "test", max_per_class=1)
    assert not view.exists() and not list(view.parent.glob("*.tmp-*"))

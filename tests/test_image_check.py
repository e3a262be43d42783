"""The one decode check shared by the validation and the loaders, and what it remembers."""

from __future__ import annotations

import pytest
from course_testing import CORRUPT_IMAGES, gif_without_trailer, jpeg_bytes

from course_utils import image_check


@pytest.mark.parametrize("name", list(CORRUPT_IMAGES))
def test_corrupt_but_complete_images_are_not_ok(tmp_path, name):
    ext, make = CORRUPT_IMAGES[name]
    p = tmp_path / f"x.{ext}"
    p.write_bytes(make())
    assert image_check.check_image(p)[0] in ("unreadable", "truncated")


def test_gif_without_its_trailer_is_a_good_image(tmp_path):
    p = tmp_path / "x.gif"
    p.write_bytes(gif_without_trailer())
    assert image_check.check_image(p) == ("ok", "P")


def test_check_images_remembers_results_by_size_and_time(tmp_path, monkeypatch):
    folder = tmp_path / "cats"
    folder.mkdir()
    good, bad = folder / "a.jpg", folder / "b.jpg"
    good.write_bytes(jpeg_bytes(1))
    bad.write_bytes(b"hola")
    cache = tmp_path / "cache"
    assert image_check.check_images([good, bad], cache=cache) == [("ok", "RGB"), ("not_image", None)]
    calls = []
    real = image_check.check_image
    monkeypatch.setattr(image_check, "check_image", lambda p: calls.append(p) or real(p))
    image_check._memory.clear()  # a new process: only the file under the cache remembers
    assert image_check.check_images([good, bad], cache=cache) == [("ok", "RGB"), ("not_image", None)]
    assert calls == []
    bad.write_bytes(jpeg_bytes(2))  # changed: checked again
    assert image_check.check_images([good, bad], cache=cache) == [("ok", "RGB"), ("ok", "RGB")]
    assert calls == [bad]


def test_check_images_works_with_a_read_only_cache(tmp_path):
    p = tmp_path / "a.jpg"
    p.write_bytes(jpeg_bytes(1))
    blocker = tmp_path / "no_es_carpeta"
    blocker.write_text("x")  # the cache "folder" is a file: nothing can be remembered on disk
    assert image_check.check_images([p], cache=blocker) == [("ok", "RGB")]

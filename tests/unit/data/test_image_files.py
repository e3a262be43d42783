"""course_utils.data.image_files: the one decode check and what it remembers; class names, counts, sizes, validation, the file lists the loaders use; split folders for image_dataset_from_directory."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from course_testing import CORRUPT_IMAGES, TINY_COUNTS, gif_without_trailer, huge_png_bytes, jpeg_bytes
from PIL import Image

from course_utils.data import image_files
from course_utils.data.image_files import split_folder


@pytest.mark.parametrize("name", list(CORRUPT_IMAGES))
def test_corrupt_but_complete_images_are_not_ok(tmp_path, name):
    ext, make = CORRUPT_IMAGES[name]
    p = tmp_path / f"x.{ext}"
    p.write_bytes(make())
    assert image_files.check_image(p)[0] in ("unreadable", "truncated")


def test_gif_without_its_trailer_is_a_good_image(tmp_path):
    p = tmp_path / "x.gif"
    p.write_bytes(gif_without_trailer())
    assert image_files.check_image(p) == ("ok", "P")


def test_check_images_remembers_results_by_size_and_time(tmp_path, monkeypatch):
    folder = tmp_path / "cats"
    folder.mkdir()
    good, bad = folder / "a.jpg", folder / "b.jpg"
    good.write_bytes(jpeg_bytes(1))
    bad.write_bytes(b"hola")
    cache = tmp_path / "cache"
    assert image_files.check_images([good, bad], cache=cache) == [("ok", "RGB"), ("not_image", None)]
    calls = []
    real = image_files.check_image
    monkeypatch.setattr(image_files, "check_image", lambda p: calls.append(p) or real(p))
    image_files.forget_checks()  # as a new process: only the file under the cache remembers
    assert image_files.check_images([good, bad], cache=cache) == [("ok", "RGB"), ("not_image", None)]
    assert calls == []
    bad.write_bytes(jpeg_bytes(2))  # changed: checked again
    assert image_files.check_images([good, bad], cache=cache) == [("ok", "RGB"), ("ok", "RGB")]
    assert calls == [bad]


def test_check_images_works_with_a_read_only_cache(tmp_path):
    p = tmp_path / "a.jpg"
    p.write_bytes(jpeg_bytes(1))
    blocker = tmp_path / "no_es_carpeta"
    blocker.write_text("x")  # the cache "folder" is a file: nothing can be remembered on disk
    assert image_files.check_images([p], cache=blocker) == [("ok", "RGB")]


def test_class_names_sorted_and_hidden_ignored(tmp_path):
    for name in ("perros", "gatos", ".ipynb_checkpoints", "aves"):
        (tmp_path / name).mkdir()
    (tmp_path / "nota.txt").write_text("x")
    assert image_files.class_names(tmp_path) == ["aves", "gatos", "perros"]


def test_class_names_missing_folder_explains(tmp_path):
    with pytest.raises(FileNotFoundError, match="DATA_SOURCE"):
        image_files.class_names(tmp_path / "train")


def test_count_images(tiny_dataset):
    table = image_files.count_images(tiny_dataset)
    assert list(table.index) == ["train", "validation", "test"]
    for split, n in TINY_COUNTS.items():
        assert table.loc[split, "cats"] == n and table.loc[split, "dogs"] == n
        assert table.loc[split, "total"] == 2 * n


def test_count_images_ignores_non_image_names(dataset_copy):
    (dataset_copy / "train" / "cats" / "notas.txt").write_text("x")
    (dataset_copy / "train" / "cats" / ".DS_Store").write_bytes(b"\0")
    assert image_files.count_images(dataset_copy).loc["train", "cats"] == TINY_COUNTS["train"]


def test_image_sizes_match_headers(tiny_dataset):
    df = image_files.image_sizes(tiny_dataset / "train")
    assert len(df) == 2 * TINY_COUNTS["train"]
    assert list(df.columns) == ["path", "class", "width", "height"]
    for row in df.itertuples():
        with Image.open(row.path) as im:
            assert (row.width, row.height) == im.size
        assert Path(row.path).parent.name == row[2]
    assert len(image_files.image_sizes(tiny_dataset / "train", max_per_class=2)) == 4


def test_image_sizes_skips_unreadable(dataset_copy):
    (dataset_copy / "train" / "cats" / "roto.jpg").write_text("no soy una imagen")
    assert len(image_files.image_sizes(dataset_copy / "train")) == 2 * TINY_COUNTS["train"]


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("rgb", ("ok", "RGB")),
        ("gray", ("ok", "L")),
        ("cmyk", ("ok", "CMYK")),
        ("rgba_png", ("ok", "RGBA")),
        ("truncated", ("truncated", None)),
        ("zero", ("unreadable", None)),
        ("text", ("not_image", None)),
        ("webp", ("unsupported", "RGB")),
    ],
)
def test_check_image(tmp_path, kind, expected):
    p = tmp_path / ("x.png" if kind == "rgba_png" else "x.jpg")
    if kind in ("rgb", "gray", "cmyk"):
        p.write_bytes(jpeg_bytes(1, (40, 30), {"rgb": "RGB", "gray": "L", "cmyk": "CMYK"}[kind]))
    elif kind == "rgba_png":
        Image.new("RGBA", (9, 9), (1, 2, 3, 100)).save(p)
    elif kind == "truncated":
        data = jpeg_bytes(1, (64, 64))
        p.write_bytes(data[: len(data) // 2])
    elif kind == "zero":
        p.write_bytes(b"")
    elif kind == "text":
        p.write_text("hola, no soy una foto")
    elif kind == "webp":
        Image.new("RGB", (9, 9)).save(p, format="WEBP")
    assert image_files.check_image(p) == expected


def test_validate_clean_dataset(tiny_dataset):
    report = image_files.validate_dataset(tiny_dataset, progress=False)
    assert report.ok and report.checked == 2 * sum(TINY_COUNTS.values())
    assert report.bad_files == set() and report.non_rgb == {}
    assert "Sin problemas." in report.summary()


def test_validate_reports_every_kind_of_problem(dataset_copy, tree_snapshot):
    t = dataset_copy / "train"
    (t / "cats" / "vacio.jpg").write_bytes(b"")
    (t / "cats" / "texto.jpg").write_text("hola")
    good = jpeg_bytes(3, (50, 50))
    (t / "dogs" / "corta.jpg").write_bytes(good[:200])
    (t / "dogs" / "gris.jpg").write_bytes(jpeg_bytes(4, (20, 20), "L"))
    (t / "dogs" / "Thumbs.db").write_bytes(b"\0\0")
    (dataset_copy / "validation" / "aves").mkdir()
    shutil.rmtree(dataset_copy / "test")
    before = tree_snapshot(dataset_copy)
    r = image_files.validate_dataset(dataset_copy, progress=False)
    assert tree_snapshot(dataset_copy) == before
    assert r.unreadable == [str(t / "cats" / "vacio.jpg")]
    assert r.not_images == [str(t / "cats" / "texto.jpg")]
    assert r.truncated == [str(t / "dogs" / "corta.jpg")]
    assert r.non_rgb == {str(t / "dogs" / "gris.jpg"): "L"}
    assert r.ignored == [str(t / "dogs" / "Thumbs.db")]
    assert r.missing_splits == ["test"]
    assert r.empty_classes == ["validation/aves"]
    assert r.class_mismatch == {"validation": ["aves", "cats", "dogs"]}
    assert not r.ok and len(r.bad_files) == 3
    s = r.summary()
    assert "Truncadas: 1" in s and "Particiones que faltan: test" in s and "no se borra nada" in s


def test_list_images_order_labels_and_classes(tiny_dataset):
    paths, labels, names = image_files.list_images(tiny_dataset / "train")
    n = TINY_COUNTS["train"]
    assert names == ["cats", "dogs"]
    assert list(labels) == [0] * n + [1] * n and labels.dtype.name == "int32"
    assert all(Path(p).parent.name == names[label] for p, label in zip(paths, labels, strict=True))
    assert paths[:n] == sorted(paths[:n])


def test_list_images_max_per_class_skip_and_class_order(tiny_dataset):
    paths, labels, names = image_files.list_images(
        tiny_dataset / "train", max_per_class=2, class_order=["dogs", "cats"]
    )
    assert names == ["dogs", "cats"]
    assert [Path(p).parent.name for p in paths] == ["dogs", "dogs", "cats", "cats"]
    assert list(labels) == [0, 0, 1, 1]
    all_paths, _, _ = image_files.list_images(tiny_dataset / "train")
    with pytest.warns(UserWarning, match="se omitieron 1 archivo"):
        kept, _, _ = image_files.list_images(tiny_dataset / "train", skip={all_paths[0]})
    assert all_paths[0] not in kept and len(kept) == len(all_paths) - 1


def test_list_images_without_warning_when_clean(tiny_dataset):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image_files.list_images(tiny_dataset / "test")


def test_list_images_no_class_folders(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(FileNotFoundError, match="no tiene carpetas de clase"):
        image_files.list_images(tmp_path / "train")


def test_check_catches_png_without_iend(tmp_path):
    p = tmp_path / "x.png"
    Image.new("RGB", (40, 40), (9, 9, 9)).save(p)
    data = p.read_bytes()
    p.write_bytes(data[:-20])  # loses the IEND chunk
    assert image_files.check_image(p)[0] == "truncated"


# --------------------------------------------------------------------------- every format the loaders read


def _noise_image(mode="RGB", size=(48, 40)):
    import numpy as np

    arr = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr).convert(mode)


LOADER_FORMAT_FILES = {  # format -> (suffix, how to save a complete file)
    "JPEG": (".jpg", lambda p: _noise_image().save(p, format="JPEG", quality=90)),
    "PNG": (".png", lambda p: _noise_image().save(p, format="PNG")),
    "BMP": (".bmp", lambda p: _noise_image().save(p, format="BMP")),
    "GIF": (".gif", lambda p: _noise_image("P").save(p, format="GIF")),
}


def test_every_loader_format_is_checked():
    assert set(LOADER_FORMAT_FILES) == set(image_files.LOADER_FORMATS)


@pytest.mark.parametrize("fmt", list(LOADER_FORMAT_FILES))
@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_check_catches_truncation_of_every_loader_format(tmp_path, fmt, cut):
    suffix, save = LOADER_FORMAT_FILES[fmt]
    p = tmp_path / f"x{suffix}"
    save(p)
    assert image_files.check_image(p)[0] == "ok"
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * cut)])
    assert image_files.check_image(p)[0] == "truncated"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_image_followed_by_extra_bytes_is_ok_in_both_checks_and_loads(tmp_path, fmt):
    """A phone's "motion photo" is a complete JPEG followed by a video: it is a good image."""
    suffix, save = LOADER_FORMAT_FILES[fmt]
    p = tmp_path / "cats" / f"movimiento{suffix}"
    p.parent.mkdir()
    save(p)
    with open(p, "ab") as f:
        f.write(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    assert image_files.check_image(p)[0] == "ok"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths, _, _ = image_files.list_images(tmp_path)
    assert paths == [str(p)]


@pytest.mark.parametrize("kind", ["webp", "tiff", "palette_bmp"])
def test_formats_the_loaders_cannot_decode_are_refused_with_a_reason(tmp_path, kind):
    folder = tmp_path / "cats"
    folder.mkdir()
    Image.new("RGB", (9, 9), (1, 2, 3)).save(folder / "buena.png")
    name = {"webp": "x.webp", "tiff": "x.tif", "palette_bmp": "x.bmp"}[kind]
    img = _noise_image("P") if kind == "palette_bmp" else _noise_image()
    img.save(folder / name)
    assert image_files.check_image(folder / name)[0] == "unsupported"
    with pytest.warns(UserWarning, match="formato no admitido: conviértela a JPEG o PNG"):
        paths, _, _ = image_files.list_images(tmp_path)
    assert paths == [str(folder / "buena.png")]


def test_validate_dataset_reports_unsupported_and_too_large(dataset_copy):
    t = dataset_copy / "train" / "cats"
    Image.new("RGB", (9, 9)).save(t / "x.webp")
    (t / "enorme.png").write_bytes(huge_png_bytes(12000, 12000))
    r = image_files.validate_dataset(dataset_copy, progress=False)
    assert r.unsupported == {str(t / "x.webp"): "WEBP"}
    assert r.too_large == [str(t / "enorme.png")]
    assert not r.ok and len(r.bad_files) == 2
    assert "Formato no admitido (conviértelas a JPEG o PNG): 1" in r.summary()
    assert "Demasiado grandes" in r.summary()


def test_huge_image_is_refused_from_its_header_without_decoding(tmp_path):
    """A 12000x12000 PNG of a few hundred KB: under PIL's own bomb limit, over the course's."""
    p = tmp_path / "enorme.png"
    p.write_bytes(huge_png_bytes(12000, 12000))
    assert p.stat().st_size < 1_000_000
    assert 12000 * 12000 > image_files.MAX_IMAGE_PIXELS
    assert image_files.check_image(p)[0] == "too_large"


def test_class_folder_with_trailing_space_is_named_in_the_error(tmp_path):
    for cls in ("cats ", "dogs"):
        (tmp_path / cls).mkdir()
        Image.new("RGB", (9, 9)).save(tmp_path / cls / "a.png")
    with pytest.raises(ValueError) as exc:
        image_files.list_images(tmp_path)
    assert "'cats '" in str(exc.value) and "Renómbralas" in str(exc.value)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_list_images_refuses_bad_max_per_class(tiny_dataset, bad):
    with pytest.raises(ValueError, match="max_per_class"):
        image_files.list_images(tiny_dataset / "train", max_per_class=bad)


def test_check_class_names_quotes_names_with_spaces():
    image_files.check_class_names(["cats", "dogs"], "train")  # fine: no error
    with pytest.raises(ValueError) as exc:
        image_files.check_class_names(["cats", " dogs"], "train")
    assert "' dogs'" in str(exc.value) and "'dogs'" in str(exc.value) and "train" in str(exc.value)


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

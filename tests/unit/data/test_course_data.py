"""course_utils.data (catalog, download, course_data): the catalog, mirrors, the careful downloader, safe extraction, DATA_SOURCE; the synthetic set (deterministic, laid out like the course set, never overwrites, learnable)."""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from course_testing import SHARED_DATA, jpeg_bytes, sha256_of, temp_leftovers
from PIL import Image

from course_utils.config import CLASSES, ENV_MIRROR, SPLITS
from course_utils.data import catalog, course_data, download
from course_utils.data.course_data import make_synthetic_dataset

pytestmark = pytest.mark.usefixtures("isolated_course_env", "offline_gdown")

NAME = "cats_dogs_small"
WAYS_OUT = ("DATA_SOURCE", ENV_MIRROR, "synthetic", "Qué puedes hacer")


def use_spec(monkeypatch, name=NAME, **changes):
    """Replace a registry entry (e.g. with the sha256 of a test archive).

    The test archives hold a few images, not the registry's count: unless a test
    sets ``expected_images``, the count check is off.
    """
    changes.setdefault("expected_images", None)
    known = {f.name for f in dataclasses.fields(catalog.DatasetSpec)}  # (so that the tests also run on older code)
    spec = dataclasses.replace(catalog.DATASETS[name], **{k: v for k, v in changes.items() if k in known})
    monkeypatch.setitem(catalog.DATASETS, name, spec)
    return spec


@pytest.fixture
def served_zip(tmp_path, course_zip_factory, http_server):
    """The course-layout zip under its registry name, served on 127.0.0.1."""
    folder = tmp_path / "www"
    zpath = course_zip_factory(folder / catalog.DATASETS[NAME].filename, per_class=2)
    return zpath, http_server(folder)


@pytest.fixture
def cache(tmp_path, tree_snapshot):
    """A cache that already holds files that must survive every failure untouched."""
    root = tmp_path / "cache"
    (root / "otro_conjunto").mkdir(parents=True)
    (root / "otro_conjunto" / "a.txt").write_text("no me borres\n")
    (root / "dc_cat.jpg").write_bytes(b"foto previa")
    return root


# --------------------------------------------------------------------------- small helpers


def test_sha256sum_matches_hashlib(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(os.urandom(3 * 1024 + 7))
    assert download.sha256sum(p, chunk=1000) == sha256_of(p)


def test_mirror_sources_folders_and_urls(tmp_path):
    out = download.mirror_sources("cnn perros.zip", f"{tmp_path}, http://h:1/base/ ,file:///x")
    assert out == [str(tmp_path / "cnn perros.zip"), "http://h:1/base/cnn%20perros.zip", "file:///x/cnn%20perros.zip"]
    assert download.mirror_sources("a.zip", "") == []


def test_mirror_sources_reads_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_MIRROR, str(tmp_path))
    assert download.mirror_sources("a.zip") == [str(tmp_path / "a.zip")]


def test_sources_for_order_mirrors_then_extra_then_drive():
    spec = dataclasses.replace(catalog.DATASETS[NAME], extra_urls=("http://extra/a.zip",))
    out = course_data.sources_for(spec, "http://m")
    assert out[0] == ("http://m/cnn_perros_gatos-small.zip", spec.mirror_sha256)
    assert out[1] == ("http://extra/a.zip", None)
    assert [s for s, _ in out[2:]] == [f"gdrive:{i}" for i in spec.drive_ids]


def test_registry_entries_are_consistent():
    for name, spec in catalog.DATASETS.items():
        assert spec.name == name
        assert spec.drive_ids, name
        assert spec.is_archive == spec.filename.endswith(".zip")
        if spec.is_archive:
            assert spec.top_folder == "cnn_perros_gatos"


def test_fetch_unknown_name_lists_options(tmp_path):
    with pytest.raises(KeyError, match="cats_dogs_small"):
        course_data.fetch("no_existe", tmp_path)


# --------------------------------------------------------------------------- fetch: success


def test_fetch_good_archive_over_http_then_second_fetch_does_nothing(
    served_zip, cache, monkeypatch, tree_snapshot, leftovers
):
    zpath, server = served_zip
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    before = tree_snapshot(cache)

    root = course_data.fetch(NAME, cache, sources=[f"{server.url}/{zpath.name}"], progress=False)

    assert root == cache.resolve() / NAME / "cnn_perros_gatos"
    assert (root / ".complete").exists()
    for split in SPLITS:
        for cls in CLASSES:
            assert len(list((root / split / cls).glob("*.jpg"))) == 2
    assert sha256_of(cache / zpath.name) == sha256_of(zpath)
    after = tree_snapshot(cache)
    assert {k: v for k, v in after.items() if k in before} == before  # old files untouched
    assert leftovers(cache) == []
    assert len(server.hits) == 1

    stamp = (root / ".complete").stat().st_mtime_ns
    again = course_data.fetch(NAME, cache, sources=[f"{server.url}/{zpath.name}"], progress=False)
    assert again == root
    assert len(server.hits) == 1, "the second fetch must not download again"
    assert (root / ".complete").stat().st_mtime_ns == stamp
    assert tree_snapshot(cache) == after


def test_fetch_through_mirror_base_url_with_progress(served_zip, cache, monkeypatch, capsys):
    zpath, server = served_zip
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    root = course_data.fetch(NAME, cache, mirrors=server.url + "/", progress=True)
    assert (root / "train" / "cats").is_dir()
    assert server.hits == ["/" + zpath.name]


def test_fetch_from_mirror_in_environment(served_zip, cache, monkeypatch):
    zpath, server = served_zip
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    monkeypatch.setenv(ENV_MIRROR, server.url)
    root = course_data.fetch(NAME, cache, progress=False)
    assert (root / ".complete").exists() and len(server.hits) == 1


def test_fetch_local_folder_mirror_and_no_extract(tmp_path, course_zip_factory, cache, monkeypatch):
    zpath = course_zip_factory(tmp_path / "espejo" / catalog.DATASETS[NAME].filename)
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    out = course_data.fetch(NAME, cache, mirrors=str(zpath.parent), progress=False, extract=False)
    assert out == cache.resolve() / zpath.name
    assert sha256_of(out) == sha256_of(zpath)
    assert not (cache / NAME).exists()
    # Now extract without downloading: the source is gone, the cached zip is enough.
    zpath.unlink()
    root = course_data.fetch(NAME, cache, mirrors=str(zpath.parent), progress=False)
    assert (root / ".complete").exists()


def test_fetch_tries_next_source_after_a_failure(served_zip, cache, monkeypatch, closed_port_url):
    zpath, server = served_zip
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    root = course_data.fetch(
        NAME,
        cache,
        sources=[f"{closed_port_url}/x.zip", str(cache / "nada.zip"), f"{server.url}/{zpath.name}"],
        progress=False,
    )
    assert (root / ".complete").exists()


def test_fetch_plain_file_and_external_images(tmp_path, cache, monkeypatch):
    mirror = tmp_path / "fotos"
    mirror.mkdir()
    (mirror / "dc_cat.jpg").write_bytes(b"gato")
    (mirror / "dc_dog.jpg").write_bytes(b"perro")
    use_spec(monkeypatch, "external_cat", mirror_sha256=sha256_of(mirror / "dc_cat.jpg"))
    use_spec(monkeypatch, "external_dog", mirror_sha256=None)
    cache_new = tmp_path / "cache2"
    imgs = course_data.external_images(cache_new, progress=False, mirrors=str(mirror))
    assert set(imgs) == {"cat", "dog"}
    assert imgs["cat"].read_bytes() == b"gato" and imgs["dog"].read_bytes() == b"perro"
    # Already cached: not fetched again, even if the mirror changes.
    (mirror / "dc_cat.jpg").write_bytes(b"otro gato")
    assert course_data.fetch("external_cat", cache_new, mirrors=str(mirror), progress=False).read_bytes() == b"gato"


def test_get_course_data_course_and_auto(served_zip, tmp_path, monkeypatch):
    zpath, server = served_zip
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    info = course_data.get_course_data("course", tmp_path / "c", progress=False, mirrors=server.url)
    assert info.kind == "real" and (info.root / "test" / "dogs").is_dir()
    info2 = course_data.get_course_data("auto", tmp_path / "c", progress=False, mirrors=server.url)
    assert info2.root == info.root and len(server.hits) == 1


def test_get_course_data_auto_falls_back_to_synthetic_offline(tmp_path, monkeypatch, closed_port_url, offline_gdown):
    from course_utils.data import course_data

    monkeypatch.setattr(course_data, "DEFAULT_COUNTS", {"train": 2, "validation": 1, "test": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # offline is information for the start table, not a red warning block
        info = course_data.get_course_data("auto", tmp_path / "c", progress=False, mirrors=closed_port_url)
    assert info.kind == "synthetic" and info.note == course_data.OFFLINE_NOTE
    assert "DATA.error" in info.note and str(tmp_path) not in info.note, "no file path in the student's line"
    assert closed_port_url in info.error and "Google Drive" in info.error, "the whole report stays available"
    assert len(list((info.root / "train" / "cats").glob("*.jpg"))) == 2
    assert offline_gdown, "Google Drive must have been tried"
    with pytest.raises(download.DownloadError):
        course_data.get_course_data("course", tmp_path / "c", progress=False, mirrors=closed_port_url)


def test_get_course_data_synthetic_and_local_folder(tmp_path, monkeypatch, tiny_dataset):
    from course_utils.data import course_data

    monkeypatch.setattr(course_data, "DEFAULT_COUNTS", {"train": 2, "validation": 1, "test": 1})
    info = course_data.get_course_data("synthetic", tmp_path / "c")
    assert info.kind == "synthetic" and info.root == (tmp_path / "c").resolve() / "sintetico"
    local = course_data.get_course_data(str(tiny_dataset))
    assert local.kind == "local" and local.root == tiny_dataset.resolve()


@pytest.mark.parametrize("layout", ["course_top_folder", "flat", "nested_wrapper"])
def test_get_course_data_local_zip(tmp_path, tiny_dataset, layout, tree_snapshot):
    zpath = tmp_path / f"mis_datos_{layout}.zip"
    prefix = {"course_top_folder": "cnn_perros_gatos/", "flat": "", "nested_wrapper": "descarga/cnn_perros_gatos/"}[
        layout
    ]
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(tiny_dataset.rglob("*.jpg")):
            zf.write(p, prefix + p.relative_to(tiny_dataset).as_posix())
    before = sha256_of(zpath)
    info = course_data.get_course_data(str(zpath), tmp_path / "c", progress=False)
    assert info.kind == "local"
    for split in SPLITS:
        assert sorted(p.name for p in (info.root / split / "cats").glob("*.jpg")) == sorted(
            p.name for p in (tiny_dataset / split / "cats").glob("*.jpg")
        )
    assert sha256_of(zpath) == before


def test_get_course_data_two_local_zips_with_same_top_folder_stay_apart(tmp_path, course_zip_factory):
    a = course_zip_factory(tmp_path / "pequeno.zip", per_class=1)
    b = course_zip_factory(tmp_path / "grande.zip", per_class=3)
    ra = course_data.get_course_data(str(a), tmp_path / "c", progress=False).root
    rb = course_data.get_course_data(str(b), tmp_path / "c", progress=False).root
    assert len(list((ra / "train" / "cats").glob("*.jpg"))) == 1
    assert len(list((rb / "train" / "cats").glob("*.jpg"))) == 3, "the second zip must not reuse the first one's folder"


def test_get_course_data_missing_path_explains(tmp_path):
    with pytest.raises(FileNotFoundError, match="no existe") as exc:
        course_data.get_course_data(str(tmp_path / "no_hay_nada"))
    assert "synthetic" in str(exc.value) and "train/validation/test" in str(exc.value)


# --------------------------------------------------------------------------- fetch: failures


def _assert_untouched(cache, before, tree_snapshot, leftovers):
    assert tree_snapshot(cache) == before, "a failed fetch changed the cache"
    assert leftovers(cache) == []


def test_fetch_wrong_checksum(served_zip, cache, monkeypatch, tree_snapshot, leftovers):
    zpath, server = served_zip
    use_spec(monkeypatch, mirror_sha256="0" * 64)
    before = tree_snapshot(cache)
    url = f"{server.url}/{zpath.name}"
    with pytest.raises(download.DownloadError) as exc:
        course_data.fetch(NAME, cache, sources=[url], progress=False)
    msg = str(exc.value)
    assert url in msg and "sha256 no coincide" in msg
    assert all(w in msg for w in WAYS_OUT)
    _assert_untouched(cache, before, tree_snapshot, leftovers)


def test_fetch_truncated_download(
    tmp_path, course_zip_factory, http_server, cache, monkeypatch, tree_snapshot, leftovers
):
    folder = tmp_path / "www"
    zpath = course_zip_factory(folder / catalog.DATASETS[NAME].filename)
    use_spec(monkeypatch, mirror_sha256=None)  # no checksum: only the length can catch it
    server = http_server(folder, announce_extra=5000)
    before = tree_snapshot(cache)
    url = f"{server.url}/{zpath.name}"
    with pytest.raises(download.DownloadError) as exc:
        course_data.fetch(NAME, cache, sources=[url], progress=False)
    msg = str(exc.value)
    assert url in msg
    assert "incompleta" in msg or "IncompleteRead" in msg
    _assert_untouched(cache, before, tree_snapshot, leftovers)
    assert len(server.hits) == 1


@pytest.mark.parametrize("evil", ["../evil.txt", "/tmp/course_utils_test_evil_abs.txt"])
def test_fetch_archive_with_escaping_member(
    tmp_path, course_zip_factory, http_server, cache, monkeypatch, tree_snapshot, leftovers, evil
):
    folder = tmp_path / "www"
    zpath = course_zip_factory(folder / catalog.DATASETS[NAME].filename, extra={evil: b"pwned"})
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    server = http_server(folder)
    before = tree_snapshot(cache)
    with pytest.raises((download.DownloadError, download.ArchiveError)) as exc:
        course_data.fetch(NAME, cache, sources=[f"{server.url}/{zpath.name}"], progress=False)
    assert "insegura" in str(exc.value) and evil in str(exc.value)
    _assert_untouched(cache, before, tree_snapshot, leftovers)
    assert not (cache.parent / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/course_utils_test_evil_abs.txt").exists()
    assert not (cache / NAME).exists()


def test_fetch_no_network_names_every_source_and_ways_out(
    cache, monkeypatch, closed_port_url, tree_snapshot, leftovers, offline_gdown
):
    spec = catalog.DATASETS[NAME]
    before = tree_snapshot(cache)
    with pytest.raises(download.DownloadError) as exc:
        course_data.fetch(NAME, cache, mirrors=closed_port_url, progress=False, timeout=5)
    msg = str(exc.value)
    assert f"{closed_port_url}/{spec.filename}" in msg
    for drive_id in spec.drive_ids:
        assert f"gdrive:{drive_id}" in msg
    assert offline_gdown == list(spec.drive_ids)
    assert all(w in msg for w in WAYS_OUT) and spec.filename in msg
    _assert_untouched(cache, before, tree_snapshot, leftovers)


def test_fetch_explicit_sources_all_fail(cache, closed_port_url, tree_snapshot, leftovers, tmp_path):
    before = tree_snapshot(cache)
    srcs = [f"{closed_port_url}/a.zip", str(tmp_path / "no_existe.zip")]
    with pytest.raises(download.DownloadError) as exc:
        course_data.fetch(NAME, cache, sources=srcs, progress=False, timeout=5)
    for s in srcs:
        assert s in str(exc.value)
    _assert_untouched(cache, before, tree_snapshot, leftovers)


# --------------------------------------------------------------------------- safe_extract


def test_safe_extract_extracts_once(tmp_path, course_zip_factory, tree_snapshot):
    z = course_zip_factory(tmp_path / "a.zip")
    dest = tmp_path / "out"
    root = download.safe_extract(z, dest, expected_top="cnn_perros_gatos", progress=False)
    assert root == dest / "cnn_perros_gatos" and (root / ".complete").exists()
    snap = tree_snapshot(dest)
    assert download.safe_extract(z, dest, expected_top="cnn_perros_gatos", progress=False) == root
    assert tree_snapshot(dest) == snap


def test_safe_extract_refuses_unexpected_top_folder(tmp_path, course_zip_factory):
    z = course_zip_factory(tmp_path / "a.zip", top="otra_cosa")
    with pytest.raises(download.ArchiveError, match="cnn_perros_gatos") as exc:
        download.safe_extract(z, tmp_path / "out", expected_top="cnn_perros_gatos", progress=False)
    assert "otra_cosa" in str(exc.value)
    assert not (tmp_path / "out").exists(), "a refused archive creates nothing"


def test_safe_extract_keeps_existing_incomplete_folder(tmp_path, course_zip_factory, tree_snapshot):
    z = course_zip_factory(tmp_path / "a.zip")
    dest = tmp_path / "out"
    (dest / "cnn_perros_gatos").mkdir(parents=True)
    (dest / "cnn_perros_gatos" / "mio.txt").write_text("mío")
    before = tree_snapshot(dest)
    with pytest.raises(download.ArchiveError, match="No se tocó nada"):
        download.safe_extract(z, dest, progress=False)
    assert tree_snapshot(dest) == before


def test_check_archive_reads_only_the_directory(tmp_path, course_zip_factory, tree_snapshot):
    good = course_zip_factory(tmp_path / "z" / "a.zip")
    download.check_archive(good, expected_top="cnn_perros_gatos")
    download.check_archive(good)
    evil = course_zip_factory(tmp_path / "z" / "b.zip", extra={"../x.txt": b"x"})
    before = tree_snapshot(tmp_path)
    with pytest.raises(download.ArchiveError, match="insegura"):
        download.check_archive(evil)
    with pytest.raises(download.ArchiveError, match="'nombre.zip' debería contener"):
        download.check_archive(good, expected_top="otra", display_name="nombre.zip")
    assert tree_snapshot(tmp_path) == before


def test_safe_extract_not_a_zip(tmp_path):
    bad = tmp_path / "a.zip"
    bad.write_bytes(b"<html>Google Drive</html>")
    with pytest.raises(download.ArchiveError, match="no es un zip válido"):
        download.safe_extract(bad, tmp_path / "out", progress=False)


# --------------------------------------------------------------------------- the real data (optional)


@pytest.mark.local_files
@pytest.mark.skipif(not (SHARED_DATA / "cnn_perros_gatos-small.zip").exists(), reason="sin datos reales")
def test_real_course_archive_matches_registry():
    path = SHARED_DATA / "cnn_perros_gatos-small.zip"
    spec = catalog.DATASETS[NAME]
    assert download.sha256sum(path) == spec.mirror_sha256
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith(".jpg")]
    assert len(names) == 4000
    assert {n.split("/")[0] for n in names} == {spec.top_folder}
    assert {tuple(n.split("/")[1:3]) for n in names} == {(s, c) for s in SPLITS for c in CLASSES}


def test_external_photo_with_wrong_checksum_is_refused(tmp_path, cache):
    """The registry knows the course photos' sha256: a different file in a mirror is refused."""
    mirror = tmp_path / "fotos"
    mirror.mkdir()
    (mirror / "dc_dog.jpg").write_bytes(b"no es el perro del curso")
    with pytest.raises(download.DownloadError, match="sha256 no coincide"):
        course_data.fetch("external_dog", tmp_path / "c", mirrors=str(mirror), progress=False, sources=None)
    assert not (tmp_path / "c" / "dc_dog.jpg").exists()


# --------------------------------------------------------------------------- robustness, round 2 (issue 10)


def _zip_with(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names some tests need
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for info, payload in members:
                zf.writestr(info, payload)
    return path


def _course_members(top="cnn_perros_gatos", per_class=1):
    return [
        (f"{top}/{split}/{cls}/{cls[:-1]}.{i}.jpg", jpeg_bytes(i))
        for split in SPLITS
        for cls in CLASSES
        for i in range(per_class)
    ]


def test_two_processes_fetching_at_once_both_succeed(tmp_path, course_zip_factory):
    """Two notebooks opened at once on an empty cache (real processes, local mirror): both get the set."""
    import multiprocessing
    import time

    from course_testing import fetch_at

    mirror = tmp_path / "espejo"
    course_zip_factory(mirror / catalog.DATASETS[NAME].filename, per_class=60)
    changes = dict(mirror_sha256=None, expected_images=360)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(abs, [1, 2])  # both children started and idle
        for attempt in range(3):
            cache = tmp_path / f"cache{attempt}"
            start = time.time() + 1.0
            jobs = [pool.apply_async(fetch_at, (start, NAME, str(cache), str(mirror), changes)) for _ in range(2)]
            roots = [j.get(timeout=120) for j in jobs]
            assert roots[0] == roots[1] == str(cache.resolve() / NAME / "cnn_perros_gatos")
            assert course_data.count_dataset_images(roots[0]) == 360
            assert temp_leftovers(cache) == []


def _two_sets_in_mirror(tmp_path, course_zip_factory, monkeypatch):
    mirror = tmp_path / "espejo"
    course_zip_factory(mirror / catalog.DATASETS["cats_dogs_small"].filename, per_class=1)
    course_zip_factory(mirror / catalog.DATASETS["cats_dogs_full"].filename, per_class=2)
    use_spec(monkeypatch, "cats_dogs_small", mirror_sha256=None, expected_images=6)
    use_spec(monkeypatch, "cats_dogs_full", mirror_sha256=None, expected_images=12)
    return mirror


def test_small_and_full_sets_get_their_own_cache_folders(tmp_path, course_zip_factory, monkeypatch):
    mirror = _two_sets_in_mirror(tmp_path, course_zip_factory, monkeypatch)
    cache = tmp_path / "cache"
    small = course_data.fetch("cats_dogs_small", cache, mirrors=str(mirror), progress=False)
    full = course_data.fetch("cats_dogs_full", cache, mirrors=str(mirror), progress=False)
    assert small != full
    assert (course_data.count_dataset_images(small), course_data.count_dataset_images(full)) == (6, 12)
    assert course_data.fetch("cats_dogs_small", cache, mirrors=str(mirror), progress=False) == small


def test_course_full_is_a_data_source(tmp_path, course_zip_factory, monkeypatch):
    mirror = _two_sets_in_mirror(tmp_path, course_zip_factory, monkeypatch)
    info = course_data.get_course_data("course_full", tmp_path / "cache", mirrors=str(mirror), progress=False)
    assert info.kind == "real" and course_data.count_dataset_images(info.root) == 12
    assert (
        course_data.get_course_data("course", tmp_path / "cache", mirrors=str(mirror), progress=False).root != info.root
    )


def test_readme_documents_every_course_data_source():
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    paragraph = readme[readme.index("Parámetros comunes") :][:600]
    for value in course_data.COURSE_SOURCES:
        assert f'"{value}"' in paragraph, value


def test_registry_archives_declare_counts_and_unpacked_limits():
    for spec in catalog.DATASETS.values():
        if spec.is_archive:
            assert spec.expected_images and spec.max_unpacked_bytes, spec.name
    assert len({s.cache_folder for s in catalog.DATASETS.values()}) == len(catalog.DATASETS)


def _legacy_extraction(cache: Path, per_class: int) -> Path:
    """A complete extraction in the old shared folder ``<cache>/cnn_perros_gatos`` (before each set had its own)."""
    old = cache / "cnn_perros_gatos"
    for name, payload in _course_members(per_class=per_class):
        (cache / name).parent.mkdir(parents=True, exist_ok=True)
        (cache / name).write_bytes(payload)
    (old / ".complete").write_text("ok\n")
    return old


def test_old_shared_folder_is_moved_to_the_set_whose_count_it_has(tmp_path, monkeypatch, closed_port_url):
    cache = tmp_path / "cache"
    old = _legacy_extraction(cache, per_class=1)
    files = sorted(p.relative_to(old).as_posix() for p in old.rglob("*"))
    use_spec(monkeypatch, "cats_dogs_small", expected_images=6)
    root = course_data.fetch("cats_dogs_small", cache, mirrors=closed_port_url, progress=False)  # offline: no download
    assert root == cache.resolve() / "cats_dogs_small" / "cnn_perros_gatos"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.name != ".lock") == files


def test_old_shared_folder_with_the_other_count_is_never_returned_nor_lost(
    tmp_path, course_zip_factory, monkeypatch, tree_snapshot
):
    """A cached full set (12 images here) must not come back as the small set (6)."""
    mirror = _two_sets_in_mirror(tmp_path, course_zip_factory, monkeypatch)
    cache = tmp_path / "cache"
    old = _legacy_extraction(cache, per_class=2)
    before = tree_snapshot(old)
    small = course_data.fetch("cats_dogs_small", cache, mirrors=str(mirror), progress=False)
    assert course_data.count_dataset_images(small) == 6
    assert tree_snapshot(old) == before
    assert (
        course_data.fetch("cats_dogs_full", cache, mirrors=str(mirror), progress=False)
        == cache.resolve() / "cats_dogs_full" / "cnn_perros_gatos"
    )


def test_archive_with_the_wrong_count_is_refused_before_extracting(tmp_path, course_zip_factory, monkeypatch):
    mirror = tmp_path / "espejo"
    course_zip_factory(mirror / catalog.DATASETS[NAME].filename, per_class=2)
    use_spec(monkeypatch, mirror_sha256=None, expected_images=4000)
    with pytest.raises(download.DownloadError, match="contiene 12 imágenes y deberían ser 4000"):
        course_data.fetch(NAME, tmp_path / "cache", mirrors=str(mirror), progress=False)
    assert not (tmp_path / "cache" / NAME).exists()


def _bomb(path: Path, mb: int = 60) -> Path:
    return _zip_with(path, _course_members() + [("cnn_perros_gatos/train/cats/bomba.bin", bytes(mb * 10**6))])


def test_local_zip_bomb_is_refused_before_extracting(tmp_path):
    z = _bomb(tmp_path / "descargas" / "bomba.zip")
    assert z.stat().st_size < 200_000
    with pytest.raises(download.ArchiveError, match="bomba zip"):
        course_data.get_course_data(str(z), tmp_path / "cache", progress=False)
    assert not any(p.is_file() and p.suffix != ".lock" for p in (tmp_path / "cache").rglob("*"))


def test_zip_bomb_in_the_cache_is_set_aside_and_fetched_again(tmp_path, course_zip_factory, monkeypatch):
    cache = tmp_path / "cache"
    _bomb(cache / catalog.DATASETS[NAME].filename)
    good = course_zip_factory(tmp_path / "espejo" / catalog.DATASETS[NAME].filename)
    use_spec(monkeypatch, mirror_sha256=None)
    root = course_data.fetch(NAME, cache, mirrors=str(good.parent), progress=False)
    assert not (root / "train" / "cats" / "bomba.bin").exists() and (root / "train" / "cats" / "cat.1.jpg").exists()
    assert len(list(cache.glob(f"{catalog.DATASETS[NAME].filename}.damaged"))) == 1


def test_registry_size_limit_refuses_a_bigger_archive(tmp_path, course_zip_factory, monkeypatch):
    z = course_zip_factory(tmp_path / "espejo" / catalog.DATASETS[NAME].filename, per_class=3)
    use_spec(monkeypatch, mirror_sha256=None, max_unpacked_bytes=1000)
    with pytest.raises(download.DownloadError, match="bomba zip"):
        course_data.fetch(NAME, tmp_path / "cache", mirrors=str(z.parent), progress=False)


def test_damaged_cached_zip_without_checksum_is_set_aside_and_fetched_again(tmp_path, course_zip_factory, monkeypatch):
    cache = tmp_path / "cache"
    cached = course_zip_factory(cache / catalog.DATASETS[NAME].filename)
    raw = bytearray(cached.read_bytes())
    raw[raw.index(b"\xff\xd8") + 200] ^= 0xFF  # a byte of the first photo: bad CRC, the directory still reads
    cached.write_bytes(bytes(raw))
    use_spec(monkeypatch, mirror_sha256=None)
    # Mirror broken: a clear error naming the cached file, which is kept aside.
    with pytest.raises(download.DownloadError) as exc:
        course_data.fetch(NAME, cache, mirrors=str(tmp_path / "vacio"), progress=False)
    aside = list(cache.glob(f"{cached.name}.damaged"))
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(raw)
    assert str(cached) in str(exc.value) and "se apartó" in str(exc.value)
    # Mirror fixed: the next fetch works.
    good = course_zip_factory(tmp_path / "espejo" / cached.name)
    root = course_data.fetch(NAME, cache, mirrors=str(good.parent), progress=False)
    assert (root / ".complete").exists() and sha256_of(cached) == sha256_of(good)


def test_leftovers_of_a_killed_fetch_are_cleaned_next_time(tmp_path, course_zip_factory, monkeypatch, tree_snapshot):
    cache = tmp_path / "cache"
    keep = cache / "otro_conjunto" / "a.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("no me borres")
    part = cache / f".{catalog.DATASETS[NAME].filename}.k1ll3d.part"
    part.write_bytes(b"a medias")
    staging = cache / NAME / ".cnn_perros_gatos.abc.extracting" / "cnn_perros_gatos" / "train"
    staging.mkdir(parents=True)
    (staging / "x.jpg").write_bytes(b"a medias")
    old_staging = cache / ".cnn_perros_gatos.xyz.extracting"  # the old shared layout's
    old_staging.mkdir()
    good = course_zip_factory(tmp_path / "espejo" / catalog.DATASETS[NAME].filename)
    use_spec(monkeypatch, mirror_sha256=None)
    course_data.fetch(NAME, cache, mirrors=str(good.parent), progress=False)
    assert temp_leftovers(cache) == []
    assert keep.read_text() == "no me borres"


def test_local_zip_leftovers_are_cleaned_next_time(tmp_path, course_zip_factory):
    z = course_zip_factory(tmp_path / "descargas" / "datos.zip")
    dest = tmp_path / "cache" / "local" / course_data.local_zip_folder(z)
    (dest / ".cnn_perros_gatos.abc.extracting").mkdir(parents=True)
    course_data.get_course_data(str(z), tmp_path / "cache", progress=False)
    assert temp_leftovers(tmp_path / "cache") == []


@pytest.fixture
def read_only(monkeypatch):
    """``read_only(folder)``: creating anything under ``folder`` fails with EROFS, as on a read-only disk."""
    import errno

    frozen: list[str] = []
    real_open, real_mkdir = os.open, os.mkdir

    def inside(path) -> bool:
        p = os.path.abspath(os.fsdecode(path))
        return any(p == f or p.startswith(f + os.sep) for f in frozen)

    def fake_open(path, flags, *a, **k):
        if inside(path) and flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, "Read-only file system", os.fsdecode(path))
        return real_open(path, flags, *a, **k)

    def fake_mkdir(path, *a, **k):
        if inside(path):
            if os.path.exists(path):
                raise FileExistsError(errno.EEXIST, "File exists", os.fsdecode(path))
            raise OSError(errno.EROFS, "Read-only file system", os.fsdecode(path))
        return real_mkdir(path, *a, **k)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    return lambda folder: frozen.append(str(Path(folder).resolve()))


def test_read_only_cache_gives_a_clear_error_and_auto_falls_back(
    tmp_path, course_zip_factory, monkeypatch, read_only, tree_snapshot
):
    import tempfile

    from course_utils.data import course_data

    monkeypatch.setattr(course_data, "DEFAULT_COUNTS", {"train": 2, "validation": 1, "test": 1})
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    cache = tmp_path / "cache"
    (cache / "dc_cat.jpg").parent.mkdir(parents=True)
    (cache / "dc_cat.jpg").write_bytes(b"foto previa")
    good = course_zip_factory(tmp_path / "espejo" / catalog.DATASETS[NAME].filename)
    use_spec(monkeypatch, mirror_sha256=None)
    before = tree_snapshot(cache)
    read_only(cache)
    with pytest.raises(download.CacheNotWritableError) as exc:
        course_data.fetch(NAME, cache, mirrors=str(good.parent), progress=False)
    assert str(cache.resolve()) in str(exc.value) and "COURSE_CACHE_DIR" in str(exc.value)
    with pytest.warns(UserWarning) as caught:
        info = course_data.get_course_data("auto", cache, mirrors=str(good.parent), progress=False)
    assert info.kind == "synthetic" and (info.root / ".complete").exists()
    said = " ".join(str(w.message) for w in caught)
    assert "no se puede escribir" in said, "a cache that cannot be written is a problem to fix: it stays a warning"
    assert info.note == course_data.CACHE_NOTE and "COURSE_CACHE_DIR" in info.error
    assert tree_snapshot(cache) == before


def test_read_only_cache_still_serves_what_it_holds(tmp_path, course_zip_factory, monkeypatch, read_only):
    good = course_zip_factory(tmp_path / "espejo" / catalog.DATASETS[NAME].filename)
    use_spec(monkeypatch, mirror_sha256=None)
    root = course_data.fetch(NAME, tmp_path / "cache", mirrors=str(good.parent), progress=False)
    read_only(tmp_path / "cache")
    assert course_data.fetch(NAME, tmp_path / "cache", mirrors=str(good.parent), progress=False) == root


def test_local_file_that_is_not_a_zip_says_what_to_do_and_leaves_nothing(tmp_path, tree_snapshot):
    user = tmp_path / "descargas" / "fotos.zip"
    user.parent.mkdir()
    user.write_text("esto no es un zip")
    before = tree_snapshot(user.parent)
    with pytest.raises(download.ArchiveError) as exc:
        course_data.get_course_data(str(user), tmp_path / "cache", progress=False)
    msg = str(exc.value)
    assert "DATA_SOURCE" in msg and "no es un zip válido" in msg and "bórralo" not in msg
    assert "no se modificó" in msg
    assert not (tmp_path / "cache" / "local" / "fotos").exists()
    assert tree_snapshot(user.parent) == before


def test_duplicate_member_names_are_refused(tmp_path):
    z = _zip_with(tmp_path / "d.zip", _course_members() + [("cnn_perros_gatos/train/cats/cat.0.jpg", b"otra")])
    with pytest.raises(download.ArchiveError, match="nombres repetidos.*cat.0.jpg"):
        download.safe_extract(z, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_symlink_member_used_as_a_folder_is_refused_clearly(tmp_path):
    import stat

    link = zipfile.ZipInfo("cnn_perros_gatos/train/enlace")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    z = _zip_with(
        tmp_path / "l.zip",
        _course_members() + [(link, b"/etc"), ("cnn_perros_gatos/train/enlace/x.jpg", jpeg_bytes(0))],
    )
    with pytest.raises(download.ArchiveError) as exc:
        download.safe_extract(z, tmp_path / "out", progress=False)
    assert "enlace" in str(exc.value) and ".extracting" not in str(exc.value)
    assert not (tmp_path / "out").exists()


def test_file_used_as_a_folder_is_refused_clearly(tmp_path):
    z = _zip_with(tmp_path / "f.zip", [("top/a", b"x"), ("top/a/b.jpg", jpeg_bytes(0))])
    with pytest.raises(download.ArchiveError, match="como archivo y como carpeta"):
        download.safe_extract(z, tmp_path / "out", progress=False)


def test_cached_zip_and_extraction_follow_the_umask(tmp_path, course_zip_factory, monkeypatch):
    good = course_zip_factory(tmp_path / "espejo" / catalog.DATASETS[NAME].filename)
    use_spec(monkeypatch, mirror_sha256=None)
    old = os.umask(0o022)
    try:
        root = course_data.fetch(NAME, tmp_path / "cache", mirrors=str(good.parent), progress=False)
        flat = _zip_with(tmp_path / "plano.zip", [(f"{s}/cats/a.jpg", jpeg_bytes(0)) for s in SPLITS])
        out = download.safe_extract(flat, tmp_path / "local", progress=False)
    finally:
        os.umask(old)
    assert stat_mode(tmp_path / "cache" / good.name) == 0o644
    assert stat_mode(root) == 0o755 and stat_mode(out) == 0o755


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_disk_full_during_extraction_says_so_and_leaves_nothing_half_done(
    tmp_path, course_zip_factory, monkeypatch, tree_snapshot
):
    import errno
    import shutil

    good = course_zip_factory(tmp_path / "espejo" / catalog.DATASETS[NAME].filename)
    use_spec(monkeypatch, mirror_sha256=None)
    cache = tmp_path / "cache"
    real_copy = shutil.copyfileobj
    calls = []

    def full_disk(src, dst, *a, **k):
        calls.append(1)
        if len(calls) > 3:
            dst.write(b"medio")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(src, dst, *a, **k)

    monkeypatch.setattr(shutil, "copyfileobj", full_disk)
    with pytest.raises(download.NoSpaceError) as exc:
        course_data.fetch(NAME, cache, mirrors=str(good.parent), progress=False)
    assert "No queda espacio" in str(exc.value) and "COURSE_CACHE_DIR" in str(exc.value)
    assert temp_leftovers(cache) == [] and not list(cache.rglob(".complete"))
    assert sha256_of(cache / good.name) == sha256_of(good), "the downloaded zip is kept"
    monkeypatch.setattr(shutil, "copyfileobj", real_copy)
    assert (course_data.fetch(NAME, cache, mirrors=str(good.parent), progress=False) / ".complete").exists()


def test_member_through_a_symlinked_folder_is_refused_by_the_resolved_path_check(tmp_path):
    """A name with no '..' that still leaves the destination through a link already there."""
    import zipfile

    from course_utils.data import download

    dest, outside = tmp_path / "destino", tmp_path / "fuera"
    dest.mkdir()
    outside.mkdir()
    (dest / "enlace").symlink_to(outside, target_is_directory=True)
    for name, member in (("bueno.zip", "otra/x.jpg"), ("malo.zip", "enlace/x.jpg")):
        with zipfile.ZipFile(tmp_path / name, "w") as zf:
            zf.writestr(member, b"x")
    assert (download.safe_extract(tmp_path / "bueno.zip", dest, progress=False) / "x.jpg").is_file()
    with pytest.raises(download.ArchiveError, match="Ruta insegura"):
        download.safe_extract(tmp_path / "malo.zip", dest, progress=False)
    assert list(outside.iterdir()) == []


SMALL = {"train": 3, "validation": 2, "test": 1}


def test_layout_and_names(tiny_dataset):
    from course_testing import TINY_COUNTS

    assert sorted(p.name for p in tiny_dataset.iterdir() if p.is_dir()) == sorted(SPLITS)
    for split in SPLITS:
        assert sorted(p.name for p in (tiny_dataset / split).iterdir()) == sorted(CLASSES)
        for cls in CLASSES:
            names = sorted(p.name for p in (tiny_dataset / split / cls).iterdir())
            n = TINY_COUNTS[split]
            assert names == sorted(f"{cls[:-1]}.{i}.jpg" for i in range(1, n + 1))
    stamp = json.loads((tiny_dataset / ".complete").read_text())
    assert stamp["counts"] == TINY_COUNTS and stamp["seed"] == 0


def test_images_are_rgb_jpegs_of_varying_sizes(tiny_dataset):
    sizes = set()
    for p in tiny_dataset.rglob("*.jpg"):
        with Image.open(p) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            assert 96 <= im.width < 320 and 96 <= im.height < 300
            sizes.add(im.size)
    assert len(sizes) > 10, "sizes should vary from image to image"


def test_deterministic_same_bytes(tmp_path, tree_snapshot):
    a = make_synthetic_dataset(tmp_path / "a", counts=SMALL, seed=7)
    b = make_synthetic_dataset(tmp_path / "b", counts=SMALL, seed=7)
    sa, sb = tree_snapshot(a), tree_snapshot(b)
    assert sa == sb and len([k for k in sa if k.endswith(".jpg")]) == 2 * sum(SMALL.values())


def test_other_seed_gives_other_images(tmp_path, tree_snapshot):
    a = make_synthetic_dataset(tmp_path / "a", counts=SMALL, seed=1)
    b = make_synthetic_dataset(tmp_path / "b", counts=SMALL, seed=2)
    sa, sb = tree_snapshot(a), tree_snapshot(b)
    assert sa.keys() == sb.keys()
    assert all(sa[k] != sb[k] for k in sa if k.endswith(".jpg"))


def test_counts_merge_with_defaults(tmp_path):
    from course_utils.data import course_data

    root = make_synthetic_dataset(tmp_path / "s", counts={"train": 1, "validation": 1, "test": 2})
    assert len(list((root / "test" / "dogs").iterdir())) == 2
    stamp = json.loads((root / ".complete").read_text())
    assert set(stamp["counts"]) == set(course_data.DEFAULT_COUNTS)


def test_reuses_same_set_without_rewriting(tmp_path, tree_snapshot):
    root = make_synthetic_dataset(tmp_path / "s", counts=SMALL)
    mtimes = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert make_synthetic_dataset(tmp_path / "s", counts=SMALL) == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == mtimes


def test_refuses_to_overwrite_a_different_set(tmp_path, tree_snapshot):
    root = make_synthetic_dataset(tmp_path / "s", counts=SMALL)
    before = tree_snapshot(root)
    with pytest.raises(FileExistsError, match="otros parámetros"):
        make_synthetic_dataset(root, counts={**SMALL, "train": 4})
    with pytest.raises(FileExistsError):
        make_synthetic_dataset(root, counts=SMALL, seed=1)
    assert tree_snapshot(root) == before
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".lock"] == ["s"], "no staging folder left behind"


def test_refuses_a_non_empty_foreign_folder(tmp_path, tree_snapshot):
    root = tmp_path / "mis_fotos"
    root.mkdir()
    (root / "gato.jpg").write_bytes(b"mio")
    before = tree_snapshot(root)
    with pytest.raises(FileExistsError, match="no está vacía"):
        make_synthetic_dataset(root, counts=SMALL)
    assert tree_snapshot(root) == before


def test_empty_existing_folder_is_used(tmp_path):
    root = tmp_path / "vacia"
    root.mkdir()
    assert make_synthetic_dataset(root, counts=SMALL) == root
    assert (root / ".complete").exists()


def _pixels(root, split, size=8):
    x, y = [], []
    for label, cls in enumerate(CLASSES):
        for p in sorted((root / split / cls).glob("*.jpg")):
            with Image.open(p) as im:
                x.append(
                    np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR), dtype="float32").ravel() / 255
                )
            y.append(label)
    return np.array(x), np.array(y)


@pytest.fixture(scope="module")
def learn_set(tmp_path_factory):
    return make_synthetic_dataset(
        tmp_path_factory.mktemp("learn") / "s", counts={"train": 40, "validation": 10, "test": 25}, seed=3
    )


def test_learnable_by_logistic_regression_on_pixels(learn_set):
    from sklearn.linear_model import LogisticRegression

    xtr, ytr = _pixels(learn_set, "train")
    xte, yte = _pixels(learn_set, "test")
    acc = LogisticRegression(max_iter=2000).fit(xtr, ytr).score(xte, yte)
    assert acc >= 0.8, f"accuracy {acc:.2f} on the synthetic test split is not clearly above chance"


def test_learnable_by_a_tiny_cnn(learn_set, tiny_cnn_factory):
    from course_utils.data.loaders import load_datasets
    from course_utils.evaluation import evaluate

    ds = load_datasets(learn_set, img_size=32, batch_size=16, seed=0)
    model = tiny_cnn_factory(img_size=32, conv_names=("c1", "c2"), seed=0)
    model.fit(ds["train"].dataset, epochs=8, verbose=0)
    res = evaluate(model, ds["test"], plot=False, verbose=False)
    assert res["accuracy"] >= 0.75, f"a tiny CNN reached only {res['accuracy']:.2f} on the synthetic test split"


def test_empty_images_lists_the_zero_byte_images_only(tmp_path):
    (tmp_path / "train" / "cats").mkdir(parents=True)
    (tmp_path / "train" / "cats" / "vacia.jpg").write_bytes(b"")
    (tmp_path / "train" / "cats" / "buena.jpg").write_bytes(b"\xff\xd8 no importa")
    (tmp_path / "train" / "cats" / "notas.txt").write_bytes(b"")
    (tmp_path / "train" / "cats" / ".oculta.jpg").write_bytes(b"")
    assert course_data.empty_images(tmp_path) == [str(Path("train") / "cats" / "vacia.jpg")]

"""course_utils.data: registry, mirrors, the careful downloader and safe extraction.

Downloads go to an HTTP server on 127.0.0.1 serving a small zip in the course
layout; Google Drive is replaced by an immediate failure (``offline_gdown``).
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from pathlib import Path

import pytest

from course_testing import SHARED_DATA, sha256_of
from course_utils import data
from course_utils.config import ENV_MIRROR

pytestmark = pytest.mark.usefixtures("isolated_course_env", "offline_gdown")

NAME = "cats_dogs_small"
WAYS_OUT = ("DATA_SOURCE", ENV_MIRROR, "synthetic", "Qué puedes hacer")


def use_spec(monkeypatch, name=NAME, **changes):
    """Replace a registry entry (e.g. with the sha256 of a test archive).

    The test archives hold a few images, not the registry's count: unless a test
    sets ``expected_images``, the count check is off.
    """
    changes.setdefault("expected_images", None)
    spec = dataclasses.replace(data.DATASETS[name], **changes)
    monkeypatch.setitem(data.DATASETS, name, spec)
    return spec


@pytest.fixture
def served_zip(tmp_path, course_zip_factory, http_server):
    """The course-layout zip under its registry name, served on 127.0.0.1."""
    folder = tmp_path / "www"
    zpath = course_zip_factory(folder / data.DATASETS[NAME].filename, per_class=2)
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
    assert data.sha256sum(p, chunk=1000) == sha256_of(p)


def test_mirror_sources_folders_and_urls(tmp_path):
    out = data.mirror_sources("cnn perros.zip", f"{tmp_path}, http://h:1/base/ ,file:///x")
    assert out == [str(tmp_path / "cnn perros.zip"), "http://h:1/base/cnn%20perros.zip", "file:///x/cnn%20perros.zip"]
    assert data.mirror_sources("a.zip", "") == []


def test_mirror_sources_reads_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_MIRROR, str(tmp_path))
    assert data.mirror_sources("a.zip") == [str(tmp_path / "a.zip")]


def test_sources_for_order_mirrors_then_extra_then_drive():
    spec = dataclasses.replace(data.DATASETS[NAME], extra_urls=("http://extra/a.zip",))
    out = data.sources_for(spec, "http://m")
    assert out[0] == ("http://m/cnn_perros_gatos-small.zip", spec.mirror_sha256)
    assert out[1] == ("http://extra/a.zip", None)
    assert [s for s, _ in out[2:]] == [f"gdrive:{i}" for i in spec.drive_ids]


def test_registry_entries_are_consistent():
    for name, spec in data.DATASETS.items():
        assert spec.name == name
        assert spec.drive_ids, name
        assert spec.is_archive == spec.filename.endswith(".zip")
        if spec.is_archive:
            assert spec.top_folder == "cnn_perros_gatos"


def test_fetch_unknown_name_lists_options(tmp_path):
    with pytest.raises(KeyError, match="cats_dogs_small"):
        data.fetch("no_existe", tmp_path)


# --------------------------------------------------------------------------- fetch: success

def test_fetch_good_archive_over_http_then_second_fetch_does_nothing(served_zip, cache, monkeypatch,
                                                                     tree_snapshot, leftovers):
    zpath, server = served_zip
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    before = tree_snapshot(cache)

    root = data.fetch(NAME, cache, sources=[f"{server.url}/{zpath.name}"], progress=False)

    assert root == cache.resolve() / NAME / "cnn_perros_gatos"
    assert (root / ".complete").exists()
    for split in data.SPLITS:
        for cls in data.CLASSES:
            assert len(list((root / split / cls).glob("*.jpg"))) == 2
    assert sha256_of(cache / zpath.name) == sha256_of(zpath)
    after = tree_snapshot(cache)
    assert {k: v for k, v in after.items() if k in before} == before  # old files untouched
    assert leftovers(cache) == []
    assert len(server.hits) == 1

    stamp = (root / ".complete").stat().st_mtime_ns
    again = data.fetch(NAME, cache, sources=[f"{server.url}/{zpath.name}"], progress=False)
    assert again == root
    assert len(server.hits) == 1, "the second fetch must not download again"
    assert (root / ".complete").stat().st_mtime_ns == stamp
    assert tree_snapshot(cache) == after


def test_fetch_through_mirror_base_url_with_progress(served_zip, cache, monkeypatch, capsys):
    zpath, server = served_zip
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    root = data.fetch(NAME, cache, mirrors=server.url + "/", progress=True)
    assert (root / "train" / "cats").is_dir()
    assert server.hits == ["/" + zpath.name]


def test_fetch_from_mirror_in_environment(served_zip, cache, monkeypatch):
    zpath, server = served_zip
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    monkeypatch.setenv(ENV_MIRROR, server.url)
    root = data.fetch(NAME, cache, progress=False)
    assert (root / ".complete").exists() and len(server.hits) == 1


def test_fetch_local_folder_mirror_and_no_extract(tmp_path, course_zip_factory, cache, monkeypatch):
    zpath = course_zip_factory(tmp_path / "espejo" / data.DATASETS[NAME].filename)
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    out = data.fetch(NAME, cache, mirrors=str(zpath.parent), progress=False, extract=False)
    assert out == cache.resolve() / zpath.name
    assert sha256_of(out) == sha256_of(zpath)
    assert not (cache / NAME).exists()
    # Now extract without downloading: the source is gone, the cached zip is enough.
    zpath.unlink()
    root = data.fetch(NAME, cache, mirrors=str(zpath.parent), progress=False)
    assert (root / ".complete").exists()


def test_fetch_tries_next_source_after_a_failure(served_zip, cache, monkeypatch, closed_port_url):
    zpath, server = served_zip
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    root = data.fetch(NAME, cache, sources=[f"{closed_port_url}/x.zip", str(cache / "nada.zip"),
                                            f"{server.url}/{zpath.name}"], progress=False)
    assert (root / ".complete").exists()


def test_fetch_plain_file_and_external_images(tmp_path, cache, monkeypatch):
    mirror = tmp_path / "fotos"
    mirror.mkdir()
    (mirror / "dc_cat.jpg").write_bytes(b"gato")
    (mirror / "dc_dog.jpg").write_bytes(b"perro")
    use_spec(monkeypatch, "external_cat", mirror_sha256=sha256_of(mirror / "dc_cat.jpg"))
    use_spec(monkeypatch, "external_dog", mirror_sha256=None)
    cache_new = tmp_path / "cache2"
    imgs = data.external_images(cache_new, progress=False, mirrors=str(mirror))
    assert set(imgs) == {"cat", "dog"}
    assert imgs["cat"].read_bytes() == b"gato" and imgs["dog"].read_bytes() == b"perro"
    # Already cached: not fetched again, even if the mirror changes.
    (mirror / "dc_cat.jpg").write_bytes(b"otro gato")
    assert data.fetch("external_cat", cache_new, mirrors=str(mirror), progress=False).read_bytes() == b"gato"


def test_get_course_data_course_and_auto(served_zip, tmp_path, monkeypatch):
    zpath, server = served_zip
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    info = data.get_course_data("course", tmp_path / "c", progress=False, mirrors=server.url)
    assert info.kind == "real" and (info.root / "test" / "dogs").is_dir()
    info2 = data.get_course_data("auto", tmp_path / "c", progress=False, mirrors=server.url)
    assert info2.root == info.root and len(server.hits) == 1


def test_get_course_data_auto_falls_back_to_synthetic_offline(tmp_path, monkeypatch, closed_port_url, capsys,
                                                              offline_gdown):
    from course_utils import synthetic

    monkeypatch.setattr(synthetic, "DEFAULT_COUNTS", {"train": 2, "validation": 1, "test": 1})
    info = data.get_course_data("auto", tmp_path / "c", progress=False, mirrors=closed_port_url)
    assert info.kind == "synthetic"
    assert "SINTÉTICO" in capsys.readouterr().out
    assert len(list((info.root / "train" / "cats").glob("*.jpg"))) == 2
    assert offline_gdown, "Google Drive must have been tried"
    with pytest.raises(data.DownloadError):
        data.get_course_data("course", tmp_path / "c", progress=False, mirrors=closed_port_url)


def test_get_course_data_synthetic_and_local_folder(tmp_path, monkeypatch, tiny_dataset):
    from course_utils import synthetic

    monkeypatch.setattr(synthetic, "DEFAULT_COUNTS", {"train": 2, "validation": 1, "test": 1})
    info = data.get_course_data("synthetic", tmp_path / "c")
    assert info.kind == "synthetic" and info.root == (tmp_path / "c").resolve() / "sintetico"
    local = data.get_course_data(str(tiny_dataset))
    assert local.kind == "local" and local.root == tiny_dataset.resolve()


@pytest.mark.parametrize("layout", ["course_top_folder", "flat", "nested_wrapper"])
def test_get_course_data_local_zip(tmp_path, tiny_dataset, layout, tree_snapshot):
    zpath = tmp_path / f"mis_datos_{layout}.zip"
    prefix = {"course_top_folder": "cnn_perros_gatos/", "flat": "", "nested_wrapper": "descarga/cnn_perros_gatos/"}[layout]
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(tiny_dataset.rglob("*.jpg")):
            zf.write(p, prefix + p.relative_to(tiny_dataset).as_posix())
    before = sha256_of(zpath)
    info = data.get_course_data(str(zpath), tmp_path / "c", progress=False)
    assert info.kind == "local"
    for split in data.SPLITS:
        assert sorted(p.name for p in (info.root / split / "cats").glob("*.jpg")) == \
            sorted(p.name for p in (tiny_dataset / split / "cats").glob("*.jpg"))
    assert sha256_of(zpath) == before


def test_get_course_data_two_local_zips_with_same_top_folder_stay_apart(tmp_path, course_zip_factory):
    a = course_zip_factory(tmp_path / "pequeno.zip", per_class=1)
    b = course_zip_factory(tmp_path / "grande.zip", per_class=3)
    ra = data.get_course_data(str(a), tmp_path / "c", progress=False).root
    rb = data.get_course_data(str(b), tmp_path / "c", progress=False).root
    assert len(list((ra / "train" / "cats").glob("*.jpg"))) == 1
    assert len(list((rb / "train" / "cats").glob("*.jpg"))) == 3, "the second zip must not reuse the first one's folder"


def test_get_course_data_missing_path_explains(tmp_path):
    with pytest.raises(FileNotFoundError, match="no existe") as exc:
        data.get_course_data(str(tmp_path / "no_hay_nada"))
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
    with pytest.raises(data.DownloadError) as exc:
        data.fetch(NAME, cache, sources=[url], progress=False)
    msg = str(exc.value)
    assert url in msg and "sha256 no coincide" in msg
    assert all(w in msg for w in WAYS_OUT)
    _assert_untouched(cache, before, tree_snapshot, leftovers)


def test_fetch_truncated_download(tmp_path, course_zip_factory, http_server, cache, monkeypatch,
                                  tree_snapshot, leftovers):
    folder = tmp_path / "www"
    zpath = course_zip_factory(folder / data.DATASETS[NAME].filename)
    use_spec(monkeypatch, mirror_sha256=None)  # no checksum: only the length can catch it
    server = http_server(folder, announce_extra=5000)
    before = tree_snapshot(cache)
    url = f"{server.url}/{zpath.name}"
    with pytest.raises(data.DownloadError) as exc:
        data.fetch(NAME, cache, sources=[url], progress=False)
    msg = str(exc.value)
    assert url in msg
    assert "incompleta" in msg or "IncompleteRead" in msg
    _assert_untouched(cache, before, tree_snapshot, leftovers)
    assert len(server.hits) == 1


@pytest.mark.parametrize("evil", ["../evil.txt", "/tmp/course_utils_test_evil_abs.txt"])
def test_fetch_archive_with_escaping_member(tmp_path, course_zip_factory, http_server, cache, monkeypatch,
                                            tree_snapshot, leftovers, evil):
    folder = tmp_path / "www"
    zpath = course_zip_factory(folder / data.DATASETS[NAME].filename, extra={evil: b"pwned"})
    use_spec(monkeypatch, mirror_sha256=sha256_of(zpath))
    server = http_server(folder)
    before = tree_snapshot(cache)
    with pytest.raises((data.DownloadError, data.ArchiveError)) as exc:
        data.fetch(NAME, cache, sources=[f"{server.url}/{zpath.name}"], progress=False)
    assert "insegura" in str(exc.value) and evil in str(exc.value)
    _assert_untouched(cache, before, tree_snapshot, leftovers)
    assert not (cache.parent / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/course_utils_test_evil_abs.txt").exists()
    assert not (cache / NAME).exists()


def test_fetch_no_network_names_every_source_and_ways_out(cache, monkeypatch, closed_port_url, tree_snapshot,
                                                          leftovers, offline_gdown):
    spec = data.DATASETS[NAME]
    before = tree_snapshot(cache)
    with pytest.raises(data.DownloadError) as exc:
        data.fetch(NAME, cache, mirrors=closed_port_url, progress=False, timeout=5)
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
    with pytest.raises(data.DownloadError) as exc:
        data.fetch(NAME, cache, sources=srcs, progress=False, timeout=5)
    for s in srcs:
        assert s in str(exc.value)
    _assert_untouched(cache, before, tree_snapshot, leftovers)


# --------------------------------------------------------------------------- safe_extract

def test_safe_extract_extracts_once(tmp_path, course_zip_factory, tree_snapshot):
    z = course_zip_factory(tmp_path / "a.zip")
    dest = tmp_path / "out"
    root = data.safe_extract(z, dest, expected_top="cnn_perros_gatos", progress=False)
    assert root == dest / "cnn_perros_gatos" and (root / ".complete").exists()
    snap = tree_snapshot(dest)
    assert data.safe_extract(z, dest, expected_top="cnn_perros_gatos", progress=False) == root
    assert tree_snapshot(dest) == snap


def test_safe_extract_refuses_unexpected_top_folder(tmp_path, course_zip_factory):
    z = course_zip_factory(tmp_path / "a.zip", top="otra_cosa")
    with pytest.raises(data.ArchiveError, match="cnn_perros_gatos") as exc:
        data.safe_extract(z, tmp_path / "out", expected_top="cnn_perros_gatos", progress=False)
    assert "otra_cosa" in str(exc.value)
    assert not (tmp_path / "out").exists(), "a refused archive creates nothing"


def test_safe_extract_keeps_existing_incomplete_folder(tmp_path, course_zip_factory, tree_snapshot):
    z = course_zip_factory(tmp_path / "a.zip")
    dest = tmp_path / "out"
    (dest / "cnn_perros_gatos").mkdir(parents=True)
    (dest / "cnn_perros_gatos" / "mio.txt").write_text("mío")
    before = tree_snapshot(dest)
    with pytest.raises(data.ArchiveError, match="No se tocó nada"):
        data.safe_extract(z, dest, progress=False)
    assert tree_snapshot(dest) == before


def test_check_archive_reads_only_the_directory(tmp_path, course_zip_factory, tree_snapshot):
    good = course_zip_factory(tmp_path / "z" / "a.zip")
    data.check_archive(good, expected_top="cnn_perros_gatos")
    data.check_archive(good)
    evil = course_zip_factory(tmp_path / "z" / "b.zip", extra={"../x.txt": b"x"})
    before = tree_snapshot(tmp_path)
    with pytest.raises(data.ArchiveError, match="insegura"):
        data.check_archive(evil)
    with pytest.raises(data.ArchiveError, match="'nombre.zip' debería contener"):
        data.check_archive(good, expected_top="otra", display_name="nombre.zip")
    assert tree_snapshot(tmp_path) == before


def test_safe_extract_not_a_zip(tmp_path):
    bad = tmp_path / "a.zip"
    bad.write_bytes(b"<html>Google Drive</html>")
    with pytest.raises(data.ArchiveError, match="no es un zip válido"):
        data.safe_extract(bad, tmp_path / "out", progress=False)


# --------------------------------------------------------------------------- the real data (optional)

@pytest.mark.skipif(not (SHARED_DATA / "cnn_perros_gatos-small.zip").exists(), reason="sin datos reales")
def test_real_course_archive_matches_registry():
    path = SHARED_DATA / "cnn_perros_gatos-small.zip"
    spec = data.DATASETS[NAME]
    assert path.stat().st_size == spec.size_bytes
    assert data.sha256sum(path) == spec.mirror_sha256
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith(".jpg")]
    assert len(names) == 4000
    assert {n.split("/")[0] for n in names} == {spec.top_folder}
    assert {tuple(n.split("/")[1:3]) for n in names} == {(s, c) for s in data.SPLITS for c in data.CLASSES}


def test_external_photo_with_wrong_checksum_is_refused(tmp_path, cache):
    """The registry knows the course photos' sha256: a different file in a mirror is refused."""
    mirror = tmp_path / "fotos"
    mirror.mkdir()
    (mirror / "dc_dog.jpg").write_bytes(b"no es el perro del curso")
    with pytest.raises(data.DownloadError, match="sha256 no coincide"):
        data.fetch("external_dog", tmp_path / "c", mirrors=str(mirror), progress=False, sources=None)
    assert not (tmp_path / "c" / "dc_dog.jpg").exists()

"""Photo sets listed file by file (course_utils.data.photo_sets): the manifest, the checksums, the layout."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from course_testing import jpeg_bytes, temp_leftovers

from course_utils.data import photo_sets
from course_utils.data.download import DownloadError

pytestmark = pytest.mark.usefixtures("isolated_course_env")

NAME = "fotos_prueba"


def _write_set(folder: Path, per_class: int = 2) -> dict[str, bytes]:
    """Photos ``<folder>/<class>/<file>`` (as a server or a mirror holds them): ``{file: bytes}``."""
    photos = {}
    for k, label in enumerate(("cats", "dogs")):
        for i in range(per_class):
            data = jpeg_bytes(10 * k + i)
            photos[f"{label}/{label[:-1]}_{i}.jpg"] = data
            (folder / label).mkdir(parents=True, exist_ok=True)
            (folder / label / f"{label[:-1]}_{i}.jpg").write_bytes(data)
    return photos


def _manifest(path: Path, photos: dict[str, bytes], base_url: str, name: str = NAME, **changes) -> Path:
    record = {
        "name": name,
        "license": {"name": "CC BY-SA 4.0"},
        "files": [
            {"file": f, "class": f.split("/")[0], "sha256": hashlib.sha256(d).hexdigest(), "url": f"{base_url}/{f}"}
            for f, d in photos.items()
        ],
    }
    record.update(changes)
    path.write_text(json.dumps(record))
    return path


def test_the_shipped_manifest_lists_licensed_cats_and_dogs_at_fixed_commits():
    photo_set = photo_sets.load_manifest()
    counts = {c: sum(f.label == c for f in photo_set.files) for c in photo_set.class_names}
    assert counts == {"cats": 200, "dogs": 200}
    assert photo_set.license["name"] == "CC BY-SA 4.0" and "Parkhi" in photo_set.license["attribution"]
    # raw URLs at a 40-hex commit, never a branch name that could change under the checksums
    for f in photo_set.files:
        commit = f.url.split("/")[5]
        assert len(commit) == 40 and all(c in "0123456789abcdef" for c in commit), f.url
        assert not Path(f.file).name.startswith(("cat.", "dog.")), "Kaggle Dogs vs. Cats names"


@pytest.mark.parametrize(
    "entry, why",
    [
        ({"file": "../cats/x.jpg", "class": "cats"}, "'<clase>/<archivo>'"),
        ({"file": "cats/sub/x.jpg", "class": "cats"}, "'<clase>/<archivo>'"),
        ({"file": "dogs/x.jpg", "class": "cats"}, "'<clase>/<archivo>'"),
        ({"sha256": "abc"}, "sha256"),
        ({"url": "file:///etc/passwd"}, r"URL http\(s\)"),
        ({"class": None}, "'<clase>/<archivo>'"),
    ],
)
def test_load_manifest_refuses_a_bad_entry(tmp_path, entry, why):
    good = {"file": "cats/x.jpg", "class": "cats", "sha256": "0" * 64, "url": "https://example.org/x.jpg"}
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"name": NAME, "license": {"name": "CC0"}, "files": [{**good, **entry}]}))
    with pytest.raises(photo_sets.ManifestError, match=why):
        photo_sets.load_manifest(path)


@pytest.mark.parametrize(
    "record, why",
    [
        ({"name": "../fuera", "license": {"name": "CC0"}}, "no vale como carpeta"),
        ({"name": NAME}, "licencia"),
        ({"name": NAME, "license": {"name": "CC0"}, "files": []}, "'files'"),
    ],
)
def test_load_manifest_refuses_a_bad_set(tmp_path, record, why):
    entry = {"file": "cats/x.jpg", "class": "cats", "sha256": "0" * 64, "url": "https://example.org/x.jpg"}
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"files": [entry], **record}))
    with pytest.raises(photo_sets.ManifestError, match=why):
        photo_sets.load_manifest(path)


def test_load_manifest_refuses_a_repeated_file_and_unreadable_json(tmp_path):
    entry = {"file": "cats/x.jpg", "class": "cats", "sha256": "0" * 64, "url": "https://example.org/x.jpg"}
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"name": NAME, "license": {"name": "CC0"}, "files": [entry, entry]}))
    with pytest.raises(photo_sets.ManifestError, match="dos veces"):
        photo_sets.load_manifest(path)
    path.write_text("{no es json")
    with pytest.raises(photo_sets.ManifestError, match="no se pudo leer"):
        photo_sets.load_manifest(path)


def test_fetch_from_a_local_server_gives_the_class_layout_the_loaders_read(tmp_path, http_server):
    served = tmp_path / "servidor"
    photos = _write_set(served)
    server = http_server(served)
    manifest = _manifest(tmp_path / "m.json", photos, server.url)
    cache = tmp_path / "cache"

    home = photo_sets.fetch_photo_set(manifest, cache, progress=False)

    assert home == cache.resolve() / NAME
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*.jpg")) == sorted(photos)
    assert all((home / f).read_bytes() == d for f, d in photos.items())
    assert temp_leftovers(cache) == []
    from course_utils.data.image_files import list_images

    paths, labels, names = list_images(home)
    assert names == ["cats", "dogs"]
    assert [Path(p).parent.name for p in paths] == [names[int(y)] for y in labels]

    hits = len(server.hits)
    assert photo_sets.fetch_photo_set(manifest, cache, progress=False) == home
    assert len(server.hits) == hits, "a complete set is not downloaded again"


def test_a_file_whose_checksum_differs_is_refused_and_the_others_kept(tmp_path, http_server):
    served = tmp_path / "servidor"
    photos = _write_set(served)
    manifest = _manifest(tmp_path / "m.json", photos, http_server(served).url)
    (served / "dogs" / "dog_1.jpg").write_bytes(jpeg_bytes(99))  # damaged on the server
    cache = tmp_path / "cache"

    with pytest.raises(DownloadError, match=r"(?s)Faltan 1 de las 4.*dogs/dog_1\.jpg.*sha256 no coincide"):
        photo_sets.fetch_photo_set(manifest, cache, progress=False)

    home = cache / NAME
    assert not (home / "dogs" / "dog_1.jpg").exists()
    assert len(list(home.rglob("*.jpg"))) == 3
    assert temp_leftovers(cache) == []


def test_an_interrupted_fetch_carries_on_from_the_mirror(tmp_path, http_server, closed_port_url, monkeypatch):
    """Offline after a partial run: the mirror (COURSE_DATA_MIRROR) gives the rest, nothing is fetched twice."""
    served = tmp_path / "servidor"
    photos = _write_set(served)
    server = http_server(served)
    manifest = _manifest(tmp_path / "m.json", photos, server.url)
    cache = tmp_path / "cache"
    photo_sets.fetch_photo_set(manifest, cache, progress=False)
    (cache / NAME / "cats" / "cat_0.jpg").unlink()  # as if the run had stopped there

    offline = _manifest(tmp_path / "offline.json", photos, closed_port_url)
    with pytest.raises(DownloadError, match=r"(?s)cats/cat_0\.jpg.*COURSE_DATA_MIRROR"):
        photo_sets.fetch_photo_set(offline, cache, progress=False)

    mirror = tmp_path / "espejo"
    shutil.copytree(served, mirror / NAME)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    home = photo_sets.fetch_photo_set(offline, cache, progress=False)
    assert (home / "cats" / "cat_0.jpg").read_bytes() == photos["cats/cat_0.jpg"]


def test_a_damaged_file_in_the_cache_is_set_aside_and_fetched_again(tmp_path, http_server):
    served = tmp_path / "servidor"
    photos = _write_set(served)
    manifest = _manifest(tmp_path / "m.json", photos, http_server(served).url)
    cache = tmp_path / "cache"
    home = photo_sets.fetch_photo_set(manifest, cache, progress=False)
    (home / "cats" / "cat_1.jpg").write_bytes(b"roto")

    photo_sets.fetch_photo_set(manifest, cache, progress=False)

    assert (home / "cats" / "cat_1.jpg").read_bytes() == photos["cats/cat_1.jpg"]
    assert (home / "cats" / "cat_1.jpg.damaged").read_bytes() == b"roto"


def test_images_the_manifest_does_not_list_are_refused(tmp_path, http_server):
    served = tmp_path / "servidor"
    photos = _write_set(served)
    manifest = _manifest(tmp_path / "m.json", photos, http_server(served).url)
    cache = tmp_path / "cache"
    (cache / NAME / "dogs").mkdir(parents=True)
    (cache / NAME / "dogs" / "intrusa.jpg").write_bytes(jpeg_bytes(7))

    with pytest.raises(photo_sets.ManifestError, match="dogs/intrusa.jpg"):
        photo_sets.fetch_photo_set(manifest, cache, progress=False)


def _fetch_at(start: float, manifest: str, cache: str) -> str:
    import time

    time.sleep(max(0.0, start - time.time()))
    return str(photo_sets.fetch_photo_set(manifest, cache, progress=False))


def test_two_processes_fetching_at_once_both_get_the_whole_set(tmp_path, http_server):
    import multiprocessing
    import time

    served = tmp_path / "servidor"
    photos = _write_set(served, per_class=40)
    server = http_server(served)
    manifest = _manifest(tmp_path / "m.json", photos, server.url)
    cache = tmp_path / "cache"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(abs, [1, 2])  # both children started and idle
        start = time.time() + 1.0
        jobs = [pool.apply_async(_fetch_at, (start, str(manifest), str(cache))) for _ in range(2)]
        homes = [j.get(timeout=120) for j in jobs]
    assert homes[0] == homes[1]
    assert sorted(p.relative_to(homes[0]).as_posix() for p in Path(homes[0]).rglob("*.jpg")) == sorted(photos)
    assert temp_leftovers(cache) == []
    assert len(server.hits) == len(photos), "each photo downloaded once: the second process waits for the first"

"""What a student (or a bad download) can throw at the course, one test id per case.

For every case: the message says what is wrong and what to do (in Spanish
where a student reads it); loading either skips the bad files with a warning
that counts them (and the rest still loads, trains and predicts) or stops
before any training with a clear exception; and no file of the dataset, the
cache or the artifacts is deleted or modified (snapshot before/after).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from course_testing import (
    CORRUPT_IMAGES,
    TINY_COUNTS,
    gif_large_screen,
    gif_without_trailer,
    huge_png_bytes,
    jpeg_arithmetic_sof9,
    jpeg_bytes,
    jpeg_lying_header,
    png_sixteen_bit_grey,
    sha256_of,
)
from PIL import Image

from course_utils import artifacts
from course_utils.config import ENV_MIRROR
from course_utils.data import catalog, course_data, download, image_files, loaders
from course_utils.models import backbones
from course_utils.params import resolve

pytestmark = pytest.mark.usefixtures("isolated_course_env", "offline_gdown")

IMG = 16


# =========================================================================== dataset folders


@dataclass
class FolderCase:
    inject: Callable[[Path], None]
    #: "skip": bad files left out with a counted warning; "load": odd but valid files are used;
    #: "ignore": OS files ignored silently; "stop": an exception before training.
    outcome: str
    skipped: int = 0
    report: Callable = lambda r: True
    error: type = Exception
    words: tuple[str, ...] = ()
    #: Files (relative to the dataset) that must / must not be among the loaded images.
    loaded: tuple[str, ...] = ()
    not_loaded: tuple[str, ...] = ()
    train_delta: int = 0
    #: Words expected when the folder is given as DATA_SOURCE (get_course_data), if it must refuse it.
    data_source_words: tuple[str, ...] = ()
    #: A file name the loaders' warnings (modern and legacy) must name.
    named: str = ""


def _write(root: Path, rel: str, payload: bytes) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(payload)


def _save(root: Path, rel: str, img: Image.Image, **kw) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    img.save(root / rel, **kw)


def _truncated(root):
    good = jpeg_bytes(5, (80, 60))
    _write(root, "train/cats/cat.99.jpg", good[: len(good) // 2])


def _noise(mode, size=(30, 20), seed=0):
    arr = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr).convert(mode)


def _empty_class(root):
    for p in (root / "validation" / "dogs").iterdir():
        p.unlink()


def _class_with_only_broken_files(root):
    for p in (root / "test" / "cats").iterdir():
        p.unlink()
    _write(root, "test/cats/cat.1.jpg", b"")
    _write(root, "test/cats/cat.2.jpg", b"<html>no es una foto</html>")


def _extra_class(split):
    def inject(root):
        for i in range(2):
            _write(root, f"{split}/birds/bird.{i}.jpg", jpeg_bytes(40 + i))

    return inject


def _several(root):
    _truncated(root)
    _write(root, "train/dogs/dog.99.jpg", b"")
    _write(root, "train/dogs/notas.jpg", b"apuntes de clase")


def _cut(rel, save, fraction=0.5):
    def inject(root):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        save(root / rel)
        data = (root / rel).read_bytes()
        (root / rel).write_bytes(data[: int(len(data) * fraction)])

    return inject


def _motion_photo(root):
    _write(root, "train/dogs/movimiento.jpg", jpeg_bytes(7, (40, 30)) + b"\x00\x00\x00\x18ftypmp42" + bytes(4000))


def _sixteen_bit(root):
    _save(root, "train/cats/dieciseis.png", Image.fromarray(np.full((14, 14), 30000, dtype=np.uint16)))


def _trailing_space(root):
    (root / "train" / "cats").rename(root / "train" / "cats ")


FOLDER_CASES = {
    "truncated_jpeg": FolderCase(
        _truncated,
        "skip",
        skipped=1,
        report=lambda r: [Path(p).name for p in r.truncated] == ["cat.99.jpg"],
        not_loaded=("train/cats/cat.99.jpg",),
    ),
    "zero_byte_file": FolderCase(
        lambda root: _write(root, "train/dogs/dog.99.jpg", b""),
        "skip",
        skipped=1,
        report=lambda r: [Path(p).name for p in r.unreadable] == ["dog.99.jpg"],
        not_loaded=("train/dogs/dog.99.jpg",),
    ),
    "text_file_named_jpg": FolderCase(
        lambda root: _write(root, "validation/cats/cat.99.jpg", b"hola, no soy una foto"),
        "skip",
        skipped=1,
        report=lambda r: [Path(p).name for p in r.not_images] == ["cat.99.jpg"],
        not_loaded=("validation/cats/cat.99.jpg",),
    ),
    "non_image_extension": FolderCase(
        lambda root: _write(root, "train/cats/leeme.txt", b"notas"),
        "skip",
        skipped=1,
        report=lambda r: [Path(p).name for p in r.not_images] == ["leeme.txt"],
        not_loaded=("train/cats/leeme.txt",),
    ),
    "several_bad_files_at_once": FolderCase(_several, "skip", skipped=3, report=lambda r: len(r.bad_files) == 3),
    "ds_store_and_thumbs_db": FolderCase(
        lambda root: (
            _write(root, "train/cats/.DS_Store", b"\0\0\0\1Bud1"),
            _write(root, "train/dogs/Thumbs.db", b"\xd0\xcf"),
        ),
        "ignore",
        report=lambda r: sorted(Path(p).name for p in r.ignored) == [".DS_Store", "Thumbs.db"] and r.ok,
    ),
    "grayscale_jpeg": FolderCase(
        lambda root: _save(root, "train/cats/gris.jpg", _noise("L")),
        "load",
        train_delta=1,
        report=lambda r: list(r.non_rgb.values()) == ["L"] and r.ok,
        loaded=("train/cats/gris.jpg",),
    ),
    "cmyk_jpeg": FolderCase(
        lambda root: _save(root, "train/dogs/cmyk.jpg", _noise("CMYK")),
        "load",
        train_delta=1,
        report=lambda r: list(r.non_rgb.values()) == ["CMYK"] and r.ok,
        loaded=("train/dogs/cmyk.jpg",),
    ),
    "rgba_png": FolderCase(
        lambda root: _save(root, "train/cats/transparente.png", _noise("RGBA")),
        "load",
        train_delta=1,
        report=lambda r: list(r.non_rgb.values()) == ["RGBA"] and r.ok,
        loaded=("train/cats/transparente.png",),
    ),
    "png_named_jpg": FolderCase(
        lambda root: _save(root, "train/dogs/dog.98.jpg", _noise("RGB"), format="PNG"),
        "load",
        train_delta=1,
        report=lambda r: r.ok,
        loaded=("train/dogs/dog.98.jpg",),
    ),
    "empty_class_folder": FolderCase(
        _empty_class,
        "stop",
        error=ValueError,
        report=lambda r: r.empty_classes == ["validation/dogs"],
        words=("'dogs'", "validation", "no tiene imágenes válidas", "Añade imágenes"),
    ),
    "class_with_only_broken_files": FolderCase(
        _class_with_only_broken_files,
        "stop",
        error=ValueError,
        report=lambda r: len(r.bad_files) == 2,
        words=("'cats'", "test", "no tiene imágenes válidas"),
    ),
    "missing_split_folder": FolderCase(
        lambda root: shutil.rmtree(root / "test"),
        "stop",
        error=FileNotFoundError,
        report=lambda r: r.missing_splits == ["test"],
        words=("No existe la carpeta", "test", "DATA_SOURCE"),
        data_source_words=("faltan las carpetas: test", "train/validation/test"),
    ),
    "extra_class_folder_in_train": FolderCase(
        _extra_class("train"),
        "stop",
        error=ValueError,
        report=lambda r: "validation" in r.class_mismatch,
        words=("birds", "train", "validation", "mismas"),
    ),
    "truncated_bmp": FolderCase(
        _cut("train/cats/cat.98.bmp", lambda p: _noise("RGB", (60, 40)).save(p)),
        "skip",
        skipped=1,
        report=lambda r: [Path(p).name for p in r.truncated] == ["cat.98.bmp"],
        not_loaded=("train/cats/cat.98.bmp",),
    ),
    "truncated_gif": FolderCase(
        _cut("train/dogs/dog.98.gif", lambda p: _noise("P", (60, 40)).save(p)),
        "skip",
        skipped=1,
        report=lambda r: len(r.bad_files) == 1,
        not_loaded=("train/dogs/dog.98.gif",),
    ),
    "jpeg_with_extra_bytes_motion_photo": FolderCase(
        _motion_photo, "load", train_delta=1, report=lambda r: r.ok, loaded=("train/dogs/movimiento.jpg",)
    ),
    "webp_image": FolderCase(
        lambda root: _save(root, "train/cats/cat.97.webp", _noise("RGB")),
        "skip",
        skipped=1,
        report=lambda r: list(r.unsupported.values()) == ["WEBP"],
        not_loaded=("train/cats/cat.97.webp",),
    ),
    "huge_png_few_kilobytes": FolderCase(
        lambda root: _write(root, "train/dogs/enorme.png", huge_png_bytes(12000, 12000)),
        "skip",
        skipped=1,
        report=lambda r: [Path(p).name for p in r.too_large] == ["enorme.png"],
        not_loaded=("train/dogs/enorme.png",),
    ),
    # One verdict per file for every loader (issue 31): TensorFlow reads 16-bit PNGs, Keras' load_img and PIL's
    # convert("RGB") whiten them; arithmetic JPEGs and GIFs on a larger screen decode differently in TF and PIL;
    # a JPEG whose header claims 7000x7000 would be a flat grey image.
    "sixteen_bit_png": FolderCase(
        _sixteen_bit,
        "skip",
        skipped=1,
        report=lambda r: list(r.unsupported.values()) == ["16 bits (I;16)"],
        not_loaded=("train/cats/dieciseis.png",),
        named="dieciseis.png",
    ),
    "jpeg_arithmetic_sof9": FolderCase(
        lambda root: _write(root, "train/dogs/aritmetica.jpg", jpeg_arithmetic_sof9()),
        "skip",
        skipped=1,
        report=lambda r: [Path(p).name for p in r.unsupported] == ["aritmetica.jpg"],
        not_loaded=("train/dogs/aritmetica.jpg",),
        named="aritmetica.jpg",
    ),
    "gif_on_a_7000_px_screen": FolderCase(
        lambda root: _write(root, "train/cats/pantalla.gif", gif_large_screen()),
        "skip",
        skipped=1,
        report=lambda r: [Path(p).name for p in r.unsupported] == ["pantalla.gif"],
        not_loaded=("train/cats/pantalla.gif",),
        named="pantalla.gif",
    ),
    "jpeg_header_claims_7000_px": FolderCase(
        lambda root: _write(root, "train/cats/mentira.jpg", jpeg_lying_header()),
        "skip",
        skipped=1,
        report=lambda r: [Path(p).name for p in r.truncated] == ["mentira.jpg"],
        not_loaded=("train/cats/mentira.jpg",),
        named="mentira.jpg",
    ),
    "empty_extra_class_folder_in_train": FolderCase(
        lambda root: (root / "train" / "birds").mkdir(),
        "stop",
        error=ValueError,
        report=lambda r: "validation" in r.class_mismatch,
        words=("birds", "mismas"),
    ),
    "class_folder_name_with_trailing_space": FolderCase(
        _trailing_space,
        "stop",
        error=ValueError,
        report=lambda r: "validation" in r.class_mismatch,
        words=("'cats '", "espacios", "Renómbralas"),
    ),
    "gif_without_trailer_byte": FolderCase(
        lambda root: _write(root, "train/cats/sin_final.gif", gif_without_trailer()),
        "load",
        train_delta=1,
        report=lambda r: r.ok,
        loaded=("train/cats/sin_final.gif",),
    ),
    **{
        f"corrupt_but_complete_{name}": FolderCase(
            lambda root, name=name, ext=ext, make=make: _write(root, f"train/dogs/{name}.{ext}", make()),
            "skip",
            skipped=1,
            report=lambda r, name=name: [Path(p).stem for p in r.bad_files] == [name],
            not_loaded=(f"train/dogs/{name}.{ext}",),
            named=f"{name}.{ext}",
        )
        for name, (ext, make) in CORRUPT_IMAGES.items()
    },
    "extra_class_folder_in_validation": FolderCase(
        _extra_class("validation"),
        "stop",
        error=ValueError,
        report=lambda r: "validation" in r.class_mismatch,
        words=("birds", "validation", "mismas"),
    ),
}


@pytest.fixture(scope="module")
def shared_tiny_cnn():
    """One tiny CNN for every folder case: Keras traces its train/predict functions only once."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((IMG, IMG, 3)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _legacy(root):
    return loaders.get_generators(root / "train", root / "validation", root / "test", (IMG, IMG), batch_size=4)


@pytest.mark.parametrize("name", list(FOLDER_CASES))
def test_bad_dataset_folder(name, dataset_copy, tree_snapshot, shared_tiny_cnn):
    case = FOLDER_CASES[name]
    root = dataset_copy
    case.inject(root)
    before = tree_snapshot(root)

    report = image_files.validate_dataset(root, progress=False)
    assert case.report(report), report
    assert report.summary()  # always printable

    if case.outcome == "stop":
        for load in (lambda: loaders.load_datasets(root, img_size=IMG, batch_size=4), lambda: _legacy(root)):
            with pytest.raises(case.error) as exc:
                load()
            for w in case.words:
                assert w in str(exc.value), f"{w!r} missing from: {exc.value}"
        if case.data_source_words:
            with pytest.raises(FileNotFoundError) as exc:
                course_data.get_course_data(str(root))
            for w in case.data_source_words:
                assert w in str(exc.value), f"{w!r} missing from: {exc.value}"
        assert tree_snapshot(root) == before
        return

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = loaders.load_datasets(root, img_size=IMG, batch_size=4)
    skip_msgs = [str(w.message) for w in caught if "se omitieron" in str(w.message)]
    if case.outcome == "skip":
        assert len(skip_msgs) == 1, skip_msgs
        assert f"se omitieron {case.skipped} archivo(s)" in skip_msgs[0] and "No se borró ninguno" in skip_msgs[0]
    else:
        assert skip_msgs == []
    assert case.named in " ".join(skip_msgs)
    all_paths = {p for s in ds.values() for p in s.paths}
    # The legacy generators see the same files: one verdict per file.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        legacy = _legacy(root)
    assert case.named in " ".join(str(w.message) for w in caught)
    for split, gen in zip(("train", "validation", "test"), legacy, strict=True):
        assert sorted(gen.filenames) == sorted(ds[split].paths)
    for rel in case.loaded:
        assert str(root / rel) in all_paths
    for rel in case.not_loaded:
        assert str(root / rel) not in all_paths
    # Every good image is still there: bad files were added, never in place of good ones.
    expected = {split: 2 * n + (case.train_delta if split == "train" else 0) for split, n in TINY_COUNTS.items()}
    assert {split: len(s) for split, s in ds.items()} == expected

    # The remaining images decode to RGB, train and predict.
    xb, yb = next(iter(ds["train"].dataset))
    assert xb.shape[1:] == (IMG, IMG, 3)
    model = shared_tiny_cnn
    hist = model.fit(ds["train"].dataset, validation_data=ds["validation"].dataset, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0]) and np.isfinite(hist.history["val_loss"][0])
    pred = model.predict(ds["test"].dataset, verbose=0)
    assert pred.shape == (len(ds["test"]), 1) and np.isfinite(pred).all()

    assert tree_snapshot(root) == before, "loading must never delete or change a file"


def test_odd_modes_decode_to_the_right_colours(tmp_path):
    """Grayscale, CMYK and RGBA files end up as the same RGB pixels PIL sees."""
    colour = (200, 60, 30)
    root = tmp_path / "split"
    base = Image.new("RGB", (12, 12), colour)
    _save(root, "cats/cmyk.jpg", base.convert("CMYK"), quality=95)
    _save(root, "cats/rgba.png", base.convert("RGBA"))
    _save(root, "dogs/gris.jpg", base.convert("L"), quality=95)
    split = loaders.load_split(root, img_size=6, batch_size=8, preprocessing="none")
    x = np.asarray(next(iter(split.dataset))[0])
    for img, path in zip(x, split.paths, strict=True):
        with Image.open(path) as im:
            expect = np.asarray(im.convert("RGB"), dtype="float32").reshape(-1, 3).mean(0)
        assert np.allclose(img.reshape(-1, 3).mean(0), expect, atol=3), path


# =========================================================================== archives

NAME = "cats_dogs_small"
WAYS_OUT = ("Qué puedes hacer", "DATA_SOURCE", ENV_MIRROR, "synthetic")


@dataclass
class ArchiveCase:
    #: Zip members beyond the course layout, the top folder, or raw bytes instead of a zip.
    extra: dict[str, bytes] = field(default_factory=dict)
    top: str = "cnn_perros_gatos"
    raw: bytes | None = None
    checksum: str = "match"  # "match", "wrong" or "none"
    announce_extra: int = 0
    offline: bool = False
    words: tuple[str, ...] = ()


ARCHIVE_CASES = {
    "wrong_checksum": ArchiveCase(checksum="wrong", words=("sha256 no coincide",)),
    "truncated_download": ArchiveCase(checksum="none", announce_extra=4096, words=("incompleta",)),
    "member_escapes_with_dotdot": ArchiveCase(extra={"../evil.txt": b"pwned"}, words=("ruta insegura", "../evil.txt")),
    "member_with_absolute_path": ArchiveCase(
        extra={"/tmp/course_utils_bad_input_abs.txt": b"pwned"},
        words=("ruta insegura", "/tmp/course_utils_bad_input_abs.txt"),
    ),
    "member_escapes_with_backslashes": ArchiveCase(
        extra={"cnn_perros_gatos\\..\\..\\evil_bs.txt": b"pwned"}, words=("ruta insegura",)
    ),
    "unexpected_top_folder": ArchiveCase(
        top="dogs-vs-cats", words=("cnn_perros_gatos/", "dogs-vs-cats", "¿Es el archivo correcto?")
    ),
    "html_page_instead_of_zip": ArchiveCase(
        raw=b"<html><body>Google Drive - Virus scan warning</body></html>",
        checksum="none",
        words=("no es un zip válido",),
    ),
    "no_network": ArchiveCase(offline=True, words=("Connection", "gdrive:")),
    "duplicate_member_names": ArchiveCase(
        extra={"cnn_perros_gatos/train/cats/cat.1.jpg": b"otra foto"}, words=("nombres repetidos", "cat.1.jpg")
    ),
    "file_used_as_a_folder": ArchiveCase(
        extra={"cnn_perros_gatos/train/cats/cat.1.jpg/x.jpg": b"x"}, words=("como archivo y como carpeta",)
    ),
}


@pytest.fixture
def populated_cache(tmp_path):
    """A cache that already holds other downloads and a finished extraction: all must survive."""
    cache = tmp_path / "cache"
    (cache / "sintetico" / "train" / "cats").mkdir(parents=True)
    (cache / "sintetico" / "train" / "cats" / "cat.1.jpg").write_bytes(jpeg_bytes(1))
    (cache / "sintetico" / ".complete").write_text("{}")
    (cache / "dc_cat.jpg").write_bytes(jpeg_bytes(2))
    (cache / "cnn_perros_gatos_improved.keras").write_bytes(b"PK modelo previo")
    return cache


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("name", list(ARCHIVE_CASES))
def test_bad_archive_download(
    name,
    tmp_path,
    populated_cache,
    course_zip_factory,
    http_server,
    closed_port_url,
    monkeypatch,
    tree_snapshot,
    leftovers,
):
    case = ARCHIVE_CASES[name]
    spec = catalog.DATASETS[NAME]
    www = tmp_path / "www"
    zpath = www / spec.filename
    if case.raw is not None:
        www.mkdir()
        zpath.write_bytes(case.raw)
    else:
        course_zip_factory(zpath, top=case.top, extra=case.extra)
    digest = {"match": sha256_of(zpath), "wrong": "f" * 64, "none": None}[case.checksum]
    monkeypatch.setitem(catalog.DATASETS, NAME, dataclasses.replace(spec, mirror_sha256=digest, expected_images=None))
    base = closed_port_url if case.offline else http_server(www, announce_extra=case.announce_extra).url
    before = tree_snapshot(populated_cache)

    with pytest.raises(download.DownloadError) as exc:
        course_data.fetch(NAME, populated_cache, mirrors=base, progress=False, timeout=10)

    msg = str(exc.value)
    assert f"{base}/{spec.filename}" in msg, "the message must name the source tried"
    for w in case.words + WAYS_OUT:
        assert w in msg, f"{w!r} missing from: {msg}"
    assert tree_snapshot(populated_cache) == before, "a failed fetch changed the cache"
    assert leftovers(populated_cache) == []
    for p in (
        tmp_path / "evil.txt",
        tmp_path.parent / "evil.txt",
        tmp_path / "evil_bs.txt",
        Path("/tmp/course_utils_bad_input_abs.txt"),
    ):
        assert not p.exists(), p
    # And with a good archive the next attempt succeeds (nothing stale blocks it).
    good = course_zip_factory(tmp_path / "ok" / spec.filename)
    monkeypatch.setitem(
        catalog.DATASETS, NAME, dataclasses.replace(spec, mirror_sha256=sha256_of(good), expected_images=None)
    )
    root = course_data.fetch(NAME, populated_cache, mirrors=str(good.parent), progress=False)
    assert (root / ".complete").exists() and (root / "train" / "cats" / "cat.1.jpg").exists()


@pytest.mark.parametrize("member", ["../fuera.txt", "/tmp/course_utils_local_abs.txt"])
def test_bad_local_zip_with_escaping_member(member, tmp_path, course_zip_factory, tree_snapshot, leftovers):
    user = tmp_path / "descargas"
    zpath = course_zip_factory(user / "mis_datos.zip", extra={member: b"pwned"})
    before = tree_snapshot(user)
    with pytest.raises(download.ArchiveError) as exc:
        course_data.get_course_data(str(zpath), tmp_path / "cache", progress=False)
    assert "ruta insegura" in str(exc.value) and "No se extrajo nada" in str(exc.value)
    assert tree_snapshot(user) == before
    assert leftovers(tmp_path / "cache") == []
    assert not (tmp_path / "cache" / "fuera.txt").exists() and not (tmp_path / "cache" / "local" / "fuera.txt").exists()
    assert not Path("/tmp/course_utils_local_abs.txt").exists()
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*")), "nothing may be extracted"


def test_bad_local_zip_without_the_course_layout(tmp_path, course_zip_factory, tree_snapshot):
    user = tmp_path / "descargas"
    user.mkdir()
    zpath = user / "fotos.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("fotos/gato.jpg", jpeg_bytes(0))
    before = tree_snapshot(user)
    with pytest.raises(FileNotFoundError) as exc:
        course_data.get_course_data(str(zpath), tmp_path / "cache", progress=False)
    assert "faltan las carpetas" in str(exc.value) and "train/validation/test" in str(exc.value)
    assert tree_snapshot(user) == before


def _deflated_zip(path: Path, members) -> Path:
    import stat

    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for split in ("train", "validation", "test"):
                for cls in ("cats", "dogs"):
                    zf.writestr(f"datos/{split}/{cls}/a.jpg", jpeg_bytes(1))
            for name, payload in members:
                if name.startswith("@link:"):
                    info = zipfile.ZipInfo(name[len("@link:") :])
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    zf.writestr(info, payload)
                else:
                    zf.writestr(name, payload)
    return path


LOCAL_ZIP_CASES = {
    "zip_bomb_60_mb_of_zeros": (
        [("datos/train/cats/bomba.bin", bytes(60_000_000))],
        ("bomba zip", "No se extrajo nada"),
    ),
    "duplicate_names": ([("datos/train/cats/a.jpg", b"otra")], ("nombres repetidos", "datos/train/cats/a.jpg")),
    "symlink_used_as_folder": (
        [("@link:datos/train/enlace", b"/etc"), ("datos/train/enlace/x.jpg", b"x")],
        ("enlaces simbólicos", "datos/train/enlace"),
    ),
    "not_a_zip_at_all": (None, ("no es un zip válido", "DATA_SOURCE", "no se modificó")),
}


@pytest.mark.parametrize("name", list(LOCAL_ZIP_CASES))
def test_bad_local_zip(name, tmp_path, tree_snapshot, leftovers):
    members, words = LOCAL_ZIP_CASES[name]
    user = tmp_path / "descargas"
    zpath = user / "mis_datos.zip"
    if members is None:
        user.mkdir()
        zpath.write_text("no soy un zip")
    else:
        _deflated_zip(zpath, members)
    cache = tmp_path / "cache"
    (cache / "sintetico").mkdir(parents=True)
    (cache / "sintetico" / "a.jpg").write_bytes(jpeg_bytes(3))
    before, cache_before = tree_snapshot(user), tree_snapshot(cache)
    with pytest.raises(download.ArchiveError) as exc:
        course_data.get_course_data(str(zpath), cache, progress=False)
    for w in words:
        assert w in str(exc.value), f"{w!r} missing from: {exc.value}"
    assert "bórralo" not in str(exc.value) and ".extracting" not in str(exc.value)
    assert tree_snapshot(user) == before
    assert tree_snapshot(cache) == cache_before, "nothing may be extracted nor any folder left"
    assert leftovers(cache) == []


# =========================================================================== parameters


def _resolve(notebook, **kw):
    return lambda ctx: resolve.resolve(notebook, "smoke", **kw)


PARAM_CASES = {
    "epochs_zero": (
        _resolve("03_cnn", epochs=0),
        resolve.ParameterError,
        ("EPOCHS=0", "entero positivo", "Prueba con"),
    ),
    "epochs_negative": (
        _resolve("04_aumento_datos", epochs=-3),
        resolve.ParameterError,
        ("EPOCHS=-3", "entero positivo"),
    ),
    "image_size_too_small_for_cnn": (
        _resolve("03_cnn", img_size=32),
        resolve.ParameterError,
        ("IMG_SIZE=32", "demasiado pequeño", "IMG_SIZE>=46"),
    ),
    "image_size_above_the_ceiling": (
        _resolve("03_cnn", img_size=10000),
        resolve.ParameterError,
        ("IMG_SIZE=10000", "demasiado grande", "máximo"),
    ),
    "image_size_huge_in_loader": (
        lambda ctx: loaders.load_split(ctx.data / "train", img_size=10000),
        ValueError,
        ("demasiado grande", "150"),
    ),
    "batch_size_of_a_billion": (
        _resolve("03_cnn", batch_size=10**9),
        resolve.ParameterError,
        ("BATCH_SIZE=1000000000", "demasiado grande", "máximo es 1024", "BATCH_SIZE=32"),
    ),
    "epochs_of_a_million": (_resolve("03_cnn", epochs=10**6), resolve.ParameterError, ("EPOCHS=1000000", "1000")),
    "filter_steps_too_many": (
        _resolve("08_mapas_caracteristicas", filter_steps=5000),
        resolve.ParameterError,
        ("FILTER_STEPS=5000", "máximo es 1000", "FILTER_STEPS=40"),
    ),
    "n_sample_images_too_many": (
        _resolve("01_exploracion_datos", n_sample_images=500),
        resolve.ParameterError,
        ("N_SAMPLE_IMAGES=500", "máximo es 64", "N_SAMPLE_IMAGES=10"),
    ),
    "seed_negative": (_resolve("03_cnn", seed=-1), resolve.ParameterError, ("SEED=-1", "2**32 - 1", "SEED=42")),
    "seed_above_2_32": (_resolve("03_cnn", seed=2**32), resolve.ParameterError, ("SEED=4294967296", "SEED=42")),
    "max_per_class_zero_in_loader": (
        lambda ctx: loaders.load_split(ctx.data / "train", img_size=IMG, max_per_class=0),
        ValueError,
        ("max_per_class=0", "entero positivo"),
    ),
    "max_per_class_negative_in_loader": (
        lambda ctx: loaders.load_split(ctx.data / "train", img_size=IMG, max_per_class=-1),
        ValueError,
        ("max_per_class=-1", "entero positivo"),
    ),
    "legacy_batch_size_zero": (
        lambda ctx: loaders.get_generators(
            ctx.data / "train", ctx.data / "validation", ctx.data / "test", (IMG, IMG), batch_size=0
        ),
        ValueError,
        ("batch_size=0", "enteros positivos"),
    ),
    "image_size_zero_in_loader": (
        lambda ctx: loaders.load_split(ctx.data / "train", img_size=0),
        ValueError,
        ("img_size", "enteros positivos"),
    ),
    "unknown_backbone_param": (
        _resolve("07_modelos_preentrenados", backbones=("vgg16",)),
        resolve.ParameterError,
        ("Modelo base desconocido", "vgg16", "Opciones"),
    ),
    "unknown_backbone_loader": (
        lambda ctx: backbones.load_backbone("inception", weights="random"),
        ValueError,
        ("Modelo base desconocido", "inception", "efficientnetb0"),
    ),
    "unknown_preprocessing_mode": (
        lambda ctx: loaders.load_datasets(ctx.data, img_size=IMG, preprocessing="caffe"),
        ValueError,
        ("Modo de preprocesamiento desconocido", "'caffe'", "Opciones", "rescale"),
    ),
    "unknown_legacy_preprocessing_mode": (
        lambda ctx: loaders.get_generators(
            ctx.data / "train", ctx.data / "validation", ctx.data / "test", (IMG, IMG), preprocessing_mode="rescale"
        ),
        ValueError,
        ("preprocessing_mode='rescale'", "Opciones", "rescaling"),
    ),
    "data_folder_does_not_exist": (
        lambda ctx: course_data.get_course_data(str(ctx.tmp / "no_existe")),
        FileNotFoundError,
        ("no existe", "'synthetic'", "train/validation/test"),
    ),
    "data_folder_does_not_exist_loader": (
        lambda ctx: loaders.load_datasets(ctx.tmp / "no_existe", img_size=IMG),
        FileNotFoundError,
        ("No existe la carpeta", "DATA_SOURCE"),
    ),
    "imagenet_weights_without_network": (
        lambda ctx: backbones.load_backbone("efficientnetb0", weights="imagenet", input_shape=(32, 32, 3)),
        backbones.WeightsUnavailableError,
        ("No se pudieron descargar los pesos ImageNet", "WEIGHTS='random'", "conexión"),
    ),
}


@pytest.mark.parametrize("name", list(PARAM_CASES))
def test_bad_parameter(name, dataset_copy, tmp_path, isolated_course_env, no_network, tree_snapshot):
    from types import SimpleNamespace

    action, error, words = PARAM_CASES[name]
    ctx = SimpleNamespace(data=dataset_copy, tmp=tmp_path)
    watched = [dataset_copy, isolated_course_env.cache, isolated_course_env.artifacts]
    before = [tree_snapshot(w) for w in watched]
    with pytest.raises(error) as exc:
        action(ctx)
    for w in words:
        assert w in str(exc.value), f"{w!r} missing from: {exc.value}"
    assert [tree_snapshot(w) for w in watched] == before


# =========================================================================== saved models


def _good_model_file(path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    return artifacts.save_model(model, path)


def _lambda_model_file(path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x + 1.0)])
    return artifacts.save_model(model, path)


def _truncated_model_file(path):
    _good_model_file(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _foreign_zip(path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hola.txt", "no soy un modelo")


MODEL_CASES = {
    "saved_model_missing": (None, ("No existe el modelo", "Ejecuta antes el cuaderno", "cnn_improved_model")),
    "saved_model_empty": (lambda p: p.write_bytes(b""), ("vacío", "vuelve a entrenarlo")),
    "saved_model_random_bytes": (lambda p: p.write_bytes(b"\x00garbage" * 50), ("dañado", "Vuelve a entrenarlo")),
    "saved_model_truncated": (_truncated_model_file, ("dañado", "Vuelve a entrenarlo")),
    "saved_model_foreign_zip": (_foreign_zip, ("Vuelve a entrenarlo",)),
    "untrusted_lambda_in_safe_mode": (
        _lambda_model_file,
        ("modo seguro", "Lambda", "safe_mode=False", "solo si tú creaste ese archivo"),
    ),
}


@pytest.mark.parametrize("name", list(MODEL_CASES))
def test_bad_saved_model(name, tmp_path, tree_snapshot):
    make, words = MODEL_CASES[name]
    folder = tmp_path / "models"
    folder.mkdir()
    path = folder / "03_cnn.keras"
    if make is not None:
        make(path)
    before = tree_snapshot(folder)
    with pytest.raises(artifacts.ModelLoadError) as exc:
        artifacts.load_model(path)
    for w in words:
        assert w in str(exc.value), f"{w!r} missing from: {exc.value}"
    assert tree_snapshot(folder) == before


# =========================================================================== interrupted saves


def _fail_model_save(tmp_path, monkeypatch):
    import keras

    target = _good_model_file(tmp_path / "modelo.keras")
    new = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])

    def partial(filepath, *a, **k):
        Path(filepath).write_bytes(b"PK\x03\x04 a medias")
        raise KeyboardInterrupt  # the student pressed stop in the middle of the save

    monkeypatch.setattr(new, "save", partial)
    return target, lambda: artifacts.save_model(new, target), KeyboardInterrupt


def _fail_write_json(tmp_path, monkeypatch):
    target = artifacts.write_json(tmp_path / "resultados.json", {"accuracy": 0.8})
    return target, lambda: artifacts.write_json(target, {"accuracy": 0.9, "modelo": object()}), TypeError


def _fail_record_results(tmp_path, monkeypatch):
    target = artifacts.record_results(tmp_path, "03_cnn", accuracy=0.8)
    return target, lambda: artifacts.record_results(tmp_path, "03_cnn", modelo=object()), TypeError


SAVE_CASES = {
    "save_model_interrupted": _fail_model_save,
    "write_json_fails": _fail_write_json,
    "record_results_fails": _fail_record_results,
}


@pytest.mark.parametrize("name", list(SAVE_CASES))
def test_interrupted_save_keeps_previous_file(name, tmp_path, monkeypatch, tree_snapshot, leftovers):
    target, action, error = SAVE_CASES[name](tmp_path, monkeypatch)
    folder = target.parent
    before = tree_snapshot(folder)
    with pytest.raises(error):
        action()
    assert tree_snapshot(folder) == before, "the previous file must stay intact and no temporary file may remain"
    assert leftovers(folder) == []


# =========================================================================== round 3: data sources and the cache


def test_local_zip_replaced_by_another_with_the_same_name_is_extracted_again(tmp_path, course_zip_factory):
    cache = tmp_path / "cache"
    first = course_zip_factory(tmp_path / "descargas" / "datos.zip")
    root1 = course_data.get_course_data(str(first), cache, progress=False).root
    assert not (root1 / "train" / "cats" / "nueva.jpg").exists()
    course_zip_factory(first, extra={"cnn_perros_gatos/train/cats/nueva.jpg": jpeg_bytes(50)})  # replaced in place
    root2 = course_data.get_course_data(str(first), cache, progress=False).root
    assert root2 != root1 and (root2 / "train" / "cats" / "nueva.jpg").exists()
    other = course_zip_factory(tmp_path / "otra_carpeta" / "datos.zip", per_class=2)  # same name, elsewhere
    root3 = course_data.get_course_data(str(other), cache, progress=False).root
    assert root3 not in (root1, root2) and (root3 / "train" / "cats" / "cat.2.jpg").exists()
    assert (root1 / ".complete").exists(), "the first extraction is kept"


def test_data_source_none_is_the_cells_placeholder_auto(monkeypatch, tmp_path, dataset_copy):
    calls = []
    monkeypatch.setattr(course_data, "fetch", lambda name, *a, **k: calls.append(name) or dataset_copy)
    info = course_data.get_course_data(None, tmp_path / "cache", progress=False)
    assert calls == ["cats_dogs_small"] and info.kind == "real"


@pytest.mark.parametrize("value", [3, 2.5, ["datos"], " "])
def test_data_source_of_the_wrong_type(value, tmp_path):
    with pytest.raises(FileNotFoundError) as exc:
        course_data.get_course_data(value, tmp_path / "cache", progress=False)
    assert f"DATA_SOURCE={value!r} no es válido" in str(exc.value) and "entre comillas" in str(exc.value)
    with pytest.raises(resolve.ParameterError, match="entre comillas"):
        resolve.resolve("03_cnn", "smoke", data_source=value)


def test_zip_holding_only_another_zip(tmp_path, course_zip_factory, tree_snapshot):
    inner = course_zip_factory(tmp_path / "dentro" / "datos.zip")
    outer = tmp_path / "descargas" / "envoltorio.zip"
    outer.parent.mkdir()
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "datos.zip")
    with pytest.raises(download.ArchiveError) as exc:
        course_data.get_course_data(str(outer), tmp_path / "cache", progress=False)
    assert "solo contiene otro zip (datos.zip)" in str(exc.value) and "descomprímelo primero" in str(exc.value)
    assert not any(p.is_file() and p.suffix != ".lock" for p in (tmp_path / "cache").rglob("*"))


def test_zip_member_name_longer_than_the_disk_accepts(tmp_path, course_zip_factory):
    long = "cnn_perros_gatos/train/cats/" + "g" * 300 + ".jpg"
    z = course_zip_factory(tmp_path / "descargas" / "largo.zip", extra={long: jpeg_bytes(1)})
    with pytest.raises(download.ArchiveError) as exc:
        course_data.get_course_data(str(z), tmp_path / "cache", progress=False)
    assert "más de 255 bytes" in str(exc.value) and "acorta ese nombre" in str(exc.value)
    assert not any(p.is_file() and p.suffix != ".lock" for p in (tmp_path / "cache").rglob("*"))


def test_damaged_zip_without_checksum_keeps_one_copy_aside_however_many_retries(
    tmp_path, course_zip_factory, monkeypatch
):
    spec = catalog.DATASETS[NAME]
    monkeypatch.setitem(catalog.DATASETS, NAME, dataclasses.replace(spec, mirror_sha256=None, expected_images=None))
    mirror = course_zip_factory(tmp_path / "espejo" / spec.filename)
    raw = bytearray(mirror.read_bytes())
    raw[raw.index(b"\xff\xd8") + 200] ^= 0xFF  # a bad CRC in the first photo: the directory still reads
    mirror.write_bytes(bytes(raw))
    cache = tmp_path / "cache"
    for _ in range(4):
        with pytest.raises((download.ArchiveError, download.DownloadError)):
            course_data.fetch(NAME, cache, mirrors=str(mirror.parent), progress=False)
    copies = [p.name for p in cache.iterdir() if p.name.startswith(spec.filename)]
    assert sorted(copies) == [spec.filename, f"{spec.filename}.damaged"], copies


def test_synthetic_fallback_on_a_full_disk(tmp_path, monkeypatch, leftovers):
    import errno

    from course_utils.data import course_data

    written = []

    def full_disk(self, fp, *a, **k):
        written.append(fp)
        if len(written) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, fp, *a, **k)

    real_save = Image.Image.save
    monkeypatch.setattr(Image.Image, "save", full_disk)
    cache = tmp_path / "cache"
    with pytest.raises(download.NoSpaceError) as exc:
        course_data.get_course_data("synthetic", cache, progress=False)
    assert "No queda espacio en disco" in str(exc.value) and "Libera espacio" in str(exc.value)
    assert not [p for p in cache.rglob("*") if p.is_dir() and p.name.startswith(".sintetico.")]
    assert not (cache / "sintetico").exists() and course_data.DEFAULT_COUNTS


def test_lock_held_by_a_stopped_process_says_it_is_waiting(tmp_path, capsys, monkeypatch):
    from filelock import FileLock

    from course_utils.data import download

    monkeypatch.setattr(download, "WAIT_NOTICE_SECONDS", 0.2)
    lock_path = tmp_path / "cache" / ".datos.zip.lock"
    lock_path.parent.mkdir()
    held = FileLock(str(lock_path))
    held.acquire()  # as a stopped process would hold it
    try:
        with pytest.raises(download.DownloadError) as exc, download.locked(lock_path, tmp_path / "cache", timeout=0.5):
            pass
    finally:
        held.release()
    out = capsys.readouterr().out
    assert "Esperando a otro proceso" in out and "proceso detenido" in out and out.count("Esperando") == 1
    assert "borra" in str(exc.value) and str(lock_path) in str(exc.value)


def test_lock_path_that_is_a_folder(tmp_path, course_zip_factory, tree_snapshot):
    spec = catalog.DATASETS[NAME]
    cache = tmp_path / "cache"
    (cache / f".{spec.filename}.lock").mkdir(parents=True)
    before = tree_snapshot(cache)
    with pytest.raises(download.DownloadError) as exc:
        course_data.fetch(NAME, cache, mirrors=str(tmp_path / "vacio"), progress=False)
    assert "es una carpeta" in str(exc.value) and "muévela o bórrala" in str(exc.value)
    assert tree_snapshot(cache) == before


def test_three_synthetic_generations_at_once_and_a_killed_one(tmp_path):
    import multiprocessing

    from course_utils.data import course_data

    root = tmp_path / "cache" / "sintetico"
    stale = root.parent / ".sintetico.k1ll3d"
    (stale / "train" / "cats").mkdir(parents=True)  # left by a generation killed mid-way
    counts = {"train": 3, "validation": 2, "test": 2}
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(course_data.make_synthetic_dataset, [(root, counts)] * 3)
    assert results == [root] * 3
    assert course_data.count_dataset_images(root) == 2 * sum(counts.values())
    assert not stale.exists()
    assert sorted(p.name for p in root.parent.iterdir()) == [".sintetico.lock", "sintetico"]


# =========================================================================== round 3: the artifacts folder


def _read_only_folder(tmp_path, monkeypatch):
    import errno
    import os

    folder = tmp_path / "solo_lectura"
    folder.mkdir()
    real_open = os.open

    def fake_open(path, flags, *a, **k):
        if os.path.dirname(os.path.abspath(os.fsdecode(path))) == str(folder) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", os.fsdecode(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", fake_open)
    return str(folder), ("no se puede escribir", "Read-only file system")


def _a_file(tmp_path, monkeypatch):
    (tmp_path / "notas.txt").write_text("mis notas")
    return str(tmp_path / "notas.txt"), ("es un archivo, no una carpeta",)


def _below_a_file(tmp_path, monkeypatch):
    (tmp_path / "notas.txt").write_text("mis notas")
    return str(tmp_path / "notas.txt" / "artefactos"), ("es un archivo, no una carpeta",)


ARTIFACTS_CASES = {
    "read_only_folder": _read_only_folder,
    "path_is_a_file": _a_file,
    "folder_cannot_be_created": _below_a_file,
    "an_integer": lambda tmp_path, mp: (123, ("ARTIFACTS_DIR=123 no es válido", "entre comillas")),
    "blank_text": lambda tmp_path, mp: (" ", ("ARTIFACTS_DIR=' ' no es válido", "entre comillas")),
}


@pytest.mark.parametrize("name", list(ARTIFACTS_CASES))
def test_bad_artifacts_dir_stops_at_start(name, tmp_path, monkeypatch, tree_snapshot):
    from course_utils import start

    value, words = ARTIFACTS_CASES[name](tmp_path, monkeypatch)
    before = tree_snapshot(tmp_path)
    monkeypatch.setattr(course_data, "get_course_data", lambda *a, **k: pytest.fail("no data may be fetched"))
    with pytest.raises(ValueError) as exc:
        start.start("02_mlp", {"PARAM_SET": "smoke", "ARTIFACTS_DIR": value}, quiet=True)
    for w in words:
        assert w in str(exc.value), f"{w!r} missing from: {exc.value}"
    if not isinstance(value, int) and value.strip():
        assert "Pon en ARTIFACTS_DIR una carpeta donde puedas escribir" in str(exc.value)
    assert tree_snapshot(tmp_path) == before
    assert not Path(" ").exists(), "no folder named ' ' may be created"


# =========================================================================== round 3: 01's sample photos


@pytest.mark.parametrize("n_images", [4, 1000])
def test_sample_photos_skip_non_images_and_cap_to_what_exists(n_images, dataset_copy, tree_snapshot, capsys):
    from course_utils.data import image_files

    cats = dataset_copy / "train" / "cats"
    _write(dataset_copy, "train/cats/vacio.jpg", b"")
    _write(dataset_copy, "train/cats/texto.jpg", b"no soy una foto")
    _write(dataset_copy, "train/cats/.DS_Store", b"\0\0\0\1Bud1")
    _write(dataset_copy, "train/dogs/notas.txt", b"apuntes")
    before = tree_snapshot(dataset_copy)
    paths, labels = image_files.sample_images(dataset_copy / "train", n_images, seed=0)
    per_class = min(n_images // 2, TINY_COUNTS["train"])
    assert len(paths) == len(labels) == 2 * per_class
    assert {Path(p).name for p in paths}.isdisjoint({"vacio.jpg", "texto.jpg", ".DS_Store", "notas.txt"})
    assert all(Image.open(p).size for p in paths)
    assert labels[0].startswith("cats: ") and labels[-1].startswith("dogs: ")
    assert image_files.sample_images(dataset_copy / "train", n_images, seed=0) == (paths, labels)
    out = capsys.readouterr().out
    assert ("se muestran todas" in out) == (n_images // 2 > TINY_COUNTS["train"])
    assert tree_snapshot(dataset_copy) == before
    assert cats.is_dir()


# =========================================================================== round 3: memory in containers, file caches


def _fake_cgroup(root: Path, version: int, limit: str) -> Path:
    if version == 2:
        _write(root, "proc/self/cgroup", b"0::/user.slice/kernel\n")
        _write(root, "sys/fs/cgroup/user.slice/kernel/memory.max", limit.encode() + b"\n")
    else:
        _write(root, "proc/self/cgroup", b"12:cpu,cpuacct:/docker/abc\n7:memory:/docker/abc\n")
        _write(root, "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", limit.encode() + b"\n")
    return root


@pytest.mark.parametrize("version", [1, 2])
def test_memory_budget_reads_the_container_limit(version, tmp_path, monkeypatch):
    from course_utils.data import loaders

    monkeypatch.delenv(loaders.ENV_CACHE_BUDGET, raising=False)
    root = _fake_cgroup(tmp_path, version, "1200000000")  # a 1.2 GB container
    assert loaders.cgroup_memory_limit(root) == 1_200_000_000
    assert loaders.available_memory_bytes(root) == 1_200_000_000
    assert loaders.memory_budget_bytes(root=root) == int(0.4 * 1_200_000_000)
    # 2000 images of 150 px need 135 MB: memory; at 300 px, 540 MB: more than the container's budget.
    assert loaders.choose_cache(2000, 150, loaders.memory_budget_bytes(root=root))[0] == "memory"
    assert loaders.choose_cache(2000, 300, loaders.memory_budget_bytes(root=root))[0] == "file"
    unlimited = _fake_cgroup(tmp_path / "sin_limite", version, "max" if version == 2 else str(2**63 - 4096))
    assert loaders.cgroup_memory_limit(unlimited) is None
    assert loaders.cgroup_memory_limit(tmp_path / "sin_cgroup") is None


def test_start_warns_when_img_size_and_batch_cannot_fit(tmp_path, monkeypatch, capsys, dataset_copy):
    from course_utils import start
    from course_utils.data import loaders

    monkeypatch.setattr(loaders, "available_memory_bytes", lambda root="/": 8_000_000_000)  # an 8 GB laptop
    monkeypatch.setattr(
        course_data, "get_course_data", lambda *a, **k: course_data.DataInfo(dataset_copy, "local", "tiny")
    )
    start.start("03_cnn", {"PARAM_SET": "smoke", "IMG_SIZE": 512, "BATCH_SIZE": 32})
    out = capsys.readouterr().out
    assert "AVISO: IMG_SIZE=512 con BATCH_SIZE=32" in out and "8.00 GB" in out and "BATCH_SIZE=16)" in out
    start.start("03_cnn", {"PARAM_SET": "smoke", "IMG_SIZE": 150, "BATCH_SIZE": 32})
    assert "AVISO" not in capsys.readouterr().out


def test_file_caches_of_killed_kernels_are_removed_at_the_next_start(tmp_path, monkeypatch):
    import json
    import subprocess
    import sys

    from course_utils.data import loaders

    monkeypatch.setattr(loaders, "_process_folder", None)
    base = tmp_path / "cache" / loaders.FILE_CACHE_SUBDIR
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = base / f"proc_{dead.stdout.strip()}_x"
    (killed / "split_1").mkdir(parents=True)
    (killed / "split_1" / "cache.data-00000-of-00001").write_bytes(bytes(1000))
    (killed / loaders.OWNER_FILE).write_text(json.dumps({"pid": int(dead.stdout), "started": 1.0}))
    old_layout = base / "split_abc"  # a kernel of the previous version, without owner mark
    old_layout.mkdir()
    prefix = loaders.file_cache_prefix()
    assert not killed.exists() and not old_layout.exists()
    mine = Path(prefix).parent.parent
    assert json.loads((mine / loaders.OWNER_FILE).read_text())["pid"] == __import__("os").getpid()
    loaders.remove_stale_caches(base)
    assert mine.exists(), "a live process keeps its cache"


def test_file_cache_that_does_not_fit_on_disk_is_not_made(dataset_copy, tmp_path, monkeypatch):
    from course_utils.data import loaders

    monkeypatch.setattr(loaders, "free_disk_bytes", lambda: 1000)  # a nearly full disk
    split = loaders.load_split(dataset_copy / "train", img_size=8, batch_size=4, memory_budget_gb=0)
    assert split.cache == "none"
    for w in ("Sin caché", "ni en el disco", "Libera espacio", "COURSE_CACHE_DIR"):
        assert w in split.cache_message, split.cache_message
    assert sum(len(y) for _, y in split.dataset) == 2 * TINY_COUNTS["train"]
    assert not (tmp_path / "cache" / loaders.FILE_CACHE_SUBDIR).exists()


# =========================================================================== round 3: results files and course models

RESULTS_CASES = {
    "half_written": b'{"accuracy": 0.8',
    "empty": b"",
    "a_list": b"[0.8, 0.9]",
    "latin_1": '{"nota": "época"}'.encode("latin-1"),
}


@pytest.mark.parametrize("name", list(RESULTS_CASES))
def test_bad_results_file(name, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "03_cnn.json").write_bytes(RESULTS_CASES[name])
    artifacts.record_results(tmp_path, "02_mlp", accuracy=0.7)
    with pytest.warns(UserWarning, match="03_cnn.json") as caught:
        found = artifacts.read_results(tmp_path)
    assert "no se borraron" in str(caught[0].message)
    assert list(found) == ["02_mlp"], "one bad file does not hide the others"
    with pytest.warns(UserWarning, match="se apartó como 03_cnn.json.damaged"):
        path = artifacts.record_results(tmp_path, "03_cnn", accuracy=0.8)
    assert json.loads(path.read_text())["accuracy"] == 0.8
    assert (folder / "03_cnn.json.damaged").read_bytes() == RESULTS_CASES[name], "the bad file is kept"


def _saved(model, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return artifacts.save_model(model, path)


def _tiny(shape, outputs=1):
    import keras

    return keras.Sequential(
        [keras.Input(shape), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(outputs, activation="sigmoid")]
    )


def _custom_layer_model():
    import keras

    class Doble(keras.layers.Layer):  # not registered: Keras cannot rebuild it when loading
        def call(self, x):
            return 2 * x

    return keras.Sequential(
        [keras.Input((32, 32, 3)), Doble(), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1)]
    )


WRONG_MODELS = {
    "input_of_any_size": (lambda: _tiny((None, None, 3)), ("no tiene un tamaño fijo",)),
    "600_px_input": (lambda: _tiny((600, 600, 3)), ("600x600 px", "de 8 a 512 px")),
    "grayscale_input": (lambda: _tiny((64, 64, 1)), ("1 canal(es)", "RGB")),
    "ten_classes": (lambda: _tiny((64, 64, 3), outputs=10), ("da 10 salidas", "una sola")),
    "custom_layer": (_custom_layer_model, ("no está dañado", "capa o función propia", "Doble")),
}


@pytest.mark.parametrize("name", list(WRONG_MODELS))
def test_wrong_model_at_05s_path(name, tmp_path, tree_snapshot):
    from course_utils.models import course_model

    make, words = WRONG_MODELS[name]
    path = _saved(make(), tmp_path / course_model.SAVED_MODELS["cnn_mejorada"])
    before = tree_snapshot(tmp_path)
    with pytest.warns(UserWarning) as caught, pytest.raises(artifacts.ModelLoadError, match="No hay modelo"):
        course_model.find_course_cnn(tmp_path, allow_download=False)
    text = " ".join(str(w.message) for w in caught)
    for w in words:
        assert w in text, f"{w!r} missing from: {text}"
    assert str(path.name) in text and "img_size=" not in text and "Usa 150" not in text
    if name != "custom_layer":
        assert "Vuelve a ejecutar 05_hacia_el_90.ipynb" in text and "dañado" not in text
    assert tree_snapshot(tmp_path) == before


def test_bad_cached_course_model_is_fetched_again_once_the_mirror_is_fixed(tmp_path, monkeypatch, capsys):
    from course_utils.models import course_model

    spec = catalog.DATASETS["cnn_improved_model"]
    mirror = tmp_path / "espejo"
    mirror.mkdir()
    (mirror / spec.filename).write_bytes(b"<html>Google Drive - quota exceeded</html>")
    monkeypatch.setenv(ENV_MIRROR, str(mirror))
    with pytest.raises(artifacts.ModelLoadError, match="No hay modelo"):
        course_model.find_course_cnn(tmp_path / "art", allow_download=True)
    assert "Tampoco se pudo descargar" in capsys.readouterr().out
    _saved(_tiny((64, 64, 3)), mirror / spec.filename)  # the mirror is fixed
    found = course_model.find_course_cnn(tmp_path / "art", allow_download=True)
    assert found.source == "modelo entrenado del curso (descargado)"
    assert artifacts.load_model(found.path).input_shape == (None, 64, 64, 3)
    cache = tmp_path / "cache"
    assert (cache / f"{spec.filename}.damaged").read_bytes().startswith(b"<html>"), "the bad copy is kept aside"


# =========================================================================== round 3: WEIGHTS as a path


def _dense_weights(path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.save_weights(path)
    return path


WEIGHTS_CASES = {
    "missing_file": (lambda d: d / "no_existe.weights.h5", {}, ("no_existe.weights.h5", "no existe", "'imagenet'")),
    "text_file": (
        lambda d: (d / "texto.weights.h5").write_text("hola") and d / "texto.weights.h5",
        {},
        ("no es un archivo de pesos de Keras", "save_weights"),
    ),
    "folder": (
        lambda d: (d / "carpeta.weights.h5").mkdir() or d / "carpeta.weights.h5",
        {},
        ("es una carpeta",),
    ),
    "one_file_for_two_backbones": (
        lambda d: _dense_weights(d / "propios.weights.h5"),
        {"backbones": ("efficientnetb0", "mobilenetv2")},
        ("sirve para un solo modelo base", "no se reconoce como ninguno de efficientnetb0, mobilenetv2, resnet50"),
    ),
}


@pytest.mark.parametrize("name", list(WEIGHTS_CASES))
def test_bad_weights_path(name, tmp_path, tree_snapshot):
    make, extra, words = WEIGHTS_CASES[name]
    path = make(tmp_path)
    before = tree_snapshot(tmp_path)
    with pytest.raises(resolve.ParameterError) as exc:
        resolve.resolve("07_modelos_preentrenados", "smoke", weights=str(path), **extra)
    for w in words:
        assert w in str(exc.value), f"{w!r} missing from: {exc.value}"
    assert tree_snapshot(tmp_path) == before


@pytest.mark.filterwarnings("ignore:Skipping nested container")
def test_weights_file_of_another_model_is_named_when_loading(tmp_path):
    path = str(_dense_weights(tmp_path / "otro.weights.h5"))
    p = resolve.resolve("07_modelos_preentrenados", "smoke", weights=path, backbones=("mobilenetv2",))
    assert p.weights == path
    with pytest.raises(ValueError) as exc:
        backbones.load_backbone("mobilenetv2", weights=p.weights, input_shape=(32, 32, 3))
    assert "no corresponden a MobileNetV2" in str(exc.value) and "WEIGHTS='imagenet'" in str(exc.value)


# =========================================================================== round 4: results, artifacts, caches, mirrors


def test_two_processes_recording_results_at_once_keep_every_key(tmp_path):
    import multiprocessing
    import time

    from course_testing import record_keys_at

    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 3  # both children start writing at the same moment
    with ctx.Pool(2) as pool:
        pool.starmap(record_keys_at, [(start_at, str(tmp_path), "03_cnn", p, 60) for p in ("a", "b")])
    data = json.loads((tmp_path / "results" / "03_cnn.json").read_text())
    assert {f"{p}{i}" for p in "ab" for i in range(60)} <= set(data), f"{len(data) - 2} of 120 keys kept"
    assert not list((tmp_path / "results").glob(".*partial*"))


def _read_only_below(folder: Path, monkeypatch) -> None:
    """Make every write below ``folder`` fail with EROFS, as a disk remounted read-only (root ignores chmod)."""
    import errno
    import os

    real_open, real_mkdir = os.open, os.mkdir
    below = str(folder.resolve())

    def refuse(path, *args, **kwargs):
        if os.path.abspath(os.fsdecode(path)).startswith(below):
            raise OSError(errno.EROFS, "Read-only file system", os.fsdecode(path))
        return None

    def open_(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path)
        return real_open(path, flags, *args, **kwargs)

    def mkdir_(path, *args, **kwargs):
        refuse(path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "mkdir", mkdir_)


@pytest.mark.parametrize("what", ["record_results", "save_model", "record_results_first_time"])
def test_artifacts_dir_that_became_read_only_after_start(what, tmp_path, monkeypatch, tree_snapshot):
    art = tmp_path / "art"
    if what != "record_results_first_time":
        artifacts.record_results(art, "02_mlp", accuracy=0.5)
    else:
        art.mkdir()
    before = tree_snapshot(art)
    _read_only_below(art, monkeypatch)
    with pytest.raises(OSError) as exc:
        if what == "save_model":
            artifacts.save_model(_tiny((8, 8, 3)), art / "models" / "m.keras")
        else:
            artifacts.record_results(art, "02_mlp", accuracy=0.7)
    text = str(exc.value)
    for words in ("solo lectura", "ARTIFACTS_DIR", "sigue intacto"):
        assert words in text, f"{words!r} missing from: {text}"
    monkeypatch.undo()
    assert tree_snapshot(art) == before


def test_synthetic_set_folder_is_readable_by_others(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        root = course_data.make_synthetic_dataset(tmp_path / "sintetico", {"train": 1, "validation": 1, "test": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE(root.stat().st_mode) == 0o755


def test_mirror_entry_that_is_a_folder_is_named_as_a_folder(tmp_path):
    spec = catalog.DATASETS["external_cat"]
    mirror = tmp_path / "espejo"
    (mirror / spec.filename).mkdir(parents=True)
    with pytest.raises(download.DownloadError) as exc:
        course_data.fetch("external_cat", tmp_path / "cache", mirrors=str(mirror), progress=False)
    line = next(s for s in str(exc.value).splitlines() if str(mirror) in s)
    assert "es una carpeta" in line and "no existe" not in line, line


def test_complete_extraction_with_an_empty_image_is_not_accepted(tmp_path, course_zip_factory, tree_snapshot):
    spec = catalog.DATASETS["cats_dogs_small"]
    mirror = tmp_path / "espejo"
    mirror.mkdir()
    zip_path = course_zip_factory(mirror / spec.filename, per_class=1)
    changes = dict(mirror_sha256=sha256_of(zip_path), expected_images=6, max_unpacked_bytes=None)
    catalog_spec = dataclasses.replace(spec, **changes)
    cache = tmp_path / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(catalog.DATASETS, spec.name, catalog_spec)
        root = course_data.fetch(spec.name, cache, mirrors=str(mirror), progress=False)
        assert (root / ".complete").exists()
        victim = sorted((root / "train" / "cats").iterdir())[0]
        victim.write_bytes(b"")
        before = tree_snapshot(cache)
        with pytest.raises(download.ArchiveError) as exc:
            course_data.fetch(spec.name, cache, mirrors=str(mirror), progress=False)
    assert "0 bytes" in str(exc.value) and victim.name in str(exc.value) and "vuelve a ejecutar" in str(exc.value)
    assert tree_snapshot(cache) == before


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("pca_components", 10**6, ("PCA_COMPONENTS", "2048")),
        ("tsne_points", 10**6, ("TSNE_POINTS", "10000")),
        ("n_filters", 10**6, ("N_FILTERS", "64")),
    ],
)
def test_huge_counts_are_refused(name, value, words):
    notebook = next(nb for nb, entry in resolve.BY_NAME.items() if name in entry.parameters)
    with pytest.raises(resolve.ParameterError) as exc:
        resolve.resolve(notebook, "smoke", **{name: value})
    for w in words:
        assert w in str(exc.value), f"{w!r} missing from: {exc.value}"


@pytest.mark.parametrize(
    "variable, value, words",
    [
        ("COURSE_PARAM_SET", "SMOKE", ("COURSE_PARAM_SET='SMOKE'", "'smoke'", "smoke, cpu, gpu")),
        ("COURSE_PRECISION", "float64", ("COURSE_PRECISION='float64'", "64 bits", "float32")),
        ("COURSE_PRECISION", "fp16", ("COURSE_PRECISION='fp16'", "mixed_float16", "quítala")),
    ],
)
def test_bad_environment_variable_is_named(variable, value, words, monkeypatch):
    monkeypatch.setenv(variable, value)
    for notebook in ("02_mlp", "05_hacia_el_90"):  # also notebooks that never use the variable
        with pytest.raises(resolve.ParameterError) as exc:
            resolve.resolve(notebook, "auto")
        for w in words:
            assert w in str(exc.value), f"{w!r} missing from: {exc.value}"


def test_mixed_float16_on_a_cpu_is_warned(monkeypatch):
    from course_utils import hardware

    monkeypatch.setenv("COURSE_PRECISION", "mixed_float16")
    monkeypatch.setattr(hardware, "tensor_core_gpus", lambda devices=None: [])
    with pytest.warns(UserWarning, match="sin una GPU con tensor cores") as caught:
        p = resolve.resolve("05_hacia_el_90", "smoke")
    assert p.precision == "mixed_float16" and "float32" in str(caught[0].message)
    monkeypatch.setattr(hardware, "tensor_core_gpus", lambda devices=None: ["NVIDIA T4"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve.resolve("05_hacia_el_90", "smoke").precision == "mixed_float16"


@pytest.mark.filterwarnings("ignore:Skipping nested container")
def test_weights_file_with_two_backbones_suggests_the_files_backbone(tmp_path):
    import keras

    path = tmp_path / "mi_resnet.weights.h5"
    base = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")
    keras.Sequential([base, keras.layers.Dense(1)]).save_weights(path)  # a student's model: backbone and head
    with pytest.raises(resolve.ParameterError) as exc:
        resolve.resolve(
            "07_modelos_preentrenados", "smoke", weights=str(path), backbones=("efficientnetb0", "resnet50")
        )
    text = str(exc.value)
    assert "BACKBONES=('resnet50',)" in text and "ResNet50" in text, text
    assert "efficientnetb0'," not in text, text


# =========================================================================== round 4: ImageNet weights files


@pytest.fixture
def keras_cache_file():
    """``cached(spec)`` -> its path in Keras' (test) cache; every file of that name is removed afterwards."""
    made = []

    def cached(spec):
        path = backbones.keras_models_dir() / spec.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        made.append(path)
        return path

    yield cached
    for path in made:
        for p in path.parent.glob(f"{path.name}*"):
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def test_damaged_weights_file_in_keras_cache_is_replaced_from_the_mirror(
    tmp_path, monkeypatch, no_network, keras_cache_file
):
    from course_testing import applications_weights_file

    spec = backbones.spec_for("mobilenetv2", (96, 96, 3))
    mirror = tmp_path / "espejo"
    mirror.mkdir()
    good = applications_weights_file(mirror / spec.filename, "MobileNetV2", 96).read_bytes()
    cached = keras_cache_file(spec)
    cached.write_bytes(good[: len(good) // 3])  # a download cut short, kept by Keras in its cache
    monkeypatch.setenv(ENV_MIRROR, str(mirror))
    with pytest.warns(UserWarning, match="no pasó la comprobación") as caught:
        model = backbones.load_backbone("mobilenetv2", weights="imagenet", input_shape=(96, 96, 3))
    assert model.count_params() > 0 and not no_network
    assert cached.read_bytes() == good, "the mirror's good copy replaced it"
    (aside,) = cached.parent.glob(f"{spec.filename}.damaged-*")
    assert aside.read_bytes() == good[: len(good) // 3], "the damaged copy is kept aside, not deleted"
    assert any("se apartó" in str(w.message) for w in caught)


@pytest.mark.parametrize("wrong", ["untrained_mobilenetv2", "resnet50_under_mobilenetv2s_name"])
def test_wrong_weights_file_in_the_mirror_is_refused_before_keras_reads_it(
    wrong, tmp_path, monkeypatch, no_network, keras_cache_file, tree_snapshot
):
    from course_testing import applications_weights_file

    spec = backbones.spec_for("mobilenetv2", (96, 96, 3))
    mirror = tmp_path / "espejo"
    mirror.mkdir()
    if wrong == "untrained_mobilenetv2":
        applications_weights_file(mirror / spec.filename, "MobileNetV2", 96, trained=False)
        words = "pesos sin entrenar"
    else:
        applications_weights_file(mirror / spec.filename, "ResNet50", 32)
        words = "no tiene las capas de MobileNetV2"
    monkeypatch.setenv(ENV_MIRROR, str(mirror))
    cached = keras_cache_file(spec)
    before = tree_snapshot(mirror)
    with pytest.raises(backbones.WeightsUnavailableError) as exc, pytest.warns(UserWarning, match="no sirven"):
        backbones.load_backbone("mobilenetv2", weights="imagenet", input_shape=(96, 96, 3))
    assert words in str(exc.value) and "WEIGHTS='random'" in str(exc.value), str(exc.value)
    assert not cached.exists() and tree_snapshot(mirror) == before


ONE_VERDICT_FILES = {
    "dieciseis.png": png_sixteen_bit_grey,
    "aritmetica.jpg": jpeg_arithmetic_sof9,
    "pantalla.gif": gif_large_screen,
    "mentira.jpg": jpeg_lying_header,
}


@pytest.mark.parametrize("name", list(ONE_VERDICT_FILES))
def test_figures_follow_the_loaders_verdict(name, tmp_path):
    """The PIL path (thumbnails, image grids) leaves out what the loaders leave out, and says so."""
    from course_utils import visualization

    good = tmp_path / "buena.jpg"
    good.write_bytes(jpeg_bytes(1, (40, 30)))
    odd = tmp_path / name
    odd.write_bytes(ONE_VERDICT_FILES[name]())
    assert image_files.check_images([odd], cache=False)[0][0] != "ok"
    with pytest.warns(UserWarning, match=f"No se muestran 1 archivo.*{name}"):
        good_thumb, odd_thumb = visualization.load_thumbnails([good, odd], size=32)
    assert good_thumb.shape[2] == 3 and good_thumb.std() > 0
    assert odd_thumb.shape == (32, 32, 3) and np.all(odd_thumb == 128)

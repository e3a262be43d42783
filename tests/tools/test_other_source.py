"""The evaluation on photos from another source (benchmarks/other_source.py) and how its set was chosen
(benchmarks/other_source_manifest.py)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from course_testing import jpeg_bytes

pytest.importorskip("tensorflow")

from benchmarks import other_source, other_source_manifest  # noqa: E402

pytestmark = pytest.mark.usefixtures("isolated_course_env")


def _brightness_model(side: int | None, rescaling: bool):
    """A CNN stand-in: 'dog' when the mean pixel is above the middle ([0, 1] pixels, or raw ones with Rescaling)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(side, side, 3))
    x = inputs
    if side is None:
        x = layers.Resizing(12, 12)(x)
    if rescaling:
        x = layers.Rescaling(1 / 255)(x)
    x = layers.GlobalAveragePooling2D()(x)
    dense = layers.Dense(1, activation="sigmoid")
    outputs = dense(x)
    model = keras.Model(inputs, outputs)
    dense.set_weights([np.full((3, 1), 20 / 3, dtype="float32"), np.array([-10.0], dtype="float32")])
    return model


def _photos(root: Path, dark_dogs: int = 0) -> Path:
    """cats/ with 3 dark photos, dogs/ with 3 bright ones (``dark_dogs`` of them dark instead)."""
    from PIL import Image

    for label, level in (("cats", 40), ("dogs", 215)):
        (root / label).mkdir(parents=True)
        for i in range(3):
            value = 40 if label == "dogs" and i < dark_dogs else level
            Image.new("RGB", (30 + 7 * i, 20 + 5 * i), (value,) * 3).save(root / label / f"{label}_{i}.jpg")
    return root


def test_pixel_range_and_size_are_read_from_the_model():
    bare = _brightness_model(16, rescaling=False)  # like 03's CNN: [0, 1] pixels at IMG_SIZE
    photo = _brightness_model(None, rescaling=True)  # like 05's photo model: any size, raw pixels
    assert other_source.pixel_range(bare) == "unit" and other_source.model_img_size(bare) == 16
    assert other_source.pixel_range(photo) == "raw" and other_source.model_img_size(photo) == 12


def test_accuracy_by_class_counts_each_class():
    r = other_source.accuracy_by_class(np.array([0.1, 0.9, 0.8, 0.7]), np.array([0, 0, 1, 1]), ["cats", "dogs"])
    assert r == {
        "accuracy": 0.75,
        "images": 4,
        "per_class": {"cats": {"accuracy": 0.5, "images": 2}, "dogs": {"accuracy": 1.0, "images": 2}},
    }
    with pytest.raises(ValueError, match="predicciones"):
        other_source.accuracy_by_class(np.array([0.1]), np.array([0, 1]), ["cats", "dogs"])


@pytest.mark.parametrize("side, rescaling, pixels", [(16, False, "unit"), (None, True, "raw")])
def test_evaluate_folder_through_both_loaders(tmp_path, side, rescaling, pixels):
    model = _brightness_model(side, rescaling)
    folder = _photos(tmp_path / "fotos", dark_dogs=1)
    out = other_source.evaluate_folder(model, folder, img_size=16, pixels=pixels, batch_size=4)
    assert set(out) == {"image_dataset_from_directory", "load_split"}
    for r in out.values():
        assert r["images"] == 6
        assert r["per_class"] == {"cats": {"accuracy": 1.0, "images": 3}, "dogs": {"accuracy": 0.6667, "images": 3}}


def test_main_writes_the_record_with_the_model_and_the_photos(tmp_path, monkeypatch):
    model_path = tmp_path / "modelo.keras"
    _brightness_model(16, rescaling=False).save(model_path)
    folder = _photos(tmp_path / "fotos")
    out = tmp_path / "registro.json"
    assert (
        other_source.main(["--model", str(model_path), "--photos", str(folder), "--no-course-test", "--out", str(out)])
        == 0
    )
    record = json.loads(out.read_text())
    assert record["pixels"] == "unit" and record["img_size"] == 16
    assert record["model_sha256"] == hashlib.sha256(model_path.read_bytes()).hexdigest()
    assert record["photos"]["license"] == "CC BY-SA 4.0"
    assert record["results"]["other_source"]["load_split"]["accuracy"] == 1.0
    assert "cpu" in record["machine"] and record["command"].startswith("python -m benchmarks.other_source")


# ---------------------------------------------------------------- how the photos were chosen


def test_oxford_label_reads_the_class_from_the_capital_letter():
    assert other_source_manifest.oxford_label("images/Bengal_12.jpg") == ("cats", "Bengal")
    assert other_source_manifest.oxford_label("dogs/great_pyrenees_7.jpg") == ("dogs", "great_pyrenees")


def _noise_jpeg(seed: int, size=(120, 90), quality=90) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)  # smooth content, as a photo
    buf = io.BytesIO()
    Image.fromarray(small).resize(size, Image.Resampling.BICUBIC).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def test_dhash_sees_a_recompressed_resized_copy_but_not_another_photo():
    from PIL import Image

    original = _noise_jpeg(1)
    buf = io.BytesIO()
    Image.open(io.BytesIO(original)).resize((200, 150)).save(buf, format="JPEG", quality=60)
    h = other_source_manifest.dhash(original)
    near = other_source_manifest.hamming(h, other_source_manifest.dhash(buf.getvalue()))
    far = other_source_manifest.hamming(h, other_source_manifest.dhash(_noise_jpeg(2)))
    assert near <= other_source_manifest.NEAR_DUPLICATE_BITS < far


def _candidate(path: str, data: bytes, repo: str = "a/b") -> other_source_manifest.Candidate:
    label, breed = other_source_manifest.oxford_label(path)
    return other_source_manifest.Candidate(repo, "0" * 40, path, label, breed, data)


def test_select_drops_course_photos_duplicates_and_unreadable_files(tmp_path):
    course_photo, copy_of_kept = _noise_jpeg(10), _noise_jpeg(11, quality=70)
    cands = [
        _candidate("x/Bengal_1.jpg", _noise_jpeg(11)),
        _candidate("x/Bengal_2.jpg", copy_of_kept),  # the same photo, recompressed
        _candidate("x/Bengal_3.jpg", course_photo),  # in the course's zip
        _candidate("x/Sphynx_1.jpg", b"no es una imagen"),
        _candidate("x/Sphynx_2.jpg", _noise_jpeg(12)),
        _candidate("x/Sphynx_2.jpg", _noise_jpeg(12), repo="c/d"),  # the same file in another source
        _candidate("x/pug_1.jpg", _noise_jpeg(13)),
        _candidate("x/pug_2.jpg", _noise_jpeg(14)),
        _candidate("x/boxer_1.jpg", _noise_jpeg(15)),
    ]
    zpath = tmp_path / "curso.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("cnn_perros_gatos/test/cats/cat.1.jpg", course_photo)
        zf.writestr("cnn_perros_gatos/test/dogs/dog.1.jpg", jpeg_bytes(3))
    shas, hashes = other_source_manifest.course_fingerprints(str(zpath))

    chosen, dropped = other_source_manifest.select(cands, shas, hashes, per_class=2)

    assert sorted(c.path for c in chosen) == ["x/Bengal_1.jpg", "x/Sphynx_2.jpg", "x/boxer_1.jpg", "x/pug_1.jpg"]
    assert dropped == {
        "casi idéntica a otra foto elegida": 1,
        "idéntica a una foto del curso": 1,
        "no es una imagen RGB/gris legible": 1,
        "mismo archivo en otra fuente": 1,
        "sobrante (más de --per-class)": 1,
    }
    record = other_source_manifest.manifest_record(chosen, "prueba", dropped, "python -m ...")
    assert [f["file"] for f in record["files"]] == [
        "cats/Bengal_1.jpg",
        "cats/Sphynx_2.jpg",
        "dogs/boxer_1.jpg",
        "dogs/pug_1.jpg",
    ]
    assert record["selection"]["per_class"] == {"cats": 2, "dogs": 2}

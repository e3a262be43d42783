"""course_utils.data.loaders: alignment of images, labels and paths; caching and the memory estimate; augmentation; preprocessing; legacy generators."""

from __future__ import annotations

import numpy as np
import pytest
from course_testing import TINY_COUNTS
from PIL import Image

from course_utils.data import loaders


@pytest.fixture
def color_set(tmp_path, color_dataset_factory):
    root = tmp_path / "colores"
    truth = color_dataset_factory(root, {"train": 10, "validation": 5, "test": 5})
    return root, truth


def _elements(dataset):
    """Every (image, label) pair of a batched dataset, in order."""
    xs, ys = [], []
    for xb, yb in dataset:
        xs.append(np.asarray(xb))
        ys.append(np.asarray(yb))
    return np.concatenate(xs), np.concatenate(ys)


def _decode_colour(img):
    """(label, index) encoded in a solid-colour image by color_dataset_factory."""
    r, g, b = (float(np.round(v)) for v in img.reshape(-1, 3).mean(0))
    assert np.allclose(img, img.reshape(-1, 3)[0], atol=0.51), "the image should be a solid colour"
    label = int(round(g / 255))
    return label, int(r) - 100 * label


@pytest.mark.parametrize("shuffle", [False, True])
def test_labels_paths_and_images_stay_aligned(color_set, shuffle):
    root, truth = color_set
    split = loaders.load_split(root / "train", img_size=6, batch_size=3, shuffle=shuffle, preprocessing="none")
    assert split.class_names == ["cats", "dogs"] and split.class_indices == {"cats": 0, "dogs": 1}
    assert len(split) == 20 and split.shuffled is shuffle
    assert [truth[p][0] for p in split.paths] == list(split.labels)

    x, y = _elements(split.dataset)
    assert x.shape == (20, 6, 6, 3) and x.dtype == np.float32
    decoded = [_decode_colour(img) for img in x]
    assert [lab for lab, _ in decoded] == [int(v) for v in y], "every image must carry its own label"
    if shuffle:
        assert sorted(decoded) == sorted(truth[p] for p in split.paths)
        assert decoded != [truth[p] for p in split.paths], "a shuffled split should not keep file order"
    else:
        assert decoded == [truth[p] for p in split.paths], "unshuffled order must follow split.paths"


def test_shuffled_split_reshuffles_each_epoch(color_set):
    root, _ = color_set
    split = loaders.load_split(root / "train", img_size=4, batch_size=5, shuffle=True, preprocessing="none")
    e1, _ = _elements(split.dataset)
    e2, _ = _elements(split.dataset)
    assert not np.array_equal(e1, e2)
    assert np.array_equal(np.sort(e1[:, 0, 0, 0]), np.sort(e2[:, 0, 0, 0]))


@pytest.mark.parametrize("cache", [True, "file"])
def test_cache_gives_identical_batches_every_epoch(tiny_dataset, tmp_path, cache):
    cache = str(tmp_path / "cache") if cache == "file" else cache
    split = loaders.load_split(tiny_dataset / "validation", img_size=16, batch_size=4, cache=cache)
    first = [(np.asarray(x), np.asarray(y)) for x, y in split.dataset]
    second = [(np.asarray(x), np.asarray(y)) for x, y in split.dataset]
    assert len(first) == 2
    for (x1, y1), (x2, y2) in zip(first, second, strict=True):
        assert np.array_equal(x1, x2) and np.array_equal(y1, y2)


def test_decoded_pixels_match_pil_resize(color_set):
    root, truth = color_set
    split = loaders.load_split(root / "test", img_size=5, batch_size=100, preprocessing="rescale", cache=False)
    x, _ = _elements(split.dataset)
    assert x.min() >= 0 and x.max() <= 1
    label, i = truth[split.paths[-1]]
    assert np.allclose(x[-1], np.array([label * 100 + i, 255 * label, 77]) / 255, atol=1e-6)


def test_load_datasets_augments_only_train(tiny_dataset):
    seen = []

    def marker(x, training=False):  # a stand-in augmentation that leaves an unmistakable trace
        seen.append(training)
        return x + 1000.0

    ds = loaders.load_datasets(tiny_dataset, img_size=8, batch_size=4, preprocessing="none", augment=marker)
    assert set(ds) == {"train", "validation", "test"}
    assert ds["train"].shuffled and not ds["validation"].shuffled and not ds["test"].shuffled
    xtr, _ = _elements(ds["train"].dataset)
    assert xtr.min() >= 1000
    for split in ("validation", "test"):
        x, _ = _elements(ds[split].dataset)
        assert x.max() <= 255.0, f"{split} must not be augmented"
        assert len(x) == 2 * TINY_COUNTS[split]
    assert seen and all(seen)


def test_load_datasets_max_per_class_and_class_order(tiny_dataset):
    ds = loaders.load_datasets(tiny_dataset, img_size=8, batch_size=4, max_per_class=2)
    assert all(len(s) == 4 for s in ds.values())
    assert all(s.class_names == ["cats", "dogs"] for s in ds.values())


def test_make_augmentation_changes_training_images_only(tiny_dataset):
    split = loaders.load_split(tiny_dataset / "test", img_size=24, batch_size=6, preprocessing="none")
    x, _ = next(iter(split.dataset))
    aug = loaders.make_augmentation(seed=1)
    assert [type(layer).__name__ for layer in aug.layers] == [
        "RandomFlip",
        "RandomRotation",
        "RandomTranslation",
        "RandomZoom",
        "RandomShear",
    ]
    assert np.allclose(np.asarray(aug(x, training=False)), np.asarray(x))
    out = np.asarray(aug(x, training=True))
    assert out.shape == tuple(x.shape) and not np.allclose(out, np.asarray(x))
    assert len(loaders.make_augmentation(flip=False, shear=0).layers) == 3


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("rescale", [[0.0, 0.5, 1.0]]),
        ("none", [[0.0, 127.5, 255.0]]),
        ("efficientnet", [[0.0, 127.5, 255.0]]),
        ("mobilenet_v2", [[-1.0, 0.0, 1.0]]),
        ("resnet", [[255.0 - 103.939, 127.5 - 116.779, 0.0 - 123.68]]),  # RGB -> BGR, minus ImageNet means
    ],
)
def test_preprocess_function_modes(mode, expected):
    x = np.array([[0.0, 127.5, 255.0]], dtype="float32")
    out = np.asarray(loaders.preprocess_function(mode)(x.copy()))
    assert np.allclose(out, expected, atol=1e-4)


def test_every_backbone_has_a_preprocessing_mode():
    from course_utils.params.schema import BACKBONES

    assert set(loaders.BACKBONE_PREPROCESSING) == set(BACKBONES)
    for name, mode in loaders.BACKBONE_PREPROCESSING.items():
        assert mode in loaders.PREPROCESSING_MODES and BACKBONES[name].preprocessing == mode


def test_unknown_preprocessing_mode(tiny_dataset):
    with pytest.raises(ValueError, match="desconocido.*Opciones"):
        loaders.preprocess_function("caffe")
    with pytest.raises(ValueError, match="Modo de preprocesamiento desconocido"):
        loaders.load_split(tiny_dataset / "test", img_size=8, preprocessing="imagenet")


@pytest.mark.parametrize("kwargs", [dict(img_size=0), dict(img_size=8, batch_size=0), dict(img_size=-3)])
def test_load_split_rejects_non_positive_sizes(tiny_dataset, kwargs):
    with pytest.raises(ValueError, match="enteros positivos"):
        loaders.load_split(tiny_dataset / "test", **kwargs)


# --------------------------------------------------------------------------- legacy generators


@pytest.mark.parametrize(
    "mode, model_type, low, high",
    [
        ("rescaling", None, 0.0, 1.0),
        ("model_specific", "efficientnet", 0.0, 255.0),
        ("model_specific", "resnet", -124.0, 152.0),
        ("model_specific", "mobilenet_v2", -1.0, 1.0),
        ("augmenting", None, 0.0, 1.0),
        ("augmenting", "mobilenet_v2", -1.0, 1.0),
    ],
)
def test_get_generators_valid_modes(tiny_dataset, mode, model_type, low, high):
    d = tiny_dataset
    gens = loaders.get_generators(
        d / "train",
        d / "validation",
        d / "test",
        (20, 20),
        preprocessing_mode=mode,
        model_type=model_type,
        batch_size=4,
        seed=0,
    )
    train, val, test = gens
    assert [g.samples for g in gens] == [2 * TINY_COUNTS[s] for s in ("train", "validation", "test")]
    assert all(g.class_indices == {"cats": 0, "dogs": 1} for g in gens)
    assert train.shuffle and not val.shuffle and not test.shuffle
    for g in gens:
        x, y = g[0]
        assert x.shape[1:] == (20, 20, 3) and set(np.unique(y)) <= {0.0, 1.0}
        assert x.min() >= low - 1e-3 and x.max() <= high + 1e-3
    assert list(test.classes) == [0] * TINY_COUNTS["test"] + [1] * TINY_COUNTS["test"]


def test_get_generators_augmenting_changes_train_only(tiny_dataset):
    d = tiny_dataset
    plain = loaders.get_generators(d / "train", d / "validation", d / "test", (20, 20), batch_size=50, seed=0)
    aug = loaders.get_generators(
        d / "train", d / "validation", d / "test", (20, 20), preprocessing_mode="augmenting", batch_size=50, seed=0
    )
    assert np.allclose(plain[1][0][0], aug[1][0][0])
    xp, xa = plain[0][0][0], aug[0][0][0]
    assert xa.max() <= 1.0 and not np.allclose(np.sort(xp.ravel()), np.sort(xa.ravel()))


@pytest.mark.parametrize(
    "mode, model_type",
    [
        ("rescale", None),
        ("modelo", None),
        ("model_specific", None),
        ("model_specific", "vgg16"),
        ("augmenting", "vgg16"),
    ],
)
def test_get_generators_rejects_unknown_mode_or_model(tiny_dataset, mode, model_type):
    d = tiny_dataset
    bad = repr(mode) if mode not in ("model_specific", "augmenting") else repr(model_type)
    with pytest.raises(ValueError, match="Opciones") as exc:
        loaders.get_generators(
            d / "train", d / "validation", d / "test", (20, 20), preprocessing_mode=mode, model_type=model_type
        )
    assert bad in str(exc.value), "the message names the value that is wrong"


# --------------------------------------------------------------------------- legacy path = modern path's checks


def _legacy(root, **kw):
    return loaders.get_generators(
        root / "train", root / "validation", root / "test", (16, 16), batch_size=kw.pop("batch_size", 4), seed=0, **kw
    )


def test_get_generators_refuses_an_extra_empty_class_folder(dataset_copy):
    (dataset_copy / "train" / "birds").mkdir()
    with pytest.raises(ValueError) as exc:
        _legacy(dataset_copy)
    assert "birds" in str(exc.value) and "mismas carpetas de clase" in str(exc.value)


def test_get_generators_skips_the_files_the_modern_loader_skips(dataset_copy):
    cats = dataset_copy / "train" / "cats"
    good = (cats / "cat.1.jpg").read_bytes()
    (cats / "rota.jpg").write_bytes(good[: len(good) // 2])
    (cats / "._cat.1.jpg").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (cats / "texto.jpg").write_text("no soy una foto")
    Image.new("RGB", (9, 9), (1, 2, 3)).save(cats / "foto.webp")
    with pytest.warns(UserWarning, match="se omitieron 3 archivo"):
        train, _, _ = _legacy(dataset_copy, batch_size=5)
    with pytest.warns(UserWarning, match="se omitieron 3 archivo"):
        modern = loaders.load_split(dataset_copy / "train", 16)
    assert sorted(train.filenames) == sorted(modern.paths)
    for i in range(len(train)):  # a whole epoch decodes without error
        x, _ = train[i]
        assert x.shape[1:] == (16, 16, 3)


def test_both_loaders_leave_out_16_bit_images_instead_of_whitening_them(dataset_copy):
    """One verdict per file: Keras' legacy loading would whiten a 16-bit image, so no loader reads it."""
    p = dataset_copy / "train" / "dogs" / "dieciseis.png"
    Image.fromarray(np.full((12, 12), 30000, dtype=np.uint16)).save(p)
    with pytest.warns(UserWarning, match="16 bits"):
        train, _, _ = _legacy(dataset_copy)
    assert str(p) not in train.filenames and not any(f.endswith("dieciseis.png") for f in train.filenames)
    with pytest.warns(UserWarning, match="16 bits.*conviértelas a 8 bits"):
        split = loaders.load_split(dataset_copy / "train", 8, 64, preprocessing="none")
    assert str(p) not in split.paths and sorted(split.paths) == sorted(train.filenames)


@pytest.mark.parametrize("batch_size", [0, -2, 2.5])
def test_get_generators_refuses_bad_batch_size(tiny_dataset, batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        _legacy(tiny_dataset, batch_size=batch_size)


@pytest.mark.parametrize("max_per_class", [0, -1])
def test_load_split_refuses_non_positive_max_per_class(tiny_dataset, max_per_class):
    with pytest.raises(ValueError, match="max_per_class"):
        loaders.load_split(tiny_dataset / "train", 16, max_per_class=max_per_class)


def test_load_split_refuses_an_image_size_over_the_ceiling(tiny_dataset):
    with pytest.raises(ValueError, match="demasiado grande"):
        loaders.load_split(tiny_dataset / "train", 10000)


def test_load_datasets_names_a_class_folder_with_a_trailing_space(dataset_copy):
    (dataset_copy / "train" / "cats").rename(dataset_copy / "train" / "cats ")
    with pytest.raises(ValueError) as exc:
        loaders.load_datasets(dataset_copy, 16)
    assert "'cats '" in str(exc.value) and "espacios" in str(exc.value)


# --------------------------------------------------------------------------- decoding, cache policy, fast augmentation


def _gradient(path, size=(320, 240), fmt="JPEG"):
    """A smooth colour gradient image (so that decoding at reduced scale stays close to full size)."""
    from PIL import Image

    w, h = size
    xs, ys = np.meshgrid(np.linspace(0, 255, w), np.linspace(0, 255, h))
    arr = np.stack([xs, ys, 255 - xs], axis=-1).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format=fmt, quality=95)
    return arr


@pytest.mark.parametrize("fmt, name", [("JPEG", "a.jpg"), ("PNG", "b.png")])
def test_large_images_are_decoded_close_to_a_full_size_resize(tmp_path, fmt, name):
    """JPEGs are decoded at a reduced DCT scale; the result must match a full decode + resize."""
    import tensorflow as tf

    arr = _gradient(tmp_path / "split" / "cats" / name, fmt=fmt)
    split = loaders.load_split(tmp_path / "split", img_size=16, batch_size=1, preprocessing="none", cache=False)
    x, _ = _elements(split.dataset)
    reference = tf.image.resize(arr.astype("float32"), (16, 16), antialias=True).numpy()
    assert x.shape == (1, 16, 16, 3)
    assert np.abs(x[0] - reference).mean() < 3.0


@pytest.mark.parametrize(
    "n, size, budget, mode",
    [
        (100, 150, 100 * 150 * 150 * 3, "memory"),  # exactly fits
        (101, 150, 100 * 150 * 150 * 3, "file"),  # one image too many
        (25_000, 224, int(5e9), "memory"),  # full Kaggle set at 224 px: 3.76 GB (uint8)
        (25_000, 224, int(3e9), "file"),
    ],
)
def test_choose_cache_by_memory_budget(n, size, budget, mode):
    chosen, message = loaders.choose_cache(n, size, budget)
    assert chosen == mode
    assert ("memoria" if mode == "memory" else "disco") in message and "GB" in message


def test_uint8_cache_is_four_times_smaller_than_float32():
    assert loaders.cached_bytes(10, 150) * 4 == 10 * 150 * 150 * 3 * np.dtype("float32").itemsize


def test_memory_budget_from_argument_environment_or_machine(monkeypatch):
    monkeypatch.delenv(loaders.ENV_CACHE_BUDGET, raising=False)
    assert loaders.memory_budget_bytes(2.5) == int(2.5e9)
    machine = loaders.memory_budget_bytes()
    assert machine > 0
    monkeypatch.setenv(loaders.ENV_CACHE_BUDGET, "1.5")
    assert loaders.memory_budget_bytes() == int(1.5e9)
    monkeypatch.setenv(loaders.ENV_CACHE_BUDGET, "mucho")
    with pytest.raises(ValueError, match="GB"):
        loaders.memory_budget_bytes()
    with pytest.raises(ValueError, match=">= 0"):
        loaders.memory_budget_bytes(-1)


def test_over_budget_split_is_cached_in_a_file_with_the_same_batches(color_set, tmp_path, monkeypatch):
    root, _ = color_set
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    in_memory = loaders.load_split(root / "train", img_size=6, batch_size=4, preprocessing="none")
    on_disk = loaders.load_split(root / "train", img_size=6, batch_size=4, preprocessing="none", memory_budget_gb=0)
    assert in_memory.cache == "memory" and "memoria" in in_memory.cache_message
    assert on_disk.cache == "file" and "disco" in on_disk.cache_message
    x1, y1 = _elements(in_memory.dataset)
    for _ in range(2):  # first epoch writes the file cache, the second reads it
        x2, y2 = _elements(on_disk.dataset)
        assert np.array_equal(x1, x2) and np.array_equal(y1, y2) and x2.dtype == np.float32
    assert list((tmp_path / "cache" / loaders.FILE_CACHE_SUBDIR).rglob("cache*"))
    assert loaders.load_split(root / "train", img_size=6, cache=False).cache == "none"


def test_load_datasets_shares_one_budget_between_splits(color_set, tmp_path, monkeypatch):
    root, _ = color_set
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    per_image = loaders.cached_bytes(1, 8)
    budget_gb = 25 * per_image / 1e9  # train (20 images) fits, then only 5 images' worth is left
    ds = loaders.load_datasets(root, img_size=8, batch_size=4, memory_budget_gb=budget_gb)
    assert [ds[s].cache for s in ("train", "validation", "test")] == ["memory", "file", "file"]


def _batch(n=6, size=20):
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (n, size, size, 3)).astype("uint8")


def test_lesson_augment_without_ranges_is_the_identity():
    x = _batch()
    fn = loaders.lesson_augment(seed=0, rotation=0, shift=0, zoom=0, shear=0, flip=False)
    out = np.asarray(fn(x))
    assert out.dtype == np.uint8 and np.array_equal(out, x)


def test_lesson_augment_flip_only_mirrors_some_images():
    x = _batch(n=32)
    out = np.asarray(loaders.lesson_augment(seed=0, rotation=0, shift=0, zoom=0, shear=0)(x))
    same = [np.array_equal(o, i) for o, i in zip(out, x, strict=True)]
    mirrored = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x, strict=True)]
    assert all(s or m for s, m in zip(same, mirrored, strict=True)) and any(same) and any(mirrored)


def test_lesson_augment_in_the_loader_changes_training_batches_only(tiny_dataset):
    plain = loaders.load_split(tiny_dataset / "train", img_size=24, batch_size=12, preprocessing="none")
    aug = loaders.load_split(
        tiny_dataset / "train", img_size=24, batch_size=12, preprocessing="none", augment="lesson", seed=3
    )
    xp, yp = _elements(plain.dataset)
    xa, ya = _elements(aug.dataset)
    assert xa.shape == xp.shape and xa.dtype == np.float32 and np.array_equal(yp, ya)
    assert not np.allclose(xa, xp) and 0 <= xa.min() and xa.max() <= 255
    with pytest.raises(ValueError, match="lesson"):
        loaders.load_split(tiny_dataset / "train", img_size=24, augment="fuerte")


def test_training_memory_estimate_matches_the_two_measured_peaks():
    assert abs(loaders.training_memory_bytes(150, 32) - 1.51e9) < 0.05e9  # 03, cpu series
    assert abs(loaders.training_memory_bytes(512, 32) - 8.9e9) < 0.1e9  # 03 at 512 px (issue 21)


def test_memory_warning_only_when_it_cannot_fit(monkeypatch):
    monkeypatch.setattr(loaders, "available_memory_bytes", lambda root="/": 4_000_000_000)
    assert loaders.memory_warning(150, 32) is None
    text = loaders.memory_warning(512, 64)
    assert text.startswith("AVISO: IMG_SIZE=512 con BATCH_SIZE=64") and "Baja BATCH_SIZE" in text

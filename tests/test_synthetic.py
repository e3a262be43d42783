"""course_utils.synthetic: deterministic, laid out like the course set, never overwrites, learnable."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from course_utils.layout import CLASSES, SPLITS
from course_utils.synthetic import make_synthetic_dataset

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
    from course_utils import synthetic

    root = make_synthetic_dataset(tmp_path / "s", counts={"train": 1, "validation": 1, "test": 2})
    assert len(list((root / "test" / "dogs").iterdir())) == 2
    stamp = json.loads((root / ".complete").read_text())
    assert set(stamp["counts"]) == set(synthetic.DEFAULT_COUNTS)


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
    from course_utils.evaluation import evaluate
    from course_utils.pipelines import load_datasets

    ds = load_datasets(learn_set, img_size=32, batch_size=16, seed=0)
    model = tiny_cnn_factory(img_size=32, conv_names=("c1", "c2"), seed=0)
    model.fit(ds["train"].dataset, epochs=8, verbose=0)
    res = evaluate(model, ds["test"], plot=False, verbose=False)
    assert res["accuracy"] >= 0.75, f"a tiny CNN reached only {res['accuracy']:.2f} on the synthetic test split"

"""Resumable training of the from-scratch benchmark (benchmarks/resumable.py) on a tiny synthetic run."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from benchmarks import resumable  # noqa: E402
from benchmarks.ablation import run_name  # noqa: E402
from benchmarks.scratch_models import CHOLLET_XCEPTION, optimizer_for, residual_cnn  # noqa: E402
from course_utils.data.loaders import lesson_augment  # noqa: E402

CFG = dict(optimizer="adamw_warmup_cosine", learning_rate=1e-2, warmup_epochs=1, weight_decay=1e-4)
SMALL = dict(widths=(4, 8), stem_filters=4, stem_kernel=3, stem_stride=2, stem_padding="same", stem_bn=True)


def _data(n=12, size=16):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, size, size, 3), dtype="uint8")
    labels = (images.mean(axis=(1, 2, 3)) > 127).astype("float32")
    return images, labels


def _run(ckpt, epochs=3, resume=False, stop_after=None, identity=None):
    keras.utils.set_random_seed(7)
    images, labels = _data()
    model = residual_cnn(16, **SMALL)
    # Eager: what is tested is the checkpoint's state and files, not tf.function; each run of a tiny model
    # spent most of its time tracing (this file: 69 -> 35 s on 2 cores).
    model.compile(
        optimizer=optimizer_for(CFG, 3, epochs), loss="binary_crossentropy", metrics=["accuracy"], run_eagerly=True
    )
    import tensorflow as tf

    val = tf.data.Dataset.from_tensor_slices((images[:6].astype("float32") / 255, labels[:6])).batch(4)
    state = resumable.fit_resumable(
        model,
        lambda e: resumable.epoch_dataset(images, labels, 4, 42, e, warp_factory=lambda s: lesson_augment(s)),
        val,
        epochs,
        ckpt,
        identity=identity or {"name": "tiny", "epochs": epochs},
        resume=resume,
        stop_after=stop_after,
        verbose=0,
    )
    return model, state


def test_epoch_order_depends_only_on_seed_and_epoch():
    a = resumable.epoch_order(50, 42, 3)
    assert sorted(a) == list(range(50))
    assert np.array_equal(a, resumable.epoch_order(50, 42, 3))
    assert not np.array_equal(a, resumable.epoch_order(50, 42, 4))
    assert not np.array_equal(a, resumable.epoch_order(50, 43, 3))
    assert resumable.epoch_seed(42, 3) == resumable.epoch_seed(42, 3) != resumable.epoch_seed(42, 4)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three epochs in a row, and two epochs, interrupted, then one more after a resume."""
    folder = tmp_path_factory.mktemp("checkpoints")
    straight, s_state = _run(folder / "straight.npz")
    _, first = _run(folder / "split.npz", stop_after=2)
    leftovers = list(folder.glob("*.tmp*"))
    after_two = resumable.read_state(folder / "split.npz")
    resumed, r_state = _run(folder / "split.npz", resume=True)
    return dict(
        folder=folder,
        straight=(straight, s_state),
        first=first,
        after_two=after_two,
        leftovers=leftovers,
        resumed=(resumed, r_state),
    )


def test_two_epochs_then_one_more_equals_three_in_a_row(runs):
    (straight, s_state), (resumed, r_state) = runs["straight"], runs["resumed"]
    assert runs["first"]["epochs_done"] == 2 and len(runs["first"]["history"]["loss"]) == 2
    assert runs["after_two"]["epochs_done"] == 2
    assert not runs["leftovers"]  # written through a temporary file, then renamed
    assert r_state["epochs_done"] == 3
    assert int(resumed.optimizer.iterations.numpy()) == int(straight.optimizer.iterations.numpy()) == 9
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(s_state["history"]["loss"], r_state["history"]["loss"], atol=1e-3)
    assert r_state["best_epoch"] == s_state["best_epoch"]
    for a, b in zip(s_state["best_weights"], r_state["best_weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert len(r_state["epoch_seconds"]) == len(r_state["epoch_cpu_seconds"]) == 3 and r_state["train_seconds"] > 0


def test_finished_run_resumes_without_training(runs):
    model, state = _run(runs["folder"] / "straight.npz", resume=True)
    assert state["epochs_done"] == 3 and state["epoch_seconds"] == runs["straight"][1]["epoch_seconds"]
    for a, b in zip(model.get_weights(), runs["straight"][0].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_refuses_a_checkpoint_of_another_configuration(runs):
    with pytest.raises(ValueError, match="otra configuración"):
        _run(runs["folder"] / "straight.npz", resume=True, identity={"name": "other", "epochs": 3})


def test_without_resume_a_checkpoint_is_not_read(runs):
    _, state = _run(runs["folder"] / "straight.npz", stop_after=0)
    assert state["epochs_done"] == 0 and state["history"] == {}


def test_residual_cnn_with_the_books_settings_is_its_mini_xception():
    """Deep Learning with Python, ch. 9: 721,857 parameters at 180 px."""
    assert residual_cnn(180, **CHOLLET_XCEPTION).count_params() == 721_857


def test_run_name_is_a_plain_file_name():
    assert run_name("+batchnorm", 42) == "plus_batchnorm_seed42.npz"
    assert run_name("bn0.9+label_smoothing", 1) == "bn0.9plus_label_smoothing_seed1.npz"


def test_validation_only_in_the_last_epochs(tmp_path):
    """A validation function returning None skips that epoch's validation: val_* is None there and the
    best epoch is chosen among the validated ones only."""
    import tensorflow as tf

    keras.utils.set_random_seed(7)
    images, labels = _data()
    model = residual_cnn(None, **SMALL)
    model.compile(optimizer=optimizer_for(CFG, 3, 3), loss="binary_crossentropy", metrics=["accuracy"])
    val = tf.data.Dataset.from_tensor_slices((images[:6].astype("float32") / 255, labels[:6])).batch(4)
    sizes = [16, 16, 24]  # the last epoch at another size: the model takes any size
    resize = lambda x, y, s: (tf.image.resize(x, (s, s)), y)  # noqa: E731
    state = resumable.fit_resumable(
        model,
        lambda e: resumable.epoch_dataset(images, labels, 4, 42, e).map(lambda x, y: resize(x, y, sizes[e])),
        lambda e: val.map(lambda x, y: resize(x, y, 24)) if e == 2 else None,
        3,
        tmp_path / "late.npz",
        identity={"name": "late"},
        verbose=0,
    )
    assert state["history"]["val_accuracy"][:2] == [None, None] and state["history"]["val_accuracy"][2] is not None
    assert len(state["history"]["loss"]) == len(state["history"]["val_loss"]) == 3
    assert state["best_epoch"] == 3 and state["best_weights"] is not None


def test_mixup_mixes_images_and_labels_with_one_weight_per_image():
    import tensorflow as tf

    x = tf.constant(np.stack([np.full((2, 2, 3), v, "float32") for v in (0.0, 1.0, 0.25, 0.75)]))
    y = tf.constant([0.0, 1.0, 0.0, 1.0])
    mixed, soft = resumable.mixup_batch(0.4, 3)(x, y)
    lam = (np.asarray(mixed)[:, 0, 0, 0] - np.asarray(x)[::-1, 0, 0, 0]) / (
        np.asarray(x)[:, 0, 0, 0] - np.asarray(x)[::-1, 0, 0, 0]
    )
    assert np.all((lam >= 0) & (lam <= 1)) and not np.allclose(lam, 1.0)
    np.testing.assert_allclose(np.asarray(soft), lam * np.asarray(y) + (1 - lam) * np.asarray(y)[::-1], atol=1e-5)
    again, _ = resumable.mixup_batch(0.4, 3)(x, y)
    np.testing.assert_array_equal(np.asarray(mixed), np.asarray(again))  # a function of the seed


def test_phases_and_their_timing():
    from types import SimpleNamespace

    from benchmarks.ablation import PROGRESSIVE, VARIANTS, phase_timing, phases_of

    args = SimpleNamespace(img_size=96, epochs=48)
    assert phases_of(VARIANTS["res_s2"], args) == [[96, 48]]
    assert phases_of(dict(VARIANTS["res_s2"], **PROGRESSIVE), args) == PROGRESSIVE["phases"]
    state = dict(
        epoch_seconds=[1.0, 3.0, 5.0, 7.0],
        epoch_cpu_seconds=[2.0, 6.0, 10.0, 12.0],
        history=dict(val_accuracy=[None, None, None, 0.5]),
    )
    rows = phase_timing([[64, 2], [96, 2]], state)
    assert [(r["size"], r["validated"], r["epochs"], r["wall_per_epoch"], r["cpu_per_epoch"]) for r in rows] == [
        (64, False, 2, 2.0, 4.0),
        (96, False, 1, 5.0, 10.0),
        (96, True, 1, 7.0, 12.0),
    ]


def _npz(arrays: dict) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _state(**changes) -> np.ndarray:
    import json

    state = dict(identity={"name": "tiny", "epochs": 1}, epochs_done=1, history={}, best_val=0.5, best_epoch=1)
    state.update(epoch_seconds=[1.0], format=resumable.FORMAT, **changes)
    return np.frombuffer(json.dumps(state).encode(), dtype="uint8")


#: Damaged checkpoints as --resume may meet them (issue 31): each is set aside and its run starts afresh.
DAMAGED_CHECKPOINTS = {
    "truncated": lambda: (lambda good: good[: len(good) // 2])(_npz({"state": _state(), "model_0": np.zeros(999)})),
    "empty": lambda: b"",
    "html_page": lambda: b"<!DOCTYPE html><html><body>Quota exceeded</body></html>",
    "without_state": lambda: _npz({"model_0": np.zeros(3)}),
    "without_identity": lambda: _npz({"state": np.frombuffer(b'{"epochs_done": 1, "history": {}}', dtype="uint8")}),
    "state_not_utf8": lambda: _npz({"state": np.frombuffer(b"\xff\xfe\x00epochs", dtype="uint8")}),
    "epochs_beyond_the_budget": lambda: _npz({"state": _state(epochs_done=99)}),
    "folder": None,
}


#: Each case trains a tiny model twice (tens of seconds): `make test-fast` keeps two, `make test` runs all.
FAST_CASES = ("truncated", "epochs_beyond_the_budget")


@pytest.mark.parametrize(
    "name", [n if n in FAST_CASES else pytest.param(n, marks=pytest.mark.slow) for n in DAMAGED_CHECKPOINTS]
)
def test_resume_sets_a_damaged_checkpoint_aside_and_starts_afresh(name, tmp_path, capsys):
    ckpt = tmp_path / "run.npz"
    if DAMAGED_CHECKPOINTS[name] is None:
        (ckpt / "algo").mkdir(parents=True)
    else:
        ckpt.write_bytes(DAMAGED_CHECKPOINTS[name]())
    before = sorted(p.name for p in ckpt.rglob("*")) if ckpt.is_dir() else ckpt.read_bytes()
    _, state = _run(ckpt, epochs=1, resume=True)
    out = capsys.readouterr().out
    assert "no sirve para reanudar" in out and "empieza de cero" in out and "Reanudando" not in out, out
    assert state["epochs_done"] == 1 and len(state["history"]["loss"]) == 1
    assert resumable.read_state(ckpt)["epochs_done"] == 1, "a good checkpoint replaces it"
    (aside,) = tmp_path.glob("run.npz.damaged-*")
    assert (sorted(p.name for p in aside.rglob("*")) if aside.is_dir() else aside.read_bytes()) == before
    _, again = _run(ckpt, epochs=1, resume=True)  # the next --resume finds the finished run: no loop
    assert again["epochs_done"] == 1 and "Reanudando" in capsys.readouterr().out


@pytest.mark.parametrize("size", [32, 8])
def test_ablation_refuses_images_too_small_for_the_model_before_loading_anything(size, tmp_path, capsys, monkeypatch):
    from benchmarks import ablation
    from course_utils.data import course_data

    monkeypatch.setattr(course_data, "get_course_data", lambda *a, **k: pytest.fail("no data may be loaded"))
    args = ["--img-size", str(size), "--steps", "original", "--variants", "res_s2", "--data", "synthetic"]
    with pytest.raises(SystemExit) as exc:
        ablation.main([*args, "--out", str(tmp_path / "a.json"), "--checkpoint-dir", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "original: imágenes de" in err and "al menos 46 px" in err and "--img-size 46" in err, err


def test_smallest_size_of_each_ablation_model_is_the_smallest_keras_builds():
    from benchmarks import ablation

    configs = {s: ablation.config_for(s) for s in ("original", "+gap")}
    configs |= {v: dict(ablation.IMPROVED, **ablation.VARIANTS[v]) for v in ("wide_same_5blocks", "res_s2")}
    for name, cfg in configs.items():
        need = ablation.min_img_size(cfg)
        assert ablation.build(cfg, need).output_shape == (None, 1), name
        if need > 1:
            with pytest.raises(ValueError):
                ablation.build(cfg, need - 1)

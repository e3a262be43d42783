"""The maintainer benchmarks (``benchmarks/``): a tiny end-to-end run, targets, report, memory mode, CLI.

No assertion on speed: the speed targets are read off the benchmark's output.
"""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("tensorflow")

from benchmarks import bench_report, cli, loader_memory, targets  # noqa: E402
from benchmarks.bench_report import Row  # noqa: E402
from benchmarks.bench_settings import BenchConfig  # noqa: E402
from course_utils.data.course_data import make_synthetic_dataset  # noqa: E402

REQUIRED = {"name", "label", "unit", "original", "course", "ratio", "target", "met"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One super-quick run: 12/6/6 images per class, 1 epoch, 48 px CNN, eager Keras, 2 repeats."""
    tmp = tmp_path_factory.mktemp("bench")
    root = make_synthetic_dataset(tmp / "data", counts={"train": 12, "validation": 6, "test": 6})
    cfg = BenchConfig(
        epochs=1,
        batch_size=8,
        small_size=16,
        large_size=48,
        repeats=2,
        min_later_seconds=0.0,
        min_later_passes=1,
        max_later_passes=2,
        run_eagerly=True,
        mlp_recipe_epochs=(1, 1),
        precision_models=(("cnn_improved", 48),),
        precision_steps=1,
        mode="test",
    )
    lines: list[str] = []
    result = cli.run_benchmark(root, cfg, progress=lines.append, data_kind="synthetic")
    md, js = bench_report.write_outputs(result, tmp / "out" / "bench.md")
    return cfg, result, lines, md, js


@pytest.mark.slow
def test_rows_have_finite_numbers_and_interleaved_repeats(run):
    cfg, result, lines, _, _ = run
    assert len(lines) == 1 + len(result.rows)  # the data line, then one line per row
    for r in result.rows:
        assert math.isfinite(r.course) and r.original is not None and math.isfinite(r.original), r
        if r.ratio_kind == "x":
            assert r.original > 0 and r.course > 0 and r.ratio > 0, r
        else:
            assert 0 <= r.original <= 100 and 0 <= r.course <= 100, r
    throughput = [r for r in result.rows if r.name.startswith("throughput_")]
    assert {r.name for r in throughput} == {
        f"throughput_{s}_{a}_{e}" for s in (16, 48) for a in ("noaug", "aug") for e in ("first", "later")
    }
    for r in throughput:
        assert r.loads and all(v >= 0 for v in r.loads)
        if r.name.endswith("_first"):
            assert len(r.runs) == cfg.repeats and r.details["images"] == 24
    precision = [r for r in result.rows if r.name.startswith("precision_")]
    assert [r.name for r in precision] == ["precision_cnn_improved_48"] and len(precision[0].runs) == cfg.repeats


@pytest.mark.slow
def test_targets_marked_on_the_rows(run):
    _, result, _, _, _ = run
    by_name = {r.name: r for r in result.rows}
    for size in (16, 48):
        for aug in ("noaug", "aug"):
            row = by_name[f"throughput_{size}_{aug}_first"]
            assert row.target == ">= 1.0x" and row.met is (row.ratio >= 1.0)
        assert by_name[f"throughput_{size}_aug_later"].met is (by_name[f"throughput_{size}_aug_later"].ratio >= 1.5)
    cached = by_name["throughput_48_noaug_later"]
    assert "20x" in cached.target and cached.met is None, "the 20x target is for full mode only"


@pytest.mark.slow
def test_outputs_json_rows_and_meta(run):
    _, result, _, md, js = run
    rows = json.loads(js.read_text(encoding="utf-8"))
    assert isinstance(rows, list) and [r["name"] for r in rows] == [r.name for r in result.rows]
    assert all(REQUIRED <= set(r) for r in rows)
    meta = json.loads(md.with_suffix(".meta.json").read_text(encoding="utf-8"))
    assert meta["mode"] == "test" and meta["load_average_start"] and meta["images"]["train"] == 24
    text = md.read_text(encoding="utf-8")
    for r in result.rows:
        assert r.label in text
    assert text.count("NOT MET") == sum(r.met is False for r in result.rows)


@pytest.mark.parametrize("mode, ratio, met", [("full", 19.9, False), ("full", 20.0, True), ("quick", 35.0, None)])
def test_cached_target_applies_in_full_mode_only(mode, ratio, met):
    row = Row("throughput_150_noaug_later", "x", "img/s", 1.0, ratio, ratio)
    targets.apply_targets([row], mode)
    assert row.met is met and "20x" in row.target


@pytest.mark.parametrize("ratio, met", [(0.99, False), (1.0, True)])
def test_first_epoch_target(ratio, met):
    row = Row("throughput_16_aug_first", "x", "img/s", 100.0, 100 * ratio, ratio)
    targets.apply_targets([row], "quick")
    assert row.met is met


def test_memory_target_and_rows_without_ratio():
    rows = [
        Row("memory_224_train_peak", "m", "GB", None, 12.5, None, "value"),
        Row("memory_150_train_peak", "m", "GB", None, 3.0, None, "value"),
    ]
    targets.apply_targets(rows, "full", budget_gb=12)
    assert [r.met for r in rows] == [False, True]
    text = bench_report.render_markdown(bench_report.BenchResult(rows, {}))
    assert "12.50" in text and "<= 12 GB: NOT MET" in text


@pytest.mark.parametrize("runs, noisy", [([1.0, 1.5, 1.2], True), ([1.0, 1.05, 1.1], False), ([1.0], False)])
def test_spread_between_repeats_marks_noise(runs, noisy):
    row = Row("r", "r", "img/s", 1.0, 1.0, 1.0, runs=runs, loads=[0.5, 3.2])
    assert row.noisy() is noisy
    assert "load 0.5–3.2" in row.spread_text()


@pytest.mark.slow
def test_synthetic_jpegs_and_memory_run_in_a_child_process(tmp_path):
    from PIL import Image

    counts = {"train": 8, "validation": 4, "test": 4}
    assert loader_memory.make_synthetic_jpegs(tmp_path, counts, size=(64, 48), distinct=3) == 16
    files = sorted((tmp_path / "train").rglob("*.jpg"))
    assert len(files) == 8
    with Image.open(files[0]) as im:
        assert im.format == "JPEG" and im.size == (64, 48)
    r = loader_memory.run_in_child(tmp_path, 48, batch_size=4, train_steps=1, budget_gb=1.0)
    assert r["images"] == counts and r["cache"]["train"] == "memory" and r["train_steps"] == 1
    assert 0 < r["load_peak_gb"] <= r["train_peak_gb"]


def test_cli_arguments_and_exit_codes(monkeypatch, tmp_path, capsys):
    args = cli.parse(["--quick", "--epochs", "1", "--out", "x/y.md"])
    assert args.command == "pipelines" and args.quick and args.epochs == 1 and args.data == "auto"
    assert cli.parse(["memory", "--sizes", "150", "224"]).sizes == [150, 224]
    for bad in (["--epochs", "0"], ["--repeats", "0"], ["nada"]):
        with pytest.raises(SystemExit):
            cli.parse(bad)
    assert BenchConfig.quick().per_class == {"train": 200, "validation": 50, "test": 100}
    assert BenchConfig.full(epochs=3).epochs == 3 and BenchConfig.full().repeats >= 2

    from course_utils.data import course_data

    def broken(*a, **k):
        raise RuntimeError("sin datos")

    monkeypatch.setattr(course_data, "get_course_data", broken)
    assert cli.main(["--quick", "--out", str(tmp_path / "b.md")]) == 1
    assert "sin datos" in capsys.readouterr().err


@pytest.mark.parametrize(
    "ratio, units, met", [(1.4, ["avx512_bf16"], True), (0.8, ["amx_bf16"], False), (0.8, [], None)]
)
def test_precision_target_applies_where_bf16_is_chosen(ratio, units, met):
    row = Row("precision_cnn_150", "x", "img/s", 100.0, 100 * ratio, ratio)
    assert targets._bf16_pays_off(row, units) is met
    targets.apply_targets([row], "full")
    assert "bf16" in row.target


def test_epoch_speed_refuses_an_unknown_augmentation_place():
    from benchmarks import epoch_speed

    with pytest.raises(ValueError, match="--augmentation 'gpu'"):
        epoch_speed.measure(32, 2, jit=False, steps=1, repeats=1, augmentation="gpu")


@pytest.mark.slow
def test_epoch_speed_measures_the_augmentation_mapped_over_the_pipeline():
    from benchmarks import epoch_speed

    row = epoch_speed.measure(32, 2, jit=False, steps=2, repeats=1, augmentation="tfdata")
    assert row["augmentation"] == "tfdata" and row["train_epoch_wall"] > 0 and row["validation_wall"] > 0

"""The benchmark runs end to end on a tiny synthetic set and writes a complete table.

No assertion on speed: the speed targets are read off the benchmark's output.
"""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("tensorflow")

from course_utils import bench  # noqa: E402
from course_utils.synthetic import make_synthetic_dataset  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One super-quick benchmark run: 12/6/6 images per class, 1 epoch, 48 px CNN, eager Keras."""
    tmp = tmp_path_factory.mktemp("bench")
    root = make_synthetic_dataset(tmp / "data", counts={"train": 12, "validation": 6, "test": 6})
    cfg = bench.BenchConfig(epochs=1, batch_size=8, small_size=16, large_size=48,
                            min_later_seconds=0.0, min_later_passes=1, max_later_passes=1, run_eagerly=True,
                            mlp_recipe_epochs=(1, 1),
                            mode="test")
    lines: list[str] = []
    result = bench.run_benchmark(root, cfg, progress=lines.append, data_kind="synthetic")
    md, js = bench.write_outputs(result, tmp / "out" / "bench.md")
    return cfg, result, lines, md, js


def test_every_row_with_finite_positive_numbers(run):
    cfg, result, _, _, _ = run
    keys = [r.key for r in result.rows]
    assert keys == bench.expected_keys(cfg)
    assert len(keys) == 16
    for r in result.rows:
        values = (r.legacy, r.modern, r.ratio)
        assert all(math.isfinite(v) for v in values), r
        if r.ratio_kind == "x":  # throughput and time
            assert r.legacy > 0 and r.modern > 0 and r.ratio > 0, r
        else:  # test accuracy, in percent
            assert 0 <= r.legacy <= 100 and 0 <= r.modern <= 100, r
    assert result.meta["images"] == {"train": 24, "validation": 12, "test": 12}
    assert result.meta["wall_time_s"] > 0


def test_targets_are_marked(run):
    cfg, result, _, _, _ = run
    by_key = {r.key: r for r in result.rows}
    for key in (f"throughput_{cfg.large_size}_noaug_later", "recipe_mlp_time", "recipe_mlp_accuracy"):
        assert by_key[key].target and by_key[key].met in (True, False)
    assert sum(bool(r.target) for r in result.rows) == 3


def test_progress_one_line_per_measurement(run):
    _, _, lines, _, _ = run
    # data line, throughput rows, one per model, one for the MLP recipes
    assert len(lines) == 1 + 8 + len(bench.MODEL_SPECS) + 1
    assert sum(line.startswith("[") for line in lines) == 8 + len(bench.MODEL_SPECS) + 1


def test_files_written(run):
    _, result, _, md, js = run
    text = md.read_text(encoding="utf-8")
    assert text.count("\n| ") == 1 + len(result.rows)  # header + rows
    for r in result.rows:
        assert r.label in text
    payload = json.loads(js.read_text(encoding="utf-8"))
    assert js.parent == md.parent and js.suffix == ".json"
    assert [r["key"] for r in payload["rows"]] == [r.key for r in result.rows]
    assert payload["meta"]["config"]["epochs"] == 1


def test_cli_arguments():
    args = bench._parse(["--quick", "--epochs", "1", "--out", "x/y.md"])
    assert args.quick and args.epochs == 1 and args.out == "x/y.md" and args.data == "auto"
    with pytest.raises(SystemExit):
        bench._parse(["--epochs", "0"])
    assert bench.BenchConfig.quick().per_class == {"train": 200, "validation": 50, "test": 100}
    assert bench.BenchConfig.full(epochs=3).epochs == 3

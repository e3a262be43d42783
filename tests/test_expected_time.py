"""Expected minutes per notebook: collected from series summaries, shown by start()."""

from __future__ import annotations

import json

from course_tools import series_times
from course_utils.expected_time import expected_minutes


def _summary(tmp_path, name, precision, rows, cpu="AVX2, sin unidades bf16", load="1.00 / 1.00 / 1.00"):
    path = tmp_path / f"{name}.json"
    rec = {"date": "d", "machine": "m", "command": "c", "precision": precision, "cpu": cpu, "load": load}
    path.write_text(json.dumps({"param_set": "cpu", "recorded": rec, "rows": rows}))
    return path


def test_collect_keeps_ok_runs_per_precision_and_later_summaries_win(tmp_path):
    a = _summary(
        tmp_path,
        "a",
        "float32",
        [
            {"notebook": "03_cnn", "status": "ok", "seconds": 300.0},
            {"notebook": "04_aumento_datos", "status": "failed", "seconds": 5.0},
        ],
    )
    b = _summary(tmp_path, "b", "float32", [{"notebook": "03_cnn", "status": "ok", "seconds": 240.0}])
    c = _summary(tmp_path, "c", "mixed_bfloat16", [{"notebook": "03_cnn", "status": "ok", "seconds": 120.0}])
    times = series_times.collect([a, b, c])
    assert times["cpu"]["float32"]["seconds"] == {"03_cnn": 240.0}
    assert times["cpu"]["mixed_bfloat16"]["seconds"] == {"03_cnn": 120.0}
    assert "AVX2" in times["cpu"]["float32"]["where"]
    assert expected_minutes("03_cnn", "cpu", "float32", times) == "≈ 4 min en una computadora de 2 núcleos sin GPU"
    assert (
        expected_minutes("03_cnn", "cpu", "mixed_bfloat16", times) == "≈ 2 min en una computadora de 2 núcleos sin GPU"
    )
    assert expected_minutes("04_aumento_datos", "cpu", "float32", times) is None
    assert expected_minutes("03_cnn", "gpu", "float32", times) is None


def test_the_student_sees_minutes_and_the_kind_of_machine_not_its_hardware(tmp_path):
    s = _summary(tmp_path, "a", "float32", [{"notebook": "03_cnn", "status": "ok", "seconds": 300.0}])
    times = series_times.collect([s])
    said = expected_minutes("03_cnn", "cpu", "mixed_float16", times)
    assert said == "≈ 5 min en una computadora de 2 núcleos sin GPU", "without a record of that precision: float32's"
    for detail in ("AVX", "bf16", "carga", "float32"):
        assert detail not in said


def test_short_notebooks_show_a_decimal_comma(tmp_path):
    s = _summary(tmp_path, "a", "float32", [{"notebook": "01_exploracion_datos", "status": "ok", "seconds": 42.0}])
    assert expected_minutes("01_exploracion_datos", "cpu", "float32", series_times.collect([s])).startswith("≈ 0,7 min")


def test_a_summary_without_precision_is_refused_in_spanish(tmp_path):
    import pytest

    path = tmp_path / "old.json"
    path.write_text(json.dumps({"param_set": "cpu", "recorded": {"date": "d"}, "rows": []}))
    with pytest.raises(ValueError, match="no dice con qué precisión"):
        series_times.collect([path])


def test_readme_times_block_gives_verdicts_per_notebook_and_for_the_series():
    from course_tools.readme import times_section
    from course_utils.schema import NOTEBOOKS

    names = [nb.name for nb in NOTEBOOKS]
    where = "2 núcleos AVX2, carga media 1"
    fast = {"cpu": {"float32": {"seconds": {n: 120.0 for n in names}, "where": where}}}
    text = times_section(fast)
    assert "Cada cuaderno ≤ 15 min en float32: MET" in text and "Serie completa ≤ 25 min en float32: MET" in text
    slow = {"cpu": {"float32": {"seconds": {**{n: 120.0 for n in names}, names[4]: 1200.0}, "where": where}}}
    text = times_section(slow)
    assert f"NOT MET: {names[4]} (20.0 min)" in text and "Serie completa ≤ 25 min en float32: NOT MET" in text
    partial = {"cpu": {"float32": {"seconds": {names[0]: 60.0}, "where": where}}}
    assert "no medido (faltan" in times_section(partial)
    assert "Todavía no hay tiempos" in times_section({})

"""The README's generated blocks agree with the schema and with the results recorded under results/."""

from __future__ import annotations

import json

from course_utils import readme
from course_utils.series import NotebookRun, write_summary


def test_readme_is_up_to_date():
    assert readme.main(["--check"]) == 0, "README.md está desactualizado: ejecuta `make readme`"


def _readme_copy(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(readme.README.read_text())
    return path


def test_check_fails_when_a_recorded_summary_is_not_in_the_readme(tmp_path):
    results = tmp_path / "results"
    (results / "cpu").mkdir(parents=True)
    runs = [NotebookRun("04_aumento_datos", status="ok", seconds=754.0,
                        metrics={"test_accuracy": 0.808, "data_kind": "real", "epochs_run": 40})]
    write_summary(runs, results / "cpu", "cpu", command="make notebooks PARAMS=cpu")
    path = _readme_copy(tmp_path)
    assert readme.main(["--check", "--readme", str(path), "--results", str(results)]) == 1
    assert readme.main(["--readme", str(path), "--results", str(results)]) == 0
    text = path.read_text()
    assert "| 04_aumento_datos | ok | 754 | real | test_accuracy | 0.808 |" in text
    assert "orden: `make notebooks PARAMS=cpu`" in text and "fecha: " in text and "núcleos" in text
    assert readme.main(["--check", "--readme", str(path), "--results", str(results)]) == 0


def test_bench_rows_are_read_generically(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    rows = [{"measurement": "Throughput 150x150", "unit": "img/s", "ratio": 24.8}]
    (results / "bench.json").write_text(json.dumps({"rows": rows, "date": "2026-11-29", "command": "make bench"}))
    section = readme.results_section(results)
    assert "| measurement | unit | ratio |" in section and "| Throughput 150x150 | img/s | 24.800 |" in section
    assert "orden: `make bench`" in section
    (results / "bench.json").write_text(json.dumps(rows))
    assert "| Throughput 150x150 | img/s | 24.800 |" in readme.results_section(results)


def test_schema_change_shows_in_the_tables(monkeypatch):
    from course_utils import schema

    assert "`N_SAMPLE_IMAGES` | `6` | `10` | `10`" in readme.parameters_table()
    entry = schema.NOTEBOOKS[0]
    changed = {**entry.values, "smoke": {**entry.values["smoke"], "n_sample_images": 4}}
    monkeypatch.setattr(readme, "NOTEBOOKS", (type(entry)(**{**entry.__dict__, "values": changed}),
                                              *schema.NOTEBOOKS[1:]))
    assert "`N_SAMPLE_IMAGES` | `4` | `10` | `10`" in readme.parameters_table()
    assert readme.render(readme.README.read_text(), readme.blocks()) != readme.README.read_text()


def test_unknown_block_is_an_error():
    import pytest

    with pytest.raises(KeyError, match="desconocido"):
        readme.render("<!-- generado: otro -->\nx\n<!-- fin: otro -->", readme.blocks())

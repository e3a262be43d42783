"""The README's generated blocks agree with the schema and with the results recorded under results/."""

from __future__ import annotations

import json

from course_tools import readme
from course_tools.series import NotebookRun, write_summary


def test_readme_is_up_to_date():
    assert readme.main(["--check"]) == 0, "README.md está desactualizado: ejecuta `make readme`"


def _readme_copy(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(readme.README.read_text())
    return path


def test_check_fails_when_a_recorded_summary_is_not_in_the_readme(tmp_path):
    results = tmp_path / "results"
    (results / "cpu").mkdir(parents=True)
    runs = [
        NotebookRun(
            "04_aumento_datos",
            status="ok",
            seconds=754.0,
            metrics={"test_accuracy": 0.808, "data_kind": "real", "epochs_run": 40},
        )
    ]
    write_summary(runs, results / "cpu", "cpu", command="make notebooks PARAMS=cpu")
    path = _readme_copy(tmp_path)
    nobench = ["--bench", str(tmp_path / "sin-benchmark")]
    assert readme.main(["--check", "--readme", str(path), "--results", str(results), *nobench]) == 1
    assert readme.main(["--readme", str(path), "--results", str(results), *nobench]) == 0
    text = path.read_text()
    assert "| 04_aumento_datos | ok | 754 | — | real | test_accuracy | 0.808 |" in text
    assert "orden: `make notebooks PARAMS=cpu`" in text and "fecha: " in text and "núcleos" in text
    assert readme.main(["--check", "--readme", str(path), "--results", str(results), *nobench]) == 0


def test_newest_full_benchmark_is_shown_with_its_spread_load_and_verdict(tmp_path):
    bench = tmp_path / "bench"
    bench.mkdir()
    row = {
        "name": "t150",
        "label": "Throughput 150x150, later epochs",
        "unit": "img/s",
        "original": 1000.0,
        "course": 24800.0,
        "ratio": 24.8,
        "ratio_kind": "x",
        "target": ">= 20x",
        "met": True,
        "runs": [21.0, 24.8, 30.1],
        "loads": [0.5, 1.5],
    }
    (bench / "bench_full_2026-01-01.json").write_text(json.dumps([{**row, "ratio": 2.0, "met": False}]))
    (bench / "bench_full_2026-11-29.json").write_text(json.dumps([row]))
    (bench / "bench_full_2026-11-29.meta.json").write_text(
        json.dumps({"date": "2026-11-29 05:21", "platform": "Linux", "cpu_count": 2, "command": "make bench"})
    )
    assert readme.latest_bench(bench).name == "bench_full_2026-11-29.json"
    section = readme.results_section(tmp_path / "nada", bench)
    assert "| Throughput 150x150, later epochs | img/s | 1000.000 | 24800.000 | 24.80x | 21.00–30.10 |" in section
    assert "| 0.5–1.5 | >= 20x MET |" in section
    assert "fecha: 2026-11-29 05:21" in section and "orden: `make bench`" in section
    assert readme.latest_bench(tmp_path / "nada") is None


def test_schema_change_shows_in_the_tables(monkeypatch):
    from course_utils.params import schema

    assert "`N_SAMPLE_IMAGES` | `6` | `10` | `10`" in readme.parameters_table()
    entry = schema.NOTEBOOKS[0]
    changed = {**entry.values, "smoke": {**entry.values["smoke"], "n_sample_images": 4}}
    monkeypatch.setattr(
        readme, "NOTEBOOKS", (type(entry)(**{**entry.__dict__, "values": changed}), *schema.NOTEBOOKS[1:])
    )
    assert "`N_SAMPLE_IMAGES` | `4` | `10` | `10`" in readme.parameters_table()
    assert readme.render(readme.README.read_text(), readme.blocks()) != readme.README.read_text()


def test_unknown_block_is_an_error():
    import pytest

    with pytest.raises(KeyError, match="desconocido"):
        readme.render("<!-- generado: otro -->\nx\n<!-- fin: otro -->", readme.blocks())


def _variant_run(name, seed, val, test):
    scores = {"accuracy": val, "flip_accuracy": val - 0.01}
    return {
        "variant": name,
        "seed": seed,
        "best": {"validation": scores, "test": {"accuracy": test, "flip_accuracy": test - 0.01}},
    }


def test_from_scratch_section_chooses_on_validation_and_needs_three_seeds(tmp_path):
    from course_tools import readme

    path = tmp_path / "from_scratch_cpu.json"
    runs = [_variant_run("a", s, 0.80, 0.90) for s in (1, 2, 3)]  # best on test, not on validation
    runs += [_variant_run("b", s, 0.84, 0.86) for s in (1, 2, 3)]
    path.write_text(json.dumps({"command": "python benchmarks/ablation.py --variants a,b", "runs": runs}))
    ablation = {
        "command": "python benchmarks/ablation.py",
        "steps": [{"step": "original", "val_accuracy": 0.6, "test_accuracy": 0.61}],
    }
    text = readme.from_scratch_section(path, ablation)
    assert "| variante: b | 3 | 0.840 (0.840–0.840) |" in text
    assert "Elegido en validación: b (val. 0.840); prueba 0.860 con 3 semilla(s)" in text and ": MET." in text
    path.write_text(json.dumps({"runs": runs[3:4]}))
    assert "no medido (faltan semillas)" in readme.from_scratch_section(path, ablation)
    path.write_text(json.dumps({"runs": [_variant_run("c", 1, 0.8, 0.7)]}))
    assert "NOT MET" in readme.from_scratch_section(path, None)
    assert readme.from_scratch_section(tmp_path / "none.json", None) is None


def test_from_scratch_choice_ignores_test_time_flip(tmp_path):
    """The notebook predicts without flipping: a variant better only with flip is not the one chosen."""
    from course_tools import readme

    runs = [_variant_run("plain", s, 0.85, 0.87) for s in (1, 2, 3)]
    flipped = [_variant_run("flip", s, 0.84, 0.80) for s in (1, 2, 3)]
    for r in flipped:
        r["best"]["validation"]["flip_accuracy"] = 0.99
    path = tmp_path / "from_scratch_cpu.json"
    path.write_text(json.dumps({"runs": runs + flipped}))
    assert "Elegido en validación: plain (val. 0.850); prueba 0.870" in readme.from_scratch_section(path, None)


def test_gpu_recipe_section_says_met_not_met_or_not_measured(tmp_path):
    from course_tools import readme

    path = tmp_path / "from_scratch_gpu_recipe.json"
    assert "no medido" in readme.gpu_recipe_section(path)
    run = _variant_run("res_s2", 42, 0.93, 0.915)
    run |= {"best_epoch": 88, "train_seconds": 7200, "cpu_flags": "AVX2", "command": "python benchmarks/ablation.py"}
    run["epoch_cpu_seconds"] = [54.0] * 100
    run["settings"] = {"img_size": 180, "epochs": 100, "precision": "mixed_bfloat16"}
    path.write_text(json.dumps({"runs": [run]}))
    text = readme.gpu_recipe_section(path)
    assert (
        ": MET (prueba 0.915" in text
        and "180 px, 100 épocas" in text
        and "2.0 h de reloj" in text
        and "1.5 h de CPU" in text
        and "AVX2" in text
    )
    run["best"]["test"]["accuracy"] = 0.905
    path.write_text(json.dumps({"runs": [run]}))
    assert ": NOT MET (prueba 0.905" in readme.gpu_recipe_section(path)
    path.write_text(json.dumps({"runs": [{"variant": "res_s2", "seed": 42, "best": None}]}))
    assert "no medido" in readme.gpu_recipe_section(path)
    second = _variant_run("res_s2", 43, 0.92, 0.895) | {"best_epoch": 90, "epoch_cpu_seconds": [54.0] * 100}
    run["best"]["test"]["accuracy"] = 0.915
    path.write_text(json.dumps({"runs": [run, second]}))
    text = readme.gpu_recipe_section(path)
    assert ": NOT MET (prueba 0.905 (0.895–0.915) de media con 2 semillas" in text and "semillas 42, 43" in text
    assert "3.0 h de CPU" in text


def test_other_source_section_shows_each_record_and_says_which_are_missing(tmp_path):
    from course_tools import readme

    assert readme.other_source_section(tmp_path) is None  # no record: no table

    def acc(a, cats, dogs):
        return {"accuracy": a, "images": 400, "per_class": {"cats": {"accuracy": cats}, "dogs": {"accuracy": dogs}}}

    record = {
        "photos": {
            "dataset": "Oxford-IIIT Pet Dataset",
            "license": "CC BY-SA 4.0",
            "listed_per_class": {"cats": 200, "dogs": 200},
        },
        "results": {
            "other_source": {"image_dataset_from_directory": acc(0.7, 0.6, 0.8), "load_split": acc(0.725, 0.65, 0.8)},
            "course_test": {"image_dataset_from_directory": acc(0.85, 0.8, 0.9), "load_split": acc(0.86, 0.8, 0.92)},
        },
    }
    (tmp_path / "other_source_05_cnn_mejorada.json").write_text(json.dumps(record))
    text = readme.other_source_section(tmp_path)
    row = next(line for line in text.splitlines() if line.startswith("| 05"))
    assert "| 0.700 | 0.725 | 0.650 / 0.800 | 0.850 | 0.860 |" in row
    assert "| 03: CNN de la lección | no medido |" in text and "200 gatos y 200 perros" in text


def test_check_catches_a_drift_of_the_same_length(tmp_path):
    """A recorded accuracy changed by one digit keeps the README's length: the check still fails."""
    path = _readme_copy(tmp_path)
    text = path.read_text()
    row = next(line for line in text.splitlines() if "| test_accuracy | 0." in line)
    value = row.split("| test_accuracy | ")[1][:5]
    other = value[:-1] + ("1" if value[-1] != "1" else "2")
    drifted = text.replace(row, row.replace(f"| test_accuracy | {value}", f"| test_accuracy | {other}", 1))
    assert len(drifted) == len(text) and drifted != text
    path.write_text(drifted)
    assert readme.main(["--check", "--readme", str(path)]) == 1
    path.write_text(text)
    assert readme.main(["--check", "--readme", str(path)]) == 0


def test_the_readme_counts_the_notebooks_it_has():
    """Every "N cuadernos"/"N notebooks" in the README's and guides' prose is the schema's count."""
    import re

    from course_utils.config import PROJECT_ROOT
    from course_utils.params.schema import NOTEBOOKS

    words = {
        **dict.fromkeys(("uno", "one"), 1), **dict.fromkeys(("dos", "two"), 2), **dict.fromkeys(("tres", "three"), 3),
        **dict.fromkeys(("cuatro", "four"), 4), **dict.fromkeys(("cinco", "five"), 5), **dict.fromkeys(("seis", "six"), 6),
        **dict.fromkeys(("siete", "seven"), 7), **dict.fromkeys(("ocho", "eight"), 8), **dict.fromkeys(("nueve", "nine"), 9),
        **dict.fromkeys(("diez", "ten"), 10),
    }  # fmt: skip
    pattern = re.compile(rf"\b({'|'.join(words)}|\d+) (cuadernos|notebooks)\b", re.IGNORECASE)
    found = []
    for name in ("README.md", "CONTRIBUTING.md", "INSTRUCTORES.md", "GLOSARIO.md"):
        text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
        found += [(name, m.group(0)) for m in pattern.finditer(text)]
    assert found, "the README says how many notebooks the course has"
    wrong = [(f, said) for f, said in found if words.get(said.split()[0].lower(), None) not in (len(NOTEBOOKS), None)
             and not said.split()[0].isdigit() or said.split()[0].isdigit() and int(said.split()[0]) != len(NOTEBOOKS)]  # fmt: skip
    assert not wrong, f"the course has {len(NOTEBOOKS)} notebooks: {wrong}"


def test_time_verdicts_keep_the_margin_for_slower_cpus():
    from course_tools.readme import times_section
    from course_utils.levels import NOTEBOOK_MINUTES, TIME_MARGIN
    from course_utils.params.schema import NOTEBOOKS

    limit = NOTEBOOK_MINUTES["cpu"].value
    between = limit * (1 + TIME_MARGIN.value) / 2  # under the limit, over the margin
    seconds = {nb.name: 30.0 for nb in NOTEBOOKS}
    seconds[NOTEBOOKS[4].name] = between * 60
    times = {"cpu": {"float32": {"seconds": seconds, "where": "2 núcleos AVX2; carga 1.0"}}}
    text = times_section(times)
    assert f"NOT MET: {NOTEBOOKS[4].name}" in text
    assert "2 núcleos sin GPU" in text and "AVX2; carga" not in text, "the student reads plain words"
    seconds[NOTEBOOKS[4].name] = limit * TIME_MARGIN.value * 60 - 1
    assert "Cada cuaderno ≤ 15 min en float32 (≤ 12 min medidos): MET" in times_section(times)


def test_test_times_section_reads_each_run_against_its_limit(tmp_path):
    from course_tools import readme

    assert "Sin mediciones" in readme.test_times_section(tmp_path / "none.json")
    run = {"machine_words": "2 núcleos sin GPU", "precision": "float32", "date": "2026-12-08", "shared_data": False}
    record = {
        "limits_minutes": {"make test": 5, "make test-fast": 2},
        "runs": [
            {**run, "target": "make test", "wall_seconds": 277.2, "venv_seconds": 62.4},
            {**run, "target": "make test-fast", "wall_seconds": 150.0},
        ],
    }
    path = tmp_path / "test_times.json"
    path.write_text(json.dumps(record))
    lines = readme.test_times_section(path).splitlines()
    assert (
        "- `make test`: 4.6 min (límite 5 min: dentro, con un margen del 8 %)" in lines[2]
        and "`.venv` aparte: 1.0 min" in lines[2]
    )
    assert "- `make test-fast`: 2.5 min (límite 2 min: FUERA)" in lines[3] and "sin `../shared`" in lines[3]

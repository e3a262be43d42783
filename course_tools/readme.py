"""Write the README's generated blocks from the schema and the recorded results.

``python -m course_tools.readme`` (``make readme``) rewrites every block
between ``<!-- generado: NAME -->`` and ``<!-- fin: NAME -->`` in README.md:
the notebook table (from :mod:`course_utils.params.schema`, with Colab links from
:mod:`course_utils.config`), the parameter tables, the English notebook list
and the results recorded under ``results/`` (``<set>/summary.json`` written by
the series, ``bench.json`` written by the benchmark).  ``--check`` writes
nothing and fails when the README is out of date.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from course_utils.config import PROJECT_ROOT, binder_url, colab_url
from course_utils.params.schema import BACKBONES, COMMON, NOTEBOOKS, PARAM_SET_NAMES, PARAMETERS, SETS

from . import report

README = PROJECT_ROOT / "README.md"
RESULTS_DIR = PROJECT_ROOT / "results"
#: Where the benchmark's recorded runs live (``make bench`` writes to build/; copies kept here).
BENCH_DIR = PROJECT_ROOT / "benchmarks" / "results"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
_BLOCK = re.compile(r"(<!-- generado: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- fin: (?P=name) -->)", re.S)


def _value(v: Any) -> str:
    if isinstance(v, (tuple, list)):
        return ", ".join(map(str, v))
    return "None" if v is None else str(v)


def notebooks_table() -> str:
    """The notebooks with what each teaches and its Colab badge."""
    rows = [
        [
            k,
            f"[{nb.title}](notebooks/{nb.filename})",
            nb.topics,
            f"[![Open In Colab]({COLAB_BADGE})]({colab_url(nb.filename)})",
        ]
        for k, nb in enumerate(NOTEBOOKS, 1)
    ]
    return report.markdown_table(["#", "Cuaderno", "Qué aprendes", "Colab"], rows)


def binder_badge() -> str:
    """The Binder badge: the repository's ``binder/`` environment, JupyterLab opened in ``notebooks/``."""
    return f"[![Binder]({BINDER_BADGE})]({binder_url()})"


def notebooks_table_en() -> str:
    """The English summary's notebook list."""
    rows = [[k, f"`{nb.name}`", nb.topics_en] for k, nb in enumerate(NOTEBOOKS, 1)]
    return report.markdown_table(["#", "Notebook", "Topic"], rows)


def parameters_table() -> str:
    """Common values per set, then each notebook's own values and overrides."""
    common = [
        [
            f"`{name.upper()}`",
            *(f"`{_value(SETS[s].get(name, PARAMETERS[name].default))}`" for s in PARAM_SET_NAMES),
            PARAMETERS[name].help,
        ]
        for name in COMMON
    ]
    own = []
    for nb in NOTEBOOKS:
        names = dict.fromkeys(k for s in PARAM_SET_NAMES for k in nb.values[s])
        for name in names:
            values = [f"`{_value({**SETS[s], **nb.values[s]}[name])}`" for s in PARAM_SET_NAMES]
            own.append([nb.name, f"`{name.upper()}`", *values, PARAMETERS[name].help])
    return "\n".join(
        [
            "Valores comunes de cada conjunto:",
            "",
            report.markdown_table(["Parámetro", *PARAM_SET_NAMES, "Qué es"], common),
            "",
            "Valores propios de cada cuaderno (y los comunes que cambia):",
            "",
            report.markdown_table(["Cuaderno", "Parámetro", *PARAM_SET_NAMES, "Qué es"], own),
        ]
    )


def _provenance(meta: dict[str, Any]) -> str:
    parts = [f"{label}: {meta[key]}" for key, label in (("date", "fecha"), ("machine", "máquina")) if meta.get(key)]
    if meta.get("command"):
        parts.append(f"orden: `{meta['command']}`")
    return "; ".join(parts) or "sin fecha, máquina ni orden registradas"


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def latest_bench(bench_dir: Path = BENCH_DIR) -> Path | None:
    """The newest full-mode benchmark recorded in ``bench_dir`` (``bench_full_<date>.json``), if any."""
    found = sorted(p for p in bench_dir.glob("bench_full_*.json") if not p.name.endswith(".meta.json"))
    return found[-1] if found else None


def bench_section(path: Path) -> str:
    """The recorded benchmark as a table: measurement, both pipelines, ratio, target, spread and load."""
    rows = json.loads(path.read_text())
    meta_path = path.with_name(path.stem + ".meta.json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    machine = ", ".join(str(meta[k]) for k in ("platform", "cpu_count") if meta.get(k))
    where = _provenance(
        {"date": meta.get("date"), "machine": machine and f"{machine} núcleos", "command": meta.get("command")}
    )
    table = []
    for r in rows:
        runs = r.get("runs") or []
        spread = f"{min(runs):.2f}–{max(runs):.2f}" if runs else ""
        loads = r.get("loads") or []
        load = f"{min(loads):.1f}–{max(loads):.1f}" if loads else ""
        verdict = "" if r.get("met") is None else ("MET" if r["met"] else "NOT MET")
        ratio = r.get("ratio")
        ratio_txt = "" if ratio is None else (f"{ratio:+.1f} pp" if r.get("ratio_kind") == "pp" else f"{ratio:.2f}x")
        table.append(
            [
                r.get("label", r.get("name")),
                r.get("unit"),
                r.get("original"),
                r.get("course"),
                ratio_txt,
                spread,
                load,
                f"{r.get('target') or ''} {verdict}".strip(),
            ]
        )
    header = ["Medición", "Unidad", "Original", "course_utils", "Razón", "Repeticiones", "Carga", "Objetivo"]
    return "\n".join(
        [
            f"**Benchmark** ({where}; archivo `{_shown(path)}`):",
            "",
            report.markdown_table(header, table, (False, False, True, True, True, False, False, False)),
        ]
    )


#: Notebook 07's recorded run on the cpu set (``python -m benchmarks.pretrained_07``).
PRETRAINED_RECORD = BENCH_DIR / "pretrained_07_cpu.json"


def percent(value: float) -> str:
    """``0.9934`` as ``"99,3 %"`` (Spanish decimal comma), as the notebooks write percentages."""
    return f"{value * 100:.1f} %".replace(".", ",")


def pretrained_quote(record: dict[str, Any]) -> str:
    """The sentence notebook 07's text quotes from its record: weights, the three figures, where from."""
    acc = record["test_accuracy"]
    main = record["main_backbone"]
    return (
        f"con {record['weights_used']}, {record['precision']}: características + PCA + SVC "
        f"**{percent(record['test_accuracy']['features_svc_by_backbone'][main])}**, cabeza nueva con la base "
        f"congelada **{percent(acc['frozen_head'])}** y ajuste fino **{percent(acc['fine_tune'])}** en prueba"
    )


def pretrained_line(path: Path = PRETRAINED_RECORD) -> str:
    """The README's line on notebook 07 with ImageNet weights, from its record (or that there is none)."""
    if not path.is_file():
        return "**Modelos preentrenados (cuaderno 07):** sin ejecución registrada con pesos ImageNet.\n"
    r = json.loads(path.read_text())
    acc = r["test_accuracy"]
    others = ", ".join(
        f"{name} {value:.3f}" for name, value in acc["features_pca_classifiers"].items() if name != "SVC"
    )
    verdicts = "; ".join(
        f"{label} {sign} {t['target']:g}: {'MET' if t['met'] else 'NOT MET'} ({t['value']:g})"
        for label, sign, t in (
            ("características + SVC", "≥", r["targets"]["features_svc"]),
            ("ajuste fino", "≥", r["targets"]["fine_tune"]),
            ("minutos de reloj en float32", "≤", r["targets"]["minutes_float32"]),
        )
    )
    main = r["main_backbone"]
    return (
        f"**Modelos preentrenados (cuaderno 07, conjunto `{r['param_set']}` tal como se distribuye, sin acceso a "
        f"los pesos de EfficientNetB0)**, en la partición de prueba del curso, con {r['weights_used']}: "
        f"características + PCA({r['settings']['pca_components']}) + SVC "
        f"{acc['features_svc_by_backbone'][main]:.3f} (los otros clasificadores de la lección: {others}), "
        f"cabeza nueva con la base congelada {acc['frozen_head']:.3f}, ajuste fino {acc['fine_tune']:.3f}. "
        f"Objetivos: {verdicts}. {r['minutes']:.1f} min de reloj"
        + (f" y {r['cpu_seconds'] / 60:.1f} min de CPU" if r.get("cpu_seconds") else "")
        + f" en {r['precision']} en CPU {r['cpu_model']} "
        f"({r['cpu_flags']}), carga al terminar {r['load_at_end']}; orden `{r['command']}`; archivo "
        f"`{_shown(path)}`; los minutos de reloj dependen de la carga, los de CPU no. Son cifras de "
        f"{BACKBONES[main].name}, no de EfficientNetB0 (no medido aquí).\n"
    )


#: The notebooks' saved models, in the order the README lists them on other photos.
OTHER_SOURCE_MODELS = {
    "03_cnn": "03: CNN de la lección",
    "04_cnn_aumento": "04: CNN con aumento + Dropout",
    "05_cnn_mejorada": "05: red residual",
    "07_ajuste_fino": "07: ajuste fino de EfficientNet-Lite0 (pesos ImageNet)",
}


#: The two loaders ``benchmarks/other_source.py`` measures each model through.
OTHER_SOURCE_LOADERS = ("image_dataset_from_directory", "load_split")


def other_source_section(bench_dir: Path = BENCH_DIR) -> str | None:
    """A table of the notebooks' models on photos from another source, from ``other_source_*.json``."""
    rows, photos = [], None
    for stem, label in OTHER_SOURCE_MODELS.items():
        path = bench_dir / f"other_source_{stem}.json"
        if not path.is_file():
            rows.append([label, "no medido", "—", "—", "—", "—"])
            continue
        r = json.loads(path.read_text())
        photos = photos or r["photos"]
        other, course = r["results"]["other_source"], r["results"].get("course_test", {})
        per_class = other["load_split"]["per_class"]
        rows.append(
            [
                f"{label} (`{_shown(path)}`)",
                *(f"{other[loader]['accuracy']:.3f}" for loader in OTHER_SOURCE_LOADERS),
                f"{per_class['cats']['accuracy']:.3f} / {per_class['dogs']['accuracy']:.3f}",
                *(f"{course[loader]['accuracy']:.3f}" if loader in course else "—" for loader in OTHER_SOURCE_LOADERS),
            ]
        )
    if photos is None:
        return None
    header = [
        "Modelo (registro)",
        *(f"Otra fuente, `{loader}`" for loader in OTHER_SOURCE_LOADERS),
        "gatos / perros (`load_split`)",
        *(f"Prueba del curso, `{loader}`" for loader in OTHER_SOURCE_LOADERS),
    ]
    counts = photos["listed_per_class"]
    return (
        f"**Con fotos de otra fuente** ({counts['cats']} gatos y {counts['dogs']} perros del "
        f"{photos['dataset']}, licencia {photos['license']}, fuera de git: `data/other_source_photos.json` dice de "
        "dónde y con qué sumas; orden `python -m benchmarks.other_source --model <modelo .keras>`, por los dos "
        "cargadores del curso; cada registro dice el modelo, su suma y la máquina):\n\n"
        + report.markdown_table(header, rows, [False] + [True] * (len(header) - 1))
        + "\n"
    )


def _mean_spread(values: list[float]) -> str:
    mean = sum(values) / len(values)
    return f"{mean:.3f}" if len(values) == 1 else f"{mean:.3f} ({min(values):.3f}–{max(values):.3f})"


def from_scratch_section(variants_path: Path, ablation: dict[str, Any] | None) -> str | None:
    """Table of the from-scratch models tried for the cpu set's accuracy target, and its verdict.

    Rows: the ablation's steps (one seed, final weights; ``+early_stopping`` = best epoch) and
    each variant of ``benchmarks/ablation.py --variants`` (best-validation weights, plain and with
    test-time flip, mean and range over seeds).  The model is chosen on validation only.
    """
    from course_utils.levels import FROM_SCRATCH_ACCURACY

    rows, candidates = [], []
    for step in (ablation or {}).get("steps", []):
        seconds = round(step["train_seconds"]) if step.get("train_seconds") else None
        rows.append(
            [f"ablación: {step['step']}", 1, step.get("val_accuracy"), "—", step["test_accuracy"], "—", seconds]
        )
        if step.get("val_accuracy") is not None:
            candidates.append((step["val_accuracy"], f"ablación {step['step']}", [step["test_accuracy"]]))
    data = json.loads(variants_path.read_text()) if variants_path.exists() else {"runs": []}
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for run in data["runs"]:
        by_variant.setdefault(run["variant"], []).append(run["best"])
    for name, runs in by_variant.items():
        val = [r["validation"]["accuracy"] for r in runs]
        val_flip = [r["validation"]["flip_accuracy"] for r in runs]
        test = [r["test"]["accuracy"] for r in runs]
        test_flip = [r["test"]["flip_accuracy"] for r in runs]
        first = next(r for r in data["runs"] if r["variant"] == name)
        s = first.get("settings", {})
        where = f"{s.get('img_size')} px, {s.get('epochs')} épocas, {first.get('precision', s.get('precision', '?'))}"
        rows.append(
            [
                f"variante: {name}" + (f" ({where})" if s.get("img_size") else ""),
                len(runs),
                _mean_spread(val),
                _mean_spread(val_flip),
                _mean_spread(test),
                _mean_spread(test_flip),
                round(sum(r.get("train_seconds", 0) for r in data["runs"] if r["variant"] == name) / len(runs)),
            ]
        )
        # The notebook predicts without test-time flip: the flip columns inform, the choice is plain.
        candidates.append((sum(val) / len(val), f"{name}", test))
    if not rows:
        return None
    target = FROM_SCRATCH_ACCURACY["cpu"].value
    choice = "- Sin resultados de validación: no se puede elegir un modelo."
    if candidates:
        val, chosen, test = max(candidates, key=lambda c: c[0])
        mean = sum(test) / len(test)
        if len(test) >= 3:
            verdict = "MET" if mean >= target else "NOT MET"
        else:
            verdict = "NOT MET" if mean < target else "no medido (faltan semillas)"
        choice = (
            f"- Elegido en validación: {chosen} (val. {val:.3f}); prueba {mean:.3f} con {len(test)} semilla(s). "
            f"Objetivo ≥ {target:.2f} (media de 3 semillas): {verdict}."
        )
    header = ["Modelo", "Semillas", "Val.", "Val. con flip", "Prueba", "Prueba con flip", "Entrenamiento (s)"]
    settings = (ablation or {}).get("settings", {}) or data.get("settings") or {}
    commands = " y ".join(f"`{c}`" for c in ((ablation or {}).get("command"), data.get("command")) if c)
    return "\n".join(
        [
            "**Modelos desde cero probados para el objetivo de accuracy del conjunto `cpu`** "
            + (
                f"(ablación: {settings.get('img_size')} px, {settings.get('epochs')} épocas; cada variante, entre "
                "paréntesis; "
                if settings.get("img_size")
                else "("
            )
            + f"órdenes: {commands}; archivos `course_utils/recorded/ablation_05_cpu.json` y "
            f"`benchmarks/results/{variants_path.name}`):",
            "",
            report.markdown_table(header, rows, (False, True, True, True, True, True, True)),
            "",
            choice,
        ]
    )


def _train_seconds(summary: dict[str, Any], notebook: str) -> float | None:
    """The ``train_seconds`` a notebook recorded, from a series summary's runs (older summaries' rows lack it)."""
    run = next((r for r in summary.get("runs", []) if r["name"] == notebook), {})
    return (run.get("metrics") or {}).get("train_seconds")


def gpu_recipe_section(path: Path) -> str:
    """The gpu recipe's run on CPU (``benchmarks/ablation.py --img-size 180 --epochs 100``): its test accuracy
    at the best validation epoch against the gpu target, with the command, time, precision and CPU."""
    from course_utils.levels import BOOK_FROM_SCRATCH, FROM_SCRATCH_ACCURACY

    target = FROM_SCRATCH_ACCURACY["gpu"].value
    head = f"**Receta `gpu` del cuaderno 05 ejecutada en CPU** (objetivo ≥ {target:.2f} en prueba"
    head += f", por encima del {BOOK_FROM_SCRATCH.value:.1%} del libro)"
    runs = json.loads(path.read_text())["runs"] if path.exists() else []
    done = [r for r in runs if r.get("best")]
    if not done:
        return f"{head}: no medido (la ejecución, de varias horas, no ha terminado; `benchmarks/results/README.md`)."
    tests = [r["best"]["test"]["accuracy"] for r in done]
    vals = [r["best"]["validation"]["accuracy"] for r in done]
    mean = sum(tests) / len(tests)
    verdict = "MET" if mean >= target else "NOT MET"
    r = done[-1]
    s = r.get("settings", {})
    seeds = ", ".join(str(run["seed"]) for run in done)
    cpu_hours = sum(sum(run.get("epoch_cpu_seconds", [])) for run in done) / 3600
    wall_hours = sum(run.get("train_seconds", 0) for run in done) / 3600
    if len(done) == 1:
        figures = f"prueba {mean:.3f}, validación {vals[0]:.3f} en la mejor época, {r.get('best_epoch')}"
    else:
        figures = (
            f"prueba {_mean_spread(tests)} de media con {len(done)} semillas, validación {_mean_spread(vals)} "
            f"en la mejor época de cada una ({', '.join(str(run.get('best_epoch')) for run in done)})"
        )
    return (
        f"{head}: {verdict} ({figures}; "
        f"variante {r['variant']}, {s.get('img_size')} px, {s.get('epochs')} épocas, "
        f"semilla{'s' if len(done) > 1 else ''} {seeds}, "
        f"{s.get('precision')}; {wall_hours:.1f} h de reloj, pausas incluidas, y "
        f"{cpu_hours:.1f} h de CPU en CPU {r.get('cpu_flags', 'sin registrar')}; "
        f"orden `{r.get('command')}`; archivo "
        f"`benchmarks/results/{path.name}`)."
    )


def times_section(times: dict[str, Any] | None = None) -> str:
    """Minutes per notebook of the cpu set in float32 and with bf16, where measured, with the CPU and the load."""
    from course_utils.artifacts import recorded
    from course_utils.levels import NOTEBOOK_MINUTES, SERIES_MINUTES, TIME_MARGIN
    from course_utils.start import SERIES_TIMES as RECORDED

    times = recorded(RECORDED) if times is None else times
    cpu = (times or {}).get("cpu", {})
    precisions = [p for p in ("float32", "mixed_bfloat16") if p in cpu]
    if not precisions:
        return "Todavía no hay tiempos registrados del conjunto `cpu` (`python -m course_tools.series_times`).\n"

    def minutes(precision: str, name: str) -> str:
        s = cpu[precision]["seconds"].get(name)
        return f"{s / 60:.1f}" if s is not None else "no medido"

    rows = [[nb.name, *(minutes(p, nb.name) for p in precisions)] for nb in NOTEBOOKS]
    lines = [report.markdown_table(["Cuaderno", *(f"{p} (min)" for p in precisions)], rows), ""]
    lines.append(
        "- Medido en una computadora de 2 núcleos sin GPU, como un portátil corriente (la CPU exacta y la carga "
        "de cada medición están en `course_utils/recorded/series_times.json`)."
    )
    if "float32" in cpu:
        secs = cpu["float32"]["seconds"]
        limit, total = NOTEBOOK_MINUTES["cpu"].value, SERIES_MINUTES["cpu"].value
        margin = TIME_MARGIN.value
        slow = [f"{n} ({s / 60:.1f} min)" for n, s in secs.items() if s / 60 > limit * margin]
        missing = [nb.name for nb in NOTEBOOKS if nb.name not in secs]
        each = "NOT MET: " + ", ".join(slow) if slow else ("MET" if not missing else "no medido en todos")
        whole = sum(secs.values()) / 60
        verdict = (
            "no medido (faltan " + ", ".join(missing) + ")"
            if missing
            else ("MET" if whole <= total * margin else "NOT MET")
        )
        lines.append(
            f"- Margen para CPUs más lentas: lo medido aquí debe quedar en ≤ {margin * 100:.0f} % de cada límite "
            f"(otra CPU de 2 núcleos, solo con AVX2, puede tardar más)."
        )
        lines.append(f"- Cada cuaderno ≤ {limit:.0f} min en float32 (≤ {limit * margin:.0f} min medidos): {each}.")
        lines.append(
            f"- Serie completa ≤ {total:.0f} min en float32 (≤ {total * margin:.0f} min medidos): {verdict} "
            f"({whole:.1f} min medidos)."
        )
    return "\n".join(lines) + "\n"


def results_section(results_dir: Path = RESULTS_DIR, bench_dir: Path = BENCH_DIR) -> str:
    """Tables of the recorded series summaries and benchmark (or a note that there are none)."""
    from .verdicts import series_verdicts

    parts = []
    for path in sorted(results_dir.glob("*/summary.json")):
        data = json.loads(path.read_text())
        parts += [
            f"**Serie `{data['param_set']}`** ({_provenance(data.get('recorded', {}))}; "
            f"archivo `{path.relative_to(results_dir.parent)}`):",
            "",
            report.markdown_table(
                report.SUMMARY_HEADER, [report.table_cells(r) for r in data["rows"]], report.SUMMARY_NUMERIC
            ),
            "",
            "\n".join(
                f"- {line}"
                for line in [f"Tiempo total: {sum(r['seconds'] for r in data['rows']) / 60:.1f} min."]
                + series_verdicts(
                    data["param_set"],
                    [dict(r, train_seconds=_train_seconds(data, r["notebook"])) for r in data["rows"]],
                    expected=len(NOTEBOOKS),
                    precision=data.get("recorded", {}).get("precision"),
                )
            ),
            "",
        ]
    from course_utils.artifacts import recorded

    scratch = from_scratch_section(bench_dir / "from_scratch_cpu.json", recorded("ablation_05_cpu"))
    if scratch is not None:
        parts += [scratch, "", gpu_recipe_section(bench_dir / "from_scratch_gpu_recipe.json"), ""]
    if (bench_dir / PRETRAINED_RECORD.name).is_file():
        parts += [pretrained_line(bench_dir / PRETRAINED_RECORD.name), ""]
    other = other_source_section(bench_dir)
    if other is not None:
        parts += [other, ""]
    bench = latest_bench(bench_dir)
    if bench is not None:
        parts += [bench_section(bench), ""]
    if not parts:
        return (
            f"Todavía no hay resultados registrados en `{results_dir.name}/`: `make readme` los tomará de "
            f"`{results_dir.name}/<conjunto>/summary.json` y de `benchmarks/results/bench_full_*.json` "
            "cuando existan.\n"
        )
    return "\n".join(parts)


#: ``make test`` and ``make test-fast`` timed on fresh clones (a record written by hand from /usr/bin/time).
TEST_TIMES = BENCH_DIR / "test_times.json"


def test_times_section(path: Path = TEST_TIMES) -> str:
    """The test loop's times on a fresh machine, each run against its limit, from ``test_times.json``."""
    if not path.is_file():
        return "Sin mediciones registradas del tiempo de las pruebas.\n"
    record = json.loads(path.read_text())
    limits = record["limits_minutes"]
    lines = [
        f"Tiempo de las pruebas en un clon nuevo (registro `{_shown(path)}`, con la orden y la máquina de cada una):",
        "",
    ]
    for run in record["runs"]:
        minutes = run["wall_seconds"] / 60
        limit = limits[run["target"]]
        margin = round(100 * (1 - minutes / limit))
        verdict = f"dentro, con un margen del {margin} %" if minutes <= limit else "FUERA"
        where = "con `../shared`" if run.get("shared_data") else "sin `../shared`"
        lines.append(
            f"- `{run['target']}`: {minutes:.1f} min (límite {limit:g} min: {verdict}), {run['machine_words']}, "
            f"{run['precision']}, {where}, caché del usuario vacía; {run['date']}"
            + (f"; crear `.venv` aparte: {run['venv_seconds'] / 60:.1f} min" if run.get("venv_seconds") else "")
            + "."
        )
    return "\n".join(lines) + "\n"


def blocks(results_dir: Path = RESULTS_DIR, bench_dir: Path = BENCH_DIR) -> dict[str, str]:
    """Every generated block, by name."""
    from .compat_table import compat_section

    return {
        "binder": binder_badge(),
        "compatibilidad": compat_section(),
        "cuadernos": notebooks_table(),
        "parametros": parameters_table(),
        "pruebas": test_times_section(),
        "notebooks-en": notebooks_table_en(),
        "resultados": results_section(results_dir, bench_dir),
        "tiempos": times_section(),
    }


def render(text: str, generated: dict[str, str]) -> str:
    """``text`` with each marked block replaced; a marker without a known block is an error."""

    def fill(m: re.Match) -> str:
        name = m.group("name")
        if name not in generated:
            raise KeyError(f"README: bloque generado desconocido {name!r}; conocidos: {', '.join(generated)}")
        return f"{m.group(1)}{generated[name].rstrip()}\n{m.group(4)}"

    return _BLOCK.sub(fill, text)


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m course_tools.readme``."""
    ap = argparse.ArgumentParser(prog="python -m course_tools.readme", description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="no escribir; fallar si el README no está al día")
    ap.add_argument("--readme", type=Path, default=README)
    ap.add_argument("--results", type=Path, default=RESULTS_DIR)
    ap.add_argument("--bench", type=Path, default=BENCH_DIR, help="carpeta con bench_full_<fecha>.json")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Rewrite the README's generated blocks; with ``--check``, exit code 1 when they are out of date."""
    args = parser().parse_args(argv)
    text = args.readme.read_text()
    new = render(text, blocks(args.results, args.bench))
    if args.check:
        if new != text:
            print(f"{args.readme} no está al día con el esquema o con {args.results}: ejecuta `make readme`.")
            return 1
        return 0
    args.readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())

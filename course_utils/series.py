"""Run the notebook series with papermill and write a results summary.

``python -m course_utils.series --params cpu`` executes every notebook in
order (later notebooks reuse what earlier ones saved), writes executed copies
to ``build/<params>/notebooks/``, one progress line per notebook, and a
summary (Markdown and HTML with key figures embedded) comparing the recorded
numbers with the lesson's reference levels.  ``--keep-going`` runs the rest
after a failure; a failing notebook is reported by name, cell and error, and
its partial output notebook is kept.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import quiet
from .artifacts import read_results, write_json
from .config import PROJECT_ROOT
from .params import NOTEBOOKS, PARAM_SET_NAMES

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"

#: The lesson's reference levels and what its own recipe gave on this course's data
#: (2 CPU cores, see the README): (metric key, lesson level, original recipe here, label).
REFERENCE = {
    "02_mlp": ("test_accuracy", None, 0.616, "MLP 16x16"),
    "03_cnn": ("test_accuracy", None, 0.745, "CNN 150x150"),
    "04_aumento_datos": ("test_accuracy", 0.80, 0.724, "CNN con aumento de datos"),
    "05_embeddings": ("svc_test_accuracy", None, None, "SVC sobre embeddings de la CNN"),
}
#: Levels the GPU job asserts (full settings, real data, ImageNet weights).
GPU_LEVELS = {"augmented_cnn_min": 0.80, "pretrained_margin_over_cnn": 0.05}


@dataclass
class NotebookRun:
    """Outcome of one notebook."""

    name: str
    status: str = "pending"  # ok, failed, skipped
    seconds: float = 0.0
    output: str = ""
    error: str = ""
    cell: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def _select(names: list[str] | None) -> list[str]:
    if not names:
        return list(NOTEBOOKS)
    chosen = []
    for n in names:
        match = [nb for nb in NOTEBOOKS if nb.startswith(n) or nb == Path(n).stem]
        if not match:
            raise SystemExit(f"Cuaderno desconocido: {n}. Opciones: {', '.join(NOTEBOOKS)}")
        chosen += [m for m in match if m not in chosen]
    return [nb for nb in NOTEBOOKS if nb in chosen]


def run_series(param_set: str = "smoke", *, out_dir: str | os.PathLike | None = None,
               notebooks: list[str] | None = None, keep_going: bool = False,
               data_source: str = "auto", extra_params: dict[str, Any] | None = None,
               kernel_name: str = "python3", timeout: int = 3600, html_export: bool = False,
               log=print) -> list[NotebookRun]:
    """Execute the chosen notebooks in order; return one :class:`NotebookRun` each."""
    import papermill as pm

    if param_set not in PARAM_SET_NAMES:
        raise SystemExit(f"--params {param_set!r} no existe: usa {', '.join(PARAM_SET_NAMES)}.")
    out = Path(out_dir or PROJECT_ROOT / "build" / param_set).resolve()
    nb_out = out / "notebooks"
    art = out / "artifacts"
    nb_out.mkdir(parents=True, exist_ok=True)
    art.mkdir(parents=True, exist_ok=True)
    names = _select(notebooks)
    quiet.apply_environment()  # the kernels inherit it, before TensorFlow loads
    runs: list[NotebookRun] = []
    failed = False
    for k, name in enumerate(names, 1):
        run = NotebookRun(name=name, output=str(nb_out / f"{name}.ipynb"))
        runs.append(run)
        if failed and not keep_going:
            run.status = "skipped"
            log(f"[{k}/{len(names)}] {name}: omitido (falló un cuaderno anterior)")
            continue
        params = {"PARAM_SET": param_set, "DATA_SOURCE": data_source, "ARTIFACTS_DIR": str(art)}
        params.update(extra_params or {})
        log(f"[{k}/{len(names)}] {name}: ejecutando…")
        start = time.perf_counter()
        try:
            pm.execute_notebook(str(NOTEBOOK_DIR / f"{name}.ipynb"), run.output, parameters=params,
                                cwd=str(NOTEBOOK_DIR), kernel_name=kernel_name, progress_bar=False,
                                execution_timeout=timeout, log_output=False, **_quiet_kernel())
            run.status = "ok"
        except Exception as exc:  # noqa: BLE001 - PapermillExecutionError and kernel deaths
            run.status = "failed"
            run.cell = getattr(exc, "exec_count", None) or getattr(exc, "cell_index", None)
            run.error = f"{getattr(exc, 'ename', type(exc).__name__)}: {getattr(exc, 'evalue', exc)}"
            failed = True
        run.seconds = time.perf_counter() - start
        if Path(run.output).is_file():
            quiet.clean_notebook(run.output)  # start-up lines no setting silences
        run.metrics = read_results(art).get(name, {})
        msg = f"[{k}/{len(names)}] {name}: {run.status} en {run.seconds:.0f} s"
        if run.status == "failed":
            msg += f" — celda {run.cell}: {run.error.splitlines()[0][:300]} (salida parcial: {run.output})"
        else:
            msg += "".join(f" · {key}={_fmt(run.metrics.get(key))}" for key in
                           ("test_accuracy", "svc_test_accuracy", "best_test_accuracy") if key in run.metrics)
        log(msg)
    write_summary(runs, out, param_set)
    if html_export:
        export_html([Path(r.output) for r in runs if Path(r.output).exists()], out / "html")
    log(f"Resumen: {out / 'summary.md'} y {out / 'summary.html'}")
    return runs


def _quiet_kernel() -> dict[str, Any]:
    """Kernel options for papermill: no transport warning per notebook (see :mod:`course_utils.quiet`)."""
    return {"extra_arguments": list(quiet.KERNEL_ARGUMENTS)}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "—" if v is None else str(v)


def _figures(nb_path: Path, limit: int = 2) -> list[str]:
    """The last ``limit`` PNG outputs of an executed notebook, base64-encoded."""
    if not nb_path.is_file():
        return []
    nb = json.loads(nb_path.read_text())
    pngs = [o["data"]["image/png"] for c in nb["cells"] if c.get("cell_type") == "code"
            for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    return [p if isinstance(p, str) else "".join(p) for p in pngs[-limit:]]


def write_summary(runs: list[NotebookRun], out: Path, param_set: str) -> None:
    """Write summary.md, summary.html and summary.json in ``out``."""
    rows = []
    for r in runs:
        key, lesson, original, label = REFERENCE.get(r.name, (None, None, None, ""))
        value = r.metrics.get(key) if key else None
        rows.append({"notebook": r.name, "status": r.status, "seconds": round(r.seconds, 1),
                     "data": r.metrics.get("data_kind"), "metric": key, "value": value,
                     "lesson_level": lesson, "original_recipe_here": original,
                     "epochs": r.metrics.get("epochs_run"), "error": r.error or None})
    write_json(out / "summary.json", {"param_set": param_set, "rows": rows,
                                      "runs": [asdict(r) for r in runs]})
    head = ("| Cuaderno | Estado | Tiempo (s) | Datos | Métrica | Valor | Nivel de la lección | "
            "Receta original aquí | Épocas |\n|---|---|---:|---|---|---:|---:|---:|---:|")
    lines = [f"# Resultados de la serie (`{param_set}`)", "", head]
    for row in rows:
        lines.append(f"| {row['notebook']} | {row['status']} | {row['seconds']:.0f} | {row['data'] or '—'} | "
                     f"{row['metric'] or '—'} | {_fmt(row['value'])} | {_fmt(row['lesson_level'])} | "
                     f"{_fmt(row['original_recipe_here'])} | {_fmt(row['epochs'])} |")
    total = sum(r.seconds for r in runs)
    lines += ["", f"Tiempo total: {total / 60:.1f} min."]
    for r in runs:
        if r.status == "failed":
            lines.append(f"- **{r.name}** falló en la celda {r.cell}: `{r.error[:300]}`; salida parcial en `{r.output}`.")
    md = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(md)
    body = [f"<h1>Resultados de la serie ({html.escape(param_set)})</h1>", "<table border=1 cellpadding=4>",
            "<tr>" + "".join(f"<th>{h}</th>" for h in ("Cuaderno", "Estado", "Tiempo (s)", "Datos", "Métrica",
                                                       "Valor", "Nivel de la lección", "Receta original aquí",
                                                       "Épocas")) + "</tr>"]
    for row in rows:
        cells = [row["notebook"], row["status"], f"{row['seconds']:.0f}", row["data"] or "—", row["metric"] or "—",
                 _fmt(row["value"]), _fmt(row["lesson_level"]), _fmt(row["original_recipe_here"]), _fmt(row["epochs"])]
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    body.append(f"</table><p>Tiempo total: {total / 60:.1f} min.</p>")
    for r in runs:
        figs = _figures(Path(r.output))
        if figs:
            body.append(f"<h2>{html.escape(r.name)}</h2>")
            body += [f'<img style="max-width:48%" src="data:image/png;base64,{f}"/>' for f in figs]
    (out / "summary.html").write_text("<!doctype html><meta charset=utf-8><body>" + "\n".join(body) + "</body>")


def export_html(notebooks: list[Path], out: Path) -> list[Path]:
    """Export executed notebooks to standalone HTML pages (for publishing)."""
    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter()
    written = []
    for nb in notebooks:
        body, _ = exporter.from_filename(str(nb))
        target = out / f"{nb.stem}.html"
        target.write_text(body)
        written.append(target)
    return written


def check_levels(summary_json: str | os.PathLike) -> list[str]:
    """Problems with the GPU job's accuracy levels (empty list when they are met).

    Asserted only for the ``gpu`` set with real data and pretrained weights:
    augmented CNN above 80%, and pretrained embeddings well above the CNN.
    """
    data = json.loads(Path(summary_json).read_text())
    runs = {r["name"]: r for r in data["runs"]}
    bad = [f"{n}: {r['status']} ({r['error']})" for n, r in runs.items() if r["status"] != "ok"]
    if data["param_set"] != "gpu":
        return bad
    cnn = runs.get("04_aumento_datos", {}).get("metrics", {})
    pre = runs.get("06_modelos_preentrenados", {}).get("metrics", {})
    acc = cnn.get("test_accuracy")
    if cnn.get("data_kind") != "real":
        bad.append("04_aumento_datos no usó los datos reales")
    if acc is None or not math.isfinite(acc) or acc < GPU_LEVELS["augmented_cnn_min"]:
        bad.append(f"CNN con aumento: accuracy {acc} < {GPU_LEVELS['augmented_cnn_min']}")
    if not pre.get("pretrained"):
        bad.append("06_modelos_preentrenados no usó pesos ImageNet")
    feats = pre.get("feature_extractors") or {}
    best = max(feats.values()) if feats else None
    if best is None or acc is None or best < acc + GPU_LEVELS["pretrained_margin_over_cnn"]:
        bad.append(f"Embeddings preentrenados ({best}) no superan a la CNN ({acc}) por "
                   f"{GPU_LEVELS['pretrained_margin_over_cnn']}")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="cpu", choices=PARAM_SET_NAMES, help="conjunto de parámetros")
    ap.add_argument("--notebooks", nargs="*", help="prefijos, p. ej. 01 03 (por defecto, todos)")
    ap.add_argument("--out", help="carpeta de salida (por defecto build/<params>)")
    ap.add_argument("--data-source", default="auto", help="auto, course, synthetic o una ruta")
    ap.add_argument("--keep-going", action="store_true", help="seguir tras un fallo")
    ap.add_argument("--html", action="store_true", help="exportar los cuadernos ejecutados a HTML")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="NOMBRE=VALOR",
                    help="parámetro extra para todos los cuadernos (valor JSON o texto)")
    ap.add_argument("--check-levels", metavar="SUMMARY_JSON",
                    help="solo comprobar los niveles de precisión de un summary.json y salir")
    args = ap.parse_args(argv)
    if args.check_levels:
        bad = check_levels(args.check_levels)
        print("\n".join(bad) if bad else "Niveles de la lección alcanzados (o no aplican a este conjunto).")
        return 1 if bad else 0
    extra = {}
    for item in args.param:
        key, _, value = item.partition("=")
        try:
            extra[key] = json.loads(value)
        except json.JSONDecodeError:
            extra[key] = value
    runs = run_series(args.params, out_dir=args.out, notebooks=args.notebooks, keep_going=args.keep_going,
                      data_source=args.data_source, extra_params=extra, html_export=args.html)
    return 0 if all(r.status == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

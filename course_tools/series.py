"""Run the notebook series with papermill and write a results summary.

``python -m course_tools.series --params cpu`` executes every notebook in
order (later notebooks reuse what earlier ones saved), writes executed copies
to ``build/<params>/notebooks/``, one progress line per notebook, and a
summary (Markdown and HTML with key figures embedded) comparing the recorded
numbers with the lesson's reference levels.  ``--keep-going`` runs the rest
after a failure; a failing notebook is reported by name, cell and error, and
its partial output notebook is kept.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from course_utils import config, quiet
from course_utils.artifacts import read_results, write_json
from course_utils.config import PROJECT_ROOT
from course_utils.levels import REFERENCES
from course_utils.params.resolve import NOTEBOOKS
from course_utils.params.schema import PARAM_SET_NAMES

from . import report
from .kernel import clean_notebook
from .memory import PeakMemory
from .verdicts import check_levels, series_verdicts

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
#: The set ``run_series`` and the command line use when none is given.
DEFAULT_PARAM_SET = "cpu"


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
    #: Peak resident memory of the notebook's kernel (sampled every 0.5 s), in GB.
    peak_memory_gb: float | None = None


def _select(names: list[str] | None) -> list[str]:
    if not names:
        return list(NOTEBOOKS)
    chosen = []
    for n in names:
        match = [nb for nb in NOTEBOOKS if nb.startswith(n) or nb == Path(n).stem]
        if not match:
            raise ValueError(f"Cuaderno desconocido: {n}. Opciones: {', '.join(NOTEBOOKS)}")
        chosen += [m for m in match if m not in chosen]
    return [nb for nb in NOTEBOOKS if nb in chosen]


def _execute(
    name: str,
    notebook: str,
    output: str,
    params: dict[str, Any],
    artifacts: str,
    kernel_name: str,
    timeout: int,
) -> NotebookRun:
    """Execute one notebook with papermill (in this process or a worker's); its :class:`NotebookRun`."""
    import papermill as pm

    quiet.apply_environment()  # the kernel inherits it, before TensorFlow loads
    _hide_runner_parameter_warnings()
    run = NotebookRun(name=name, output=output)
    start = time.perf_counter()
    memory = PeakMemory()
    try:
        with memory:
            pm.execute_notebook(
                notebook,
                output,
                parameters=params,
                cwd=str(NOTEBOOK_DIR),
                kernel_name=kernel_name,
                progress_bar=False,
                execution_timeout=timeout,
                log_output=False,
                **_quiet_kernel(),
            )
        run.status = "ok"
    except Exception as exc:  # noqa: BLE001 - PapermillExecutionError and kernel deaths
        run.status = "failed"
        run.cell = getattr(exc, "exec_count", None) or getattr(exc, "cell_index", None)
        run.error = f"{getattr(exc, 'ename', type(exc).__name__)}: {getattr(exc, 'evalue', exc)}"
    run.seconds = time.perf_counter() - start
    run.peak_memory_gb = round(memory.peak_gb, 2)
    if Path(run.output).is_file():
        clean_notebook(run.output)  # start-up lines no setting silences
    run.metrics = read_results(Path(artifacts)).get(name, {})
    return run


def _outcome(run: NotebookRun, k: int, total: int) -> str:
    """The progress line of a finished notebook."""
    msg = f"[{k}/{total}] {run.name}: {run.status} en {run.seconds:.0f} s, memoria pico {run.peak_memory_gb} GB"
    if run.status == "failed":
        return msg + f" — celda {run.cell}: {run.error.splitlines()[0][:300]} (salida parcial: {run.output})"
    return msg + "".join(
        f" · {key}={report.fmt(run.metrics.get(key))}"
        for key in ("test_accuracy", "svc_test_accuracy", "best_test_accuracy")
        if key in run.metrics
    )


def run_series(
    param_set: str = DEFAULT_PARAM_SET,
    *,
    out_dir: str | os.PathLike | None = None,
    notebooks: list[str] | None = None,
    keep_going: bool = False,
    data_source: str = "auto",
    extra_params: dict[str, Any] | None = None,
    kernel_name: str = "python3",
    timeout: int = 3600,
    html_export: bool = False,
    standalone: bool = False,
    notebook_dir: str | os.PathLike | None = None,
    jobs: int = 1,
    start_first: tuple[str, ...] = (),
    log=print,
) -> list[NotebookRun]:
    """Execute the chosen notebooks in order; return one :class:`NotebookRun` each.

    ``standalone=True`` gives each notebook its own empty artifacts folder
    (``artifacts/<name>/``), as a fresh Colab runtime would: nothing saved by an
    earlier notebook is found.  Then, with ``keep_going``, ``jobs`` notebooks run at once
    (each in a worker process with its own kernel, so that each peak memory is its own).
    ``notebook_dir`` takes the notebooks from another folder than ``notebooks/`` (the kernel
    still starts in ``notebooks/``).  ``start_first`` names the longest ones, which start first when
    ``jobs`` run at once (so that the last one does not run alone); the runs stay in series order.

    Raises ``ValueError`` for an unknown parameter set or notebook (also in ``start_first``); a failing
    notebook is recorded in its :class:`NotebookRun`, never raised.
    """
    if param_set not in PARAM_SET_NAMES:
        raise ValueError(f"--params {param_set!r} no existe: usa {', '.join(PARAM_SET_NAMES)}.")
    unknown = [n for n in start_first if n not in NOTEBOOKS]
    if unknown:
        raise ValueError(
            f"start_first nombra cuadernos que no existen: {', '.join(unknown)}. Opciones: {', '.join(NOTEBOOKS)}"
        )
    out = Path(out_dir or PROJECT_ROOT / "build" / param_set).resolve()
    nb_out = out / "notebooks"
    art = out / "artifacts"
    nb_out.mkdir(parents=True, exist_ok=True)
    art.mkdir(parents=True, exist_ok=True)
    names = _select(notebooks)
    _hide_runner_parameter_warnings()

    def job(name: str) -> tuple:
        nb_art = art / name if standalone else art
        nb_art.mkdir(parents=True, exist_ok=True)
        params = {"PARAM_SET": param_set, "DATA_SOURCE": data_source, "ARTIFACTS_DIR": str(nb_art)}
        params.update(extra_params or {})
        notebook = str(Path(notebook_dir or NOTEBOOK_DIR) / f"{name}.ipynb")
        return name, notebook, str(nb_out / f"{name}.ipynb"), params, str(nb_art), kernel_name, timeout

    runs: list[NotebookRun] = []
    if standalone and keep_going and jobs > 1 and len(names) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        log(f"{len(names)} cuadernos, {jobs} a la vez (cada uno solo, con su carpeta de artefactos)…")
        # spawn, not fork: the caller may hold TensorFlow's threads, which a fork would copy half-way
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {}  # submitted (and so started) in this order: start_first's, then the rest
            for name in sorted(names, key=lambda n: n not in start_first):
                futures[name] = pool.submit(_execute, *job(name))
            for k, name in enumerate(names, 1):
                runs.append(futures[name].result())
                log(_outcome(runs[-1], k, len(names)))
    else:
        failed = False
        for k, name in enumerate(names, 1):
            if failed and not keep_going:
                runs.append(NotebookRun(name=name, output=str(nb_out / f"{name}.ipynb"), status="skipped"))
                log(f"[{k}/{len(names)}] {name}: omitido (falló un cuaderno anterior)")
                continue
            log(f"[{k}/{len(names)}] {name}: ejecutando…")
            runs.append(_execute(*job(name)))
            failed = failed or runs[-1].status == "failed"
            log(_outcome(runs[-1], k, len(names)))
    write_summary(runs, out, param_set)
    if html_export:
        report.export_html([Path(r.output) for r in runs if Path(r.output).exists()], out / "html")
    log(f"Resumen: {out / 'summary.md'} y {out / 'summary.html'}")
    return runs


#: Parameters the runner passes to every notebook; a notebook whose student cell does not show them
#: still reads them (``start`` takes them from the injected cell), so papermill's warning is noise.
RUNNER_PARAMETERS = ("PARAM_SET", "DATA_SOURCE", "ARTIFACTS_DIR", "WEIGHTS")


class _RunnerParameterFilter(logging.Filter):
    """Drops papermill's "Passed unknown parameter" warning for :data:`RUNNER_PARAMETERS` only."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(message == f"Passed unknown parameter: {name}" for name in RUNNER_PARAMETERS)


def _hide_runner_parameter_warnings() -> None:
    """Install :class:`_RunnerParameterFilter` on papermill's logger (once)."""
    logger = logging.getLogger("papermill")
    if not any(isinstance(f, _RunnerParameterFilter) for f in logger.filters):
        logger.addFilter(_RunnerParameterFilter())


def _quiet_kernel() -> dict[str, Any]:
    """Kernel options for papermill: no transport warning per notebook (see :mod:`course_utils.quiet`)."""
    return {"extra_arguments": list(quiet.KERNEL_ARGUMENTS)}


def summary_rows(runs: list[NotebookRun]) -> list[dict[str, Any]]:
    """One row per run: status, time, data kind, the reference metric and its levels."""
    rows = []
    for r in runs:
        ref = REFERENCES.get(r.name)
        value = r.metrics.get(ref.metric) if ref else None
        rows.append(
            {
                "notebook": r.name,
                "status": r.status,
                "seconds": round(r.seconds, 1),
                "peak_memory_gb": r.peak_memory_gb,
                "data": r.metrics.get("data_kind"),
                "metric": ref.metric if ref else None,
                "value": value,
                "lesson_level": ref.lesson.value if ref and ref.lesson else None,
                "epochs": r.metrics.get("epochs_run"),
                "train_seconds": r.metrics.get("train_seconds"),
                "error": r.error or None,
            }
        )
    return rows


def provenance(command: str | None = None) -> dict[str, str]:
    """When, where and how results were made: UTC date, machine, command line."""
    from course_utils.hardware import choose_precision, cpu_summary, fast_bf16_units, vector_unit

    try:
        load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except (OSError, AttributeError):
        load = "n/a"

    units = ", ".join(fast_bf16_units()) or "ninguna"
    vector = vector_unit()
    choice = choose_precision()
    machine = (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} núcleos, {vector}, Python "
        f"{platform.python_version()}, unidades bf16 de la CPU: {units}, precisión 'auto': {choice.policy} "
        f"({choice.description}), carga media al terminar (1/5/15 min): {load}"
    )
    command = config.portable(command or "python -m course_tools.series " + " ".join(sys.argv[1:]))
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine,
        "command": command,
        "precision": choice.policy,
        "cpu": cpu_summary(),
        "load": load,
    }


def _portable(value: Any) -> Any:
    """``value`` with every string made :func:`course_utils.config.portable` (paths relative to the repository)."""
    if isinstance(value, str):
        return config.portable(value)
    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_portable(v) for v in value]
    return value


def write_summary(runs: list[NotebookRun], out: Path, param_set: str, command: str | None = None) -> None:
    """Write summary.md, summary.html and summary.json in ``out``."""
    rows = summary_rows(runs)
    record = {"param_set": param_set, "recorded": provenance(command), "rows": rows, "runs": [asdict(r) for r in runs]}
    write_json(out / "summary.json", _portable(record))
    cells = [report.table_cells(row) for row in rows]
    verdicts = [f"Tiempo total: {sum(r.seconds for r in runs) / 60:.1f} min."]
    verdicts += series_verdicts(param_set, rows, expected=len(NOTEBOOKS), precision=record["recorded"]["precision"])
    total = "\n".join(f"- {line}" for line in verdicts)
    lines = [
        f"# Resultados de la serie (`{param_set}`)",
        "",
        report.markdown_table(report.SUMMARY_HEADER, cells, report.SUMMARY_NUMERIC),
        "",
        total,
    ]
    lines += [
        f"- **{r.name}** falló en la celda {r.cell}: `{r.error[:300]}`; salida parcial en `{r.output}`."
        for r in runs
        if r.status == "failed"
    ]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    body = [
        f"<h1>Resultados de la serie ({param_set})</h1>",
        report.html_table(report.SUMMARY_HEADER, cells),
        "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in verdicts) + "</ul>",
    ]
    for r in runs:
        figures = report.png_figures(r.output)
        if figures:
            body += [f"<h2>{r.name}</h2>", *report.img_tags(figures)]
    (out / "summary.html").write_text(report.html_page(body))


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m course_tools.series``."""
    ap = argparse.ArgumentParser(prog="python -m course_tools.series", description=__doc__.splitlines()[0])
    ap.add_argument("--params", default=DEFAULT_PARAM_SET, choices=PARAM_SET_NAMES, help="conjunto de parámetros")
    ap.add_argument("--notebooks", nargs="*", help="prefijos, p. ej. 01 03 (por defecto, todos)")
    ap.add_argument("--out", help="carpeta de salida (por defecto build/<params>)")
    ap.add_argument("--data-source", default="auto", help="auto, course, synthetic o una ruta")
    ap.add_argument("--keep-going", action="store_true", help="seguir tras un fallo")
    ap.add_argument("--html", action="store_true", help="exportar los cuadernos ejecutados a HTML")
    ap.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NOMBRE=VALOR",
        help="parámetro extra para todos los cuadernos (valor JSON o texto)",
    )
    ap.add_argument(
        "--check-levels",
        metavar="SUMMARY_JSON",
        help="solo comprobar los niveles de precisión de un summary.json y salir",
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run the series (exit code 0 when every notebook ran) or check levels (0 when met); 2 on bad input."""
    args = parser().parse_args(argv)
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
    try:
        runs = run_series(
            args.params,
            out_dir=args.out,
            notebooks=args.notebooks,
            keep_going=args.keep_going,
            data_source=args.data_source,
            extra_params=extra,
            html_export=args.html,
        )
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0 if all(r.status == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

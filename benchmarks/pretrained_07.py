"""Record notebook 07's run on the ``cpu`` set: which ImageNet weights it used and what each approach got.

Reads the ``summary.json`` that ``python -m course_tools.series --params cpu --notebooks 07`` wrote (the
notebook's recorded results, its minutes, the series' command, precision and load) and writes
``benchmarks/results/pretrained_07_cpu.json`` with the CPU (``lscpu``'s model name and the bf16
units), the parameters of the ``cpu`` set and the verdicts against
:data:`course_utils.levels.PRETRAINED_ACCURACY` and the notebook's time target.  The README's
line (``course_tools.readme``) and the numbers notebook 07's text quotes come from that record::

    COURSE_PRECISION=float32 python -m course_tools.series --params cpu --notebooks 07 --out build/cpu-07
    python -m benchmarks.pretrained_07 build/cpu-07/summary.json

(with ``--time-log`` the CPU seconds of ``/usr/bin/time -v`` around the series are recorded too).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

from course_utils.config import portable

RESULTS = Path(__file__).parent / "results"
RECORD = RESULTS / "pretrained_07_cpu.json"
NOTEBOOK = "07_modelos_preentrenados"


def cpu_model(lscpu_text: str | None = None) -> str:
    """``lscpu``'s «Model name» (the platform's processor string where there is no ``lscpu``)."""
    if lscpu_text is None:
        try:
            lscpu_text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        except OSError:
            return platform.processor()
    for line in lscpu_text.splitlines():
        if line.strip().startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def fit_validation(notebook: dict[str, Any]) -> list[float]:
    """The ``val_accuracy`` of every epoch the executed notebook's ``fit`` calls printed, in order."""
    found = []
    for cell in notebook.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                found += [float(v) for v in re.findall(r"val_accuracy: ([0-9.]+)", "".join(out.get("text", "")))]
    return found


def cpu_seconds(time_log: str) -> float | None:
    """User + system seconds from ``/usr/bin/time -v``'s report (None if it is not there)."""
    got = [float(v) for v in re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", time_log)]
    return round(sum(got), 1) if len(got) == 2 else None


def record_from_summary(summary: dict[str, Any], cpu: str) -> dict[str, Any]:
    """The record of notebook 07's run in a series ``summary`` (raises ``ValueError`` if it did not run well)."""
    from course_utils.levels import NOTEBOOK_MINUTES, PRETRAINED_ACCURACY
    from course_utils.params.schema import SETS, notebook

    run = next((r for r in summary.get("runs", []) if r["name"] == NOTEBOOK), None)
    if run is None or run["status"] != "ok":
        raise ValueError(f"{NOTEBOOK} no terminó bien en ese resumen: {run and run.get('error')}")
    m = run["metrics"]
    if not m.get("pretrained"):
        raise ValueError(f"{NOTEBOOK} corrió con pesos aleatorios: no es un resultado preentrenado")
    param_set = summary["param_set"]
    main = m["main_backbone"]
    svc = m["feature_extractors"][main]
    minutes = run["seconds"] / 60
    targets = {
        "features_svc": (svc, PRETRAINED_ACCURACY["features_svc"].value),
        "fine_tune": (m["fine_tune_test_accuracy"], PRETRAINED_ACCURACY["fine_tune"].value),
    }
    recorded = summary.get("recorded", {})
    return {
        "what": f"{NOTEBOOK}, conjunto {param_set}, tal como se distribuye, en el conjunto de prueba del curso",
        "command": recorded.get("command"),
        "date": recorded.get("date"),
        "param_set": param_set,
        "precision": recorded.get("precision"),
        "cpu_model": cpu,
        "cpu_flags": recorded.get("cpu"),
        "load_at_end": recorded.get("load"),
        "minutes": round(minutes, 2),
        "train_seconds": round(m["train_seconds"], 1),
        "peak_memory_gb": run.get("peak_memory_gb"),
        "data_kind": m.get("data_kind"),
        "main_backbone": main,
        "weights_used": m["weights_used"],
        "settings": {**SETS[param_set], **notebook(NOTEBOOK).values[param_set]},
        "test_accuracy": {
            "features_pca_classifiers": m["classifiers"],
            "features_svc_by_backbone": m["feature_extractors"],
            "frozen_head": m["transfer_head_test_accuracy"],
            "fine_tune": m["fine_tune_test_accuracy"],
        },
        "targets": {
            name: {"value": round(value, 4), "target": target, "met": value >= target}
            for name, (value, target) in targets.items()
        }
        | {
            "minutes_float32": {
                "value": round(minutes, 2),
                "target": NOTEBOOK_MINUTES["cpu"].value,
                "met": recorded.get("precision") == "float32" and minutes <= NOTEBOOK_MINUTES["cpu"].value,
            }
        },
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.pretrained_07 SUMMARY [--out PATH]``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pretrained_07", description=__doc__.splitlines()[0])
    ap.add_argument("summary", type=Path, help="summary.json de la serie que ejecutó el cuaderno 07")
    ap.add_argument("--out", type=Path, default=RECORD)
    ap.add_argument("--time-log", type=Path, help="salida de `/usr/bin/time -v` de la serie: sus segundos de CPU")
    args = ap.parse_args(argv)
    summary = json.loads(args.summary.read_text())
    record = record_from_summary(summary, cpu_model())
    record["summary"] = portable(str(args.summary))
    executed = args.summary.parent / "notebooks" / f"{NOTEBOOK}.ipynb"
    if executed.is_file():  # the same run's validation accuracy per epoch: what the settings are chosen on
        val = fit_validation(json.loads(executed.read_text()))
        head = record["settings"]["epochs"]
        record["validation_accuracy_per_epoch"] = {"frozen_head": val[:head], "fine_tune": val[head:]}
    if args.time_log is not None:
        record["cpu_seconds"] = cpu_seconds(args.time_log.read_text())
    args.out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(record["targets"], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Write ``course_utils/recorded/series_times.json`` from series summaries: seconds per notebook, set and precision.

``python -m course_tools.series_times results/cpu/summary.json [...]``: each
summary's provenance says its parameter set, precision, CPU and load; a later
summary overrides an earlier one notebook by notebook (only notebooks that ran ok).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from course_utils.artifacts import write_json
from course_utils.config import PROJECT_ROOT

OUT = PROJECT_ROOT / "course_utils" / "recorded" / "series_times.json"


def collect(summaries: list[Path]) -> dict:
    """``{param_set: {precision: {"seconds": {notebook: s}, "where": text, "sources": [...]}}}``."""
    out: dict = {}
    for path in summaries:
        data = json.loads(Path(path).read_text())
        rec = data["recorded"]
        if "precision" not in rec:
            raise ValueError(f"{path}: el resumen no dice con qué precisión se midió (vuelve a ejecutar la serie).")
        entry = out.setdefault(data["param_set"], {}).setdefault(rec["precision"], {"seconds": {}, "sources": []})
        ran = {r["notebook"]: r["seconds"] for r in data["rows"] if r["status"] == "ok"}
        entry["seconds"].update(ran)
        entry["sources"].append(
            {
                "summary": str(path),
                "date": rec["date"],
                "cpu": rec["cpu"],
                "load": rec["load"],
                "notebooks": sorted(ran),
            }
        )
        cpus = sorted({s["cpu"] for s in entry["sources"]})
        loads = "; ".join(f"{s['load']} ({', '.join(n[:2] for n in s['notebooks'])})" for s in entry["sources"])
        entry["where"] = f"2 núcleos {' / '.join(cpus)}; carga media al terminar (1/5/15 min): {loads}"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("summaries", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    write_json(args.out, collect(args.summaries))
    print(f"Escrito {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

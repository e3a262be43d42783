"""04's text about the three seeds quotes course_utils/recorded/augmentation_experiment_cpu.json."""

from __future__ import annotations

import json

from course_utils import evaluation


def test_04_quotes_the_recorded_seeds():
    """04's text about the three seeds quotes course_utils/recorded/augmentation_experiment_cpu.json."""
    from statistics import mean

    from course_utils import artifacts
    from course_utils.config import PROJECT_ROOT
    from course_utils.params.schema import notebook

    record = artifacts.recorded(evaluation.AUGMENTATION_RECORD)
    assert record["settings"]["data"] == "real" and record["command"].startswith("python ")
    cells = json.loads((PROJECT_ROOT / "source" / "04_aumento_datos.ipynb").read_text())["cells"]
    (text,) = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "markdown" and "**Qué dicen las semillas**" in "".join(c["source"])
    ]
    budget, last = notebook("04_aumento_datos").values["cpu"]["epochs"], record["settings"]["epochs"]
    for arm in evaluation.ARM_LABELS:
        runs = [r for r in record["runs"] if r["arm"] == arm]
        assert len(runs) == 3, arm
        for epochs in (budget, last):
            quoted = f"{100 * mean(r['test_accuracy_at'][str(epochs)] for r in runs):.1f} %".replace(".", ",")
            assert quoted in text, f"{arm}, {epochs} épocas: {quoted} missing from 04's text"

"""04's text about the three seeds quotes course_utils/recorded/augmentation_experiment_cpu.json, which shows the win."""

from __future__ import annotations

import json
import re

from course_utils import evaluation


def _quoted(x: float) -> str:
    return f"{100 * x:.1f} %".replace(".", ",")


def test_04_quotes_the_recorded_seeds_and_they_show_the_win():
    """04's text about the three seeds quotes course_utils/recorded/augmentation_experiment_cpu.json, whose
    settings are the cpu set's, and the record shows what the text teaches: with augmentation the test accuracy
    is higher, by more than the spread of the seeds."""
    from course_utils import artifacts
    from course_utils.config import PROJECT_ROOT
    from course_utils.models.networks import AUGMENTATION_LEARNING_RATE
    from course_utils.params.schema import notebook

    record = artifacts.recorded(evaluation.AUGMENTATION_RECORD)
    s = record["settings"]
    assert s["data"] == "real" and s["precision"] == "float32" and record["command"].startswith("python ")
    cpu = notebook("04_aumento_datos").values["cpu"]
    assert s["img_size"] == cpu["img_size"]
    assert s["epochs"] == {"sin_aumento": cpu["epochs"], "con_aumento": cpu["epochs"]}
    assert s["learning_rate"] == AUGMENTATION_LEARNING_RATE
    cells = json.loads((PROJECT_ROOT / "source" / "04_aumento_datos.ipynb").read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    (rule,) = re.findall(
        r"EarlyStopping\(monitor=\"val_accuracy\", patience=(\d+),\s+restore_best_weights=True\)", code
    )
    assert int(rule) == s["patience"], "04 stops with the record's patience"
    (text,) = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "markdown" and "**Qué dicen las semillas**" in "".join(c["source"])
    ]
    text = " ".join(text.split())
    summary = evaluation.recorded_summary(record)
    for arm in evaluation.ARM_LABELS:
        a = summary[arm]
        assert len(a["seeds"]) == 3, arm
        for value in (a["test"], a["test_min"], a["test_max"], a["val"]):
            assert _quoted(value) in text, f"{arm}: {_quoted(value)} missing from 04's text"
        assert "épocas " + ", ".join(map(str, a["best_epochs"][:-1])) + f" y {a['best_epochs'][-1]}" in text, arm
    gain = summary["ganancia"]
    assert f"{100 * gain['test']:.1f} puntos".replace(".", ",") in text
    spread = max(summary[arm]["test_max"] - summary[arm]["test_min"] for arm in evaluation.ARM_LABELS)
    assert gain["test"] > spread and min(gain["per_seed"]) > 0, "the record does not show the win the text teaches"

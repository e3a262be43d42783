"""04's text about the seeds quotes course_utils/recorded/augmentation_experiment_cpu.json, and claims the win
only when the record shows it."""

from __future__ import annotations

import json
import re

from course_utils import evaluation

#: 04's words for how many seeds; the claim it makes when augmentation wins beyond the seeds' spread.
WORDS = {1: "una", 2: "dos", 3: "tres", 4: "cuatro", 5: "cinco"}
WIN = "más que lo que separa a la peor semilla de la mejor dentro de cada brazo"


def _quoted(x: float) -> str:
    return f"{100 * x:.1f} %".replace(".", ",")


def _seeds(n: int) -> str:
    return f"{WORDS[n]} semilla" + ("s" if n > 1 else "")


def _text_and_code() -> tuple[str, str]:
    from course_utils.config import PROJECT_ROOT

    cells = json.loads((PROJECT_ROOT / "source" / "04_aumento_datos.ipynb").read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    (text,) = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "markdown" and "**Qué dicen las semillas**" in "".join(c["source"])
    ]
    return " ".join(text.split()), code


def test_04_quotes_the_recorded_seeds_and_claims_the_win_only_if_recorded():
    """The record's settings are the cpu set's and 04's rule (patience, learning rate); the text quotes every
    arm's means, ranges, best epochs and seed counts, and the paired gain; it says augmentation wins beyond the
    seeds' spread exactly when three or more paired seeds show it (every seed's gain positive, the mean gain
    larger than the spread of either arm)."""
    from course_utils import artifacts
    from course_utils.models.networks import AUGMENTATION_LEARNING_RATE
    from course_utils.params.schema import notebook

    record = artifacts.recorded(evaluation.AUGMENTATION_RECORD)
    s = record["settings"]
    assert s["data"] == "real" and s["precision"] == "float32" and record["command"].startswith("python ")
    cpu = notebook("04_aumento_datos").values["cpu"]
    assert s["img_size"] == cpu["img_size"]
    assert s["epochs"] == {"sin_aumento": cpu["epochs"], "con_aumento": cpu["epochs"]}
    assert s["learning_rate"] == AUGMENTATION_LEARNING_RATE
    text, code = _text_and_code()
    (rule,) = re.findall(
        r"EarlyStopping\(monitor=\"val_accuracy\", patience=(\d+),\s+restore_best_weights=True\)", code
    )
    assert int(rule) == s["patience"], "04 stops with the record's patience"
    summary = evaluation.recorded_summary(record)
    for arm, label in (("sin_aumento", "sin aumento"), ("con_aumento", "con aumento + *Dropout*")):
        a = summary[arm]
        assert f"{label}, {_seeds(len(a['seeds']))}" in text, f"{arm}: the seed count is not in 04's text"
        values = (a["test"], a["val"], a["test_min"], a["test_max"]) if len(a["seeds"]) > 1 else (a["test"], a["val"])
        for value in values:
            assert _quoted(value) in text, f"{arm}: {_quoted(value)} missing from 04's text"
        epochs = a["best_epochs"]
        listed = f"época {epochs[0]}" if len(epochs) == 1 else "épocas " + ", ".join(map(str, epochs[:-1]))
        assert (listed + ("" if len(epochs) == 1 else f" y {epochs[-1]}")) in text, arm
    gain = summary["ganancia"]
    assert f"gana {100 * gain['test']:.1f} puntos".replace(".", ",") in text
    spread = max(summary[arm]["test_max"] - summary[arm]["test_min"] for arm in evaluation.ARM_LABELS)
    shows_win = len(gain["seeds"]) >= 3 and gain["test"] > spread and min(gain["per_seed"]) > 0
    assert (WIN in text) == shows_win, "04's text and the record disagree on whether augmentation wins"

"""The figures notebook 05 quotes from the recorded from-scratch runs (benchmarks/results/from_scratch_cpu.json,
cpu_recipe_search.json)."""

from __future__ import annotations

from statistics import mean


def percent(x: float, digits: int = 1) -> str:
    """0.8834 -> '88,3' (Spanish decimal comma, as the notebooks write numbers)."""
    return f"{100 * x:.{digits}f}".replace(".", ",")


def quoted(record: dict) -> dict[str, str]:
    """Placeholder -> text: means over seeds of the best-validation scores, ranges of the validation curve."""
    runs = {name: [r for r in record["runs"] if r["variant"] == name] for name in ("res_s2", "wide_same_5blocks")}
    res, wide = runs["res_s2"], runs["wide_same_5blocks"]
    val = [r["best"]["validation"]["accuracy"] for r in res]
    test = [r["best"]["test"]["accuracy"] for r in res]
    curves = [r["history"]["val_accuracy"] for r in res]
    flip_test = mean(r["best"]["test"]["flip_accuracy"] - r["best"]["test"]["accuracy"] for r in res)
    flip_val = mean(r["best"]["validation"]["flip_accuracy"] - r["best"]["validation"]["accuracy"] for r in res)
    return {
        "VAL_WIDE": percent(mean(r["best"]["validation"]["accuracy"] for r in wide)) + " %",
        "TEST_WIDE": percent(mean(r["best"]["test"]["accuracy"] for r in wide)) + " %",
        "N_RES": str(len(res)),
        "VAL_RES": percent(mean(val)) + " %",
        "TEST_RES": percent(mean(test)) + " %",
        "MIN_RES": percent(min(test)) + " %",
        "MAX_RES": percent(max(test)) + " %",
        "JUMP_LO": percent(min(v for c in curves for v in c[:20]), 0),
        "JUMP_HI": percent(max(v for c in curves for v in c[:20]), 0),
        "LATE_LO": percent(min(v for c in curves for v in c[30:]), 0),
        "LATE_HI": percent(max(v for c in curves for v in c[30:]), 0),
        "TRAIN_FINAL": percent(mean(r["history"]["accuracy"][-1] for r in res), 0),
        "FLIP_TEST": f"{100 * flip_test:+.1f}".replace(".", ","),
        "FLIP_VAL": f"{100 * flip_val:+.1f}".replace(".", ","),
    }


def quoted_search(record: dict) -> dict[str, str]:
    """Placeholder -> text for the cpu-recipe search: progressive resizing (means over seeds) and mixup (one seed)."""
    prog = [r for r in record["runs"] if r["variant"] == "res_s2_prog112"]
    (mixup,) = [r for r in record["runs"] if r["variant"] == "res_s2_prog112_mixup"]
    (same_seed,) = [r for r in prog if r["seed"] == mixup["seed"]]
    return {
        "N_PROG": str(len(prog)),
        "TEST_PROG": percent(mean(r["best"]["test"]["accuracy"] for r in prog)) + " %",
        "VAL_PROG": percent(mean(r["best"]["validation"]["accuracy"] for r in prog)) + " %",
        "TEST_MIXUP": percent(mixup["best"]["test"]["accuracy"]) + " %",
        "TEST_NO_MIXUP": percent(same_seed["best"]["test"]["accuracy"]) + " %",
    }

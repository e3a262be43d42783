"""The project's targets (issue 13 and before): which row, what threshold, in which mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .bench_report import Row
from .bench_settings import BenchConfig


@dataclass(frozen=True)
class Target:
    """A threshold on one row's figure; ``modes``: where it applies (elsewhere: not measured)."""

    name: str  # row name
    text: str
    check: Callable[[Row], bool]
    modes: tuple[str, ...] = ("full", "quick", "test")


def _at_least(x: float) -> Callable[[Row], bool]:
    return lambda r: r.ratio is not None and r.ratio >= x


def _bf16_pays_off(row: Row, units: list[str] | None = None) -> bool | None:
    """mixed_bfloat16 at least as fast as float32, on CPUs where ``choose_precision`` picks it (else None)."""
    from course_utils.hardware import fast_bf16_units

    if not (fast_bf16_units() if units is None else units):
        return None
    return row.ratio is not None and row.ratio >= 1.0


def targets(small: int = 16, large: int = 150, budget_gb: float = 12.0) -> list[Target]:
    """Every target, for MLP size ``small`` and CNN size ``large``."""
    out = []
    for size in (small, large):
        for aug in ("noaug", "aug"):
            out.append(Target(f"throughput_{size}_{aug}_first", ">= 1.0x", _at_least(1.0)))
        out.append(Target(f"throughput_{size}_aug_later", ">= 1.5x", _at_least(1.5)))
    out.append(Target(f"throughput_{large}_noaug_later", ">= 20x (full mode)", _at_least(20), ("full",)))
    out.append(Target("recipe_mlp_time", ">= 3x (<= 1/3 of the time)", _at_least(3)))
    out.append(
        Target("recipe_mlp_accuracy", ">= original", lambda r: r.original is not None and r.course >= r.original)
    )
    # The precision policy the course picks must pay off where it picks bf16 (issue 13, target 4).
    for key, size in BenchConfig().precision_models:
        out.append(Target(f"precision_{key}_{size}", ">= 1.0x where the CPU has bf16 units", _bf16_pays_off))
    for size in (150, 224):
        for what in ("load", "train"):
            out.append(
                Target(f"memory_{size}_{what}_peak", f"<= {budget_gb:g} GB", lambda r, b=budget_gb: r.course <= b)
            )
    return out


def apply_targets(rows: list[Row], mode: str, small: int = 16, large: int = 150, budget_gb: float = 12.0) -> None:
    """Mark each row that carries a target: its text and MET (True), NOT MET (False) or None."""
    by_name = {r.name: r for r in rows}
    for t in targets(small, large, budget_gb):
        row = by_name.get(t.name)
        if row is None:
            continue
        row.target = t.text
        row.met = t.check(row) if mode in t.modes else None

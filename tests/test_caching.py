"""course_utils.caching: the estimate behind the start table's memory warning."""

from __future__ import annotations

from course_utils import caching


def test_training_memory_estimate_matches_the_two_measured_peaks():
    assert abs(caching.training_memory_bytes(150, 32) - 1.51e9) < 0.05e9  # 03, cpu series
    assert abs(caching.training_memory_bytes(512, 32) - 8.9e9) < 0.1e9  # 03 at 512 px (issue 21)


def test_memory_warning_only_when_it_cannot_fit(monkeypatch):
    monkeypatch.setattr(caching, "available_memory_bytes", lambda root="/": 4_000_000_000)
    assert caching.memory_warning(150, 32) is None
    text = caching.memory_warning(512, 64)
    assert text.startswith("AVISO: IMG_SIZE=512 con BATCH_SIZE=64") and "Baja BATCH_SIZE" in text

"""The checks of every notebook's exercises, registered in :data:`course_utils.exercises.EXERCISES`.

Each check receives the student's answer (and what it needs from the
notebook) and raises ``AssertionError`` with a Spanish explanation when the
answer is wrong.  Keys: ``"<notebook number>.<exercise number>"``.
"""

from __future__ import annotations

from .exercises import exercise, expect  # noqa: F401  (used by the checks below)

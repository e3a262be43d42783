"""The exercises' checks: their registry (:mod:`.registry`) and the checks of notebooks 01-05
(:mod:`.lessons`) and 06-08 (:mod:`.features`).  Notebooks call :func:`course_utils.exercises.check`.
"""

"""The maintainer's tools: run the series, generate the README, build the student notebooks.

Not part of the package students install (``course_utils``): it runs from a
clone of the repository, as ``python -m course_tools.<module>``.
"""

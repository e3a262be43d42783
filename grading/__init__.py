"""Instructor tool: grade a folder of student notebooks with the checks the students see.

``python -m grading SUBMISSIONS`` (or ``make grade SUBMISSIONS=dir``); not part
of the installed package ``course_utils``.
"""

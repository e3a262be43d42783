"""A notebook's parameters: what each one is and accepts (:mod:`.schema`), and resolving a set (:mod:`.resolve`).

Import the modules themselves: ``from course_utils.params import schema, resolve``.
"""

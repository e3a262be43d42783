"""The course's folder layout: split and class folder names, declared once.

``<root>/<split>/<class>/*.jpg`` with the splits and classes below; the data
loaders, the synthetic set and the checks all read these names from here.
"""

from __future__ import annotations

#: Split folders, in the order the course uses them.
SPLITS: tuple[str, ...] = ("train", "validation", "test")
#: Class folders; the index is the label (0 = cats, 1 = dogs).
CLASSES: tuple[str, ...] = ("cats", "dogs")

"""The course's images: split and class folder names, image file endings and the largest side, declared once.

``<root>/<split>/<class>/*.jpg`` with the splits and classes below; the data
loaders, the synthetic set and the checks all read these names from here.
"""

from __future__ import annotations

#: Split folders, in the order the course uses them.
SPLITS: tuple[str, ...] = ("train", "validation", "test")
#: Class folders; the index is the label (0 = cats, 1 = dogs).
CLASSES: tuple[str, ...] = ("cats", "dogs")
#: Largest image side (IMG_SIZE, TRANSFER_IMG_SIZE): at 512 px a cached float32 image takes
#: 3 MB (at 10000 px it would take 1.2 GB and kill the kernel without a message).
MAX_IMG_SIZE = 512
#: File endings of the images the course reads (the loaders also check each file's content).
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".gif")

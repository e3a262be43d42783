"""The course's data: the files it downloads and fetching them, image files and folders, ``tf.data`` loaders.

:mod:`.catalog` (the downloadable files), :mod:`.download` (into the cache: locks, downloads,
safe extraction), :mod:`.course_data` (``DATA_SOURCE`` to a folder; the synthetic set),
:mod:`.image_files` (checking, listing, counting and sampling image files), :mod:`.loaders`
(``tf.data`` loaders, their cache, the augmentation, the lesson's legacy generators), :mod:`.photo_sets`
(photos listed one by one in a manifest, e.g. those of another source).
Import the modules themselves: ``from course_utils.data import loaders``.
"""

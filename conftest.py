"""Environment for every test run, including the kernels nbval starts.

The stored notebooks run with the smoke parameter set (their PARAM_SET="auto"
reads COURSE_PARAM_SET), write artifacts to a git-ignored build folder, and
use ../shared/data as a local mirror of the course data when it exists.
Keras' cache (``KERAS_HOME``) and the course's cache (``COURSE_CACHE_DIR``) are
build folders, so that no test relies on weights or data that an earlier run left
in the user's home (Keras reads its home once, at import); ``tests/conftest.py``
fails the run if a test reads the home caches anyway.  A fresh clone's build
folder is empty: what a new user's machine has.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("COURSE_PARAM_SET", "smoke")
os.environ.setdefault("COURSE_ARTIFACTS_DIR", str(ROOT / "build" / "nbval-artifacts"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One Keras cache per pytest-xdist worker (`make test-fast`): two workers writing the same weights file at once
# would read each other's half-written copy.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
os.environ["KERAS_HOME"] = str(ROOT / "build" / ("test-keras-home" + (f"-{_worker}" if _worker else "")))
os.environ["COURSE_CACHE_DIR"] = str(ROOT / "build" / "test-cache")
# `make test` runs about four TensorFlow processes at once (two notebook kernels, the slow tests, the plain
# pass): one thread pool each per four cores, or they spin waiting for each other (on 2 cores: 618 -> 562 s of CPU).
_threads = str(max(1, (os.cpu_count() or 1) // 4))
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", _threads)
os.environ.setdefault("TF_NUM_INTEROP_THREADS", _threads)
_shared = ROOT.parent / "shared" / "data"
if (_shared / "cnn_perros_gatos-small.zip").exists():
    os.environ.setdefault("COURSE_DATA_MIRROR", str(_shared))

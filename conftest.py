"""Environment for every test run, including the kernels nbval starts.

The stored notebooks run with the smoke parameter set (their PARAM_SET="auto"
reads COURSE_PARAM_SET), write artifacts to a git-ignored build folder, and
use ../shared/data as a local mirror of the course data when it exists.
Keras' cache (``KERAS_HOME``) is an empty build folder, so that no test relies
on weights downloaded earlier (Keras reads it once, at import).
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("COURSE_PARAM_SET", "smoke")
os.environ.setdefault("COURSE_ARTIFACTS_DIR", str(ROOT / "build" / "nbval-artifacts"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_HOME"] = str(ROOT / "build" / "test-keras-home")
_shared = ROOT.parent / "shared" / "data"
if (_shared / "cnn_perros_gatos-small.zip").exists():
    os.environ.setdefault("COURSE_DATA_MIRROR", str(_shared))

"""Quiet kernels: no TensorFlow C++ start-up lines or kernel transport warnings in the lessons.

What configuration can prevent is prevented: :data:`QUIET_ENV` goes into the
environment before TensorFlow loads (the kernel spec that ``make venv`` installs,
:func:`apply_environment` in the series runner and in ``setup_notebook``), and
:data:`KERNEL_ARGUMENTS` lowers the kernel's own log level.  What no setting
silences (absl's lines written before ``absl::InitializeLog()``, which ignore
``TF_CPP_MIN_LOG_LEVEL``) is dropped by :func:`import_tensorflow` while
TensorFlow loads and by ``course_tools.kernel.clean_notebook`` from executed notebooks.

``python -m course_tools.kernel install-kernel`` writes the quiet ``python3``
kernel spec into the current environment (``sys.prefix``).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

#: Environment read by TensorFlow/absl at load time.  3 hides C++ INFO, WARNING and
#: ERROR lines (e.g. ``failed call to cuInit`` on a machine without GPU); Python
#: exceptions still reach the student.  Nothing here hides a GPU.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "2"}
#: Extra kernel arguments for the series runner: no "Kernel is running over TCP without
#: encryption" warning (the kernel talks to its runner on 127.0.0.1) nor the kernel's own
#: log lines (e.g. "KeyboardInterrupt caught in kernel" at shutdown) in the series output.
#: Cell errors still reach the executed notebook and the summary.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
#: Lines TensorFlow prints at start-up whatever the settings (absl before InitializeLog).
_SOURCES = (
    r"(port|cudart_stub|cpu_feature_guard|cuda_platform|cuda_executor|cuda_dnn|cuda_fft|cuda_blas"
    r"|computation_placer|cuda_diagnostics|dso_loader|py_utils)\.cc:\d+\]"
)
#: TF >= 2.18 (absl): ``I0000 00:00:17.5  123 port.cc:153] ...``; TF 2.16/2.17:
#: ``2026-01-01 10:00:00.123: I tensorflow/core/util/port.cc:113] ...``.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:. ]+\s+\d+ " + _SOURCES + r".*"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S*?" + _SOURCES + r".*"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.)\s*$"
)


def is_startup_noise(line: str) -> bool:
    """True for one of TensorFlow's start-up log lines (see :data:`_NOISE`)."""
    return bool(_NOISE.match(line.rstrip("\n")))


def strip_noise(text: str) -> str:
    """``text`` without TensorFlow's start-up lines; every other line kept."""
    return "".join(line for line in text.splitlines(keepends=True) if not is_startup_noise(line))


def apply_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """Add :data:`QUIET_ENV` to ``env`` (default ``os.environ``) without overriding what is set."""
    target = os.environ if env is None else env
    for key, value in QUIET_ENV.items():
        target.setdefault(key, value)
    return target


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Capture file descriptor 2 (C++ output) and re-emit it without start-up noise on exit."""
    for stream in (sys.stderr, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = strip_noise(tmp.read().decode("utf-8", errors="replace"))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def import_tensorflow() -> Any:
    """``import tensorflow`` with :data:`QUIET_ENV` and without its start-up lines."""
    apply_environment()
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with filtered_stderr():
        import tensorflow as tf
    return tf

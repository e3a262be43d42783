"""course_utils.quiet: executed notebooks and the series output carry no TensorFlow C++ start-up lines
nor kernel transport warnings."""

from __future__ import annotations

import json
import re

import pytest

from course_tools import kernel
from course_utils import quiet

#: A C++ log line (absl/glog format) or one of TensorFlow's start-up banners: written
#: independently of quiet's own patterns so that the test judges the result, not the regex.
CPP_LINE = re.compile(
    r"^([IWEF]\d{4} \d\d:\d\d:\d\d\.\d+|\d{4}-\d\d-\d\d [\d:.]+: [IWEF] |WARNING: All log messages before absl|To enable the following "
    r"instructions)",
    re.M,
)
NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1795927153.995720   11138 port.cc:153] oneDNN custom operations are on. You may see slightly\n"
    "I0000 00:00:1795927154.008983   11138 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.\n"
    "E0000 00:00:1795927167.201531   11138 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.\n"
    # TensorFlow 2.16/2.17's format (when TF_CPP_MIN_LOG_LEVEL does not hide it):
    "2026-11-29 05:12:30.180651: I tensorflow/core/util/port.cc:113] oneDNN custom operations are on.\n"
    "2026-11-29 05:12:30.180931: I external/local_tsl/tsl/cuda/cudart_stub.cc:32] Could not find cuda drivers\n"
    "2026-11-29 05:12:34.084030: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] TF-TRT Warning: "
    "Could not find TensorRT\n"
)


def _stderr_text(cell: dict) -> str:
    return "".join(
        o["text"] if isinstance(o["text"], str) else "".join(o["text"])
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )


def test_first_cell_of_an_executed_notebook_has_no_cpp_lines(tmp_path, monkeypatch):
    """A kernel started without any quieting variable: setup_notebook's first cell shows no C++ line."""
    import os

    import nbformat
    from nbclient import NotebookClient

    for key in quiet.QUIET_ENV:
        monkeypatch.delenv(key, raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from course_utils.start import setup_notebook\nINFO = setup_notebook(seed=1)"),
        nbformat.v4.new_code_cell("import tensorflow as tf\nprint(tf.reduce_sum(tf.ones(3)).numpy())"),
    ]
    # ipykernel forwards file descriptor 2 (C++ output) to the cells except under pytest: be a plain kernel.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute(
        env=env
    )
    first, second = nb.cells
    stdout = "".join(o.get("text", "") for o in first.outputs if o.get("name") == "stdout")
    assert "Versiones:" in stdout, first.outputs  # the cell ran and printed its report
    assert not CPP_LINE.search(_stderr_text(first)), _stderr_text(first)
    assert not CPP_LINE.search(_stderr_text(second)), _stderr_text(second)
    assert "3.0" in "".join(o.get("text", "") for o in second.outputs)


def test_kernel_arguments_remove_the_transport_warning(tmp_path):
    """The series' kernels start without "Kernel is running over TCP without encryption"."""
    from jupyter_client.manager import start_new_kernel

    log = tmp_path / "kernel.log"
    with log.open("w") as fh:
        km, kc = start_new_kernel(
            kernel_name="python3", extra_arguments=quiet.KERNEL_ARGUMENTS, stderr=fh, startup_timeout=120
        )
        try:
            kc.execute_interactive("1 + 1", timeout=60)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    assert "without encryption" not in log.read_text(), log.read_text()


def test_strip_noise_keeps_every_other_line():
    mixed = "antes\n" + NOISE + "UserWarning: algo útil\nE0000 00:00:1.5  1 other_file.cc:3] error real\n"
    kept = quiet.strip_noise(mixed)
    assert kept == "antes\nUserWarning: algo útil\nE0000 00:00:1.5  1 other_file.cc:3] error real\n"
    assert not CPP_LINE.search(quiet.strip_noise(NOISE))
    assert all(quiet.is_startup_noise(line) for line in NOISE.splitlines())


def test_clean_notebook_drops_noise_outputs_and_keeps_the_rest(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=NOISE),
        nbformat.v4.new_output("stream", name="stdout", text="hola\n"),
        nbformat.v4.new_output("stream", name="stderr", text=NOISE + "aviso real\n"),
    ]
    nb.cells = [cell, nbformat.v4.new_markdown_cell("texto")]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert kernel.clean_notebook(path) == 2 * len(NOISE.splitlines())
    out = json.loads(path.read_text())["cells"][0]["outputs"]
    assert [o["name"] for o in out] == ["stdout", "stderr"]
    assert "".join(out[1]["text"]) == "aviso real\n"
    assert kernel.clean_notebook(path) == 0
    nbformat.validate(nbformat.read(path, as_version=4))


def test_apply_environment_keeps_what_the_user_set():
    env = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    quiet.apply_environment(env)
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert {k: env[k] for k in quiet.QUIET_ENV if k != "TF_CPP_MIN_LOG_LEVEL"} == {
        k: v for k, v in quiet.QUIET_ENV.items() if k != "TF_CPP_MIN_LOG_LEVEL"
    }
    assert "CUDA_VISIBLE_DEVICES" not in quiet.QUIET_ENV  # never hide a real GPU


def test_install_kernel_writes_a_python3_spec_with_the_quiet_environment(tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager

    spec_file = kernel.install_kernel(tmp_path)
    ksm = KernelSpecManager(kernel_dirs=[str(spec_file.parent.parent)])
    spec = ksm.get_kernel_spec("python3")
    assert spec.env == quiet.QUIET_ENV
    assert spec.language == "python"


def test_import_tensorflow_filters_only_startup_lines(capfd):
    """Lines written to fd 2 inside the filter come back unless they are start-up noise."""
    import os

    with quiet.filtered_stderr():
        os.write(2, (NOISE + "esto sí\n").encode())
    assert capfd.readouterr().err == "esto sí\n"
    tf = quiet.import_tensorflow()
    assert tf.__name__ == "tensorflow"
    with pytest.raises(ZeroDivisionError), quiet.filtered_stderr():
        _ = 1 / 0

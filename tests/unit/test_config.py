"""course_utils.config: repository address, Colab links and folders."""

from __future__ import annotations

from course_utils import config


def test_addresses():
    assert config.REPO_URL == f"https://github.com/{config.REPO}"
    assert config.PIP_SPEC == f"git+{config.REPO_URL}@{config.BRANCH}"
    assert config.colab_url("03_cnn.ipynb") == (
        f"https://colab.research.google.com/github/{config.REPO}/blob/{config.BRANCH}/notebooks/03_cnn.ipynb"
    )


def test_binder_url_opens_the_student_notebook_in_jupyterlab():
    base = f"https://mybinder.org/v2/gh/{config.REPO}/{config.BRANCH}?urlpath=lab/tree/notebooks"
    assert config.binder_url() == base
    assert config.binder_url("03_cnn.ipynb") == base + "/03_cnn.ipynb"


def test_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv(config.ENV_CACHE_DIR, str(tmp_path / "env"))
    assert config.cache_dir(tmp_path / "arg") == (tmp_path / "arg").resolve()
    assert config.cache_dir() == (tmp_path / "env").resolve()
    monkeypatch.delenv(config.ENV_CACHE_DIR)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config.cache_dir() == (tmp_path / "home" / ".cache" / "curso-cnn").resolve()


def test_artifacts_dir_precedence_and_creation(tmp_path, monkeypatch):
    monkeypatch.setenv(config.ENV_ARTIFACTS_DIR, str(tmp_path / "env"))
    assert config.artifacts_dir(tmp_path / "arg") == (tmp_path / "arg").resolve()
    assert (tmp_path / "arg").is_dir()
    assert config.artifacts_dir() == (tmp_path / "env").resolve() and (tmp_path / "env").is_dir()
    monkeypatch.delenv(config.ENV_ARTIFACTS_DIR)
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path / "no_repo")
    monkeypatch.chdir(tmp_path)
    assert config.artifacts_dir() == (tmp_path / "artifacts").resolve()


def test_a_test_run_uses_build_caches_and_watches_the_home_ones(tmp_path):
    """No test relies on the data or weights a previous run left in the user's home (a new machine has none)."""
    import os

    import course_testing as tests_conftest

    from course_utils.models.backbones import keras_models_dir

    build = config.PROJECT_ROOT / "build"
    assert config.cache_dir().is_relative_to(build), config.cache_dir()
    assert keras_models_dir().is_relative_to(build), keras_models_dir()
    home_cache = tests_conftest.HOME_CACHES[0]
    assert tests_conftest.home_cache_read(home_cache + "cats_dogs_small/x.jpg")
    assert not tests_conftest.home_cache_read(str(config.cache_dir() / "x.jpg"))
    before = len(tests_conftest.HOME_CACHE_READS)
    try:
        open(os.path.join(home_cache, "no-such-file"), "rb")  # noqa: SIM115 - only the attempt matters
    except OSError:
        pass
    assert len(tests_conftest.HOME_CACHE_READS) == before + 1, "the watch sees a read of the home cache"
    tests_conftest.HOME_CACHE_READS.pop()  # this deliberate read must not fail the run


def test_a_home_cache_read_fails_the_run_also_across_pytest_xdist_workers(tmp_path):
    """`make test-fast` runs the tests in pytest-xdist workers: a read there must still fail the whole run."""
    import os
    import subprocess
    import sys

    import pytest

    pytest.importorskip("xdist")
    tests_dir = config.PROJECT_ROOT / "tests"
    (tmp_path / "test_reads_home.py").write_text(
        "import os\n"
        "from course_testing import HOME_CACHES\n\n\n"
        "def test_reads_the_home_cache():\n"
        "    try:\n"
        "        open(os.path.join(HOME_CACHES[0], 'no-such-file'), 'rb')\n"
        "    except OSError:\n"
        "        pass\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests_dir), os.environ.get("PYTHONPATH", "")])}
    # tests/conftest.py loaded as a plugin by its module name: the watch, without the course's other tests;
    # one worker is enough to cross from a worker to the controller.
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "conftest", "-q", "-n", "1"]
    done = subprocess.run([*args, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 1, (done.stdout[-2000:], done.stderr[-2000:])
    assert "cachés del usuario" in done.stdout and "no-such-file" in done.stdout, done.stdout[-2000:]


def test_the_tests_of_the_notebook_series_run_last(request):
    """`make test`'s first pass: the slow tests first, beside the plain pass; the series' two kernels at the end."""
    import os
    from types import SimpleNamespace

    suite = os.path.join("tests", "conftest.py")
    plugin = next(p for p in request.config.pluginmanager.get_plugins() if getattr(p, "__file__", "").endswith(suite))
    items = [
        SimpleNamespace(name=name, fixturenames=fixtures)
        for name, fixtures in [("a", ["series"]), ("b", []), ("c", ["tmp_path", "series"]), ("d", ["tmp_path"])]
    ]
    plugin.pytest_collection_modifyitems(request.session, request.config, items)
    assert [item.name for item in items] == ["b", "d", "a", "c"]

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

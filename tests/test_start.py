"""course_utils.start: the one call after the parameters cell."""

from __future__ import annotations

import sys

import pytest

from course_utils import config, params, start


@pytest.fixture(scope="module")
def synthetic_cache(tmp_path_factory):
    """One cache for the module: the synthetic set is generated once, not once per test."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def synthetic(tmp_path, monkeypatch, synthetic_cache):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(synthetic_cache))
    monkeypatch.delenv("COURSE_PARAM_SET", raising=False)
    return {"DATA_SOURCE": "synthetic", "ARTIFACTS_DIR": str(tmp_path / "art")}


def test_notebook_values_take_upper_case_names_and_placeholders():
    values = start.notebook_values("03_cnn", {"PARAM_SET": "smoke", "EPOCHS": 1, "x": 2, "JIT_COMPILE": True})
    assert values["param_set"] == "smoke" and values["epochs"] == 1 and values["jit_compile"] is True
    assert values["img_size"] is None and values["weights"] is None and values["seed"] == 42
    with pytest.raises(params.ParameterError, match="Cuaderno desconocido"):
        start.notebook_values("99_nada", {})


def test_start_resolves_seeds_fetches_and_prints_one_table(synthetic, capsys):
    p, data, art = start.start("02_mlp", {"PARAM_SET": "smoke", "EPOCHS": 1, **synthetic})
    out = capsys.readouterr().out
    assert p.param_set == "smoke" and p.epochs == 1 and p.img_size == 16
    assert data.kind == "synthetic" and art.is_dir() and start.shown_path(art) in out
    assert "EPOCHS         1" in out and "PARAM_SET      'smoke'" in out
    assert start.SMOKE_NOTE in out
    assert "WEIGHTS" not in out, "02 does not use WEIGHTS: the table shows only the cell's parameters"
    for word in ("papermill", "nbval", "pruebas", "JupyterLab"):
        assert word not in out


def test_start_says_nothing_about_smoke_for_other_sets_and_checks_values(synthetic, capsys):
    start.start("01_exploracion_datos", {"PARAM_SET": "cpu", "MAX_PER_CLASS": 5, **synthetic})
    out = capsys.readouterr().out
    assert "smoke" not in out and "'cpu'" in out
    with pytest.raises(params.ParameterError, match="EPOCHS"):
        start.start("02_mlp", {"PARAM_SET": "smoke", "EPOCHS": -1, **synthetic})


def test_start_reports_the_precision_only_where_a_notebook_trains_with_it(synthetic, capsys):
    from course_utils import hardware

    start.start("03_cnn", {"PARAM_SET": "smoke", **synthetic})
    out = capsys.readouterr().out
    assert start.PRECISION_WORDS[hardware.choose_precision().policy] in out
    start.start("02_mlp", {"PARAM_SET": "smoke", **synthetic})
    assert "Precisión" not in capsys.readouterr().out


def test_start_keeps_artifacts_on_google_drive_in_colab(synthetic, fake_colab_drive, tmp_path, capsys):
    p, _, art = start.start("02_mlp", {"PARAM_SET": "smoke", "EPOCHS": 1, **synthetic, "ARTIFACTS_DIR": "drive"})
    assert p.artifacts_dir == "drive" and len(fake_colab_drive.calls) == 1
    assert art == (tmp_path / "drive" / "MyDrive" / config.DRIVE_ARTIFACTS_SUBFOLDER).resolve() and art.is_dir()
    assert "Modelos        tu Google Drive: curso-cnn/artifacts/" in capsys.readouterr().out


def test_start_with_drive_stops_in_spanish_when_mounting_fails(synthetic, fake_colab_drive, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fake_colab_drive.error = TimeoutError("timeout")
    with pytest.raises(RuntimeError, match="No se pudo conectar tu Google Drive"):
        start.start("02_mlp", {"PARAM_SET": "smoke", **synthetic, "ARTIFACTS_DIR": "drive"})
    assert not (tmp_path / "drive" / "MyDrive").exists()


def test_start_with_drive_outside_colab_says_it_is_colab_only(synthetic, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    with pytest.raises(params.ParameterError, match="solo funciona en Google Colab"):
        start.start("02_mlp", {"PARAM_SET": "smoke", **synthetic, "ARTIFACTS_DIR": "drive"})
    assert not (tmp_path / "drive").exists(), "no folder named 'drive' appears in the working folder"


def test_artifacts_folder_is_the_named_folder_or_the_drive_folder(fake_colab_drive, tmp_path):
    assert start.artifacts_folder(str(tmp_path / "mine")) == (tmp_path / "mine").resolve()
    assert (
        start.artifacts_folder(config.DRIVE)
        == (tmp_path / "drive" / "MyDrive" / config.DRIVE_ARTIFACTS_SUBFOLDER).resolve()
    )


def test_start_shows_the_expected_duration_or_says_it_was_not_measured(synthetic, capsys):
    start.start("02_mlp", {"PARAM_SET": "cpu", "EPOCHS": 1, **synthetic})
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Duración"))
    assert "min en una computadora de 2 núcleos sin GPU" in line or "no medida" in line
    start.start("02_mlp", {"PARAM_SET": "smoke", "EPOCHS": 1, **synthetic})
    assert "Duración" not in capsys.readouterr().out, "the smoke set is for CI: no duration for students"


def test_a_fresh_machine_offline_gets_a_quiet_table_that_says_where_the_data_came_from(
    tmp_path, monkeypatch, capsys, closed_port_url, offline_gdown
):
    """Empty cache, no mirror, no network: the start cell shows information (Spanish, no path, no stderr)."""
    import warnings

    from course_utils import synthetic

    monkeypatch.setattr(synthetic, "DEFAULT_COUNTS", {"train": 2, "validation": 1, "test": 1})
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COURSE_CACHE_DIR", raising=False)
    monkeypatch.setenv("COURSE_DATA_MIRROR", closed_port_url)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, info, art = start.start("03_cnn", {"PARAM_SET": "cpu", "ARTIFACTS_DIR": str(tmp_path / "art")})
    out, err = capsys.readouterr()
    assert err == "", "nothing red in the start cell"
    assert info.kind == "synthetic" and "Aviso: sin conexión no se pudo descargar el conjunto real" in out
    assert "DATA.error" in out and info.error, "the download's whole report stays available"
    assert "~/.cache/curso-cnn/" in out and "Modelos        art/" in out
    for detail in (str(tmp_path), "avx", "AVX", "carga media", "unidades bf16", "(real)"):
        assert detail not in out, detail

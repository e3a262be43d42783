"""course_utils.start: the one call after the parameters cell; seeds, versions, GPU hint, Google Drive, plot defaults; the artifacts folder checked before any training; the expected minutes."""

from __future__ import annotations

import json
import random
import sys

import numpy as np
import pytest

from course_tools import series_times
from course_utils import start
from course_utils.params import resolve, schema
from course_utils.start import expected_minutes


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
    values = resolve.namespace_values("03_cnn", {"PARAM_SET": "smoke", "EPOCHS": 1, "x": 2, "JIT_COMPILE": True})
    assert values["param_set"] == "smoke" and values["epochs"] == 1 and values["jit_compile"] is True
    # What the cell does not define is None, as if it said NAME = None: the set's value (or the Param's default).
    assert values["img_size"] is None and values["weights"] is None and values["seed"] is None
    with pytest.raises(resolve.ParameterError, match="Cuaderno desconocido"):
        resolve.namespace_values("99_nada", {})


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
    with pytest.raises(resolve.ParameterError, match="EPOCHS"):
        start.start("02_mlp", {"PARAM_SET": "smoke", "EPOCHS": -1, **synthetic})


def test_start_reports_the_precision_only_where_a_notebook_trains_with_it(synthetic, capsys):
    from course_utils import hardware

    start.start("03_cnn", {"PARAM_SET": "smoke", **synthetic})
    out = capsys.readouterr().out
    assert start.PRECISION_WORDS[hardware.choose_precision().policy] in out
    start.start("02_mlp", {"PARAM_SET": "smoke", **synthetic})
    assert "Precisión" not in capsys.readouterr().out


def test_start_resolves_the_main_backbone_and_the_table_says_which_weights(synthetic, monkeypatch, capsys):
    """07 with MAIN_BACKBONE='auto': start asks which backbone's ImageNet weights this machine has, and says it."""
    from course_utils.models import backbones

    asked = []

    def offline_choice(choice, weights, input_shape):
        asked.append((choice, weights, input_shape))
        return "efficientnet_lite0"

    monkeypatch.setattr(backbones, "choose_main_backbone", offline_choice)
    p, _, _ = start.start("07_modelos_preentrenados", {"PARAM_SET": "smoke", "WEIGHTS": "imagenet", **synthetic})
    out = capsys.readouterr().out
    assert p.main_backbone == "efficientnet_lite0" and asked == [("auto", "imagenet", (64, 64, 3))]
    assert "Modelo base" in out and "pesos ImageNet de EfficientNet-Lite0 (paquete de pip)" in out


def test_with_main_backbone_leaves_other_notebooks_and_named_backbones_alone(monkeypatch):
    from course_utils.models import backbones

    monkeypatch.setattr(backbones, "choose_main_backbone", lambda *a: pytest.fail("nothing to choose"))
    p = resolve.resolve("03_cnn", "smoke")
    assert start.with_main_backbone(p) is p
    named = resolve.resolve("07_modelos_preentrenados", "smoke", main_backbone="efficientnetb0")
    assert start.with_main_backbone(named) is named


def test_start_keeps_artifacts_on_google_drive_in_colab(synthetic, fake_colab_drive, tmp_path, capsys):
    p, _, art = start.start("02_mlp", {"PARAM_SET": "smoke", "EPOCHS": 1, **synthetic, "ARTIFACTS_DIR": "drive"})
    assert p.artifacts_dir == "drive" and len(fake_colab_drive.calls) == 1
    assert art == (tmp_path / "drive" / "MyDrive" / schema.DRIVE_ARTIFACTS_SUBFOLDER).resolve() and art.is_dir()
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
    with pytest.raises(resolve.ParameterError, match="solo funciona en Google Colab"):
        start.start("02_mlp", {"PARAM_SET": "smoke", **synthetic, "ARTIFACTS_DIR": "drive"})
    assert not (tmp_path / "drive").exists(), "no folder named 'drive' appears in the working folder"


def test_artifacts_folder_is_the_named_folder_or_the_drive_folder(fake_colab_drive, tmp_path):
    assert start.artifacts_folder(str(tmp_path / "mine")) == (tmp_path / "mine").resolve()
    assert (
        start.artifacts_folder(schema.DRIVE)
        == (tmp_path / "drive" / "MyDrive" / schema.DRIVE_ARTIFACTS_SUBFOLDER).resolve()
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

    from course_utils.data import course_data

    monkeypatch.setattr(course_data, "DEFAULT_COUNTS", {"train": 2, "validation": 1, "test": 1})
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


def test_in_colab(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(__import__("sys").modules, "google.colab", raising=False)
    assert start.in_colab() is False
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20250101")
    assert start.in_colab() is True


def test_drive_artifacts_dir_mounts_drive_and_uses_the_course_folder(fake_colab_drive, tmp_path):
    art = start.drive_artifacts_dir()
    assert fake_colab_drive.calls == [str(tmp_path / "drive")]
    assert art == (tmp_path / "drive" / "MyDrive" / schema.DRIVE_ARTIFACTS_SUBFOLDER).resolve() and art.is_dir()


def test_drive_artifacts_dir_says_in_spanish_when_mounting_fails_and_touches_nothing(fake_colab_drive, tmp_path):
    my_drive = tmp_path / "drive" / "MyDrive"
    my_drive.mkdir(parents=True)
    (my_drive / "mio.txt").write_text("de la estudiante")
    fake_colab_drive.error = ValueError("mount failed")
    with pytest.raises(RuntimeError, match="No se pudo conectar tu Google Drive.*mount failed.*vuelve a ejecutar"):
        start.drive_artifacts_dir()
    assert [p.name for p in my_drive.iterdir()] == ["mio.txt"] and (
        my_drive / "mio.txt"
    ).read_text() == "de la estudiante"


def test_drive_artifacts_dir_refuses_a_drive_without_my_drive(fake_colab_drive, tmp_path):
    fake_colab_drive.mount = lambda mountpoint, **kwargs: None  # "mounted", but nothing there
    with pytest.raises(RuntimeError, match="MyDrive"):
        start.drive_artifacts_dir()
    assert not (tmp_path / "drive").exists(), "no local folder pretends to be the Drive"


def test_drive_artifacts_dir_outside_colab_says_what_to_use(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(__import__("sys").modules, "google.colab", raising=False)
    with pytest.raises(resolve.ParameterError, match="solo funciona en Google Colab.*ARTIFACTS_DIR = None"):
        start.drive_artifacts_dir()


def test_set_seed_makes_python_numpy_and_keras_repeatable():
    import keras

    def draw():
        dense = keras.layers.Dense(4)
        dense.build((None, 3))
        return random.random(), float(np.random.rand()), np.asarray(dense.kernel)

    start.set_seed(7)
    a = draw()
    start.set_seed(7)
    b = draw()
    start.set_seed(8)
    c = draw()
    assert a[:2] == b[:2] and np.array_equal(a[2], b[2])
    assert a[0] != c[0] and a[1] != c[1] and not np.array_equal(a[2], c[2])


def test_library_versions():
    import tensorflow as tf

    v = start.library_versions()
    assert {"python", "tensorflow", "keras", "numpy", "sklearn", "matplotlib", "seaborn", "PIL"} <= set(v)
    assert v["tensorflow"] == tf.__version__ and v["numpy"] == np.__version__
    assert v["python"].count(".") == 2


def test_plot_defaults():
    import matplotlib as mpl

    with mpl.rc_context():
        mpl.rcParams["figure.dpi"] = 50
        start.plot_defaults()
        assert mpl.rcParams["figure.dpi"] == 90 and tuple(mpl.rcParams["figure.figsize"]) == (8.0, 4.5)


def test_setup_notebook_prints_and_returns_info(tmp_path, monkeypatch, capsys):
    import matplotlib as mpl
    import tensorflow as tf

    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delenv("COURSE_PARAM_SET", raising=False)
    with mpl.rc_context():
        info = start.setup_notebook(seed=3, artifacts_dir=tmp_path / "art")
    out = capsys.readouterr().out
    assert info.seed == 3 and info.colab is False
    assert info.artifacts_dir == (tmp_path / "art").resolve() and info.artifacts_dir.is_dir()
    assert info.cache_dir == (tmp_path / "cache").resolve()
    assert info.versions["tensorflow"] == tf.__version__
    assert "Versiones:" in out and str(info.artifacts_dir) in out and "Caché de datos" in out
    assert "papermill" not in out and "JupyterLab" not in out
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    assert info.gpu is has_gpu
    if not has_gpu:
        assert start.GPU_HINT_LOCAL in out
    with mpl.rc_context():
        start.setup_notebook(seed=3, artifacts_dir=tmp_path / "art", quiet=True)
    assert capsys.readouterr().out == ""


def test_setup_notebook_in_colab_without_gpu_gives_the_menu_hint(tmp_path, monkeypatch, capsys):
    import matplotlib as mpl
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("hay GPU")
    monkeypatch.setenv("COLAB_RELEASE_TAG", "x")
    with mpl.rc_context():
        start.setup_notebook(seed=3, artifacts_dir=tmp_path / "art")
    out = capsys.readouterr().out
    assert "Google Colab" in out and "Cambiar tipo de entorno de ejecución" in out


def test_gpu_hint_names_the_set_in_effect():
    assert start.gpu_hint(False, "cpu") == start.GPU_HINT_LOCAL
    assert "'smoke'" in start.gpu_hint(False, "smoke") and "'cpu'" not in start.gpu_hint(False, "smoke")
    assert 'PARAM_SET = "cpu"' in start.gpu_hint(False, "gpu")
    assert "'smoke'" in start.gpu_hint(True, "smoke") and "Cambiar tipo" in start.gpu_hint(True, "smoke")


def test_writable_artifacts_dir_creates_the_folder_and_leaves_nothing(tmp_path):
    path = start.writable_artifacts_dir(str(tmp_path / "a" / "b"))
    assert path == (tmp_path / "a" / "b").resolve() and path.is_dir() and list(path.iterdir()) == []


def test_writable_artifacts_dir_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(start.FolderNotWritableError, match="es un archivo"):
        start.writable_artifacts_dir(str(tmp_path / "f"))
    assert (tmp_path / "f").read_text() == "x"


def _summary(tmp_path, name, precision, rows, cpu="AVX2, sin unidades bf16", load="1.00 / 1.00 / 1.00"):
    path = tmp_path / f"{name}.json"
    rec = {"date": "d", "machine": "m", "command": "c", "precision": precision, "cpu": cpu, "load": load}
    path.write_text(json.dumps({"param_set": "cpu", "recorded": rec, "rows": rows}))
    return path


def test_collect_keeps_ok_runs_per_precision_and_later_summaries_win(tmp_path):
    a = _summary(
        tmp_path,
        "a",
        "float32",
        [
            {"notebook": "03_cnn", "status": "ok", "seconds": 300.0},
            {"notebook": "04_aumento_datos", "status": "failed", "seconds": 5.0},
        ],
    )
    b = _summary(tmp_path, "b", "float32", [{"notebook": "03_cnn", "status": "ok", "seconds": 240.0}])
    c = _summary(tmp_path, "c", "mixed_bfloat16", [{"notebook": "03_cnn", "status": "ok", "seconds": 120.0}])
    times = series_times.collect([a, b, c])
    assert times["cpu"]["float32"]["seconds"] == {"03_cnn": 240.0}
    assert times["cpu"]["mixed_bfloat16"]["seconds"] == {"03_cnn": 120.0}
    assert "AVX2" in times["cpu"]["float32"]["where"]
    assert expected_minutes("03_cnn", "cpu", "float32", times) == "≈ 4 min en una computadora de 2 núcleos sin GPU"
    assert (
        expected_minutes("03_cnn", "cpu", "mixed_bfloat16", times) == "≈ 2 min en una computadora de 2 núcleos sin GPU"
    )
    assert expected_minutes("04_aumento_datos", "cpu", "float32", times) is None
    assert expected_minutes("03_cnn", "gpu", "float32", times) is None


def test_the_student_sees_minutes_and_the_kind_of_machine_not_its_hardware(tmp_path):
    s = _summary(tmp_path, "a", "float32", [{"notebook": "03_cnn", "status": "ok", "seconds": 300.0}])
    times = series_times.collect([s])
    said = expected_minutes("03_cnn", "cpu", "mixed_float16", times)
    assert said == "≈ 5 min en una computadora de 2 núcleos sin GPU", "without a record of that precision: float32's"
    for detail in ("AVX", "bf16", "carga", "float32"):
        assert detail not in said


def test_short_notebooks_show_a_decimal_comma(tmp_path):
    s = _summary(tmp_path, "a", "float32", [{"notebook": "01_exploracion_datos", "status": "ok", "seconds": 42.0}])
    assert expected_minutes("01_exploracion_datos", "cpu", "float32", series_times.collect([s])).startswith("≈ 0,7 min")


def test_a_summary_without_precision_is_refused_in_spanish(tmp_path):
    import pytest

    path = tmp_path / "old.json"
    path.write_text(json.dumps({"param_set": "cpu", "recorded": {"date": "d"}, "rows": []}))
    with pytest.raises(ValueError, match="no dice con qué precisión"):
        series_times.collect([path])


def test_readme_times_block_gives_verdicts_per_notebook_and_for_the_series():
    from course_tools.readme import times_section
    from course_utils.params.schema import NOTEBOOKS

    names = [nb.name for nb in NOTEBOOKS]
    where = "2 núcleos AVX2, carga media 1"
    fast = {"cpu": {"float32": {"seconds": {n: 120.0 for n in names}, "where": where}}}
    text = times_section(fast)
    assert "Cada cuaderno ≤ 15 min en float32 (≤ 12 min medidos): MET" in text
    assert "Serie completa ≤ 25 min en float32 (≤ 20 min medidos): MET" in text
    slow = {"cpu": {"float32": {"seconds": {**{n: 120.0 for n in names}, names[4]: 1200.0}, "where": where}}}
    text = times_section(slow)
    assert (
        f"NOT MET: {names[4]} (20.0 min)" in text
        and "Serie completa ≤ 25 min en float32 (≤ 20 min medidos): NOT MET" in text
    )
    partial = {"cpu": {"float32": {"seconds": {names[0]: 60.0}, "where": where}}}
    assert "no medido (faltan" in times_section(partial)
    assert "Todavía no hay tiempos" in times_section({})

"""course_utils.hardware: fast bf16 detection, tensor cores and the precision policy."""

from __future__ import annotations

import pytest

from course_utils import config, hardware

INTEL_AMX = "processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_bf16 amx_tile\n\nprocessor\t: 1\n"
AMD_ZEN4 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n"
OLD_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n"


@pytest.mark.parametrize(
    "cpuinfo, units",
    [
        (INTEL_AMX, ["amx_bf16", "avx512_bf16"]),
        (AMD_ZEN4, ["avx512_bf16"]),
        (OLD_CPU, []),
        ("", []),  # not Linux: no /proc/cpuinfo
        ("model name : x\n", []),  # no flags line
    ],
)
def test_fast_bf16_units_from_cpuinfo(cpuinfo, units):
    assert hardware.fast_bf16_units(cpuinfo) == units


def test_cpu_flags_reads_the_system_file(monkeypatch):
    monkeypatch.setattr(hardware, "read_cpuinfo", lambda: AMD_ZEN4)
    assert "avx512_bf16" in hardware.cpu_flags() and "avx2" in hardware.cpu_flags()
    assert hardware.fast_bf16_units() == ["avx512_bf16"]


def test_read_cpuinfo_without_the_file(monkeypatch, tmp_path):
    monkeypatch.setattr(hardware, "CPUINFO", tmp_path / "no_existe")
    assert hardware.read_cpuinfo() == ""


@pytest.mark.parametrize(
    "cpuinfo, gpus, policy, words",
    [
        (INTEL_AMX, [], "mixed_bfloat16", ["CPU", "amx_bf16"]),
        (AMD_ZEN4, [], "mixed_bfloat16", ["avx512_bf16"]),
        (OLD_CPU, [], "float32", ["sin"]),
        (OLD_CPU, ["Tesla T4"], "mixed_float16", ["Tesla T4", "tensor cores"]),
        (INTEL_AMX, ["NVIDIA A100"], "mixed_float16", ["A100"]),  # the GPU trains, not the CPU
    ],
)
def test_choose_precision(cpuinfo, gpus, policy, words, monkeypatch):
    monkeypatch.delenv(config.ENV_PRECISION, raising=False)
    choice = hardware.choose_precision(cpuinfo, gpus)
    assert choice.policy == policy
    assert choice.description.startswith(policy) and all(w in choice.description for w in words)


def test_tensor_core_gpus_by_compute_capability(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    details = {
        "gpu:0": {"device_name": "Tesla K80", "compute_capability": (3, 7)},
        "gpu:1": {"device_name": "Tesla T4", "compute_capability": (7, 5)},
        "gpu:2": {},
    }
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda dev: details[dev])
    assert hardware.tensor_core_gpus(["gpu:0", "gpu:1", "gpu:2"]) == ["Tesla T4"]
    assert hardware.tensor_core_gpus([]) == []


def test_choose_precision_on_this_machine_is_a_keras_policy():
    keras = pytest.importorskip("keras")
    choice = hardware.choose_precision()
    assert keras.mixed_precision.Policy(choice.policy).name == choice.policy


@pytest.mark.parametrize("forced", hardware.POLICIES)
def test_course_precision_forces_the_policy_whatever_the_hardware(forced, monkeypatch):
    """COURSE_PRECISION=float32 runs as on a CPU without bf16 units (and the table says why)."""
    monkeypatch.setenv(config.ENV_PRECISION, forced)
    for cpuinfo, gpus in ((INTEL_AMX, []), (OLD_CPU, []), (OLD_CPU, ["Tesla T4"])):
        choice = hardware.choose_precision(cpuinfo, gpus)
        assert choice.policy == forced
        assert "COURSE_PRECISION" in choice.description


def test_course_precision_with_an_unknown_policy_says_what_to_use(monkeypatch):
    monkeypatch.setenv(config.ENV_PRECISION, "float8")
    with pytest.raises(ValueError, match="float32, mixed_bfloat16, mixed_float16"):
        hardware.choose_precision(OLD_CPU, [])


@pytest.mark.parametrize(
    "value, expected", [("", None), ("  ", None), (" float32 ", "float32"), ("mixed_bfloat16", "mixed_bfloat16")]
)
def test_forced_precision_reads_the_variable(value, expected, monkeypatch):
    monkeypatch.setenv(config.ENV_PRECISION, value)
    assert hardware.forced_precision() == expected


def test_forced_precision_refuses_64_bits_naming_the_variable(monkeypatch):
    monkeypatch.setenv(config.ENV_PRECISION, "float64")
    with pytest.raises(ValueError, match=r"variable de entorno COURSE_PRECISION='float64': el curso no entrena en 64"):
        hardware.forced_precision()


def test_cpu_summary_names_the_vector_unit_and_the_bf16_units():
    from course_utils.hardware import cpu_summary, vector_unit

    laptop = "flags\t\t: fpu sse2 avx avx2 fma\n"
    server = "flags\t\t: fpu avx2 avx512f avx512_bf16\n"
    old = "flags\t\t: fpu sse2 avx\n"
    assert vector_unit(laptop) == "AVX2" and vector_unit(server) == "AVX-512" and vector_unit(old) == "sin AVX2"
    assert cpu_summary(laptop) == "AVX2, sin unidades bf16"
    assert cpu_summary(server) == "AVX-512, bf16: avx512_bf16"

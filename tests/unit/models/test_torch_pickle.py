"""course_utils.models.torch_pickle: a legacy PyTorch file read as NumPy arrays, refusing any code.

``fixtures/tiny_legacy_torch.pth`` was written by torch 2.14.1 itself
(``torch.save(state, path, _use_new_zipfile_serialization=False)``) from::

    base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 8 - 1
    {"conv.weight": base, "conv.weight_t": base.transpose(0, 2), "row": base[1, 2],
     "bn.num_batches_tracked": torch.tensor(7), "half": torch.tensor([0.5, -2.0, 65504.0], dtype=torch.float16),
     "mask": torch.tensor([True, False, True]), "ints": torch.tensor([[1, -2], [3, 40000]], dtype=torch.int32)}

so the arrays expected here follow from that recipe; no torch is needed to run these tests.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from course_utils.models import torch_pickle
from course_utils.models.torch_pickle import TorchPickleError, load_state_dict

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_legacy_torch.pth"


def _expected() -> dict[str, np.ndarray]:
    base = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 8 - 1
    return {
        "conv.weight": base,
        "conv.weight_t": base.transpose(2, 1, 0),
        "row": base[1, 2],
        "bn.num_batches_tracked": np.array(7, dtype=np.int64),
        "half": np.array([0.5, -2.0, 65504.0], dtype=np.float16),
        "mask": np.array([True, False, True]),
        "ints": np.array([[1, -2], [3, 40000]], dtype=np.int32),
    }


def _pickles_end(payload: bytes, count: int) -> int:
    """Byte offset after the first ``count`` pickles of ``payload`` (read with pickletools, nothing run)."""
    import pickletools

    stream = io.BytesIO(payload)
    for _ in range(count):
        for _op in pickletools.genops(stream):
            pass
    return stream.tell()


def test_reads_a_file_written_by_torch_with_views_strides_and_dtypes():
    got = load_state_dict(FIXTURE)
    expected = _expected()
    assert list(got) == list(expected)
    for name, array in expected.items():
        assert got[name].dtype == array.dtype, name
        assert got[name].shape == array.shape, name
        np.testing.assert_array_equal(got[name], array, err_msg=name)
    assert got["conv.weight_t"].flags.owndata, "each tensor is its own copy, not a view into the file's bytes"


def test_checks_the_sha256_first_in_spanish(tmp_path):
    right = hashlib.sha256(FIXTURE.read_bytes()).hexdigest()
    assert list(load_state_dict(FIXTURE, right)) == list(_expected())
    with pytest.raises(TorchPickleError) as exc:
        load_state_dict(FIXTURE, "0" * 64)
    message = str(exc.value)
    assert "sha256" in message and right[:12] in message and "bórralo" in message and "vuelve a ejecutar" in message


def test_refuses_a_pickle_that_calls_os_system_and_runs_nothing(tmp_path):
    witness = tmp_path / "ejecutado"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {witness}",)

    # The three header pickles of a real file, then an object pickle that calls os.system.
    header = FIXTURE.read_bytes()[: _pickles_end(FIXTURE.read_bytes(), 3)]
    bad = tmp_path / "malicioso.pth"
    bad.write_bytes(header + pickle.dumps({"conv.weight": Payload()}, protocol=2))
    with pytest.raises(TorchPickleError) as exc:
        load_state_dict(bad)
    message = str(exc.value)
    assert "system" in message and ("posix" in message or "nt" in message), "it names what the file asked for"
    assert "no se ejecuta" in message and "Borra ese archivo" in message
    assert not witness.exists(), "os.system must never run"


@pytest.mark.parametrize(
    "module, name",
    [("builtins", "eval"), ("torch", "load"), ("torch._utils", "_rebuild_parameter"), ("numpy", "ndarray")],
)
def test_refuses_every_global_outside_the_list(tmp_path, module, name):
    header = FIXTURE.read_bytes()[: _pickles_end(FIXTURE.read_bytes(), 3)]
    bad = tmp_path / "otro.pth"
    bad.write_bytes(header + b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R.")
    with pytest.raises(TorchPickleError, match=f"'{module}.{name}'"):
        load_state_dict(bad)


def test_refuses_a_malicious_global_even_in_the_header(tmp_path):
    bad = tmp_path / "cabecera.pth"
    bad.write_bytes(pickle.dumps(print, protocol=2))  # any global at all, first thing in the file
    with pytest.raises(TorchPickleError, match="no se ejecuta"):
        load_state_dict(bad)


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9, 0.99])
def test_a_truncated_file_says_so_in_spanish(tmp_path, keep):
    payload = FIXTURE.read_bytes()
    cut = tmp_path / "cortado.pth"
    cut.write_bytes(payload[: int(len(payload) * keep)])
    with pytest.raises(TorchPickleError) as exc:
        load_state_dict(cut)
    message = str(exc.value)
    assert "incompleto o dañado" in message and "bórralo" in message, message


def test_the_data_must_be_where_the_file_says(tmp_path):
    payload = bytearray(FIXTURE.read_bytes())
    start = _pickles_end(bytes(payload), 5)  # the first storage's element count (int64) follows the pickles
    payload[start : start + 8] = (10**12).to_bytes(8, "little")
    bad = tmp_path / "tamaño.pth"
    bad.write_bytes(bytes(payload))
    with pytest.raises(TorchPickleError, match="elementos"):
        load_state_dict(bad)


def test_a_new_zip_format_file_and_a_non_torch_file_are_named(tmp_path):
    zipped = tmp_path / "nuevo.pth"
    zipped.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(TorchPickleError, match="formato nuevo"):
        load_state_dict(zipped)
    plain = tmp_path / "lista.pth"
    plain.write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(TorchPickleError, match="número mágico"):
        load_state_dict(plain)


def test_safe_globals_are_only_the_state_dict_ones():
    modules = {module for module, _ in torch_pickle.SAFE_GLOBALS}
    assert modules == {"collections", "torch", "torch._utils"}
    assert all(callable(v) or isinstance(v, torch_pickle.StorageType) for v in torch_pickle.SAFE_GLOBALS.values())
    assert all(v.__module__ != "torch" for v in torch_pickle.SAFE_GLOBALS.values() if callable(v))

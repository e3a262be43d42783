"""Reading a legacy PyTorch weights file (``torch.save`` before 1.6) as NumPy arrays, without torch.

Such a file is five pickles in a row (a magic number, the protocol version, the
system's sizes, the object itself, the list of its storages) followed by each
storage's raw bytes.  Unpickling it with :mod:`pickle` as it is would run any
code the file names, so :class:`RestrictedUnpickler` lets through only the few
globals a state dict of tensors needs (``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2``, ``torch.<Type>Storage``), each replaced by
a function of this module, and refuses anything else in Spanish.  Nothing of
torch is imported or run.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: First pickle of a legacy torch file.
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
#: Second pickle of a legacy torch file.
PROTOCOL_VERSION = 1001
#: The storage types of ``torch`` a legacy file may name, and their NumPy dtypes (little-endian).
STORAGE_DTYPES = {
    "DoubleStorage": "<f8",
    "FloatStorage": "<f4",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class TorchPickleError(ValueError):
    """A file that is not a legacy torch weights file, asks for code, is cut short or has the wrong checksum."""


@dataclass(frozen=True)
class StorageType:
    """Stands for ``torch.<name>``: only its dtype matters."""

    name: str

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(STORAGE_DTYPES[self.name])


@dataclass
class _Storage:
    """A storage named in the object pickle; its bytes come after the pickles."""

    kind: StorageType
    numel: int
    data: np.ndarray | None = None


@dataclass
class _View:
    """A storage seen from element ``offset`` on (legacy files' ``view_metadata``)."""

    root: _Storage
    offset: int
    numel: int


@dataclass
class _PendingTensor:
    """A tensor whose storage is read later: ``_rebuild_tensor_v2``'s arguments."""

    storage: _Storage | _View
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    """Our stand-in for ``torch._utils._rebuild_tensor_v2``: records the arguments, runs nothing."""
    ints = (storage_offset, *size, *stride)
    if not isinstance(storage, (_Storage, _View)) or not all(isinstance(i, int) and i >= 0 for i in ints):
        raise TorchPickleError("un tensor del archivo tiene argumentos que no son los de un tensor de PyTorch")
    if len(size) != len(stride):
        raise TorchPickleError("un tensor del archivo tiene forma y pasos de distinta longitud")
    return _PendingTensor(storage, storage_offset, tuple(size), tuple(stride))


#: The only globals a legacy state dict needs, mapped to what stands for them here.
SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    **{("torch", name): StorageType(name) for name in STORAGE_DTYPES},
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that knows only :data:`SAFE_GLOBALS` and torch's storages (``persistent_load``)."""

    def __init__(self, file: io.BufferedIOBase, source: str):
        super().__init__(file)
        self.source = source
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise TorchPickleError(
                f"{self.source} pide '{module}.{name}', que no forma parte de unos pesos de PyTorch: no se "
                "ejecuta (un archivo .pth puede llevar código, y este no es el que el curso espera). Borra ese "
                "archivo y vuelve a obtener el original (su sha256 está en course_utils.models.backbones.IMAGENET_FILES); si lo "
                "pusiste tú en el espejo (COURSE_DATA_MIRROR), cámbialo por la copia exacta."
            ) from None

    def persistent_load(self, pid: Any) -> _Storage | _View:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise TorchPickleError(f"{self.source}: referencia a datos desconocida ({str(pid)[:80]})")
        _, kind, key, _location, numel, view = pid
        if not (isinstance(kind, StorageType) and isinstance(key, str) and isinstance(numel, int) and numel >= 0):
            raise TorchPickleError(f"{self.source}: un bloque de datos no tiene la forma de un storage de PyTorch")
        storage = self.storages.setdefault(key, _Storage(kind, numel))
        if storage.kind != kind or storage.numel != numel:
            raise TorchPickleError(f"{self.source}: el bloque de datos {key} aparece con dos tipos o tamaños")
        if view is None:
            return storage
        if not (isinstance(view, tuple) and len(view) == 3 and all(isinstance(v, int) for v in view[1:])):
            raise TorchPickleError(f"{self.source}: una vista de datos no tiene la forma esperada")
        _view_key, offset, view_numel = view
        if offset < 0 or view_numel < 0 or offset + view_numel > numel:
            raise TorchPickleError(f"{self.source}: una vista sale del bloque de datos {key}")
        return _View(storage, offset, view_numel)


def _truncated(source: str, what: str) -> TorchPickleError:
    return TorchPickleError(
        f"{source} está incompleto o dañado ({what}). Suele ser una descarga o copia cortada: bórralo y vuelve "
        "a obtenerlo (vuelve a ejecutar la celda)."
    )


def _load_one(stream: io.BytesIO, source: str, what: str, unpickler: RestrictedUnpickler | None = None) -> Any:
    try:
        return (unpickler or RestrictedUnpickler(stream, source)).load()
    except TorchPickleError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError, struct.error) as exc:
        if stream.tell() >= len(stream.getbuffer()):
            raise _truncated(source, f"se acaba en {what}") from exc
        raise TorchPickleError(
            f"{source} no es un archivo de pesos de PyTorch del formato antiguo ({what}: "
            f"{type(exc).__name__}: {exc}). Comprueba que es el archivo que el curso espera."
        ) from exc


def _materialize(tensor: _PendingTensor, source: str) -> np.ndarray:
    base = tensor.storage.root if isinstance(tensor.storage, _View) else tensor.storage
    start = tensor.offset + (tensor.storage.offset if isinstance(tensor.storage, _View) else 0)
    limit = (tensor.storage.offset + tensor.storage.numel) if isinstance(tensor.storage, _View) else base.numel
    if base.data is None:
        raise TorchPickleError(f"{source}: un tensor usa un bloque de datos que el archivo no trae")
    if 0 not in tensor.shape:
        last = start + sum((n - 1) * s for n, s in zip(tensor.shape, tensor.strides, strict=True))
        if last >= limit:
            raise TorchPickleError(f"{source}: un tensor sale de su bloque de datos")
    itemsize = base.data.itemsize
    view = np.lib.stride_tricks.as_strided(
        base.data[start:], shape=tensor.shape, strides=tuple(s * itemsize for s in tensor.strides), writeable=False
    )
    return np.array(view, dtype=base.data.dtype.newbyteorder("="), copy=True)


def _resolve(obj: Any, source: str) -> Any:
    if isinstance(obj, _PendingTensor):
        return _materialize(obj, source)
    if isinstance(obj, Mapping):
        out = collections.OrderedDict() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _resolve(v, source)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve(v, source) for v in obj)
    return obj


def loads(payload: bytes, source: str = "el archivo") -> Any:
    """The object a legacy ``torch.save`` wrote into ``payload``, tensors as NumPy arrays (never runs its code)."""
    if payload[:2] == b"PK":
        raise TorchPickleError(
            f"{source} es un archivo de PyTorch del formato nuevo (zip, torch >= 1.6); aquí solo se lee el "
            "formato antiguo. Usa el archivo que el curso espera (su sha256 está en course_utils.models.backbones.IMAGENET_FILES)."
        )
    stream = io.BytesIO(payload)
    if _load_one(stream, source, "el número mágico") != MAGIC_NUMBER:
        raise TorchPickleError(f"{source} no es un archivo de pesos de PyTorch (no empieza por su número mágico)")
    if _load_one(stream, source, "la versión") != PROTOCOL_VERSION:
        raise TorchPickleError(f"{source}: versión de formato de PyTorch desconocida")
    sys_info = _load_one(stream, source, "la cabecera")
    if not (isinstance(sys_info, dict) and sys_info.get("little_endian") is True):
        raise TorchPickleError(f"{source}: solo se leen archivos guardados en una máquina little-endian")
    unpickler = RestrictedUnpickler(stream, source)
    result = _load_one(stream, source, "el diccionario de pesos", unpickler)
    keys = _load_one(stream, source, "la lista de bloques de datos")
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise TorchPickleError(f"{source}: la lista de bloques de datos no tiene la forma esperada")
    buffer = stream.getbuffer()
    position = stream.tell()
    for key in keys:
        storage = unpickler.storages.get(key)
        if storage is None:
            raise TorchPickleError(f"{source}: el bloque de datos {key} no lo usa ningún tensor")
        if position + 8 > len(buffer):
            raise _truncated(source, f"faltan los datos del bloque {key}")
        (numel,) = struct.unpack_from("<q", buffer, position)
        if numel != storage.numel:
            raise TorchPickleError(f"{source}: el bloque {key} dice tener {numel} elementos y no {storage.numel}")
        position += 8
        nbytes = numel * storage.kind.dtype.itemsize
        if position + nbytes > len(buffer):
            raise _truncated(source, f"faltan {position + nbytes - len(buffer)} bytes del bloque {key}")
        storage.data = np.frombuffer(payload, dtype=storage.kind.dtype, count=numel, offset=position)
        position += nbytes
    return _resolve(result, source)


def load_state_dict(path: str | os.PathLike, sha256: str | None = None) -> dict[str, np.ndarray]:
    """The tensors of a legacy PyTorch state dict file as ``{name: array}``, checking ``sha256`` first if given.

    Raises :class:`TorchPickleError` (Spanish, saying what to do) for a wrong
    checksum, a file cut short, a file asking for any code, or anything else
    that is not a state dict of tensors.
    """
    import hashlib

    path = Path(path)
    payload = path.read_bytes()
    if sha256 is not None:
        got = hashlib.sha256(payload).hexdigest()
        if got != sha256:
            raise TorchPickleError(
                f"{path.name} no es el archivo esperado: su sha256 es {got[:12]}…, y el del original "
                f"{sha256[:12]}…. Puede ser una copia dañada, cortada o de otro modelo: bórralo ({path}) y "
                "vuelve a ejecutar la celda para obtenerlo de nuevo. No se leyó nada de él."
            )
    state = loads(payload, path.name)
    if not (isinstance(state, Mapping) and state and all(isinstance(v, np.ndarray) for v in state.values())):
        raise TorchPickleError(f"{path.name} no contiene un diccionario de tensores (state dict) de PyTorch")
    return state

"""Answers as data: what the sandbox records of each ``check`` call, and what the judge rebuilds from it.

Inside the sandbox, :func:`install` wraps ``course_utils.exercises.check`` so
that every call, besides printing the student's message as before, writes its
answers and context into a folder as data: JSON for numbers, strings and
containers, ``.npy`` for arrays and tensors (read back with ``allow_pickle=False``),
``.keras`` files for Keras models and layers (read back with ``safe_mode=True``),
the batches of a ``tf.data.Dataset``, the fields of a ``course_utils`` dataclass.
An answer that is a function is recorded by the calls the check makes to it:
each call's arguments (as a fingerprint) and its result ("record/replay").

The judge (:mod:`grading.judge`, a process that runs no student code) calls
:func:`load_call` to rebuild the values; a replayed function answers only the
calls that were recorded, and raises :class:`ReplayMismatch` for any other.
Nothing here trusts the folder: a record is a claim about values, and the
trusted check decides whether those values solve the exercise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

FORMAT = 1
#: Bytes one call may write (arrays, models, datasets); beyond it a value is recorded as unsupported.
MAX_CALL_BYTES = 400 * 2**20
#: Elements of a dataset recorded at most (a repeated dataset has no end).
MAX_DATASET_ELEMENTS = 5000
RECORD_FILE = "record.json"


class ReplayMismatch(Exception):
    """The check called a recorded function with arguments that were not recorded."""


class Unsupported:
    """A value the sandbox could not record as data; any use of it fails the check."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"<valor no grabable: {self.kind}>"

    def __getattr__(self, name: str) -> Any:
        raise TypeError(f"valor no grabable ({self.kind})")


# ---------------------------------------------------------------- fingerprints (same in sandbox and judge)


def _strip(config: Any) -> Any:
    """A Keras config without what differs between two equal objects (names, seeds, build state)."""
    drop = {"name", "seed", "build_config", "build_input_shape", "registered_name"}
    if isinstance(config, dict):
        return {k: _strip(v) for k, v in sorted(config.items()) if k not in drop}
    if isinstance(config, (list, tuple)):
        return [_strip(v) for v in config]
    return config


def fingerprint(value: Any) -> str:
    """A stable description of a value, to match a replayed call with a recorded one."""

    def walk(v: Any) -> Any:
        import numpy as np

        if v is None or isinstance(v, (bool, int, float, str)):
            return [type(v).__name__, v]
        if v is Ellipsis:
            return ["ellipsis"]
        if isinstance(v, (list, tuple)):
            return [type(v).__name__, [walk(x) for x in v]]
        if isinstance(v, dict):
            return ["dict", sorted((str(k), walk(x)) for k, x in v.items())]
        kind = _keras_kind(v)
        if kind == "tensor_symbolic":
            return ["keras_input", list(v.shape), str(v.dtype)]
        if kind in ("model", "layer"):
            return ["keras", type(v).__name__, _strip(v.get_config())]
        if isinstance(v, (np.ndarray, np.generic)) or kind == "tensor":
            a = _as_numpy(v)
            return ["array", str(a.dtype), list(a.shape), hashlib.sha256(a.tobytes()).hexdigest()]
        return ["object", type(v).__module__, type(v).__qualname__]

    return json.dumps(walk(value), sort_keys=True, default=str)


# ---------------------------------------------------------------- kinds of values


def _keras_kind(v: Any) -> str | None:
    """``model``, ``layer``, ``tensor_symbolic``, ``tensor``, ``dataset`` or None (without importing TensorFlow)."""
    module = type(v).__module__ or ""
    if not module.startswith(("keras", "tensorflow", "tf_keras")):
        return None
    import keras

    if isinstance(v, keras.Model):
        return "model"
    if isinstance(v, keras.layers.Layer):
        return "layer"
    if isinstance(v, keras.KerasTensor):
        return "tensor_symbolic"
    import tensorflow as tf

    if isinstance(v, tf.data.Dataset):
        return "dataset"
    if isinstance(v, (tf.Tensor, tf.Variable)):
        return "tensor"
    return None


def _as_numpy(v: Any) -> Any:
    import numpy as np

    a = np.asarray(v) if isinstance(v, (np.ndarray, np.generic)) else np.asarray(v.numpy())
    if a.dtype.kind not in "biufc":  # bfloat16 and other extension types: float32 keeps the values
        a = a.astype("float32")
    return a


class Encoder:
    """Turn values into JSON plus files in ``folder``; objects seen twice are recorded once (identity kept)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.objects: dict[str, Any] = {}
        self._ids: dict[int, str] = {}
        self._keep: list[Any] = []  # objects stay alive while recorded: their id() is not reused
        self._owners: dict[int, tuple[str, list[int]]] = {}
        self.bytes = 0

    def _file(self, suffix: str) -> Path:
        return self.folder / f"v{len(list(self.folder.iterdir()))}{suffix}"

    def _spend(self, path: Path) -> None:
        self.bytes += path.stat().st_size
        if self.bytes > MAX_CALL_BYTES:
            raise OverflowError(f"más de {MAX_CALL_BYTES // 2**20} MB")

    def encode(self, v: Any) -> Any:
        """The JSON node of ``v`` (plain JSON for None, bool, int, str; a tagged dict otherwise)."""
        import numpy as np

        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, float):
            return {"$": "float", "v": v.hex()}
        if v is Ellipsis:
            return {"$": "ellipsis"}
        if isinstance(v, (list, tuple)) and type(v) in (list, tuple):
            return {"$": type(v).__name__, "items": [self.encode(x) for x in v]}
        if type(v) is dict:
            return {"$": "dict", "items": [[self.encode(k), self.encode(x)] for k, x in v.items()]}
        if isinstance(v, os.PathLike):
            return {"$": "path", "v": os.fspath(v)}
        if id(v) in self._ids:
            return {"$": "obj", "id": self._ids[id(v)]}
        ref = str(len(self._ids))
        self._ids[id(v)] = ref
        self._keep.append(v)
        try:
            self.objects[ref] = self._object(v, np)
        except Exception as exc:  # noqa: BLE001 - whatever cannot be recorded is said so, not guessed
            self.objects[ref] = {"$": "unsupported", "kind": f"{type(v).__qualname__}: {type(exc).__name__}: {exc}"}
        return {"$": "obj", "id": ref}

    def _object(self, v: Any, np: Any) -> dict:
        kind = _keras_kind(v)
        if isinstance(v, (np.ndarray, np.generic)) or kind == "tensor":
            path = self._file(".npy")
            np.save(path, _as_numpy(v), allow_pickle=False)
            self._spend(path)
            return {"$": "array", "file": path.name, "scalar": isinstance(v, np.generic), "tensor": kind == "tensor"}
        if kind in ("model", "layer"):
            if id(v) in self._owners:
                owner, where = self._owners[id(v)]
                return {"$": "layer_of", "owner": owner, "path": where}
            import keras

            path = self._file(".keras")
            keras.saving.save_model(v, path)
            self._spend(path)
            node = {"$": "keras", "file": path.name}
            self._note_sublayers(v, self._ids[id(v)], [])
            return node
        if kind == "dataset":
            elements = []
            for i, element in enumerate(v):
                if i >= MAX_DATASET_ELEMENTS:
                    raise OverflowError(f"más de {MAX_DATASET_ELEMENTS} elementos")
                elements.append(self.encode(element))
            return {"$": "dataset", "elements": elements}
        if dataclasses.is_dataclass(v) and not isinstance(v, type) and type(v).__module__.startswith("course_utils."):
            fields = {f.name: self.encode(getattr(v, f.name)) for f in dataclasses.fields(v)}
            return {"$": "dataclass", "module": type(v).__module__, "class": type(v).__qualname__, "fields": fields}
        if isinstance(v, RecordedCall):
            return {"$": "callable", "calls": v.calls}
        return {"$": "unsupported", "kind": f"{type(v).__module__}.{type(v).__qualname__}"}

    def _note_sublayers(self, model: Any, owner: str, where: list[int]) -> None:
        for i, layer in enumerate(getattr(model, "layers", [])):
            self._owners.setdefault(id(layer), (owner, [*where, i]))
            self._keep.append(layer)
            self._note_sublayers(layer, owner, [*where, i])

    def prescan(self, values: Any) -> None:
        """Record Keras models first, so a layer passed beside its model becomes a reference into it."""
        for v in values:
            if _keras_kind(v) == "model":
                self.encode(v)


# ---------------------------------------------------------------- recording inside the sandbox


class RecordedCall:
    """A function answer, wrapped for the sandbox's check: each call's arguments and result are recorded."""

    def __init__(self, fn: Callable, encoder: Encoder) -> None:
        self.fn, self.encoder, self.calls = fn, encoder, []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call: dict[str, Any] = {"args": fingerprint([list(args), kwargs])}
        self.calls.append(call)
        try:
            result = self.fn(*args, **kwargs)
        except Exception as exc:
            call["raised"] = f"{type(exc).__name__}: {exc}"
            raise
        call["result"] = self._result(result, [*args, *kwargs.values()])
        return result

    def _result(self, result: Any, args: list[Any]) -> Any:
        """The result as data, linked to the arguments it is built on (symbolic inputs, layers passed in)."""
        import keras

        inputs = [a for a in args if _keras_kind(a) == "tensor_symbolic"]
        if _keras_kind(result) == "tensor_symbolic" and inputs:
            path = self.encoder._file(".keras")
            keras.Model(inputs if len(inputs) > 1 else inputs[0], result).save(path)
            self.encoder._spend(path)
            return {"$": "graph", "file": path.name, "inputs": [args.index(a) for a in inputs]}
        node = self.encoder.encode(result)
        if _keras_kind(result) == "model":
            links = []
            for i, arg in enumerate(args):
                if _keras_kind(arg) in ("model", "layer"):
                    links += [[path, i] for path in _layer_paths(result, arg)]
            if links:
                return {"$": "linked", "node": node, "links": links}
        return node


def _layer_paths(model: Any, target: Any, where: list[int] | None = None) -> list[list[int]]:
    where = where or []
    out = []
    for i, layer in enumerate(getattr(model, "layers", [])):
        if layer is target:
            out.append([*where, i])
        else:
            out += _layer_paths(layer, target, [*where, i])
    return out


def is_plain_callable(v: Any) -> bool:
    """A function or other callable answer that is not data (not a class, Keras object or array)."""
    return callable(v) and not isinstance(v, type) and _keras_kind(v) is None and not hasattr(v, "__array__")


def write_call(folder: Path, key: str, answers: tuple, context: dict, encoder: Encoder) -> None:
    """Write one call's record (``record.json`` last, so a half-written record is never read)."""
    encoder.prescan([*answers, *context.values()])
    record = {
        "format": FORMAT,
        "key": key,
        "answers": [encoder.encode(a) for a in answers],
        "context": {k: encoder.encode(v) for k, v in context.items()},
    }
    record["objects"] = encoder.objects
    tmp = folder / (RECORD_FILE + ".part")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    tmp.rename(folder / RECORD_FILE)


def install(folder: str | os.PathLike) -> None:
    """Wrap ``course_utils.exercises.check`` (in the sandbox's kernel) so that every call is recorded in ``folder``."""
    from course_utils import exercises

    root = Path(folder)
    original_evaluate = exercises.evaluate

    def check(key: str, *answers: Any, **context: Any) -> None:
        call = root / f"{len(list(root.iterdir())):04d}"
        call.mkdir()
        encoder = Encoder(call)
        wrapped = tuple(RecordedCall(a, encoder) if is_plain_callable(a) else a for a in answers)
        outcome = original_evaluate(key, *wrapped, **context)
        print(outcome.message)
        try:
            write_call(call, key, wrapped, context, encoder)
        except Exception as exc:  # noqa: BLE001 - the student's run goes on; the judge finds no record
            print(f"(calificador: no se pudo grabar la respuesta de {key}: {type(exc).__name__}: {exc})")

    check.__doc__ = exercises.check.__doc__
    exercises.check = check


# ---------------------------------------------------------------- rebuilding in the judge


class Decoder:
    """Rebuild the values of one call's record (run by the judge: no code from the folder is executed)."""

    def __init__(self, folder: Path, record: dict) -> None:
        self.folder, self.record = folder, record
        self.objects = record.get("objects", {})
        self.built: dict[str, Any] = {}
        self.problems: list[str] = []

    def _path(self, name: str) -> Path:
        path = (self.folder / str(name)).resolve()
        if path.parent != self.folder.resolve() or path.is_symlink() or not path.is_file():
            raise ValueError(f"archivo de grabación no válido: {name!r}")
        return path

    def decode(self, node: Any) -> Any:
        import numpy as np

        if node is None or isinstance(node, (bool, int, str)):
            return node
        if isinstance(node, list):
            return [self.decode(x) for x in node]
        if not isinstance(node, dict):
            raise ValueError(f"nodo no válido: {type(node).__name__}")
        tag = node.get("$")
        if tag == "float":
            return float.fromhex(node["v"])
        if tag == "ellipsis":
            return Ellipsis
        if tag in ("list", "tuple"):
            items = [self.decode(x) for x in node["items"]]
            return items if tag == "list" else tuple(items)
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in node["items"]}
        if tag == "path":
            return Path(str(node["v"]))
        if tag == "obj":
            ref = str(node["id"])
            if ref not in self.built:
                self.built[ref] = self._object(self.objects[ref], np)
            return self.built[ref]
        raise ValueError(f"etiqueta desconocida: {tag!r}")

    def _object(self, node: dict, np: Any) -> Any:
        tag = node.get("$")
        if tag == "array":
            a = np.load(self._path(node["file"]), allow_pickle=False)
            if node.get("tensor"):
                import tensorflow as tf

                return tf.convert_to_tensor(a)
            return a[()] if node.get("scalar") else a
        if tag == "keras":
            return _load_keras(self._path(node["file"]))
        if tag == "layer_of":
            layer = self.decode({"$": "obj", "id": node["owner"]})
            for i in node["path"]:
                layer = layer.layers[int(i)]
            return layer
        if tag == "dataset":
            return _dataset([self.decode(e) for e in node["elements"]])
        if tag == "dataclass":
            module = str(node["module"])
            if not module.startswith("course_utils."):
                raise ValueError(f"clase fuera del curso: {module}")
            cls = getattr(importlib.import_module(module), str(node["class"]))
            if not dataclasses.is_dataclass(cls):
                raise ValueError(f"{module}.{node['class']} no es un dataclass")
            return cls(**{k: self.decode(v) for k, v in node["fields"].items()})
        if tag == "callable":
            return Replay(node["calls"], self)
        if tag == "unsupported":
            self.problems.append(f"valor no grabable ({node.get('kind')})")
            return Unsupported(str(node.get("kind")))
        raise ValueError(f"objeto desconocido: {tag!r}")


def _load_keras(path: Path) -> Any:
    import keras

    return keras.saving.load_model(path, compile=True, safe_mode=True)


def _dataset(elements: list[Any]) -> Any:
    import tensorflow as tf

    if not elements:
        return tf.data.Dataset.from_tensor_slices([])
    ds = tf.data.Dataset.from_tensors(elements[0])
    for e in elements[1:]:
        ds = ds.concatenate(tf.data.Dataset.from_tensors(e))
    return ds


class Replay:
    """A recorded function answer: returns the recorded result of a call with the same arguments."""

    def __init__(self, calls: list[dict], decoder: Decoder) -> None:
        self.calls, self.decoder, self.used = list(calls), decoder, set()
        self.mismatch = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        wanted = fingerprint([list(args), kwargs])
        for i, call in enumerate(self.calls):
            if i not in self.used and call.get("args") == wanted:
                self.used.add(i)
                if "raised" in call:
                    raise RuntimeError(str(call["raised"]))
                return self._result(call.get("result"), [*args, *kwargs.values()])
        self.mismatch = True
        self.decoder.problems.append("la grabación no responde a lo que pide la comprobación")
        raise ReplayMismatch("la respuesta grabada no corresponde a esta llamada de la comprobación")

    def _result(self, node: Any, args: list[Any]) -> Any:
        import keras

        if isinstance(node, dict) and node.get("$") == "graph":
            model = _load_keras(self.decoder._path(node["file"]))
            inputs = [args[int(i)] for i in node["inputs"]]
            clone = keras.models.clone_model(model, input_tensors=inputs if len(inputs) > 1 else inputs[0])
            return clone.outputs[0] if len(clone.outputs) == 1 else clone.outputs
        if isinstance(node, dict) and node.get("$") == "linked":
            model = self.decoder.decode(node["node"])
            swap = {}
            for path, i in node["links"]:
                layer = model
                for j in path:
                    layer = layer.layers[int(j)]
                swap[id(layer)] = args[int(i)]
            clone = keras.models.clone_model(model, clone_function=lambda layer: swap.get(id(layer), layer))
            if getattr(model, "compiled", False):
                clone.compile_from_config(model.get_compile_config())
            return clone
        return self.decoder.decode(node)


def load_call(folder: Path) -> tuple[str, tuple, dict, Decoder]:
    """``(key, answers, context, decoder)`` of one recorded call; raises on a malformed record."""
    record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    if record.get("format") != FORMAT:
        raise ValueError("formato de grabación desconocido")
    decoder = Decoder(folder, record)
    answers = tuple(decoder.decode(a) for a in record["answers"])
    context = {str(k): decoder.decode(v) for k, v in record["context"].items()}
    return str(record["key"]), answers, context, decoder

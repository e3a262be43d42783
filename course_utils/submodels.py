"""Reaching inside a model: a layer by name, index or object, the convolution layers, a sub-model to a layer.

Shared by :mod:`course_utils.models` (which re-exports them for the notebooks)
and :mod:`course_utils.visualization` (feature maps, filter patterns, Grad-CAM).
"""

from __future__ import annotations

from typing import Any


def _layer(model: Any, layer: Any) -> Any:
    if isinstance(layer, int):
        return model.layers[layer]
    if isinstance(layer, str):
        try:
            return model.get_layer(layer)
        except ValueError as exc:
            names = ", ".join(layer.name for layer in model.layers)
            raise ValueError(f"El modelo no tiene una capa llamada {layer!r}. Capas: {names}.") from exc
    return layer


def sub_model(model: Any, outputs: Any, name: str = "submodelo") -> Any:
    """A model from ``model``'s input to one layer (or a list of layers): name, index or layer.

    Works for Sequential and functional models, including models loaded from
    disk; the new model shares the original's weights.
    """
    import keras

    many = isinstance(outputs, (list, tuple))
    targets = [_layer(model, o) for o in (outputs if many else [outputs])]
    if isinstance(model, keras.Sequential):
        inputs = keras.Input(shape=model.input_shape[1:])
        x, found = inputs, {}
        for lyr in model.layers:
            x = lyr(x)
            if any(lyr is t for t in targets):
                found[id(lyr)] = x
            if len(found) == len(targets):
                break
        outs = [found[id(t)] for t in targets]
        return keras.Model(inputs, outs if many else outs[0], name=name)
    outs = [t.output for t in targets]
    # One input as a tensor, not a one-item list: the sub-model is then called with a bare
    # tensor (``grad_model(images)``) without Keras warning that the input structure differs.
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, outs if many else outs[0], name=name)


def conv_layers(model: Any, include_pooling: bool = False, spatial_only: bool = False) -> list[Any]:
    """The model's convolution (and optionally pooling) layers, found by type, not by name.

    ``spatial_only`` leaves out 1x1 convolutions (a residual network's shortcuts): they mix
    channels, they do not look at neighbouring pixels.
    """
    from keras import layers

    kinds: tuple = (layers.Conv2D,)
    if include_pooling:
        kinds += (layers.MaxPooling2D, layers.AveragePooling2D)
    return [
        layer
        for layer in model.layers
        if isinstance(layer, kinds)
        and not (spatial_only and isinstance(layer, layers.Conv2D) and tuple(layer.kernel_size) == (1, 1))
    ]

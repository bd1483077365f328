"""Recalculate a workbook with Gnumeric's ``ssconvert --recalc``, a third engine for the
tracker's formulas (tests/libreoffice.py is the second).

``ssconvert --recalc -T Gnumeric_Excel:xlsx2 in.xlsx out.xlsx`` loads the file, recalculates
every formula and writes the values as each cell's cached value; read the result with
``openpyxl.load_workbook(path, data_only=True)``. Gnumeric drops what it does not know (tables,
charts, workbook protection) with a message on stderr: only the values matter here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def ssconvert() -> str | None:
    return shutil.which("ssconvert")


def convert(xlsx_path: Path | str, out_dir: Path | str, timeout: float = 600
            ) -> tuple[Path, list[str]]:
    """A copy of ``xlsx_path`` recalculated by Gnumeric in ``out_dir`` (same file name), and
    the lines of ssconvert's messages that say a formula could not be parsed (Gnumeric keeps
    such a cell as an error): a tracker must have none."""
    binary = ssconvert()
    if binary is None:
        raise RuntimeError("Gnumeric (ssconvert) is not installed")
    source = Path(xlsx_path).resolve()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if out == source.parent:
        raise ValueError("out_dir must differ from the source's folder (same file name)")
    target = out / source.name
    if target.exists():
        target.unlink()
    command = [binary, "--recalc", "-T", "Gnumeric_Excel:xlsx2", str(source), str(target)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "LC_ALL": "C.UTF-8"})
    if result.returncode != 0 or not target.exists():
        raise RuntimeError(f"Gnumeric did not convert {source.name}: "
                           f"{result.stdout.strip()} {result.stderr.strip()}")
    unparsed = [line for line in result.stderr.splitlines() if ": At " in line]
    return target, unparsed


def recalculate(xlsx_path: Path | str, out_dir: Path | str) -> Path:
    """A copy of ``xlsx_path`` recalculated by Gnumeric, in ``out_dir`` (same file name)."""
    return convert(xlsx_path, out_dir)[0]

"""Recalculate a workbook with Gnumeric's ``ssconvert --recalc``, a third engine for the
tracker's formulas (tests/libreoffice.py is the second).

``ssconvert --recalc -T Gnumeric_Excel:xlsx2 in.xlsx out.xlsx`` loads the file, recalculates
every formula and writes the values as each cell's cached value; read the result with
``openpyxl.load_workbook(path, data_only=True)``. Gnumeric drops what it does not know (tables,
charts, workbook protection) with a message on stderr: only the values matter here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
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


# A whole-column reference such as Leads!$C:$C or $A:$A (not A1:B2, not a function name).
WHOLE_COLUMN = re.compile(
    r"(?<![A-Za-z0-9_.$])(\$?)([A-Z]{1,3}):(\$?)([A-Z]{1,3})(?![A-Za-z0-9_(])")
FORMULA = re.compile(rb"(<f(?:\s[^>]*)?>)([^<]*)(</f>)")
LAST_ROW = re.compile(rb'<row [^>]*?r="(\d+)"')


def bound_whole_columns(xlsx_path: Path | str, out_path: Path | str) -> Path:
    """A copy of ``xlsx_path`` whose whole-column references ($C:$C) stop at the last row any
    sheet uses ($C$1:$C$<last>): the same cells, so the same numbers, but Gnumeric scans
    about a million rows for each whole column in a criteria function (SUMIFS over $C:$C is
    some 80 times slower than over the rows in use), which made a demo tracker take a
    minute."""
    source, target = Path(xlsx_path), Path(out_path)
    with zipfile.ZipFile(source) as archive:
        parts = {item.filename: archive.read(item.filename) for item in archive.infolist()}
    sheets = [name for name in parts if name.startswith("xl/worksheets/sheet")]
    last = max((int(row) for name in sheets for row in LAST_ROW.findall(parts[name])),
               default=1)

    def bounded(match: re.Match) -> bytes:
        text = WHOLE_COLUMN.sub(rf"\g<1>\g<2>$1:\g<3>\g<4>${last}", match[2].decode())
        return match[1] + text.encode() + match[3]

    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, FORMULA.sub(bounded, data) if name in sheets else data)
    return target

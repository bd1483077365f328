"""Recalculate a workbook with headless LibreOffice, as a check on the tracker's formulas.

``soffice --convert-to xlsx`` keeps the cached values of an .xlsx by default (LibreOffice's
"Recalculation on file load" for Excel 2007+ files is "never" out of the box), so a private
profile is used whose registrymodifications.xcu sets

    /org.openoffice.Office.Calc/Formula/Load  OOXMLRecalcMode = 0   (always recalculate)

(and ODFRecalcMode = 0 alike). tests/test_workbook_libreoffice.py checks that a stale cached
value really is replaced. Read the result with ``openpyxl.load_workbook(path, data_only=True)``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

RECALC_ALWAYS_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


_PROFILE: Path | None = None


def _profile() -> Path:
    """A private LibreOffice profile that always recalculates on load: one per process (two
    soffice instances must not share one), made on first use and removed at exit."""
    global _PROFILE
    if _PROFILE is None:
        _PROFILE = Path(tempfile.mkdtemp(prefix="xlkpi-lo-profile-"))
        atexit.register(shutil.rmtree, _PROFILE, ignore_errors=True)
    user = _PROFILE / "user"
    user.mkdir(parents=True, exist_ok=True)
    xcu = user / "registrymodifications.xcu"
    if not xcu.exists():
        xcu.write_text(RECALC_ALWAYS_XCU, encoding="utf-8")
    return _PROFILE


def convert(path: Path | str, out_dir: Path | str, to: str = "xlsx",
            timeout: float = 600) -> Path:
    """``soffice --headless --convert-to <to>`` of ``path`` into ``out_dir`` (recalculating on
    load); the path of the converted file."""
    binary = soffice()
    if binary is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    source = Path(path).resolve()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if out == source.parent:
        raise ValueError("out_dir must differ from the source's folder (same file name)")
    extension = to.split(":", 1)[0]
    target = out / f"{source.stem}.{extension}"
    if target.exists():
        target.unlink()
    command = [binary, f"-env:UserInstallation={_profile().as_uri()}", "--headless",
               "--norestore", "--nologo", "--convert-to", to, "--outdir", str(out),
               str(source)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "SAL_USE_VCLPLUGIN": "svp"})
    if not target.exists():
        raise RuntimeError(f"LibreOffice did not convert {source.name}: "
                           f"{result.stdout.strip()} {result.stderr.strip()}")
    return target


def recalculate(xlsx_path: Path | str, out_dir: Path | str) -> Path:
    """A recalculated copy of ``xlsx_path`` in ``out_dir`` (same file name)."""
    return convert(xlsx_path, out_dir, "xlsx:Calc MS Excel 2007 XML")

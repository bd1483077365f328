"""Time LibreOffice's phases on one workbook through Python-UNO: start-up, load, calculateAll,
export; and read cells back to check that the recalculation computes.

    python -m benchmarks.lo_phases tracker.xlsx                     # the phases, as JSON
    python -m benchmarks.lo_phases tracker.xlsx --check             # + compare with xlkpi report
    python -m benchmarks.lo_phases tracker.xlsx --stale-check       # + a stale cached value test
    python -m benchmarks.lo_phases tracker.xlsx --convert           # + soffice --convert-to
    python -m benchmarks.lo_phases tracker.xlsx --drop reps         # calculateAll without rep tabs

The venv's python has no ``uno``; the system's (/usr/bin/python3, package python3-uno) has.
So ``phases()`` runs this same file under that python as a child process (``--uno-child``),
which imports nothing but the standard library and ``uno``. The child:

1. start-up: starts ``soffice --headless --invisible`` with a private, fresh profile
   (``-env:UserInstallation``) and ``--accept=pipe,name=…;urp;``, and connects to it;
2. load: ``loadComponentFromURL`` (hidden) with the profile's "Recalculation on file load"
   for OOXML and ODF set to never (OOXMLRecalcMode = ODFRecalcMode = 1), so loading does not
   recalculate: formula cells keep their cached values, or stay uncalculated (dirty) where the
   file has none (openpyxl writes none);
3. calculateAll: ``XCalculatable.calculateAll()``, a hard recalculation of every formula cell
   (LibreOffice's Ctrl+Shift+F9), the number the ≤ 10 s goal is about;
4. export (optional): ``storeToURL`` as "Calc MS Excel 2007 XML" (an .xlsx with values cached).

Each phase is timed on the wall clock and in CPU seconds of the LibreOffice processes (the sum
of utime + stime over soffice and its descendants, from /proc, all threads included): on a
shared machine the CPU time is the steadier number. soffice is killed at the end, also on
error or timeout: the child kills the processes it started, by id; the parent runs the child in
a session of its own and kills that process group if the child overruns.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The child runs this file as a script under the system python: the repository's root on the
# path, so that both it and the parent import tests/lo_server.py (standard library only; it
# imports uno when it runs).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.lo_server import (  # noqa: E402
    connect,
    process_tree,
    props,
    start_soffice,
    stat_fields,
    stop,
)

UNO_PYTHON = "/usr/bin/python3"
CHILD = "--uno-child"
FILTER = "Calc MS Excel 2007 XML"
# Recalculation on file load: 0 always, 1 never, 2 ask. Never, so that load is only load.
RECALC_NEVER_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>1</value></prop></item>
</oor:items>
"""


# --- the child, under /usr/bin/python3 with uno ----------------------------------------------

def _cpu(root: int) -> float:
    """CPU seconds (user + system, all threads) of ``root`` and its living descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        if (fields := stat_fields(pid)) is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def _peak_mib(root: int) -> float:
    """The largest peak resident set (VmHWM) among ``root`` and its descendants, in MiB."""
    peak = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


def _read(doc, reads: list[list[str]]) -> dict[str, list]:
    """{"sheet!range": rows of values} for each [sheet, range]; "" for an empty cell."""
    out = {}
    for sheet, cells in reads:
        rows = doc.Sheets.getByName(sheet).getCellRangeByName(cells).getDataArray()
        out[f"{sheet}!{cells}"] = [list(row) for row in rows]
    return out


def _error_cells(doc) -> int:
    """How many formula cells of the document hold an error after calculation."""
    from com.sun.star.sheet.FormulaResult import ERROR

    count = 0
    sheets = doc.Sheets
    for index in range(sheets.getCount()):
        ranges = sheets.getByIndex(index).queryFormulaCells(ERROR)
        for address in ranges.getRangeAddresses():
            count += ((address.EndColumn - address.StartColumn + 1)
                      * (address.EndRow - address.StartRow + 1))
    return count


class _Clock:
    def __init__(self, root: int):
        self.root = root
        self.times: dict[str, float] = {}

    def phase(self, name: str, started_wall: float, started_cpu: float) -> None:
        self.times[f"{name} s"] = time.perf_counter() - started_wall
        self.times[f"{name} cpu"] = _cpu(self.root) - started_cpu


def run_phases(job: dict) -> dict:
    """The child's work: ``job`` has path, export (a path or None), reads ([sheet, range]...),
    read_before (read the cells also before calculateAll), drop (sheets to delete after
    loading, untimed: what calculateAll costs without them), soffice, profile (an empty folder
    for LibreOffice's profile), timeout."""
    import uno

    profile = Path(job["profile"])  # made and removed by the parent
    (profile / "user").mkdir()
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_NEVER_XCU,
                                                                 encoding="utf-8")
    pipe = f"xlkpi_phases_{os.getpid()}"
    result: dict = {}
    desktop = None
    started_wall, started_cpu = time.perf_counter(), 0.0
    process = start_soffice(job["soffice"], profile, pipe)
    clock = _Clock(process.pid)
    try:
        desktop = connect(pipe, process, job["timeout"])
        clock.phase("start-up", started_wall, started_cpu)

        wall, cpu = time.perf_counter(), _cpu(process.pid)
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(job["path"]), "_blank", 0,
                                           props(Hidden=True, FilterName=FILTER))
        if doc is None:
            raise RuntimeError(f"LibreOffice could not load {job['path']}")
        clock.phase("load", wall, cpu)

        for name in job.get("drop", ()):  # profiling: calculate without these sheets
            doc.Sheets.removeByName(name)
        if job.get("read_before"):
            result["before"] = _read(doc, job["reads"])

        wall, cpu = time.perf_counter(), _cpu(process.pid)
        doc.calculateAll()
        clock.phase("calculateAll", wall, cpu)

        result["after"] = _read(doc, job["reads"])
        result["error cells"] = _error_cells(doc)

        if job.get("export"):
            wall, cpu = time.perf_counter(), _cpu(process.pid)
            doc.storeToURL(uno.systemPathToFileUrl(job["export"]),
                           props(FilterName=FILTER, Overwrite=True))
            clock.phase("export", wall, cpu)
        result["peak MiB"] = _peak_mib(process.pid)
        doc.close(True)
    finally:
        stop(process, desktop)
    result.update(clock.times)
    return result


# --- the parent, any python ------------------------------------------------------------------

def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def available() -> bool:
    return soffice() is not None and Path(UNO_PYTHON).exists()


def phases(path: Path | str, export: Path | str | None = None,
           reads: list[tuple[str, str]] = (), read_before: bool = False,
           drop: list[str] = (), timeout: float = 1200) -> dict:
    """Run the phases on ``path`` in a child under /usr/bin/python3; its result dict:
    "start-up s", "load s", "calculateAll s", "export s" (wall) and the same with "cpu",
    "peak MiB" (soffice's peak resident set), "error cells", "after" (and "before" with
    ``read_before``): {"sheet!range": rows of values} for each (sheet, range) of ``reads``."""
    binary = soffice()
    if binary is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    profile = tempfile.mkdtemp(prefix="xlkpi-lo-phases-")
    started = time.time()
    job = {"path": str(Path(path).resolve()), "reads": [list(read) for read in reads],
           "export": str(Path(export).resolve()) if export else None,
           "read_before": read_before, "drop": list(drop), "soffice": binary,
           "profile": profile, "timeout": timeout}
    try:
        process = subprocess.Popen([UNO_PYTHON, str(Path(__file__).resolve()), CHILD,
                                    json.dumps(job)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True, cwd=tempfile.gettempdir())
        try:
            out, err = process.communicate(timeout=timeout)
        finally:
            if process.poll() is None:  # overran or interrupted: the child and its soffice
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                # the lock file the killed soffice left would make the next load fail
                lock = Path(job["path"]).with_name(f".~lock.{Path(job['path']).name}#")
                with contextlib.suppress(OSError):
                    if lock.stat().st_mtime >= started:
                        lock.unlink()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if process.returncode != 0:
        raise RuntimeError(f"lo_phases child failed ({process.returncode}): {err[-3000:]}")
    return json.loads(out)


# --- checks: LibreOffice's numbers against xlkpi report -------------------------------------

def tab_reads(reps: list[str], last_row: int = 80, language: str = "en"
              ) -> list[tuple[str, str]]:
    """The cells to read back: A..O (KPI, kind, 12 months, year to date) of the Team tab and
    of the first rep's tab, titled in the tracker's ``language``."""
    from xlkpi.core import lang
    from xlkpi.tracker.build import rep_sheet_names
    from xlkpi.tracker.model import TEAM, title

    with lang.using(language):
        tabs = [title(TEAM)] + [rep_sheet_names(reps)[reps[0]]] if reps else [title(TEAM)]
    return [(tab, f"A1:O{last_row}") for tab in tabs]


def compare_with_report(values: dict[str, list], path: Path | str) -> dict:
    """Compare every Actual cell read back (Team and a rep tab, 12 months + YTD) with
    ``xlkpi report --period all`` of the same file. {"compared": n, "wrong": [...]}."""
    import math

    from xlkpi.core import lang
    from xlkpi.report import Report
    from xlkpi.tracker.build import rep_sheet_names
    from xlkpi.tracker.model import TEAM, TEAM_NAME, kpi_by_name, title
    from xlkpi.tracker.values import read_tracker_values

    tracker = read_tracker_values(Path(path))
    report = Report(tracker)
    wanted = {(row["rep"], row["kpi"], row["period"]): row["actual"]
              for row in report.rows("all")}
    periods = [month.label for month in report.months] + [report.ytd.label]
    with lang.using(tracker.settings.language):  # the tabs' titles and labels, as written
        tab_who = {title(TEAM): TEAM_NAME, **{shown: rep for rep, shown in
                                              rep_sheet_names(tracker.settings.reps).items()}}
        actual = lang.text("tabs.actual")
    compared, wrong = 0, []
    for where, rows in values.items():
        tab = where.rsplit("!", 1)[0]
        who = tab_who[tab]
        for row in rows:
            with lang.using(tracker.settings.language):
                kpi = kpi_by_name(row[0]) if len(row) >= 15 and row[1] == actual else None
            if kpi is None:
                continue
            for period, got in zip(periods, row[2:15], strict=True):
                want = wanted[(who, kpi.id, period)]
                ok = (got == "" if want is None else isinstance(got, float)
                      and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9))
                compared += 1
                if not ok:
                    wrong.append((tab, row[0], period, got, want))
    return {"compared": compared, "wrong": wrong}


def stale_copy(recalculated: Path | str, out: Path | str, tab: str, kpi_name: str,
               wrong: float = 987654321.0) -> tuple[str, float]:
    """A copy of an .xlsx written by LibreOffice (values cached) in which the cached value of
    one of ``tab``'s Actual cells of ``kpi_name`` (the largest) is ``wrong``: (the cell, its
    true value)."""
    import re
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    book = load_workbook(recalculated, read_only=True, data_only=True)
    index = book.sheetnames.index(tab)
    ws = book[tab]
    row, values = next((number, cells) for number, cells in enumerate(
        ws.iter_rows(max_col=15, values_only=True), 1)
        if cells[0] == kpi_name and cells[1] == "Actual")
    book.close()
    # the month (or year to date) with the largest value, so that 0 = blank proves nothing
    col = max(range(2, 15), key=lambda i: values[i] if isinstance(values[i], float) else -1)
    cell = f"{get_column_letter(col + 1)}{row}"
    member = f"xl/worksheets/sheet{index + 1}.xml"
    with zipfile.ZipFile(recalculated) as source, zipfile.ZipFile(out, "w",
                                                                  zipfile.ZIP_DEFLATED) as copy:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == member:
                text = data.decode("utf-8")
                pattern = re.compile(rf'(<c r="{cell}"[^>]*>.*?<v>)([^<]*)(</v>)', re.S)
                match = pattern.search(text)
                if match is None:
                    raise RuntimeError(f"no cached value for {tab}!{cell} in {member}")
                true = float(match.group(2))
                text = text[:match.start(2)] + repr(wrong) + text[match.end(2):]
                data = text.encode("utf-8")
            copy.writestr(info, data)
    return cell, true


def _main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.lo_phases",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("path")
    parser.add_argument("--export", help="also export the recalculated workbook here (.xlsx)")
    parser.add_argument("--check", action="store_true",
                        help="compare Team's and the first rep's Actual cells with the report")
    parser.add_argument("--convert", action="store_true",
                        help="also time soffice --convert-to xlsx end to end, recalculating on "
                             "load (tests/libreoffice.py's convert_once), wall and CPU")
    parser.add_argument("--drop", default="",
                        help="comma-separated sheets to delete after loading (profiling); "
                             "'reps' for every rep tab")
    parser.add_argument("--stale-check", action="store_true",
                        help="export, plant a wrong cached value, and show calculateAll "
                             "replaces it (load alone does not)")
    options = parser.parse_args(argv)
    reads = []
    if options.check or options.stale_check:
        from xlkpi.tracker.values import read_tracker_values
        settings = read_tracker_values(Path(options.path)).settings
        reads = tab_reads(settings.reps, language=settings.language)
    export = options.export
    folder = tempfile.mkdtemp(prefix="xlkpi-lo-phases-out-")
    try:
        if options.stale_check and not export:
            export = str(Path(folder) / "recalculated.xlsx")
        drop = [name for name in options.drop.split(",") if name and name != "reps"]
        if "reps" in options.drop.split(","):
            from xlkpi.tracker.build import rep_sheet_names
            from xlkpi.tracker.values import read_tracker_values

            drop += rep_sheet_names(read_tracker_values(Path(options.path)).settings.reps
                                    ).values()
        result = phases(options.path, export, reads, drop=drop)
        after = result.pop("after", {})
        if options.check:
            checked = compare_with_report(after, options.path)
            result["check"] = {"compared": checked["compared"], "wrong": checked["wrong"][:5]}
        if options.stale_check:
            result["stale"] = stale_check(export, folder)
        if options.convert:
            result.update(convert_seconds(options.path, Path(folder) / "convert"))
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def convert_seconds(path: Path | str, out_dir: Path | str) -> dict[str, float]:
    """``soffice --headless --convert-to xlsx`` of ``path`` with recalculation on load, in a
    soffice of its own (tests/libreoffice.py's convert_once: start, load, recalculate, write,
    exit; the tests' resident soffice would not count its start-up): wall seconds and CPU
    seconds of soffice (its rusage, reaped by the wait)."""
    import resource

    from tests.libreoffice import convert_once

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    convert_once(path, out_dir, "xlsx:Calc MS Excel 2007 XML")
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"convert s": wall, "convert cpu": after.ru_utime + after.ru_stime
            - before.ru_utime - before.ru_stime}


def stale_check(recalculated: Path | str, folder: Path | str) -> dict:
    """Plant a wrong cached value for a Team Won revenue cell in a LibreOffice-written
    copy; load it (no recalculation on load) and read the cell before and after calculateAll."""
    from xlkpi.tracker.model import TEAM

    stale = Path(folder) / "stale.xlsx"
    cell, true = stale_copy(recalculated, stale, TEAM, "Won revenue")
    result = phases(stale, None, [(TEAM, cell)], read_before=True)
    before = result["before"][f"{TEAM}!{cell}"][0][0]
    after = result["after"][f"{TEAM}!{cell}"][0][0]
    return {"cell": f"{TEAM}!{cell}", "planted": 987654321.0, "true": true,
            "after load": before, "after calculateAll": after,
            "ok": before == 987654321.0 and after == true,
            **{key: value for key, value in result.items() if key.endswith(("cpu", " s"))}}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == CHILD:
        print(json.dumps(run_phases(json.loads(sys.argv[2]))))
    else:
        _main(sys.argv[1:])

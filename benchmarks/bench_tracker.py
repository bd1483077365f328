"""Benchmark the tracker commands at the size of a real sales org, each beside a baseline.

    python -m benchmarks.bench_tracker                      # 50 reps, 250,000 data rows
    python -m benchmarks.bench_tracker --reps 30 --rows 100000
    python -m benchmarks.bench_tracker --scaling 10000,50000,250000 --reps 50

Every step runs in a child process of its own, so that its peak memory (the child's VmHWM,
its peak resident set since exec) is its own. The data is the demo year for the reps, with its
rows repeated until the data sheets hold the wanted number; it is built once and handed to the
children as a pickle, whose loading is not timed.

Steps and their baselines, measured in the same run:
- new:     build the tracker workbook and save it  vs  openpyxl's write-only mode writing the
           same data rows (no formulas, no formatting): the floor for writing those cells;
- refresh: `xlkpi refresh` (open, read, rebuild, atomic save with backup);
- report:  `xlkpi report --format json`  vs  python-calamine reading the same sheets' values;
- recalc:  LibreOffice recalculating the workbook, in phases through Python-UNO
           (benchmarks/lo_phases.py: start-up, load with no recalculation on load, a full
           recalculation by calculateAll(), export as .xlsx; CPU seconds of soffice), and end
           to end as `soffice --headless --convert-to xlsx` with recalculation on load
           (tests/libreoffice.py's convert_once: start, load, recalculate, write, exit; wall
           and CPU). "recalc" is the calculateAll CPU time. The Actual cells of the Team tab
           and of the first rep's tab, read back after calculateAll, are compared with
           `xlkpi report --period all`; a difference stops the benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = "_child"


# --- what the children run -------------------------------------------------------------------

def _load_tracker(pickled: str):
    with open(pickled, "rb") as handle:
        return pickle.load(handle)


def _child_new(pickled: str, path: str) -> float:
    from xlkpi.tracker.build import new_workbook
    from xlkpi.xlsx.save import save_atomic

    tracker = _load_tracker(pickled)
    started = time.perf_counter()
    save_atomic(new_workbook(tracker), path, backup=False)
    return time.perf_counter() - started


def _child_write_only(pickled: str, path: str) -> float:
    from openpyxl import Workbook

    tracker = _load_tracker(pickled)
    started = time.perf_counter()
    wb = Workbook(write_only=True)
    for name, sheet in tracker.data.items():
        ws = wb.create_sheet(name)
        ws.append(sheet.header)
        for row in sheet.rows:
            ws.append(row)
    wb.save(path)
    return time.perf_counter() - started


def _child_cli(*args: str) -> float:
    from xlkpi.cli import cli

    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            cli.main(list(args), prog_name="xlkpi")
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise RuntimeError(f"xlkpi {' '.join(args)} exited {exit_.code}") from None
    return time.perf_counter() - started


def _child_calamine(path: str) -> float:
    from python_calamine import CalamineWorkbook

    from xlkpi.tracker.model import DATA_SHEETS, SETTINGS, TARGETS

    started = time.perf_counter()
    book = CalamineWorkbook.from_path(path)
    cells = sum(len(book.get_sheet_by_name(name).to_python())
                for name in (SETTINGS, TARGETS, *DATA_SHEETS))
    assert cells > 0
    return time.perf_counter() - started


CHILD_STEPS = {"new": _child_new, "write_only": _child_write_only, "cli": _child_cli,
               "calamine": _child_calamine}


# --- the parent ------------------------------------------------------------------------------

CPU_SECONDS: dict[str, float] = {}  # the last child's CPU seconds (user + system) by step


def _run_child(step: str, *args: str) -> tuple[float, float]:
    """(seconds the step took, the child's peak memory in MiB); the child's CPU seconds, the
    steadier number on a shared machine, in CPU_SECONDS[step] (the whole child: start-up and
    loading the pickle included)."""
    command = [sys.executable, "-m", "benchmarks.bench_tracker", CHILD, step, *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONHASHSEED": "0"})
    out = process.stdout.read()
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{step} failed: {err.decode(errors='replace')[-2000:]}")
    result = json.loads(out)
    CPU_SECONDS[step] = usage.ru_utime + usage.ru_stime
    return result["seconds"], result.get("peak_mib") or usage.ru_maxrss / 1024


def _median_child(repeat: int, step: str, *args: str) -> tuple[float, float, float]:
    """_run_child ``repeat`` times: the median seconds, peak MiB and CPU seconds."""
    import statistics

    runs = []
    for _ in range(repeat):
        seconds, mib = _run_child(step, *args)
        runs.append((seconds, mib, CPU_SECONDS[step]))
    return tuple(statistics.median(run[index] for run in runs) for index in range(3))


def peak_mib() -> float | None:
    """This process's peak resident memory since exec (VmHWM). Not the parent's ru_maxrss of
    the child: Linux carries the forked parent's pages into it across exec, so every child
    then reported at least the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def scaled_tracker(reps: int, rows: int):
    """The demo year for ``reps`` reps, its data rows repeated to ``rows`` in all; fewer rows
    than the demo has are an evenly spaced sample of each sheet (not its first rows, which
    would all lie in the first months: the year's later months would count nothing)."""
    from xlkpi.demo import demo_tracker

    names = [f"Rep {index + 1:02d}" for index in range(reps)]
    tracker = demo_tracker(2026, names, as_of=None)
    total = sum(len(sheet.rows) for sheet in tracker.data.values())
    factor = rows / total
    for sheet in tracker.data.values():
        have, wanted = len(sheet.rows), round(len(sheet.rows) * factor)
        if wanted <= have:
            sheet.rows = [sheet.rows[index * have // wanted] for index in range(wanted)]
        else:
            sheet.rows = (sheet.rows * math.ceil(wanted / have))[:wanted]
    return tracker


def shuffled_copy(path: Path, target: Path, seed: int = 1) -> Path:
    """``path`` as a person leaves it after sorting the data sheets by something other than the
    owner: every data row moved (renumbered, its references with it), and in Opportunities a
    formula column of their own ("Weighted", =Amount/2 on every row). The first `refresh`
    after that regroups every row and moves every formula."""
    import random
    import re
    import zipfile

    from xlkpi.tracker.model import DATA_SHEETS, OPPORTUNITIES
    from xlkpi.xlsx.parts import sheet_parts

    rng = random.Random(seed)
    with zipfile.ZipFile(path) as archive:
        parts = sheet_parts(archive, path)
        data = {info.filename: archive.read(info) for info in archive.infolist()}
    for name in DATA_SHEETS:
        xml = data[parts[name]]
        start = xml.index(b"</row>") + len(b"</row>")  # after the header row
        end = xml.index(b"</sheetData>")
        rows = re.findall(rb"<row .*?</row>", xml[start:end], re.S)
        rng.shuffle(rows)
        header, out = xml[:start], []
        if name == OPPORTUNITIES:
            header = header.replace(b"</row>", b'<c r="Z1" t="inlineStr"><is><t>Weighted</t>'
                                    b"</is></c></row>", 1)
        for number, row in enumerate(rows, 2):
            old = re.match(rb'<row r="(\d+)"', row).group(1)
            row = re.sub(rb"(?<=[A-Z])" + old + rb"(?!\d)", b"%d" % number, row)
            row = row.replace(b'<row r="%s"' % old, b'<row r="%d"' % number, 1)
            if name == OPPORTUNITIES:
                row = row.replace(b"</row>", b'<c r="Z%d"><f>F%d/2</f><v></v></c></row>'
                                  % (number, number))
            out.append(row)
        data[parts[name]] = header + b"".join(out) + xml[end:]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, body in data.items():
            archive.writestr(name, body)
    return target


def _recalc(path: Path, out_dir: Path) -> dict[str, float]:
    """LibreOffice on ``path``: the phases (CPU s) and the end-to-end convert-to (wall, CPU)."""
    from benchmarks import lo_phases
    from xlkpi.tracker.model import CHANNELS
    from xlkpi.tracker.values import read_tracker_values

    if not lo_phases.available():
        return {}
    reps = read_tracker_values(path).settings.reps
    out_dir.mkdir(parents=True, exist_ok=True)
    phases = lo_phases.phases(path, out_dir / "phases.xlsx", lo_phases.tab_reads(reps))
    checked = lo_phases.compare_with_report(phases["after"], path)
    if checked["wrong"] or not checked["compared"] or phases["error cells"]:
        raise RuntimeError(f"LibreOffice's recalculation differs from xlkpi report: "
                           f"{checked['wrong'][:5]}, {phases['error cells']} error cells")
    # the baseline in the same run: the same workbook without the Channels sheet (issue 11's
    # view, the newest rows), so that what they add to calculateAll shows
    base = lo_phases.phases(path, None, (), drop=[CHANNELS])
    results = {"recalc base s": base["calculateAll cpu"],
               "recalc base wall s": base["calculateAll s"],
               "lo start s": phases["start-up cpu"], "lo load s": phases["load cpu"],
               "recalc s": phases["calculateAll cpu"], "lo export s": phases["export cpu"],
               "recalc wall s": phases["calculateAll s"], "lo MiB": phases["peak MiB"],
               "recalc checked": checked["compared"]}
    convert = lo_phases.convert_seconds(path, out_dir / "convert")
    results["convert s"], results["convert wall s"] = convert["convert cpu"], convert["convert s"]
    return results


def measure(reps: int, rows: int, workdir: Path, libreoffice: bool,
            shuffled: bool = False, repeat: int = 1) -> dict[str, float]:
    tracker = scaled_tracker(reps, rows)
    pickled = workdir / f"tracker-{reps}-{rows}.pickle"
    pickled.write_bytes(pickle.dumps(tracker, protocol=pickle.HIGHEST_PROTOCOL))
    path = workdir / f"tracker-{reps}-{rows}.xlsx"
    floor = workdir / f"write-only-{reps}-{rows}.xlsx"
    results: dict[str, float] = {
        "data rows": sum(len(sheet.rows) for sheet in tracker.data.values())}
    results["new s"], results["new MiB"], results["new cpu s"] = _median_child(
        repeat, "new", str(pickled), str(path))
    results["write-only s"], results["write-only MiB"], _ = _median_child(
        1, "write_only", str(pickled), str(floor))
    results["file MiB"] = path.stat().st_size / 2**20
    if shuffled:  # before the refresh below groups the rows again
        moved = shuffled_copy(path, workdir / f"shuffled-{reps}-{rows}.xlsx")
        results["shuffled s"], results["shuffled MiB"] = _run_child("cli", "refresh",
                                                                     str(moved))
    results["refresh s"], results["refresh MiB"], results["refresh cpu s"] = _median_child(
        repeat, "cli", "refresh", str(path))
    results["report s"], results["report MiB"], results["report cpu s"] = _median_child(
        repeat, "cli", "report", str(path), "--format", "json")
    results["calamine s"], results["calamine MiB"], results["calamine cpu s"] = _median_child(
        repeat, "calamine", str(path))
    if libreoffice:
        results.update(_recalc(path, workdir / "recalculated"))
    return results


def _print_table(sizes: list[tuple[int, int]], table: list[dict[str, float]]) -> None:
    print(f"{'reps':>5} {'rows':>8} | {'new s':>7} {'MiB':>6} {'w-only s':>8} {'ratio':>6} | "
          f"{'refresh s':>9} {'MiB':>6} | {'report s':>8} {'MiB':>6} {'calamine s':>10} "
          f"{'ratio':>6} | {'recalc s':>8}")
    for (reps, _), row in zip(sizes, table, strict=True):
        print(f"{reps:>5} {int(row['data rows']):>8} | {row['new s']:>7.2f} "
              f"{row['new MiB']:>6.0f} {row['write-only s']:>8.2f} "
              f"{row['new s'] / row['write-only s']:>6.2f} | {row['refresh s']:>9.2f} "
              f"{row['refresh MiB']:>6.0f} | {row['report s']:>8.2f} {row['report MiB']:>6.0f} "
              f"{row['calamine s']:>10.2f} {row['report s'] / row['calamine s']:>6.2f} | "
              f"{row.get('recalc s', math.nan):>8.2f}")


def _print_libreoffice(sizes: list[tuple[int, int]], table: list[dict[str, float]]) -> None:
    """The LibreOffice phases (CPU s of soffice) beside the end-to-end convert-to."""
    if not any("recalc s" in row for row in table):
        return
    print("\nLibreOffice, CPU s (recalc = calculateAll; convert = soffice --convert-to end to "
          "end; checked = Actual cells equal to xlkpi report):")
    print(f"{'reps':>5} {'rows':>8} | {'start-up':>8} {'load':>6} {'recalc':>6} {'wall':>6} "
          f"{'export':>6} {'MiB':>6} | {'convert':>7} {'wall':>6} | {'checked':>7} | "
          f"{'no Channels':>11} {'wall':>6}")
    for (reps, _), row in zip(sizes, table, strict=True):
        print(f"{reps:>5} {int(row['data rows']):>8} | "
              + " ".join(f"{row.get(key, math.nan):>{width}.{digits}f}" for key, width, digits
                         in (("lo start s", 8, 2), ("lo load s", 6, 2), ("recalc s", 6, 2),
                             ("recalc wall s", 6, 2), ("lo export s", 6, 2),
                             ("lo MiB", 6, 0)))
              + f" | {row.get('convert s', math.nan):>7.2f} "
              f"{row.get('convert wall s', math.nan):>6.2f} | "
              f"{row.get('recalc checked', 0):>7} | "
              f"{row.get('recalc base s', math.nan):>11.2f} "
              f"{row.get('recalc base wall s', math.nan):>6.2f}")


GOALS = (("new s", 10.0, "new ≤ 10 s"), ("refresh s", 10.0, "refresh ≤ 10 s"),
         ("recalc s", 10.0, "LibreOffice calculateAll ≤ 10 s CPU"))


def _print_goals(table: list[dict[str, float]]) -> None:
    """Each goal of issues 4, 10 and 11 at the largest size, met or not; CPU seconds beside."""
    row = table[-1]
    print(f"\ngoals at {int(row['data rows']):,} data rows (median wall s; CPU s of the "
          "child process in brackets, the verdict on a machine others share):")
    for key, limit, label in GOALS:
        if key in row:
            cpu = row.get(key.replace(" s", " cpu s"))
            shown = f"{row[key]:.2f} s" + (f" ({cpu:.2f} s CPU)" if cpu is not None else "")
            verdict = "met" if row[key] <= limit else "NOT met"
            if cpu is not None and row[key] > limit:
                verdict += f" (on CPU: {'met' if cpu <= limit else 'NOT met'})"
            if key == "recalc s" and "recalc base s" in row:
                verdict += f"; without the Channels sheet {row['recalc base s']:.2f} s"
            print(f"  {label:<38} {shown:<26} {verdict}")
    ratio = row["report s"] / row["calamine s"]
    print(f"  {'report ≤ 1.5× calamine':<38} {row['report s']:.2f} s / "
          f"{row['calamine s']:.2f} s = {ratio:.2f}×{'':<6} {'met' if ratio <= 1.5 else 'NOT met'}"
          f"  (CPU {row['report cpu s']:.2f} / {row['calamine cpu s']:.2f} = "
          f"{row['report cpu s'] / row['calamine cpu s']:.2f}×)")


def _print_growth(sizes: list[tuple[int, int]], table: list[dict[str, float]]) -> None:
    """Time per 1,000 rows at each size: flat means linear; growing means super-linear."""
    print("\nseconds per 1,000 data rows (flat = linear):")
    steps = ("new s", "refresh s", "report s", "lo load s", "recalc s", "lo export s",
             "convert s")
    print(f"{'rows':>8} " + " ".join(f"{step[:-2]:>10}" for step in steps))
    for row in table:
        per = [row.get(step, math.nan) / row["data rows"] * 1000 for step in steps]
        print(f"{int(row['data rows']):>8} " + " ".join(f"{value:>10.4f}" for value in per))
    print("marginal seconds per 1,000 rows added between sizes (flat = linear; the fixed cost "
          "of a step drops out):")
    for smaller, larger in zip(table, table[1:], strict=False):
        added = (larger["data rows"] - smaller["data rows"]) / 1000
        per = [(larger.get(step, math.nan) - smaller.get(step, math.nan)) / added
               for step in steps]
        label = f"{int(smaller['data rows']) // 1000}k-{int(larger['data rows']) // 1000}k"
        print(f"{label:>8} " + " ".join(f"{value:>10.4f}" for value in per))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == CHILD:
        seconds = CHILD_STEPS[argv[1]](*argv[2:])
        print(json.dumps({"seconds": seconds, "peak_mib": peak_mib()}))
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_tracker",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--scaling", help="comma-separated row counts, e.g. 10000,50000,250000")
    parser.add_argument("--no-libreoffice", action="store_true", help="skip the recalculation")
    parser.add_argument("--shuffled", action="store_true",
                        help="also refresh a copy whose data rows a person sorted "
                             "(every row moved, a formula column in Opportunities)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run new, refresh, report and the calamine read this many times; "
                             "the median is shown (3 on a shared machine)")
    parser.add_argument("--json", help="also write the results to this file")
    options = parser.parse_args(argv)
    counts = ([int(n) for n in options.scaling.split(",")] if options.scaling
              else [options.rows])
    sizes = [(options.reps, count) for count in counts]
    with tempfile.TemporaryDirectory(prefix="xlkpi-bench-") as folder:
        table = [measure(reps, rows, Path(folder), not options.no_libreoffice,
                         options.shuffled, options.repeat) for reps, rows in sizes]
    _print_table(sizes, table)
    if options.shuffled:
        print("\nrefresh after a person sorted the data rows (every row moved):")
        for row in table:
            print(f"{int(row['data rows']):>8} rows: {row['shuffled s']:.2f} s, "
                  f"{row['shuffled MiB']:.0f} MiB")
    _print_libreoffice(sizes, table)
    _print_goals(table)
    if len(table) > 1:
        _print_growth(sizes, table)
    if options.json:
        Path(options.json).write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()

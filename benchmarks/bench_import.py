"""Benchmark `xlkpi import` on a per-e-mail event export against pandas reading the same file.

    python -m benchmarks.bench_import                   # 2,000,000 event rows, 50 owners
    python -m benchmarks.bench_import --rows 200000
    python -m benchmarks.bench_import --keep events.csv # also keep the generated file
    python -m benchmarks.bench_import --tracker         # also `xlkpi import` into 50 reps

The export is generated (seeded, so every run reads the same bytes) in the shape lemlist
writes: one row per event (`_id, campaignName, type, date, sendUserName, sendUserEmail,
leadEmail, leadFirstName`), ISO timestamps over 2026, 50 owners, events sent / opened /
clicked / replied / bounced / interested / unsubscribed, and a few bad rows (a date that is no
date, a day that does not exist, a blank date) that the import must skip and report.

Each phase runs in a child process of its own, so its peak memory (the child's VmHWM, its
peak resident set since exec: `bench_tracker.peak_mib`) is its own; time is the wall clock
around the phase inside the child (Python start-up and imports excluded), and the child's CPU
time (``time.process_time``, all its threads) over the same span, which other programs on a
shared machine disturb less:

- read_csv: `pandas.read_csv(path)` with its defaults, the baseline;
- read_export: `xlkpi.imports.read_export(path)`: read, recognise, read every column in its
  decided format, aggregate the events to one Emails record per day and owner;
- import (``--tracker``): ``xlkpi import TRACKER EVENTS`` end to end, as a person runs it (the
  command's own code, in the child: read, aggregate, merge into a fresh copy of a 50-rep
  tracker whose reps are the export's owners, refresh, save atomically with a backup).

The goal (issue 9): the import at most 2× the read_csv time, under 1 GiB (read_export is held
to the same goal). The machine may be shared: each phase runs ``--repeat`` times (3), the phases
in turns so that a busy spell hits all of them, and the medians of time, peak and of each run's
ratio to read_csv are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_tracker import peak_mib

CHILD = "_child"
GOAL_RATIO, GOAL_MIB = 2.0, 1024
HEADER = ["_id", "campaignName", "type", "date", "sendUserName", "sendUserEmail", "leadEmail",
          "leadFirstName"]
EVENTS = {"emailsSent": 40, "emailsOpened": 25, "emailsClicked": 10, "emailsReplied": 8,
          "emailsBounced": 6, "emailsInterested": 4, "emailsUnsubscribed": 2,
          "emailsFailed": 5}  # weights; clicked, unsubscribed, failed are not counted
BAD_DATES = ("next week", "2026-02-31T10:00:00.000Z", "")  # no date, no such day, blank


def write_events(path: Path, rows: int, owners: int = 50, seed: int = 1) -> dict:
    """Write the event export; returns what the import must find (bad rows by row number)."""
    import numpy as np
    import pandas as pd

    generator = np.random.default_rng(seed)
    names = [f"Rep {number:02d}" for number in range(1, owners + 1)]
    owner = generator.integers(0, owners, rows)
    kinds = np.array(list(EVENTS))
    weights = np.array(list(EVENTS.values()), dtype=float)
    kind = kinds[generator.choice(len(kinds), rows, p=weights / weights.sum())]
    start = np.datetime64("2026-01-01T00:00:00", "ms")
    offsets = generator.integers(0, 365 * 24 * 3600 * 1000, rows).astype("timedelta64[ms]")
    stamps = np.char.add(np.datetime_as_string(start + offsets, unit="ms"), "Z").astype(object)
    lead = generator.integers(0, max(rows // 8, 1), rows)
    bad = sorted(generator.choice(rows, min(len(BAD_DATES) * 3, rows), replace=False).tolist())
    for number, position in enumerate(bad):
        stamps[position] = BAD_DATES[number % len(BAD_DATES)]
    frame = pd.DataFrame({
        "_id": [f"ev{number:08d}" for number in range(rows)],
        "campaignName": np.array(["Outbound Q1", "Outbound Q2", "Re-engage", "Webinar"],
                                 dtype=object)[owner % 4],
        "type": kind, "date": stamps,
        "sendUserName": np.array(names, dtype=object)[owner],
        "sendUserEmail": np.array([f"rep{n:02d}@acme.com" for n in range(1, owners + 1)],
                                  dtype=object)[owner],
        "leadEmail": [f"lead{number}@example{number % 97}.com" for number in lead.tolist()],
        "leadFirstName": [f"Lead{number}" for number in lead.tolist()],
    }, columns=HEADER)
    frame.to_csv(path, index=False, lineterminator="\n")
    # Row numbers as a person sees them: the header is row 1. Blank dates with an event that
    # is not counted are ignored, not skipped, so only the counted ones are listed.
    return {"bad rows": [position + 2 for position in bad], "bytes": path.stat().st_size}


# --- what the children run -------------------------------------------------------------------

def _child_read_csv(path: str) -> dict:
    import pandas as pd

    started, cpu = time.perf_counter(), time.process_time()
    frame = pd.read_csv(path)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu": time.process_time() - cpu, "rows": len(frame)}


def _child_read_export(path: str) -> dict:
    from xlkpi.imports import read_export

    started, cpu = time.perf_counter(), time.process_time()
    result = read_export(path)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu": time.process_time() - cpu, "rows": result.rows_read,
            "records": len(result.records),
            "skipped": [[skipped.row, skipped.reason] for skipped in result.skipped],
            "profile": result.profile, "aggregation": result.aggregation,
            "decisions": result.decisions}


def _child_import(tracker: str, path: str) -> dict:
    from click.testing import CliRunner

    from xlkpi.cli import cli

    started, cpu = time.perf_counter(), time.process_time()
    done = CliRunner().invoke(cli, ["import", tracker, path], catch_exceptions=False)
    seconds = time.perf_counter() - started
    if done.exit_code != 0:
        raise RuntimeError(done.stderr)
    return {"seconds": seconds, "cpu": time.process_time() - cpu,
            "output": done.stdout.splitlines(),
            "bytes": Path(tracker).stat().st_size}


def make_tracker(path: Path, owners: int) -> None:
    """A new tracker whose reps are the export's owners (write_events' names)."""
    from click.testing import CliRunner

    from xlkpi.cli import cli

    reps = ",".join(f"Rep {number:02d}" for number in range(1, owners + 1))
    done = CliRunner().invoke(cli, ["new", str(path), "--year", "2026", "--reps", reps])
    if done.exit_code != 0:
        raise RuntimeError(done.stderr)


PHASES = {"read_csv": _child_read_csv, "read_export": _child_read_export,
          "import": _child_import}


def run_phase(phase: str, *args: str) -> dict:
    """The phase's own report plus its peak memory, from a fresh child process."""
    command = [sys.executable, "-m", "benchmarks.bench_import", CHILD, phase, *args]
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    if done.returncode != 0:
        raise RuntimeError(f"{phase} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == CHILD:
        report = PHASES[argv[1]](*argv[2:])
        print(json.dumps({**report, "peak_mib": peak_mib()}))
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_import",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--owners", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each phase, in turns; medians reported (a shared "
                             "machine: compare the ratios of one run)")
    parser.add_argument("--keep", type=Path, help="also write the generated export here")
    parser.add_argument("--tracker", action="store_true",
                        help="also import into a 50-rep tracker (`xlkpi import`, end to end)")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xlkpi-bench-import-") as folder:
        path = options.keep or Path(folder) / "events.csv"
        started = time.perf_counter()
        expected = write_events(path, options.rows, options.owners, options.seed)
        print(f"{options.rows:,} event rows, {options.owners} owners, "
              f"{expected['bytes'] / 2**20:.0f} MiB ({time.perf_counter() - started:.1f} s "
              f"to generate)")
        results = {}
        phases = [phase for phase in PHASES if options.tracker or phase != "import"]
        template = Path(folder) / "template.xlsx"
        if options.tracker:
            make_tracker(template, options.owners)
        runs: dict[str, list[dict]] = {phase: [] for phase in phases}
        for _ in range(options.repeat):  # in turns, so that a busy spell hits every phase
            for phase in phases:
                args = [str(path)]
                if phase == "import":  # a fresh copy each time: the import changes it
                    tracker = Path(folder) / "tracker.xlsx"
                    for stale in Path(folder).glob("tracker*.xlsx"):
                        stale.unlink()
                    shutil.copy(template, tracker)
                    args = [str(tracker), str(path)]
                runs[phase].append(run_phase(phase, *args))
        for phase, done in runs.items():
            results[phase] = {**done[0], "seconds": statistics.median(
                run["seconds"] for run in done), "cpu": statistics.median(
                run["cpu"] for run in done), "peak_mib": statistics.median(
                run["peak_mib"] for run in done), "ratios": [
                run["seconds"] / csv_run["seconds"] for run, csv_run in zip(
                    done, runs["read_csv"], strict=True)], "cpu_ratios": [
                run["cpu"] / csv_run["cpu"] for run, csv_run in zip(
                    done, runs["read_csv"], strict=True)]}
    imported = results["read_export"]
    skipped_rows = [row for row, _ in imported["skipped"]]
    assert set(skipped_rows) <= set(expected["bad rows"]), (skipped_rows, expected)
    assert imported["rows"] == options.rows, imported["rows"]
    print(f"read_export: {imported['profile']}; {imported['aggregation']}")
    print(f"  skipped {len(skipped_rows)} rows, e.g. row {imported['skipped'][0][0]}: "
          f"{imported['skipped'][0][1]}" if skipped_rows else "  no row skipped")
    print()
    print(f"medians of {options.repeat} run(s):")
    print(f"{'phase':<12} {'seconds':>8} {'CPU s':>6} {'peak MiB':>9}  ratio to read_csv in "
          "each run: wall | CPU")
    for phase, result in results.items():
        print(f"{phase:<12} {result['seconds']:>8.2f} {result['cpu']:>6.2f} "
              f"{result['peak_mib']:>9.0f}  "
              + " ".join(f"{ratio:.2f}" for ratio in result["ratios"]) + " | "
              + " ".join(f"{ratio:.2f}" for ratio in result["cpu_ratios"]))
    for phase in ("read_export", "import"):
        if phase not in results:
            continue
        ratio = statistics.median(results[phase]["ratios"])
        met = ratio <= GOAL_RATIO and results[phase]["peak_mib"] < GOAL_MIB
        cpu_ratio = statistics.median(results[phase]["cpu_ratios"])
        print(f"\n{phase} / read_csv (median of the runs' ratios): {ratio:.2f}× "
              f"(CPU {cpu_ratio:.2f}×; goal ≤ {GOAL_RATIO:g}×), peak "
              f"{results[phase]['peak_mib']:.0f} MiB (goal < {GOAL_MIB} MiB): "
              f"{'met' if met else 'NOT met'}")
    if "import" in results:
        print("\n`xlkpi import` said:")
        for line in results["import"]["output"]:
            print(f"  {line}")


if __name__ == "__main__":
    main()

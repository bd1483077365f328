"""`xlkpi import`'s shortcuts give the workbook the general path gives (issue 9's benchmark):
the generated tabs loaded without their cells (file.generated_unread), a large data sheet's plain
rows written by stream.NewRows (splice._plain_rows_taken), rows moved in one pass
(sheetpatch.CellMover._plain_cells) and new cells made without ws.cell's look-up
(merge._new_cell). Each is turned off below to get the general path's file, and the two files
are compared cell by cell and part by part. (Both paths carry the generated tabs of a sealed
file on the second import; test_import_carry.py compares that with writing them again.)"""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from benchmarks.bench_import import write_events
from xlkpi.cli import cli
from xlkpi.tracker import file as tracker_file
from xlkpi.tracker import merge
from xlkpi.xlsx import sheetpatch, splice
from xlkpi.xlsx.stream import STREAM_FROM_ROWS

pytestmark = pytest.mark.slow

OWNERS = 20


def run(*args) -> str:
    result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def general_path(monkeypatch) -> None:
    """Every shortcut off: the tracker loaded whole, openpyxl's cell writer for every row,
    every row moved cell by cell, new cells through ws.cell."""
    monkeypatch.setattr(tracker_file, "generated_unread", lambda path, load: None)
    monkeypatch.setattr(splice, "_plain_rows_taken", lambda wb: {})
    monkeypatch.setattr(sheetpatch.CellMover, "_plain_cells", lambda self, inner: None)
    monkeypatch.setattr(merge, "_new_cell", lambda ws, row, col: ws.cell(row, col))


def content(path: Path) -> dict:
    """Every sheet's cells (value, number format, font, fill), hidden columns, state."""
    wb = openpyxl.load_workbook(path)
    out = {"sheets": wb.sheetnames}
    for ws in wb.worksheets:
        out[ws.title] = ({cell.coordinate: (cell.value, cell.number_format, cell.font.b,
                                            cell.fill.fgColor.rgb)
                          for row in ws.iter_rows() for cell in row
                          if cell.value is not None or cell.has_style},
                         {key: (dim.hidden, dim.width)
                          for key, dim in ws.column_dimensions.items()}, ws.sheet_state)
    wb.close()
    return out


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def tracker_and_exports(folder: Path, owners: int, events_rows: int, first_rows: int
                        ) -> tuple[Path, Path, Path]:
    """A new tracker of ``owners`` reps, an event export of ``events_rows`` rows and its first
    ``first_rows`` rows (with the header) in folder."""
    events, first = folder / "events.csv", folder / "first.csv"
    write_events(events, events_rows, owners)
    lines = events.read_text().splitlines(keepends=True)
    first.write_text("".join(lines[:first_rows + 1]))
    tracker = folder / "template.xlsx"
    run("new", tracker, "--year", "2026", "--reps",
        ",".join(f"Rep {number:02d}" for number in range(1, owners + 1)))
    return tracker, first, events


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A tracker of OWNERS reps (the rep view showing the third), an event export of more
    records than STREAM_FROM_ROWS and its first part (imported first: updates, then adds)."""
    tracker, first, events = tracker_and_exports(tmp_path_factory.mktemp("fast-import"),
                                                 OWNERS, 40_000, 15_000)
    wb = openpyxl.load_workbook(tracker)
    wb["Rep view"]["B2"] = "Rep 03"  # a person's pick, which the refresh keeps
    wb.save(tracker)
    return tracker, first, events


def imported(folder: Path, tracker: Path, *exports_: Path) -> tuple[Path, list[str]]:
    folder.mkdir()
    path = folder / "t.xlsx"
    path.write_bytes(tracker.read_bytes())
    return path, [run("import", path, export) for export in exports_]


def test_the_shortcuts_give_the_general_paths_workbook(tmp_path, monkeypatch, exports):
    tracker, first, events = exports
    fast, fast_said = imported(tmp_path / "fast", tracker, first, events)
    with monkeypatch.context() as patched:
        general_path(patched)
        general, general_said = imported(tmp_path / "general", tracker, first, events)
    assert fast_said == general_said
    assert " 0 updated" not in fast_said[1]  # the second import updated rows in place
    found, expected = content(fast), content(general)
    assert len(found["Emails"][0]) > STREAM_FROM_ROWS  # the rows were written by NewRows
    assert found["Rep view"][0]["B2"][0] == "Rep 03"
    assert found == expected
    assert parts(fast) == parts(general)  # and byte for byte


def test_the_shortcuts_are_taken(tmp_path, monkeypatch, exports):
    """The comparison above is not of two general paths: each shortcut is used on this file."""
    tracker, _, events = exports
    used: dict[str, int] = {}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            found = function(*args, **kwargs)
            used[name] = used.get(name, 0) + bool(found)
            return found
        return wrapper

    monkeypatch.setattr(tracker_file, "generated_unread",
                        counted("lean", tracker_file.generated_unread))
    monkeypatch.setattr(splice, "_plain_rows_taken",
                        counted("rows", splice._plain_rows_taken))
    monkeypatch.setattr(sheetpatch.CellMover, "_plain_cells",
                        counted("moved", sheetpatch.CellMover._plain_cells))
    imported(tmp_path / "fast", tracker, events)
    assert used.get("lean") == 1 and used.get("rows") == 1 and used.get("moved", 0) > 1000

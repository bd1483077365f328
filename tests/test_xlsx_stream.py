"""The data rows written and moved as sheet XML (xlkpi.xlsx.rows) give the same workbook as
openpyxl's cells: `new` streamed equals `new` with cells, and `refresh` of a file whose data
rows stay XML equals `refresh` through a full openpyxl load, cell by cell (values, number
formats, fonts), with the table, column widths and a person's formulas, typed text such as
"=1+1", extra columns, shared strings (a file saved by LibreOffice) and styled dates."""

from __future__ import annotations

import datetime as dt
import functools
import io
import random
import shutil
import zipfile
from pathlib import Path

import openpyxl
import openpyxl.xml
import pytest

from tests.libreoffice import convert, recalculate
from tests.test_workbook import load_typed, sample_tracker
from xlkpi.tracker import build as workbook
from xlkpi.tracker import reader
from xlkpi.tracker.cells import put_text
from xlkpi.tracker.file import open_tracker
from xlkpi.tracker.model import DATA_SHEETS, EMAILS, LEADS, OPPORTUNITIES, TEAM
from xlkpi.xlsx import save as saving
from xlkpi.xlsx import splice
from xlkpi.xlsx.kept import moved_formula


def saved(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def cells(book: openpyxl.Workbook, sheets=None) -> dict:
    found = {}
    for name in sheets or book.sheetnames:
        ws = book[name]
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    found[(name, cell.coordinate)] = (cell.value, cell.number_format,
                                                      cell.data_type, cell.font.b)
        for letter, dimension in ws.column_dimensions.items():
            found[(name, "width", letter)] = dimension.width
        for table in ws.tables.values():
            found[(name, "table", table.displayName)] = (
                table.ref, [column.name for column in table.tableColumns],
                [str(column.calculatedColumnFormula) for column in table.tableColumns])
    return found


@pytest.mark.slow
def test_new_streamed_equals_new_with_cells():
    # The reference is openpyxl writing cells, which keeps a "\r" (as "&#13;") only through
    # lxml, declared in the test extra; its ElementTree writer turns "\r\n" into "\n".
    assert openpyxl.xml.LXML, "install the test extra (pip install -e '.[test]'): lxml"
    tracker = sample_tracker(seed=3, rows=300)
    tracker.data[LEADS].header.append("Notes")
    for index, row in enumerate(tracker.data[LEADS].rows):
        row.append(["=1+1", "  spaced ", "a & b < c", "", None, "line\r\nbreak"][index % 6])
    tracker.data[EMAILS].rows[3][0] = dt.datetime(2026, 5, 4, 13, 30)
    plain = saved(workbook.new_workbook(tracker, streamed=False))
    streamed_wb = workbook.new_workbook(tracker, streamed=True)
    assert isinstance(streamed_wb, splice.SplitBook)
    streamed = saved(streamed_wb)
    streamed_book = openpyxl.load_workbook(io.BytesIO(streamed))
    notes = [row[-1] for row in streamed_book[LEADS].iter_rows(values_only=True)]
    assert notes[0] == "Notes" and "line\r\nbreak" in notes  # kept, as Excel keeps it
    assert cells(streamed_book) == cells(openpyxl.load_workbook(io.BytesIO(plain)))


@pytest.mark.slow
def test_new_streamed_with_no_rows_has_the_table_row():
    tracker = sample_tracker(seed=3, rows=0)
    plain = saved(workbook.new_workbook(tracker, streamed=False))
    streamed = saved(workbook.new_workbook(tracker, streamed=True))
    assert cells(openpyxl.load_workbook(io.BytesIO(streamed))) == cells(
        openpyxl.load_workbook(io.BytesIO(plain)))


def messy_tracker_file(folder: Path) -> Path:
    """A tracker a person worked on: rows shuffled, an extra column with a formula of their
    own and typed text such as "=1+1", a blank row in the middle, a row for someone who is not
    a rep pasted at the bottom, a date with a time. Made once (messy_bytes), a copy per test."""
    path = folder / "tracker.xlsx"
    path.write_bytes(messy_bytes())
    return path


@functools.lru_cache(maxsize=1)
def messy_bytes() -> bytes:
    tracker = sample_tracker(seed=21, rows=200, reps=["Anna", "Boris", "St*r?"])
    wb = workbook.new_workbook(tracker, streamed=False)
    rng = random.Random(21)
    for name in DATA_SHEETS:
        ws = wb[name]
        rows = [[cell.value for cell in row] for row in ws.iter_rows(min_row=2)]
        rng.shuffle(rows)
        for r, values in enumerate(rows, 2):
            for c, value in enumerate(values, 1):
                cell = ws.cell(r, c)
                if isinstance(value, str) and value.startswith("=IF("):
                    continue  # StageClass: its formula reads its own row
                if isinstance(value, str):
                    put_text(cell, value)
                else:
                    cell.value = value
    leads = wb[LEADS]
    width = leads.max_column
    put_text(leads.cell(1, width + 1), "Score")
    for r in range(2, leads.max_row + 1):
        if r % 3 == 0:
            leads.cell(r, width + 1, f"=LEN(A{r})*2")
        elif r % 3 == 1:
            put_text(leads.cell(r, width + 1), "=1+1")
    for c in range(1, width + 2):
        leads.cell(7, c).value = None
    bottom = leads.max_row + 1
    put_text(leads.cell(bottom, 1), "Late lead")
    put_text(leads.cell(bottom, 2), "Carl")
    leads.cell(bottom, 3, dt.datetime(2026, 6, 3, 9, 45)).number_format = "d mmm yyyy h:mm"
    leads.column_dimensions["A"].width = 33
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def refreshed_both_ways(path: Path, monkeypatch) -> tuple[dict, dict]:
    results = []
    for threshold in (0, 1 << 60):  # rows as XML, then as openpyxl cells
        monkeypatch.setattr(splice, "STREAM_FROM_BYTES", threshold)
        copy = path.with_name(f"copy-{threshold}{path.suffix}")
        shutil.copy(path, copy)
        wb = open_tracker(copy, writing=True)
        assert isinstance(wb, splice.SplitBook) == (threshold == 0)
        tracker = reader.read_tracker(wb, copy.name)
        workbook.regenerate(wb, tracker)
        saving.save_atomic(wb, copy)
        results.append(openpyxl.load_workbook(copy))
    fast, slow = results
    assert fast.sheetnames == slow.sheetnames
    return cells(fast), cells(slow)


@pytest.mark.slow
def test_refresh_with_rows_as_xml_equals_refresh_with_cells(tmp_path, monkeypatch):
    path = messy_tracker_file(tmp_path)
    fast, slow = refreshed_both_ways(path, monkeypatch)
    assert fast == slow
    assert fast[(LEADS, "width", "A")] == 33


def test_reading_a_split_workbook_gives_what_a_full_load_gives(tmp_path, monkeypatch):
    path = messy_tracker_file(tmp_path)
    full = reader.read_tracker(load_typed(path))
    monkeypatch.setattr(splice, "STREAM_FROM_BYTES", 0)
    split = open_tracker(path)
    assert isinstance(split, splice.SplitBook)
    assert split.workbook[OPPORTUNITIES].max_row == 1  # the rows are not openpyxl cells
    back = reader.read_tracker(split)
    assert back.settings == full.settings and back.targets == full.targets
    for name in DATA_SHEETS:
        assert back.data[name] == full.data[name]
        assert full.data[name] == back.data[name]


@pytest.mark.slow
def test_split_declines_what_it_cannot_move(tmp_path, monkeypatch):
    path = messy_tracker_file(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb[LEADS].merge_cells("F3:G3")
    wb.save(path)
    monkeypatch.setattr(splice, "STREAM_FROM_BYTES", 0)
    assert not isinstance(open_tracker(path), splice.SplitBook)


@pytest.mark.slow
def test_refresh_of_a_streamed_file_twice_changes_no_data_row(tmp_path, monkeypatch):
    monkeypatch.setattr(splice, "STREAM_FROM_BYTES", 0)
    path = messy_tracker_file(tmp_path)
    for _ in range(2):
        wb = open_tracker(path, writing=True)
        workbook.regenerate(wb, reader.read_tracker(wb))
        saving.save_atomic(wb, path)
    once = cells(load_typed(path), DATA_SHEETS)
    wb = open_tracker(path, writing=True)
    workbook.regenerate(wb, reader.read_tracker(wb))
    saving.save_atomic(wb, path)
    assert cells(load_typed(path), DATA_SHEETS) == once


@pytest.mark.libreoffice
def test_libreoffice_saved_file_with_shared_strings(tmp_path, monkeypatch):
    """LibreOffice writes shared strings, its own styles and cached values: refresh with the
    rows as XML keeps them (the table of strings goes with them) and equals the slow path."""
    path = messy_tracker_file(tmp_path)
    converted = convert(path, tmp_path / "lo")
    with zipfile.ZipFile(converted) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()
    fast, slow = refreshed_both_ways(converted, monkeypatch)
    assert fast == slow


@pytest.mark.libreoffice
def test_streamed_new_and_refresh_recalculate_to_the_same_numbers(tmp_path, monkeypatch):
    tracker = sample_tracker(seed=8, rows=300, reps=["Anna", "Boris"])
    plain = tmp_path / "plain.xlsx"
    workbook.new_workbook(tracker, streamed=False).save(plain)
    streamed = tmp_path / "streamed.xlsx"
    saving.save_atomic(workbook.new_workbook(tracker, streamed=True), streamed)
    monkeypatch.setattr(splice, "STREAM_FROM_BYTES", 0)
    refreshed = tmp_path / "refreshed.xlsx"
    shutil.copy(streamed, refreshed)
    wb = open_tracker(refreshed, writing=True)
    workbook.regenerate(wb, reader.read_tracker(wb))
    saving.save_atomic(wb, refreshed)
    values = []
    for path in (plain, streamed, refreshed):
        out = openpyxl.load_workbook(recalculate(path, tmp_path / path.stem), data_only=True)
        values.append([[cell.value for cell in row] for row in out[TEAM].iter_rows()])
    assert values[0] == values[1] == values[2]


def rewritten_both_ways(path: Path, monkeypatch) -> list[tuple[bytes, bytes]]:
    """Each data sheet's rows after a split load and regenerate: as written (moved rows by
    replacing bytes where they can be) and with every moved row rewritten cell by cell."""
    monkeypatch.setattr(splice, "STREAM_FROM_BYTES", 0)
    wb = open_tracker(path, writing=True)
    assert isinstance(wb, splice.SplitBook)
    workbook.regenerate(wb, reader.read_tracker(wb))
    found = []
    for name in DATA_SHEETS:
        rows = wb.rows.get(name)
        quick = b"".join(rows.chunks())
        rows._row_fast = lambda *args: None
        found.append((quick, b"".join(rows.chunks())))
    return found


def test_moved_rows_by_bytes_equal_moved_cell_by_cell(tmp_path, monkeypatch):
    path = messy_tracker_file(tmp_path)
    for quick, slow in rewritten_both_ways(path, monkeypatch):
        assert quick == slow


@pytest.mark.parametrize("formula", [
    "=F5/2", "=$F5*2+F$5", "=SUM(A1:B5)", '=IF(A5="X1",1,2)', "=LOG10(A5)",
    "=Sheet1!A5+'Q1 2026'!B7", "=SUM(5:7)", '=A5&"B5"', "=_xlfn.CONCAT(A5,B5)",
    "=A1048576", "=ROW(A2)", "=$A$1+a5", "=SUM(Leads!C:C)"])
def test_a_formula_moves_as_openpyxls_translator_moves_it(formula):
    from openpyxl.formula.translate import Translator

    rng = random.Random(formula)
    shapes: dict[str, bool] = {}
    escaped = formula[1:].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    inner = f"<f>{escaped}</f><v></v>".encode()
    for _ in range(60):
        old, new = rng.randrange(2, 40), rng.randrange(2, 40)
        if old == new:
            continue
        got = moved_formula(inner, 26, old, new, shapes)
        try:
            moved = Translator(formula, origin=f"Z{old}").translate_formula(f"Z{new}")
        except Exception:  # noqa: BLE001 - then the rows stay where they are
            assert got is None
            continue
        moved = moved[1:].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert got == f"<f>{moved}</f><v></v>".encode()

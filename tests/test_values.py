"""xlkpi.tracker.values reads the same Tracker as xlkpi.tracker.reader, with python-calamine.

The reference is what ``xlkpi report`` read before: ``reader.read_tracker`` of
``open_tracker(path, values=True)`` (openpyxl, read-only, cached formula values). The two
must give equal Trackers with every cell of the same type (5, not 5.0; a datetime, not a date)
on demo trackers, on a messy workbook (headers moved, extra columns, blank rows in the middle
and at the bottom, text in date cells, odd rep names, every kind of cell), on the same workbook
saved by LibreOffice, and on random cells; and the same one-line message for every broken file.

The one difference is by design: an error cell (#N/A...) is blank to calamine, and its text is
looked up only where a blank would count (see values._ERROR_AS_BLANK).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.styles import PatternFill

from tests.test_workbook import load_typed
from xlkpi.core.errors import InputError, TrackerFileError
from xlkpi.demo import demo_tracker
from xlkpi.report import Report
from xlkpi.tracker import build as workbook
from xlkpi.tracker import model as layout
from xlkpi.tracker import reader, values
from xlkpi.xlsx import archive as archive_checks

from .libreoffice import convert, soffice

D = dt.date
ODD_REPS = ["O'Brien", "Ünal Şahin", "李雷", "Anna*", "A&B <x>", "José ~?", "Zoë-Émilie"]


# --- helpers ---------------------------------------------------------------------------------

# The reader the fast one must equal: openpyxl's values, through reader.read_tracker (the same
# fallback values.read_tracker_values takes itself).
with_openpyxl = values._read_with_openpyxl


def assert_same_refusal(path: Path) -> str:
    """Both readers refuse ``path`` with the same message; that message."""
    with pytest.raises(TrackerFileError) as fast:
        values.read_tracker_values(path)
    with pytest.raises(TrackerFileError) as slow:
        with_openpyxl(path)
    assert str(fast.value) == str(slow.value)
    return str(fast.value)


def typed(value):
    """The value with the type of every cell in it, for comparing trackers type for type."""
    if dataclasses.is_dataclass(value):
        return {field.name: typed(getattr(value, field.name))
                for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [typed(item) for item in value]
    return type(value).__name__, value


def assert_same_tracker(path: Path) -> layout.Tracker:
    fast, slow = values.read_tracker_values(path), with_openpyxl(path)
    assert fast == slow
    assert typed(fast) == typed(slow)
    return fast


def save(wb, path: Path) -> Path:
    wb.save(path)
    return path


def demo_file(folder: Path, name: str = "demo.xlsx", **options) -> Path:
    tracker = demo_tracker(options.pop("year", 2025), options.pop("reps", ["Anna", "Elena"]),
                           **options)
    return save(workbook.new_workbook(tracker), folder / name)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return demo_file(tmp_path_factory.mktemp("demo"), fiscal_start=4, as_of=D(2025, 10, 15))


@pytest.fixture
def copy(demo, tmp_path) -> Path:
    path = tmp_path / "tracker.xlsx"
    shutil.copy(demo, path)
    return path


def rewrite(ws, rows: list[list]) -> None:
    """Replace a data sheet's cells (and its Excel table, whose header would not match)."""
    for name in list(ws.tables):
        del ws.tables[name]
    ws.delete_rows(1, ws.max_row)
    for row in rows:
        ws.append(row)


def messy_workbook(folder: Path) -> Path:
    """A demo tracker as people leave it: columns moved and added, blank rows, text in date
    cells, odd rep names, notes in Targets, every kind of cell."""
    path = demo_file(folder, "messy.xlsx", reps=ODD_REPS, year=2026, as_of=D(2026, 5, 31),
                     currency="EUR")
    wb = openpyxl.load_workbook(path)

    # Leads: Owner moved to the end, an extra named column in the middle, an unnamed column
    # with data, an empty "Column9" (a table column nobody named) and an empty unnamed one
    leads = wb[layout.LEADS]
    header, *body = [list(row) for row in leads.iter_rows(values_only=True)]
    order = [0, 2, 3, 4, 1]  # Lead, LeadDate, SQLDate, Source, Owner
    rows = [[header[i] for i in order] + ["Notes", None, "Column9", None]]
    for number, row in enumerate(body):
        note = ["call back", 7, 2.5, True, dt.time(9, 30), None][number % 6]
        rows.append([row[i] for i in order] + [note, "x" if number % 5 == 0 else None, None,
                                                 None])
    rows[4][1] = "soon"  # text in a date cell
    rows[6][2] = "2026-02-30"  # not a date either
    rows[8][1] = 46055  # a date typed as its serial number
    rewrite(leads, rows)

    # Opportunities: blank rows in the middle (they keep the row numbers of what follows)
    opportunities = wb[layout.OPPORTUNITIES]
    opportunities.insert_rows(6, 2)
    opportunities["D12"] = "TBD"
    opportunities["F13"] = "1200"  # a number typed as text
    opportunities["F14"] = 1234.5

    # Emails: blank rows at the bottom that only have a fill (openpyxl reads them, calamine
    # not: the reader drops them either way)
    emails = wb[layout.EMAILS]
    for row in range(emails.max_row + 1, emails.max_row + 4):
        emails.cell(row, 1).fill = PatternFill("solid", fgColor="FFFF00")

    # Customers: every kind of cell in an extra column; a formula without a cached value
    customers = wb[layout.CUSTOMERS]
    customers["E1"] = "Misc"
    cells = [1e20, 1e15, 10**15 + 1, -0.0, 2.5, -7, True, False, dt.datetime(2026, 1, 5, 8, 0),
             dt.datetime(2026, 1, 5, 8, 0, 1, 250000), dt.date(1900, 1, 1), dt.time(13, 45),
             dt.timedelta(hours=30), "  spaced  ", "Ünïcödé ✓", "=1+1", 0.1 + 0.2]
    for number, cell in enumerate(cells, 2):
        customers.cell(number, 5, cell)

    # Spend: cents and whole amounts typed as decimals
    spend = wb[layout.SPEND]
    spend["B2"] = 1250.75
    spend["B3"] = 100.0

    # Targets: a note column, a text target, a blank row between rows, a row of one's own
    targets = wb[workbook.TARGETS]
    targets.insert_rows(8)
    targets["C5"] = "TBD"
    targets["D6"] = 0.255
    targets.cell(layout.TARGETS_FIRST_ROW + 3, layout.TARGETS_EXTRA_COL + 1, "see Q2 plan")
    last = targets.max_row + 1
    targets.cell(last, 1, "Team")
    targets.cell(last, 2, "My own KPI")
    targets.cell(last, 3, 42)

    # Settings: the as-of date typed with a time
    settings_ws = wb[workbook.SETTINGS]
    settings_ws.cell(layout.SETTINGS_ROWS["as_of"], 2, dt.datetime(2026, 5, 31, 17, 0))
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    return messy_workbook(tmp_path_factory.mktemp("messy"))


# --- the same Tracker ------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("options", [
    {},
    {"fiscal_start": 4, "as_of": D(2025, 10, 15)},
    {"reps": ODD_REPS, "currency": "RUB"},
], ids=["calendar", "fiscal-april", "odd-reps"])
def test_demo_trackers_read_the_same(tmp_path, options):
    tracker = assert_same_tracker(demo_file(tmp_path, **options))
    assert sum(len(sheet.rows) for sheet in tracker.data.values()) > 1000


def test_messy_workbook_reads_the_same(messy):
    tracker = assert_same_tracker(messy)
    leads = tracker.data[layout.LEADS]
    assert leads.header[:len(layout.DATA_COLUMNS[layout.LEADS])] == list(
        layout.DATA_COLUMNS[layout.LEADS])
    assert "Notes" in leads.header and "Column9" not in leads.header
    assert leads.rows[3][2] == "soon"
    assert tracker.settings.reps == ODD_REPS
    opportunities = tracker.data[layout.OPPORTUNITIES].rows
    assert opportunities[4] == opportunities[5] == [None] * 6  # blank rows kept in the middle
    assert tracker.data[layout.EMAILS].rows[-1] != [None] * 7  # and dropped at the bottom
    misc = [row[4] for row in tracker.data[layout.CUSTOMERS].rows[:17]]
    assert misc[:6] == [1e20, 10**15, 10**15 + 1, 0, 2.5, -7]
    assert [type(cell) for cell in misc[:6]] == [float, int, int, int, float, int]
    assert misc[15] is None  # a formula that was never calculated


@pytest.mark.libreoffice
def test_workbook_saved_by_libreoffice_reads_the_same(messy, tmp_path):
    """LibreOffice writes what Excel writes: cached formula values, shared strings, its own
    number and date formats; calamine and openpyxl must still agree on all of it."""
    assert soffice()
    saved = convert(messy, tmp_path / "saved")
    tracker = assert_same_tracker(saved)
    assert tracker.data[layout.CUSTOMERS].rows[15][4] == 2  # =1+1, calculated now


# the cells a person can type, as openpyxl writes them (a text starting with "=" would be a
# formula and one like "#N/A" an error: those are tested below)
CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12).filter(
        lambda text: not text.startswith("=") and text not in openpyxl.cell.cell.ERROR_CODES),
    st.dates(D(1900, 1, 1), D(9999, 12, 31)),
    # to the millisecond, as a person can type them (the readers round a half millisecond
    # differently, and openpyxl reads a time that rounds up to midnight as a day)
    st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(9999, 12, 30)).map(
        lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000)),
    st.times(dt.time(0, 0), dt.time(23, 59, 59, 999000)).map(
        lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000)),
)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    tracker = demo_tracker(2025, ["Anna"])
    for sheet in tracker.data.values():
        sheet.rows = sheet.rows[:5]
    return save(workbook.new_workbook(tracker), tmp_path_factory.mktemp("small") / "small.xlsx")




def in_date_range(cell) -> bool:
    """Whether a cell reads alike in a date-formatted column. A number outside Excel's dates
    there (negative, or after 9999) is a datetime before 1900 or "#VALUE!" to openpyxl and a
    time or the number to calamine: both then fail the report, with different messages."""
    return (isinstance(cell, bool) or not isinstance(cell, (int, float))
            or 0 <= cell < 2958466)


@pytest.mark.slow
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=1, max_size=8),
       st.lists(CELLS.filter(in_date_range), min_size=3, max_size=3))
def test_any_typed_cells_read_the_same(small, tmp_path, cells, known):
    wb = openpyxl.load_workbook(small)
    customers = wb[layout.CUSTOMERS]
    for row, row_cells in enumerate(cells, 2):  # extra columns, formatted General
        for column, cell in enumerate(row_cells, 5):
            customers.cell(row, column, cell)
    for column, cell in enumerate(known, 1):  # SpendDate (a date format), Spend, Channel
        wb[layout.SPEND].cell(3, column, cell)
    assert_same_tracker(save(wb, tmp_path / "cells.xlsx"))


# --- error cells ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_error_in_a_number_column_stops_the_report_as_before(copy):
    wb = load_typed(copy)
    wb[layout.OPPORTUNITIES]["F8"] = "#N/A"  # openpyxl writes an error cell
    wb.save(copy)
    tracker = assert_same_tracker(copy)
    assert tracker.data[layout.OPPORTUNITIES].rows[6][5] == "#N/A"
    with pytest.raises(InputError, match="Opportunities row 8: Amount '#N/A' is not a number"):
        Report(tracker).rows()


@pytest.mark.slow
def test_errors_in_settings_targets_and_end_dates_read_the_same(copy):
    wb = load_typed(copy)
    wb[workbook.TARGETS]["D6"] = "#DIV/0!"
    wb[layout.CUSTOMERS]["D3"] = "#REF!"  # EndDate: a blank there is a customer still active
    wb.save(copy)
    assert_same_tracker(copy)
    wb[workbook.SETTINGS].cell(layout.SETTINGS_ROWS["year"], 2, "#VALUE!")
    wb.save(copy)
    assert "'#VALUE!'" in assert_same_refusal(copy)


@pytest.mark.slow
def test_error_in_a_date_owner_or_stage_is_blank_as_the_formulas_count_it(copy):
    """The one designed difference: there an error cell counts as the tracker's COUNTIFS count
    it, not at all, which is what a blank does; the XML is not searched for it."""
    wb = load_typed(copy)
    wb[layout.OPPORTUNITIES]["D8"] = "#N/A"  # CloseDate
    wb[layout.OPPORTUNITIES]["B9"] = "#N/A"  # Owner
    wb[layout.LEADS]["F2"] = "Notes"
    wb[layout.LEADS]["F3"] = "#NAME?"  # an extra column
    wb.save(copy)
    fast, slow = values.read_tracker_values(copy), with_openpyxl(copy)
    assert slow.data[layout.OPPORTUNITIES].rows[6][3] == "#N/A"
    assert fast.data[layout.OPPORTUNITIES].rows[6][3] is None
    assert fast.data[layout.OPPORTUNITIES].rows[7][1] is None
    assert fast.data[layout.LEADS].rows[1][-1] is None
    for tracker in (fast, slow):  # nothing else differs
        tracker.data[layout.OPPORTUNITIES].rows[6][3] = None
        tracker.data[layout.OPPORTUNITIES].rows[7][1] = None
        tracker.data[layout.LEADS].rows[1][-1] = None
    assert typed(fast) == typed(slow)


def test_every_data_column_is_either_searched_for_errors_or_counts_them_as_blank():
    """A new data column must be sorted into one or the other (values._ERROR_AS_BLANK)."""
    known = {column for columns in layout.DATA_COLUMNS.values() for column in columns}
    searched = known - values._ERROR_AS_BLANK
    assert known >= values._ERROR_AS_BLANK
    assert searched == layout.NUMBER_COLUMNS | {"EndDate"}


# --- the same messages ----------------------------------------------------------------------

def _remove(sheet):
    def change(wb):
        del wb[sheet]
    return change


def _set(sheet, cell, value):
    def change(wb):
        wb[sheet][cell] = value
    return change


def _rename(sheet, title):
    def change(wb):
        wb[sheet].title = title
    return change


def _add_rep(name):
    def change(wb):
        ws = wb[workbook.SETTINGS]
        ws.cell(ws.max_row + 1, 1, name)
    return change


def _duplicate_target(wb):
    ws = wb[workbook.TARGETS]
    first = [cell.value for cell in ws[layout.TARGETS_FIRST_ROW]]
    ws.append(first)


BROKEN = {
    "no Settings": _remove(workbook.SETTINGS),
    "no marker sheet": _remove(workbook.META),
    "no Leads": _rename(layout.LEADS, "Leads (old)"),
    "a settings label moved": _set(workbook.SETTINGS, "A4", "Jahr"),
    "a year that is no year": _set(workbook.SETTINGS, "B4", "soon"),
    "a fiscal month of 13": _set(workbook.SETTINGS, "B5", 13),
    "an as-of date that is text": _set(workbook.SETTINGS, "B7", "today"),
    "a rep twice": _add_rep("ANNA"),
    "rep named Team": _add_rep("Team"),
    "Targets headers": _set(workbook.TARGETS, "A4", "Rep"),
    "a target row twice": _duplicate_target,
    "no Owner column": _set(layout.LEADS, "B1", "Rep"),
    "two Owner columns": _set(layout.LEADS, "E1", "owner"),
    "no Stage column": _set(layout.OPPORTUNITIES, "E1", None),
}


@pytest.mark.parametrize("change", list(BROKEN.values()), ids=list(BROKEN))
def test_broken_trackers_give_the_readers_message(copy, change):
    wb = load_typed(copy)
    change(wb)
    wb.save(copy)
    message = assert_same_refusal(copy)
    assert "\n" not in message and message.startswith("tracker.xlsx")


def _zip(path: Path, parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def _bomb(path: Path, demo: Path) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
            b'<coreProperties>&lol;</coreProperties>')
    with zipfile.ZipFile(demo) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, bomb if item.filename == "docProps/core.xml" else data)


FILES = {
    "missing": lambda path, demo: None,
    "a folder": lambda path, demo: path.mkdir(),
    "empty": lambda path, demo: path.write_bytes(b""),
    "text": lambda path, demo: path.write_text("Owner,Stage\nAnna,Won\n"),
    "old xls": lambda path, demo: path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(99)),
    "truncated": lambda path, demo: path.write_bytes(demo.read_bytes()[:5000]),
    "a zip but no workbook": lambda path, demo: _zip(path, {"word/document.xml": b"<w/>"}),
    "an XML bomb": _bomb,
    "not a tracker": lambda path, demo: openpyxl.Workbook().save(path),
}


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".csv"])
@pytest.mark.parametrize("make", list(FILES.values()), ids=list(FILES))
def test_bad_files_give_the_same_message(demo, tmp_path, make, suffix):
    path = tmp_path / f"tracker{suffix}"
    make(path, demo)
    with pytest.raises(TrackerFileError) as fast:
        values.read_tracker_values(path)
    with pytest.raises(TrackerFileError) as slow:
        with_openpyxl(path)
    assert str(fast.value) == str(slow.value)


def test_zip_bomb_guard(demo, monkeypatch):
    monkeypatch.setattr(archive_checks, "MAX_UNCOMPRESSED", 100_000)
    with pytest.raises(TrackerFileError, match=r"refusing to open it \(a zip bomb\?\)"):
        values.read_tracker_values(demo)


# --- when calamine cannot: openpyxl -------------------------------------------------------------

@pytest.mark.slow
def test_without_python_calamine_openpyxl_reads_it(messy, monkeypatch):
    monkeypatch.setitem(sys.modules, "python_calamine", None)  # import fails
    calls = []
    real = values._read_with_openpyxl
    monkeypatch.setattr(values, "_read_with_openpyxl",
                        lambda path, *rest: calls.append(path) or real(path, *rest))
    assert typed(values.read_tracker_values(messy)) == typed(with_openpyxl(messy))
    assert calls == [messy]


def test_a_part_calamine_cannot_parse_goes_to_openpyxl(copy, monkeypatch):
    import python_calamine

    def refuse(self, title):
        raise python_calamine.CalamineError("bad XML")

    monkeypatch.setattr(values.CalamineSheets, "sheet", refuse)
    assert typed(values.read_tracker_values(copy)) == typed(with_openpyxl(copy))


@pytest.mark.slow
def test_error_cells_not_found_in_the_xml_go_to_openpyxl(copy, monkeypatch):
    """An error cell without a reference: calamine's blank cannot be given its text."""
    wb = load_typed(copy)
    wb[workbook.TARGETS]["D6"] = "#DIV/0!"
    wb.save(copy)
    calls = []
    real = values._read_with_openpyxl
    monkeypatch.setattr(values, "_read_with_openpyxl",
                        lambda path, *rest: calls.append(path) or real(path, *rest))
    monkeypatch.setattr(values, "_REF", re.compile(rb"(?!)"))  # no reference found
    assert typed(values.read_tracker_values(copy)) == typed(with_openpyxl(copy))
    assert calls == [copy]


# --- the pieces ---------------------------------------------------------------------------------

def test_cells_as_openpyxl_gives_them():
    column = ["", 5.0, 2.5, -0.0, 1e16, 9.0e15, True, "text", D(2026, 1, 5),
              dt.datetime(2026, 1, 5, 8, 30), dt.time(7), 1]
    assert values.as_openpyxl_column(column) == [
        None, 5, 2.5, 0, 1e16, 9 * 10**15, True, "text", dt.datetime(2026, 1, 5),
        dt.datetime(2026, 1, 5, 8, 30), dt.time(7), 1]
    converted = values.as_openpyxl_column(column)
    assert [type(cell) for cell in converted[1:7]] == [int, float, int, float, int, bool]
    assert type(converted[8]) is dt.datetime


@pytest.mark.parametrize("column, expected", [
    (["", "", ""], [None, None, None]),
    (["a", "", "b"], ["a", None, "b"]),
    ([1.0, "", 2.5], [1, None, 2.5]),
    ([D(2026, 1, 5), "", "soon", D(2026, 1, 5)],
     [dt.datetime(2026, 1, 5), None, "soon", dt.datetime(2026, 1, 5)]),
    ([True, 1.0, D(2026, 1, 1), 1], [True, 1, dt.datetime(2026, 1, 1), 1]),  # True == 1 == 1.0
    ([False, 0.0, ""], [False, 0, None]),
])
def test_columns_by_kind(column, expected):
    converted = values.as_openpyxl_column(column)
    assert typed(list(converted)) == typed(expected)


@pytest.mark.parametrize("cells", [
    {},
    {"A1": "a"},
    {"A1": "a", "C1": 1, "B3": "b", "D4": D(2026, 1, 1)},
    {"B2": 2.5, "A5": "x"},  # nothing in row 1
    {"A1": "h", "B1": "g", "E1": "f", "B3": 1, "B4": dt.datetime(2026, 1, 5, 8, 30)},
])
def test_sheet_rows_from_calamine_as_from_openpyxl(tmp_path, cells):
    """CalamineRows gives the reader what reader.ListedRows gives of openpyxl's read-only,
    data-only worksheet: rows, row 1, the columns holding a value, any columns' rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for ref, value in cells.items():
        ws[ref] = value
    path = save(wb, tmp_path / "s.xlsx")
    opened = openpyxl.load_workbook(path, read_only=True, data_only=True)
    import python_calamine

    expected = reader.ListedRows.of_worksheet(opened["S"])
    with values.CalamineSheets(python_calamine.CalamineWorkbook.from_path(str(path)),
                               path) as book:
        ours = book.sheet("S")
        width = len(expected.filled())

        def padded(rows):  # openpyxl pads every row to the sheet's width
            return [tuple(row) + (None,) * (width - len(row)) for row in rows]

        assert padded(ours.rows()) == padded(expected.rows())
        assert padded([ours.header()]) == padded([expected.header()])
        assert ours.filled() == expected.filled()
        for order in [[0], [max(width - 1, 0), 0], list(range(width)), [width + 2, 1]]:
            assert ours.body(order) == expected.body(order), order
    opened.close()

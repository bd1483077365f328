"""A tracker's cell values, read fast, for ``xlkpi report``: python-calamine reads the cells and
:func:`xlkpi.tracker.reader.read_sheets` makes them the Tracker.

openpyxl takes most of a minute to read a tracker of a million data cells; python-calamine (a
Rust reader) reads the same values about ten times faster. Like openpyxl's ``data_only`` it gives
the value a formula cell last showed, which is what a report reads (a date typed as
=DATE(2026,1,5) is a date).

What the Tracker holds is the reader's business: settings by their labels, target rows by Who
and KPI name, data columns by header name wherever they stand, extra columns, trailing blank
rows dropped, blank rows in the middle kept for the row numbers of messages, and every message.
So this module hands :func:`~xlkpi.tracker.reader.read_sheets` each sheet as
:class:`CalamineRows` (a :class:`~xlkpi.tracker.reader.SheetRows`: row 1, which columns hold
anything, the rows of the columns the reader keeps) whose cells are what openpyxl would give for
the same file (``load_workbook(path, read_only=True, data_only=True)``). Where calamine differs,
the cells are made equal:

- a blank cell is "" in calamine: None, as in openpyxl;
- a number is always a float in calamine; openpyxl gives an int where the file holds a whole
  number written without a point or exponent, which is every whole number below 10**16 as
  Excel, LibreOffice and openpyxl write them: those become ints;
- a date-formatted whole day is a ``date`` in calamine: a ``datetime`` at midnight, as in
  openpyxl (datetimes with a time, times and durations already agree, to the millisecond);
- an error cell (#N/A, #DIV/0!...) is blank in calamine; openpyxl gives its text. Where a
  blank counts for something (a blank number is 0, a blank EndDate a customer still active)
  that would silently change a number, so there, and in Settings and Targets, the sheet's XML
  is searched for error cells, which get their text and stop the report as before
  ("Opportunities row 8: Amount '#N/A' is not a number"). Elsewhere (the dates of events,
  owners, stages, names, extra columns) an error stays blank: the tracker's COUNTIFS do not
  count an error either, so report and workbook agree, and searching there would add a sixth
  to the reading time (the XML inflated a second time) for cells that change no number.

Left as calamine gives them (tests/test_values.py): whole numbers beyond 2**53 (calamine parses
them as floats), a number outside Excel's dates in a date-formatted cell (openpyxl: a datetime
before 1900 or "#VALUE!"; calamine: a time or the number), a time within half a millisecond of
a rounding step, and an empty text, such as a formula's "" (None here, "" to openpyxl: blank to
the reader and the report alike).

Checks first: the file is checked as :func:`xlkpi.xlsx.guards.open_workbook` checks it (no such
file, not an xlsx, damaged, a zip or XML bomb), with its messages. Should python-calamine be
missing, or fail on a workbook, the file is read with openpyxl instead: slower, same Tracker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import re
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import repeat
from pathlib import Path

import numpy as np

from xlkpi.core import lang
from xlkpi.tracker import reader
from xlkpi.tracker.data import column_keys
from xlkpi.tracker.formula_scan import (
    sheets_with_formulas,
    skipped_columns,
    uncached_formulas,
)
from xlkpi.tracker.model import (
    DATA_COLUMNS,
    DATA_SHEETS,
    OPPORTUNITIES,
    SETTINGS,
    STAGE_CLASS_COLUMN,
    TARGETS,
    Tracker,
    title,
)
from xlkpi.tracker.prefetch import ReadAhead, read_ahead, worth_a_thread
from xlkpi.tracker.problems import CellProblem, group
from xlkpi.xlsx.guards import check_archive, open_workbook
from xlkpi.xlsx.parts import column_index, sheet_parts, xml_text
from xlkpi.xlsx.save import EXTENSIONS

# openpyxl reads a number as an int unless its text has a point or an exponent; Excel,
# LibreOffice and openpyxl ("%.16g") write whole numbers below this without either.
_WHOLE_BELOW = 1e16
_CHUNK = 1 << 18  # bytes of sheet XML searched at a time for error cells (fits a cache)
# An error cell: <c r="D8" t="e"><f>1/0</f><v>#DIV/0!</v></c>, as every writer we know writes
# it (Excel, LibreOffice, openpyxl); the search for the mark is what the check costs, after
# inflating the XML, so it is one pass of one simple pattern.
_ERROR_MARK = re.compile(rb"t=[\"']e[\"']")
_SEAM = 8  # bytes kept from the end of one chunk, so that a mark across two is found
# Data columns where an error cell read as blank counts as the tracker's formulas count the
# error: not at all (COUNTIFS matches no error), so a row with an error date is not counted in
# the period, an error owner is no rep's and an error stage neither won nor lost; names are not
# counted. In the other columns a blank counts (a blank number is 0, a blank EndDate a customer
# still active): a sheet with a blank cell there has its XML searched for error cells, so that
# an error stops the report, naming the row, as openpyxl's reading does.
_ERROR_AS_BLANK = frozenset({"Lead", "Owner", "LeadDate", "SQLDate", "Source", "SpendDate",
                             "Channel", "Opportunity", "CreatedDate", "CloseDate", "Stage",
                             "SendDate", "Customer", "StartDate"})
_BLANK_COUNTS = {sheet: frozenset(column.lower() for column in columns
                                  if column not in _ERROR_AS_BLANK)
                 for sheet, columns in DATA_COLUMNS.items()}
_ERROR_CELL = re.compile(rb"<(?:[\w.-]+:)?c\b([^>]*?\bt=[\"']e[\"'][^>]*)>(.*?)"
                         rb"</(?:[\w.-]+:)?c>", re.S)
_REF = re.compile(rb"\br\s*=\s*[\"']\$?([A-Za-z]{1,3})\$?([0-9]+)[\"']")
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v>([^<]*)<", re.S)


def read_tracker_values(path: str | os.PathLike) -> Tracker:
    """The Tracker a person typed into the workbook at ``path``, formulas as the values they last
    showed: what :func:`xlkpi.tracker.reader.read_tracker` gives for ``file.open_tracker(path,
    values=True)``, read about ten times faster. A TrackerFileError (one line: what is wrong and
    what to do) when the file is missing, not an xlsx, damaged, too large or not a tracker."""
    return _read_values(Path(path), {})


def _read_values(path: Path, headers: dict[str, Sequence],
                 classes: dict[str, Sequence] | None = None,
                 ahead: ReadAhead | None = None) -> Tracker:
    """read_tracker_values; ``headers`` gets each data sheet's row 1 as it stands, ``classes``
    the StageClass cells of Opportunities below it (calamine's, "" blank), when read fast."""
    check_file(path)
    try:
        from python_calamine import CalamineError, CalamineWorkbook
    except ImportError:  # not installed (or no wheel for the platform): openpyxl reads it
        return _read_with_openpyxl(path, headers)
    with paused_gc():
        try:
            return _read_with_calamine(CalamineWorkbook, path, headers, classes, ahead)
        except (CalamineError, zipfile.BadZipFile, ElementTree.ParseError, _ErrorCellsUnknown):
            # calamine cannot read it, or its error cells cannot be found: openpyxl reads it,
            # or gives its own one-line message for what is damaged
            return _read_with_openpyxl(path, headers)


@contextlib.contextmanager
def paused_gc(freeze: bool = False) -> Iterator[None]:
    """Python's cyclic garbage collector paused, then as it was.

    Reading a tracker makes hundreds of thousands of lists and millions of cells, none in a
    cycle, and the collector would walk them all again and again (half the time of building
    the rows). Once it runs again, its first collection walks everything made meanwhile; with
    ``freeze`` (for a command that ends soon after) that is skipped: what exists then is moved
    out of the collector's sight for good (gc.freeze; reference counting still frees it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


def check_file(path: Path) -> None:
    """open_workbook's checks of the file, before any reader touches it.

    open_workbook says what is wrong with anything that is not a file with an .xlsx or .xlsm
    name (no such file, a folder, an .xls, a .csv...), so such a path goes to it; then the
    archive check (not a zip, not a workbook, damaged, a zip bomb, an XML bomb).
    """
    if not path.is_file() or path.suffix.lower() not in EXTENSIONS:
        open_workbook(path, values=True).close()
    check_archive(path)


def _read_with_calamine(calamine, path: Path, headers: dict[str, Sequence],
                        classes: dict[str, Sequence] | None = None,
                        ahead: ReadAhead | None = None) -> Tracker:
    with CalamineSheets(calamine.from_path(str(path)), path) as book:
        book.read_ahead(ahead)
        tracker = reader.read_sheets(book.titles, book.sheet, path.name)
        with lang.using(tracker.settings.language):  # the sheets' titles and headers
            for name in DATA_SHEETS:
                headers[name] = book.sheet(title(name)).header()
            stage_class = skipped_columns(OPPORTUNITIES, headers[OPPORTUNITIES])
        if classes is not None and stage_class:
            with lang.using(tracker.settings.language):
                opportunities = book.sheet(title(OPPORTUNITIES))
            columns = opportunities._columns  # noqa: SLF001 - this module's class
            index = column_index(stage_class[0]) - 1
            classes[OPPORTUNITIES] = columns[index] if index < len(columns) else ()
    return tracker


def _read_with_openpyxl(path: Path, headers: dict[str, Sequence] | None = None) -> Tracker:
    wb = open_workbook(path, values=True)
    try:
        tracker = reader.read_tracker(wb, path.name)
        with lang.using(tracker.settings.language):
            for name in DATA_SHEETS if headers is not None else ():
                headers[name] = next(iter(wb[title(name)].iter_rows(max_row=1,
                                                                    values_only=True)), ())
        return tracker
    finally:
        wb.close()


class _ErrorCellsUnknown(Exception):
    """A sheet's error cells (blank to calamine) cannot be found in its XML (no part for the
    sheet, an error cell without a reference): openpyxl reads the file instead."""


class CalamineSheets:
    """The sheets of a workbook opened by python-calamine, each as :class:`CalamineRows` (what
    :func:`xlkpi.tracker.reader.read_sheets` reads), read when first asked for, with the text
    of its error cells where they matter (see _ERROR_AS_BLANK)."""

    def __init__(self, book, path: Path):
        self._book = book
        self._archive = zipfile.ZipFile(path)
        self._path = path
        self.titles: list[str] = list(book.sheet_names)
        self._sheets: dict[str, CalamineRows] = {}
        self._parts: dict[str, str] | None = None
        self._ahead: dict[str, Future] = {}
        self._read_ahead: ReadAhead | None = None

    def read_ahead(self, ahead: ReadAhead | None) -> None:
        """Take the sheets ``ahead`` reads in its thread (tracker.prefetch), or start such a
        reading: about half the data sheets' cells of a large tracker."""
        found = ahead.sheets(self._path) if ahead is not None else {}
        if not found:
            if ahead is not None:
                ahead.close()
            ahead = read_ahead(self._path)
            found = ahead.sheets(self._path) if ahead is not None else {}
        if ahead is not None:
            self._read_ahead = ahead
            self._ahead = dict(found)

    def sheet(self, title: str) -> CalamineRows:
        if title not in self._sheets:
            ahead = self._ahead.pop(title, None)
            grid = ahead.result() if ahead is not None else self._book.get_sheet_by_name(
                title).to_python(skip_empty_area=False)
            sheet = CalamineRows(grid)
            if sheet.errors_matter(title) and self._patch_errors(title, grid):
                sheet = CalamineRows(grid)
            self._sheets[title] = sheet
        return self._sheets[title]

    def close(self) -> None:
        close = getattr(self._book, "close", None)  # python-calamine 0.3 and later
        if close is not None:
            close()
        if self._read_ahead is not None:
            self._read_ahead.close()  # the second workbook, with the thread
            self._read_ahead = None
        self._archive.close()

    def __enter__(self) -> CalamineSheets:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _patch_errors(self, name: str, grid: list[list]) -> bool:
        """Give the sheet's error cells, blank in calamine's ``grid``, their text (openpyxl's
        value); whether there were any."""
        errors = self._error_cells(name)
        for (row, col), text in errors.items():
            while row >= len(grid):
                grid.append([])
            if col >= len(grid[row]):
                grid[row].extend([""] * (col + 1 - len(grid[row])))
            grid[row][col] = text
        return bool(errors)

    # --- error cells, from the sheet's XML ------------------------------------------------------

    def _part(self, name: str) -> str:
        """The sheet's XML part in the archive, from xl/workbook.xml and its relationships."""
        if self._parts is None:
            self._parts = sheet_parts(self._archive, self._path)
        if name not in self._parts:
            raise _ErrorCellsUnknown(f"no part for the sheet {name}")
        return self._parts[name]

    def _error_cells(self, name: str) -> dict[tuple[int, int], str]:
        """(row, column) from 0 → the text of each error cell of the sheet: openpyxl's value."""
        part = self._part(name)
        if not _has_error_cell(self._archive, part):
            return {}
        found = {}
        for match in _ERROR_CELL.finditer(self._archive.read(part)):
            ref = _REF.search(match.group(1))
            value = _VALUE.search(match.group(2))
            if ref is None:
                raise _ErrorCellsUnknown(f"{name}: an error cell without a reference")
            if value is None:
                continue  # no value: openpyxl reads it as blank too
            letters, number = ref.groups()
            found[int(number) - 1, column_index(letters) - 1] = xml_text(value.group(1))
        return found


class CalamineRows:
    """reader.SheetRows of one sheet's cells as python-calamine gives them
    (``to_python(skip_empty_area=False)``: "" for a blank cell), each cell as openpyxl gives it
    (see the module's docstring). The sheet is held by columns: a column is converted when asked
    for, in one pass, and rows are put together in C (``zip``) rather than cell by cell."""

    def __init__(self, grid: list[list]):
        if len(set(map(len, grid))) > 1:
            _even(grid)
        self._header = grid[0] if grid else []
        self._columns = _columns(grid[1:], len(self._header))  # below row 1

    def rows(self) -> list[tuple]:
        if not self._header:
            return []
        body = zip(*map(as_openpyxl_column, self._columns), strict=True)
        return [self.header(), *body]

    def header(self) -> tuple:
        return tuple(as_openpyxl_column(self._header))

    def filled(self) -> list[bool]:
        return [_has_data(column) for column in self._columns]

    def body(self, order: Sequence[int]) -> list[list]:
        columns = self._columns
        height = len(columns[0]) if columns else 0
        kept = [as_openpyxl_column(columns[index]) if index < len(columns)
                else repeat(None, height) for index in order]
        return list(map(list, zip(*kept, strict=True)))

    def errors_matter(self, name: str) -> bool:
        """Whether error cells, which calamine shows blank, could change the Tracker's meaning
        if this is the sheet ``name``: anywhere in Settings and Targets (small sheets); in a
        data sheet, a blank cell in a column where a blank counts (see _ERROR_AS_BLANK). Only
        then is the sheet's XML searched."""
        if name in (title(SETTINGS), title(TARGETS)):  # the reader puts the language in force
            return True
        sheet_ids = {title(sheet_id): sheet_id for sheet_id in DATA_SHEETS}
        if name not in sheet_ids:
            return False
        counting = _BLANK_COUNTS[sheet_ids[name]]
        return any(isinstance(key, str) and key in counting and "" in column
                   for key, column in zip(column_keys(self._header), self._columns,
                                          strict=True))


def _columns(rows: list[list], width: int) -> list[Sequence]:
    """The columns of rows of ``width`` cells each."""
    if not rows:
        return [() for _ in range(width)]
    return list(zip(*rows, strict=True))


def _even(grid: list[list]) -> None:
    """Every row as wide as the widest, with blank cells."""
    width = max(map(len, grid))
    for cells in grid:
        cells.extend([""] * (width - len(cells)))


def _has_data(column: Sequence) -> bool:
    """Whether a column of calamine's cells holds anything ("" is a blank cell)."""
    if not column:
        return False
    return column[0] != "" or column[-1] != "" or column.count("") < len(column)


def _has_error_cell(archive: zipfile.ZipFile, part: str) -> bool:
    """Whether the sheet's XML holds a cell of type "e", searched a chunk at a time."""
    with archive.open(part) as xml:
        tail = b""
        while chunk := xml.read(_CHUNK):
            if _ERROR_MARK.search(chunk) or _ERROR_MARK.search(tail + chunk[:_SEAM]):
                return True
            tail = chunk[-_SEAM:]
    return False


# --- calamine's values as openpyxl's ---------------------------------------------------------

_BLANK = {"": None}
_NONE = type(None)
_NUMBERS_OR_BLANK = frozenset({float, _NONE})
_DAYS_OR_TEXT = frozenset({dt.date, dt.datetime, str})


class _Days(dict):
    """Cell → openpyxl's value, for a column of dates: "" (blank) → None, a date → the datetime
    at its midnight (each distinct date converted once), anything else as it is."""

    __slots__ = ()

    def __init__(self):
        super().__init__(_BLANK)

    def __missing__(self, cell):
        if type(cell) is not dt.date:  # a datetime or a text: as it is (and not kept)
            return cell
        self[cell] = midnight = dt.datetime(cell.year, cell.month, cell.day)
        return midnight


def _whole(cell):
    if type(cell) is float and cell.is_integer() and -_WHOLE_BELOW < cell < _WHOLE_BELOW:
        return int(cell)
    return cell


def _whole_numbers(column: list) -> list:
    """A column of floats and None with each whole number (below 10**16) as an int."""
    numbers = np.fromiter(column, np.float64, count=len(column))  # None becomes NaN
    with np.errstate(invalid="ignore"):
        whole = (numbers == np.trunc(numbers)) & (np.abs(numbers) < _WHOLE_BELOW)  # not NaN
    if not whole.any():
        return column
    cells = np.empty(len(column), dtype=object)
    cells[:] = column
    cells[whole] = numbers[whole].astype(np.int64)  # stored as Python ints
    return cells.tolist()


def as_openpyxl_column(column: Sequence) -> Sequence:
    """One column of calamine's cells as openpyxl gives them (see the module's docstring)."""
    types = set(map(type, column))
    if dt.date in types and types <= _DAYS_OR_TEXT:  # dates, maybe blanks: one pass
        return list(map(_Days().__getitem__, column))
    if str in types and "" in column:
        column = list(map(_BLANK.get, column, column))  # "" → None, any other cell as it is
        # whether text is left matters below only among numbers or dates
        types = set(map(type, column)) if len(types) > 1 else {str, _NONE}
    if float in types:
        column = (_whole_numbers(column) if types <= _NUMBERS_OR_BLANK
                  else list(map(_whole, column)))
    if dt.date in types:  # among numbers or booleans: True == 1 == 1.0 as keys of _Days
        days = _Days()
        column = [days[cell] if type(cell) is dt.date else cell for cell in column]
    return column


def read_checked(path: str | os.PathLike, ahead: ReadAhead | None = None
                 ) -> tuple[Tracker, list[CellProblem]]:
    """read_tracker_values, and the formula cells without a stored result it read as blank
    (uncached_formulas) and the Opportunities rows with a Stage but no StageClass formula
    (_unclassified; their sheet XML searched only when a StageClass cell with a Stage shows
    nothing): what ``xlkpi report`` and ``refresh`` name with Report.problems."""
    path = Path(path)
    headers: dict[str, Sequence] = {}
    classes: dict[str, Sequence] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the sheets' XML inflated meanwhile (zlib lets go of the GIL): the formula scan's
        # main cost, overlapping the reading of the values
        inflated = pool.submit(sheets_with_formulas, path) if worth_a_thread(path) else None
        tracker = _read_values(path, headers, classes, ahead)
        with lang.using(tracker.settings.language):  # the sheets' titles and headers
            headers[TARGETS] = ()
            candidates = _unclassified(tracker, classes.get(OPPORTUNITIES))
            with_formula: dict[str, set[int]] = {}
            found = uncached_formulas(path, headers, with_formula if candidates else None,
                                      inflated.result() if inflated is not None else None)
    formulas = with_formula.get(OPPORTUNITIES)
    if not candidates or formulas is None:
        return tracker, found
    rows = [row for row in candidates if row not in formulas]
    return tracker, found + group(
        [(OPPORTUNITIES, STAGE_CLASS_COLUMN, row, "no stage class") for row in rows])


def _unclassified(tracker: Tracker, classes: Sequence | None) -> list[int]:
    """Opportunities rows with a Stage whose StageClass cell shows nothing (all rows with a Stage
    when its cells were not read): those without a StageClass formula are among them (pasted
    below the table where the application does not extend it). The workbook counts such a row
    neither won nor lost, and so does the report (Report), naming them (issue 10, item 7)."""
    sheet = tracker.data.get(OPPORTUNITIES)
    if sheet is None or "Stage" not in sheet.header:
        return []
    index = list(sheet.header).index("Stage")
    return [number for number, row in enumerate(sheet.rows, 2)
            if index < len(row) and row[index] not in (None, "")
            and (classes is None or number - 2 >= len(classes) or classes[number - 2] == "")]


"""The rows of the tracker's data sheets as the report reads them: each column converted once
(dates as day serials, numbers as floats, stages as classes, the tracker's rules: xlkpi.report),
rows grouped by owner and sorted by a date column, so that the rows of a period are a slice: a
count is its length, a sum its sum."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from xlkpi.core import lang
from xlkpi.core.cells import number_from_text, owner_key, to_dates, to_numbers
from xlkpi.core.errors import InputError
from xlkpi.core.periods import EXCEL_EPOCH, Period, parse_iso_date
from xlkpi.core.stages import StageMap
from xlkpi.core.texts import to_stage_classes
from xlkpi.tracker import model as layout
from xlkpi.tracker.model import DataSheet, cells_at, title
from xlkpi.tracker.problems import CellProblem, group

# Data rows start below the header row: the first data row is sheet row 2.
FIRST_DATA_ROW = 2
WON, LOST = 1, -1  # texts.to_stage_classes; open is 0
TEAM = None  # the owner key of the team: every row


class Sheet:
    """One data sheet's columns, each converted at most once, and its rows by owner and date."""

    def __init__(self, name: str, sheet: DataSheet | None, stage_map: StageMap | None = None):
        self.name = name
        self.stage_map = stage_map
        self.header = list(sheet.header) if sheet else list(layout.DATA_COLUMNS[name])
        self.rows = sheet.rows if sheet else []
        self._columns: dict[str, np.ndarray] = {}
        self._moments: dict[str, np.ndarray] = {}  # date columns' moments, NaN: not yet
        self._cells: dict[str, list[object]] = {}  # columns' cells as read (_values)
        self.owner_groups: dict[str | None, np.ndarray] | None = None
        self._dated: dict[tuple[str, str | None, int | None, str | None], Dated] = {}
        self.problems: list[CellProblem] = []  # dates and numbers typed as text
        self.unclassified: list[int] = []  # rows without a StageClass formula: no class

    def _values(self, column: str) -> list[object]:
        """The cells of ``column`` as read (not to be changed: kept for the next caller)."""
        if column not in self._cells:
            self._cells[column] = self._read_column(column)
        return self._cells[column]

    def _read_column(self, column: str) -> list[object]:
        if column in self.header:
            index = self.header.index(column)
        else:
            folded = [str(name).strip().casefold() for name in self.header]
            if column.casefold() not in folded:
                raise InputError(lang.text("report.errors.no_column", sheet=title(self.name),
                                           column=column_header(column)))
            index = folded.index(column.casefold())
        return cells_at(self.rows, index)

    def _convert(self, column: str, convert: Callable, kind: str) -> np.ndarray:
        """The column converted; as the workbook's formulas read it: a date or number typed as
        text is blank (COUNTIFS and SUMIFS skip text), and noted in ``problems``. Any other
        cell that is no date or number stops the report, naming the row."""
        values = self._values(column)
        try:
            return convert(values, column)
        except InputError:
            pass
        values = list(values)
        as_text = parse_iso_date if kind == "date" else number_from_text
        texts = []
        for index, value in enumerate(values):
            number = index + FIRST_DATA_ROW
            if isinstance(value, str) and value.strip() and as_text(value) is not None:
                texts.append(number)
                values[index] = None
                continue
            try:
                convert([value], column)
            except InputError:
                raise InputError(lang.text(f"report.errors.not_a_{kind}", sheet=title(self.name),
                                           row=number, column=column_header(column),
                                           value=repr(value))) from None
        self.problems += group([(self.name, column, row, f"text {kind}") for row in texts])
        return convert(values, column)

    def column(self, column: str) -> np.ndarray:
        """Dates as day serials (NaN blank), numbers as floats (blank 0), stages as classes
        (WON, LOST, 0 open)."""
        if column not in self._columns:
            if column in layout.DATE_COLUMNS:
                converted = self._convert(column, tracker_dates, "date")
            elif column in layout.NUMBER_COLUMNS:
                converted = self._convert(column, to_numbers, "number")
            else:  # Stage
                converted = to_stage_classes(self._values(column), stage_map=self.stage_map)
                if self.unclassified:  # as the workbook: neither won nor lost (issue 10, 7)
                    converted = converted.copy()
                    converted[[row - FIRST_DATA_ROW for row in self.unclassified
                               if row - FIRST_DATA_ROW < len(converted)]] = 0
            self._columns[column] = converted
        return self._columns[column]

    def owner_rows(self, key: str | None) -> np.ndarray:
        """Row numbers (0-based, ascending) owned by ``key``; every row for the team."""
        if key is TEAM:
            return np.arange(len(self.rows))
        if self.owner_groups is None:
            self.owner_groups = owner_groups(self._values("Owner"))
        return self.owner_groups.get(key, np.empty(0, dtype=np.intp))

    def dated(self, column: str, key: str | None, stage: int | None = None,
              filled: str | None = None) -> Dated:
        """The rows of ``key`` (only those of the ``stage`` class when given, and those whose
        date column ``filled`` holds a date when given) in the order of their ``column``
        date."""
        known = (column, key, stage, filled)
        if known not in self._dated:
            rows = self.owner_rows(key)
            if stage is not None:
                rows = rows[self.column("Stage")[rows] == stage]
            if filled is not None:
                assert filled in layout.DATE_COLUMNS, filled
                rows = rows[~np.isnan(self.column(filled)[rows])]
            self._dated[known] = Dated(self, rows, self.column(column)[rows])
        return self._dated[known]

    def moments(self, column: str, rows: np.ndarray) -> np.ndarray:
        """The date cells of ``column`` in ``rows`` as serials with their time of day, what
        SUMIFS adds up over a date column (and what Excel subtracts in =B2-A2); 0 where blank
        (or a date typed as text, which SUMIFS skips). Each row's worked out once (the team's
        rows are every rep's again), NaN until asked for."""
        known = self._moments.get(column)
        if known is None:
            known = self._moments[column] = np.full(len(self.rows), np.nan)
        todo = rows[np.isnan(known[rows])].tolist()
        if todo:
            days, cells = self.column(column), self._values(column)
            for row in todo:
                known[row] = _moment(cells[row], days[row])
        return known[rows]


def _moment(cell: object, day: float) -> float:
    """A date cell's serial with its time of day; 0 for a blank day (NaN)."""
    if day != day:  # blank, or a date typed as text
        return 0.0
    if type(cell) is dt.datetime:
        try:
            return (cell - _EPOCH_MOMENT) / _DAY
        except TypeError:  # with a time zone: its wall-clock time, as Excel shows it
            return (cell.replace(tzinfo=None) - _EPOCH_MOMENT) / _DAY
    if isinstance(cell, dt.datetime):
        return (cell.replace(tzinfo=None) - _EPOCH_MOMENT) / _DAY
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return float(cell)
    return float(day)


def column_header(column: str) -> str:
    """A data column's header in the language in force (as the sheet shows it)."""
    return lang.active().texts.get(f"columns.{column}", column)


_EPOCH_MOMENT = dt.datetime.combine(EXCEL_EPOCH, dt.time())
_DAY = dt.timedelta(days=1)


def tracker_dates(values: list[object], column: str) -> np.ndarray:
    """Dates as the tracker's formulas read them: ISO date text is not a date."""
    return to_dates(values, column, text=False)


def owner_groups(owners: list[object]) -> dict[str, np.ndarray]:
    """Owner key → the rows (ascending) whose owner cell has that key; blank owners in none."""
    if not owners:
        return {}
    if bool in set(map(type, owners)):  # True == 1 as a dict key: look at each cell alone
        keys = list(map(owner_key, owners))
        owners, key_of = keys, {key: key for key in keys}
    else:  # each distinct cell's key worked out once
        key_of = {value: owner_key(value) for value in dict.fromkeys(owners)}
    number: dict[str | None, int] = {}
    number_of = {value: number.setdefault(key, len(number)) for value, key in key_of.items()}
    codes = np.fromiter(map(number_of.__getitem__, owners), np.intp, count=len(owners))
    if len(number) < 1 << 15:  # numpy sorts 16-bit integers stably by radix: ten times faster
        codes = codes.astype(np.int16)
    order = np.argsort(codes, kind="stable")  # by owner, rows ascending within each
    bounds = np.cumsum(np.bincount(codes, minlength=len(number)))[:-1]
    return {key: rows for key, rows in zip(number, np.split(order, bounds), strict=True)
            if key is not None}


def date_order(dates: np.ndarray) -> np.ndarray:
    """The stable sorting order of day serials, blanks (NaN) last.

    Days within 179 years of each other sort as 16-bit offsets, which numpy sorts by radix,
    several times faster than floats."""
    blank = np.isnan(dates)
    known = dates[~blank]
    if len(known):
        first = known.min()
        if known.max() - first < 0xFFFF:
            offsets = dates - first
            offsets[blank] = 0xFFFF
            return np.argsort(offsets.astype(np.uint16), kind="stable")
    return np.argsort(dates, kind="stable")


class Dated:
    """Some rows of a sheet sorted by one date column (stably: ties in sheet order; blank dates
    last), so that the rows dated in a period, exactly those the definition counts, are a
    slice: a count is its length, a sum its sum."""

    __slots__ = ("_sheet", "rows", "dates", "_sorted")

    def __init__(self, sheet: Sheet, rows: np.ndarray, dates: np.ndarray):
        order = date_order(dates)
        self._sheet = sheet
        self.rows = rows[order]
        self.dates = dates[order]
        self._sorted: dict[object, np.ndarray] = {}

    def values(self, column: str) -> np.ndarray:
        """The converted ``column`` of these rows, in this order."""
        if column not in self._sorted:
            self._sorted[column] = self._sheet.column(column)[self.rows]
        return self._sorted[column]

    def moments(self, column: str) -> np.ndarray:
        """The date ``column`` of these rows with the time of day (see Sheet.moments)."""
        if (column, "moments") not in self._sorted:
            self._sorted[column, "moments"] = self._sheet.moments(column, self.rows)
        return self._sorted[column, "moments"]

    def spans(self, windows: Windows) -> list[tuple[int, int]]:
        """(first, end) of the rows dated in each window: rows[first:end]."""
        found = self.dates.searchsorted(windows.bounds).tolist()  # [start)s, then [end)s
        return list(zip(found[:len(windows)], found[len(windows):], strict=True))

    def counts(self, windows: Windows) -> list[int]:
        found = self.dates.searchsorted(windows.bounds)
        return (found[len(windows):] - found[:len(windows)]).tolist()

    def totals(self, column: str, windows: Windows) -> list[float]:
        values = self.moments(column) if column in layout.DATE_COLUMNS else self.values(column)
        return [float(values[first:end].sum()) for first, end in self.spans(windows)]

    def through(self, day: int) -> int:
        """How many rows are dated on or before ``day`` (the first so many)."""
        return int(self.dates.searchsorted(day, "right"))


class Windows:
    """Some periods, with their starts and ends in one array for numpy's binary search."""

    __slots__ = ("periods", "bounds", "_previous")

    def __init__(self, periods: list[Period]):
        self.periods = periods
        self.bounds = np.array([period.start for period in periods]
                               + [period.end for period in periods], dtype=np.float64)
        self._previous: Windows | None = None

    def __len__(self) -> int:
        return len(self.periods)

    def previous(self) -> Windows:
        """The periods before these; the same object each time, so that what was worked out
        over it is found again."""
        if self._previous is None:
            self._previous = Windows([period.previous() for period in self.periods])
        return self._previous


def dated_rows(tracker: layout.Tracker, periods: list[Period]) -> list[int]:
    """How many data rows have a date (any date column of any data sheet) in each period: a
    row with two dates in a period counts twice; only "none" matters to current_month."""
    windows = Windows(periods)
    found = np.zeros(len(periods), dtype=np.int64)
    for name in layout.DATA_SHEETS:
        sheet = Sheet(name, tracker.data.get(name))
        for column in layout.DATA_COLUMNS[name]:
            if column in layout.DATE_COLUMNS and sheet.rows:
                dates = np.sort(sheet.column(column))
                bounds = dates.searchsorted(windows.bounds)
                found += bounds[len(periods):] - bounds[:len(periods)]
    return found.tolist()


def current_month(months: list[Period], months_to_date: int, as_of_month: Period,
                  tracker: layout.Tracker) -> tuple[Period, str]:
    """The month `xlkpi report` shows by default, and why: ("as_of") the as-of month (Settings'
    date, else today) when data rows are dated in it; else ("last") the last month of the year
    so far that has some; else ("none") the last month of the year so far."""
    so_far = months[:months_to_date]
    counts = dated_rows(tracker, so_far)
    for month, count in zip(reversed(so_far), reversed(counts), strict=True):
        if count:
            return month, "as_of" if month == as_of_month else "last"
    return so_far[-1], "none"

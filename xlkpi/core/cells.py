"""Cell values to numpy columns, with messages that name the argument and the row.

What arrives is what Excel's runtimes send (see DESIGN.md): numbers as float or int, dates as
datetime (classic xlwings) or serial floats (Office.js) or ISO text, blanks as None or "".

A worksheet function may get a million cells per column, so on the common paths no Python code
runs per cell, only C-level passes (map, filter, dict lookups, numpy):

- dates and datetimes (and None), whole days: a dict from each distinct cell to its serial,
  which checks each distinct cell (a column of whole days has a few thousand);
- otherwise a census of the value types (``set(map(type, values))``) picks the path:
  - numbers and serials (float, int, None): numpy converts the whole list (None becomes NaN),
    then the rows that came out NaN or out of range are checked to have been None;
  - timestamps (and None): ``dt.date.toordinal`` mapped over the cells, among NaNs for blanks;
- texts (stages, owners): a dict from each distinct cell to its class, filled on first sight;
- a column range (:class:`OneCellRows`) that is mostly blank: the Nones are found by identity
  in C (an object array's buffer holds the cells' addresses), and only the other cells are
  checked and converted; one mostly of datetimes: one pass over its rows.

Anything else goes row by row, which is also what finds and names a bad value.

A worksheet function reads a value, stage or owner cell only in the rows that count (``within``,
e.g. the rows dated in the period): a bad cell elsewhere is ignored, as SUMIFS and COUNTIFS
ignore it in the workbook. Date columns are read whole, since the dates pick the rows. A column
range as xlwings reads it (one-cell rows) can arrive as a :class:`OneCellRows`, which flattens
only as far as a conversion needs.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import operator
import re
from collections.abc import Sequence
from decimal import Decimal
from itertools import islice, repeat

import numpy as np

from xlkpi.core.errors import InputError
from xlkpi.core.periods import EXCEL_EPOCH_ORDINAL, parse_iso_date

MAX_SERIAL = 2958465  # 9999-12-31, the last date Excel shows
_NONE_TYPE = type(None)
_NUMERIC_TYPES = frozenset({float, int, _NONE_TYPE})
_DATE_TYPES = frozenset({dt.datetime, dt.date})


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_finite(value: numbers.Real) -> bool:
    """math.isfinite, and False for an int too large for a float (isfinite raises there)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _too_large(value: object) -> bool:
    """An int (Python's have no limit) past the range of a float, about ±1.8e308."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and (
        abs(int(value)).bit_length() > 1024)


def shown(value: object) -> str:
    """A cell's value as a message shows it: its repr, but 1.000e+400 for an int past the
    float range (whose repr runs to hundreds of digits)."""
    if _too_large(value):
        return f"{Decimal(int(value)):.3e}"
    return repr(value)


def not_a_number(argument: str, value: object) -> str:
    """The message for a cell that is no number, or one too large for any calculation."""
    if _too_large(value):
        return f"{argument}: {shown(value)} is too large a number"
    return f"{argument}: {value!r} is not a number"


class OneCellRows(Sequence):
    """A column range as xlwings reads it with ``ndim=2``: a list of one-cell rows.

    The conversions below take it for a flat column; it flattens (one pass:
    ``[cell for (cell,) in rows]``) only when a conversion reads the whole column, and for a
    conversion ``within`` a few rows it unpacks only those. A row that is not one cell (a
    ragged range from a Python caller; Excel's ranges are rectangular) is an InputError naming
    the argument once a conversion reads it.
    """

    __slots__ = ("rows", "argument", "cell_values")

    def __init__(self, rows: Sequence, argument: str):
        self.rows = rows
        self.argument = argument
        self.cell_values: list | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):  # type: ignore[override]
        return self.cells()[index]

    def __iter__(self):
        return iter(self.cells())

    def cells(self) -> list:
        if self.cell_values is None:
            self.cell_values = self._unpack(self.rows)
        return self.cell_values

    def take(self, indices: np.ndarray) -> Sequence:
        """The cells at ``indices``, unpacking only their rows."""
        if self.cell_values is not None:
            return take_rows(self.cell_values, indices)
        return self._unpack(take_rows(self.rows, indices))

    def _unpack(self, rows: Sequence) -> list:
        try:
            return [cell for (cell,) in rows]
        except (TypeError, ValueError):  # a row of another length, or not a row
            raise InputError(shape_message(self.rows, self.argument)) from None


def shape_message(rows: Sequence, argument: str) -> str:
    """What is wrong with a range that is not a single column or row."""
    widths = {len(row) if isinstance(row, (list, tuple)) else None for row in rows}
    if None in widths:
        return f"{argument}: give a single column or row, not a mix of rows and single cells"
    if len(widths) == 1:
        return (f"{argument}: give a single column or row, "
                f"not a {len(rows)}×{widths.pop()} block")
    return (f"{argument}: give a single column or row, not {len(rows)} rows of different "
            f"lengths ({min(widths)} to {max(widths)} cells)")


def cell_values(values: Sequence) -> Sequence:
    """A flat column of cell values (a OneCellRows flattened)."""
    return values.cells() if isinstance(values, OneCellRows) else values


def check_lengths(**columns: Sequence) -> int:
    """The common length of the columns; an InputError naming the first pair that differs."""
    names = list(columns)
    first = names[0]
    for name in names[1:]:
        if len(columns[name]) != len(columns[first]):
            raise InputError(f"{first} and {name} differ in length: "
                             f"{len(columns[first])} vs {len(columns[name])}")
    return len(columns[first])


def _date_serial(value: object, argument: str, row: int, text: bool = True) -> float:
    """One cell as a whole-day serial (NaN for a blank), or an InputError naming the row;
    ISO date text is a date only with ``text``."""
    if is_blank(value):
        return math.nan
    if isinstance(value, dt.date):
        return float(value.toordinal() - EXCEL_EPOCH_ORDINAL)
    if isinstance(value, np.datetime64) and not np.isnat(value):
        value = value.astype("datetime64[D]").item()
        return float(value.toordinal() - EXCEL_EPOCH_ORDINAL)
    if is_number(value) and is_finite(value) and 1 <= value < MAX_SERIAL + 1:
        return float(math.floor(value))
    if text and isinstance(value, str) and (day := parse_iso_date(value)) is not None:
        return float(day.toordinal() - EXCEL_EPOCH_ORDINAL)
    raise InputError(f"{argument} row {row}: {shown(value)} is not a date")


def _number(value: object, argument: str, row: int) -> float:
    if is_blank(value):
        return 0.0
    if is_number(value) and is_finite(value):
        return float(value)
    raise InputError(not_a_number(f"{argument} row {row}", value))


_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_GROUP_SPACES = re.compile("[ \u00a0\u202f\u2009']")


def number_from_text(text: str) -> float | None:
    """A number typed as text as the number a person meant: "1 000" and "1,000" 1000, "1 000,5"
    and "1.000,5" and "1,000.5" 1000.5, "0,125" 0.125, "10%" 0.1, "-5" -5; None for any other
    text. A lone comma before exactly three digits ("1,234") groups thousands."""
    text = text.strip()
    percent = text.endswith("%")
    if percent:
        text = text[:-1].rstrip()
    text = _GROUP_SPACES.sub("", text)
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif text.count(",") > 1 or re.fullmatch(r"[+-]?[1-9]\d{0,2},\d{3}", text):
        text = text.replace(",", "")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    else:
        text = text.replace(",", ".")
    if not _NUMBER_TEXT.fullmatch(text):
        return None
    number = float(text)
    if not math.isfinite(number):
        return None
    return number / 100 if percent else number


def to_dates(values: Sequence, argument: str, text: bool = True) -> np.ndarray:
    """Whole-day Excel serials as float64, NaN where the cell is blank. Every cell is checked.

    ``text``: whether ISO date text ("2026-10-15") is a date. The Excel functions take it
    (DESIGN.md); a tracker's report does not, as the workbook's COUNTIFS do not (see
    xlkpi.tracker.problems): there a text date is an InputError for the caller to sort out."""
    if isinstance(values, OneCellRows) and (serials := _range_of_cells(values)) is not None:
        return serials
    values = cell_values(values)
    if _starts_with_dates(values):
        try:
            return np.fromiter(map(_DaySerials(len(values)).__getitem__, values), np.float64,
                               count=len(values))
        except (_NotDays, TypeError):  # TypeError: an unhashable cell
            pass  # timestamps, time zones or values other than dates
        if (serials := _dated_serials(values)) is not None:
            return serials
    elif (serials := _number_serials(values)) is not None:
        return serials
    return np.fromiter(
        (_date_serial(value, argument, row, text) for row, value in enumerate(values, 1)),
        np.float64, count=len(values))


def _number_serials(values: Sequence) -> np.ndarray | None:
    """Serials of cells that are floats, ints and None (NaN for None), each number a day Excel
    shows; None when any other cell is among them, or a number is no serial.

    Counting the floats (``operator.countOf`` over the types) is quicker than the set of types,
    and is the whole census when every cell is a float. When a few are not, numpy converts
    first (it takes more than numbers: True, "45000", a Decimal, but only a None or a NaN
    becomes NaN), and the cells that are not floats must then be the Nones among the rows that
    came out NaN; when they are not (ints, or a bad cell), the set of types decides.
    """
    count = len(values)
    others = count - operator.countOf(map(type, values), float)  # None, ints, anything else
    known = others * 4 > count  # many: the set of types first
    if known and not set(map(type, values)) <= _NUMERIC_TYPES:
        return None
    try:
        serials = np.fromiter(values, np.float64, count=count)
    except Exception:  # noqa: BLE001 - a cell numpy cannot convert: the general path names it
        return None
    in_range = _in_range(serials)
    nones = 0
    if not in_range.all():
        bad = np.flatnonzero(~in_range)
        if not np.isnan(serials[bad]).all():
            return None  # a number out of range, or infinite
        if len(bad) * 4 <= count:
            nones = sum(map(operator.is_, take_rows(values, bad), repeat(None)))
        elif known:
            nones = _count_none(values)  # every None is among the rows that are NaN
        if nones != len(bad):
            return None  # a NaN that is no blank
    if not known and others != nones and not set(map(type, values)) <= _NUMERIC_TYPES:
        return None  # a cell that is no float, int or None
    return np.floor(serials, out=serials)


def _in_range(serials: np.ndarray) -> np.ndarray:
    """Whether each serial is a day Excel shows (False for NaN and ±inf)."""
    in_range = serials >= 1
    in_range &= serials < MAX_SERIAL + 1
    return in_range


def _range_of_cells(column: OneCellRows) -> np.ndarray | None:
    """Serials of a column range by the quickest path for what it holds, judged from a sample
    of its rows; None to take the general path (a flat copy, then the census), which every
    other column takes and which finds and names a bad cell. Every path is exact: the sample
    only picks the quickest.

    - mostly blank: :func:`_sparse_dates`, which converts only the cells that are not None;
    - datetimes, mostly filled: :func:`_range_of_dates` (one pass over the rows);
    - numbers, mostly filled: the general path.
    """
    if column.cell_values is not None:
        return None
    sample = _sample(column.rows)
    if sum(cell is None for cell in sample) * 4 > len(sample):
        return _sparse_dates(column)
    return _range_of_dates(column) if _starts_with_dates(sample) else None


def _sample(rows: Sequence, size: int = 256) -> list:
    """The cells of about ``size`` one-cell rows spread evenly over ``rows``."""
    step = max(1, len(rows) // size)
    picked = rows[::step] if isinstance(rows, (list, tuple)) else islice(rows, size)
    return [row[0] for row in picked if isinstance(row, (list, tuple)) and len(row) == 1]


_BLANK_DAY = dt.date.max  # stands for a blank cell in _range_of_dates
_BLANK_ORDINAL = _BLANK_DAY.toordinal()


def _range_of_dates(column: OneCellRows) -> np.ndarray | None:
    """Serials of a column range of dates, datetimes and None in one pass over its rows (no
    flat copy, no census); None when it holds anything else or a row is not one cell.

    Blanks become _BLANK_DAY while the rows are unpacked, so that ``dt.date.toordinal`` (which
    raises TypeError on a cell that is not a date, and takes date subclasses as _date_serial
    does) maps every cell; a real 9999-12-31 is told from a blank by identity.
    """
    blank = _BLANK_DAY
    try:
        marked = [blank if cell is None else cell for (cell,) in column.rows]
        ordinals = np.fromiter(map(dt.date.toordinal, marked), np.int64, count=len(marked))
    except (TypeError, ValueError):
        return None
    serials = ordinals.astype(np.float64)
    serials -= EXCEL_EPOCH_ORDINAL
    maybe_blank = np.flatnonzero(ordinals == _BLANK_ORDINAL)
    if len(maybe_blank):
        blanks = np.fromiter(map(operator.is_, take_rows(marked, maybe_blank), repeat(blank)),
                             np.bool_, count=len(maybe_blank))
        serials[maybe_blank[blanks]] = np.nan
    return serials


def _sparse_dates(column: OneCellRows) -> np.ndarray | None:
    """Serials of a column range that is mostly blank, converting only the cells that are not
    None: those must be all dates and datetimes (``dt.date.toordinal`` maps them) or all numbers
    (float, int) in the range of serials. None when the cells are anything else (a blank text,
    a mix, a bad cell) or a row is not one cell: the general path then reads the column.
    """
    try:
        cells = [cell for (cell,) in column.rows]
    except (TypeError, ValueError):
        return None
    objects = np.fromiter(cells, object, count=len(cells))
    filled = (~_is_none(objects)).nonzero()[0]
    values = objects[filled].tolist()
    serials = np.full(len(cells), np.nan)
    if not values:
        return serials
    if type(values[0]) in _DATE_TYPES:
        try:
            ordinals = np.fromiter(map(dt.date.toordinal, values), np.int64, count=len(values))
        except TypeError:
            return None
        serials[filled] = ordinals - EXCEL_EPOCH_ORDINAL
        return serials
    if not _numeric(values) or (numbers_ := _as_floats(values)) is None:
        return None
    if not _in_range(numbers_).all():
        return None
    serials[filled] = np.floor(numbers_, out=numbers_)
    return serials


def _is_none(objects: np.ndarray) -> np.ndarray:
    """Whether each cell of an object array is None, by identity and in C: the array's buffer
    holds the cells' addresses, compared here with None's."""
    try:
        addresses = np.frombuffer(memoryview(objects).cast("B"), np.intp)
    except (TypeError, ValueError, BufferError):  # no such buffer: compare cell by cell
        return np.fromiter(map(operator.is_, objects.tolist(), repeat(None)), np.bool_,
                           count=len(objects))
    return addresses == id(None)


def _numeric(values: Sequence) -> bool:
    """Whether every value is a float or an int (the type census; floats alone counted first,
    which is quicker than building the set of types)."""
    return (operator.countOf(map(type, values), float) == len(values)
            or set(map(type, values)) <= _NUMERIC_TYPES)


def _starts_with_dates(values: Sequence) -> bool:
    """Whether the first cell that is not blank, among the first few, is a date or datetime."""
    for value in islice(values, 64):
        if value is not None:
            return type(value) in _DATE_TYPES
    return False


class _NotDays(Exception):
    """_DaySerials gives up: the column is not one of whole days (and blanks)."""


class _DaySerials(dict):
    """Cell → serial for a column of dates, datetimes and None; each distinct cell converts once.

    It checks each distinct cell's type, so no census is needed: a cell that is not a date,
    datetime or None can only pass unchecked by being equal to one that is (a datetime subclass
    such as pandas' Timestamp), and then it has the same date. It gives up (raises _NotDays) on
    any other type, on a datetime with a time zone (those compare equal across zones while their
    dates differ), and once it holds more distinct cells than a column of whole days would (a
    column of timestamps), since a dict lookup per cell then no longer pays.
    """

    __slots__ = ("room",)

    def __init__(self, length: int):
        super().__init__()
        self.room = 2048 + length // 512

    def __missing__(self, cell: object) -> float:
        if cell is None:
            serial = math.nan
        elif len(self) < self.room and (type(cell) is dt.date or (
                type(cell) is dt.datetime and cell.tzinfo is None)):
            serial = float(cell.toordinal() - EXCEL_EPOCH_ORDINAL)
        else:
            raise _NotDays
        self[cell] = serial
        return serial


def _dated_serials(values: Sequence) -> np.ndarray | None:
    """Serials of a column of dates, datetimes (timestamps too) and None: the dates' ordinals
    among NaNs; None when any other value is among them.

    No census: ``dt.date.toordinal`` raises TypeError on a cell that is not a date (it takes
    date subclasses, as _date_serial does), and ``filter(None, ...)`` passes every date and
    drops None and the other falsy cells ("", 0), which the count of non-None cells then tells.
    """
    try:
        ordinals = np.fromiter(map(dt.date.toordinal, filter(None, values)), np.int64)
    except TypeError:
        return None
    if len(ordinals) == len(values):
        return (ordinals - EXCEL_EPOCH_ORDINAL).astype(np.float64)
    dated = np.fromiter(map(operator.is_not, values, repeat(None)), np.bool_, count=len(values))
    if np.count_nonzero(dated) != len(ordinals):
        return None  # a falsy cell other than None
    serials = np.full(len(values), np.nan)
    serials[dated] = ordinals - EXCEL_EPOCH_ORDINAL
    return serials


def _as_floats(values: Sequence) -> np.ndarray | None:
    """Cells that are float, int or None as float64, None becoming NaN; None (the row-by-row
    path then names the cell) when an int is too large for a float."""
    try:
        return np.fromiter(values, np.float64, count=len(values))
    except OverflowError:
        return None


def _none_wherever_not(good: np.ndarray, values: Sequence, converted: np.ndarray) -> bool:
    """Whether every row that is not ``good`` held None (and so converted to NaN).

    False when one of them is a number: NaN, infinite or, for dates, out of range.
    """
    if good.all():
        return True
    bad = np.flatnonzero(~good)
    if not np.isnan(converted[bad]).all():
        return False
    if len(bad) * 4 <= len(values):
        picked = take_rows(values, bad)
        return picked.count(None) == len(picked)  # count() tests identity first: fast for None
    return _count_none(values) == len(bad)  # mostly blank: counting them all is cheaper


def _count_none(values: Sequence) -> int:
    """How many cells are None; list.count is quicker than countOf, which takes any iterable."""
    if isinstance(values, (list, tuple)):
        return values.count(None)
    return operator.countOf(values, None)


def take_rows(values: Sequence, rows: np.ndarray) -> Sequence:
    """The values at ``rows`` (indices), picked in C."""
    if isinstance(values, OneCellRows):
        return values.take(rows)
    if len(rows) == 0:
        return ()
    if len(rows) == 1:
        return (values[int(rows[0])],)
    return operator.itemgetter(*rows.tolist())(values)


def to_numbers(values: Sequence, argument: str, within: np.ndarray | None = None
               ) -> np.ndarray:
    """Numbers as float64; a blank cell counts as 0, as it does in SUM.

    With ``within`` (a boolean mask as long as ``values``) only the cells of those rows are
    read and checked: the rows outside read 0, whatever they hold.
    """
    if within is None:
        return _numbers(cell_values(values), argument, None)
    rows = np.flatnonzero(within)
    column = np.zeros(len(values))
    if len(rows) * 4 <= len(values):
        column[rows] = _numbers(take_rows(values, rows), argument, rows)
        return column
    values = cell_values(values)  # most rows: convert the whole column, check the rows within
    column = _numbers(values, argument, None, rows_only=rows)
    column[~within] = 0.0
    return column


def numbers_within(values: Sequence, argument: str, within: np.ndarray) -> np.ndarray:
    """``to_numbers(values, argument, within)[within]``: the numbers of the rows within, in
    order, without a whole column when they are few."""
    rows = np.flatnonzero(within)
    if len(rows) * 4 <= len(values):
        return _numbers(take_rows(values, rows), argument, rows)
    return to_numbers(values, argument, within)[within]


def _numbers(values: Sequence, argument: str, rows: np.ndarray | None,
             rows_only: np.ndarray | None = None) -> np.ndarray:
    """``values`` as numbers; an error names row ``rows[i] + 1`` for ``values[i]`` (the row in
    the column) or, without ``rows``, row i + 1. With ``rows_only``, only those rows are checked
    on the row-by-row path (the others read 0)."""
    if set(map(type, values)) <= _NUMERIC_TYPES and (numbers_ := _as_floats(values)) is not None:
        finite = np.isfinite(numbers_)
        if _none_wherever_not(finite, values, numbers_):
            numbers_[~finite] = 0.0
            return numbers_
    if rows_only is not None:
        column = np.zeros(len(values))
        column[rows_only] = _numbers(take_rows(values, rows_only), argument, rows_only)
        return column
    numbered = enumerate(values, 1) if rows is None else zip((rows + 1).tolist(), values,
                                                             strict=True)
    return np.fromiter((_number(value, argument, row) for row, value in numbered),
                       np.float64, count=len(values))


def owner_key(owner: object) -> str | None:
    """How owners compare: case-insensitively, as COUNTIFS does; 7 and "7" are the same."""
    if is_blank(owner):
        return None
    if is_number(owner) and (isinstance(owner, numbers.Integral) or float(owner).is_integer()):
        return str(int(owner))  # an int is not converted to float: it may be past its range
    return str(owner).lower()

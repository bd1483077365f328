"""Cell values to numpy columns, with messages that name the argument and the row.

What arrives is what Excel's runtimes send (see DESIGN.md): numbers as float or int, dates as
datetime (classic xlwings) or serial floats (Office.js) or ISO text, blanks as None or "".

A worksheet function may get a million cells per column, so on the common paths no Python code
runs per cell. A census of the value types (``set(map(type, values))``) picks the path:

- numbers and serials (float, int, None): numpy converts the whole list (None becomes NaN);
  the rows that come out NaN or out of range are then checked to have been None;
- dates and datetimes (and None): ``dt.date.toordinal`` mapped over the list; with blanks, a
  dict from each distinct cell to its serial (a column of whole days has a few thousand), or
  for timestamps the ordinals of the non-blank cells scattered among NaNs;
- texts (stages, owners): a dict from each distinct cell to its class, filled on first sight.

Anything else falls back to the row-by-row conversion, which is also what names a bad value.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import operator
import re
from collections.abc import Callable, Sequence
from itertools import islice, repeat

import numpy as np

from .errors import InputError
from .periods import EXCEL_EPOCH_ORDINAL, parse_iso_date

MAX_SERIAL = 2958465  # 9999-12-31, the last date Excel shows
_NONE_TYPE = type(None)
_NUMERIC_TYPES = frozenset({float, int, _NONE_TYPE})
_DATE_TYPES = frozenset({dt.datetime, dt.date})
_DATE_TYPES_OR_BLANK = _DATE_TYPES | {_NONE_TYPE}
# What a stage text loses before matching (DESIGN.md: case, spaces, '-' and '_'): spaces, also
# no-break ones, tabs and line breaks count as spaces. workbook.STAGE_STRIPPED removes the same
# characters in the StageClass formula; a test keeps the two in step.
_NON_WORD = re.compile("[ \u00a0\t\n\r_-]+")


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_lengths(**columns: Sequence) -> int:
    """The common length of the columns; an InputError naming the first pair that differs."""
    names = list(columns)
    first = names[0]
    for name in names[1:]:
        if len(columns[name]) != len(columns[first]):
            raise InputError(f"{first} and {name} differ in length: "
                             f"{len(columns[first])} vs {len(columns[name])}")
    return len(columns[first])


def _date_serial(value: object, argument: str, row: int) -> float:
    """One cell as a whole-day serial (NaN for a blank), or an InputError naming the row."""
    if _is_blank(value):
        return math.nan
    if isinstance(value, dt.date):
        return float(value.toordinal() - EXCEL_EPOCH_ORDINAL)
    if isinstance(value, np.datetime64) and not np.isnat(value):
        value = value.astype("datetime64[D]").item()
        return float(value.toordinal() - EXCEL_EPOCH_ORDINAL)
    if _is_number(value) and math.isfinite(value) and 1 <= value < MAX_SERIAL + 1:
        return float(math.floor(value))
    if isinstance(value, str) and (day := parse_iso_date(value)) is not None:
        return float(day.toordinal() - EXCEL_EPOCH_ORDINAL)
    raise InputError(f"{argument} row {row}: {value!r} is not a date")


def _number(value: object, argument: str, row: int) -> float:
    if _is_blank(value):
        return 0.0
    if _is_number(value) and math.isfinite(value):
        return float(value)
    raise InputError(f"{argument} row {row}: {value!r} is not a number")


def to_dates(values: Sequence, argument: str) -> np.ndarray:
    """Whole-day Excel serials as float64, NaN where the cell is blank."""
    if _starts_with_dates(values):
        try:
            return np.fromiter(map(_DaySerials(len(values)).__getitem__, values), np.float64,
                               count=len(values))
        except (_NotDays, TypeError):  # TypeError: an unhashable cell
            pass  # timestamps, time zones or values other than dates: the census decides
    types = set(map(type, values))
    if types <= _NUMERIC_TYPES:
        serials = np.fromiter(values, np.float64, count=len(values))  # None becomes NaN
        with np.errstate(invalid="ignore"):
            in_range = (serials >= 1) & (serials < MAX_SERIAL + 1)  # False for NaN and ±inf
        if _none_wherever_not(in_range, values, serials):
            return np.floor(serials)
    elif types <= _DATE_TYPES_OR_BLANK:
        if _NONE_TYPE not in types:
            ordinals = np.fromiter(map(dt.date.toordinal, values), np.int64, count=len(values))
            return (ordinals - EXCEL_EPOCH_ORDINAL).astype(np.float64)
        return _scattered_serials(values)
    return np.fromiter(
        (_date_serial(value, argument, row) for row, value in enumerate(values, 1)),
        np.float64, count=len(values))


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
                type(cell) is dt.datetime and cell.tzinfo is None)):  # type: ignore[union-attr]
            serial = float(cell.toordinal() - EXCEL_EPOCH_ORDINAL)  # type: ignore[union-attr]
        else:
            raise _NotDays
        self[cell] = serial
        return serial


def _scattered_serials(values: Sequence) -> np.ndarray:
    """Serials of a column of dates, datetimes and None: the dates' ordinals among NaNs."""
    dated = np.fromiter(map(operator.is_not, values, repeat(None)), np.bool_, count=len(values))
    # every date is truthy and None is not: filter(None, ...) yields exactly the dates
    ordinals = np.fromiter(map(dt.date.toordinal, filter(None, values)), np.int64,
                           count=int(np.count_nonzero(dated)))
    serials = np.full(len(values), np.nan)
    serials[dated] = ordinals - EXCEL_EPOCH_ORDINAL
    return serials


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
        picked = _take(values, bad)
        return picked.count(None) == len(picked)  # count() tests identity first: fast for None
    return _count_none(values) == len(bad)  # mostly blank: counting them all is cheaper


def _count_none(values: Sequence) -> int:
    """How many cells are None; list.count is quicker than countOf, which takes any iterable."""
    if isinstance(values, (list, tuple)):
        return values.count(None)
    return operator.countOf(values, None)


def _take(values: Sequence, rows: np.ndarray) -> Sequence:
    """The values at ``rows`` (indices), picked in C."""
    if len(rows) == 0:
        return ()
    if len(rows) == 1:
        return (values[int(rows[0])],)
    return operator.itemgetter(*rows.tolist())(values)


def to_numbers(values: Sequence, argument: str) -> np.ndarray:
    """Numbers as float64; a blank cell counts as 0, as it does in SUM."""
    if set(map(type, values)) <= _NUMERIC_TYPES:
        numbers_ = np.fromiter(values, np.float64, count=len(values))  # None becomes NaN
        finite = np.isfinite(numbers_)
        if _none_wherever_not(finite, values, numbers_):
            numbers_[~finite] = 0.0
            return numbers_
    return np.fromiter(
        (_number(value, argument, row) for row, value in enumerate(values, 1)),
        np.float64, count=len(values))


def _lookup(values: Sequence, lookup: Callable[[object], object], dtype: type,
            within: np.ndarray | None) -> np.ndarray:
    """``lookup(value)`` for each value as a column of ``dtype``.

    With ``within`` (a boolean mask as long as ``values``) the rows outside it read 0; when it
    holds few rows, only those are looked up.
    """
    if within is not None:
        rows = np.flatnonzero(within)
        if len(rows) * 4 <= len(values):
            column = np.zeros(len(values), dtype)
            column[rows] = np.fromiter(map(lookup, _take(values, rows)), dtype, count=len(rows))
            return column
    column = np.fromiter(map(lookup, values), dtype, count=len(values))
    if within is not None:
        column[~within] = 0
    return column


def stage_class(stage: object) -> int:
    """1 for a won stage, -1 for a lost one, 0 for anything else (open)."""
    if not isinstance(stage, str):
        return 0
    key = _NON_WORD.sub("", stage).lower()
    return WON_STAGES.get(key, 0)


# Keys are stage texts lower-cased with spaces, '-' and '_' removed (DESIGN.md).
WON_STAGES = {"won": 1, "closedwon": 1, "успешнореализовано": 1,
              "lost": -1, "closedlost": -1, "закрытоинереализовано": -1}


class _Classes(dict):
    """Stage text → class; each distinct text is classified once, when first met."""

    __slots__ = ()

    def __missing__(self, stage: object) -> int:
        self[stage] = kind = stage_class(stage)
        return kind


def to_stage_classes(values: Sequence, within: np.ndarray | None = None) -> np.ndarray:
    """int8 column: 1 won, -1 lost, 0 open. Each distinct text is classified once.

    With ``within`` (a boolean mask as long as ``values``) the rows outside it read 0, and
    when it holds few rows only those are classified.
    """
    return _lookup(values, _Classes().__getitem__, np.int8, within)


def owner_key(owner: object) -> str | None:
    """How owners compare: case-insensitively, as COUNTIFS does; 7 and "7" are the same."""
    if _is_blank(owner):
        return None
    if _is_number(owner) and float(owner).is_integer():
        return str(int(owner))
    return str(owner).lower()


class _Matches(dict):
    """Owner cell → whether it names the wanted owner; each distinct cell is compared once."""

    __slots__ = ("wanted",)

    def __init__(self, wanted: str):
        super().__init__()
        self.wanted = wanted

    def __missing__(self, owner: object) -> bool:
        self[owner] = match = owner_key(owner) == self.wanted
        return match


def owner_mask(owners: Sequence | None, owner: object, length: int,
               within: np.ndarray | None = None) -> np.ndarray | None:
    """Rows whose owner is ``owner``; None (every row) when no owner is given.

    With ``within`` (a boolean mask of ``length`` rows) the rows outside it read False, and
    when it holds few rows only those are looked at.
    """
    wanted = owner_key(owner)
    if wanted is None:
        return None
    if owners is None or len(owners) == 0 < length:  # an empty table may have no owners
        raise InputError(f"owners: give the owner column to filter by owner {owner!r}")
    if len(owners) != length:
        raise InputError(f"owners has {len(owners)} rows but the other columns have {length}")
    return _lookup(owners, _Matches(wanted).__getitem__, np.bool_, within)

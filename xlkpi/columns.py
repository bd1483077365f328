"""Cell values to numpy columns, with messages that name the argument and the row.

What arrives is what Excel's runtimes send (see DESIGN.md): numbers as float or int, dates as
datetime (classic xlwings) or serial floats (Office.js) or ISO text, blanks as None or "".
Each column is converted in one pass of C-level iteration (a census of the value types picks
the path); the row-by-row path runs only to find and name a bad value.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Sequence

import numpy as np

from .errors import InputError
from .periods import EXCEL_EPOCH_ORDINAL, parse_iso_date

MAX_SERIAL = 2958465  # 9999-12-31, the last date Excel shows
_NUMERIC_TYPES = {float, int, type(None)}
_DATE_TYPES = {dt.datetime, dt.date}
_NON_WORD = re.compile(r"[ \-_]+")


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
    types = set(map(type, values))
    if types <= _NUMERIC_TYPES:
        serials = np.array(values, dtype=np.float64)  # None becomes NaN
        with np.errstate(invalid="ignore"):
            bad = (serials < 1) | (serials >= MAX_SERIAL + 1) | np.isinf(serials)
        real_nans = np.count_nonzero(np.isnan(serials)) - values.count(None) if len(values) else 0
        if not bad.any() and real_nans == 0:
            return np.floor(serials)
    elif types <= _DATE_TYPES:
        ordinals = np.fromiter(map(dt.date.toordinal, values), np.int64, count=len(values))
        return (ordinals - EXCEL_EPOCH_ORDINAL).astype(np.float64)
    return np.fromiter(
        (_date_serial(value, argument, row) for row, value in enumerate(values, 1)),
        np.float64, count=len(values))


def to_numbers(values: Sequence, argument: str) -> np.ndarray:
    """Numbers as float64; a blank cell counts as 0, as it does in SUM."""
    if set(map(type, values)) <= _NUMERIC_TYPES:
        numbers_ = np.array(values, dtype=np.float64)
        blanks = np.isnan(numbers_)
        if np.isfinite(numbers_[~blanks]).all() and np.count_nonzero(blanks) == values.count(None):
            numbers_[blanks] = 0.0
            return numbers_
    return np.fromiter(
        (_number(value, argument, row) for row, value in enumerate(values, 1)),
        np.float64, count=len(values))


def stage_class(stage: object) -> int:
    """1 for a won stage, -1 for a lost one, 0 for anything else (open)."""
    if not isinstance(stage, str):
        return 0
    key = _NON_WORD.sub("", stage).lower()
    return WON_STAGES.get(key, 0)


# Keys are stage texts lower-cased with spaces, '-' and '_' removed (DESIGN.md).
WON_STAGES = {"won": 1, "closedwon": 1, "успешнореализовано": 1,
              "lost": -1, "closedlost": -1, "закрытоинереализовано": -1}


def to_stage_classes(values: Sequence) -> np.ndarray:
    """int8 column: 1 won, -1 lost, 0 open. Each distinct text is classified once."""
    classes = {value: stage_class(value) for value in dict.fromkeys(values)}
    return np.fromiter(map(classes.__getitem__, values), np.int8, count=len(values))


def owner_key(owner: object) -> str | None:
    """How owners compare: case-insensitively, as COUNTIFS does; 7 and "7" are the same."""
    if _is_blank(owner):
        return None
    if _is_number(owner) and float(owner).is_integer():
        return str(int(owner))
    return str(owner).lower()


def owner_mask(owners: Sequence | None, owner: object, length: int) -> np.ndarray | None:
    """Rows whose owner is ``owner``; None (every row) when no owner is given."""
    wanted = owner_key(owner)
    if wanted is None:
        return None
    if owners is None or len(owners) == 0:
        raise InputError(f"owners: give the owner column to filter by owner {owner!r}")
    if len(owners) != length:
        raise InputError(f"owners has {len(owners)} rows but the other columns have {length}")
    matches = {value: owner_key(value) == wanted for value in dict.fromkeys(owners)}
    return np.fromiter(map(matches.__getitem__, owners), np.bool_, count=length)

"""Periods ("2026-10", "2026-Q4", "2026", a date) as half-open ranges of Excel day serials.

Dates are Excel serials throughout (days since 1899-12-30, so serial 1 is 1900-01-01 for every
date from March 1900 on): Office.js sends them, classic xlwings' datetimes convert to them
exactly, and a half-open range [start, end) holds a date with any time of day.
"""

from __future__ import annotations

import calendar
import datetime as dt
import numbers
import re
from dataclasses import dataclass
from decimal import Decimal

from xlkpi.core import lang
from xlkpi.core.errors import InputError

EXCEL_EPOCH = dt.date(1899, 12, 30)
EXCEL_EPOCH_ORDINAL = EXCEL_EPOCH.toordinal()
MIN_YEAR, MAX_YEAR = 1900, 9999

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
# A date, then at most a time of day ("13:45", "13:45:00", "13:45:00.250") and a time zone
# ("Z", "+02:00"): "2026-12-07 garbage" is no date.
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})"
                       r"(?:[ t](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?"
                       r"(?:z|[+-]\d{2}(?::?\d{2})?)?)?$", re.IGNORECASE)


def date_to_serial(value: dt.date) -> int:
    """Excel serial of a date (time of day dropped)."""
    return value.toordinal() - EXCEL_EPOCH_ORDINAL


def serial_to_date(serial: float) -> dt.date:
    return dt.date.fromordinal(int(serial) + EXCEL_EPOCH_ORDINAL)


def parse_iso_date(text: str) -> dt.date | None:
    """'2026-10-15' as a date, also with a time of day after a space or "T" ('2026-10-15
    13:45', '2026-10-15T13:45:00', a time zone allowed); None when the text is anything else
    ('2026-10-15 garbage', '2026-02-30', '2026-10-15 25:00')."""
    match = _ISO_DATE.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = match.groups()
    if hour is not None and (int(hour) > 23 or int(minute) > 59
                             or (second is not None and int(second) > 59)):
        return None
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class Period:
    """Days from ``start`` (included) to ``end`` (excluded), as Excel serials."""

    start: int
    end: int
    label: str
    kind: str  # "month", "quarter", "year" or "range"

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls.months(year, month, 1, kind="month", label=f"{year:04d}-{month:02d}")

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        return cls.months(year, 3 * quarter - 2, 3, kind="quarter", label=f"{year:04d}-Q{quarter}")

    @classmethod
    def year(cls, year: int) -> Period:
        return cls.months(year, 1, 12, kind="year", label=f"{year:04d}")

    @classmethod
    def months(cls, year: int, month: int, count: int, kind: str = "range",
               label: str | None = None) -> Period:
        """``count`` whole months from the first of ``year``-``month``."""
        last_year, last_month = _add_months(year, month, count - 1)
        start = date_to_serial(dt.date(year, month, 1))
        # From the last month's first day, not the next month's: 9999-12 has no next month.
        end = (date_to_serial(dt.date(last_year, last_month, 1))
               + calendar.monthrange(last_year, last_month)[1])
        if label is None:
            label = f"{year:04d}-{month:02d}..{last_year:04d}-{last_month:02d}"
        return cls(start, end, label, kind)

    @property
    def first_day(self) -> int:
        return self.start

    @property
    def last_day(self) -> int:
        return self.end - 1

    def previous(self) -> Period:
        """The period before: the month, quarter or year before; a range a year earlier."""
        first = serial_to_date(self.start)
        if self.kind == "month":
            return Period.month(*_add_months(first.year, first.month, -1))
        if self.kind == "quarter":
            year, month = _add_months(first.year, first.month, -3)
            return Period.quarter(year, (month + 2) // 3)
        if self.kind == "year":
            return Period.year(first.year - 1)
        last = serial_to_date(self.last_day)
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        return Period.months(first.year - 1, first.month, months)


def _not_a_period(argument: str, shown: str) -> str:
    return lang.text("messages.errors.values.not_a_period", argument=argument, value=shown)


def _month_of_serial(serial: float, argument: str) -> Period:
    try:
        day = serial_to_date(serial)
    except (ValueError, OverflowError):
        raise InputError(_not_a_period(argument, repr(serial))) from None
    return Period.month(day.year, day.month)


def _fits_a_float(value: int) -> bool:
    try:
        float(value)
    except OverflowError:  # an int past the float range (10**400)
        return False
    return True


def parse_period(value: object, argument: str = "period") -> Period | None:
    """A period from what a cell holds; None (all rows) for a blank.

    "2026-10" a month, "2026-Q4" a quarter, "2026" or the number 2026 a year, a date, an ISO
    date text or a larger serial the month that contains it.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Period):
        return value
    if isinstance(value, dt.date):  # datetime is a date too
        return Period.month(value.year, value.month)
    if isinstance(value, bool):
        raise InputError(_not_a_period(argument, repr(value)))
    if isinstance(value, numbers.Real) and hasattr(value, "item"):
        value = value.item()  # a numpy number: the Python number it holds
    if isinstance(value, int) and not isinstance(value, bool) and not _fits_a_float(value):
        raise InputError(_not_a_period(argument, f"{Decimal(value):.3e}"))
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")) or value < 1:
            raise InputError(_not_a_period(argument, repr(value)))
        if float(value).is_integer() and MIN_YEAR <= value <= MAX_YEAR:
            return Period.year(int(value))
        return _month_of_serial(value, argument)
    if isinstance(value, str):
        text = value.strip()
        if match := _MONTH.match(text):
            year, month = int(match[1]), int(match[2])
            if 1 <= month <= 12 and year >= MIN_YEAR:
                return Period.month(year, month)
        elif match := _QUARTER.match(text):
            if int(match[1]) >= MIN_YEAR:
                return Period.quarter(int(match[1]), int(match[2]))
        elif match := _YEAR.match(text):
            if int(match[1]) >= MIN_YEAR:
                return Period.year(int(match[1]))
        elif (day := parse_iso_date(text)) is not None:
            return Period.month(day.year, day.month)
    raise InputError(_not_a_period(argument, repr(value)))

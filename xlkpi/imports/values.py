"""Cell values of an export, read one column at a time.

A column's format is decided from all of its cells, then every cell is read in that format,
and the decision is reported ("CloseDate: dd.mm.yyyy"). "3/4/2026" is March 4 in a column
where another cell reads "3/14/2026", and April 3 where another reads "14/3/2026". A cell
that does not fit is a problem for its row, never a value passed on as text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

# Cells that mean "no value": amoCRM's open close date, dashes, the usual n/a spellings.
PLACEHOLDERS = frozenset({"не закрыта", "не закрыто", "не указано", "не указан", "нет", "-",
                          "--", "—", "–", "n/a", "na", "none", "null", "nan", "#n/a"})
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 0, so that serial 61 is 1900-03-01
FIRST_DATE, LAST_SERIAL = dt.date(1900, 3, 1), 2958465  # 9999-12-31

_TIME = r"(?:[T ,]\s*\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?)?"
_ZONE = r"\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
_D, _M, _Y = r"(?P<d>\d{1,2})", r"(?P<m>\d{1,2})", r"(?P<y>\d{4}|\d{2})"
_MON = r"(?P<mon>[A-Za-z]{3,9})\.?"
DATE_FORMATS = {  # kind -> pattern over the whole cell
    "yyyy-mm-dd": re.compile(rf"(?P<y>\d{{4}})[-/]{_M}[-/]{_D}{_TIME}{_ZONE}"),
    "dd.mm.yyyy": re.compile(rf"{_D}\.{_M}\.{_Y}{_TIME}"),
    "slashed": re.compile(rf"(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})/{_Y}{_TIME}"),  # m/d or d/m
    "Mon d, yyyy": re.compile(rf"{_MON} {_D},? (?P<y>\d{{4}}){_TIME}"),  # Mailchimp
    "d Mon yyyy": re.compile(rf"{_D}[ -]{_MON}[ -](?P<y>\d{{4}}){_TIME}"),
}
MONTHS = {name: number for number, names in enumerate(
    ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july",
     "aug august", "sep sept september", "oct october", "nov november", "dec december"],
    start=1) for name in names.split()}

_CURRENCY = re.compile(r"₽|\$|€|£|руб\.?|р\.|\b(?:RUB|USD|EUR|GBP)\b", re.IGNORECASE)
_NUMBER_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’]")  # thousands spaced or apostrophed
_DIGITS = re.compile(r"\d[\d.,]*")


@dataclass
class ColumnValues:
    """One column read: a value per cell (None for blank), the problems by cell position,
    and the decision in words."""

    values: list
    problems: dict[int, str] = field(default_factory=dict)
    decision: str = ""


def is_blank(cell: object) -> bool:
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return True
    return isinstance(cell, str) and (not cell.strip() or cell.strip().casefold() in PLACEHOLDERS)


def shown(cell: object) -> str:
    text = str(cell)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _is_number(cell: object) -> bool:
    return isinstance(cell, (int, float)) and not isinstance(cell, bool)


# ---- dates -------------------------------------------------------------------------------

def date_kind(cell: object) -> str | None:
    """Which format a cell is written in: a DATE_FORMATS key, "serial", "native" or None."""
    if isinstance(cell, (dt.date, dt.datetime)):
        return "native"
    if _is_number(cell):
        return "serial"
    text = str(cell).strip()
    if re.fullmatch(r"\d{2,7}(?:\.\d+)?", text):
        return "serial"
    return next((kind for kind, pattern in DATE_FORMATS.items() if pattern.fullmatch(text)),
                None)


def slash_order(cells: Sequence) -> str | None:
    """"m/d" or "d/m" when parts above 12 show it (the more such cells, if both kinds),
    None when no cell tells."""
    firsts = seconds = 0
    for cell in cells:
        match = isinstance(cell, str) and DATE_FORMATS["slashed"].fullmatch(cell.strip())
        if match:
            firsts += int(match["a"]) > 12
            seconds += int(match["b"]) > 12
    if firsts != seconds:
        return "d/m" if firsts > seconds else "m/d"
    return None


def _date_kinds(cells: Sequence) -> list[str | None]:
    """date_kind of every cell, None for blanks; exports repeat dates, so each distinct text
    is classified once."""
    known: dict[str, str | None] = {}
    kinds = []
    for cell in cells:
        if not isinstance(cell, str):
            kinds.append(None if is_blank(cell) else date_kind(cell))
        elif cell in known:
            kinds.append(known[cell])
        else:
            kinds.append(known.setdefault(cell, None if is_blank(cell) else date_kind(cell)))
    return kinds


def read_date_column(cells: Sequence, order_hint: str | None = None) -> ColumnValues:
    """Dates as datetime.date (a time of day is dropped: KPIs count days).

    ``order_hint`` decides a slashed column whose own cells do not ("m/d" or "d/m"), from
    another column of the same file; without one such a column is read as US m/d/yyyy.
    """
    kinds = _date_kinds(cells)
    # Dates and numbers typed in a workbook are unambiguous: only text cells vote.
    written = Counter(kind for kind, cell in zip(kinds, cells, strict=True)
                      if kind not in (None, "native") and isinstance(cell, str))
    kind = max(written, key=written.get) if written else "native"
    order, decision = "m/d", kind
    if kind == "slashed":
        found = slash_order(cells)
        order = found or order_hint or "m/d"
        decision = "dd/mm/yyyy" if order == "d/m" else "m/d/yyyy"
        if found is None:
            why = "as the file's other dates" if order_hint else "US order assumed"
            decision += f" (no day above 12 in this column: {why})"
    elif kind == "serial":
        decision = "Excel serial numbers"
    elif kind == "native":
        decision = "dates stored as dates" if any(kinds) else "blank"
    result = ColumnValues([None] * len(cells), decision=decision)
    dates: dict = {}
    for position, cell in enumerate(cells):
        if kinds[position] is None and is_blank(cell):
            continue
        if isinstance(cell, str) and kinds[position] == kind and cell in dates:
            result.values[position] = dates[cell]
            continue
        typed = kinds[position] == "native" or (_is_number(cell) and kind == "native")
        if typed and _is_number(cell):
            kinds[position] = "serial"
        if kinds[position] != kind and not typed:
            expected = "a date" if kinds[position] is None else f"a {decision.split()[0]} date"
            result.problems[position] = f"{shown(cell)} is not {expected}"
            continue
        value = _date(cell, kinds[position], order)
        if isinstance(value, str):
            result.problems[position] = f"{shown(cell)} {value}"
        else:
            result.values[position] = value
            if isinstance(cell, str):
                dates[cell] = value
    return result


def _date(cell: object, kind: str, order: str) -> dt.date | str:
    """The date, or why the cell is not one."""
    if kind == "native":
        value = cell.date() if isinstance(cell, dt.datetime) else cell
    elif kind == "serial":
        serial = float(cell)
        if not 1 <= serial <= LAST_SERIAL:
            return "is not a date (not an Excel date serial)"
        value = EXCEL_EPOCH + dt.timedelta(days=int(serial))
    else:
        match = DATE_FORMATS[kind].fullmatch(str(cell).strip())
        parts = match.groupdict()
        if kind == "slashed":
            parts["m"], parts["d"] = (parts["a"], parts["b"]) if order == "m/d" else (
                parts["b"], parts["a"])
        if "mon" in parts:
            parts["m"] = MONTHS.get(parts["mon"].lower())
            if parts["m"] is None:
                return "is not a date (unknown month name)"
        year = int(parts["y"])
        year += 2000 if year < 100 else 0
        try:
            value = dt.date(year, int(parts["m"]), int(parts["d"]))
        except ValueError:
            return "is not a date (no such day)"
    if value < FIRST_DATE:
        return "is before March 1900, which Excel cannot hold"
    return value


# ---- numbers -----------------------------------------------------------------------------

def number_text(cell: str) -> tuple[str, bool] | None:
    """The digits and separators of a number cell and whether it is negative; None if the
    cell is not a number. Currency signs and codes, spaces of every kind go."""
    text = _NUMBER_SPACES.sub("", _CURRENCY.sub("", cell))
    negative = text.startswith(("-", "−")) or (text.startswith("(") and text.endswith(")"))
    text = text.strip("()").lstrip("+-−")
    return (text, negative) if _DIGITS.fullmatch(text) else None


def decimal_vote(text: str) -> str | None:
    """"," or "." if the number shows which is its decimal separator, else None."""
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        return "," if text.rfind(",") > text.rfind(".") else "."
    if commas > 1 or dots > 1:
        return "." if commas > 1 else ","  # repeated: the thousands separator
    if commas or dots:
        separator = "," if commas else "."
        return separator if len(text) - text.rfind(separator) - 1 != 3 else None
    return None


def read_number_column(cells: Sequence, whole: bool = False,
                       default_decimal: str = ".") -> ColumnValues:
    """Numbers as float, or int when ``whole`` (counts); the decimal separator is decided
    for the column, ``default_decimal`` when no cell shows it."""
    parsed = {}
    votes: Counter = Counter()
    for position, cell in enumerate(cells):
        if is_blank(cell) or _is_number(cell):
            continue
        found = number_text(str(cell))
        parsed[position] = found
        if found:
            votes[decimal_vote(found[0])] += 1
    votes.pop(None, None)
    decimal = max(votes, key=votes.get) if votes else default_decimal
    decision = "decimal comma" if decimal == "," else "decimal point"
    if not votes and any(found and ("," in found[0] or "." in found[0])
                         for found in parsed.values()):
        decision += " (assumed: no cell shows which)"
    result = ColumnValues([None] * len(cells), decision=decision)
    thousands = "." if decimal == "," else ","
    for position, cell in enumerate(cells):
        if is_blank(cell):
            continue
        if _is_number(cell):
            value = float(cell)
        elif parsed[position] is None:
            result.problems[position] = f"{shown(cell)} is not a number"
            continue
        else:
            text, negative = parsed[position]
            if text.count(decimal) > 1 or decimal_vote(text) not in (None, decimal):
                result.problems[position] = f"{shown(cell)} is not a number with a {decision}"
                continue
            value = float(text.replace(thousands, "").replace(decimal, "."))
            value = -value if negative else value
        if not math.isfinite(value):
            result.problems[position] = f"{shown(cell)} is not a finite number"
        elif whole and not value.is_integer():
            result.problems[position] = f"{shown(cell)} is not a whole number"
        else:
            result.values[position] = int(value) if whole else value
    return result


# ---- text --------------------------------------------------------------------------------

def read_text_column(cells: Sequence) -> ColumnValues:
    """Text trimmed; a whole number from a workbook reads as its digits ("7", not "7.0")."""
    values = []
    for cell in cells:
        if cell is None or (isinstance(cell, str) and not cell.strip()) or (
                isinstance(cell, float) and math.isnan(cell)):
            values.append(None)
        elif isinstance(cell, float) and cell.is_integer():
            values.append(str(int(cell)))
        else:
            values.append(str(cell).strip().replace("\r\n", "\n"))
    return ColumnValues(values, decision="text")


def looks_like_formula(value: object) -> bool:
    """Text a spreadsheet would take for a formula if typed; the writer stores it as text."""
    return isinstance(value, str) and value.startswith(("=", "+", "-", "@"))

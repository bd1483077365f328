"""Cell values of an export, read one column at a time.

A column's format is decided from all of its cells, then every cell is read in that format,
and the decision is reported ("CloseDate: dd.mm.yyyy"). "3/4/2026" is March 4 in a column
where another cell reads "3/14/2026", and April 3 where another reads "14/3/2026". A cell
that does not fit is a problem for its row, never a value passed on as text.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xlkpi.core import lang
from xlkpi.imports.counting import first_of_each

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


def distinct_cells(cells: Sequence) -> tuple[np.ndarray, list]:
    """(code of each cell, the distinct cells): a column of text is read once per distinct
    text; any other column (a workbook's: 1, 1.0 and True are equal keys) cell by cell."""
    array = cells if isinstance(cells, np.ndarray) else np.asarray(cells, dtype=object)
    if len(array) and pd.api.types.infer_dtype(array, skipna=False) == "string":
        codes, distinct = pd.factorize(array)
        return codes, distinct.tolist()
    return np.arange(len(array)), list(array)


def spread(codes: np.ndarray, distinct_values: list) -> list:
    """The value of each cell from the values of the distinct cells."""
    return np.fromiter(distinct_values, dtype=object, count=len(distinct_values))[codes].tolist()


def blank_mask(cells: Sequence) -> np.ndarray:
    """is_blank of each cell, as a boolean array."""
    codes, distinct = distinct_cells(cells)
    return np.fromiter(map(is_blank, distinct), dtype=bool, count=len(distinct))[codes]


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


# Every pattern above tells digits only from other characters, never one digit from another:
# a text and its shape (each ASCII digit made a 9) match the same patterns at the same spans.
DIGITS_AS_NINES = str.maketrans("0123456789", "9" * 10)  # a text's shape: digits made 9s
DATE_PARTS = ("y", "m", "d", "a", "b", "mon")  # the named groups of DATE_FORMATS
_JOIN = "\x1f"  # the unit separator: never in a date, checked before use


class TextShapes:
    """A column's text cells grouped by shape, so that a format is tried once per shape and a
    value read once per distinct date part (exports repeat days; timestamps differ only in
    their time). Other cells (numbers, dates, None from a workbook) are listed apart."""

    def __init__(self, cells: Sequence) -> None:
        cells = cells if isinstance(cells, np.ndarray) else np.asarray(cells, dtype=object)
        if len(cells) and pd.api.types.infer_dtype(cells, skipna=False) == "string":
            self.texts = np.arange(len(cells))
        else:
            self.texts = np.flatnonzero([isinstance(cell, str) for cell in cells])
        self.cells = cells
        self.others = np.setdiff1d(np.arange(len(cells)), self.texts, assume_unique=True)
        texts = cells[self.texts].tolist()
        joined = _JOIN.join(texts)
        if joined.count(_JOIN) == max(len(texts) - 1, 0):
            shapes = joined.translate(DIGITS_AS_NINES).split(_JOIN) if texts else []
        else:
            shapes = [text.translate(DIGITS_AS_NINES) for text in texts]
        codes, self.shapes = pd.factorize(np.asarray(shapes, dtype=object))
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        # positions (into cells) of each shape's cells, in row order
        self.groups = [self.texts[group] for group in np.split(order, bounds)] if texts else []
        self.kinds = [None if is_blank(shape) else date_kind(shape) for shape in self.shapes]

    def parts(self, shape: int, kind: str, names: tuple[str, ...]):
        """(positions, the part of each cell from the first to the last of the groups
        ``names`` that take part) of one shape's cells; the part is the whole stripped cell
        when none of them do (serials)."""
        text = self.shapes[shape]
        match = DATE_FORMATS[kind].fullmatch(text.strip()) if kind in DATE_FORMATS else None
        spans = [match.span(name) for name in names
                 if match and name in match.groupdict() and match.span(name) != (-1, -1)]
        positions = self.groups[shape]
        cells = self.cells[positions].tolist()
        if not spans:
            return positions, [cell.strip() for cell in cells]
        offset = len(text) - len(text.lstrip())
        low, high = min(spans)[0] + offset, max(end for _, end in spans) + offset
        return positions, list(map(operator.itemgetter(slice(low, high)), cells))


def slash_order(cells: Sequence | TextShapes) -> str | None:
    """"m/d" or "d/m" when parts above 12 show it (the more such cells, if both kinds),
    None when no cell tells."""
    shapes = cells if isinstance(cells, TextShapes) else TextShapes(cells)
    firsts = seconds = 0
    pattern = DATE_FORMATS["slashed"]
    for shape, text in enumerate(shapes.shapes):
        if not pattern.fullmatch(text.strip()):
            continue
        _, parts = shapes.parts(shape, "slashed", ("a", "b"))
        for part, count in Counter(parts).items():
            first, second = part.split("/")  # the part is "a/b", as the whole cell has them
            firsts += (int(first) > 12) * count
            seconds += (int(second) > 12) * count
    if firsts != seconds:
        return "d/m" if firsts > seconds else "m/d"
    return None


def elected_kind(shapes) -> str:
    """The kind a date column is read as, from (kind, first row, cells) of each of its shapes:
    the written kind of the most cells, ties to the kind met first (as a Counter filled in row
    order gives them); "native" when no text cell is a date. Dates and numbers typed in a
    workbook are unambiguous: only text cells vote."""
    written: dict[str, list] = {}
    for kind, first, count in shapes:
        if kind not in (None, "native"):
            earlier = written.setdefault(kind, [first, 0])
            earlier[0], earlier[1] = min(earlier[0], first), earlier[1] + count
    return (max(sorted(written, key=lambda name: written[name][0]),
                key=lambda name: written[name][1]) if written else "native")


def kind_decision(kind: str, found: str | None, order_hint: str | None) -> tuple[str, str]:
    """(the order, the decision in words) of a column read as the written ``kind``; ``found``:
    the order ("d/m", "m/d" or None) a slashed column's own days tell, ``order_hint`` the file's
    other dates'. A column of no written date ("native") each caller words its own way."""
    if kind != "slashed":
        return "m/d", "Excel serial numbers" if kind == "serial" else kind
    order = found or order_hint or "m/d"
    decision = "dd/mm/yyyy" if order == "d/m" else "m/d/yyyy"
    if found is None:
        why = "as the file's other dates" if order_hint else "US order assumed"
        decision += f" (no day above 12 in this column: {why})"
    return order, decision


def read_date_column(cells: Sequence, order_hint: str | None = None,
                     shapes: TextShapes | None = None) -> ColumnValues:
    """Dates as datetime.date (a time of day is dropped: KPIs count days).

    ``order_hint`` decides a slashed column whose own cells do not ("m/d" or "d/m"), from
    another column of the same file; without one such a column is read as US m/d/yyyy.
    ``shapes``: the cells' TextShapes when the caller has them already.
    """
    shapes = shapes or TextShapes(cells)
    cells = shapes.cells
    other_kinds = {int(position): None if is_blank(cells[position]) else date_kind(
        cells[position]) for position in shapes.others}
    kind = elected_kind((kind, int(shapes.groups[shape][0]), len(shapes.groups[shape]))
                        for shape, kind in enumerate(shapes.kinds))
    if kind == "native":
        any_date = any(shapes.kinds) or any(other_kinds.values())
        order, decision = "m/d", "dates stored as dates" if any_date else "blank"
    else:
        order, decision = kind_decision(
            kind, slash_order(shapes) if kind == "slashed" else None, order_hint)
    result = ColumnValues([None] * len(cells), decision=decision)
    dated = np.full(len(cells), None, dtype=object)
    for shape, shape_kind in enumerate(shapes.kinds):
        if shape_kind is None and is_blank(shapes.shapes[shape]):
            continue
        if shape_kind != kind:
            expected = _not_a_date(shape_kind, decision)
            for position in shapes.groups[shape].tolist():
                result.problems[position] = f"{shown(cells[position])} {expected}"
            continue
        positions, parts = shapes.parts(shape, kind, DATE_PARTS)
        codes, distinct = pd.factorize(np.asarray(parts, dtype=object))
        first = first_of_each(codes)  # each distinct part's first cell
        read = [_date(cells[positions[index]], kind, order) for index in first.tolist()]
        values = np.asarray(read + [None], dtype=object)[:-1]
        bad = [code for code, value in enumerate(read) if isinstance(value, str)]
        if bad:
            values[bad] = None
            for index in np.flatnonzero(np.isin(codes, bad)).tolist():
                position = int(positions[index])
                result.problems[position] = f"{shown(cells[position])} {read[codes[index]]}"
        dated[positions] = values[codes]
    for position, cell_kind in other_kinds.items():  # typed workbook cells, one at a time
        cell = cells[position]
        if cell_kind is None and is_blank(cell):
            continue
        typed = cell_kind == "native" or (_is_number(cell) and kind == "native")
        if typed and _is_number(cell):
            cell_kind = "serial"
        if cell_kind != kind and not typed:
            result.problems[position] = f"{shown(cell)} {_not_a_date(cell_kind, decision)}"
            continue
        value = _date(cell, cell_kind, order)
        if isinstance(value, str):
            result.problems[position] = f"{shown(cell)} {value}"
        else:
            dated[position] = value
    result.values = dated.tolist()
    result.problems = dict(sorted(result.problems.items()))
    return result


def _not_a_date(kind: str | None, decision: str) -> str:
    """Why a cell of another date format than the column's is skipped: "is not a date" (a
    phrase merge.in_words rewords), or "is not a dd/mm/yyyy date" in the language in force."""
    if kind is None:
        return "is not a date"
    return lang.text("messages.imports.not_format_date", format=decision.split()[0])


not_a_date = _not_a_date  # events.py's chunks say it the same way


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


date_or_reason = _date  # public: events.py decides a column's dates chunk by chunk


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
    codes, distinct = distinct_cells(cells)
    counts = np.bincount(codes, minlength=len(distinct)).tolist()
    parsed = {}
    votes: Counter = Counter()
    for index, cell in enumerate(distinct):
        if is_blank(cell) or _is_number(cell):
            continue
        found = number_text(str(cell))
        parsed[index] = found
        if found:
            votes[decimal_vote(found[0])] += counts[index]
    votes.pop(None, None)
    decimal = max(votes, key=votes.get) if votes else default_decimal
    decision = "decimal comma" if decimal == "," else "decimal point"
    if not votes and any(found and ("," in found[0] or "." in found[0])
                         for found in parsed.values()):
        decision += " (assumed: no cell shows which)"
    thousands = "." if decimal == "," else ","
    read: list = [None] * len(distinct)
    problems = {}
    for index, cell in enumerate(distinct):
        if is_blank(cell):
            continue
        if _is_number(cell):
            value = float(cell)
        elif parsed[index] is None:
            problems[index] = f"{shown(cell)} is not a number"
            continue
        else:
            text, negative = parsed[index]
            if text.count(decimal) > 1 or decimal_vote(text) not in (None, decimal):
                problems[index] = f"{shown(cell)} is not a number with a {decision}"
                continue
            value = float(text.replace(thousands, "").replace(decimal, "."))
            value = -value if negative else value
        if not math.isfinite(value):
            problems[index] = f"{shown(cell)} is not a finite number"
        elif whole and not value.is_integer():
            problems[index] = f"{shown(cell)} is not a whole number"
        else:
            read[index] = int(value) if whole else value
    result = ColumnValues(spread(codes, read), decision=decision)
    for position in np.flatnonzero(np.isin(codes, list(problems))).tolist():
        result.problems[position] = problems[codes[position]]
    return result


# ---- text --------------------------------------------------------------------------------

def read_text_column(cells: Sequence) -> ColumnValues:
    """Text trimmed; a whole number from a workbook reads as its digits ("7", not "7.0")."""
    codes, distinct = distinct_cells(cells)
    return ColumnValues(spread(codes, [_text(cell) for cell in distinct]), decision="text")


def _text(cell: object) -> str | None:
    if cell is None or (isinstance(cell, str) and not cell.strip()) or (
            isinstance(cell, float) and math.isnan(cell)):
        return None
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip().replace("\r\n", "\n")


def looks_like_formula(value: object) -> bool:
    """Text a spreadsheet would take for a formula if typed; the writer stores it as text."""
    return isinstance(value, str) and value.startswith(("=", "+", "-", "@"))

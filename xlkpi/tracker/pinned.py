"""What points at a data sheet's rows, so that refresh must not move them (data.py groups rows
by owner only where nothing does).

A reference "points at a row" when it names a data sheet's row by number: a cell
(=Opportunities!F3), a cell or row range (Opportunities!F2:F90, Opportunities!3:5). Whole
columns (Opportunities!F:F) and the tables' structured references (Opportunities[Amount]) do not:
moving rows changes nothing they show. Looked at, on every sheet left after the generated tabs
are removed: cell formulas (a data row's own formula may use its own row; any other relative
reference in it would shift as the row moves), defined names, conditional formats and data
validations (their formulas, and on a data sheet their ranges when they cover only some of the
data rows), hyperlinks to a place in the workbook and the series of charts. Text a formula turns
into a reference at run time (INDIRECT, HYPERLINK("#…")) cannot be seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from openpyxl import Workbook
from openpyxl.formula.tokenizer import Tokenizer
from openpyxl.worksheet.formula import ArrayFormula

from xlkpi.core import lang
from xlkpi.xlsx.cellxml import FORMULA
from xlkpi.xlsx.parts import column_index, column_letter, xml_text

_SHEET_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!(.+)$")
_CELLS = re.compile(r"^\$?[A-Za-z]{1,3}(\$?)(\d+)(?::\$?[A-Za-z]{1,3}(\$?)(\d+))?$")
_ROWS = re.compile(r"^(\$?)(\d+):(\$?)(\d+)$")
# A kept row's cells that hold a formula (Excel and openpyxl write "r" first; f before v); %s:
# a lookahead that leaves out the generated column.
_FORMULA_CELL = rb'<c\s+r="%s([A-Z]{1,3})(\d+)"[^>]*>\s*(<f(?=[\s/>])[^>]*?(?:/>|>[^<]*</f>))'


class Pins:
    """Data sheet → why its rows must stay where they are (the first thing found)."""

    def __init__(self, lasts: dict[str, int]):
        self.lasts = {name.lower(): (name, last) for name, last in lasts.items()}
        # how a data sheet's name can be written in a formula (quoted: ' doubled)
        self.spellings = {spelling for name in self.lasts for spelling in (
            name, name.replace("'", "''"))}
        self.reasons: dict[str, str] = {}
        self._verdicts: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}

    def pin(self, sheet: str, reason: str) -> None:
        self.reasons.setdefault(sheet, reason)

    def target(self, title: str | None) -> tuple[str, int] | None:
        """(data sheet title, its last data row) of the sheet ``title``, if it is one."""
        return self.lasts.get(title.lower()) if title else None

    def formula(self, text: str, host: str, row: int | None, where: str) -> None:
        """Pin what the formula ``text`` on sheet ``host`` points at; ``row``: the data row
        it is in (it moves with that row), None outside the data rows; ``where`` says where
        it is, for the message."""
        if self.target(host) is None and not any(
                spelling in text.lower() for spelling in self.spellings):
            return  # names no data sheet and is on none: it points at none (no need to parse)
        for operand, sheet, first, last, relative in references(text):
            same = sheet is None or sheet.lower() == host.lower()
            own_row = same and first == last == row
            if row is not None and relative and not own_row:
                own = self.target(host)
                if own is not None:  # it would shift as its row moves
                    self.pin(own[0], lang.text("messages.held.refers", operand=operand,
                                                   where=where))
            hit = self.target(sheet or host)
            if hit is None or (own_row and relative):
                continue
            name, data_last = hit
            if last >= 2 and first <= data_last:
                self.pin(name, lang.text("messages.held.points", operand=operand, where=where))

    def data_row_formula(self, text: str, host: str, row: int, col: int) -> None:
        """formula() for a formula in a data row, judged once per shape (the same text with
        its relative rows at the same offsets: a column filled down is one shape)."""
        shape = (host, re.sub(r"(?<![\w.$!])(\$?[A-Z]{1,3})(\d+)",
                              lambda m: f"{m.group(1)}#{int(m.group(2)) - row}", text))
        if shape not in self._verdicts:
            before, self.reasons = self.reasons, {}
            self.formula(text, host, row, lang.text("messages.held.in_cell", host=host,
                                                   cell=f"{column_letter(col)}{row}"))
            self._verdicts[shape] = tuple(self.reasons.items())
            self.reasons = before
        for sheet, reason in self._verdicts[shape]:
            self.pin(sheet, reason)

    def sqref(self, ranges: Iterable, host: str, what: str) -> None:
        """A conditional format's or validation's cells on a data sheet: pinned when they
        cover some of its data rows but not all (the rows would leave or enter them)."""
        hit = self.target(host)
        if hit is None:
            return
        name, last = hit
        for cell_range in ranges:
            low, high = cell_range.min_row, cell_range.max_row
            if high >= 2 and low <= last and (low > 2 or high < last):
                self.pin(name, lang.text("messages.held.covers", what=what, host=host,
                                   cells=cell_range.coord))
                return


def references(text: str) -> Iterator[tuple[str, str | None, int, int, bool]]:
    """(operand, sheet or None, first row, last row, any row relative) for each reference by
    row number in the formula ``text``; whole columns, structured references, names and
    references into other workbooks are left out."""
    if not text.startswith("="):
        text = "=" + text
    try:
        items = Tokenizer(text).items
    except Exception:  # noqa: BLE001 - not a formula openpyxl can read: nothing found
        return
    for item in items:
        if item.type != "OPERAND" or item.subtype != "RANGE":
            continue
        operand = item.value
        if "[" in operand:
            continue  # a structured reference, or another workbook's
        sheet, ref = None, operand
        match = _SHEET_REF.match(operand)
        if match:
            sheet = (match.group(1) or "").replace("''", "'") or match.group(2)
            ref = match.group(3)
            if ":" in sheet:
                continue  # Sheet1:Sheet3!A1, rare: left out
        cells = _CELLS.match(ref) or _ROWS.match(ref)
        if cells is None:
            continue
        first_abs, first, last_abs, last = cells.groups()
        if last is None:  # one cell
            last_abs, last = first_abs, first
        first, last = sorted((int(first), int(last)))
        yield operand, sheet, first, last, not (first_abs and last_abs)


def find_pins(wb: Workbook, data_rows: dict[str, tuple[int, int]],
              kept: dict[str, object]) -> dict[str, str]:
    """Data sheet → why its rows must not move, for the sheets of ``data_rows`` (title →
    (its last data row, its generated formula column to leave out or 0)); ``kept``: title →
    the KeptRows of the sheets whose rows are held outside openpyxl."""
    pins = Pins({title: last for title, (last, _stage) in data_rows.items()})
    for ws in wb.worksheets:
        title = ws.title
        own = pins.target(title)
        last, stage_col = data_rows.get(title, (0, 0))
        for (row, col), cell in ws._cells.items():
            if cell.data_type != "f" or col == stage_col:
                continue
            value = cell._value
            text = value.text if isinstance(value, ArrayFormula) else value
            if not isinstance(text, str):
                continue
            if own is not None and 2 <= row <= last:
                pins.data_row_formula(text, title, row, col)
            else:
                pins.formula(text, title, None, lang.text("messages.held.on_sheet", sheet=title))
        for cell in [cell for cell in ws._cells.values()
                     if cell.hyperlink is not None and cell.hyperlink.location]:
            location = cell.hyperlink.location.lstrip("#")
            target = location if "!" in location else f"'{title}'!{location}"
            pins.formula(target, title, None, lang.text("messages.held.link", sheet=title,
                                                   cell=cell.coordinate))
        for formatting in ws.conditional_formatting:
            pins.sqref(formatting.sqref.ranges, title, lang.text("messages.held.formatting"))
            for rule in formatting.rules:
                for text in rule.formula or ():
                    pins.formula(str(text), title, None,
                                 lang.text("messages.held.formatting_on", sheet=title))
        for validation in ws.data_validations.dataValidation:
            pins.sqref(validation.sqref.ranges, title, lang.text("messages.held.validation"))
            for text in (validation.formula1, validation.formula2):
                if text:
                    pins.formula(str(text), title, None,
                                 lang.text("messages.held.validation_on", sheet=title))
        for chart in getattr(ws, "_charts", ()):
            _chart_refs(pins, chart, lang.text("messages.held.chart_on", sheet=title))
        for name in getattr(ws, "defined_names", {}).values():
            _defined_name(pins, name, title)
    for chartsheet in wb.chartsheets:
        for chart in getattr(chartsheet, "_charts", ()):
            _chart_refs(pins, chart, lang.text("messages.held.chart_on", sheet=chartsheet.title))
    for name in wb.defined_names.values():
        _defined_name(pins, name, None)
    for title, rows in kept.items():
        if title in data_rows:
            _kept_formulas(pins, title, rows.body, data_rows[title][1])
    return pins.reasons


def _defined_name(pins: Pins, name, scope: str | None) -> None:
    if name.name.startswith("_xlnm.") or not name.attr_text:
        return  # print areas and titles, filters: Excel's own, about the sheet's layout
    pins.formula(name.attr_text, scope or "", None, lang.text("messages.held.name", name=name.name))


def _chart_refs(pins: Pins, chart, where: str) -> None:
    from openpyxl.xml.functions import tostring

    try:
        xml = tostring(chart._write()).decode()
    except Exception:  # noqa: BLE001 - a chart openpyxl cannot write back: nothing found
        return
    for match in re.finditer(r"<(?:\w+:)?f>([^<]*)</(?:\w+:)?f>", xml):
        pins.formula(xml_text(match.group(1).encode()), "", None, where)


def _kept_formulas(pins: Pins, title: str, body: bytes, stage_col: int) -> None:
    """The formulas of rows held outside openpyxl (KeptRows' XML), the generated column left
    out."""
    if b"<f" not in body:
        return
    skip = f"(?!{column_letter(stage_col)}\\d)".encode() if stage_col else b""
    for match in re.compile(_FORMULA_CELL % skip).finditer(body):
        formula = FORMULA.match(match.group(3))
        if formula is None or formula.group(2) is None:
            continue
        pins.data_row_formula(xml_text(formula.group(2)), title, int(match.group(2)),
                              column_index(match.group(1)))

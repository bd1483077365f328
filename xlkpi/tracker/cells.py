"""Writing cells and sheets: a person's text as text, formulas, headers, references, printing."""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.tracker.model import sheet_ref
from xlkpi.tracker.styles import HEADER_FILL, HEADER_FONT, style


def put_text(cell, value: object) -> None:
    """Write a person's value as typed; text is always a string cell (never a formula). A text
    or a plain number is set as openpyxl's value setter sets it, without its type inference
    (most of the time of importing many rows)."""
    if isinstance(value, str):
        cell._value = ILLEGAL_CHARACTERS_RE.sub("", value)[:32767]  # the setter's checks
        cell.data_type = "s"
    elif type(value) is int or type(value) is float:
        cell._value = value
        cell.data_type = "n"
    else:
        cell.value = value


def text_cell(ws: Worksheet, row: int, col: int, value: object, font: Font | None = None,
         fmt: str | None = None, fill: PatternFill | None = None):
    """Put ``value`` (as put_text) in a cell and style it; the cell."""
    cell = ws.cell(row=row, column=col)
    put_text(cell, value)
    if font is not None or fmt is not None or fill is not None:
        style(cell, font, fmt, fill)
    return cell


def formula_cell(ws: Worksheet, row: int, col: int, formula_text: str, fmt: str | None = None,
            font: Font | None = None):
    """Put a formula (text starting with "=") in a cell and style it; the cell."""
    assert formula_text.startswith("=")
    cell = ws.cell(row=row, column=col, value=formula_text)
    if fmt is not None or font is not None:
        style(cell, font, fmt)
    return cell


def checked_formula(formula_text: str) -> str:
    """``formula_text`` (text starting with "=") if a cell can hold it as it is, the check
    openpyxl makes of every text it is given (no control characters, at most 32,767 of them);
    else the error openpyxl raises. For formulas written many times with put_formula."""
    Cell(None).check_string(formula_text)
    assert formula_text.startswith("=")
    return formula_text


def put_formula(ws: Worksheet, row: int, col: int, formula_text: str, fmt: str | None = None,
                font: Font | None = None) -> None:
    """formula_cell for a formula already checked (checked_formula): the cell is made directly,
    without openpyxl's scan of the text, which is most of the time of writing a formula (the
    Team and rep tabs write thousands, the same ones again on every rep tab)."""
    cells = ws._cells  # noqa: SLF001 - openpyxl's cell store
    cell = cells.get((row, col))
    if cell is None:
        cell = cells[(row, col)] = Cell(ws, row=row, column=col)
    cell._value = formula_text  # noqa: SLF001 - what the value setter stores for a formula
    cell.data_type = "f"
    if fmt is not None or font is not None:
        style(cell, font, fmt)


def header_row(ws: Worksheet, row: int, labels: Sequence[str], first_col: int = 1) -> None:
    for offset, label in enumerate(labels):
        text_cell(ws, row, first_col + offset, label, HEADER_FONT, fill=HEADER_FILL)


def quote_title(title: str) -> str:
    """A sheet title as a formula refers to it: 'O''Neil'."""
    return "'" + title.replace("'", "''") + "'"


def absolute(col: int, row: int) -> str:
    """$C$4"""
    return f"${get_column_letter(col)}${row}"


def whole_column(sheet: str, letter: str) -> str:
    """Leads!$C:$C: a column of the tracker sheet ``sheet`` (an id, model.LEADS…), titled in
    the language in force ('Лиды'!$C:$C)."""
    return f"{sheet_ref(sheet)}!${letter}:${letter}"


def select_only(wb: Workbook) -> None:
    """One selected tab (several selected tabs are 'grouped' in Excel), and never a hidden one
    active."""
    active = wb.active
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = ws is active


def print_setup(ws: Worksheet, area: str | None, title_rows: str | None) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    if area:
        ws.print_area = area
    if title_rows:
        ws.print_title_rows = title_rows
    ws.print_options.gridLines = False

"""How the tracker looks: fonts, fills, number formats, and setting them on cells quickly."""

from __future__ import annotations

import re
import weakref
from copy import copy

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.core.kpis import Kpi

TITLE = Font(size=14, bold=True, color="1F3864")
BOLD = Font(bold=True)
GREY = Font(color="808080")
GREY_SMALL = Font(color="808080", size=9, italic=True)
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F3864")
SECTION_FONT = Font(bold=True, size=12, color="1F3864")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
CALC_FILL = PatternFill("solid", fgColor="F2F2F2")
ACTUAL_FONT = Font(bold=True)
BLOCK_TOP = Border(top=Side(style="thin", color="A6A6A6"))
WRAP = Alignment(wrap_text=True, vertical="top")
RIGHT = Alignment(horizontal="right")
MONTH_FORMAT = "mmm yyyy"
DAY_FORMAT = "d mmm yyyy"
PERCENT = "0.0%"
ATTAINMENT = "0%"
COUNT = "#,##0"


def day_format() -> str:
    """DAY_FORMAT in the language in force (dd.mm.yyyy in Russian)."""
    return lang.text("formats.day")


def month_format() -> str:
    """MONTH_FORMAT in the language in force."""
    return lang.text("formats.month")

# Red / amber / green by attainment.
RED_BELOW, GREEN_FROM = 0.8, 1.0
_RED = (PatternFill("solid", fgColor="F8CBAD"), Font(color="9C0006"))
_AMBER = (PatternFill("solid", fgColor="FFE699"), Font(color="7F6000"))
_GREEN = (PatternFill("solid", fgColor="C6EFCE"), Font(color="006100"))

_SYMBOL_BEFORE = {"USD": "$", "GBP": "£", "JPY": "¥", "CNY": "¥", "AUD": "A$", "CAD": "C$",
                  "INR": "₹", "$": "$", "£": "£", "¥": "¥", "₹": "₹"}
_SYMBOL_AFTER = {"EUR": "€", "RUB": "₽", "UAH": "₴", "KZT": "₸", "PLN": "zł", "CHF": "CHF",
                 "€": "€", "₽": "₽"}


def currency_format(currency: object, decimals: int = 0) -> str:
    """An Excel number format showing the Settings currency ("USD" → "$"#,##0)."""
    number = "#,##0" + ("." + "0" * decimals if decimals else "")
    code = re.sub(r'["\\\[\]\x00-\x1f;]', "", str(currency or "")).strip()[:12]
    if not code:
        return number
    if code.upper() in _SYMBOL_BEFORE:
        return f'"{_SYMBOL_BEFORE[code.upper()]}"{number}'
    return f'{number} "{_SYMBOL_AFTER.get(code.upper(), code)}"'


def number_format(kpi: Kpi, currency: object) -> str:
    if kpi.unit == "ratio":
        return PERCENT
    if kpi.unit == "currency":
        return currency_format(currency, kpi.decimals)
    if kpi.unit == "days":
        return "0." + "0" * kpi.decimals if kpi.decimals else "0"
    return COUNT


# The style ids each combination of (the cell's style, font, format, fill, border, alignment)
# gave a cell, per workbook (the ids index that workbook's style lists). openpyxl hashes a Font
# or a Fill every time one is set, tens of thousands of times on 50 rep tabs; copying the ids
# is much faster. Keyed by the workbook object, and gone with it.
_STYLE_IDS: weakref.WeakKeyDictionary[Workbook, dict] = weakref.WeakKeyDictionary()
# The last workbook styled and its ids: a WeakKeyDictionary makes a weak reference on every
# look-up, a third of the time of styling a cell.
_LAST: list = [lambda: None, {}]


def _style_ids(wb: Workbook) -> dict:
    """_STYLE_IDS of ``wb``."""
    if _LAST[0]() is wb:
        return _LAST[1]
    cache = _STYLE_IDS.get(wb)
    if cache is None:
        cache = _STYLE_IDS[wb] = {}
    _LAST[:] = [weakref.ref(wb), cache]
    return cache


def style(cell, font: Font | None = None, fmt: str | None = None,
          fill: PatternFill | None = None, border: Border | None = None,
          alignment: Alignment | None = None) -> None:
    """Set these style parts of ``cell``. The first cell with a combination sets it the
    ordinary way, so the stylesheet and the ids are what plain assignment gives; later cells
    copy its ids (see _STYLE_IDS)."""
    cache = _style_ids(cell.parent.parent)
    base = cell._style
    key = (base and tuple(base), id(font), fmt, id(fill), id(border), id(alignment))
    known = cache.get(key)
    if known is not None:
        cell._style = copy(known[0])
        return
    if font is not None:
        cell.font = font
    if fmt is not None:
        cell.number_format = fmt
    if fill is not None:
        cell.fill = fill
    if border is not None:
        cell.border = border
    if alignment is not None:
        cell.alignment = alignment
    # the style objects are kept with the ids: an id() stays theirs while they live
    cache[key] = (copy(cell._style), font, fill, border, alignment)


def red_amber_green(ws: Worksheet, ref: str, condition: str, first_cell: str) -> None:
    """Red / amber / green on attainment cells (numbers only; blanks stay white)."""
    base = f"{condition},ISNUMBER({first_cell})"
    rules = ((f"AND({base},{first_cell}<{RED_BELOW})", _RED),
             (f"AND({base},{first_cell}>={RED_BELOW},{first_cell}<{GREEN_FROM})", _AMBER),
             (f"AND({base},{first_cell}>={GREEN_FROM})", _GREEN))
    for formula, (fill, font) in rules:
        ws.conditional_formatting.add(ref, FormulaRule(formula=[formula], fill=fill, font=font))

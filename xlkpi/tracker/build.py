"""The tracker workbook: built from a Tracker, and its generated parts rebuilt in place.

This module only writes (``reader.py`` reads). Every number on the generated tabs is a live
formula made of functions that Excel, LibreOffice Calc and Google Sheets all have (COUNTIFS,
SUMIFS, IFERROR, DATE, EOMONTH, INDEX, MATCH, RANK…), so the tracker computes with no add-in.

What a person types (Settings values and reps, every Targets cell, data rows, their own columns
and sheets) is never rewritten. What the tool generates is listed on the very hidden sheet
``_xlkpi`` together with a marker and a format version, so that ``regenerate`` knows what it
may throw away and the reader can tell a tracker from any other workbook.

Text from a person (rep names, stages, notes) is always written as a string cell, never as a
formula or an error value, whatever it starts with.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.formatting.rule import FormulaRule
from openpyxl.formula.translate import Translator
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi import __version__
from xlkpi.core.cells import WON_STAGES, owner_key
from xlkpi.core.errors import InputError, TrackerFileError
from xlkpi.core.kpis import KPIS, Kpi
from xlkpi.tracker.model import (
    CUSTOMERS,
    DATA_COLUMNS,
    DATA_SHEETS,
    EMAILS,
    LEADERBOARD,
    LEADS,
    OPPORTUNITIES,
    SETTINGS,
    SPEND,
    STAGE_CLASS_COLUMN,
    START,
    TARGETS,
    TEAM,
    TEAM_NAME,
    DataSheet,
    Settings,
    TargetRow,
    Tracker,
)
from xlkpi.xlsx.splice import RowsOutside, SplitBook, workbook_and_rows
from xlkpi.xlsx.stream import STREAM_FROM_ROWS, NewRows, plain_values

# --- the layout that reader.py, the tests and the other modules rely on --------------------

META = "_xlkpi"  # very hidden: marker, format version, the generated sheets
MARKER = "xlkpi"
FORMAT_VERSION = 1
META_HEADER_ROW = 6  # Sheet | Kind | Rep; one row per generated sheet below it
KIND_START, KIND_TEAM, KIND_REP, KIND_LEADERBOARD = "start", "team", "rep", "leaderboard"

FIXED_SHEETS = (START, SETTINGS, TARGETS, TEAM, LEADERBOARD, *DATA_SHEETS, META)

# Settings: label in column A, the typed value in column B.
SETTINGS_ROWS = {"year": 4, "fiscal_start": 5, "currency": 6, "as_of": 7}
SETTINGS_LABELS = {"year": "Year", "fiscal_start": "Fiscal year starts in month",
                   "currency": "Currency", "as_of": "Year to date through"}
SETTINGS_REPS_HEADER_ROW = 14  # "Reps" in A14, one name per row below it in column A
SETTINGS_REPS_LABEL = "Reps"
S_YEAR, S_FISCAL_START, S_AS_OF_TYPED = "Settings!$B$4", "Settings!$B$5", "Settings!$B$7"
S_AS_OF, S_MONTHS_TO_DATE, S_FIRST_DAY = "Settings!$B$10", "Settings!$B$11", "Settings!$B$12"

# Targets: Who | KPI | 12 fiscal months | Notes and anything else a person adds.
TARGETS_HEADER_ROW = 4
TARGETS_FIRST_ROW = 5
TARGETS_WHO_COL, TARGETS_KPI_COL, TARGETS_FIRST_MONTH_COL = 1, 2, 3
TARGETS_EXTRA_COL = TARGETS_FIRST_MONTH_COL + 12  # O: "Notes"

# Team and rep tabs.
TAB_WHO_ROW, TAB_NOTE_ROW, TAB_HEADER_ROW, TAB_THROUGH_ROW, TAB_FIRST_ROW = 2, 3, 4, 5, 6
TAB_FIRST_MONTH_COL = 3  # C..N: the twelve fiscal months
TAB_YTD_COL = TAB_FIRST_MONTH_COL + 12  # O
TAB_CRITERION_COL = TAB_YTD_COL + 1  # P (hidden): "=name" with wildcards escaped
TAB_MATCH_ROW = TAB_NOTE_ROW  # P3 (hidden): the name with wildcards escaped, for MATCH
# Rep tabs, hidden Q:U, one row per data sheet with an Owner column from row 2: the sheet, the
# number of rows owned by the rep, the first and last row of their block, and whether those
# rows are all theirs (the block is contiguous). See _owner_blocks.
TAB_BLOCK_FIRST_ROW = TAB_WHO_ROW
TAB_BLOCK_SHEET_COL, TAB_BLOCK_COUNT_COL, TAB_BLOCK_FIRST_COL, TAB_BLOCK_LAST_COL, \
    TAB_BLOCK_OK_COL = range(TAB_CRITERION_COL + 1, TAB_CRITERION_COL + 6)  # Q R S T U
# Per KPI row (hidden, same row as the Actual): won revenue in the period before the first
# month (P) and before the year to date (Q), which revenue growth divides by.
TAB_PREVIOUS_FIRST_COL, TAB_PREVIOUS_YTD_COL = TAB_CRITERION_COL, TAB_CRITERION_COL + 1
# Finding the tab's Targets row (hidden): P4 the first Targets row of the tab's who; on each
# Target row, P the Targets row of (who, KPI) when there is exactly one, else 0; Q how many
# rows there are; R the candidate row checked in P. See _target_formula.
TAB_TARGETS_WHO_ROW = TAB_HEADER_ROW  # P4
TAB_TARGET_ROW_COL, TAB_TARGET_COUNT_COL, TAB_TARGET_CANDIDATE_COL = range(
    TAB_CRITERION_COL, TAB_CRITERION_COL + 3)  # P Q R
ROW_KINDS = ("Target", "Actual", "Attainment")
YTD_HEADER = "Year to date"

# What columns.stage_class removes from a stage before matching (tests keep the two in step),
# and how the StageClass formula writes each character. The no-break space is written as itself
# in a string: UNICHAR needs the _xlfn. prefix in a file (without it LibreOffice and Excel show
# #NAME?) and is missing from Excel 2010, and CHAR(160) is another character on a Mac.
STAGE_STRIPPED = (" ", "\u00a0", "\t", "\n", "\r", "-", "_")
_STRIPPED_IN_FORMULA = {" ": '" "', "\u00a0": '"\u00a0"', "\t": "CHAR(9)",
                        "\n": "CHAR(10)", "\r": "CHAR(13)", "-": '"-"', "_": '"_"'}
# The data sheets with an Owner column: the rep tabs read each through the rep's owner block.
OWNED_SHEETS = tuple(name for name in DATA_SHEETS if "Owner" in DATA_COLUMNS[name])

# Red / amber / green by attainment.
RED_BELOW, GREEN_FROM = 0.8, 1.0
LEADERBOARD_CAP = 1.5

REP_KPIS = tuple(kpi for kpi in KPIS if not kpi.team_only)

# --- styles --------------------------------------------------------------------------------

_TITLE = Font(size=14, bold=True, color="1F3864")
_BOLD = Font(bold=True)
_GREY = Font(color="808080")
_GREY_SMALL = Font(color="808080", size=9, italic=True)
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F3864")
_SECTION_FONT = Font(bold=True, size=12, color="1F3864")
_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
_CALC_FILL = PatternFill("solid", fgColor="F2F2F2")
_ACTUAL_FONT = Font(bold=True)
_BLOCK_TOP = Border(top=Side(style="thin", color="A6A6A6"))
_WRAP = Alignment(wrap_text=True, vertical="top")
_RED = (PatternFill("solid", fgColor="F8CBAD"), Font(color="9C0006"))
_AMBER = (PatternFill("solid", fgColor="FFE699"), Font(color="7F6000"))
_GREEN = (PatternFill("solid", fgColor="C6EFCE"), Font(color="006100"))
_MONTH_FORMAT = "mmm yyyy"
_DAY_FORMAT = "d mmm yyyy"
_PERCENT = "0.0%"
_ATTAINMENT = "0%"
_COUNT = "#,##0"
_RIGHT = Alignment(horizontal="right")
_VALIDATION_TAG = "xlkpi"  # promptTitle of the validations this module owns

_FORBIDDEN_IN_TITLE = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_SYMBOL_BEFORE = {"USD": "$", "GBP": "£", "JPY": "¥", "CNY": "¥", "AUD": "A$", "CAD": "C$",
                  "INR": "₹", "$": "$", "£": "£", "¥": "¥", "₹": "₹"}
_SYMBOL_AFTER = {"EUR": "€", "RUB": "₽", "UAH": "₴", "KZT": "₸", "PLN": "zł", "CHF": "CHF",
                 "€": "€", "₽": "₽"}


# --- public API ----------------------------------------------------------------------------

def new_workbook(tracker: Tracker, *, streamed: bool | None = None) -> Workbook | SplitBook:
    """A complete tracker: Start, Settings, Targets, Team, one tab per rep, Leaderboard and the
    five data sheets holding ``tracker.data``.

    ``streamed`` (default: when the data has stream.STREAM_FROM_ROWS rows or more): the data
    sheets hold only their header row in memory and their rows are written into the file as it
    is saved (a splice.SplitBook is returned), in a fraction of the time and memory."""
    check_reps(tracker.settings.reps)
    sheets = [sheet for sheet in tracker.data.values() if sheet is not None]
    if streamed is None:
        streamed = (sum(len(sheet.rows) for sheet in sheets) >= STREAM_FROM_ROWS
                    and all(plain_values(sheet.rows) for sheet in sheets))
    wb = Workbook()
    outside: dict[str, RowsOutside] | None = {} if streamed else None
    wb.remove(wb.active)
    _write_settings(wb.create_sheet(SETTINGS), tracker.settings)
    _write_targets(wb.create_sheet(TARGETS), tracker)
    for name in DATA_SHEETS:
        _write_data_sheet(wb.create_sheet(name), name, tracker.data.get(name),
                          tracker.settings.reps, outside)
    wb.properties.creator = MARKER
    wb.properties.title = "Sales KPI tracker"
    _generate(wb, tracker)
    wb.active = wb.sheetnames.index(START)
    _select_only(wb)
    return SplitBook(wb, outside) if outside is not None else wb


def regenerate(book: Workbook | SplitBook, tracker: Tracker) -> None:
    """Rebuild every generated part of a loaded tracker in place; keep whatever a person typed.

    ``tracker`` is what ``reader.read_tracker`` read from ``wb``. Start, Team, the rep tabs,
    Leaderboard and ``_xlkpi`` are written again (rep tabs for the reps now in Settings);
    Settings' calculated cells, Targets' month headers and missing Targets rows, and each data
    sheet's StageClass column and table range are brought up to date, and each data sheet's
    rows are grouped by owner again (see grouped_order). Nothing else changes: typed cells
    (a data row moves as a whole), Targets rows of reps no longer in Settings, extra columns,
    a person's own sheets.
    """
    check_reps(tracker.settings.reps)
    wb, outside_rows = workbook_and_rows(book)
    active = getattr(wb.active, "title", START)
    generated = generated_sheets(wb)
    for title in (START, TEAM, LEADERBOARD):
        if title in wb.sheetnames and title not in generated:
            raise TrackerFileError(
                f"the sheet '{title}' was not made by xlkpi, but xlkpi needs that name; "
                "rename it and run `xlkpi refresh` again")
    for title in (*generated, META):
        if title in wb.sheetnames:
            wb.remove(wb[title])
    _settings_calculated(wb[SETTINGS])
    _settings_validation(wb[SETTINGS])
    _complete_targets(wb[TARGETS], tracker)
    for name in DATA_SHEETS:
        outside = outside_rows.get(name)
        if outside is None:
            _group_sheet_rows(wb[name], tracker.settings.reps)
        else:
            _group_outside_rows(wb[name], outside, tracker.settings.reps)
        _fix_data_sheet(wb[name], name, outside)
    _generate(wb, tracker)
    wb.active = wb.sheetnames.index(active if active in wb.sheetnames else START)
    _select_only(wb)


def template_workbook() -> Workbook:
    """The empty tracker shipped in workbook_template/: no data, no reps, year 2026, January.

    No reps on purpose: a placeholder rep would be a fake person whose tab shows zeros and whose
    Targets rows stay behind for ever (refresh never deletes typed rows). The Team tab works
    with no reps at all; listing reps in Settings and running ``xlkpi refresh`` adds their tabs.
    Nothing depends on today: the year is a constant and the year-to-date cell is blank (the
    workbook's own TODAY() fills it when it calculates).
    """
    wb = new_workbook(Tracker(Settings(year=2026, fiscal_start=1, currency="USD", reps=[]),
                              targets=[], data={}))
    wb.properties.created = dt.datetime(2026, 1, 1)  # openpyxl stamps "modified" on save
    return wb


def rep_sheet_names(reps: Iterable[str], reserved: Iterable[str] = ()) -> dict[str, str]:
    """A sheet title per rep: at most 31 characters, none of []:*?/\\, no leading or trailing
    apostrophe, unique without regard to case, and clashing neither with the fixed sheets nor
    with ``reserved`` (titles already taken, e.g. a person's own sheets)."""
    taken = {title.lower() for title in (*FIXED_SHEETS, *reserved, "History")}
    titles: dict[str, str] = {}
    for rep in reps:
        if rep in titles:
            continue
        base = _FORBIDDEN_IN_TITLE.sub("_", str(rep)).strip().strip("'").strip() or "Rep"
        base = base[:31].rstrip()
        title, number = base, 2
        while title.lower() in taken:
            suffix = f" ({number})"
            title = base[:31 - len(suffix)].rstrip() + suffix
            number += 1
        taken.add(title.lower())
        titles[rep] = title
    return titles


def check_reps(reps: Sequence[str]) -> None:
    """InputError for a rep list the tracker cannot hold: a blank name, "Team", a name listed
    twice (owners match without regard to case) or one longer than 255 characters."""
    seen: dict[str, str] = {}
    for rep in reps:
        if not isinstance(rep, str) or not rep.strip():
            raise InputError("reps: a rep's name is blank")
        if rep.strip().lower() == TEAM_NAME.lower():
            raise InputError(f"reps: {rep!r} is reserved for the team's rows; "
                             "give the rep another name")
        if len(rep) > 255:
            raise InputError(f"reps: {rep[:40]!r}… is longer than 255 characters")
        key = rep.lower()
        if key in seen:
            raise InputError(f"reps: {seen[key]!r} and {rep!r} are the same rep "
                             "(owners match without regard to case); list each rep once")
        seen[key] = rep


def generated_sheets(wb: Workbook) -> dict[str, str]:
    """Title → kind ("start", "team", "rep", "leaderboard") of the sheets xlkpi generated, read
    from the hidden ``_xlkpi`` sheet; TrackerFileError when it is missing or not ours."""
    if META not in wb.sheetnames:
        raise TrackerFileError("not an xlkpi tracker: its hidden '_xlkpi' sheet is missing; "
                               "create a tracker with `xlkpi new`")
    rows = list(wb[META].iter_rows(values_only=True))
    if not rows or rows[0][:2] != ("generator", MARKER):
        raise TrackerFileError("not an xlkpi tracker: its '_xlkpi' sheet has no xlkpi marker; "
                               "create a tracker with `xlkpi new`")
    sheets: dict[str, str] = {}
    for row in rows[META_HEADER_ROW:]:
        if row and isinstance(row[0], str) and row[0] and len(row) > 1:
            sheets[row[0]] = str(row[1])
    return sheets


def owner_criterion(who: str) -> str:
    """The COUNTIFS criterion that matches exactly ``who``: "=" first (a name starting with
    = < > is not an operator) and the wildcards * ? ~ escaped with ~."""
    return "=" + who.replace("~", "~~").replace("*", "~*").replace("?", "~?")


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
        return _PERCENT
    if kpi.unit == "currency":
        return currency_format(currency, kpi.decimals)
    return _COUNT


def stage_class_formula(stage_cell: str) -> str:
    """Won, Lost or Open for one stage cell, as columns.stage_class: lower case, the characters
    of STAGE_STRIPPED (spaces, no-break spaces, tabs, line breaks, '-', '_') removed, then the
    known spellings. Wildcard characters are replaced by '#' first so
    that MATCH compares exactly ("w*n" is not "won")."""
    won = [key for key, value in WON_STAGES.items() if value == 1]
    lost = [key for key, value in WON_STAGES.items() if value == -1]
    keys = won + lost
    assert all(re.fullmatch(r"[^\"~*?#]+", key) for key in keys)
    labels = ",".join(['"Won"'] * len(won) + ['"Lost"'] * len(lost))
    key_list = ",".join(f'"{key}"' for key in keys)
    squeezed = stage_cell
    for char in STAGE_STRIPPED:
        squeezed = f'SUBSTITUTE({squeezed},{_STRIPPED_IN_FORMULA[char]},"")'
    tame = f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(LOWER({squeezed}),"~","#"),"*","#"),"?","#")'
    return (f'=IF({stage_cell}="","",IFERROR(INDEX({{{labels}}},'
            f'MATCH({tame},{{{key_list}}},0)),"Open"))')


# --- cells ---------------------------------------------------------------------------------

def put_text(cell, value: object) -> None:
    """Write a person's value as typed; text is always a string cell (never a formula)."""
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"
    else:
        cell.value = value


def _style(cell, font: Font | None = None, fmt: str | None = None,
           fill: PatternFill | None = None, border: Border | None = None,
           alignment: Alignment | None = None) -> None:
    """Set these style parts of ``cell``. openpyxl hashes a Font or a Fill every time one is
    set (tens of thousands of times on 50 rep tabs), so the ids a combination gives a cell
    are kept per workbook and copied; the first cell with it sets it the ordinary way, so the
    stylesheet and the ids are what plain assignment gives."""
    cache = cell.parent.parent.__dict__.setdefault("_xlkpi_style_ids", {})
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


def _text(ws: Worksheet, row: int, col: int, value: object, font: Font | None = None,
          fmt: str | None = None, fill: PatternFill | None = None):
    cell = ws.cell(row=row, column=col)
    put_text(cell, value)
    if font is not None or fmt is not None or fill is not None:
        _style(cell, font, fmt, fill)
    return cell


def _formula(ws: Worksheet, row: int, col: int, formula: str, fmt: str | None = None,
             font: Font | None = None):
    assert formula.startswith("=")
    cell = ws.cell(row=row, column=col, value=formula)
    if fmt is not None or font is not None:
        _style(cell, font, fmt)
    return cell


def _quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _header(ws: Worksheet, row: int, labels: Sequence[str], first_col: int = 1) -> None:
    for offset, label in enumerate(labels):
        _text(ws, row, first_col + offset, label, _HEADER_FONT, fill=_HEADER_FILL)


def _select_only(wb: Workbook) -> None:
    """One selected tab (several selected tabs are 'grouped' in Excel), and never a hidden one
    active."""
    active = wb.active
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = ws is active


# --- Settings --------------------------------------------------------------------------------

def _write_settings(ws: Worksheet, settings: Settings) -> None:
    _text(ws, 1, 1, "Settings", _TITLE)
    _text(ws, 2, 1, "Type in the yellow cells. After changing the reps or the currency run "
                    "`xlkpi refresh`; the year, first month and year-to-date date need none.",
          _GREY)
    values = {"year": settings.year, "fiscal_start": settings.fiscal_start,
              "currency": settings.currency, "as_of": settings.as_of}
    notes = {"year": "the calendar year in which the fiscal year starts",
             "fiscal_start": "1 = January … 12 = December",
             "currency": "a code or symbol (USD, EUR, €…) for the money formats",
             "as_of": "a date; leave blank for today"}
    for key, row in SETTINGS_ROWS.items():
        _text(ws, row, 1, SETTINGS_LABELS[key], _BOLD)
        _text(ws, row, 2, values[key], fill=_INPUT_FILL,
              fmt="yyyy-mm-dd" if key == "as_of" else None)
        _text(ws, row, 3, notes[key], _GREY)
    _text(ws, SETTINGS_REPS_HEADER_ROW, 1, SETTINGS_REPS_LABEL, _HEADER_FONT, fill=_HEADER_FILL)
    _text(ws, SETTINGS_REPS_HEADER_ROW, 2,
          "one name per row, as in the Owner columns (case does not matter)", _GREY)
    for offset, rep in enumerate(settings.reps, 1):
        _text(ws, SETTINGS_REPS_HEADER_ROW + offset, 1, rep, fill=_INPUT_FILL)
    for offset in range(len(settings.reps) + 1, len(settings.reps) + 11):
        ws.cell(SETTINGS_REPS_HEADER_ROW + offset, 1).fill = _INPUT_FILL
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 60
    _print_setup(ws, None, None)
    _settings_calculated(ws)
    _settings_validation(ws)


def _settings_calculated(ws: Worksheet) -> None:
    """The calculated block (generated, rewritten by refresh): as-of date, months to date,
    the fiscal year's first and last day. The only volatile function of the workbook is here."""
    _text(ws, 9, 1, "Calculated (do not type here)", _SECTION_FONT)
    rows = (
        (10, "Year to date through (used)", f"=IF(ISNUMBER({S_AS_OF_TYPED}),"
                                            f"INT({S_AS_OF_TYPED}),TODAY())", _DAY_FORMAT),
        (11, "Months in the year to date",
         f"=MIN(MAX(YEAR(B10)*12+MONTH(B10)-({S_YEAR}*12+{S_FISCAL_START})+1,1),12)", "0"),
        (12, "Fiscal year", f"=DATE({S_YEAR},{S_FISCAL_START},1)", _DAY_FORMAT),
    )
    for row, label, formula, fmt in rows:
        _text(ws, row, 1, label)
        _formula(ws, row, 2, formula, fmt).fill = _CALC_FILL
    _formula(ws, 12, 3, "=EOMONTH(B12,11)", _DAY_FORMAT)
    ws.cell(12, 3).alignment = Alignment(horizontal="left")


def _drop_own_validations(ws: Worksheet) -> None:
    ws.data_validations.dataValidation = [
        dv for dv in ws.data_validations.dataValidation if dv.promptTitle != _VALIDATION_TAG]


def _settings_validation(ws: Worksheet) -> None:
    _drop_own_validations(ws)
    rules = (
        ("whole", "1900", "9999", "B4", "A year such as 2026."),
        ("whole", "1", "12", "B5", "The month the fiscal year starts in: 1 (January) to 12."),
        ("date", "1", "2958465", "B7", "A date, or blank for today."),
    )
    for kind, low, high, ref, message in rules:
        dv = DataValidation(type=kind, operator="between", formula1=low, formula2=high,
                            allow_blank=True, showErrorMessage=True, showInputMessage=True,
                            promptTitle=_VALIDATION_TAG, prompt=message,
                            errorTitle="Settings", error=message)
        dv.add(ref)
        ws.add_data_validation(dv)


# --- Targets ---------------------------------------------------------------------------------

def _target_key(who: object, kpi_name: object) -> tuple[str, str] | None:
    if not isinstance(who, str) or not isinstance(kpi_name, str):
        return None
    return who.lower(), kpi_name.lower()


def _expected_targets(settings: Settings) -> list[tuple[str, Kpi]]:
    rows = [(TEAM_NAME, kpi) for kpi in KPIS]
    rows += [(rep, kpi) for rep in settings.reps for kpi in REP_KPIS]
    return rows


def _write_targets(ws: Worksheet, tracker: Tracker) -> None:
    _text(ws, 1, 1, "Targets", _TITLE)
    _text(ws, 2, 1, "One row per KPI for the Team and for each rep, one column per fiscal "
                    "month. Type numbers (rates as percentages, e.g. 25%); blank = no target. "
                    "Notes go in the Notes column. xlkpi never overwrites what you type here.",
          _GREY)
    _header(ws, TARGETS_HEADER_ROW, ["Who", "KPI"])
    _text(ws, TARGETS_HEADER_ROW, TARGETS_EXTRA_COL, "Notes", _HEADER_FONT, fill=_HEADER_FILL)
    by_key: dict[tuple[str, str], TargetRow] = {}
    for target in tracker.targets:
        kpi = _kpi_by_id(target.kpi_id)
        key = _target_key(target.who, kpi.name)
        if key is not None:
            by_key.setdefault(key, target)
    row = TARGETS_FIRST_ROW
    written: set[tuple[str, str]] = set()
    for who, kpi in _expected_targets(tracker.settings):
        key = _target_key(who, kpi.name)
        _target_row(ws, row, who, kpi, tracker.settings.currency, by_key.get(key))
        written.add(key)
        row += 1
    for target in tracker.targets:  # rows of reps no longer in Settings: kept as they are
        kpi = _kpi_by_id(target.kpi_id)
        key = _target_key(target.who, kpi.name)
        if key not in written:
            _target_row(ws, row, target.who, kpi, tracker.settings.currency, target)
            written.add(key)
            row += 1
    ws.freeze_panes = ws.cell(TARGETS_FIRST_ROW, TARGETS_FIRST_MONTH_COL)
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 28
    for col in range(TARGETS_FIRST_MONTH_COL, TARGETS_EXTRA_COL):
        ws.column_dimensions[get_column_letter(col)].width = 11
    ws.column_dimensions[get_column_letter(TARGETS_EXTRA_COL)].width = 40
    _print_setup(ws, None, f"{TARGETS_HEADER_ROW}:{TARGETS_HEADER_ROW}")
    _targets_generated(ws)


def _kpi_by_id(kpi_id: str) -> Kpi:
    for kpi in KPIS:
        if kpi.id == kpi_id:
            return kpi
    raise InputError(f"targets: {kpi_id!r} is not a KPI")


def _target_row(ws: Worksheet, row: int, who: str, kpi: Kpi, currency: object,
                typed: TargetRow | None) -> None:
    _text(ws, row, TARGETS_WHO_COL, who)
    _text(ws, row, TARGETS_KPI_COL, kpi.name)
    fmt = number_format(kpi, currency)
    months = list(typed.months) if typed is not None else []
    for index in range(12):
        value = months[index] if index < len(months) else None
        _text(ws, row, TARGETS_FIRST_MONTH_COL + index, value, fmt=fmt, fill=_INPUT_FILL)
    if typed is not None:
        for offset, value in enumerate(typed.extra):
            _text(ws, row, TARGETS_EXTRA_COL + offset, value)


def _targets_last_row(ws: Worksheet) -> int:
    last = TARGETS_HEADER_ROW
    for row, values in enumerate(ws.iter_rows(min_row=TARGETS_FIRST_ROW, values_only=True),
                                 TARGETS_FIRST_ROW):
        if any(value is not None and value != "" for value in values):
            last = row
    return last


def _complete_targets(ws: Worksheet, tracker: Tracker) -> None:
    """Append a row for every (Team or rep, KPI) that has none; touch no existing row."""
    present = set()
    for who, kpi_name in ws.iter_rows(min_row=TARGETS_FIRST_ROW, min_col=TARGETS_WHO_COL,
                                      max_col=TARGETS_KPI_COL, values_only=True):
        key = _target_key(who, kpi_name)
        if key is not None:
            present.add(key)
    row = _targets_last_row(ws) + 1
    for who, kpi in _expected_targets(tracker.settings):
        key = _target_key(who, kpi.name)
        if key not in present:
            _target_row(ws, row, who, kpi, tracker.settings.currency, None)
            present.add(key)
            row += 1
    _targets_generated(ws)


def _targets_generated(ws: Worksheet) -> None:
    """The generated cells of Targets: month headers (from Settings) and the validation."""
    for index in range(12):
        col = TARGETS_FIRST_MONTH_COL + index
        formula = (f"={S_FIRST_DAY}" if index == 0 else
                   f"=EOMONTH({get_column_letter(col - 1)}{TARGETS_HEADER_ROW},0)+1")
        cell = _formula(ws, TARGETS_HEADER_ROW, col, formula, _MONTH_FORMAT, _HEADER_FONT)
        cell.fill = _HEADER_FILL
    _drop_own_validations(ws)
    last = _targets_last_row(ws) + 1000
    first_col = get_column_letter(TARGETS_FIRST_MONTH_COL)
    last_col = get_column_letter(TARGETS_EXTRA_COL - 1)
    message = "A number (rates as a percentage, e.g. 25%); blank for no target."
    dv = DataValidation(type="decimal", operator="between", formula1="-1E+15",
                        formula2="1E+15", allow_blank=True, showErrorMessage=True,
                        showInputMessage=True, errorStyle="warning",
                        promptTitle=_VALIDATION_TAG, prompt=message,
                        errorTitle="Targets are numbers",
                        error=message + " Put notes in the Notes column.")
    dv.add(f"{first_col}{TARGETS_FIRST_ROW}:{last_col}{last}")
    ws.add_data_validation(dv)


# --- data sheets -----------------------------------------------------------------------------

# Why the data rows are grouped by owner. A rep tab's Actual cells count a rep's rows with
# COUNTIFS/SUMIFS; over whole columns with an Owner criterion every one of them reads every row
# of the sheet, so a workbook with R reps does R times the row visits of the Team tab and
# recalculating it takes minutes at 250,000 rows (LibreOffice caches nothing between formulas).
# With each rep's rows next to each other, a rep tab finds its block once (MATCH for the first
# row, COUNTIF for how many) and counts inside INDEX(col,first):INDEX(col,last) with no owner
# criterion: R times fewer row visits. The tab checks that the block really holds all and only
# the rep's rows (COUNTIF over the block = COUNTIF over the column); when it does not (rows
# pasted later at the bottom, the sheet sorted by date) that rep's cells fall back to the whole
# columns: slower, never wrong. `new` writes the rows grouped and `refresh` groups them again.

def grouped_order(owners: Sequence[object], reps: Sequence[str],
                  blank: Sequence[bool] | None = None) -> list[int]:
    """The order (indexes into ``owners``) in which xlkpi writes a data sheet's rows: the rows of
    each rep together, the reps in the order they first appear, each rep's rows in their typed
    order; then the other rows (owner blank or not a rep) in typed order; then the rows that are
    entirely blank (``blank``). Owners match reps as COUNTIFS matches them (columns.owner_key):
    without regard to case. Rows already grouped this way keep their order."""
    rep_keys = {owner_key(rep) for rep in reps} - {None}
    blocks: dict[str, list[int]] = {}
    rest: list[int] = []
    empty: list[int] = []
    keys: dict[tuple[type, object], str | None] = {}  # each distinct owner keyed once
    for index, owner in enumerate(owners):
        try:
            key = keys[(type(owner), owner)]
        except KeyError:
            key = keys[(type(owner), owner)] = owner_key(owner)
        except TypeError:  # not hashable
            key = owner_key(owner)
        if key is not None and key in rep_keys:
            blocks.setdefault(key, []).append(index)
        elif blank is not None and blank[index]:
            empty.append(index)
        else:
            rest.append(index)
    return [index for block in blocks.values() for index in block] + rest + empty


def _write_data_sheet(ws: Worksheet, name: str, sheet: DataSheet | None,
                      reps: Sequence[str] = (), outside: dict | None = None) -> None:
    known = list(DATA_COLUMNS[name])
    header = list(sheet.header) if sheet is not None else list(known)
    rows = sheet.rows if sheet is not None else []
    if "Owner" in header and rows:
        owner = header.index("Owner")
        rows = [rows[index] for index in grouped_order(
            [values[owner] if owner < len(values) else None for values in rows], reps)]
    extras = [h for h in header if h not in known and h != STAGE_CLASS_COLUMN]
    out_header = known + ([STAGE_CLASS_COLUMN] if name == OPPORTUNITIES else []) + extras
    sources = [header.index(h) if h in header else None for h in out_header]
    for col, label in enumerate(out_header, 1):
        _text(ws, 1, col, label)
    if outside is not None:  # the rows held outside openpyxl, written as the file is saved
        outside[name] = NewRows(ws, rows, sources)
    else:
        _put_rows(ws, ([values[source] if source is not None and source < len(values)
                        else None for source in sources] for values in rows), 2)
    for col, label in enumerate(out_header, 1):
        width = 16 if label in known or label == STAGE_CLASS_COLUMN else 14
        ws.column_dimensions[get_column_letter(col)].width = width
    _print_setup(ws, None, "1:1")
    _fix_data_sheet(ws, name, outside.get(name) if outside is not None else None)


_CELL_TYPES = {str: "s", int: "n", float: "n", bool: "b",
               dt.datetime: "d", dt.date: "d", dt.time: "d"}


def _put_rows(ws: Worksheet, rows: Iterable[Sequence[object]], first_row: int) -> None:
    """Write data rows as typed, fast: a data sheet may hold a few hundred thousand rows.

    What ``put_text`` does, cell by cell, without openpyxl's per-cell type inference and style
    look-up: text is always a string cell (never a formula or an error value), a blank makes no
    cell at all, a date shares one style per type; anything unusual takes the ordinary path."""
    cells = ws._cells
    templates: dict[type, Cell] = {}
    for row, values in enumerate(rows, first_row):
        for col, value in enumerate(values, 1):
            if value is None:
                continue
            kind = _CELL_TYPES.get(type(value))
            if kind is None:
                put_text(ws.cell(row, col), value)
                continue
            if kind == "d":
                template = templates.get(type(value))
                if template is None:
                    template = templates[type(value)] = Cell(ws, value=value)
                cell = Cell(ws, row=row, column=col, style_array=template._style)
            else:
                cell = Cell(ws, row=row, column=col)
                if kind == "s":
                    if ILLEGAL_CHARACTERS_RE.search(value):
                        value = ILLEGAL_CHARACTERS_RE.sub("", value)
                    value = value[:32767]
            cell._value = value
            cell.data_type = kind
            cells[(row, col)] = cell


def _data_last_row(ws: Worksheet, skip_col: int | None) -> int:
    """The last row holding a value outside ``skip_col`` (1 for none). Looks only at cells that
    exist, so a sheet formatted down to row 1,048,576 costs nothing."""
    last = 1
    for (row, col), cell in ws._cells.items():
        if row > last and col != skip_col and cell.value is not None and cell.value != "":
            last = row
    return last


def _group_sheet_rows(ws: Worksheet, reps: Sequence[str]) -> None:
    """Put a data sheet's rows (2 to the last one holding a value) in grouped_order, in place.

    A row moves as a whole: every cell of it (extra columns too) with its style, comment and
    hyperlink, and its height. A formula a person typed in a data row moves as Excel's own sort
    moves it (relative references shift with the row). Nothing moves when the rows are already
    grouped, or when a merged cell or an array formula lies among them (Excel will not sort
    those either); the rep tabs then read whole columns, which is slower but as right."""
    names = [str(h).strip().lower() if h is not None else "" for h in _header_cells(ws)]
    if "owner" not in names:
        return
    owner_col = names.index("owner") + 1
    stage_key = STAGE_CLASS_COLUMN.lower()
    stage_col = names.index(stage_key) + 1 if stage_key in names else None
    last = _data_last_row(ws, stage_col)
    if last < 3:
        return
    for merged in ws.merged_cells.ranges:
        if merged.max_row >= 2 and merged.min_row <= last:
            return
    count = last - 1
    owners: list[object] = [None] * count
    blank = [True] * count
    for (row, col), cell in ws._cells.items():
        if 2 <= row <= last:
            value = cell._value
            if isinstance(cell, MergedCell) or isinstance(value, (ArrayFormula,
                                                                  DataTableFormula)):
                return  # leave the rows be
            if col == owner_col:
                owners[row - 2] = value
            if col != stage_col and value is not None and value != "":
                blank[row - 2] = False
    order = grouped_order(owners, reps, blank)
    if order == list(range(count)):
        return
    new_row = {old + 2: new + 2 for new, old in enumerate(order)}
    formulas = {}
    for (row, col), cell in ws._cells.items():
        if (2 <= row <= last and new_row[row] != row and cell.data_type == "f"
                and isinstance(cell._value, str)):
            try:
                formulas[(row, col)] = Translator(cell._value, origin=cell.coordinate
                                                  ).translate_formula(
                    f"{get_column_letter(col)}{new_row[row]}")
            except Exception:  # a formula openpyxl cannot parse: move nothing
                return
    cells = {}
    for (row, col), cell in ws._cells.items():
        if 2 <= row <= last and new_row[row] != row:
            if (row, col) in formulas:
                cell._value = formulas[(row, col)]
            row = new_row[row]
            cell.row = row
            if cell.hyperlink is not None:
                cell.hyperlink.ref = cell.coordinate
        cells[(row, col)] = cell
    ws._cells = cells
    dimensions = [(index, ws.row_dimensions[index]) for index in list(ws.row_dimensions)
                  if 2 <= index <= last]
    for index, _ in dimensions:
        del ws.row_dimensions[index]
    for index, dimension in dimensions:
        dimension.index = new_row[index]
        ws.row_dimensions[new_row[index]] = dimension


def _group_outside_rows(ws: Worksheet, outside, reps: Sequence[str]) -> None:
    """_group_sheet_rows for rows held outside openpyxl (kept.KeptRows)."""
    names = [str(h).strip().lower() if h is not None else "" for h in _header_cells(ws)]
    if "owner" not in names:
        return
    stage_key = STAGE_CLASS_COLUMN.lower()
    stage_col = names.index(stage_key) + 1 if stage_key in names else None
    outside.group(names.index("owner") + 1, stage_col,
                  lambda owners, blank: grouped_order(owners, reps, blank))


def _header_cells(ws: Worksheet) -> list[object]:
    values = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
    values = list(values)
    while values and (values[-1] is None or values[-1] == ""):
        values.pop()
    return values


def _fix_data_sheet(ws: Worksheet, name: str, outside: RowsOutside | None = None) -> None:
    """StageClass formulas on every data row and the sheet's table over its current rows;
    ``outside``: the sheet's rows when they are held outside openpyxl."""
    header = _header_cells(ws)
    names = [str(h).strip().lower() if h is not None else "" for h in header]
    stage_col = None
    if name == OPPORTUNITIES:
        key = STAGE_CLASS_COLUMN.lower()
        if key in names:
            stage_col = names.index(key) + 1
        else:
            stage_col = len(header) + 1
            _text(ws, 1, stage_col, STAGE_CLASS_COLUMN)
            ws.column_dimensions[get_column_letter(stage_col)].width = 14
            header.append(STAGE_CLASS_COLUMN)
    last = max(_data_last_row(ws, stage_col) if outside is None else outside.last_row(stage_col),
               2)
    if stage_col is not None and outside is not None:
        stage_letter = get_column_letter(names.index("stage") + 1)
        outside.set_stage_class(stage_col, stage_class_formula(f"{stage_letter}\x00"), last)
    elif stage_col is not None:
        stage_letter = get_column_letter(names.index("stage") + 1)
        template = stage_class_formula("\x00")  # one formula, its row filled in per row
        for row in range(2, last + 1):
            cell = ws.cell(row, stage_col)
            cell._value = template.replace("\x00", f"{stage_letter}{row}")
            cell.data_type = "f"
        for key in [key for key in ws._cells if key[1] == stage_col and key[0] > last]:
            del ws._cells[key]  # formulas left below the data by deleted rows
    # Table columns need unique, non-blank text headers. A blank header gets Excel's own
    # "Column7", a number becomes text; a header that repeats an earlier one (a person's
    # typing, which refresh does not rename) ends the table before it: that column and any
    # to its right stay on the sheet, outside the table.
    seen: set[str] = set()
    columns = []
    for col in range(1, len(header) + 1):
        value = header[col - 1]
        label = str(value) if value is not None and str(value).strip() else f"Column{col}"
        label = re.sub(r"[\x00-\x1f]", " ", label)
        if label.lower() in seen:
            break
        seen.add(label.lower())
        if value != label or ws.cell(1, col).data_type != "s":
            _text(ws, 1, col, label)
        column = TableColumn(id=col, name=label)
        if col == stage_col:
            stage_letter = get_column_letter(names.index("stage") + 1)
            column.calculatedColumnFormula = TableFormula(
                attr_text=stage_class_formula(f"{stage_letter}2")[1:])
        columns.append(column)
        ws.cell(1, col).font = _HEADER_FONT
        ws.cell(1, col).fill = _HEADER_FILL
    for table in list(ws.tables.values()):
        if table.displayName.lower() == name.lower() or table.ref.split(":")[0] == "A1":
            del ws.tables[table.name]
    ref = f"A1:{get_column_letter(len(columns))}{last}"
    table = Table(displayName=name, ref=ref, tableColumns=columns,
                  tableStyleInfo=TableStyleInfo(name="TableStyleMedium2", showRowStripes=True))
    table.autoFilter = AutoFilter(ref=ref)
    ws.add_table(table)
    ws.freeze_panes = "A2"


def data_column_letters(wb: Workbook) -> dict[str, dict[str, str]]:
    """Sheet → known column header → column letter, from each data sheet's header row."""
    letters: dict[str, dict[str, str]] = {}
    for name in DATA_SHEETS:
        header = [str(h).strip().lower() if h is not None else ""
                  for h in _header_cells(wb[name])]
        wanted = (*DATA_COLUMNS[name], *([STAGE_CLASS_COLUMN] if name == OPPORTUNITIES else []))
        found = {}
        for column in wanted:
            if column.lower() not in header:
                raise TrackerFileError(f"{name}: no '{column}' column in row 1; put the "
                                       "header back (any column will do)")
            found[column] = get_column_letter(header.index(column.lower()) + 1)
        letters[name] = found
    return letters


# --- formulas of the Team and rep tabs -------------------------------------------------------

@dataclass(frozen=True)
class _Window:
    """A period as formula expressions: first day, end (first day after), and the period
    before it (for revenue growth)."""

    start: str
    end: str
    prev_start: str
    prev_end: str


def _month_window(col: int) -> _Window:
    c = get_column_letter(col)
    first, through = f"{c}${TAB_HEADER_ROW}", f"{c}${TAB_THROUGH_ROW}"
    return _Window(first, f"({through}+1)", f"(EOMONTH({first},-2)+1)", first)


def _ytd_window() -> _Window:
    first = f"${get_column_letter(TAB_FIRST_MONTH_COL)}${TAB_HEADER_ROW}"
    through = f"${get_column_letter(TAB_YTD_COL)}${TAB_THROUGH_ROW}"
    # Period.previous of a range: the same months a year earlier.
    return _Window(first, f"({through}+1)", f"(EOMONTH({first},-13)+1)",
                   f"(EOMONTH({through},-12)+1)")


@dataclass(frozen=True)
class _Block:
    """A rep's owner block on one data sheet, as cells of the rep tab: its first and last row,
    and whether it holds all and only the rep's rows."""

    first: str
    last: str
    ok: str


class _Formulas:
    """The Actual formula of each KPI over whole data columns (rows pasted below a table still
    count), for the team (no owner filter) or for one rep (criterion cell); or, with
    ``blocks``, over only the rows of each sheet's owner block and with no owner criterion."""

    def __init__(self, letters: dict[str, dict[str, str]], criterion: str | None,
                 blocks: dict[str, _Block] | None = None):
        self.letters = letters
        self.criterion = criterion
        self.blocks = blocks or {}

    def col(self, sheet: str, column: str) -> str:
        letter = self.letters[sheet][column]
        whole = f"{sheet}!${letter}:${letter}"
        block = self.blocks.get(sheet)
        if block is None:
            return whole
        return f"INDEX({whole},{block.first}):INDEX({whole},{block.last})"

    def owner(self, sheet: str) -> str:
        if self.criterion is None or sheet in self.blocks:
            return ""
        return f",{self.col(sheet, 'Owner')},{self.criterion}"

    def dated(self, sheet: str, column: str, start: str, end: str) -> str:
        ref = self.col(sheet, column)
        return f'{ref},">="&{start},{ref},"<"&{end}'

    def count(self, sheet: str, column: str, start: str, end: str, extra: str = "") -> str:
        return f"COUNTIFS({self.dated(sheet, column, start, end)}{extra}{self.owner(sheet)})"

    def total(self, sheet: str, value: str, column: str, start: str, end: str,
              extra: str = "") -> str:
        return (f"SUMIFS({self.col(sheet, value)},{self.dated(sheet, column, start, end)}"
                f"{extra}{self.owner(sheet)})")

    def stage(self, label: str) -> str:
        return f',{self.col(OPPORTUNITIES, STAGE_CLASS_COLUMN)},"{label}"'

    def won(self, start: str, end: str) -> str:
        return self.count(OPPORTUNITIES, "CloseDate", start, end, self.stage("Won"))

    def revenue(self, start: str, end: str) -> str:
        return self.total(OPPORTUNITIES, "Amount", "CloseDate", start, end, self.stage("Won"))

    def spend(self, start: str, end: str) -> str:
        return (f"SUMIFS({self.col(SPEND, 'Spend')},"
                f"{self.dated(SPEND, 'SpendDate', start, end)})")

    def emails(self, value: str, start: str, end: str) -> str:
        return self.total(EMAILS, value, "SendDate", start, end)

    def retention(self, start: str, end: str) -> str:
        """Of the customers active on the first day, the share still active on the last: a
        customer is active on day d when start ≤ d and (end blank or end > d); whole days, so
        a time of day is compared against d + 1. Blank ends are never tested with a ""
        criterion. Three COUNTIFS, each once: 1 − (started by the first day and ended after it
        but before the period's end) ÷ (started by the first day − ended by it)."""
        starts, ends = self.col(CUSTOMERS, "StartDate"), self.col(CUSTOMERS, "EndDate")
        day_after_first = f"({start}+1)"
        owner = self.owner(CUSTOMERS)
        started = f'COUNTIFS({starts},"<"&{day_after_first}{owner})'
        ended_by_first = (f'COUNTIFS({starts},"<"&{day_after_first},'
                          f'{ends},"<"&{day_after_first}{owner})')
        left = (f'COUNTIFS({starts},"<"&{day_after_first},{ends},">="&{day_after_first},'
                f'{ends},"<"&{end}{owner})')
        return f'=IFERROR(1-{left}/({started}-{ended_by_first}),"")'

    def actual(self, kpi_id: str, w: _Window, cell: dict[str, str],
               before: dict[str, str]) -> str:
        """The Actual formula of ``kpi_id`` for the period ``w``. ``cell`` gives the Actual
        cells of the other KPIs in the same column, ``before`` those in the previous month's
        column (none for the first month and the year to date): a KPI built on another one
        (close rate on deals won, churn on retention, the email rates on emails delivered,
        growth on won revenue) reuses its cell instead of counting the rows again. Growth in
        the first month and the year to date divides by ``cell["previous_won_revenue"]``, a
        hidden cell holding the won revenue of the period before."""
        s, e = w.start, w.end
        if kpi_id == "cost_per_lead":
            return f'=IFERROR({self.spend(s, e)}/{self.count(LEADS, "LeadDate", s, e)},"")'
        if kpi_id == "customer_acquisition_cost":
            return f'=IFERROR({self.spend(s, e)}/{cell["deals_won"]},"")'
        if kpi_id == "sql_count":
            return f"={self.count(LEADS, 'SQLDate', s, e)}"
        if kpi_id == "close_rate":
            won = cell["deals_won"]
            lost = self.count(OPPORTUNITIES, "CloseDate", s, e, self.stage("Lost"))
            return f'=IFERROR({won}/({won}+{lost}),"")'
        if kpi_id == "retention_rate":
            return self.retention(s, e)
        if kpi_id == "churn_rate":
            return f'=IFERROR(1-{cell["retention_rate"]},"")'
        if kpi_id == "emails_delivered":
            return f"={self.emails('Sent', s, e)}-{self.emails('Bounced', s, e)}"
        if kpi_id == "positive_replies":
            return f"={self.emails('Positive', s, e)}"
        if kpi_id == "email_open_rate":
            return f'=IFERROR({self.emails("Opened", s, e)}/{cell["emails_delivered"]},"")'
        if kpi_id == "email_reply_rate":
            return f'=IFERROR({self.emails("Replied", s, e)}/{cell["emails_delivered"]},"")'
        if kpi_id == "new_opportunities":
            return f"={self.count(OPPORTUNITIES, 'CreatedDate', s, e)}"
        if kpi_id == "deals_won":
            return f"={self.won(s, e)}"
        if kpi_id == "won_revenue":
            return f"={self.revenue(s, e)}"
        if kpi_id == "revenue_growth":
            now = cell["won_revenue"]
            then = before.get("won_revenue") or cell["previous_won_revenue"]
            return f'=IFERROR(({now}-{then})/{then},"")'
        raise AssertionError(kpi_id)


def _target_formula(row: int, col: int) -> str:
    """The typed Targets value for (this tab's who, this row's KPI, this month), or "" when
    blank or not a number (a note); several rows for the same (who, KPI) add up.

    When there is exactly one such row (the usual case), _target_helpers has found its number
    and the cell reads it with INDEX; otherwise (none: blank; several) COUNTIFS and SUMIFS over
    the whole Targets columns, as the definition says."""
    target_col = get_column_letter(TARGETS_FIRST_MONTH_COL + col - TAB_FIRST_MONTH_COL)
    month = f"Targets!${target_col}:${target_col}"
    who = f"${get_column_letter(TAB_CRITERION_COL)}${TAB_WHO_ROW}"
    match = f'Targets!$A:$A,{who},Targets!$B:$B,"="&$A{row}'
    found = f"${get_column_letter(TAB_TARGET_ROW_COL)}{row}"
    count = f"${get_column_letter(TAB_TARGET_COUNT_COL)}{row}"
    typed = f"INDEX({month},{found})"
    return (f'=IF({found}>0,IF(ISNUMBER({typed}),{typed},""),IF({count}=0,"",'
            f'IF(COUNTIFS({match},{month},">-1E+300")=0,"",SUMIFS({month},{match}))))')


def _target_helpers(ws: Worksheet, row: int) -> None:
    """The hidden cells of a Target row that find its (who, KPI) row on Targets once, so that
    its thirteen cells need no COUNTIFS/SUMIFS over the Targets columns each: Q counts the
    rows (the same criteria as the cells' own formula); R is the first row from the who's
    first row (P4) whose KPI is this one; P is R when Q is 1 and R's who and KPI meet those
    criteria (so R is that one row, whatever MATCH found), else 0."""
    who = f"${get_column_letter(TAB_CRITERION_COL)}${TAB_WHO_ROW}"
    first = f"${get_column_letter(TAB_CRITERION_COL)}${TAB_TARGETS_WHO_ROW}"
    count = f"${get_column_letter(TAB_TARGET_COUNT_COL)}{row}"
    candidate = f"${get_column_letter(TAB_TARGET_CANDIDATE_COL)}{row}"
    kpi = f"$A{row}"
    _formula(ws, row, TAB_TARGET_COUNT_COL,
             f'=COUNTIFS(Targets!$A:$A,{who},Targets!$B:$B,"="&{kpi})')
    _formula(ws, row, TAB_TARGET_CANDIDATE_COL,
             f"=IF(OR({count}<>1,{first}=0),0,IFERROR({first}-1+MATCH({kpi},"
             f"INDEX(Targets!$B:$B,{first}):Targets!$B$1048576,0),0))")
    _formula(ws, row, TAB_TARGET_ROW_COL,
             f"=IF({candidate}=0,0,IF(COUNTIFS(INDEX(Targets!$A:$A,{candidate}),{who},"
             f'INDEX(Targets!$B:$B,{candidate}),"="&{kpi})=1,{candidate},0))')


def _ytd_target_formula(kpi: Kpi, row: int) -> str:
    """layout.ytd_target over the tab's own Target cells (numbers or "") through the as-of
    month."""
    first = get_column_letter(TAB_FIRST_MONTH_COL)
    last = get_column_letter(TAB_YTD_COL - 1)
    months = f"{first}{row}:INDEX({first}{row}:{last}{row},{S_MONTHS_TO_DATE})"
    empty = f'IF(COUNT({months})=0,"",'
    if kpi.ytd_target == "sum":
        return f"={empty}SUM({months}))"
    if kpi.ytd_target == "mean":
        return f"={empty}AVERAGE({months}))"
    if kpi.ytd_target == "compound loss":
        factors = []
        for index in range(12):
            cell = f"{get_column_letter(TAB_FIRST_MONTH_COL + index)}{row}"
            factors.append(f"IF(AND({index + 1}<={S_MONTHS_TO_DATE},ISNUMBER({cell})),"
                           f"1-{cell},1)")
        return f"={empty}1-" + "*".join(factors) + ")"
    return f"={empty}PRODUCT({months}))"


def _attainment_formula(kpi: Kpi, target: str, actual: str) -> str:
    """engine.attainment: actual ÷ target ("up"), target ÷ actual ("down"); blank where the
    target is blank or ≤ 0 or the actual blank; a "down" KPI with actual ≤ 0 is met (1)."""
    guard = f'=IF(OR({target}="",{actual}=""),"",IF({target}<=0,"",'
    if kpi.direction == "up":
        return f"{guard}{actual}/{target}))"
    return f"{guard}IF({actual}<=0,1,{target}/{actual})))"


@dataclass
class TabRows:
    """Where each KPI's three rows are on a Team or rep tab."""

    target: int
    actual: int
    attainment: int


def _write_kpi_tab(ws: Worksheet, who: str, kpis: Sequence[Kpi], letters, currency: object,
                   team: bool) -> dict[str, TabRows]:
    title = ("Team: target vs actual (all rows)" if team
             else f"{who}: target vs actual (rows whose Owner is {who})")
    _text(ws, 1, 1, title, _TITLE)
    _text(ws, TAB_WHO_ROW, 1, "Who", _BOLD)
    _text(ws, TAB_WHO_ROW, 2, who, _BOLD)
    _text(ws, TAB_WHO_ROW, TAB_CRITERION_COL, owner_criterion(who))
    _text(ws, TAB_MATCH_ROW, TAB_CRITERION_COL, owner_criterion(who)[1:])
    _formula(ws, TAB_TARGETS_WHO_ROW, TAB_CRITERION_COL,
             f"=IFERROR(MATCH(${get_column_letter(TAB_CRITERION_COL)}${TAB_MATCH_ROW},"
             f"Targets!$A:$A,0),0)")
    _text(ws, TAB_NOTE_ROW, 1,
          "Months follow Settings (year, first month). Year to date: from the first month "
          "through Settings' year-to-date date (today when blank). Attainment: green ≥ 100 %, "
          "amber 80–99 %, red < 80 %; blank without a target. Generated: `xlkpi refresh` "
          "rewrites this tab.", _GREY_SMALL)
    _header(ws, TAB_HEADER_ROW, ["KPI", "Row"])
    for index in range(12):
        col = TAB_FIRST_MONTH_COL + index
        first = (f"={S_FIRST_DAY}" if index == 0 else
                 f"=EOMONTH({get_column_letter(col - 1)}{TAB_HEADER_ROW},0)+1")
        cell = _formula(ws, TAB_HEADER_ROW, col, first, _MONTH_FORMAT, _HEADER_FONT)
        _style(cell, fill=_HEADER_FILL, alignment=_RIGHT)
        _formula(ws, TAB_THROUGH_ROW, col,
                 f"=EOMONTH({get_column_letter(col)}{TAB_HEADER_ROW},0)", _DAY_FORMAT,
                 _GREY_SMALL)
    ytd = _text(ws, TAB_HEADER_ROW, TAB_YTD_COL, YTD_HEADER, _HEADER_FONT, fill=_HEADER_FILL)
    _style(ytd, alignment=_RIGHT)
    first_letter = get_column_letter(TAB_FIRST_MONTH_COL)
    _formula(ws, TAB_THROUGH_ROW, TAB_YTD_COL,
             f"=EOMONTH(${first_letter}${TAB_HEADER_ROW},{S_MONTHS_TO_DATE}-1)", _DAY_FORMAT,
             _GREY_SMALL)
    _text(ws, TAB_THROUGH_ROW, 2, "through", _GREY_SMALL)
    criterion = None if team else (
        f"${get_column_letter(TAB_CRITERION_COL)}${TAB_WHO_ROW}")
    formulas = _Formulas(letters, criterion)
    fast = None if team else _Formulas(letters, None, _owner_blocks(ws, who, letters))

    def live(build) -> str:
        """The formula ``build`` makes over whole columns; on a rep tab, IF(the rep's blocks are
        contiguous, the same over the blocks, that)."""
        whole = build(formulas)
        if fast is None:
            return whole
        quick = build(fast)
        if quick == whole:
            return whole
        oks = [block.ok for sheet, block in fast.blocks.items() if f"{sheet}!" in quick]
        ok = oks[0] if len(oks) == 1 else f"AND({','.join(oks)})"
        return f"=IF({ok},{quick[1:]},{whole[1:]})"
    windows = {TAB_FIRST_MONTH_COL + i: _month_window(TAB_FIRST_MONTH_COL + i)
               for i in range(12)}
    windows[TAB_YTD_COL] = _ytd_window()
    rows = {kpi.id: TabRows(TAB_FIRST_ROW + 3 * i, TAB_FIRST_ROW + 3 * i + 1,
                            TAB_FIRST_ROW + 3 * i + 2) for i, kpi in enumerate(kpis)}

    def actual_cells(col: int | None) -> dict[str, str]:
        if col is None:
            return {}
        cells = {kpi_id: f"{get_column_letter(col)}{place.actual}"
                 for kpi_id, place in rows.items()}
        if "revenue_growth" in rows and col in (TAB_FIRST_MONTH_COL, TAB_YTD_COL):
            helper = TAB_PREVIOUS_FIRST_COL if col == TAB_FIRST_MONTH_COL else \
                TAB_PREVIOUS_YTD_COL
            cells["previous_won_revenue"] = (f"${get_column_letter(helper)}"
                                             f"${rows['revenue_growth'].actual}")
        return cells

    row = TAB_FIRST_ROW
    for kpi in kpis:
        place = rows[kpi.id]
        fmt = number_format(kpi, currency)
        for offset, kind in enumerate(ROW_KINDS):
            r = row + offset
            _text(ws, r, 1, kpi.name, _BOLD if offset == 0 else _GREY)
            _text(ws, r, 2, kind, _ACTUAL_FONT if kind == "Actual" else None)
        _target_helpers(ws, place.target)
        for col, window in windows.items():
            letter = get_column_letter(col)
            if col == TAB_YTD_COL:
                _formula(ws, place.target, col, _ytd_target_formula(kpi, place.target), fmt)
            else:
                _formula(ws, place.target, col, _target_formula(place.target, col), fmt)
            previous = col - 1 if TAB_FIRST_MONTH_COL < col < TAB_YTD_COL else None
            cells = actual_cells(col)
            actual = live(lambda f, kpi_id=kpi.id, w=window, cells=cells, before=previous:
                          f.actual(kpi_id, w, cells, actual_cells(before)))
            _formula(ws, place.actual, col, actual, fmt, _ACTUAL_FONT)
            if kpi.id == "revenue_growth" and "previous_won_revenue" in cells:
                helper = cells["previous_won_revenue"].replace("$", "")
                ws[helper] = live(lambda f, w=window: f"={f.revenue(w.prev_start, w.prev_end)}")
                ws[helper].number_format = fmt
            _formula(ws, place.attainment, col,
                     _attainment_formula(kpi, f"{letter}{place.target}",
                                         f"{letter}{place.actual}"), _ATTAINMENT)
        for col in range(1, TAB_YTD_COL + 1):
            _style(ws.cell(row, col), border=_BLOCK_TOP)
        row += 3
    last = row - 1
    _rag(ws, f"C{TAB_FIRST_ROW}:{get_column_letter(TAB_YTD_COL)}{last}",
         f'$B{TAB_FIRST_ROW}="Attainment"', f"C{TAB_FIRST_ROW}")
    ws.freeze_panes = ws.cell(TAB_FIRST_ROW, TAB_FIRST_MONTH_COL)
    ws.column_dimensions["A"].width = 27
    ws.column_dimensions["B"].width = 11
    for col in range(TAB_FIRST_MONTH_COL, TAB_YTD_COL):
        ws.column_dimensions[get_column_letter(col)].width = 10.5
    ws.column_dimensions[get_column_letter(TAB_YTD_COL)].width = 13
    for col in range(TAB_CRITERION_COL, TAB_BLOCK_OK_COL + 1):
        ws.column_dimensions[get_column_letter(col)].hidden = True
    for col in range(TAB_FIRST_MONTH_COL, TAB_YTD_COL + 1):
        _style(ws.cell(TAB_THROUGH_ROW, col), alignment=_RIGHT)
    chart_row = last + 2
    _charts(ws, rows, currency, chart_row)
    if team:  # the Team table fills a page: its charts print on the next one
        ws.row_breaks.append(Break(id=chart_row - 1))
    _print_setup(ws, f"A1:{get_column_letter(TAB_YTD_COL)}{chart_row + 15}",
                 f"{TAB_HEADER_ROW}:{TAB_THROUGH_ROW}")
    return rows


def _owner_blocks(ws: Worksheet, who: str, letters) -> dict[str, _Block]:
    """The hidden cells that find a rep's rows on each data sheet with an Owner column, one row
    per sheet in Q:U from row 2 (P2 holds the COUNTIFS criterion, P3 the name for MATCH):

    count  COUNTIF(Owner column, criterion): the rep's rows anywhere in the column;
    first  the row of the first of them (MATCH, exact and without regard to case as COUNTIF);
           1 (the header row) when there is none or MATCH disagrees with COUNTIF;
    last   first + count − 1 (first when count is 0);
    ok     COUNTIF(Owner rows first..last, criterion) = count.

    When ok, the block first..last holds count rows that are all the rep's (COUNTIF says so of
    each) and there are no others (the column has count in all), so a COUNTIFS/SUMIFS over the
    block with no owner criterion equals the one over whole columns with it, whatever MATCH
    found. With no rows the block is the header row, whose texts no date criterion matches: the
    KPI reads as for no rows (0, or blank for a ratio). When not ok the Actual cells use the
    whole columns."""
    criterion = f"${get_column_letter(TAB_CRITERION_COL)}${TAB_WHO_ROW}"
    name = f"${get_column_letter(TAB_CRITERION_COL)}${TAB_MATCH_ROW}"
    blocks = {}
    for offset, sheet in enumerate(OWNED_SHEETS):
        row = TAB_BLOCK_FIRST_ROW + offset
        letter = letters[sheet]["Owner"]
        owners = f"{sheet}!${letter}:${letter}"
        count, first, last, ok = (f"${get_column_letter(col)}${row}" for col in (
            TAB_BLOCK_COUNT_COL, TAB_BLOCK_FIRST_COL, TAB_BLOCK_LAST_COL, TAB_BLOCK_OK_COL))
        _text(ws, row, TAB_BLOCK_SHEET_COL, sheet)
        _formula(ws, row, TAB_BLOCK_COUNT_COL, f"=COUNTIF({owners},{criterion})")
        _formula(ws, row, TAB_BLOCK_FIRST_COL,
                 f"=IF({count}=0,1,IFERROR(MATCH({name},{owners},0),1))")
        _formula(ws, row, TAB_BLOCK_LAST_COL, f"={first}+MAX({count},1)-1")
        _formula(ws, row, TAB_BLOCK_OK_COL,
                 f"=IFERROR(COUNTIF(INDEX({owners},{first}):INDEX({owners},{last}),"
                 f"{criterion})={count},FALSE)")
        blocks[sheet] = _Block(first, last, ok)
    return blocks


def _rag(ws: Worksheet, ref: str, condition: str, first_cell: str) -> None:
    """Red / amber / green on attainment cells (numbers only; blanks stay white)."""
    base = f"{condition},ISNUMBER({first_cell})"
    rules = ((f"AND({base},{first_cell}<{RED_BELOW})", _RED),
             (f"AND({base},{first_cell}>={RED_BELOW},{first_cell}<{GREEN_FROM})", _AMBER),
             (f"AND({base},{first_cell}>={GREEN_FROM})", _GREEN))
    for formula, (fill, font) in rules:
        ws.conditional_formatting.add(ref, FormulaRule(formula=[formula], fill=fill, font=font))


def _charts(ws: Worksheet, rows: dict[str, TabRows], currency: object, top: int) -> None:
    """Actual (columns) vs target (line) across the twelve months for a few key KPIs."""
    # Under the table, side by side over columns A–D, E–I and J–O: anchored to cells at both
    # corners, so they keep to the table's width whatever font the app measures columns in.
    charts = (("won_revenue", 0, 4), ("deals_won", 4, 9), ("close_rate", 9, TAB_YTD_COL))
    for kpi_id, first_col, end_col in charts:
        kpi = _kpi_by_id(kpi_id)
        place = rows[kpi_id]
        bar = BarChart()
        bar.type = "col"
        bar.title = kpi.name
        bar.style = 10
        bar.add_data(Reference(ws, min_col=2, max_col=TAB_YTD_COL - 1, min_row=place.actual),
                     from_rows=True, titles_from_data=True)
        categories = Reference(ws, min_col=TAB_FIRST_MONTH_COL, max_col=TAB_YTD_COL - 1,
                               min_row=TAB_HEADER_ROW)
        bar.set_categories(categories)
        line = LineChart()
        line.add_data(Reference(ws, min_col=2, max_col=TAB_YTD_COL - 1, min_row=place.target),
                      from_rows=True, titles_from_data=True)
        line.set_categories(categories)
        for series in line.series:
            series.smooth = False
        bar.y_axis.numFmt = number_format(kpi, currency)
        bar.y_axis.majorGridlines = None
        bar.x_axis.number_format = "mmm"
        bar.x_axis.delete = False
        bar.y_axis.delete = False
        bar.legend.position = "b"
        bar += line
        bar.anchor = _span(first_col, top - 1, end_col, top - 1 + 15)
        ws.add_chart(bar)


def _span(first_col: int, first_row: int, end_col: int, end_row: int) -> TwoCellAnchor:
    """A drawing from the top-left of (first_col, first_row) to the top-left of (end_col,
    end_row), zero-based; a small gap on the left unless it starts in column A."""
    gap = 0 if first_col == 0 else 90000  # EMU, about 2.5 mm
    return TwoCellAnchor(_from=AnchorMarker(col=first_col, colOff=gap, row=first_row),
                         to=AnchorMarker(col=end_col, row=end_row))


def _print_setup(ws: Worksheet, area: str | None, title_rows: str | None) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    if area:
        ws.print_area = area
    if title_rows:
        ws.print_title_rows = title_rows
    ws.print_options.gridLines = False


# --- Leaderboard ---------------------------------------------------------------------------

LEADERBOARD_HEADER_ROW = 4
LEADERBOARD_FIRST_ROW = 5
LEADERBOARD_COLUMNS = ("Rank", "Rep", "Won revenue YTD", "Won revenue target YTD",
                       "Won revenue attainment", "Average attainment (capped 150 %)",
                       "KPIs with a target")


def _leaderboard_chart_cm(reps_count: int) -> float:
    return max(6.0, 0.55 * reps_count + 2.5)


def leaderboard_helper_row(reps_count: int) -> int:
    """The header row of the per-rep table (Settings order) the ranking is computed from: under
    the ranked table and its chart."""
    chart_rows = math.ceil(_leaderboard_chart_cm(reps_count) / 0.53) if reps_count else 0
    return LEADERBOARD_FIRST_ROW + max(reps_count, 1) + chart_rows + 4


def _write_leaderboard(ws: Worksheet, reps: Sequence[str], titles: dict[str, str],
                       places: dict[str, dict[str, TabRows]], currency: object) -> None:
    _text(ws, 1, 1, "Leaderboard", _TITLE)
    _text(ws, 2, 1,
          "Reps ranked by year-to-date attainment of won revenue (won revenue ÷ its target, "
          "from each rep's tab). Equal attainment keeps the Settings order; reps without a "
          "won-revenue target come last.", _GREY)
    _text(ws, 3, 1,
          "Average attainment: the mean of the rep's year-to-date attainments over the KPIs "
          "that have a target, each capped at 150 % so one runaway KPI cannot hide the rest. "
          "The KPI columns show each KPI's year-to-date attainment.",
          _GREY)
    headers = [*LEADERBOARD_COLUMNS, *(kpi.name for kpi in REP_KPIS)]
    _header(ws, LEADERBOARD_HEADER_ROW, headers)
    for col in range(3, len(headers) + 1):
        ws.cell(LEADERBOARD_HEADER_ROW, col).alignment = Alignment(wrap_text=True,
                                                                   horizontal="center")
    ws.row_dimensions[LEADERBOARD_HEADER_ROW].height = 45
    n = len(reps)
    helper = leaderboard_helper_row(n)
    first, last = helper + 1, helper + max(n, 1)
    money = currency_format(currency)
    kpi_first_col = len(LEADERBOARD_COLUMNS) + 1
    kpi_last_col = kpi_first_col + len(REP_KPIS) - 1
    formats = ["0", None, money, money, _ATTAINMENT, _ATTAINMENT, "0"]
    formats += [_ATTAINMENT] * len(REP_KPIS)
    if not reps:
        _text(ws, LEADERBOARD_FIRST_ROW, 2, "No reps yet: list them in Settings under Reps and "
                                            "run `xlkpi refresh`.", _GREY)
    # The per-rep table, in Settings order.
    _text(ws, helper - 1, 1, "Per rep, in Settings order (the ranking above is computed from "
                             "this table)", _SECTION_FONT)
    _header(ws, helper, ["Order", *headers[1:]])
    for col in range(3, len(headers) + 1):
        ws.cell(helper, col).alignment = Alignment(wrap_text=True, horizontal="center")
    ws.row_dimensions[helper].height = 45
    ytd = get_column_letter(TAB_YTD_COL)
    e_col = "E"
    for index, rep in enumerate(reps):
        r = first + index
        sheet = _quote(titles[rep])
        rep_rows = places[rep]
        won = rep_rows["won_revenue"]
        _text(ws, r, 2, rep)
        _formula(ws, r, 3, f"={sheet}!${ytd}${won.actual}", money)
        _formula(ws, r, 4, f"={sheet}!${ytd}${won.target}", money)
        _formula(ws, r, 5, f"={sheet}!${ytd}${won.attainment}", _ATTAINMENT)
        for offset, kpi in enumerate(REP_KPIS):
            _formula(ws, r, kpi_first_col + offset,
                     f"={sheet}!${ytd}${rep_rows[kpi.id].attainment}", _ATTAINMENT)
        span = (f"{get_column_letter(kpi_first_col)}{r}:"
                f"{get_column_letter(kpi_last_col)}{r}")
        capped = "+".join(
            f"IF(ISNUMBER({get_column_letter(c)}{r}),MIN({get_column_letter(c)}{r},"
            f"{LEADERBOARD_CAP}),0)" for c in range(kpi_first_col, kpi_last_col + 1))
        _formula(ws, r, 6, f'=IF(COUNT({span})=0,"",({capped})/COUNT({span}))', _ATTAINMENT)
        _formula(ws, r, 7, f"=COUNT({span})", "0")
        all_e = f"${e_col}${first}:${e_col}${last}"
        _formula(ws, r, 1,
                 f"=IF(ISNUMBER({e_col}{r}),RANK({e_col}{r},{all_e},0)"
                 f"+COUNTIF(${e_col}${helper}:{e_col}{r - 1},{e_col}{r}),"
                 f"COUNT({all_e})+ROWS(${e_col}${first}:{e_col}{r})"
                 f"-COUNT(${e_col}${first}:{e_col}{r}))", "0", _GREY)
        for col in range(2, len(headers) + 1):
            if formats[col - 1]:
                ws.cell(r, col).number_format = formats[col - 1]
    # The ranked table.
    order = f"$A${first}:$A${last}"
    for position in range(1, n + 1):
        r = LEADERBOARD_FIRST_ROW + position - 1
        for col in range(2, len(headers) + 1):
            letter = get_column_letter(col)
            _formula(ws, r, col, f'=IFERROR(INDEX(${letter}${first}:${letter}${last},'
                                 f'MATCH({position},{order},0)),"")', formats[col - 1])
        all_e = f"${e_col}${first}:${e_col}${last}"
        _formula(ws, r, 1, f'=IF(ISNUMBER({e_col}{r}),RANK({e_col}{r},{all_e},0),"")', "0",
                 _BOLD)
        ws.cell(r, 2).font = _BOLD
    if n:
        end = LEADERBOARD_FIRST_ROW + n - 1
        for ref, top in ((f"E{LEADERBOARD_FIRST_ROW}:F{end}", f"E{LEADERBOARD_FIRST_ROW}"),
                         (f"{get_column_letter(kpi_first_col)}{LEADERBOARD_FIRST_ROW}:"
                          f"{get_column_letter(kpi_last_col)}{end}",
                          f"{get_column_letter(kpi_first_col)}{LEADERBOARD_FIRST_ROW}")):
            _rag(ws, ref, "TRUE", top)
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Won revenue attainment, year to date"
        chart.add_data(Reference(ws, min_col=5, min_row=LEADERBOARD_HEADER_ROW, max_row=end),
                       titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=2, min_row=LEADERBOARD_FIRST_ROW,
                                       max_row=end))
        chart.x_axis.scaling.orientation = "maxMin"  # rank 1 on top
        chart.y_axis.numFmt = "0%"
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.legend = None
        chart.anchor = _span(1, end + 1, 6, end + 1 + leaderboard_helper_row(n) - end - 5)
        ws.add_chart(chart)
    ws.freeze_panes = ws.cell(LEADERBOARD_FIRST_ROW, 3)
    ws.column_dimensions["A"].width = 7
    ws.column_dimensions["B"].width = 24
    for col in range(3, len(headers) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 13
    _print_setup(ws, f"A1:{get_column_letter(len(headers))}{helper - 2}", None)


# --- Start -----------------------------------------------------------------------------------

_YTD_RULES = {"sum": "sum of the months", "mean": "mean of the months",
              "compound": "compounded"}


def _write_start(ws: Worksheet, settings: Settings, titles: dict[str, str]) -> None:
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 13
    ws.column_dimensions["C"].width = 10
    ws.column_dimensions["D"].width = 62
    ws.column_dimensions["E"].width = 27
    ws.column_dimensions["F"].width = 20
    row = 1
    _text(ws, row, 1, "Sales KPI tracker", _TITLE)
    row += 1
    _text(ws, row, 1, "Goal vs actual for the team and each rep, month by month and year to "
                      "date. Every number is an ordinary formula: it computes in Excel, "
                      "LibreOffice Calc and Google Sheets with no add-in.", _GREY)
    row += 2

    def section(title: str) -> None:
        nonlocal row
        _text(ws, row, 1, title, _SECTION_FONT)
        row += 1

    def line(label: str, text: str) -> None:
        nonlocal row
        _text(ws, row, 1, label, _BOLD)
        cell = _text(ws, row, 2, text)
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=6)
        cell.alignment = _WRAP
        ws.cell(row, 1).alignment = Alignment(vertical="top")
        ws.row_dimensions[row].height = 15 * max(1, -(-len(text) // 125))
        row += 1

    rep_tabs = ", ".join(rep if rep == title else f"{rep} (tab {title})"
                         for rep, title in titles.items()) or "none yet: list reps in Settings"
    section("The tabs")
    line(START, "This page. `xlkpi refresh` rewrites it.")
    line(SETTINGS, "Type here: year, first month of the fiscal year, currency, the date the "
                   "year to date runs through (blank = today) and the list of reps.")
    line(TARGETS, "Type here: one row per KPI for the Team and for each rep, one column per "
                  "fiscal month, then Notes. Blank = no target. xlkpi never overwrites a typed "
                  "value, and keeps the rows of reps you remove.")
    line(TEAM, "Generated: Target, Actual and Attainment per KPI for all rows, the twelve "
               "months and the year to date, with charts.")
    line("Rep tabs", f"Generated, one per rep in Settings ({rep_tabs}): the same for the rows "
                     "whose Owner is that rep (spend-based KPIs are team only).")
    line(LEADERBOARD, "Generated: reps ranked by year-to-date attainment of won revenue; also "
                      "the average attainment over all KPIs, each capped at 150 %.")
    for name in DATA_SHEETS:
        columns = ", ".join(DATA_COLUMNS[name])
        if name == OPPORTUNITIES:
            columns += " (+ StageClass: Won, Lost or Open, computed from Stage)"
        line(name, f"Paste your CRM export here: {columns}. Add your own columns to the right.")
    row += 1

    section("The KPIs")
    _header(ws, row, ["KPI", "Better when", "Tabs", "Definition (over the rows in the period)",
                      "Excel function (add-in)", "Year-to-date target"])
    row += 1
    for kpi in KPIS:
        _text(ws, row, 1, kpi.name, _BOLD)
        _text(ws, row, 2, "higher" if kpi.direction == "up" else "lower")
        _text(ws, row, 3, "Team" if kpi.team_only else "Team, reps")
        cell = _text(ws, row, 4, kpi.definition)
        cell.alignment = _WRAP
        _text(ws, row, 5, kpi.function)
        rule = ("1 − Π(1 − monthly churn)" if kpi.id == "churn_rate"
                else _YTD_RULES[kpi.ytd_target])
        _text(ws, row, 6, rule)
        for col in (1, 2, 3, 5, 6):
            ws.cell(row, col).alignment = Alignment(vertical="top")
        ws.row_dimensions[row].height = 15 * max(1, -(-len(kpi.definition) // 62))
        row += 1
    row += 1

    section("Reading the tabs")
    line("Period", "A date belongs to a month when it falls on or after the month's first day "
                   "and before the next month's (a time of day is fine). The year-to-date "
                   "column runs from the first fiscal month through the month of Settings' "
                   "year-to-date date.")
    line("Attainment", "Actual ÷ target where higher is better, target ÷ actual where lower is "
                       "better. Blank when the target is blank, 0 or negative, or when there "
                       "is no actual. A lower-is-better KPI with an actual of 0 counts as met.")
    line("Colours", "Green: attainment ≥ 100 %. Amber: 80 % to 99.9 %. Red: below 80 %.")
    line("Ratios", "Team figures pool the rows (Σ won ÷ Σ closed), never average the reps. A "
                   "ratio whose denominator is 0 is left blank.")
    line("Stages", "Won, Closed Won, Успешно реализовано → won; Lost, Closed Lost, Закрыто и "
                   "не реализовано → lost; anything else is open (case, spaces, no-break "
                   "spaces, tabs, line breaks, '-' and '_' do not matter).")
    line("Customers", "A customer is active on day d when StartDate ≤ d and EndDate is blank "
                      "or after d. Retention = customers active on the period's first day who "
                      "are still active on its last ÷ those active on the first day.")
    line("YTD targets", "Counts and amounts add up the monthly targets, rates average them, "
                        "retention multiplies them, churn compounds: 1 − Π(1 − monthly churn). "
                        "Blank months are left out.")
    row += 1

    section("Adding data and refreshing")
    line("New rows", "Paste rows at the bottom of a data sheet. In Excel the table grows and "
                     "fills StageClass by itself. Date and amount KPIs count every row of the "
                     "column, even below the table; won/lost KPIs need StageClass, so in "
                     "LibreOffice or Google Sheets run `xlkpi refresh` (or copy StageClass "
                     "down) after pasting.")
    line("Row order", "xlkpi keeps the rows of each data sheet grouped by Owner: each rep's "
                      "rows together, in the order you typed them, then the rows of other or "
                      "blank owners. A rep's tab then reads only that rep's rows, which makes "
                      "the tracker calculate many times faster. Rows pasted later, or a sheet "
                      "sorted another way, still count: a rep whose rows are no longer together "
                      "is read from whole columns (slower) until `xlkpi refresh` groups the "
                      "rows again. Refresh moves whole rows, your columns with them; refer to "
                      "data by column (Leads[LeadDate]), not to a single data row's cell.")
    line("xlkpi refresh", "Run `xlkpi refresh tracker.xlsx` (with the file closed) after "
                          "changing the reps or the currency. It rebuilds Start, Team, the rep "
                          "tabs and Leaderboard, adds Targets rows for new reps, groups the "
                          "data rows by Owner and keeps everything you typed: Settings, every "
                          "Targets cell, every data row, your columns and your own sheets. The "
                          "previous file is kept as a backup.")
    line("No refresh needed", "Changing the year, the first fiscal month or the year-to-date "
                              "date: the tabs follow Settings at once.")
    row += 1

    section("Excel functions (optional add-in)")
    example = (f'=CLOSE_RATE(Opportunities[Stage], Opportunities[CloseDate], '
               f'"{settings.year}-10")')
    line("In your own sheets", "With the xlkpi add-in (xlwings, UDF module xlkpi.udfs) each KPI "
                               "is a worksheet function named in the table above.")
    line("Example", example)
    line("Per rep", f'=WON_REVENUE(Opportunities[Amount], Opportunities[Stage], '
                    f'Opportunities[CloseDate], "{settings.year}", Opportunities[Owner], "Anna")')
    line("Periods", f'"{settings.year}-10" a month, "{settings.year}-Q4" a quarter, '
                    f'{settings.year} a year, a date its month, blank all rows. The tracker '
                    "itself does not need the add-in.")
    ws.sheet_view.showGridLines = False
    _print_setup(ws, f"A1:F{row}", None)
    ws.page_setup.orientation = "portrait"


# --- the generated sheets ------------------------------------------------------------------

def _generate(wb: Workbook, tracker: Tracker) -> None:
    settings = tracker.settings
    letters = data_column_letters(wb)
    titles = rep_sheet_names(settings.reps, reserved=wb.sheetnames)
    start = wb.create_sheet(START, 0)
    _write_start(start, settings, titles)
    position = wb.sheetnames.index(TARGETS) + 1
    team = wb.create_sheet(TEAM, position)
    _write_kpi_tab(team, TEAM_NAME, KPIS, letters, settings.currency, team=True)
    team.sheet_properties.tabColor = "1F3864"
    places: dict[str, dict[str, TabRows]] = {}
    for offset, rep in enumerate(settings.reps, 1):
        ws = wb.create_sheet(titles[rep], position + offset)
        places[rep] = _write_kpi_tab(ws, rep, REP_KPIS, letters, settings.currency, team=False)
        ws.sheet_properties.tabColor = "8EA9DB"
    board = wb.create_sheet(LEADERBOARD, position + len(settings.reps) + 1)
    _write_leaderboard(board, settings.reps, titles, places, settings.currency)
    board.sheet_properties.tabColor = "C9A227"
    for name in (SETTINGS, TARGETS):
        wb[name].sheet_properties.tabColor = "FFC000"
    meta = wb.create_sheet(META)
    _write_meta(meta, [(START, KIND_START, None), (TEAM, KIND_TEAM, None),
                       *((titles[rep], KIND_REP, rep) for rep in settings.reps),
                       (LEADERBOARD, KIND_LEADERBOARD, None)])
    meta.sheet_state = "veryHidden"
    wb.calculation.fullCalcOnLoad = True


def _write_meta(ws: Worksheet, sheets: list[tuple[str, str, str | None]]) -> None:
    _text(ws, 1, 1, "generator")
    _text(ws, 1, 2, MARKER)
    _text(ws, 2, 1, "format")
    ws.cell(2, 2, FORMAT_VERSION)
    _text(ws, 3, 1, "version")
    _text(ws, 3, 2, __version__)
    _text(ws, 4, 1, "note")
    _text(ws, 4, 2, "Written by xlkpi: the sheets listed below are generated and "
                    "`xlkpi refresh` rebuilds them. Do not edit.")
    _text(ws, META_HEADER_ROW, 1, "Sheet")
    _text(ws, META_HEADER_ROW, 2, "Kind")
    _text(ws, META_HEADER_ROW, 3, "Rep")
    for row, (title, kind, rep) in enumerate(sheets, META_HEADER_ROW + 1):
        _text(ws, row, 1, title)
        _text(ws, row, 2, kind)
        if rep is not None:
            _text(ws, row, 3, rep)

"""The Team tab and the rep tabs: Target, Actual and Attainment per KPI, month by month and
year to date, with charts. Their formula text comes from :mod:`xlkpi.tracker.formulas`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl.chart import Reference
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.core.kpis import KPI_BY_ID, Kpi
from xlkpi.core.recipes import Actual
from xlkpi.tracker.cells import (
    absolute,
    checked_formula,
    formula_cell,
    header_row,
    put_formula,
    text_cell,
)
from xlkpi.tracker.charts import MonthRows, chart_anchor, month_chart, print_one_page
from xlkpi.tracker.formulas import (
    ActualFormulas,
    OwnerBlock,
    Window,
    as_of_position_formula,
    attainment_formula,
    month_window,
    owner_block_formulas,
    owner_criterion,
    pacing_formulas,
    previous_actuals,
    shown_actual_formula,
    target_formula,
    target_helper_formulas,
    ytd_target_formula,
    ytd_window,
)
from xlkpi.tracker.model import (
    OWNED_SHEETS,
    PACING_HEADERS,
    S_AS_OF,
    S_FIRST_DAY,
    S_MONTHS_TO_DATE,
    TAB_BLOCK_FIRST_ROW,
    TAB_BLOCK_OK_COL,
    TAB_BLOCK_SHEET_COL,
    TAB_CRITERION_COL,
    TAB_FIRST_MONTH_COL,
    TAB_FIRST_ROW,
    TAB_HEADER_ROW,
    TAB_MATCH_ROW,
    TAB_NOTE_ROW,
    TAB_PREVIOUS_FIRST_COL,
    TAB_PREVIOUS_YTD_COL,
    TAB_RAW_FIRST_COL,
    TAB_TARGETS_WHO_ROW,
    TAB_THROUGH_ROW,
    TAB_WHO_ROW,
    TAB_YTD_COL,
    TARGETS,
    kpi_name,
    sheet_ref,
    team_name,
    title,
)
from xlkpi.tracker.styles import (
    ACTUAL_FONT,
    ATTAINMENT,
    BLOCK_TOP,
    BOLD,
    GREY,
    GREY_SMALL,
    HEADER_FILL,
    HEADER_FONT,
    RIGHT,
    SECTION_FONT,
    TITLE,
    WRAP,
    day_format,
    month_format,
    number_format,
    red_amber_green,
    style,
)

# Where a KPI's actual in the period before the first month and the year to date is held.
_PREVIOUS_COLS = {TAB_FIRST_MONTH_COL: TAB_PREVIOUS_FIRST_COL, TAB_YTD_COL: TAB_PREVIOUS_YTD_COL}
# The three rows of a KPI (model.ROW_KINDS), by their keys in the language files.
_ROW_KEYS = ("tabs.target", "tabs.actual", "tabs.attainment")
_PACING_KEYS = ("tabs.pacing_target", "tabs.pacing_expected", "tabs.pacing_actual",
                "tabs.pacing_projected", "tabs.pacing_pace")
assert len(_PACING_KEYS) == len(PACING_HEADERS)


@dataclass
class TabRows:
    """Where each KPI's three rows are on a Team or rep tab."""

    target: int
    actual: int
    attainment: int


def write_kpi_tab(ws: Worksheet, who: str, kpis: Sequence[Kpi], letters, currency: object,
                  team: bool) -> dict[str, TabRows]:
    """The tab of ``who`` (the team's, or a rep's, whose rows are those of their Owner cells):
    three rows per KPI, twelve months and the year to date; where each KPI's rows are."""
    if team:
        who = team_name()  # as the Targets sheet names the team's rows
    heading = (lang.text("tabs.team_title") if team
               else lang.text("tabs.rep_title", who=who))
    text_cell(ws, 1, 1, heading, TITLE)
    text_cell(ws, TAB_WHO_ROW, 1, lang.text("tabs.who"), BOLD)
    text_cell(ws, TAB_WHO_ROW, 2, who, BOLD)
    text_cell(ws, TAB_WHO_ROW, TAB_CRITERION_COL, owner_criterion(who))
    text_cell(ws, TAB_MATCH_ROW, TAB_CRITERION_COL, owner_criterion(who)[1:])
    formula_cell(ws, TAB_TARGETS_WHO_ROW, TAB_CRITERION_COL,
                 f"=IFERROR(MATCH({absolute(TAB_CRITERION_COL, TAB_MATCH_ROW)},"
                 f"{sheet_ref(TARGETS)}!$A:$A,0),0)")
    text_cell(ws, TAB_NOTE_ROW, 1, lang.text("tabs.note"), GREY_SMALL)
    header_row(ws, TAB_HEADER_ROW, [lang.text("tabs.kpi"), lang.text("tabs.row")])
    for index in range(12):
        col = TAB_FIRST_MONTH_COL + index
        first = (f"={S_FIRST_DAY}" if index == 0 else
                 f"=EOMONTH({get_column_letter(col - 1)}{TAB_HEADER_ROW},0)+1")
        cell = formula_cell(ws, TAB_HEADER_ROW, col, first, month_format(), HEADER_FONT)
        style(cell, fill=HEADER_FILL, alignment=RIGHT)
        formula_cell(ws, TAB_THROUGH_ROW, col,
                     f"=EOMONTH({get_column_letter(col)}{TAB_HEADER_ROW},0)", day_format(),
                     GREY_SMALL)
    ytd = text_cell(ws, TAB_HEADER_ROW, TAB_YTD_COL, lang.text("tabs.ytd"), HEADER_FONT,
                    fill=HEADER_FILL)
    style(ytd, alignment=RIGHT)
    first_letter = get_column_letter(TAB_FIRST_MONTH_COL)
    formula_cell(ws, TAB_THROUGH_ROW, TAB_YTD_COL,
                 f"=EOMONTH(${first_letter}${TAB_HEADER_ROW},{S_MONTHS_TO_DATE}-1)",
                 day_format(), GREY_SMALL)
    text_cell(ws, TAB_THROUGH_ROW, 2, lang.text("tabs.through"), GREY_SMALL)
    if not team:
        owner_blocks(ws, letters)
    rows = {kpi.id: TabRows(TAB_FIRST_ROW + 3 * i, TAB_FIRST_ROW + 3 * i + 1,
                            TAB_FIRST_ROW + 3 * i + 2) for i, kpi in enumerate(kpis)}
    for kind, row, col, value, fmt, font in _kpi_cells(tuple(kpis), letters, currency, team):
        if kind == _FORMULA:
            put_formula(ws, row, col, value, fmt, font)
        elif kind == _TEXT:
            text_cell(ws, row, col, value, font)
        else:  # a KPI's first row: a line above it
            for col in range(1, TAB_YTD_COL + 1):
                style(ws.cell(row, col), border=BLOCK_TOP)
    last = TAB_FIRST_ROW + 3 * len(kpis) - 1
    red_amber_green(ws, f"C{TAB_FIRST_ROW}:{get_column_letter(TAB_YTD_COL)}{last}",
                    f'$B{TAB_FIRST_ROW}="{lang.text("tabs.attainment")}"', f"C{TAB_FIRST_ROW}")
    ws.freeze_panes = ws.cell(TAB_FIRST_ROW, TAB_FIRST_MONTH_COL)
    # wide enough for the longest KPI name (27 for the English ones)
    ws.column_dimensions["A"].width = max(27, max(len(kpi_name(kpi.id)) for kpi in kpis) + 2)
    ws.column_dimensions["B"].width = 11
    for col in range(TAB_FIRST_MONTH_COL, TAB_YTD_COL):
        ws.column_dimensions[get_column_letter(col)].width = 10.5
    ws.column_dimensions[get_column_letter(TAB_YTD_COL)].width = 13
    for col in (*range(TAB_CRITERION_COL, TAB_BLOCK_OK_COL + 1),
                *range(TAB_RAW_FIRST_COL, TAB_RAW_FIRST_COL + 12)):
        ws.column_dimensions[get_column_letter(col)].hidden = True
    for col in range(TAB_FIRST_MONTH_COL, TAB_YTD_COL + 1):
        style(ws.cell(TAB_THROUGH_ROW, col), alignment=RIGHT)
    pacing_row = last + 2
    chart_row = write_pacing(ws, kpis, rows, currency, pacing_row) + 2
    _charts(ws, rows, currency, chart_row)
    print_one_page(ws, f"A1:{get_column_letter(TAB_YTD_COL)}{chart_row + 15}")
    return rows


# The KPI rows' cells of a Team or rep tab, by what they depend on (see _kpi_cells): every rep
# tab has the same ones (they read the rep's name from the tab's own criterion cell), so a
# tracker's rep tabs are rendered once, and so is a tab written again by a refresh in the same
# process. A few entries: the language (held, and compared by identity), the KPIs, the data
# columns' letters, the currency and the kind of tab.
_KPI_CELLS: dict[tuple, tuple[object, list[tuple]]] = {}
_KPI_CELLS_KEPT = 16


_TEXT, _FORMULA, _LINE = "text", "formula", "line"


def _kpi_cells(kpis: tuple[Kpi, ...], letters, currency: object, team: bool) -> list[tuple]:
    """The cells of the KPI rows of a Team (``team``) or rep tab in the language in force, as
    (_TEXT or _FORMULA, row, column, text or formula, number format, font), in the order they
    are written (the order in which the workbook meets its styles), and (_LINE, row, ...): the
    line above a KPI's rows; three rows per KPI, twelve months and the year to date, with the
    hidden cells they use; the same for every rep."""
    language = lang.active()
    key = (id(language), tuple(kpi.id for kpi in kpis),
           tuple((sheet, tuple(columns.items())) for sheet, columns in letters.items()),
           str(currency or ""), team)
    found = _KPI_CELLS.get(key)
    if found is not None and found[0] is language:
        return found[1]
    cells = _render_kpi_cells(kpis, letters, currency, team)
    if len(_KPI_CELLS) >= _KPI_CELLS_KEPT:
        _KPI_CELLS.clear()
    _KPI_CELLS[key] = (language, cells)
    return cells


def _render_kpi_cells(kpis: Sequence[Kpi], letters, currency: object,
                      team: bool) -> list[tuple]:
    """_kpi_cells, rendered."""
    cells: list[tuple] = []
    if team:
        actuals = ActualFormulas(letters, None)
    else:
        blocks = {sheet: owner_block_formulas(sheet, letters[sheet]["Owner"],
                                              TAB_BLOCK_FIRST_ROW + offset)[0]
                  for offset, sheet in enumerate(OWNED_SHEETS)}
        actuals = ActualFormulas(letters, absolute(TAB_CRITERION_COL, TAB_WHO_ROW), blocks)
    windows: dict[int, Window] = {TAB_FIRST_MONTH_COL + i: month_window(TAB_FIRST_MONTH_COL + i)
                                  for i in range(12)}
    windows[TAB_YTD_COL] = ytd_window()
    rows = {kpi.id: TabRows(TAB_FIRST_ROW + 3 * i, TAB_FIRST_ROW + 3 * i + 1,
                            TAB_FIRST_ROW + 3 * i + 2) for i, kpi in enumerate(kpis)}
    # The cells holding each KPI's actual in a column: the hidden ones of a month (the visible
    # cell is blank after the as-of date), the visible ones of the YTD.
    actual_cells: dict[int, dict[str, str]] = {}
    for col in range(TAB_FIRST_MONTH_COL - 1, TAB_YTD_COL + 1):
        held = col + (TAB_RAW_FIRST_COL - TAB_FIRST_MONTH_COL
                      if TAB_FIRST_MONTH_COL <= col < TAB_YTD_COL else 0)
        actual_cells[col] = {kpi_id: f"{get_column_letter(held)}{place.actual}"
                             for kpi_id, place in rows.items()}

    row = TAB_FIRST_ROW
    for kpi in kpis:
        place = rows[kpi.id]
        fmt = number_format(kpi, currency)
        # A KPI that uses another's actual in the period before reads it from the previous
        # month's column, or, in the first month and the year to date, from a hidden cell.
        previous = previous_actuals(kpi.recipe)
        assert len(previous) <= 1, f"{kpi.id}: one hidden previous-period cell per KPI row"
        for offset, key in enumerate(_ROW_KEYS):
            cells.append((_TEXT, row + offset, 1, kpi_name(kpi.id), None,
                          BOLD if offset == 0 else GREY))
            cells.append((_TEXT, row + offset, 2, lang.text(key), None,
                          ACTUAL_FONT if key == "tabs.actual" else None))
        for col, helper in target_helper_formulas(place.target):
            cells.append((_FORMULA, place.target, col, helper, None, None))
        for col, window in windows.items():
            letter = get_column_letter(col)
            if col == TAB_YTD_COL:
                target = ytd_target_formula(kpi, place.target)
            else:
                target = target_formula(place.target, col)
            cells.append((_FORMULA, place.target, col, target, fmt, None))
            helper_col = _PREVIOUS_COLS.get(col)
            if helper_col is None:
                before = actual_cells[col - 1]
            else:
                before = {kpi_id: absolute(helper_col, place.actual) for kpi_id in previous}
            actual = actuals.formula(kpi.recipe, window, actual_cells[col], before)
            if col == TAB_YTD_COL:
                cells.append((_FORMULA, place.actual, col, actual, fmt, ACTUAL_FONT))
            else:
                raw = actual_cells[col][kpi.id]
                cells.append((_FORMULA, place.actual, col + TAB_RAW_FIRST_COL - TAB_FIRST_MONTH_COL,
                              actual, fmt, None))
                cells.append((_FORMULA, place.actual, col, shown_actual_formula(col, raw), fmt,
                              ACTUAL_FONT))
            if helper_col is not None:
                for kpi_id in before:
                    cells.append((_FORMULA, place.actual, helper_col, actuals.formula(
                        Actual(kpi_id), window.before(), {}, {}), fmt, None))
            cells.append((_FORMULA, place.attainment, col,
                          attainment_formula(kpi, f"{letter}{place.target}",
                                             f"{letter}{place.actual}"), ATTAINMENT, None))
        cells.append((_LINE, row, None, None, None, None))
        row += 3
    return [(kind, row, col, checked_formula(value) if kind == _FORMULA else value, fmt, font)
            for kind, row, col, value, fmt, font in cells]


def write_pacing(ws: Worksheet, kpis: Sequence[Kpi], rows: dict[str, TabRows], currency: object,
                 top: int) -> int:
    """The pacing block of the as-of month from row ``top`` (core.pacing as formulas over the
    tab's own Target and Actual cells); its last row."""
    position = absolute(TAB_CRITERION_COL, top)
    formula_cell(ws, top, TAB_CRITERION_COL, as_of_position_formula())
    text_cell(ws, top, 1, lang.text("tabs.pacing_title"), SECTION_FONT)
    labels = ((3, lang.text("tabs.month"), f"=EOMONTH({S_AS_OF},-1)+1", month_format()),
              (5, lang.text("tabs.as_of"), f"={S_AS_OF}", lang.text("formats.short_day")),
              (7, lang.text("tabs.day"), f"=DAY({S_AS_OF})", "0"),
              (9, lang.text("tabs.of"), f"=DAY(EOMONTH({S_AS_OF},0))", "0"))
    for col, label, formula, fmt in labels:
        style(text_cell(ws, top, col, label, GREY), alignment=RIGHT)
        style(formula_cell(ws, top, col + 1, formula, fmt, BOLD), alignment=RIGHT)
    header = top + 1
    header_row(ws, header, [lang.text("tabs.kpi")])
    header_row(ws, header, [lang.text(key) for key in _PACING_KEYS], first_col=3)
    for col in range(1, 3 + len(PACING_HEADERS)):
        style(ws.cell(header, col), fill=HEADER_FILL, alignment=WRAP)
    ws.row_dimensions[header].height = 30
    row = header
    for row, kpi in enumerate(kpis, header + 1):
        text_cell(ws, row, 1, kpi_name(kpi.id))
        cells = tuple(f"{get_column_letter(3 + i)}{row}" for i in range(len(PACING_HEADERS)))
        formulas = pacing_formulas(kpi, position, rows[kpi.id].target, rows[kpi.id].actual,
                                   cells)
        fmt = number_format(kpi, currency)
        for offset, formula in enumerate(formulas):
            last = offset == len(formulas) - 1
            formula_cell(ws, row, 3 + offset, formula, ATTAINMENT if last else fmt,
                         BOLD if last else None)
    pace = get_column_letter(2 + len(PACING_HEADERS))
    red_amber_green(ws, f"{pace}{header + 1}:{pace}{row}", "TRUE", f"{pace}{header + 1}")
    notes = (lang.text("tabs.pacing_note_expected"), lang.text("tabs.pacing_note_projected"))
    for offset, note in enumerate(notes, 1):
        text_cell(ws, row + offset, 1, note, GREY_SMALL)
    return row + len(notes)


def owner_blocks(ws: Worksheet, letters) -> dict[str, OwnerBlock]:
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
    blocks = {}
    for offset, sheet in enumerate(OWNED_SHEETS):
        row = TAB_BLOCK_FIRST_ROW + offset
        block, formulas = owner_block_formulas(sheet, letters[sheet]["Owner"], row)
        text_cell(ws, row, TAB_BLOCK_SHEET_COL, title(sheet))
        for col, formula in formulas:
            formula_cell(ws, row, col, formula)
        blocks[sheet] = block
    return blocks


def _charts(ws: Worksheet, rows: dict[str, TabRows], currency: object, top: int) -> None:
    """Actual (columns) vs target (line) across the twelve months for a few key KPIs."""
    # Under the table, side by side over columns A–D, E–I and J–O: anchored to cells at both
    # corners, so they keep to the table's width whatever font the app measures columns in.
    # Their scale cells: hidden columns W:AH of the charts' first rows.
    charts = (("won_revenue", 0, 4), ("deals_won", 4, 9), ("close_rate", 9, TAB_YTD_COL))
    categories = Reference(ws, min_col=TAB_FIRST_MONTH_COL, max_col=TAB_YTD_COL - 1,
                           min_row=TAB_HEADER_ROW)
    for offset, (kpi_id, first_col, end_col) in enumerate(charts):
        kpi = KPI_BY_ID[kpi_id]
        place = rows[kpi_id]
        months = MonthRows(ws.title, TAB_FIRST_MONTH_COL, place.target, place.actual)
        month_chart(ws, lang.active().kpi_name(kpi_id), [kpi], {kpi_id: months}, categories,
                    currency, (top + offset, TAB_RAW_FIRST_COL),
                    chart_anchor(first_col, top - 1, end_col, top - 1 + 15))

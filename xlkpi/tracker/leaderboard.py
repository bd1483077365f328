"""The Leaderboard: reps ranked by year-to-date attainment of won revenue.

Its rows follow the rep list on Settings by formula (INDEX(Settings!$A:$A, …), a fixed number
of rows: the reps at the last refresh and SPARE_REP_ROWS more), so a rep typed into Settings
appears, with their won revenue, its target and attainment (and a bar in the chart, which spans
every ranked row), without running anything: those three are computed here over whole columns
with the rep as owner criterion. The other KPIs' attainments (and their average) are read from
the rep's tab, found by name in a table written at refresh: computing every KPI of every rep
again here would repeat each tab's scans and the Targets planning of all KPIs, so a rep typed
in since the last refresh shows them blank until `xlkpi refresh` adds their tab (the rep view
shows them at once for any rep).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.core.kpis import KPI_BY_ID
from xlkpi.tracker.cells import formula_cell, header_row, quote_title, text_cell
from xlkpi.tracker.charts import chart_anchor, chart_title, print_one_page, value_axis
from xlkpi.tracker.formulas import ActualFormulas, Window, attainment_formula
from xlkpi.tracker.model import (
    LEADERBOARD_CAP,
    LEADERBOARD_FIRST_ROW,
    LEADERBOARD_HEADER_ROW,
    REP_KPIS,
    S_AS_OF,
    S_FIRST_DAY,
    S_MONTHS_TO_DATE,
    SETTINGS,
    SETTINGS_REPS_HEADER_ROW,
    SPARE_REP_ROWS,
    TAB_FIRST_MONTH_COL,
    TAB_HEADER_ROW,
    TAB_YTD_COL,
    TARGETS,
    TARGETS_FIRST_MONTH_COL,
    TARGETS_PLAN_COL,
    TEAM,
    title,
)
from xlkpi.tracker.styles import (
    ATTAINMENT,
    BOLD,
    GREY,
    GREY_SMALL,
    SECTION_FONT,
    TITLE,
    currency_format,
    red_amber_green,
)
from xlkpi.tracker.tabs import TabRows

_COLUMN_KEYS = ("rank", "rep", "won", "target", "attainment", "average", "with_target")
_KPI_FIRST_COL = len(_COLUMN_KEYS) + 1  # H: each KPI's year-to-date attainment
_KPI_LAST_COL = _KPI_FIRST_COL + len(REP_KPIS) - 1
# Hidden, right of the KPI columns on each Settings-order row: the owner criterion, the
# Targets criterion of won revenue, the row of the rep's tab in the tab table, and the twelve
# months' won-revenue targets.
CRITERION_COL = _KPI_LAST_COL + 2
KPI_CRITERION_COL = CRITERION_COL + 1
TAB_ROW_COL = CRITERION_COL + 2
MONTH_TARGET_COL = CRITERION_COL + 3
# In the hidden rows of reps with a tab (_tab_table): their won revenue year to date, actual
# and target, read from the tab.
TAB_WON_ACTUAL_COL, TAB_WON_TARGET_COL = _KPI_LAST_COL + 1, _KPI_LAST_COL + 2
# ... and their won revenue and deals won in the as-of month, for This month's ranking ("" when
# the as-of month is not one of the tab's months).
TAB_MONTH_WON_COL, TAB_MONTH_DEALS_COL = _KPI_LAST_COL + 3, _KPI_LAST_COL + 4
TAB_MONTH_TARGET_COL = _KPI_LAST_COL + 5  # the month's won-revenue target, "" when none
SCALE_COL = CRITERION_COL - 1  # hidden, on the ranked rows: the chart's scale when empty


def rep_rows_count(reps_count: int) -> int:
    """The rows kept for reps: those at refresh and SPARE_REP_ROWS for reps typed in since."""
    return reps_count + SPARE_REP_ROWS


def _chart_cm(reps_count: int) -> float:
    """The chart's height: a slot for every ranked row, the spare ones too."""
    return max(6.0, 0.4 * rep_rows_count(reps_count) + 2.5)


def leaderboard_helper_row(reps_count: int) -> int:
    """The header row of the per-rep table (Settings order) the ranking is computed from: under
    the ranked table and its chart."""
    rows = rep_rows_count(reps_count)
    return LEADERBOARD_FIRST_ROW + rows + math.ceil(_chart_cm(reps_count) / 0.53) + 4


def tab_table_rows(reps_count: int) -> tuple[int, int]:
    """The first and last of the hidden rows of the reps with a tab (_tab_table)."""
    first = leaderboard_helper_row(reps_count) + rep_rows_count(reps_count) + 4
    return first, first + max(reps_count, 1) - 1


def sheet_ref(sheet_id: str) -> str:
    """How a formula names a typed sheet: its title in the tracker's language, quoted."""
    return quote_title(title(sheet_id))


def settings_rep(k: int) -> str:
    """The k-th (from 1) name in the Settings rep list, "" when that row is blank."""
    cell = f"INDEX({sheet_ref(SETTINGS)}!$A:$A,{SETTINGS_REPS_HEADER_ROW + k})"
    return f'=IF({cell}="","",{cell})'


def criterion_formula(name: str) -> str:
    """formulas.owner_criterion as a formula over the cell ``name``."""
    return (f'=IF({name}="","",'
            f'"="&SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({name},"~","~~"),"*","~*"),"?","~?"))')


def month_target_formula(criterion: str, kpi_criterion: str, index: int,
                         tab_row: str = "") -> str:
    """The typed target of (rep, KPI) in fiscal month ``index``: the planned month on Targets,
    or the typed one of a row added since the last refresh (no planned cell); "" when none."""
    plan = get_column_letter(TARGETS_PLAN_COL + index)
    typed = get_column_letter(TARGETS_FIRST_MONTH_COL + index)
    targets = sheet_ref(TARGETS)
    plan, typed = f"{targets}!${plan}:${plan}", f"{targets}!${typed}:${typed}"
    match = f"{targets}!$A:$A,{criterion},{targets}!$B:$B,{kpi_criterion}"
    count = (f'COUNTIFS({match},{plan},">-1E+300")'
             f'+COUNTIFS({match},{typed},">-1E+300",{plan},"=")')
    total = f'SUMIFS({plan},{match})+SUMIFS({typed},{match},{plan},"=")'
    # Nested IFs, not OR: a spreadsheet computes only the branch an IF takes, and the "="
    # (blank) criterion makes COUNTIFS read all 1,048,576 rows of a whole column, so the scans
    # run only for a rep typed in since the last refresh (``tab_row`` blank: no tab yet).
    skip = f'{tab_row}<>""' if tab_row else "FALSE"
    return f'=IF({skip},"",IF({criterion}="","",IF({count}=0,"",{total})))'


def ytd_window() -> Window:
    end = f"(EOMONTH({S_FIRST_DAY},{S_MONTHS_TO_DATE}-1)+1)"
    return Window(S_FIRST_DAY, end)


def write_leaderboard(ws: Worksheet, reps: Sequence[str], titles: dict[str, str],
                      places: dict[str, dict[str, TabRows]], currency: object, letters,
                      team_rows: dict[str, TabRows], team_title: str | None = None) -> None:
    text_cell(ws, 1, 1, lang.text("leaderboard.title"), TITLE)
    notes = (lang.text("leaderboard.ranked_by"),
             lang.text("leaderboard.average_note",
                       cap=f"{LEADERBOARD_CAP:.0%}".replace("%", " %")))
    for row, note in enumerate(notes, 2):
        text_cell(ws, row, 1, note, GREY_SMALL)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=_KPI_LAST_COL)
        ws.cell(row, 1).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[row].height = 24
    headers = [lang.text(f"leaderboard.{key}") for key in _COLUMN_KEYS]
    team = quote_title(team_title or title(TEAM))
    headers += [f"={team}!$A${team_rows[kpi.id].target}" for kpi in REP_KPIS]
    _header(ws, LEADERBOARD_HEADER_ROW, headers)
    capacity = rep_rows_count(len(reps))
    helper = leaderboard_helper_row(len(reps))
    first, last = helper + 1, helper + capacity
    money = currency_format(currency)
    formats = ["0", None, money, money, ATTAINMENT, ATTAINMENT, "0"]
    formats += [ATTAINMENT] * len(REP_KPIS)
    text_cell(ws, helper - 1, 1, lang.text("leaderboard.per_rep"), SECTION_FONT)
    _header(ws, helper, [lang.text("leaderboard.order"), *headers[1:]])
    tab_table = last + 3
    assert tab_table + 1 == tab_table_rows(len(reps))[0]
    _tab_table(ws, tab_table, reps, titles, places)
    tab_names = f"$B${tab_table + 1}:$B${tab_table + max(len(reps), 1)}"
    won = KPI_BY_ID["won_revenue"]
    all_e, all_b = f"$E${first}:$E${last}", f"$B${first}:$B${last}"
    for k in range(1, capacity + 1):
        r = helper + k
        rep = f"$B{r}"
        criterion = f"${get_column_letter(CRITERION_COL)}{r}"
        formula_cell(ws, r, 2, settings_rep(k))
        formula_cell(ws, r, CRITERION_COL, criterion_formula(rep))
        formula_cell(ws, r, KPI_CRITERION_COL, f'="="&{team}!$A${team_rows[won.id].target}')
        kpi_criterion = f"${get_column_letter(KPI_CRITERION_COL)}{r}"
        tab_row = f"${get_column_letter(TAB_ROW_COL)}{r}"
        for index in range(12):
            formula_cell(ws, r, MONTH_TARGET_COL + index,
                         month_target_formula(criterion, kpi_criterion, index, tab_row), money)
        months_first = f"{get_column_letter(MONTH_TARGET_COL)}{r}"
        months = (f"{months_first}:INDEX({months_first}:"
                  f"{get_column_letter(MONTH_TARGET_COL + 11)}{r},1,{S_MONTHS_TO_DATE})")
        actual = ActualFormulas(letters, criterion).formula(won.recipe, ytd_window(), {}, {})
        # a rep with a tab: its year-to-date won revenue and target, which the tab computes
        # anyway; the scans over the data and Targets only for a rep typed in since refresh
        from_tab = {col: f"INDEX(${get_column_letter(col)}${tab_table + 1}:"
                         f"${get_column_letter(col)}${tab_table + max(len(reps), 1)},{tab_row})"
                    for col in (TAB_WON_ACTUAL_COL, TAB_WON_TARGET_COL)}
        formula_cell(ws, r, 3, f'=IF({rep}="","",IF({tab_row}<>"",'
                               f'{from_tab[TAB_WON_ACTUAL_COL]},{actual[1:]}))', money)
        formula_cell(ws, r, 4, f'=IF({tab_row}<>"",{from_tab[TAB_WON_TARGET_COL]},'
                               f'IF(COUNT({months})=0,"",SUM({months})))', money)
        formula_cell(ws, r, 5, attainment_formula(won, f"D{r}", f"C{r}"), ATTAINMENT)
        formula_cell(ws, r, TAB_ROW_COL,
                     f'=IF({rep}="","",IFERROR(MATCH(MID({criterion},2,300),{tab_names},0),""))')
        for col in range(_KPI_FIRST_COL, _KPI_LAST_COL + 1):
            letter = get_column_letter(col)
            source = f"${letter}${tab_table + 1}:${letter}${tab_table + max(len(reps), 1)}"
            formula_cell(ws, r, col, f'=IF({tab_row}="","",INDEX({source},{tab_row}))',
                         ATTAINMENT)
        span = f"{get_column_letter(_KPI_FIRST_COL)}{r}:{get_column_letter(_KPI_LAST_COL)}{r}"
        capped = "+".join(
            f"IF(ISNUMBER({get_column_letter(c)}{r}),MIN({get_column_letter(c)}{r},"
            f"{LEADERBOARD_CAP}),0)" for c in range(_KPI_FIRST_COL, _KPI_LAST_COL + 1))
        formula_cell(ws, r, 6, f'=IF(COUNT({span})=0,"",({capped})/COUNT({span}))', ATTAINMENT)
        formula_cell(ws, r, 7, f'=IF({tab_row}="","",COUNT({span}))', "0")
        # A unique order: by attainment (ties keep the Settings order), then the reps with no
        # attainment, then the blank rows.
        named = f'SUMPRODUCT(--({all_b}<>""))'
        formula_cell(ws, r, 1,
                     f'=IF({rep}="",{named}+SUMPRODUCT(--($B${first}:B{r}="")),'
                     f"IF(ISNUMBER(E{r}),RANK(E{r},{all_e},0)+COUNTIF($E${helper}:E{r - 1},E{r}),"
                     f'COUNT({all_e})+SUMPRODUCT(($B${first}:B{r}<>"")'
                     f"*(1-ISNUMBER($E${first}:E{r})))))", "0", GREY)
    order = f"$A${first}:$A${last}"
    for position in range(1, capacity + 1):
        r = LEADERBOARD_FIRST_ROW + position - 1
        for col in range(2, _KPI_LAST_COL + 1):
            letter = get_column_letter(col)
            formula_cell(ws, r, col, f'=IFERROR(INDEX(${letter}${first}:${letter}${last},'
                                     f'MATCH({position},{order},0)),"")', formats[col - 1])
        formula_cell(ws, r, 1, f'=IF(ISNUMBER(E{r}),RANK(E{r},{all_e},0),"")', "0", BOLD)
        ws.cell(r, 2).font = BOLD
    end = LEADERBOARD_FIRST_ROW + capacity - 1
    for ref, top in ((f"E{LEADERBOARD_FIRST_ROW}:F{end}", f"E{LEADERBOARD_FIRST_ROW}"),
                     (f"{get_column_letter(_KPI_FIRST_COL)}{LEADERBOARD_FIRST_ROW}:"
                      f"{get_column_letter(_KPI_LAST_COL)}{end}",
                      f"{get_column_letter(_KPI_FIRST_COL)}{LEADERBOARD_FIRST_ROW}")):
        red_amber_green(ws, ref, "TRUE", top)
    _chart(ws, end, helper)
    ws.freeze_panes = ws.cell(LEADERBOARD_FIRST_ROW, 3)
    ws.column_dimensions["A"].width = 7
    ws.column_dimensions["B"].width = 22
    for col in range(3, _KPI_LAST_COL + 1):
        ws.column_dimensions[get_column_letter(col)].width = 12.5
    for col in range(CRITERION_COL - 1, MONTH_TARGET_COL + 12):
        ws.column_dimensions[get_column_letter(col)].hidden = True
    for row in range(tab_table, tab_table + max(len(reps), 1) + 1):
        ws.row_dimensions[row].hidden = True
    print_one_page(ws, f"A1:{get_column_letter(_KPI_LAST_COL)}{helper - 2}")


def _header(ws: Worksheet, row: int, labels: list[str]) -> None:
    header_row(ws, row, [label for label in labels])
    for col, label in enumerate(labels, 1):
        if label.startswith("="):  # a KPI's name, read from the Team tab
            ws.cell(row, col).value = label
        if col >= 3:
            ws.cell(row, col).alignment = Alignment(wrap_text=True, horizontal="center",
                                                    vertical="center")
    ws.row_dimensions[row].height = 78


def _tab_table(ws: Worksheet, top: int, reps: Sequence[str], titles: dict[str, str],
               places: dict[str, dict[str, TabRows]]) -> None:
    """Hidden rows: each rep with a tab at the last refresh, and their KPIs' year-to-date
    attainments read from it."""
    ytd = get_column_letter(TAB_YTD_COL)
    text_cell(ws, top, 2, lang.text("leaderboard.tabs"), GREY)
    for index, rep in enumerate(reps):
        r = top + 1 + index
        text_cell(ws, r, 2, rep)
        sheet = quote_title(titles[rep])
        for offset, kpi in enumerate(REP_KPIS):
            formula_cell(ws, r, _KPI_FIRST_COL + offset,
                         f"={sheet}!${ytd}${places[rep][kpi.id].attainment}", ATTAINMENT)
        won = places[rep]["won_revenue"]
        formula_cell(ws, r, TAB_WON_ACTUAL_COL, f"={sheet}!${ytd}${won.actual}")
        formula_cell(ws, r, TAB_WON_TARGET_COL, f"={sheet}!${ytd}${won.target}")
        first, last = (get_column_letter(TAB_FIRST_MONTH_COL),
                       get_column_letter(TAB_FIRST_MONTH_COL + 11))
        at = (f"MATCH(EOMONTH({S_AS_OF},-1)+1,"
              f"{sheet}!${first}${TAB_HEADER_ROW}:${last}${TAB_HEADER_ROW},0)")
        for col, row in ((TAB_MONTH_WON_COL, won.actual),
                         (TAB_MONTH_DEALS_COL, places[rep]["deals_won"].actual),
                         (TAB_MONTH_TARGET_COL, won.target)):
            formula_cell(ws, r, col,
                         f'=IFERROR(INDEX({sheet}!${first}${row}:${last}${row},1,{at}),"")')


def _chart(ws: Worksheet, end: int, helper: int) -> None:
    """Won revenue attainment as bars, rank 1 on top, from 0, over all the ranked rows (to
    ``end``): a rep typed into Settings since the last refresh is ranked by formula, and has a
    bar too; the blank rows, ranked last, are empty slots at the bottom. With no attainment yet
    an invisible bar in hidden cells (SCALE_COL) holds the axis at 0-120 % (else 0-1200 %)."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = chart_title(lang.text("leaderboard.chart"))
    chart.add_data(Reference(ws, min_col=5, min_row=LEADERBOARD_FIRST_ROW, max_row=end),
                   titles_from_data=False)
    for row in range(LEADERBOARD_FIRST_ROW, end + 1):
        formula_cell(ws, row, SCALE_COL,
                     f"=IF(COUNT($E${LEADERBOARD_FIRST_ROW}:$E${end})>0,0,1.2)")
    chart.add_data(Reference(ws, min_col=SCALE_COL, min_row=LEADERBOARD_FIRST_ROW, max_row=end),
                   titles_from_data=False)
    chart.series[-1].graphicalProperties = GraphicalProperties(noFill=True)
    chart.series[-1].graphicalProperties.line.noFill = True
    chart.overlap = 100
    chart.gapWidth = 40  # thick bars: the slots are narrow, as many as the ranked rows
    chart.visible_cells_only = False
    chart.set_categories(Reference(ws, min_col=2, min_row=LEADERBOARD_FIRST_ROW, max_row=end))
    chart.x_axis.scaling.orientation = "maxMin"  # rank 1 on top
    chart.x_axis.tickLblSkip = 1  # every rep's name
    value_axis(chart, "0%")
    chart.x_axis.delete = False
    chart.legend = None
    chart.anchor = chart_anchor(1, end + 1, 7, helper - 3)
    ws.add_chart(chart)

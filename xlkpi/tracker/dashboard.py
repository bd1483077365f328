"""The "This month" dashboard, the first tab after Start: the as-of month at a glance.

Headline tiles and a table of every KPI read the Team tab's pacing block by reference (no data
scanned again); the reps are ranked for the month by won revenue, from the rep list on Settings
by formula (the Leaderboard's rows, so a rep typed in appears without a refresh); under them
charts of target vs actual by month from the Team tab, KPIs of one scale together
(charts.DASHBOARD_CHARTS).
"""

from __future__ import annotations

from openpyxl.chart import Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.core.kpis import KPI_BY_ID, KPIS
from xlkpi.tracker.cells import formula_cell, header_row, quote_title, text_cell
from xlkpi.tracker.charts import (
    DASHBOARD_CHARTS,
    MonthRows,
    chart_anchor,
    chart_kpis,
    chart_title_of,
    month_chart,
    print_one_page,
)
from xlkpi.tracker.formulas import ActualFormulas, Window, attainment_formula
from xlkpi.tracker.leaderboard import (
    CRITERION_COL,
    MONTH_TARGET_COL,
    TAB_MONTH_DEALS_COL,
    TAB_MONTH_TARGET_COL,
    TAB_MONTH_WON_COL,
    TAB_ROW_COL,
    leaderboard_helper_row,
    rep_rows_count,
    tab_table_rows,
)
from xlkpi.tracker.model import (
    LEADERBOARD,
    PACING_HEADERS,
    S_AS_OF,
    TAB_CRITERION_COL,
    TAB_FIRST_MONTH_COL,
    TAB_HEADER_ROW,
    TEAM,
    title,
)
from xlkpi.tracker.styles import (
    ATTAINMENT,
    BOLD,
    GREY,
    GREY_SMALL,
    HEADER_FILL,
    HEADER_FONT,
    SECTION_FONT,
    TITLE,
    currency_format,
    day_format,
    month_format,
    number_format,
    red_amber_green,
    style,
)
from xlkpi.tracker.tabs import TabRows

TILE_KPIS = ("won_revenue", "deals_won", "new_opportunities", "sql_count", "close_rate",
             "cost_per_lead")
TILE_ROW = 4  # name, actual to date, then target, projected and pace
TABLE_ROW = 10  # the header of the KPI table and of the reps ranked for the month
REPS_COL = 10  # J: rank | rep | won revenue | target | attainment | deals won
HELPER_COL = 18  # R (hidden): the reps in Settings order, what ranks them
LAST_COL = 16  # P: the printed width
CHART_ROWS = 20
CHARTS_PER_ROW = 4


def pacing_rows(kpis, rows: dict[str, TabRows]) -> tuple[int, dict[str, int]]:
    """The pacing block of a tab written by tabs.write_kpi_tab: its title row (which holds the
    as-of month's position in P) and each KPI's row."""
    top = max(place.attainment for place in rows.values()) + 2
    return top, {kpi.id: top + 2 + index for index, kpi in enumerate(kpis)}


def write_dashboard(ws: Worksheet, reps_count: int, team_rows: dict[str, TabRows],
                    currency: object, letters, sheets: dict[str, str] | None = None) -> None:
    """``sheets``: the titles of the Team tab and the Leaderboard (TEAM, LEADERBOARD → title),
    model.title's by default."""
    sheets = {TEAM: title(TEAM), LEADERBOARD: title(LEADERBOARD), **(sheets or {})}
    team = quote_title(sheets[TEAM])
    top, pacing = pacing_rows(KPIS, team_rows)
    text_cell(ws, 1, 1, lang.text("dashboard.title"), TITLE)
    labels = ((1, "dashboard.month", f"=EOMONTH({S_AS_OF},-1)+1", month_format()),
              (4, "dashboard.as_of", f"={S_AS_OF}", day_format()),
              (7, "dashboard.day", f"=DAY({S_AS_OF})", "0"),
              (9, "dashboard.of", f"=DAY(EOMONTH({S_AS_OF},0))", "0"))
    for col, key, formula, fmt in labels:
        style(text_cell(ws, 2, col, lang.text(key), GREY), alignment=Alignment(horizontal="right"))
        style(formula_cell(ws, 2, col + 1, formula, fmt, BOLD),
              alignment=Alignment(horizontal="left"))
        if col in (1, 4):
            ws.merge_cells(start_row=2, start_column=col + 1, end_row=2, end_column=col + 2)
    text_cell(ws, 3, 1, lang.text("dashboard.note"), GREY_SMALL)
    # the pacing block's columns on the Team tab, in PACING_HEADERS order
    pace_cols = {key: get_column_letter(3 + i) for i, key in enumerate(
        ("target", "expected", "actual", "projected", "pace"))}
    assert len(pace_cols) == len(PACING_HEADERS)

    def team_cell(kpi_id: str, key: str) -> str:
        return f"={team}!${pace_cols[key]}${pacing[kpi_id]}"

    for index, kpi_id in enumerate(TILE_KPIS):
        _tile(ws, 1 + 2 * index, KPI_BY_ID[kpi_id], team_cell, currency,
              f"={team}!$A${team_rows[kpi_id].target}")
    # every KPI, as the Team tab's pacing block
    header_row(ws, TABLE_ROW, [lang.text("dashboard.kpi")])
    ws.merge_cells(start_row=TABLE_ROW, start_column=1, end_row=TABLE_ROW, end_column=3)
    header_row(ws, TABLE_ROW, [lang.text(f"dashboard.{key}") for key in pace_cols], first_col=4)
    for col in range(4, 9):
        style(ws.cell(TABLE_ROW, col), alignment=Alignment(wrap_text=True, horizontal="center"))
    ws.row_dimensions[TABLE_ROW].height = 45
    row = TABLE_ROW
    for row, kpi in enumerate(KPIS, TABLE_ROW + 1):
        formula_cell(ws, row, 1, f"={team}!$A${team_rows[kpi.id].target}")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
        fmt = number_format(kpi, currency)
        for offset, key in enumerate(pace_cols):
            formula_cell(ws, row, 4 + offset, team_cell(kpi.id, key),
                         ATTAINMENT if key == "pace" else fmt, BOLD if key == "actual" else None)
    red_amber_green(ws, f"H{TABLE_ROW + 1}:H{row}", "TRUE", f"H{TABLE_ROW + 1}")
    position = f"{team}!${get_column_letter(TAB_CRITERION_COL)}${top}"  # of the as-of month
    reps_end = _reps_for_the_month(ws, reps_count, currency, letters, position,
                                   quote_title(sheets[LEADERBOARD]))
    charts_top = max(row, reps_end) + 2
    _charts(ws, ws.parent[sheets[TEAM]], team_rows, currency, charts_top)
    for col in range(1, LAST_COL + 1):
        ws.column_dimensions[get_column_letter(col)].width = 11.5
    for col in range(HELPER_COL, HELPER_COL + 14):
        ws.column_dimensions[get_column_letter(col)].hidden = True
    rows_of_charts = -(-len(DASHBOARD_CHARTS) // CHARTS_PER_ROW)
    print_one_page(ws, f"A1:{get_column_letter(LAST_COL)}"
                       f"{charts_top + rows_of_charts * CHART_ROWS}")


def _tile(ws: Worksheet, col: int, kpi, team_cell, currency: object, name: str) -> None:
    fmt = number_format(kpi, currency)
    letter, next_letter = get_column_letter(col), get_column_letter(col + 1)
    formula_cell(ws, TILE_ROW, col, name, None, HEADER_FONT)
    for c in (col, col + 1):
        style(ws.cell(TILE_ROW, c), fill=HEADER_FILL,
              alignment=Alignment(horizontal="center", vertical="center", wrap_text=True))
    ws.merge_cells(f"{letter}{TILE_ROW}:{next_letter}{TILE_ROW}")
    ws.row_dimensions[TILE_ROW].height = 30
    formula_cell(ws, TILE_ROW + 1, col, team_cell(kpi.id, "actual"), fmt,
                 Font(size=18, bold=True, color="1F3864"))
    style(ws.cell(TILE_ROW + 1, col), alignment=Alignment(horizontal="center"))
    ws.merge_cells(f"{letter}{TILE_ROW + 1}:{next_letter}{TILE_ROW + 1}")
    ws.row_dimensions[TILE_ROW + 1].height = 28
    for offset, key in enumerate(("target", "projected", "pace"), 2):
        text_cell(ws, TILE_ROW + offset, col, lang.text(f"dashboard.tile_{key}"), GREY)
        formula_cell(ws, TILE_ROW + offset, col + 1, team_cell(kpi.id, key),
                     ATTAINMENT if key == "pace" else fmt, BOLD)
        style(ws.cell(TILE_ROW + offset, col + 1), alignment=Alignment(horizontal="right"))
    pace = f"${next_letter}${TILE_ROW + 4}"
    red_amber_green(ws, f"{letter}{TILE_ROW + 1}:{next_letter}{TILE_ROW + 4}", "TRUE", pace)


def _reps_for_the_month(ws: Worksheet, reps_count: int, currency: object, letters,
                        position: str, board: str) -> int:
    """The reps ranked by won revenue in the as-of month (hidden helper rows in Settings
    order, read from the Leaderboard's, then the ranked rows); the last row."""
    capacity = rep_rows_count(reps_count)
    helper = leaderboard_helper_row(reps_count)
    keys = ("rank", "rep", "won", "target", "attainment", "deals")
    header_row(ws, TABLE_ROW, [lang.text(f"dashboard.reps_{key}") for key in keys],
               first_col=REPS_COL)
    for col in range(REPS_COL, REPS_COL + len(keys)):
        style(ws.cell(TABLE_ROW, col), alignment=Alignment(wrap_text=True, horizontal="center"))
    text_cell(ws, TABLE_ROW - 1, REPS_COL, lang.text("dashboard.reps_title"), SECTION_FONT)
    text_cell(ws, TABLE_ROW - 1, 1, lang.text("dashboard.table_title"), SECTION_FONT)
    month = Window(f"(EOMONTH({S_AS_OF},-1)+1)", f"(EOMONTH({S_AS_OF},0)+1)")
    won, deals = KPI_BY_ID["won_revenue"], KPI_BY_ID["deals_won"]
    money = currency_format(currency)
    first, last = TABLE_ROW + 1, TABLE_ROW + capacity
    tabs = tab_table_rows(reps_count)
    h = [get_column_letter(HELPER_COL + i) for i in range(7)]  # rep won target att deals key
    for k in range(1, capacity + 1):
        r, source = TABLE_ROW + k, helper + k
        rep = f"${h[0]}{r}"
        criterion = f"{board}!${get_column_letter(CRITERION_COL)}${source}"
        formula_cell(ws, r, HELPER_COL, f"={board}!$B${source}")
        actuals = ActualFormulas(letters, criterion)
        tab_row = f"{board}!${get_column_letter(TAB_ROW_COL)}${source}"
        from_tab = {col: _tab_table_cell(board, col, tabs, tab_row)
                    for col in (TAB_MONTH_WON_COL, TAB_MONTH_DEALS_COL, TAB_MONTH_TARGET_COL)}
        for offset, kpi, col in ((1, won, TAB_MONTH_WON_COL), (4, deals, TAB_MONTH_DEALS_COL)):
            scan = actuals.formula(kpi.recipe, month, {}, {})[1:]
            # a rep with a tab: the month's figure the tab computes anyway (through the rep's
            # block of rows); the scan of the whole columns only for a rep typed in since, or
            # an as-of month outside the tab's year (the tab's cell is "")
            formula_cell(ws, r, HELPER_COL + offset,
                         f'=IF({rep}="","",IF(IFERROR({from_tab[col]}<>"",FALSE),'
                         f'{from_tab[col]},{scan}))')
        months = (f"{board}!${get_column_letter(MONTH_TARGET_COL)}${source}:"
                  f"${get_column_letter(MONTH_TARGET_COL + 11)}${source}")
        # the month's target: from the rep's tab (the Leaderboard scans Targets only for a
        # rep without one), else the Leaderboard's months
        formula_cell(ws, r, HELPER_COL + 2,
                     f'=IF(OR({rep}="",{position}=""),"",IF({tab_row}="",'
                     f'INDEX({months},1,{position}),{from_tab[TAB_MONTH_TARGET_COL]}))')
        formula_cell(ws, r, HELPER_COL + 3,
                     attainment_formula(won, f"{h[2]}{r}", f"{h[1]}{r}"))
        # a unique order: most won revenue first, ties in Settings order, blank rows last
        won_range = f"${h[1]}${first}:${h[1]}${last}"
        formula_cell(ws, r, HELPER_COL + 5,
                     f'=IF({rep}="",1000+{k},RANK({h[1]}{r},{won_range},0)'
                     f"+COUNTIF(${h[1]}${TABLE_ROW}:{h[1]}{r - 1},{h[1]}{r}))")
    keys_range = f"${h[5]}${first}:${h[5]}${last}"
    formats = (None, money, money, ATTAINMENT, "0")
    for position_index in range(1, capacity + 1):
        r = TABLE_ROW + position_index
        match = f"MATCH(SMALL({keys_range},{position_index}),{keys_range},0)"
        for offset, fmt in enumerate(formats):
            column = f"${h[offset]}${first}:${h[offset]}${last}"
            formula_cell(ws, r, REPS_COL + 1 + offset,
                         f'=IFERROR(INDEX({column},{match}),"")', fmt,
                         BOLD if offset == 0 else None)
        rep_cell = f"{get_column_letter(REPS_COL + 1)}{r}"
        formula_cell(ws, r, REPS_COL, f'=IF({rep_cell}="","",{position_index})', "0", GREY)
    attainment = get_column_letter(REPS_COL + 4)
    red_amber_green(ws, f"{attainment}{first}:{attainment}{last}", "TRUE", f"{attainment}{first}")
    return last


def _tab_table_cell(board: str, col: int, tabs: tuple[int, int], tab_row: str) -> str:
    """A rep's cell in column ``col`` of the Leaderboard's table of tabs (rows ``tabs``), its
    row ``tab_row``: an error when the rep has no tab."""
    letter = get_column_letter(col)
    return f"INDEX({board}!${letter}${tabs[0]}:${letter}${tabs[1]},{tab_row})"


def _charts(ws: Worksheet, team: Worksheet, team_rows: dict[str, TabRows], currency: object,
            top: int) -> None:
    categories = Reference(team, min_col=TAB_FIRST_MONTH_COL, max_col=TAB_FIRST_MONTH_COL + 11,
                           min_row=TAB_HEADER_ROW)
    places = {kpi_id: MonthRows(team.title, TAB_FIRST_MONTH_COL, place.target, place.actual)
              for kpi_id, place in team_rows.items()}
    width = LAST_COL // CHARTS_PER_ROW
    for index, key in enumerate(DASHBOARD_CHARTS):
        row = top + (index // CHARTS_PER_ROW) * CHART_ROWS
        col = (index % CHARTS_PER_ROW) * width
        month_chart(ws, chart_title_of(key), chart_kpis(key), places, categories, currency,
                    (row + index % CHARTS_PER_ROW, HELPER_COL),
                    chart_anchor(col, row - 1, col + width, row - 1 + CHART_ROWS))

"""The Leaderboard: reps ranked by year-to-date attainment of won revenue, from their tabs."""

from __future__ import annotations

import math
from collections.abc import Sequence

from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.tracker.cells import formula_cell, header_row, print_setup, quote_title, text_cell
from xlkpi.tracker.model import (
    LEADERBOARD_CAP,
    LEADERBOARD_COLUMNS,
    LEADERBOARD_FIRST_ROW,
    LEADERBOARD_HEADER_ROW,
    REP_KPIS,
    TAB_YTD_COL,
)
from xlkpi.tracker.styles import (
    ATTAINMENT,
    BOLD,
    GREY,
    SECTION_FONT,
    TITLE,
    currency_format,
    red_amber_green,
)
from xlkpi.tracker.tabs import TabRows, chart_anchor


def _leaderboard_chart_cm(reps_count: int) -> float:
    return max(6.0, 0.55 * reps_count + 2.5)


def leaderboard_helper_row(reps_count: int) -> int:
    """The header row of the per-rep table (Settings order) the ranking is computed from: under
    the ranked table and its chart."""
    chart_rows = math.ceil(_leaderboard_chart_cm(reps_count) / 0.53) if reps_count else 0
    return LEADERBOARD_FIRST_ROW + max(reps_count, 1) + chart_rows + 4


def write_leaderboard(ws: Worksheet, reps: Sequence[str], titles: dict[str, str],
                       places: dict[str, dict[str, TabRows]], currency: object) -> None:
    text_cell(ws, 1, 1, "Leaderboard", TITLE)
    text_cell(ws, 2, 1,
          "Reps ranked by year-to-date attainment of won revenue (won revenue ÷ its target, "
          "from each rep's tab). Equal attainment keeps the Settings order; reps without a "
          "won-revenue target come last.", GREY)
    text_cell(ws, 3, 1,
          "Average attainment: the mean of the rep's year-to-date attainments over the KPIs "
          "that have a target, each capped at 150 % so one runaway KPI cannot hide the rest "
          "(revenue growth counts as (1 + actual) ÷ (1 + target), as on the tabs). "
          "The KPI columns show each KPI's year-to-date attainment.",
          GREY)
    headers = [*LEADERBOARD_COLUMNS, *(kpi.name for kpi in REP_KPIS)]
    header_row(ws, LEADERBOARD_HEADER_ROW, headers)
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
    formats = ["0", None, money, money, ATTAINMENT, ATTAINMENT, "0"]
    formats += [ATTAINMENT] * len(REP_KPIS)
    if not reps:
        text_cell(ws, LEADERBOARD_FIRST_ROW, 2, "No reps yet: list them in Settings under Reps and "
                                            "run `xlkpi refresh`.", GREY)
    # The per-rep table, in Settings order.
    text_cell(ws, helper - 1, 1, "Per rep, in Settings order (the ranking above is computed from "
                             "this table)", SECTION_FONT)
    header_row(ws, helper, ["Order", *headers[1:]])
    for col in range(3, len(headers) + 1):
        ws.cell(helper, col).alignment = Alignment(wrap_text=True, horizontal="center")
    ws.row_dimensions[helper].height = 45
    ytd = get_column_letter(TAB_YTD_COL)
    e_col = "E"
    for index, rep in enumerate(reps):
        r = first + index
        sheet = quote_title(titles[rep])
        rep_rows = places[rep]
        won = rep_rows["won_revenue"]
        text_cell(ws, r, 2, rep)
        formula_cell(ws, r, 3, f"={sheet}!${ytd}${won.actual}", money)
        formula_cell(ws, r, 4, f"={sheet}!${ytd}${won.target}", money)
        formula_cell(ws, r, 5, f"={sheet}!${ytd}${won.attainment}", ATTAINMENT)
        for offset, kpi in enumerate(REP_KPIS):
            formula_cell(ws, r, kpi_first_col + offset,
                     f"={sheet}!${ytd}${rep_rows[kpi.id].attainment}", ATTAINMENT)
        span = (f"{get_column_letter(kpi_first_col)}{r}:"
                f"{get_column_letter(kpi_last_col)}{r}")
        capped = "+".join(
            f"IF(ISNUMBER({get_column_letter(c)}{r}),MIN({get_column_letter(c)}{r},"
            f"{LEADERBOARD_CAP}),0)" for c in range(kpi_first_col, kpi_last_col + 1))
        formula_cell(ws, r, 6, f'=IF(COUNT({span})=0,"",({capped})/COUNT({span}))', ATTAINMENT)
        formula_cell(ws, r, 7, f"=COUNT({span})", "0")
        all_e = f"${e_col}${first}:${e_col}${last}"
        formula_cell(ws, r, 1,
                 f"=IF(ISNUMBER({e_col}{r}),RANK({e_col}{r},{all_e},0)"
                 f"+COUNTIF(${e_col}${helper}:{e_col}{r - 1},{e_col}{r}),"
                 f"COUNT({all_e})+ROWS(${e_col}${first}:{e_col}{r})"
                 f"-COUNT(${e_col}${first}:{e_col}{r}))", "0", GREY)
        for col in range(2, len(headers) + 1):
            if formats[col - 1]:
                ws.cell(r, col).number_format = formats[col - 1]
    # The ranked table.
    order = f"$A${first}:$A${last}"
    for position in range(1, n + 1):
        r = LEADERBOARD_FIRST_ROW + position - 1
        for col in range(2, len(headers) + 1):
            letter = get_column_letter(col)
            formula_cell(ws, r, col, f'=IFERROR(INDEX(${letter}${first}:${letter}${last},'
                                 f'MATCH({position},{order},0)),"")', formats[col - 1])
        all_e = f"${e_col}${first}:${e_col}${last}"
        formula_cell(ws, r, 1, f'=IF(ISNUMBER({e_col}{r}),RANK({e_col}{r},{all_e},0),"")', "0",
                 BOLD)
        ws.cell(r, 2).font = BOLD
    if n:
        end = LEADERBOARD_FIRST_ROW + n - 1
        for ref, top in ((f"E{LEADERBOARD_FIRST_ROW}:F{end}", f"E{LEADERBOARD_FIRST_ROW}"),
                         (f"{get_column_letter(kpi_first_col)}{LEADERBOARD_FIRST_ROW}:"
                          f"{get_column_letter(kpi_last_col)}{end}",
                          f"{get_column_letter(kpi_first_col)}{LEADERBOARD_FIRST_ROW}")):
            red_amber_green(ws, ref, "TRUE", top)
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
        chart.anchor = chart_anchor(1, end + 1, 6, end + 1 + leaderboard_helper_row(n) - end - 5)
        ws.add_chart(chart)
    ws.freeze_panes = ws.cell(LEADERBOARD_FIRST_ROW, 3)
    ws.column_dimensions["A"].width = 7
    ws.column_dimensions["B"].width = 24
    for col in range(3, len(headers) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 13
    print_setup(ws, f"A1:{get_column_letter(len(headers))}{helper - 2}", None)

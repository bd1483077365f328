"""The Start sheet: what each tab is, the KPIs and how to read, refresh and extend the tracker."""

from __future__ import annotations

from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core.kpis import KPIS
from xlkpi.tracker.cells import header_row, print_setup, text_cell
from xlkpi.tracker.model import (
    CHANNELS,
    DATA_COLUMNS,
    DATA_SHEETS,
    LEADERBOARD,
    OPPORTUNITIES,
    SETTINGS,
    START,
    TARGETS,
    TEAM,
    Settings,
)
from xlkpi.tracker.styles import BOLD, GREY, SECTION_FONT, TITLE, WRAP

_BETTER = {"up": "higher", "down": "lower", "growth": "higher"}
_YTD_RULES = {"sum": "sum of the months", "mean": "mean of the months",
              "compound": "compounded", "compound loss": "1 − Π(1 − monthly churn)"}


def write_start(ws: Worksheet, settings: Settings, titles: dict[str, str]) -> None:
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 13
    ws.column_dimensions["C"].width = 10
    ws.column_dimensions["D"].width = 62
    ws.column_dimensions["E"].width = 27
    ws.column_dimensions["F"].width = 20
    row = 1
    text_cell(ws, row, 1, "Sales KPI tracker", TITLE)
    row += 1
    text_cell(ws, row, 1, "Goal vs actual for the team and each rep, month by month and year to "
                      "date. Every number is an ordinary formula: it computes in Excel, "
                      "LibreOffice Calc and Google Sheets with no add-in.", GREY)
    row += 2

    def section(title: str) -> None:
        nonlocal row
        text_cell(ws, row, 1, title, SECTION_FONT)
        row += 1

    def line(label: str, text: str) -> None:
        nonlocal row
        text_cell(ws, row, 1, label, BOLD)
        cell = text_cell(ws, row, 2, text)
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=6)
        cell.alignment = WRAP
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
               "months and the year to date (months after Settings' date show no actual yet), "
               "then this month's pacing: expected to date, projected month end and pace, "
               "and charts.")
    line("Rep tabs", f"Generated, one per rep in Settings ({rep_tabs}): the same for the rows "
                     "whose Owner is that rep (spend-based KPIs are team only).")
    line(LEADERBOARD, "Generated: reps ranked by year-to-date attainment of won revenue; also "
                      "the average attainment over all KPIs, each capped at 150 %.")
    line(CHANNELS, "Generated: per channel (Spend's Channel = Leads' Source) and month: "
                   "spend, leads, cost per lead, SQLs and lead-to-SQL rate. New channels "
                   "appear after `xlkpi refresh`.")
    for name in DATA_SHEETS:
        columns = ", ".join(DATA_COLUMNS[name])
        if name == OPPORTUNITIES:
            columns += " (+ StageClass: Won, Lost or Open, computed from Stage)"
        line(name, f"Paste your CRM export here: {columns}. Add your own columns to the right.")
    row += 1

    section("The KPIs")
    header_row(ws, row, ["KPI", "Better when", "Tabs", "Definition (over the rows in the period)",
                      "Excel function (add-in)", "Year-to-date target"])
    row += 1
    for kpi in KPIS:
        text_cell(ws, row, 1, kpi.name, BOLD)
        text_cell(ws, row, 2, _BETTER[kpi.direction])
        text_cell(ws, row, 3, "Team" if kpi.team_only else "Team, reps")
        cell = text_cell(ws, row, 4, kpi.definition)
        cell.alignment = WRAP
        text_cell(ws, row, 5, kpi.function)
        text_cell(ws, row, 6, _YTD_RULES[kpi.ytd_target])
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
                       "is no actual. A lower-is-better KPI with an actual of 0 counts as met. "
                       "Revenue growth swings around zero, so its attainment is (1 + actual) "
                       "÷ (1 + target): the revenue reached against the revenue the planned "
                       "growth implied (−8.7 % against +5 % is 87 %); blank when the target "
                       "is −100 % or less.")
    line("Colours", "Green: attainment ≥ 100 %. Amber: 80 % to 99.9 %. Red: below 80 %.")
    line("Ratios", "Team figures pool the rows (Σ won ÷ Σ closed), never average the reps. A "
                   "ratio whose denominator is 0 is left blank.")
    line("Stages", "Won, Closed Won, Успешно реализовано → won; Lost, Closed Lost, Закрыто и "
                   "не реализовано → lost; anything else is open (case, spaces, no-break "
                   "spaces, tabs, line breaks, '-' and '_' do not matter).")
    line("Customers", "A customer is active on day d when StartDate ≤ d and EndDate is blank "
                      "or after d. Retention = customers active on the period's first day who "
                      "are still active on its last ÷ those active on the first day.")
    line("YTD targets", "Counts and amounts add up the monthly targets; rates, the average "
                        "deal size and the sales cycle average them; retention multiplies "
                        "them, churn compounds: 1 − Π(1 − monthly churn). Blank months are "
                        "left out. `xlkpi report --period 2026-Q4` does the same over a "
                        "fiscal quarter's months.")
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
                          "tabs, Leaderboard and Channels, adds Targets rows for new reps, "
                          "groups the data rows by Owner and keeps everything you typed: "
                          "Settings, every Targets cell, every data row, your columns and your "
                          "own sheets. The previous file is kept as a backup.")
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
    print_setup(ws, f"A1:F{row}", None)
    ws.page_setup.orientation = "portrait"

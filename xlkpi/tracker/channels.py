"""The Channels sheet: per channel (Spend's Channel = Leads' Source) and month, spend, leads,
cost per lead, SQLs and lead-to-SQL rate: the catalogue's definitions restricted to the rows of
one channel. The channels are those found in the data when the sheet is generated (`xlkpi
refresh` brings them up to date), plus "(no channel)" for rows with a blank one.

On the sheet, cost per lead and lead-to-SQL rate divide by the channel's Spend and Leads cells
above them (Measure.on_sheet) instead of counting the rows again. Leads, the long sheet, is
counted once per month end from the first row on ("running" counts, in hidden columns R:AD of
the measure's row: R before the year's first day, S..AD through each month's last day), and a
month is the difference of two running counts: a COUNTIFS with one date criterion instead of
two, which makes a recalculation compare about a third fewer cells (issue 10: LibreOffice at
250,000 rows). The numbers are the same: the months follow one another without a gap."""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.core.cells import owner_key
from xlkpi.core.kpis import KPI_BY_ID
from xlkpi.core.recipes import Actual, Count, Ratio, Term, Total
from xlkpi.tracker.cells import absolute, formula_cell, header_row, print_setup, text_cell
from xlkpi.tracker.formulas import (
    ActualFormulas,
    month_window,
    owner_criterion,
    running_window,
    ytd_window,
)
from xlkpi.tracker.model import (
    CHANNELS,
    LEADS,
    S_FIRST_DAY,
    S_MONTHS_TO_DATE,
    SPEND,
    TAB_CRITERION_COL,
    TAB_FIRST_MONTH_COL,
    TAB_FIRST_ROW,
    TAB_HEADER_ROW,
    TAB_THROUGH_ROW,
    TAB_YTD_COL,
    Tracker,
    cells_at,
    title,
)
from xlkpi.tracker.styles import (
    ACTUAL_FONT,
    BLOCK_TOP,
    BOLD,
    GREY,
    GREY_SMALL,
    HEADER_FILL,
    HEADER_FONT,
    RIGHT,
    TITLE,
    day_format,
    month_format,
    number_format,
    style,
)

NO_CHANNEL = "(no channel)"
# The column naming a row's channel on each sheet that has one.
CHANNEL_COLUMNS = {SPEND: "Channel", LEADS: "Source"}
# What each channel shows: label, recipe (the catalogue's, restricted to the channel's rows),
# and the KPI whose number format it takes.
_SPEND_TERM = Total(SPEND, "Spend", "SpendDate")
_LEADS_TERM = Count(LEADS, "LeadDate")


@dataclass(frozen=True)
class Measure:
    label: str  # English; shown() gives it in the language in force
    recipe: Term
    format_of: str  # the KPI whose number format and unit the measure has
    shown_as: str  # "currency", "count" or "ratio": how `report --by channel` prints it
    key: str = ""  # its text in the language files: channels.<key>
    # What the sheet's cells render instead of ``recipe``: the same definition, with
    # Actual(<key of an earlier measure>) standing for that measure's cell in the same column
    # and Actual(RUNNING) for the period's count out of the row's running counts.
    on_sheet: Term | None = None
    running: Count | None = None  # counted from the first row to each month end (hidden)

    def shown(self) -> str:
        return lang.text(f"channels.{self.key}")


RUNNING = "running"
RUNNING_FIRST_COL = TAB_CRITERION_COL + 2  # R: before the year; S..AD: through each month
_SPEND_CELL, _LEADS_CELL, _RUNNING = Actual("spend"), Actual("leads"), Actual(RUNNING)
_SQL_LEADS = Count(LEADS, "LeadDate", filled="SQLDate")  # the leads that became SQLs
MEASURES = (
    Measure("Spend", _SPEND_TERM, "won_revenue", "currency", "spend"),
    Measure("Leads", _LEADS_TERM, "sql_count", "count", "leads", _RUNNING, _LEADS_TERM),
    Measure("Cost per lead", KPI_BY_ID["cost_per_lead"].recipe, "cost_per_lead", "currency",
            "cost_per_lead", Ratio(_SPEND_CELL, _LEADS_CELL)),
    Measure("SQLs", KPI_BY_ID["sql_count"].recipe, "sql_count", "count", "sqls", _RUNNING,
            KPI_BY_ID["sql_count"].recipe),
    Measure("Lead-to-SQL rate", KPI_BY_ID["lead_to_sql_rate"].recipe, "lead_to_sql_rate",
            "ratio", "lead_to_sql_rate", Ratio(_RUNNING, _LEADS_CELL), _SQL_LEADS),
)


def channel_names(tracker: Tracker) -> list[str | None]:
    """The channels of the data, each once (compared as COUNTIFS compares: without regard to
    case) and spelt as the first of its spellings in code-point order, sorted without regard
    to case; None last, for "(no channel)", when a Spend or Leads row has a blank one."""
    found: dict[str | None, str | None] = {}
    seen: set[tuple[type, object]] = set()  # each distinct cell looked at once
    for sheet, column in CHANNEL_COLUMNS.items():
        for value in _column_values(tracker.data.get(sheet), column):
            if (type(value), value) in seen:
                continue
            seen.add((type(value), value))
            key = owner_key(value)
            spelling = key if key is None or isinstance(value, int | float) else str(value)
            # the same spelling whatever the rows' order (refresh regroups them)
            if key not in found or (spelling is not None and spelling < found[key]):
                found[key] = spelling
    named = sorted((name for key, name in found.items() if key is not None), key=str.casefold)
    return [*named, *([None] if None in found else [])]


def _column_values(data, column: str) -> list:
    """The cells of ``column`` in the rows of ``data`` (a DataSheet); a large sheet whose rows
    are not read yet gives the one column alone (reader: ``column``), much faster."""
    if data is None:
        return []
    read_alone = getattr(data, "column", None)
    values = read_alone(column) if read_alone is not None else None
    if values is not None:
        return values
    if not data.rows:
        return []
    header = [str(name).strip().casefold() for name in data.header]
    if column.casefold() not in header:
        return []
    index = header.index(column.casefold())
    return cells_at(data.rows, index)


def write_channels(ws: Worksheet, tracker: Tracker, letters, currency: object,
                   channels: list[str | None] | None = None) -> None:
    """The Channels sheet: one block of MEASURES rows per channel, twelve months and the year
    to date, as the Team tab lays them out (``channels``: channel_names(tracker), if known)."""
    text_cell(ws, 1, 1, lang.text("channels.title"), TITLE)
    text_cell(ws, 3, 1, lang.text("channels.note"), GREY_SMALL)
    header_row(ws, TAB_HEADER_ROW, [lang.text("channels.channel"), lang.text("channels.measure")])
    for index in range(12):
        col = TAB_FIRST_MONTH_COL + index
        first = (f"={S_FIRST_DAY}" if index == 0 else
                 f"=EOMONTH({get_column_letter(col - 1)}{TAB_HEADER_ROW},0)+1")
        style(formula_cell(ws, TAB_HEADER_ROW, col, first, month_format(), HEADER_FONT),
              fill=HEADER_FILL, alignment=RIGHT)
        style(formula_cell(ws, TAB_THROUGH_ROW, col,
                           f"=EOMONTH({get_column_letter(col)}{TAB_HEADER_ROW},0)", day_format(),
                           GREY_SMALL), alignment=RIGHT)
    style(text_cell(ws, TAB_HEADER_ROW, TAB_YTD_COL, lang.text("tabs.ytd"), HEADER_FONT,
                    fill=HEADER_FILL), alignment=RIGHT)
    first_letter = get_column_letter(TAB_FIRST_MONTH_COL)
    style(formula_cell(ws, TAB_THROUGH_ROW, TAB_YTD_COL,
                       f"=EOMONTH(${first_letter}${TAB_HEADER_ROW},{S_MONTHS_TO_DATE}-1)",
                       day_format(), GREY_SMALL), alignment=RIGHT)
    text_cell(ws, TAB_THROUGH_ROW, 2, lang.text("tabs.through"), GREY_SMALL)
    windows = {TAB_FIRST_MONTH_COL + i: month_window(TAB_FIRST_MONTH_COL + i) for i in range(12)}
    windows[TAB_YTD_COL] = ytd_window()
    row = TAB_FIRST_ROW
    channels = channel_names(tracker) if channels is None else channels
    if not channels:
        text_cell(ws, row, 1, lang.text("channels.none_yet"), GREY)
    for channel in channels:
        # the channel's criterion, hidden in P of its first row: "=" alone matches blank cells
        criterion_text = "=" if channel is None else owner_criterion(channel)
        text_cell(ws, row, TAB_CRITERION_COL, criterion_text)
        criterion = absolute(TAB_CRITERION_COL, row)
        actuals = ActualFormulas(letters, None, filters={
            sheet: (column, criterion) for sheet, column in CHANNEL_COLUMNS.items()})
        for offset, measure in enumerate(MEASURES):
            r = row + offset
            text_cell(ws, r, 1, lang.text("channels.no_channel") if channel is None else channel,
                      BOLD if offset == 0 else GREY)
            text_cell(ws, r, 2, measure.shown())
            fmt = number_format(KPI_BY_ID[measure.format_of], currency)
            term = measure.on_sheet or measure.recipe
            if measure.running is not None:
                _write_running(ws, r, measure.running, actuals)
            for col, window in windows.items():
                letter = get_column_letter(col)
                here = {m.key: f"{letter}{row + i}" for i, m in enumerate(MEASURES[:offset])}
                running = _period_of_running(r, col)
                here[RUNNING] = f"({running})"  # an operand of the row's ratio
                text = ("=" + running if term == _RUNNING
                        else actuals.formula(term, window, here, {}))
                formula_cell(ws, r, col, text, fmt, ACTUAL_FONT if offset == 0 else None)
        for col in range(1, TAB_YTD_COL + 1):
            style(ws.cell(row, col), border=BLOCK_TOP)
        row += len(MEASURES)
    ws.freeze_panes = ws.cell(TAB_FIRST_ROW, TAB_FIRST_MONTH_COL)
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = max(16, max(len(m.shown()) for m in MEASURES) + 2)
    for col in range(TAB_FIRST_MONTH_COL, TAB_YTD_COL):
        ws.column_dimensions[get_column_letter(col)].width = 10.5
    ws.column_dimensions[get_column_letter(TAB_YTD_COL)].width = 13
    ws.column_dimensions[get_column_letter(TAB_CRITERION_COL)].hidden = True
    for col in range(RUNNING_FIRST_COL, RUNNING_FIRST_COL + 13):
        ws.column_dimensions[get_column_letter(col)].hidden = True
    print_setup(ws, f"A1:{get_column_letter(TAB_YTD_COL)}{max(row - 1, TAB_FIRST_ROW)}",
                f"{TAB_HEADER_ROW}:{TAB_THROUGH_ROW}")
    ws.sheet_properties.tabColor = "548235"
    assert ws.title == title(CHANNELS)


def _write_running(ws: Worksheet, row: int, term: Count, actuals: ActualFormulas) -> None:
    """The hidden running counts of ``term`` on ``row``: before the year's first day (R), then
    through the last day of each month (S..AD)."""
    first_day = absolute(TAB_FIRST_MONTH_COL, TAB_HEADER_ROW)
    formula_cell(ws, row, RUNNING_FIRST_COL,
                 actuals.formula(term, running_window(first_day), {}, {}), "0")
    for index in range(12):
        through = f"{get_column_letter(TAB_FIRST_MONTH_COL + index)}${TAB_THROUGH_ROW}"
        formula_cell(ws, row, RUNNING_FIRST_COL + 1 + index,
                     actuals.formula(term, running_window(f"({through}+1)"), {}, {}), "0")


def _period_of_running(row: int, col: int) -> str:
    """The count of a month column (or of the year to date, in the YTD column) out of the
    running counts of ``row``: through this month less through the month before; over the
    year to date, the months whose first day is on or before the YTD through date, added up
    (none: 0)."""
    before = get_column_letter(RUNNING_FIRST_COL)
    through = get_column_letter(RUNNING_FIRST_COL + 12)
    if col == TAB_YTD_COL:
        months = (f"{get_column_letter(TAB_FIRST_MONTH_COL)}${TAB_HEADER_ROW}:"
                  f"{get_column_letter(TAB_YTD_COL - 1)}${TAB_HEADER_ROW}")
        ytd_through = f"{get_column_letter(TAB_YTD_COL)}${TAB_THROUGH_ROW}"
        first = get_column_letter(RUNNING_FIRST_COL + 1)
        last_but_one = get_column_letter(RUNNING_FIRST_COL + 11)
        return (f"SUMPRODUCT(({months}<={ytd_through})*"
                f"({first}{row}:{through}{row}-{before}{row}:{last_but_one}{row}))")
    month = col - TAB_FIRST_MONTH_COL
    return (f"{get_column_letter(RUNNING_FIRST_COL + 1 + month)}{row}-"
            f"{get_column_letter(RUNNING_FIRST_COL + month)}{row}")


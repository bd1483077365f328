"""Charts (target vs actual by month, KPIs of one scale together; the Leaderboard's bars) and
printing a generated tab as one landscape page.

Every value axis starts at 0. A chart with no numbers yet would let the app pick a scale of
0 to 1 and print it as "$1, $1, $0" or 1200 %: each chart has an invisible "scale" series, a
few hidden cells that hold a sensible top (10 deals, 10,000 of money, 30 days, 10 % for a small
rate) while the KPIs it shows are all zero or blank, and 0 (which moves no axis starting at 0)
as soon as one is not, so real data set the scale. Rates have a fixed 0-100 % axis, but those
that sit at a few per cent (SMALL_RATES).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.legend import LegendEntry
from openpyxl.chart.series import SeriesLabel
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.line import LineProperties
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.drawing.text import (
    CharacterProperties,
    Paragraph,
    ParagraphProperties,
    RegularTextRun,
)
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.core.kpis import KPI_BY_ID, Kpi
from xlkpi.tracker.cells import formula_cell, quote_title
from xlkpi.tracker.styles import currency_format, month_format

# The dashboard's charts, each over KPIs a manager reads on one value axis: of one unit *and* of
# one magnitude. Won revenue and the average deal, cost per lead and per customer, e-mails
# delivered and positive replies are charted apart: on a shared axis the small one is a flat line
# at 0 (a second axis would make the reader work out which line reads on which side). A chart of
# one KPI is titled with its name; of several, with charts.<key>. Revenue growth is a rate of
# change that can be negative: it stays in the tables.
DASHBOARD_CHARTS: dict[str, tuple[str, ...]] = {
    "won_revenue": ("won_revenue",),
    "average_deal_size": ("average_deal_size",),
    "volume": ("sql_count", "new_opportunities", "deals_won"),
    "rates": ("close_rate", "lead_to_sql_rate", "email_open_rate"),
    "cost_per_lead": ("cost_per_lead",),
    "customer_acquisition_cost": ("customer_acquisition_cost",),
    "emails_delivered": ("emails_delivered",),
    "positive_replies": ("positive_replies",),
    "email_reply_rate": ("email_reply_rate",),
    "retention_rate": ("retention_rate",),
    "churn_rate": ("churn_rate",),
    "sales_cycle_days": ("sales_cycle_days",),
}
# Rates read against 100 % have a fixed 0-100 % axis; these sit at a few per cent, where a
# 0-100 % axis shows them flat: their axis runs from 0 to what the data need (0-10 % when empty).
SMALL_RATES = frozenset({"email_reply_rate", "churn_rate"})
# The top of an empty chart's scale, by unit (rates but the small ones have a fixed axis).
EMPTY_TOP = {"count": 10, "currency": 10000, "days": 30, "ratio": 0.1}
COLOURS = ("1F3864", "C9A227", "70AD47", "ED7D31")


@dataclass(frozen=True)
class MonthRows:
    """Where a KPI's twelve Target and Actual cells are: a sheet, its first month column, and the
    two rows."""

    sheet: str
    first_col: int
    target: int
    actual: int


def month_chart(ws: Worksheet, title: str, kpis: Sequence[Kpi], places: dict[str, MonthRows],
                categories: Reference, currency: object, scale_cells: tuple[int, int] | None,
                anchor: TwoCellAnchor) -> BarChart:
    """Actual (columns) and target (dashed line) per month for ``kpis`` (one unit), drawn at
    ``anchor``. ``scale_cells`` (row, first col) on ``ws``: where the hidden scale series' twelve
    cells go (not needed for ratios, whose axis is fixed at 0-100 %)."""
    unit = kpis[0].unit
    full_scale = unit == "ratio" and not any(kpi.id in SMALL_RATES for kpi in kpis)
    bar = BarChart()
    bar.type = "col"
    bar.style = 10
    several = len(kpis) > 1
    # several KPIs: the legend names the bars (a line per KPI and its target would take half
    # the chart's height); the targets, dashed in their KPI's colour, are named under the title
    bar.title = chart_title(title, note=lang.text("charts.targets_dashed") if several else None)
    if several:
        bar.legend.legendEntry = [LegendEntry(idx=len(kpis) + index, delete=True)
                                  for index in range(len(kpis))]
    line = LineChart()
    for index, kpi in enumerate(kpis):
        place = places[kpi.id]
        source = places[kpi.id].sheet
        sheet = ws.parent[source] if source in ws.parent.sheetnames else ws
        colour = COLOURS[index % len(COLOURS)]
        name = lang.active().kpi_name(kpi.id)
        actual = Reference(sheet, min_col=place.first_col, max_col=place.first_col + 11,
                           min_row=place.actual)
        bar.add_data(actual, from_rows=True, titles_from_data=False)
        bar.series[-1].tx = SeriesLabel(v=name)
        bar.series[-1].graphicalProperties = GraphicalProperties(solidFill=colour)
        target = Reference(sheet, min_col=place.first_col, max_col=place.first_col + 11,
                           min_row=place.target)
        line.add_data(target, from_rows=True, titles_from_data=False)
        line.series[-1].tx = SeriesLabel(v=lang.text("charts.target_of", kpi=name))
        line.series[-1].graphicalProperties = GraphicalProperties(
            ln=LineProperties(solidFill=colour, prstDash="dash", w=22000))
    if not full_scale and scale_cells is not None:
        row, col = scale_cells
        watched = ",".join(
            f"{quote_title(places[k.id].sheet)}!{_span(places[k.id], r)}"
            for k in kpis for r in (places[k.id].target, places[k.id].actual))
        for offset in range(12):
            formula_cell(ws, row, col + offset,
                         f"=IF(MAX({watched})>0,0,{EMPTY_TOP[unit]})")
        line.add_data(Reference(ws, min_col=col, max_col=col + 11, min_row=row), from_rows=True,
                      titles_from_data=False)
        keeper = line.series[-1]
        keeper.tx = SeriesLabel(v=" ")
        keeper.graphicalProperties = GraphicalProperties(ln=LineProperties(noFill=True))
        keeper.marker.symbol = "none"
        bar.legend.legendEntry.append(LegendEntry(idx=2 * len(kpis), delete=True))
    for series in line.series:
        series.smooth = False
    bar.set_categories(categories)
    line.set_categories(categories)
    axis_format = {"currency": currency_format(currency), "ratio": "0.0%"}.get(unit, "#,##0")
    value_axis(bar, axis_format, ratio=full_scale)
    bar.x_axis.number_format = month_format().replace(" yyyy", "")  # the month's name
    bar.x_axis.delete = False
    # small labels: twelve month names beside a money axis ("500,000 ₽") in a narrow chart
    bar.x_axis.txPr = bar.y_axis.txPr = small_text()
    bar.legend.position = "b"
    bar.visible_cells_only = False  # the scale cells are in hidden columns
    bar += line
    bar.anchor = anchor
    ws.add_chart(bar)
    return bar


def chart_title(text: str, size: int = 1100, note: str | None = None) -> Title:
    """A chart title in a modest bold font (the apps' default is large for a small chart);
    ``note``: a second line in a small plain font."""
    font = CharacterProperties(sz=size, b=True)
    paragraphs = [Paragraph(pPr=ParagraphProperties(defRPr=font),
                            r=[RegularTextRun(rPr=font, t=text)])]
    if note:
        small = CharacterProperties(sz=size - 200, b=False)
        paragraphs.append(Paragraph(pPr=ParagraphProperties(defRPr=small),
                                    r=[RegularTextRun(rPr=small, t=note)]))
    return Title(tx=Text(rich=RichText(p=paragraphs)), overlay=False)


def small_text(size: int = 800) -> RichText:
    """Axis labels in a ``size`` (hundredths of a point) font."""
    font = CharacterProperties(sz=size)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=font), endParaRPr=font)])


def value_axis(chart: BarChart, fmt: str, ratio: bool = False) -> None:
    """A value axis from 0 with the KPI's number format; 0-100 % for a rate."""
    chart.y_axis.scaling.min = 0
    if ratio:
        chart.y_axis.scaling.max = 1
        chart.y_axis.majorUnit = 0.2
        fmt = "0%"
    chart.y_axis.numFmt = fmt
    chart.y_axis.majorGridlines = None
    chart.y_axis.delete = False


def _span(place: MonthRows, row: int) -> str:
    first, last = get_column_letter(place.first_col), get_column_letter(place.first_col + 11)
    return f"${first}${row}:${last}${row}"


def chart_kpis(key: str) -> list[Kpi]:
    """The KPIs of the dashboard chart ``key``."""
    return [KPI_BY_ID[kpi_id] for kpi_id in DASHBOARD_CHARTS[key]]


def chart_title_of(key: str) -> str:
    """The title of the dashboard chart ``key``: its KPI's name, or charts.<key> for several."""
    kpi_ids = DASHBOARD_CHARTS[key]
    return lang.active().kpi_name(kpi_ids[0]) if len(kpi_ids) == 1 else lang.text(f"charts.{key}")


def chart_anchor(first_col: int, first_row: int, end_col: int, end_row: int) -> TwoCellAnchor:
    """A drawing from the top-left of (first_col, first_row) to the top-left of (end_col,
    end_row), zero-based; a small gap on the left unless it starts in column A."""
    gap = 0 if first_col == 0 else 90000  # EMU, about 2.5 mm
    return TwoCellAnchor(_from=AnchorMarker(col=first_col, colOff=gap, row=first_row),
                         to=AnchorMarker(col=end_col, row=end_row))


def print_one_page(ws: Worksheet, area: str) -> None:
    """Print ``area`` as one landscape page with small margins."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_area = area
    ws.print_title_rows = None
    ws.print_options.gridLines = False
    ws.print_options.horizontalCentered = True
    margins = ws.page_margins
    margins.left = margins.right = 0.3
    margins.top = margins.bottom = 0.4
    margins.header = margins.footer = 0.2
    ws.row_breaks.brk = []

"""The three places a number appears agree: the tracker's formulas (recalculated by
LibreOffice and by Gnumeric), ``xlkpi report --format json`` (the Python engine over the data
rows) and the Excel functions of xlkpi.udfs (called as classic xlwings calls them: 2-D lists
of cell values).

A demo tracker is built with ``xlkpi new --demo`` and a fixed as-of date, so that the year to
date is the same on any day. No number -> a blank cell -> null in JSON -> "#DIV/0!" from a
function.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tests.conftest import require
from xlkpi import udfs
from xlkpi.cli import cli
from xlkpi.core.kpis import KPI_BY_ID, KPIS
from xlkpi.tracker import build as workbook
from xlkpi.tracker import model as layout

from . import gnumeric, libreoffice

# Each engine recalculates each demo once: `--dist loadfile` (addopts) runs the module on one
# worker, so its module-scoped fixtures are built once.
pytestmark = pytest.mark.libreoffice


def gnumeric_recalculate(path: Path, out_dir: Path) -> Path:
    """Gnumeric's numbers for the demo, its whole columns ($C:$C) bounded to the rows in use:
    the same cells and formulas, a minute less of Gnumeric scanning a million empty rows per
    column. test_one_truth has Gnumeric recalculate the whole-column formulas as written."""
    return gnumeric.recalculate(gnumeric.bound_whole_columns(path, out_dir / "bounded" / path.name),
                                out_dir)


# The engines that recalculate the workbook: every number must be the same in each.
ENGINES = {"libreoffice": libreoffice.recalculate, "gnumeric": gnumeric_recalculate}

REL = 1e-9


@dataclass(frozen=True)
class Config:
    id: str
    year: int
    fiscal_start: int
    as_of: str
    ytd_period: object  # what the functions take for the YTD column, or None if no period is


CONFIGS = [
    # as of December: the year to date is the whole calendar year, which the functions take as
    # the period 2025
    Config("calendar-full-year", 2025, 1, "2025-12-31", 2025),
    # fiscal year from April, as of mid-October: YTD is April-October (7 months), which no
    # single period of the functions covers; months cross into the next calendar year
    Config("april-mid-year", 2025, 4, "2025-10-15", None),
]


@dataclass
class Built:
    config: Config
    path: Path
    recalculated: Path
    report: dict[tuple[str, str, str], dict]
    reps: list[str]
    months: list[str]


def run(*args) -> str:
    result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module", params=CONFIGS, ids=lambda config: config.id)
def demo(request, tmp_path_factory) -> tuple[Config, Path]:
    config = request.param
    folder = tmp_path_factory.mktemp(config.id)
    path = folder / "tracker.xlsx"
    run("new", path, "--demo", "--year", config.year, "--fiscal-start", config.fiscal_start,
        "--as-of", config.as_of)
    return config, path


@pytest.fixture(scope="module", params=list(ENGINES))
def built(request, demo) -> Built:
    config, path = demo
    engine = request.param
    if engine == "gnumeric":
        require("ssconvert", "Gnumeric")
    recalculated = ENGINES[engine](path, path.parent / f"recalculated-{engine}")
    rows = json.loads(run("report", path, "--period", "all", "--format", "json"))
    report = {(row["rep"], row["kpi"], row["period"]): row for row in rows}
    settings = layout.Settings(config.year, config.fiscal_start)
    months = [period.label for period in settings.month_periods()]
    reps = list(dict.fromkeys(row["rep"] for row in rows if row["rep"] != "Team"))
    return Built(config, path, recalculated, report, reps, months)


def same(expected, got) -> bool:
    """A number within 1e-9 relative; no number on one side is no number on the other."""
    if expected is None:
        return got is None or got == "" or got == udfs.DIV0
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return math.isclose(got, expected, rel_tol=REL, abs_tol=1e-12)


def tab_cells(built: Built):
    """(who, kpi id, period, row kind, cached value) of every Target, Actual and Attainment
    cell on the Team and rep tabs of the recalculated workbook."""
    wb = openpyxl.load_workbook(built.recalculated, data_only=True, read_only=True)
    titles = {"Team": layout.TEAM, **workbook.rep_sheet_names(built.reps)}
    by_name = {kpi.name: kpi for kpi in KPIS}
    periods = [*built.months, "YTD"]
    for who, title in titles.items():
        rows = wb[title].iter_rows(min_row=layout.TAB_FIRST_ROW, max_col=layout.TAB_YTD_COL,
                                   values_only=True)
        for row in rows:
            if row[0] is None or row[1] not in layout.ROW_KINDS:
                continue
            kpi = by_name[row[0]]
            cells = row[layout.TAB_FIRST_MONTH_COL - 1:layout.TAB_YTD_COL]
            for period, value in zip(periods, cells, strict=True):
                yield who, kpi.id, period, row[1], value
    wb.close()


def test_every_actual_cell_equals_the_report(built):
    checked, wrong = 0, []
    for who, kpi, period, kind, value in tab_cells(built):
        if kind != "Actual":
            continue
        expected = built.report[who, kpi, period]["actual"]
        checked += 1
        if not same(expected, value):
            wrong.append((who, kpi, period, value, expected))
    # every KPI for the team, the non-team-only ones for each rep; 12 months and YTD
    assert checked == (len(KPIS) + len(built.reps) * len(layout.REP_KPIS)) * 13
    assert not wrong, wrong[:20]


def test_every_target_and_attainment_cell_equals_the_report(built):
    wrong = []
    for who, kpi, period, kind, value in tab_cells(built):
        if kind == "Actual":
            continue
        expected = built.report[who, kpi, period][kind.lower()]
        if not same(expected, value):
            wrong.append((who, kpi, period, kind, value, expected))
    assert not wrong, wrong[:20]


def test_the_year_to_date_is_fixed_by_as_of(built):
    as_of = dt.date.fromisoformat(built.config.as_of)
    settings = layout.Settings(built.config.year, built.config.fiscal_start, as_of=as_of)
    months = settings.months_to_date(dt.date(2000, 1, 1))
    team = built.report["Team", "deals_won", "YTD"]["actual"]
    assert team == sum(built.report["Team", "deals_won", month]["actual"]
                       for month in built.months[:months])


# --- the Excel functions, called as classic xlwings calls them --------------------------------

def columns(path: Path) -> dict[str, dict[str, list[list[object]]]]:
    """Sheet -> header -> the column's data rows as a 2-D list ([[v], [v], ...]), the values
    as openpyxl reads them (datetime for dates, None for blanks): what classic xlwings passes
    for a range such as Opportunities[Stage]."""
    wb = openpyxl.load_workbook(path, read_only=True)
    out = {}
    for name in layout.DATA_SHEETS:
        rows = list(wb[name].iter_rows(values_only=True))
        header = list(rows[0])
        out[name] = {column: [[row[header.index(column)]] for row in rows[1:]]
                     for column in layout.DATA_COLUMNS[name]}
    wb.close()
    return out


def function_call(kpi_id: str, data, period, owner: str | None):
    """The Excel function of the KPI over the tracker's data columns."""
    leads, spend = data[layout.LEADS], data[layout.SPEND]
    opps, mails, customers = (data[layout.OPPORTUNITIES], data[layout.EMAILS],
                              data[layout.CUSTOMERS])
    function = getattr(udfs, kpi_id)

    def owned(sheet):
        return {"owners": sheet["Owner"], "owner": owner} if owner else {}

    if kpi_id == "cost_per_lead":
        return function(spend["Spend"], spend["SpendDate"], leads["LeadDate"], period)
    if kpi_id == "customer_acquisition_cost":
        return function(spend["Spend"], spend["SpendDate"], opps["Stage"], opps["CloseDate"],
                        period)
    if kpi_id == "sql_count":
        return function(leads["SQLDate"], period, **owned(leads))
    if kpi_id in ("close_rate", "deals_won"):
        return function(opps["Stage"], opps["CloseDate"], period, **owned(opps))
    if kpi_id in ("won_revenue", "revenue_growth"):
        return function(opps["Amount"], opps["Stage"], opps["CloseDate"], period, **owned(opps))
    if kpi_id == "new_opportunities":
        return function(opps["CreatedDate"], period, **owned(opps))
    if kpi_id == "lead_to_sql_rate":
        return function(leads["LeadDate"], leads["SQLDate"], period, **owned(leads))
    if kpi_id == "average_deal_size":
        return function(opps["Amount"], opps["Stage"], opps["CloseDate"], period, **owned(opps))
    if kpi_id == "sales_cycle_days":
        return function(opps["CreatedDate"], opps["Stage"], opps["CloseDate"], period,
                        **owned(opps))
    if kpi_id in ("retention_rate", "churn_rate"):
        return function(customers["StartDate"], customers["EndDate"], period,
                        **owned(customers))
    if kpi_id == "emails_delivered":
        return function(mails["Sent"], mails["Bounced"], mails["SendDate"], period,
                        **owned(mails))
    if kpi_id == "positive_replies":
        return function(mails["Positive"], mails["SendDate"], period, **owned(mails))
    if kpi_id in ("email_open_rate", "email_reply_rate"):
        value = mails["Opened"] if kpi_id == "email_open_rate" else mails["Replied"]
        return function(value, mails["Sent"], mails["Bounced"], mails["SendDate"], period,
                        **owned(mails))
    raise AssertionError(kpi_id)


def test_every_function_equals_the_report(built):
    data = columns(built.path)
    # months after the as-of date have no actual in the report (nor on the tabs) yet
    periods = [month for month in built.months if month <= built.config.as_of[:7]]
    if built.config.ytd_period is not None:
        periods.append("YTD")
    checked, wrong = 0, []
    for (who, kpi, period), row in built.report.items():
        if period not in periods:
            continue
        argument = built.config.ytd_period if period == "YTD" else period
        got = function_call(kpi, data, argument, None if who == "Team" else who)
        checked += 1
        if not same(row["actual"], got) or (row["actual"] is None and got != udfs.DIV0):
            wrong.append((who, kpi, period, got, row["actual"]))
    assert checked == (len(KPIS) + len(built.reps) * len(layout.REP_KPIS)) * len(periods)
    assert not wrong, wrong[:20]


def test_attainment_function_equals_the_report(built):
    for row in built.report.values():
        got = udfs.attainment(row["actual"], row["target"], KPI_BY_ID[row["kpi"]].direction)
        assert same(row["attainment"], got), row


# --- pacing and the Channels view (issue 11) --------------------------------------------------

def pacing_cells(built: Built):
    """(who, kpi id, {header: cached value}) of every row of each tab's pacing block."""
    wb = openpyxl.load_workbook(built.recalculated, data_only=True, read_only=True)
    titles = {"Team": layout.TEAM, **workbook.rep_sheet_names(built.reps)}
    by_name = {kpi.name: kpi for kpi in KPIS}
    for who, title in titles.items():
        rows = list(wb[title].iter_rows(min_row=layout.TAB_FIRST_ROW, max_col=8,
                                        values_only=True))
        header = next(i for i, row in enumerate(rows) if row[3] == "Expected to date")
        for row in rows[header + 1:]:
            if row[0] not in by_name:
                break
            yield who, by_name[row[0]].id, dict(zip(layout.PACING_HEADERS, row[2:7],
                                                    strict=True))
    wb.close()


def test_the_pacing_block_equals_the_report(built):
    """Settings' as-of date is fixed (the last day of December; 15 October): the block shows
    the as-of month's target, expected to date, actual, projection and pace as the report's
    rows of that month carry them."""
    month = built.config.as_of[:7]
    keys = dict(zip(layout.PACING_HEADERS, ("target", "expected", "actual", "projected", "pace"),
                    strict=True))
    checked, wrong = 0, []
    for who, kpi, cells in pacing_cells(built):
        row = built.report[who, kpi, month]
        for header, value in cells.items():
            checked += 1
            if not same(row[keys[header]], value):
                wrong.append((who, kpi, header, value, row[keys[header]]))
    assert checked == (len(KPIS) + len(built.reps) * len(layout.REP_KPIS)) * 5
    assert not wrong, wrong[:20]
    paced = [row for row in built.report.values() if "pace" in row]
    assert paced and all(row["period"] == month for row in paced)
    assert any(row["pace"] is not None for row in paced)


def test_the_channels_sheet_equals_report_by_channel(built):
    from xlkpi.tracker.channels import MEASURES

    rows = json.loads(run("report", built.path, "--by", "channel", "--period", "all",
                          "--format", "json"))
    expected = {(row["channel"], row["period"]): row for row in rows}
    keys = dict(zip((measure.label for measure in MEASURES), (
        "spend", "leads", "cost_per_lead", "sqls", "lead_to_sql_rate"), strict=True))
    wb = openpyxl.load_workbook(built.recalculated, data_only=True, read_only=True)
    periods = [*built.months, "YTD"]
    checked, wrong, channels = 0, [], set()
    for row in wb[layout.CHANNELS].iter_rows(min_row=layout.TAB_FIRST_ROW,
                                             max_col=layout.TAB_YTD_COL, values_only=True):
        if row[1] not in keys:
            continue
        channels.add(row[0])
        for period, value in zip(periods, row[2:], strict=True):
            want = expected[row[0], period][keys[row[1]]]
            checked += 1
            if not same(want, value):
                wrong.append((row[0], row[1], period, value, want))
    wb.close()
    assert channels == {row["channel"] for row in rows} and len(channels) > 1
    assert checked == len(rows) * len(MEASURES)
    assert not wrong, wrong[:20]

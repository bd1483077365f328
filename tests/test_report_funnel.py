"""Issue 11, worked by hand: the three funnel KPIs in the report, growth attainment (report,
tab formula, LibreOffice) and `report --period` quarters of the tracker's fiscal year."""

from __future__ import annotations

import datetime as dt
from datetime import date as D
from datetime import datetime as T

import openpyxl
import pytest

from xlkpi.core import goals
from xlkpi.core.errors import InputError
from xlkpi.core.kpis import KPI_BY_ID
from xlkpi.report import Report, format_value
from xlkpi.tracker import model as layout
from xlkpi.tracker.formulas import attainment_formula
from xlkpi.tracker.model import DataSheet, Settings, TargetRow, Tracker

from . import libreoffice


def tracker(fiscal_start: int = 1, year: int = 2026, targets=()) -> Tracker:
    leads = [  # Lead, Owner, LeadDate, SQLDate, Source
        ["L1", "Anna", D(2026, 1, 5), D(2026, 1, 20), "Web"],
        ["L2", "Anna", D(2026, 1, 6), None, "Web"],
        ["L3", "Boris", D(2026, 1, 7), D(2026, 2, 3), "Ads"],  # qualified in Feb: counts in Jan
        ["L4", "Boris", D(2026, 1, 8), "2026-01-09", "Ads"],  # a date typed as text: not filled
        ["L5", "Anna", D(2026, 2, 1), D(2026, 2, 2), "Web"],
    ]
    opportunities = [  # Opportunity, Owner, CreatedDate, CloseDate, Stage, Amount
        ["O1", "Anna", D(2025, 12, 22), D(2026, 1, 11), "Won", 1000],  # 20 days
        ["O2", "Anna", T(2026, 1, 1, 6), T(2026, 1, 31, 18), "Closed Won", 3000],  # 30.5 days
        ["O3", "Boris", None, D(2026, 1, 15), "Won", 500],  # no created date: no cycle
        ["O4", "Boris", D(2026, 1, 2), D(2026, 1, 12), "Lost", 9999],  # lost: no cycle
        ["O5", "Boris", D(2025, 11, 1), D(2026, 2, 10), "Won", 2500],  # Feb: 101 days
        ["O6", "Boris", D(2026, 7, 1), D(2026, 10, 20), "Won", 4000],  # Q4: 111 days
        ["O7", "Boris", D(2026, 4, 1), D(2026, 8, 1), "Won", 2000],  # Q3 (calendar)
    ]
    settings = Settings(year=year, fiscal_start=fiscal_start, currency="EUR",
                        reps=["Anna", "Boris"], as_of=D(2026, 12, 31))
    data = {layout.LEADS: leads, layout.OPPORTUNITIES: opportunities}
    return Tracker(settings, list(targets),
                   {name: DataSheet(list(layout.DATA_COLUMNS[name]), data.get(name, []))
                    for name in layout.DATA_SHEETS})


# --- the three funnel KPIs ------------------------------------------------------------------

@pytest.mark.parametrize("kpi, who, period, expected", [
    # January's leads L1-L4: L1 and L3 have an SQL date (L3's in February: the cohort view);
    # L4's is text, which the tracker reads as blank
    ("lead_to_sql_rate", "Team", "2026-01", 2 / 4),
    ("lead_to_sql_rate", "Anna", "2026-01", 1 / 2),
    ("lead_to_sql_rate", "Boris", "2026-01", 1 / 2),
    ("lead_to_sql_rate", "Team", "2026-02", 1 / 1),
    ("lead_to_sql_rate", "Team", "2026-03", None),  # no leads
    # won in January: O1 1000, O2 3000, O3 500
    ("average_deal_size", "Team", "2026-01", 4500 / 3),
    ("average_deal_size", "Boris", "2026-01", 500 / 1),
    ("average_deal_size", "Anna", "2026-02", None),
    # won in January with a created date: O1 20 days, O2 30.5 days (6:00 to 18:00)
    ("sales_cycle_days", "Team", "2026-01", (20 + 30.5) / 2),
    ("sales_cycle_days", "Boris", "2026-01", None),  # O3 has no created date
    ("sales_cycle_days", "Boris", "2026-02", 101.0),
    ("sales_cycle_days", "Team", "2026-Q1", (20 + 30.5 + 101) / 3),
])
def test_funnel_kpis_worked_by_hand(kpi, who, period, expected):
    got = Report(tracker()).actual(kpi, who, period)
    assert got == (None if expected is None else pytest.approx(expected, abs=1e-9))


def test_funnel_kpis_in_the_catalogue():
    cycle = KPI_BY_ID["sales_cycle_days"]
    assert (cycle.direction, cycle.unit, cycle.ytd_target, cycle.decimals) == (
        "down", "days", "mean", 1)
    assert KPI_BY_ID["lead_to_sql_rate"].unit == "ratio"
    assert KPI_BY_ID["average_deal_size"].unit == "currency"
    assert format_value(25.25, cycle) == "25.2 days"  # (25.25 is 25.249999… in binary)
    assert format_value(30.5, cycle) == "30.5 days"


# --- growth attainment ----------------------------------------------------------------------

def test_growth_attainment_worked_by_hand():
    # −8.7 % against +5 %: 0.913 ÷ 1.05 = 86.95 %, not −174 %
    assert goals.attainment(-0.087, 0.05, "growth") == pytest.approx(0.913 / 1.05)
    assert round(goals.attainment(-0.087, 0.05, "growth") * 100) == 87
    assert goals.attainment(0.05, 0.05, "growth") == pytest.approx(1.0)
    assert goals.attainment(0.1, -0.2, "growth") == pytest.approx(1.1 / 0.8)  # a planned fall
    assert goals.attainment(0.1, -1.0, "growth") is None  # 1 + target ≤ 0
    assert goals.attainment(-1.0, 0.05, "growth") == 0.0


def test_the_report_gives_revenue_growth_growth_attainment():
    """Regression: the report took revenue growth as an "up" KPI, −8.7 % against +5 % gave
    −174 %."""
    assert KPI_BY_ID["revenue_growth"].direction == "growth"
    months = [None] * 12
    months[1] = 0.05  # February's growth target
    t = tracker(targets=[TargetRow("Team", "revenue_growth", months)])
    row = next(row for row in Report(t).rows("2026-02", "Team")
               if row["kpi"] == "revenue_growth")
    # February 2500 (O5) against January's 4500: −44.4 %
    assert row["actual"] == pytest.approx(2500 / 4500 - 1)
    assert row["attainment"] == pytest.approx((2500 / 4500) / 1.05)


def test_growth_attainment_formula_text():
    formula = attainment_formula(KPI_BY_ID["revenue_growth"], "C9", "C10")
    assert formula == '=IF(OR(C9="",C10=""),"",IF(1+C9<=0,"",MAX(0,(1+C10)/(1+C9))))'


@pytest.mark.libreoffice
def test_growth_attainment_formula_in_libreoffice(tmp_path):
    if libreoffice.soffice() is None:
        pytest.skip("LibreOffice is not installed")
    cases = [(0.05, -0.087), (0.05, 0.05), (-0.2, 0.1), (-1.0, 0.1), (0.05, -1.2), ("", 0.1),
             (0.05, "")]
    wb = openpyxl.Workbook()
    ws = wb.active
    formula = attainment_formula(KPI_BY_ID["revenue_growth"], "A{r}", "B{r}")
    for r, (target, actual) in enumerate(cases, 1):
        ws.cell(r, 1, target)
        ws.cell(r, 2, actual)
        ws.cell(r, 3, formula.replace("{r}", str(r)))
    path = tmp_path / "growth.xlsx"
    wb.save(path)
    got = [row[2] for row in openpyxl.load_workbook(
        libreoffice.recalculate(path, tmp_path / "out"), data_only=True).active.iter_rows(
        values_only=True)]
    for value, (target, actual) in zip(got, cases, strict=True):
        want = goals.attainment(actual, target, "growth")
        assert (value in (None, "") if want is None else value == pytest.approx(want)), (
            target, actual, value)
    assert round(got[0] * 100) == 87


# --- report --period quarters ---------------------------------------------------------------

def quarter_targets(kpi_id: str, values: list[object]) -> TargetRow:
    return TargetRow("Team", kpi_id, values)


def test_calendar_quarters():
    """Fiscal year = calendar year 2026: 2026-Q4 is October-December, as the functions take
    it; its target follows the YTD rules over the quarter's months."""
    won = quarter_targets("deals_won", [1] * 9 + [2, 3, None])  # Q4: 2 + 3 (blank left out)
    rate = quarter_targets("close_rate", [0.5] * 9 + [0.2, 0.3, 0.4])  # Q4: the mean
    report = Report(tracker(targets=[won, rate]))
    rows = {row["kpi"]: row for row in report.rows("2026-Q4", "Team")}
    assert {row["period"] for row in rows.values()} == {"2026-Q4"}
    assert rows["deals_won"]["actual"] == 1  # O6, closed 20 October
    assert rows["deals_won"]["target"] == 5
    assert rows["deals_won"]["attainment"] == pytest.approx(1 / 5)
    assert rows["close_rate"]["target"] == pytest.approx(0.3)
    assert rows["sales_cycle_days"]["actual"] == pytest.approx(111.0)
    q1 = {row["kpi"]: row for row in report.rows("2026-q1", "Team")}
    assert q1["deals_won"]["actual"] == 4  # O1 O2 O3 in January, O5 in February
    assert q1["deals_won"]["target"] == 3
    # revenue growth over a quarter: against the quarter before (Q3: O7 2000)
    assert rows["revenue_growth"]["actual"] == pytest.approx(4000 / 2000 - 1)


def test_fiscal_quarters_from_april():
    """Fiscal year from April, labelled by Settings' year 2025 (April 2025 - March 2026):
    "2025-Q1" is April-June 2025 and "2025-Q4" January-March 2026 (the functions' 2026-Q1)."""
    won = quarter_targets("deals_won", [1] * 9 + [2, 2, 2])
    report = Report(tracker(fiscal_start=4, year=2025, targets=[won]))
    q4 = report.fiscal_quarter(2025, 4)
    assert (q4.first_day, q4.last_day) == (Report(tracker()).period("2026-Q1").first_day,
                                           Report(tracker()).period("2026-Q1").last_day)
    rows = {row["kpi"]: row for row in report.rows("2025-Q4", "Team")}
    assert rows["deals_won"]["period"] == "2025-Q4"
    assert rows["deals_won"]["actual"] == 4  # January-March 2026
    assert rows["deals_won"]["target"] == 6  # the fiscal year's last three months
    q1 = report.fiscal_quarter(2025, 1)
    assert (q1.first_day, q1.last_day) == (45748, 45838)  # 2025-04-01, 2025-06-30
    assert q4.previous().first_day == 45931  # growth against October-December 2025
    with pytest.raises(InputError, match=r"'2026-Q1' is not a quarter of this tracker's fiscal "
                                         r"year 2025 \(2025-04 to 2026-03\); use 2025-Q1 to "
                                         r"2025-Q4"):
        report.rows("2026-Q1")


def test_fiscal_quarter_from_february_is_three_months_from_its_first():
    """A fiscal year from February: 2026-Q4 is November 2026 - January 2027, and the period
    before it August-October 2026 (not a calendar quarter)."""
    report = Report(tracker(fiscal_start=2))
    q4 = report.period("2026-Q4")
    first = dt.date(1899, 12, 30)
    assert first + dt.timedelta(q4.first_day) == D(2026, 11, 1)
    assert first + dt.timedelta(q4.last_day) == D(2027, 1, 31)
    before = q4.previous()
    assert first + dt.timedelta(before.first_day) == D(2026, 8, 1)
    assert first + dt.timedelta(before.last_day) == D(2026, 10, 31)
    # revenue growth: O6 (20 Oct, 4000) before; nothing in the quarter
    assert report.actual("revenue_growth", "Team", "2026-Q4") == pytest.approx(-1.0)

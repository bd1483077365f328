"""The report's actuals are the engine's: on random trackers, every KPI for the team and each
rep, over every month, the year to date, a quarter, a year and a month outside the fiscal year,
equals what the Excel function (xlkpi.core.engine) gives over the whole columns with owners/owner.

The report does not call the engine per actual (that cost a second per report at 250,000
rows): it sorts each owner's rows by date once and takes slices. These tests hold the two
equal: the same None where a definition divides by zero, the same int for a count or a whole
sum, the same number otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlkpi import report, report_output
from xlkpi.core import engine
from xlkpi.core.cells import number_from_text
from xlkpi.core.kpis import KPIS
from xlkpi.core.periods import parse_iso_date
from xlkpi.report import Report
from xlkpi.tracker import model as layout
from xlkpi.tracker.model import DataSheet, Settings, Tracker

OWNERS = ["Anna", "anna", "ANNA", "Boris", "7", 7, 7.0, None, "", "Zed"]
STAGES = ["Won", "Closed Won", "closed-won", "Lost", "Closed Lost", "Open", None, "Negotiation",
          "Успешно реализовано", "Закрыто и не реализовано"]
DATES = st.one_of(
    st.none(),
    st.dates(dt.date(2025, 10, 1), dt.date(2027, 4, 30)),
    st.datetimes(dt.datetime(2025, 10, 1), dt.datetime(2027, 4, 30)),
    st.integers(45931, 46507),  # serials of the same span
    st.dates(dt.date(2025, 10, 1), dt.date(2027, 4, 30)).map(dt.date.isoformat),
)
NUMBERS = st.one_of(st.none(), st.integers(0, 500),
                    st.decimals(0, 5000, places=2).map(float))


def rows(*columns):
    return st.lists(st.tuples(*columns).map(list), max_size=25)


@st.composite
def trackers(draw) -> Tracker:
    owner = st.sampled_from(OWNERS)
    data = {
        layout.LEADS: draw(rows(st.just("L"), owner, DATES, DATES, st.just("Web"))),
        layout.SPEND: draw(rows(DATES, NUMBERS, st.just("Ads"))),
        layout.OPPORTUNITIES: draw(rows(st.just("O"), owner, DATES, DATES,
                                        st.sampled_from(STAGES), NUMBERS)),
        layout.EMAILS: draw(rows(DATES, owner, NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS)),
        layout.CUSTOMERS: draw(rows(st.just("C"), owner, DATES, DATES)),
    }
    settings_ = Settings(year=2026, fiscal_start=draw(st.integers(1, 12)), currency="EUR",
                         reps=["Anna", "Boris", "7"],
                         as_of=draw(st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31))))
    return Tracker(settings_, [], {name: DataSheet(list(layout.DATA_COLUMNS[name]), rows_)
                                   for name, rows_ in data.items()})


def column(tracker: Tracker, sheet: str, name: str) -> list:
    """The column as the workbook's formulas read it, for the Excel function: a date or number
    typed as text is blank (the tracker's rule; the functions themselves take ISO date text)."""
    index = layout.DATA_COLUMNS[sheet].index(name)
    cells = [row[index] for row in tracker.data[sheet].rows]
    if name in layout.DATE_COLUMNS or name in layout.NUMBER_COLUMNS:
        as_text = parse_iso_date if name in layout.DATE_COLUMNS else number_from_text
        cells = [None if isinstance(cell, str) and as_text(cell) is not None else cell
                 for cell in cells]
    return cells


def engine_actual(tracker: Tracker, kpi: str, who: str, period) -> object:
    """What the Excel function gives: the whole columns, filtered by owners/owner."""
    def col(sheet, name):
        return column(tracker, sheet, name)

    owner = None if who == layout.TEAM_NAME else who
    leads, spend = layout.LEADS, layout.SPEND
    opps, emails, customers = layout.OPPORTUNITIES, layout.EMAILS, layout.CUSTOMERS
    by = {"owner": owner}
    if kpi == "cost_per_lead":
        return engine.cost_per_lead(col(spend, "Spend"), col(spend, "SpendDate"),
                                    col(leads, "LeadDate"), period)
    if kpi == "customer_acquisition_cost":
        return engine.customer_acquisition_cost(col(spend, "Spend"), col(spend, "SpendDate"),
                                                col(opps, "Stage"), col(opps, "CloseDate"),
                                                period)
    if kpi == "sql_count":
        return engine.sql_count(col(leads, "SQLDate"), period, col(leads, "Owner"), **by)
    if kpi in ("close_rate", "deals_won"):
        function = getattr(engine, kpi)
        return function(col(opps, "Stage"), col(opps, "CloseDate"), period, col(opps, "Owner"),
                        **by)
    if kpi in ("won_revenue", "revenue_growth"):
        function = getattr(engine, kpi)
        return function(col(opps, "Amount"), col(opps, "Stage"), col(opps, "CloseDate"), period,
                        col(opps, "Owner"), **by)
    if kpi == "new_opportunities":
        return engine.new_opportunities(col(opps, "CreatedDate"), period, col(opps, "Owner"),
                                        **by)
    if kpi == "lead_to_sql_rate":
        return engine.lead_to_sql_rate(col(leads, "LeadDate"), col(leads, "SQLDate"), period,
                                       col(leads, "Owner"), **by)
    if kpi == "average_deal_size":
        return engine.average_deal_size(col(opps, "Amount"), col(opps, "Stage"),
                                        col(opps, "CloseDate"), period, col(opps, "Owner"), **by)
    if kpi == "sales_cycle_days":
        return engine.sales_cycle_days(col(opps, "CreatedDate"), col(opps, "Stage"),
                                       col(opps, "CloseDate"), period, col(opps, "Owner"), **by)
    if kpi in ("retention_rate", "churn_rate"):
        function = getattr(engine, kpi)
        return function(col(customers, "StartDate"), col(customers, "EndDate"), period,
                        col(customers, "Owner"), **by)
    sums = {"emails_delivered": ("Sent", "Bounced"), "positive_replies": ("Positive",),
            "email_open_rate": ("Opened", "Sent", "Bounced"),
            "email_reply_rate": ("Replied", "Sent", "Bounced")}[kpi]
    return getattr(engine, kpi)(*(col(emails, name) for name in sums), col(emails, "SendDate"),
                                period, col(emails, "Owner"), **by)


def assert_same_number(got, want):
    if want is None:
        assert got is None
    elif isinstance(want, int):
        assert got == want and type(got) is int
    else:
        assert type(got) is float and got == pytest.approx(want, rel=1e-9, abs=1e-9)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(trackers())
def test_report_actuals_are_the_engines(tracker):
    computed = Report(tracker, today=dt.date(2026, 6, 15))
    periods = [*computed.months, computed.ytd, "2026-Q2", "2026", "2025-12"]
    for who in (layout.TEAM_NAME, "Anna", "Boris", "7"):
        for kpi in KPIS:
            if kpi.team_only and who != layout.TEAM_NAME:
                continue
            for period in periods:
                window = computed.period(period)
                # a month after the as-of date has no actual yet (issue 11)
                expected = (None if computed.after_as_of(window)
                            else engine_actual(tracker, kpi.id, who, window))
                assert_same_number(computed.actual(kpi.id, who, period), expected)


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(trackers())
def test_the_rows_of_a_report_are_its_actuals(tracker):
    computed = Report(tracker, today=dt.date(2026, 6, 15))
    for row in computed.rows(period="all"):
        actual = computed.actual(row["kpi"], row["rep"], row["period"])
        assert row["actual"] == actual or (actual is not None and math.isnan(actual))
        assert type(row["actual"]) is type(actual)


def test_json_is_laid_out_as_json_dumps_with_indent():
    rows = [{"rep": "Team", "kpi": "close_rate", "period": "2026-01", "target": 0.3,
             "actual": 2 / 3, "attainment": (2 / 3) / 0.3},
            {"rep": "Zoë \"Z\" \\ \t", "kpi": "deals_won", "period": "YTD", "target": None,
             "actual": 12, "attainment": None},
            {"rep": "Anna", "kpi": "cost_per_lead", "period": "2026-02", "target": math.inf,
             "actual": math.nan, "attainment": None, "extra": "left out"}]
    clean = [{key: report_output._clean(row[key]) for key in report.KEYS} for row in rows]
    assert report.to_json(rows) == json.dumps(clean, indent=2, ensure_ascii=False)
    assert report.to_json([]) == json.dumps([], indent=2)
    assert json.loads(report.to_json(rows))[2]["actual"] is None


def test_a_report_grows_linearly_with_its_rows():
    """Twice the rows, about twice the time (not four times): the per-actual work is a binary
    search and a slice, whatever the size."""
    import time

    def seconds(copies: int) -> float:
        tracker = base()
        for sheet in tracker.data.values():
            sheet.rows = sheet.rows * copies
        started = time.perf_counter()
        Report(tracker, today=dt.date(2026, 12, 31)).rows(period="all")
        return time.perf_counter() - started

    def base() -> Tracker:
        from xlkpi.demo import demo_tracker

        return demo_tracker(2026, ["Anna", "Boris", "Chen"], as_of=dt.date(2026, 12, 31))

    small = min(seconds(4) for _ in range(3))
    large = min(seconds(16) for _ in range(3))
    assert large < 4 * small * 1.5  # linear: 4×; a quadratic report would be 16×

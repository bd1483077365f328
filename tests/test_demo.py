"""The demo year: deterministic, realistic, and valid for every KPI."""

import datetime as dt
from collections import Counter

import pytest

from xlkpi import demo
from xlkpi.core.kpis import KPIS
from xlkpi.core.texts import stage_class
from xlkpi.report import Report
from xlkpi.tracker import model as layout

YEAR = 2025
AS_OF = dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def tracker():
    return demo.demo_tracker(YEAR, as_of=AS_OF)


def rows_of(tracker, sheet):
    header = tracker.data[sheet].header
    return [dict(zip(header, row, strict=True)) for row in tracker.data[sheet].rows]


def test_same_arguments_same_tracker(tracker):
    again = demo.demo_tracker(YEAR, as_of=AS_OF)
    assert again == tracker
    assert demo.demo_tracker(YEAR, as_of=AS_OF, seed=1) != tracker


def test_does_not_depend_on_today(monkeypatch):
    class Frozen(dt.date):
        @classmethod
        def today(cls):
            return cls(1999, 1, 1)

    first = demo.demo_tracker(2026, ["Anna", "Boris"])
    monkeypatch.setattr(dt, "date", Frozen)
    assert demo.demo_tracker(2026, ["Anna", "Boris"]) == first


def test_settings_and_shape(tracker):
    settings = tracker.settings
    assert (settings.year, settings.fiscal_start, settings.currency) == (YEAR, 1, "USD")
    assert settings.reps == list(demo.DEFAULT_REPS)
    for name in layout.DATA_SHEETS:
        sheet = tracker.data[name]
        assert sheet.header == list(layout.DATA_COLUMNS[name])
        assert all(len(row) == len(sheet.header) for row in sheet.rows)
    assert sum(len(sheet.rows) for sheet in tracker.data.values()) > 5000


def test_dates_are_dates(tracker):
    for name in layout.DATA_SHEETS:
        for row in rows_of(tracker, name):
            for column, value in row.items():
                if column in layout.DATE_COLUMNS and value is not None:
                    assert isinstance(value, dt.date), (name, column, value)


def test_every_stage_spelling_is_valid(tracker):
    stages = Counter(row["Stage"] for row in rows_of(tracker, layout.OPPORTUNITIES))
    won = set(demo.WON_SPELLINGS) | {demo.WON_RU}
    lost = set(demo.LOST_SPELLINGS) | {demo.LOST_RU}
    open_ = set(demo.OPEN_SPELLINGS) | set(demo.OPEN_RU)
    assert set(stages) <= won | lost | open_
    assert all(stage_class(stage) == 1 for stage in won)
    assert all(stage_class(stage) == -1 for stage in lost)
    assert all(stage_class(stage) == 0 for stage in open_)
    # the messy spellings all turn up, the Russian ones too
    assert {"Won", "Closed Won", "closed-won", "Lost", "Closed Lost", "Negotiation", "Proposal",
            "Успешно реализовано", "Закрыто и не реализовано"} <= set(stages)


def test_leads_become_sqls_at_realistic_rates(tracker):
    leads = rows_of(tracker, layout.LEADS)
    start, end = dt.date(YEAR, 1, 1), dt.date(YEAR + 1, 1, 1)
    assert all(start <= row["LeadDate"].date() < end for row in leads)
    assert 0.25 < sum(row["SQLDate"] is not None for row in leads) / len(leads) < 0.42
    assert all(row["SQLDate"] is None or row["SQLDate"] > row["LeadDate"].date()
               for row in leads)
    assert any(row["Owner"] is None for row in leads)  # unassigned inbound leads


def test_spend_per_channel_per_week(tracker):
    spend = rows_of(tracker, layout.SPEND)
    assert {row["Channel"] for row in spend} >= {"Google Ads", "LinkedIn Ads", "Events"}
    assert all(row["Spend"] > 0 for row in spend)
    assert all(dt.date(YEAR, 1, 1) <= row["SpendDate"] < dt.date(YEAR + 1, 1, 1)
               for row in spend)
    assert len(spend) > 150


def test_opportunities(tracker):
    opportunities = rows_of(tracker, layout.OPPORTUNITIES)
    amounts = sorted(row["Amount"] for row in opportunities)
    median = amounts[len(amounts) // 2]
    assert 5000 < median < 20000
    assert amounts[-1] > 4 * median  # a log-normal tail
    assert all(row["CloseDate"] is None or row["CloseDate"] > row["CreatedDate"]
               for row in opportunities)
    # last year's deals: revenue growth has a base, for the first month and for the year
    assert any(row["CloseDate"] and row["CloseDate"].year == YEAR - 1 for row in opportunities)


def test_emails_are_consistent(tracker):
    for row in rows_of(tracker, layout.EMAILS):
        delivered = row["Sent"] - row["Bounced"]
        assert 0 <= row["Bounced"] <= row["Sent"]
        assert 0 <= row["Opened"] <= delivered
        assert 0 <= row["Replied"] <= row["Opened"]
        assert 0 <= row["Positive"] <= row["Replied"]
        assert row["SendDate"].weekday() < 5


def test_customers_have_history_and_churn(tracker):
    customers = rows_of(tracker, layout.CUSTOMERS)
    assert any(row["StartDate"].year <= YEAR - 3 for row in customers)
    assert 0.1 < sum(row["EndDate"] is not None for row in customers) / len(customers) < 0.8
    assert all(row["EndDate"] is None or row["EndDate"] > row["StartDate"] for row in customers)


def test_team_kpis_in_realistic_ranges(tracker):
    r = Report(tracker)
    team = {kpi.id: r.actual(kpi.id, "Team", "YTD") for kpi in KPIS}
    assert 0.2 < team["close_rate"] < 0.5
    assert 0.7 < team["retention_rate"] < 0.97  # over a whole year
    assert 0.3 < team["email_open_rate"] < 0.6
    assert 0.02 < team["email_reply_rate"] < 0.1
    assert 30 < team["cost_per_lead"] < 300
    assert team["won_revenue"] > 1_000_000
    assert r.actual("revenue_growth", "Team", "2025-01") is not None
    assert r.actual("revenue_growth", "Team", "YTD") is not None


def test_reps_differ(tracker):
    r = Report(tracker)
    rates = {rep: r.actual("close_rate", rep, "YTD") for rep in tracker.settings.reps}
    assert max(rates.values()) - min(rates.values()) > 0.03


def test_seasons(tracker):
    r = Report(tracker)
    emails = {month: r.actual("emails_delivered", "Team", f"{YEAR}-{month:02d}")
              for month in range(1, 13)}
    assert emails[8] < emails[10]  # the summer dip


def test_targets_cover_every_kpi_and_attainment_is_mixed(tracker):
    keys = {(row.who, row.kpi_id) for row in tracker.targets}
    for who in ["Team", *tracker.settings.reps]:
        for kpi in KPIS:
            assert ((who, kpi.id) in keys) == (who == "Team" or not kpi.team_only)
    cells = [cell for row in tracker.targets for cell in row.months]
    assert all(len(row.months) == 12 for row in tracker.targets)
    assert 1 <= sum(cell is None for cell in cells) <= 10  # a few left blank
    rows = Report(tracker).rows(period="all")
    shares = Counter("none" if row["attainment"] is None else
                     "met" if row["attainment"] >= 1 else
                     "close" if row["attainment"] >= 0.8 else "missed" for row in rows)
    for kind in ("met", "close", "missed"):
        assert shares[kind] / len(rows) > 0.1, shares


def test_fiscal_year_from_april_with_own_reps():
    tracker = demo.demo_tracker(2026, ["Ivan", "Olga"], fiscal_start=4, currency="RUB")
    assert tracker.settings.reps == ["Ivan", "Olga"]
    start, end = dt.date(2026, 4, 1), dt.date(2027, 4, 1)
    assert all(start <= row[0] < end for row in tracker.data[layout.EMAILS].rows)
    owners = {str(row[1]).lower() for row in tracker.data[layout.OPPORTUNITIES].rows}
    assert owners == {"ivan", "olga"}

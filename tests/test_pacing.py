"""Pacing of the current month (core.pacing), worked by hand; and the report's pacing keys."""

import datetime as dt
import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xlkpi.core.kpis import KPI_BY_ID, KPIS
from xlkpi.core.pacing import accrues, expected, month_days, pace, projected

DEALS, REVENUE = KPI_BY_ID["deals_won"], KPI_BY_ID["won_revenue"]
CLOSE_RATE, CYCLE = KPI_BY_ID["close_rate"], KPI_BY_ID["sales_cycle_days"]
COST_PER_LEAD = KPI_BY_ID["cost_per_lead"]


def figures(kpi, target, actual, as_of):
    elapsed, days = month_days(as_of)
    return (expected(kpi, target, elapsed, days), projected(kpi, actual, elapsed, days),
            pace(kpi, target, actual, elapsed, days))


def test_counts_and_amounts_accrue_rates_and_averages_do_not():
    assert {kpi.id for kpi in KPIS if accrues(kpi)} == {
        "sql_count", "emails_delivered", "positive_replies", "new_opportunities", "deals_won",
        "won_revenue"}
    # amounts that are ratios of two sums are rate-like
    assert not accrues(COST_PER_LEAD) and not accrues(KPI_BY_ID["average_deal_size"])
    assert not accrues(KPI_BY_ID["customer_acquisition_cost"]) and not accrues(CYCLE)


def test_a_31_day_month_on_day_7():
    # December: 7 of 31 days gone; target 31 deals, 14 won so far
    assert month_days(dt.date(2026, 12, 7)) == (7, 31)
    assert figures(DEALS, 31, 14, dt.date(2026, 12, 7)) == (7.0, 62.0, 2.0)


def test_a_28_day_month_half_way():
    # February 2026: 14 of 28 days; target 28,000 of revenue, 10,000 won: on course for 20,000
    assert month_days(dt.date(2026, 2, 14)) == (14, 28)
    exp, proj, got = figures(REVENUE, 28000, 10000, dt.date(2026, 2, 14))
    assert (exp, proj) == (14000.0, 20000.0)
    assert got == pytest.approx(20000 / 28000)
    assert month_days(dt.date(2024, 2, 29)) == (29, 29)  # a leap year's February


def test_day_one():
    # 1 January: a thirty-first of the month gone; 2 deals already is a pace of 62
    assert figures(DEALS, 31, 2, dt.date(2026, 1, 1)) == (1.0, 62.0, 2.0)
    assert figures(DEALS, 31, 0, dt.date(2026, 1, 1)) == (1.0, 0.0, 0.0)


def test_the_last_day_is_the_month_itself():
    assert figures(REVENUE, 50000, 41234.56, dt.date(2026, 2, 28)) == (
        50000.0, 41234.56, pytest.approx(41234.56 / 50000))
    assert figures(DEALS, 20, 25, dt.date(2026, 12, 31)) == (20.0, 25.0, 1.25)


def test_a_rate_is_its_own_expectation_and_projection():
    # close rate: 25 % so far against 30 %, whatever the day
    for day in (1, 15, 31):
        exp, proj, got = figures(CLOSE_RATE, 0.3, 0.25, dt.date(2026, 12, day))
        assert (exp, proj) == (0.3, 0.25)
        assert got == pytest.approx(0.25 / 0.3)


def test_a_down_kpi_paces_as_target_over_projection():
    # sales cycle: 40 days against 30 (lower is better): 75 %
    assert figures(CYCLE, 30, 40, dt.date(2026, 12, 7)) == (30.0, 40.0, 0.75)
    # cost per lead 80 against 100: 125 %; 0 (leads without spend) is met
    assert figures(COST_PER_LEAD, 100, 80, dt.date(2026, 2, 3))[2] == 1.25
    assert figures(COST_PER_LEAD, 100, 0, dt.date(2026, 2, 3))[2] == 1.0


def test_no_target_or_no_actual_is_no_pace():
    assert figures(DEALS, None, 3, dt.date(2026, 12, 7)) == (None, 3 / 7 * 31,
                                                            None)
    assert figures(DEALS, 31, None, dt.date(2026, 12, 7)) == (7.0, None, None)
    assert figures(CLOSE_RATE, 0.3, None, dt.date(2026, 12, 7)) == (0.3, None, None)


@given(st.sampled_from(KPIS), st.floats(-1e9, 1e9, allow_nan=False),
       st.dates(dt.date(1901, 1, 1), dt.date(9998, 12, 1)))
def test_on_the_last_day_the_projection_is_the_actual(kpi, actual, day):
    last = dt.date(day.year, day.month, month_days(day)[1])
    elapsed, days = month_days(last)
    assert elapsed == days
    assert projected(kpi, actual, elapsed, days) == actual


@given(st.sampled_from([kpi for kpi in KPIS if accrues(kpi)]),
       st.floats(0, 1e9, allow_nan=False), st.floats(0.01, 1e9, allow_nan=False),
       st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31)))
@example(next(kpi for kpi in KPIS if accrues(kpi)), 5e-324, 1.0, dt.date(2026, 12, 7))
def test_on_pace_means_the_share_of_the_target_the_days_gone_imply(kpi, actual, target, day):
    elapsed, days = month_days(day)
    got = pace(kpi, target, actual, elapsed, days)
    if got is not None:
        # abs_tol: below 1e-300 the two orders of division round to subnormal numbers that
        # differ (actual=5e-324 gives 0.0 one way): no sales figure is that small
        assert math.isclose(got, actual / expected(kpi, target, elapsed, days), rel_tol=1e-9,
                            abs_tol=1e-300)

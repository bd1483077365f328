"""The funnel KPIs (lead-to-SQL rate, average deal size, sales cycle) and "growth" attainment
against values worked out by hand from DESIGN.md.

Every expected number is derived in the comment next to it. Row numbers are 1-based, as the
error messages count them. Excel serials used (days since 1899-12-30): 46300 = 2026-10-05,
46327 = 2026-11-01, 46345 = 2026-11-19.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from xlkpi.core import engine, goals
from xlkpi.core.cells import OneCellRows
from xlkpi.core.errors import InputError

D = date
DT = datetime


def message(call, *args):
    with pytest.raises(InputError) as error:
        call(*args)
    return str(error.value)


# --- lead-to-SQL rate ----------------------------------------------------------------------

#  #  owner  lead date          SQL date
#  1  Anna   2026-10-01         2026-10-03
#  2  anna   2026-10-15 14:30   (blank)
#  3  Boris  2026-10-31 23:59   2026-11-04   qualified next month: counts for October (cohort)
#  4  Boris  2026-09-28         2026-10-01   a September lead
#  5  ANNA   2026-11-02         ""           blank text
#  6  Vera   (blank)            2026-10-10   no lead date: never a lead of any period
#  7  Boris  2026-10-20         "2026-10-21"
#  8  Anna   "2026-11-30"       46345 (2026-11-19)
LEAD_DATES = [D(2026, 10, 1), DT(2026, 10, 15, 14, 30), DT(2026, 10, 31, 23, 59), D(2026, 9, 28),
              D(2026, 11, 2), None, D(2026, 10, 20), "2026-11-30"]
SQL_DATES = [D(2026, 10, 3), None, D(2026, 11, 4), D(2026, 10, 1), "", D(2026, 10, 10),
             "2026-10-21", 46345]
LEAD_OWNERS = ["Anna", "anna", "Boris", "Boris", "ANNA", "Vera", "Boris", "Anna"]


def test_lead_to_sql_rate_by_period():
    # Oct leads: 1, 2, 3, 7 = 4; with an SQL date: 1, 3 (Nov 4), 7 = 3 -> 3/4
    assert engine.lead_to_sql_rate(LEAD_DATES, SQL_DATES, "2026-10") == pytest.approx(0.75)
    # Sep: lead 4, qualified -> 1/1
    assert engine.lead_to_sql_rate(LEAD_DATES, SQL_DATES, "2026-09") == 1
    # Nov: leads 5 (SQL blank text), 8 (qualified) -> 1/2
    assert engine.lead_to_sql_rate(LEAD_DATES, SQL_DATES, "2026-11") == pytest.approx(0.5)
    # Q4: leads 1, 2, 3, 5, 7, 8 = 6; qualified 1, 3, 7, 8 = 4 -> 2/3
    assert engine.lead_to_sql_rate(LEAD_DATES, SQL_DATES, "2026-Q4") == pytest.approx(2 / 3)
    # blank period: every lead with a lead date, 1-5, 7, 8 = 7; qualified 1, 3, 4, 7, 8 = 5
    assert engine.lead_to_sql_rate(LEAD_DATES, SQL_DATES) == pytest.approx(5 / 7)


def test_lead_to_sql_rate_owner_filter():
    # Anna (any case), Oct: leads 1, 2; qualified 1 -> 1/2
    assert engine.lead_to_sql_rate(LEAD_DATES, SQL_DATES, "2026-10", LEAD_OWNERS,
                                   "ANNA") == pytest.approx(0.5)
    # Boris, Oct: leads 3, 7, both qualified -> 2/2
    assert engine.lead_to_sql_rate(LEAD_DATES, SQL_DATES, "2026-10", LEAD_OWNERS, "boris") == 1
    # Q4: Anna's leads 1, 2, 5, 8, qualified 1, 8 -> 2/4; Boris's 3, 7, both -> 2/2.
    # The team pools them: (2 + 2) / (4 + 2) = 2/3, not the mean of the reps' rates (3/4)
    assert engine.lead_to_sql_rate(LEAD_DATES, SQL_DATES, "2026-Q4", LEAD_OWNERS,
                                   "Anna") == pytest.approx(0.5)
    assert engine.lead_to_sql_rate(LEAD_DATES, SQL_DATES, "2026-Q4", LEAD_OWNERS,
                                   "") == pytest.approx(2 / 3)


def test_lead_to_sql_rate_without_leads_is_none():
    # Dec: no lead -> 0/0
    assert engine.lead_to_sql_rate(LEAD_DATES, SQL_DATES, "2026-12") is None
    # Vera's only row has no lead date: an SQL date alone makes no lead -> 0/0
    assert engine.lead_to_sql_rate(LEAD_DATES, SQL_DATES, None, LEAD_OWNERS, "Vera") is None
    assert engine.lead_to_sql_rate([], []) is None


def test_lead_to_sql_rate_none_qualified_is_zero_not_none():
    # two leads in Oct, neither qualified -> 0/2
    assert engine.lead_to_sql_rate([D(2026, 10, 1), D(2026, 10, 2)], [None, " "],
                                   "2026-10") == 0


# --- average deal size and sales cycle -----------------------------------------------------

#  #  owner  stage          created             close                amount
#  1  Anna   Won            2026-09-20          2026-10-05             1000
#  2  anna   Closed Lost    2026-10-01          2026-10-12              400  lost
#  3  Boris  closed-won     2026-10-03          2026-10-31 17:45       2500  time of day
#  4  Boris  Negotiation    2026-10-10          (blank)                 700  open, no close
#  5  ANNA   Closed Won     (blank)             2026-10-20              900  won, no created
#  6  Boris  Won            2026-10-01 06:00    2026-10-02 18:00        300  1.5 days
#  7  Anna   won            2026-08-15          2026-09-30              800
#  8  Boris  (blank)        2026-09-01          2026-10-15             5000  blank stage: open
#  9  Anna   Won            46300.25            "2026-11-02"            600  Oct 5 06:00
# 10  Boris  Lost           2026-11-01          2026-11-03              200  lost
#
# Days of each won deal (close − created): 1: Sep 20 -> Oct 5 = 15; 3: Oct 3 -> Oct 31 17:45 =
# 28 + 17.75/24 = 28 71/96 = 2759/96; 6: 1.5 = 144/96; 7: Aug 15 -> Sep 30 = 16 + 30 = 46;
# 9: Oct 5 06:00 -> Nov 2 = 28 − 0.25 = 27.75; 5: no created date, no cycle.
STAGES = ["Won", "Closed Lost", "closed-won", "Negotiation", "Closed Won", "Won", "won", None,
          "Won", "Lost"]
CREATED = [D(2026, 9, 20), D(2026, 10, 1), D(2026, 10, 3), D(2026, 10, 10), None,
           DT(2026, 10, 1, 6), D(2026, 8, 15), D(2026, 9, 1), 46300.25, D(2026, 11, 1)]
CLOSED = [D(2026, 10, 5), D(2026, 10, 12), DT(2026, 10, 31, 17, 45), None, D(2026, 10, 20),
          DT(2026, 10, 2, 18), D(2026, 9, 30), D(2026, 10, 15), "2026-11-02", D(2026, 11, 3)]
AMOUNTS = [1000, 400, 2500, 700, 900, 300, 800, 5000, 600, 200]
OWNERS = ["Anna", "anna", "Boris", "Boris", "ANNA", "Boris", "Anna", "Boris", "Anna", "Boris"]


def test_average_deal_size_by_period():
    # Oct won: 1, 3, 5, 6 (2 lost, 8 open) -> (1000 + 2500 + 900 + 300) / 4 = 4700 / 4
    assert engine.average_deal_size(AMOUNTS, STAGES, CLOSED, "2026-10") == pytest.approx(1175)
    # Sep: 7 -> 800 / 1; Nov: 9 -> 600 / 1 (10 lost)
    assert engine.average_deal_size(AMOUNTS, STAGES, CLOSED, "2026-09") == 800
    assert engine.average_deal_size(AMOUNTS, STAGES, CLOSED, "2026-11") == 600
    # Q4: 1, 3, 5, 6, 9 -> 5300 / 5
    assert engine.average_deal_size(AMOUNTS, STAGES, CLOSED, "2026-Q4") == pytest.approx(1060)
    # blank period: 1, 3, 5, 6, 7, 9 -> 6100 / 6
    assert engine.average_deal_size(AMOUNTS, STAGES, CLOSED) == pytest.approx(6100 / 6)
    assert isinstance(engine.average_deal_size(AMOUNTS, STAGES, CLOSED, "2026-09"), float)


def test_average_deal_size_owner_filter():
    # Anna, Oct: 1, 5 -> 1900 / 2; Boris, Oct: 3, 6 -> 2800 / 2
    assert engine.average_deal_size(AMOUNTS, STAGES, CLOSED, "2026-10", OWNERS,
                                    "anna") == pytest.approx(950)
    assert engine.average_deal_size(AMOUNTS, STAGES, CLOSED, "2026-10", OWNERS,
                                    "BORIS") == pytest.approx(1400)


def test_average_deal_size_without_won_deals_is_none():
    # Dec: nothing closed; Nov, Boris: only 10, lost -> 0 / 0
    assert engine.average_deal_size(AMOUNTS, STAGES, CLOSED, "2026-12") is None
    assert engine.average_deal_size(AMOUNTS, STAGES, CLOSED, "2026-11", OWNERS, "Boris") is None
    assert engine.average_deal_size([], [], []) is None
    # a won deal of amount 0 (a blank amount) is a deal of size 0, not "no deal": 0 / 1
    assert engine.average_deal_size([None], ["Won"], [D(2026, 10, 1)]) == 0


def test_sales_cycle_days_by_period():
    # Oct won: 1 (15), 3 (2759/96), 6 (144/96); 5 has no created date and is left out
    # -> (1440 + 2759 + 144) / 96 / 3 = 4343 / 288
    assert engine.sales_cycle_days(CREATED, STAGES, CLOSED, "2026-10") == pytest.approx(
        4343 / 288)
    # Sep: 7 -> 46; Nov: 9 -> 27.75 (created as a serial with a time, closed as ISO text)
    assert engine.sales_cycle_days(CREATED, STAGES, CLOSED, "2026-09") == 46
    assert engine.sales_cycle_days(CREATED, STAGES, CLOSED, "2026-11") == pytest.approx(27.75)
    # Q4: 1, 3, 6, 9 -> (1440 + 2759 + 144 + 2664) / 96 / 4 = 7007 / 384
    assert engine.sales_cycle_days(CREATED, STAGES, CLOSED, "2026-Q4") == pytest.approx(
        7007 / 384)
    # blank period: 1, 3, 6, 7, 9 -> (1440 + 2759 + 144 + 4416 + 2664) / 96 / 5 = 11423 / 480
    assert engine.sales_cycle_days(CREATED, STAGES, CLOSED) == pytest.approx(11423 / 480)


def test_sales_cycle_days_owner_filter():
    # Anna, Oct: 1 (15); 5 is won but has no created date -> 15 / 1
    assert engine.sales_cycle_days(CREATED, STAGES, CLOSED, "2026-10", OWNERS, "anna") == 15
    # Boris, Oct: 3, 6 -> (2759 + 144) / 96 / 2 = 2903 / 192
    assert engine.sales_cycle_days(CREATED, STAGES, CLOSED, "2026-10", OWNERS,
                                   "Boris") == pytest.approx(2903 / 192)


def test_sales_cycle_days_counts_the_time_of_day():
    # 2026-10-01 06:00 -> 2026-10-02 18:00 is 1.5 days, as Excel's =B2-A2; whole days would
    # say 1. The same moments as serials (46296.25 = Oct 1 06:00) and as ISO text.
    assert engine.sales_cycle_days([DT(2026, 10, 1, 6)], ["Won"], [DT(2026, 10, 2, 18)]) == 1.5
    assert engine.sales_cycle_days([46296.25], ["Won"], [46297.75]) == 1.5
    assert engine.sales_cycle_days(["2026-10-01 06:00"], ["Won"], ["2026-10-02T18:00:00"]) == 1.5
    assert engine.sales_cycle_days([np.datetime64("2026-10-01T06:00")], ["Won"],
                                   [np.float64(46297.75)]) == 1.5
    # won and closed the day it was created: 0 days, not "no cycle"
    assert engine.sales_cycle_days([D(2026, 10, 1)], ["Won"], [D(2026, 10, 1)]) == 0


def test_sales_cycle_days_leaves_out_won_deals_without_created_date():
    # the only won deal of Oct has no created date: nothing to measure -> None, although
    # DEALS_WON counts it (1)
    assert engine.sales_cycle_days([None, D(2026, 9, 1)], ["Won", "Lost"],
                                   [D(2026, 10, 20), D(2026, 10, 21)], "2026-10") is None
    assert engine.deals_won(["Won", "Lost"], [D(2026, 10, 20), D(2026, 10, 21)], "2026-10") == 1
    # Dec: nothing closed; Nov, Boris: 10, lost -> None
    assert engine.sales_cycle_days(CREATED, STAGES, CLOSED, "2026-12") is None
    assert engine.sales_cycle_days(CREATED, STAGES, CLOSED, "2026-11", OWNERS, "Boris") is None
    assert engine.sales_cycle_days([], [], []) is None


def test_sales_cycle_days_from_a_column_range():
    # a column range (one-cell rows, as xlwings reads it) gives the same as the flat list
    as_range = OneCellRows([[cell] for cell in CREATED], "created_dates")
    assert engine.sales_cycle_days(as_range, STAGES, CLOSED, "2026-10") == pytest.approx(
        4343 / 288)


# --- bad input -----------------------------------------------------------------------------

def test_lengths_differ():
    assert message(engine.lead_to_sql_rate, [D(2026, 1, 1)] * 2, [None]) == (
        "lead_dates and sql_dates differ in length: 2 vs 1")
    assert message(engine.average_deal_size, [1, 2], ["Won"], [D(2026, 1, 1)] * 2) == (
        "amounts and stages differ in length: 2 vs 1")
    assert message(engine.sales_cycle_days, [None, None], ["Won", "Won"], [D(2026, 1, 1)]) == (
        "created_dates and close_dates differ in length: 2 vs 1")


def test_not_a_date_names_argument_and_row():
    assert message(engine.lead_to_sql_rate, ["2026-10-01", "soon"], [None, None]) == (
        "lead_dates row 2: 'soon' is not a date")
    # SQL dates are a date column: read whole, also outside the period
    assert message(engine.lead_to_sql_rate, [D(2026, 10, 1)] * 2, [None, "later"],
                   "2026-12") == "sql_dates row 2: 'later' is not a date"
    assert message(engine.average_deal_size, [1], ["Won"], [True]) == (
        "close_dates row 1: True is not a date")
    # created dates too, even in a lost row
    assert message(engine.sales_cycle_days, [D(2026, 10, 1), "15.10.2026"], ["Won", "Lost"],
                   [D(2026, 10, 2)] * 2) == "created_dates row 2: '15.10.2026' is not a date"


def test_not_a_number_only_where_it_counts():
    # amounts are read only in the won rows closed in the period: row 3 is won in Oct
    assert message(engine.average_deal_size, [100, 200, "lots"], ["Won", "Lost", "Won"],
                   [46300] * 3, "2026-10") == "amounts row 3: 'lots' is not a number"
    # ... a bad amount in a lost row, or dated outside the period, is ignored: 100 / 1
    assert engine.average_deal_size([100, "lots", "n/a"], ["Won", "Lost", "Won"],
                                    [46300, 46300, 46327], "2026-10") == 100


def test_owner_without_owner_column():
    for call, args in ((engine.lead_to_sql_rate, ([D(2026, 1, 1)], [None])),
                       (engine.average_deal_size, ([1], ["Won"], [D(2026, 1, 1)])),
                       (engine.sales_cycle_days, ([D(2026, 1, 1)], ["Won"], [D(2026, 1, 2)]))):
        assert message(call, *args, None, None, "Anna") == (
            "owners: give the owner column to filter by owner 'Anna'")


def test_results_past_the_float_range_raise():
    with pytest.raises(engine.ResultTooLarge):
        engine.average_deal_size([1e308, 1e308], ["Won", "Won"], [46300, 46300])


# --- growth attainment ---------------------------------------------------------------------

@pytest.mark.parametrize(("actual", "target", "expected"), [
    # DESIGN.md: -8.7 % against +5 % is 87 %: (1 - 0.087) / (1 + 0.05) = 0.913 / 1.05
    (-0.087, 0.05, 0.913 / 1.05),
    (0.05, 0.05, 1.0),  # on plan: 1.05 / 1.05
    (0.10, 0.05, 22 / 21),  # 1.10 / 1.05
    (0.2, 0.0, 1.2),  # a flat plan (target 0 %) has an attainment: 1.2 / 1
    (-0.5, -0.5, 1.0),  # a planned halving, reached: 0.5 / 0.5
    (-0.4, -0.5, 1.2),  # better than the planned halving: 0.6 / 0.5
    (-1.0, 0.05, 0.0),  # revenue fell to nothing: 0 / 1.05
    (-1.5, 0.05, 0.0),  # below -100 % (no revenue can do that): still 0, never negative
])
def test_growth_attainment(actual, target, expected):
    assert goals.attainment(actual, target, "growth") == pytest.approx(expected)


def test_growth_attainment_of_designs_example_is_87_percent_not_minus_174():
    assert round(goals.attainment(-0.087, 0.05, "growth"), 2) == 0.87
    assert goals.attainment(-0.087, 0.05, "up") == pytest.approx(-1.74)  # what "up" would say
    assert goals.attainment(-0.087, 0.05, " Growth ") == pytest.approx(0.913 / 1.05)


@pytest.mark.parametrize("target", [-1.0, -1.5, None, "", "  "])
def test_growth_attainment_without_a_plan_above_minus_100_percent_is_none(target):
    # 1 + target <= 0: no revenue the plan could imply; a blank target: no plan
    assert goals.attainment(0.1, target, "growth") is None
    assert goals.attainment(-1.0, target, "growth") is None


def test_growth_attainment_without_an_actual_is_none():
    assert goals.attainment(None, 0.05, "growth") is None
    assert goals.attainment("", 0.05, "growth") is None


def test_growth_attainment_past_the_float_range_raises():
    # 1e308 / (1 + (-1 + 1e-12)) is past 1.8e308: Excel's #NUM!
    with pytest.raises(engine.ResultTooLarge):
        goals.attainment(1e308, -1 + 1e-12, "growth")


def test_the_direction_message_names_all_three():
    assert message(goals.attainment, 1, 2, "sideways") == (
        "direction: 'sideways' is not \"up\", \"down\" or \"growth\"")

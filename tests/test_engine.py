"""The KPI engine against expected values worked out by hand from DESIGN.md.

Every expected number below is derived in the comment next to it; none is computed by the code
under test. Row numbers in comments are 1-based, as the error messages count them.
Excel serials used (days since 1899-12-30): 46023 = 2026-01-01, 46300 = 2026-10-05,
46326 = 2026-10-31, 46327 = 2026-11-01, 46812 = 2028-02-29, 46813 = 2028-03-01.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from xlkpi.core import engine, goals
from xlkpi.core.errors import InputError

D = date
DT = datetime


# --- close rate, deals won, stage spellings -------------------------------------------------

STAGES = ["Won", "Closed Lost", "Proposal", "closed-won", "CLOSED_LOST", "Won?",
          "Успешно реализовано", "Закрыто и не реализовано", "Closed Won", "Won"]
CLOSE_DATES = [D(2026, 10, 1), DT(2026, 10, 31, 23, 59), D(2026, 10, 15), D(2026, 11, 1),
               "2026-10-20", 46300.75, D(2026, 10, 5), D(2026, 10, 6), D(2026, 9, 30), None]
OWNERS = ["Anna", "anna", "Boris", "ANNA", "boris", "Anna", "BORIS", "Anna", "Anna", "Anna"]


def test_close_rate_month_leaves_open_deals_out():
    # 2026-10 rows: 1 Won, 2 Closed Lost (Oct 31 23:59), 3 Proposal (open), 5 CLOSED_LOST,
    # 6 "Won?" (open; serial 46300.75 = Oct 5 18:00), 7 Успешно реализовано (won),
    # 8 Закрыто и не реализовано (lost). Out: row 4 (Nov 1), row 9 (Sep 30), row 10 (no date).
    # won 2 (rows 1,7), lost 3 (rows 2,5,8) -> 2/5
    assert engine.close_rate(STAGES, CLOSE_DATES, "2026-10") == pytest.approx(0.4)


def test_close_rate_owner_filter_is_case_insensitive():
    # owner "anna" in Oct: rows 1 (Won), 2 (Closed Lost), 6 (Won?, open), 8 (lost);
    # row 4 is ANNA but Nov, rows 9,10 out of the month. won 1, lost 2 -> 1/3
    assert engine.close_rate(STAGES, CLOSE_DATES, "2026-10", OWNERS, "ANNA") == pytest.approx(1 / 3)
    # Boris in Oct: rows 3 (open), 5 (lost), 7 (won) -> 1/2
    assert engine.close_rate(STAGES, CLOSE_DATES, "2026-10", OWNERS, "boris") == pytest.approx(0.5)


def test_team_close_rate_is_pooled_not_an_average_of_reps():
    # Anna 1/3, Boris 1/2: the average would be 5/12; pooled is (1+1)/(3+2) = 2/5
    team = engine.close_rate(STAGES, CLOSE_DATES, "2026-10", OWNERS, None)
    assert team == pytest.approx(2 / 5)
    assert team != pytest.approx(5 / 12)


def test_close_rate_blank_period_takes_every_dated_row():
    # every row but row 10 (no date): won rows 1,4,7,9 = 4; lost rows 2,5,8 = 3 -> 4/7
    assert engine.close_rate(STAGES, CLOSE_DATES) == pytest.approx(4 / 7)
    assert engine.close_rate(STAGES, CLOSE_DATES, "") == pytest.approx(4 / 7)


def test_close_rate_without_closed_deals_is_none():
    # two open deals in October: won 0, lost 0 -> 0/0
    assert engine.close_rate(["Proposal", "Won?"], [D(2026, 10, 15), D(2026, 10, 16)],
                             "2026-10") is None
    # no rows at all in 2027
    assert engine.close_rate(STAGES, CLOSE_DATES, "2027") is None
    assert engine.close_rate([], []) is None


def test_close_rate_all_lost_is_zero_not_none():
    # won 0, lost 2 -> 0/2 = 0
    assert engine.close_rate(["Lost", "lost"], [D(2026, 1, 2), D(2026, 1, 3)]) == 0


def test_deals_won():
    # 2026-10 won: rows 1, 7 -> 2; Nov: row 4 -> 1; blank period: rows 1,4,7,9 -> 4
    assert engine.deals_won(STAGES, CLOSE_DATES, "2026-10") == 2
    assert engine.deals_won(STAGES, CLOSE_DATES, "2026-11") == 1
    assert engine.deals_won(STAGES, CLOSE_DATES) == 4
    # Anna (any case), any period: rows 1, 4, 9 won; row 10 Won but no date -> 3
    assert engine.deals_won(STAGES, CLOSE_DATES, None, OWNERS, "Anna") == 3
    # 2026-Q3 (Jul-Sep): row 9 only -> 1
    assert engine.deals_won(STAGES, CLOSE_DATES, "2026-Q3") == 1
    assert isinstance(engine.deals_won(STAGES, CLOSE_DATES), int)


WON = ["Won", "won", "WON", " Won ", "Closed Won", "closed won", "closed-won", "Closed_Won",
       "CLOSED-WON", "ClosedWon", "closed - won", "Успешно реализовано",
       "УСПЕШНО РЕАЛИЗОВАНО", "успешно_реализовано"]
LOST = ["Lost", "LOST", "Closed Lost", "closed-lost", "CLOSED_LOST", "Closed lost",
        "Закрыто и не реализовано", "ЗАКРЫТО И НЕ РЕАЛИЗОВАНО", "закрыто-и-не-реализовано"]
OPEN = ["Won?", "Won!", "Open", "Proposal", "Closed", "Not won", "Won deal", "Lost?",
        "Реализовано", "Успешно", "", "   ", None, 1, 0.0]


@pytest.mark.parametrize("stage", WON)
def test_won_spellings(stage):
    # one won row -> won 1, lost 0 -> 1/1; one deal won
    assert engine.close_rate([stage], [D(2026, 10, 1)]) == 1
    assert engine.deals_won([stage], [D(2026, 10, 1)]) == 1


@pytest.mark.parametrize("stage", LOST)
def test_lost_spellings(stage):
    # one lost row -> 0/1
    assert engine.close_rate([stage], [D(2026, 10, 1)]) == 0
    assert engine.deals_won([stage], [D(2026, 10, 1)]) == 0


@pytest.mark.parametrize("stage", OPEN)
def test_open_stages_are_left_out(stage):
    # the open row is neither won nor lost: with one lost row beside it -> 0/1, and alone 0/0
    assert engine.close_rate([stage, "Lost"], [D(2026, 10, 1), D(2026, 10, 2)]) == 0
    assert engine.close_rate([stage], [D(2026, 10, 1)]) is None
    assert engine.deals_won([stage], [D(2026, 10, 1)]) == 0


# --- period boundaries ---------------------------------------------------------------------

BOUNDARY_DATES = [DT(2026, 10, 31, 23, 59), D(2026, 11, 1), DT(2026, 10, 1, 0, 0),
                  DT(2026, 9, 30, 23, 59, 59), 46326.999, 46327.0, "2026-10-31",
                  "2026-11-01T00:00", None, "", "  "]


def test_month_boundaries():
    # October: rows 1 (Oct 31 23:59), 3 (Oct 1 00:00), 5 (serial 46326.999 = Oct 31 23:58),
    # 7 (ISO Oct 31) -> 4
    assert engine.sql_count(BOUNDARY_DATES, "2026-10") == 4
    # November: rows 2, 6 (serial 46327 = Nov 1), 8 (ISO Nov 1 midnight) -> 3
    assert engine.sql_count(BOUNDARY_DATES, "2026-11") == 3
    # September: row 4 -> 1
    assert engine.sql_count(BOUNDARY_DATES, "2026-09") == 1
    # blank period: every dated row, 8 (rows 9-11 blank)
    assert engine.sql_count(BOUNDARY_DATES) == 8
    # Q4 = Oct..Dec: 4 + 3 = 7; year 2026: 8
    assert engine.sql_count(BOUNDARY_DATES, "2026-Q4") == 7
    assert engine.sql_count(BOUNDARY_DATES, "2026") == 8
    assert engine.sql_count(BOUNDARY_DATES, 2026) == 8


def test_period_given_as_a_date_is_its_month():
    # a date inside October (or a serial, 46300.5 = Oct 5 noon) means October -> 4
    assert engine.sql_count(BOUNDARY_DATES, D(2026, 10, 17)) == 4
    assert engine.sql_count(BOUNDARY_DATES, DT(2026, 10, 31, 23, 59)) == 4
    assert engine.sql_count(BOUNDARY_DATES, 46300.5) == 4
    assert engine.sql_count(BOUNDARY_DATES, "2026-10-05") == 4


def test_leap_day_2028():
    dates = [D(2028, 2, 29), "2028-02-29", 46812.5, D(2028, 3, 1), 46813, D(2028, 2, 28)]
    # February 2028: rows 1, 2, 3 (serial 46812 = Feb 29), 6 -> 4
    assert engine.new_opportunities(dates, "2028-02") == 4
    # March 2028: rows 4, 5 -> 2
    assert engine.new_opportunities(dates, "2028-03") == 2
    # Q1 2028: all 6
    assert engine.new_opportunities(dates, "2028-Q1") == 6


def test_quarter_and_year_periods():
    dates = [D(2026, 9, 30), D(2026, 10, 1), D(2026, 12, 31), D(2027, 1, 1), D(2026, 1, 1),
             D(2025, 12, 31), None]
    owners = ["A", "B", "A", "A", "b", "A", "A"]
    # 2026-Q4: rows 2, 3 -> 2; 2026-Q3: row 1 -> 1; 2027-Q1: row 4 -> 1; 2026-Q1: row 5 -> 1
    assert engine.new_opportunities(dates, "2026-Q4") == 2
    assert engine.new_opportunities(dates, "2026-Q3") == 1
    assert engine.new_opportunities(dates, "2027-Q1") == 1
    assert engine.new_opportunities(dates, "2026q1") == 1
    # 2026: rows 1, 2, 3, 5 -> 4; 2025: row 6 -> 1
    assert engine.new_opportunities(dates, "2026") == 4
    assert engine.new_opportunities(dates, 2025.0) == 1
    # rep B in 2026: rows 2, 5 -> 2
    assert engine.new_opportunities(dates, "2026", owners, "B") == 2
    # whole team, blank period: 6 dated rows
    assert engine.new_opportunities(dates) == 6


def test_sql_count_owner_filter():
    dates = [D(2026, 10, 1), D(2026, 10, 2), D(2026, 10, 3), None, D(2026, 11, 1)]
    owners = ["Anna", "ANNA", "Boris", "Anna", "anna"]
    # Anna in Oct: rows 1, 2 -> 2 (row 4 undated, row 5 Nov)
    assert engine.sql_count(dates, "2026-10", owners, "anna") == 2
    # owners given but owner blank: the whole team, rows 1-3 -> 3
    assert engine.sql_count(dates, "2026-10", owners, None) == 3
    assert engine.sql_count(dates, "2026-10", owners, "") == 3
    # nobody called Vera -> 0
    assert engine.sql_count(dates, "2026-10", owners, "Vera") == 0


def test_numeric_owners_compare_as_in_countifs():
    # owner 7 matches the cells 7, 7.0 and "7": rows 1, 2, 3 -> 3
    assert engine.sql_count([D(2026, 1, 1)] * 4, None, [7, 7.0, "7", 8], 7) == 3


# --- spend ---------------------------------------------------------------------------------

SPEND = [1000, 500.5, None, 250, 99]
SPEND_DATES = [D(2026, 10, 1), DT(2026, 10, 31, 23, 59), D(2026, 10, 10), D(2026, 11, 1), None]
LEAD_DATES = [D(2026, 10, 1), D(2026, 10, 2), None, "", D(2026, 12, 5), "2026-10-31"]


def test_cost_per_lead():
    # Oct spend 1000 + 500.5 + 0 (blank) = 1500.5; Oct leads rows 1, 2, 6 = 3 -> 1500.5/3
    assert engine.cost_per_lead(SPEND, SPEND_DATES, LEAD_DATES, "2026-10") == pytest.approx(
        500.1666666666667)
    # Dec: spend 0, leads 1 (row 5) -> 0
    assert engine.cost_per_lead(SPEND, SPEND_DATES, LEAD_DATES, "2026-12") == 0
    # blank period: spend 1000 + 500.5 + 0 + 250 = 1750.5 (row 5 undated);
    # leads rows 1, 2, 5, 6 = 4 -> 437.625
    assert engine.cost_per_lead(SPEND, SPEND_DATES, LEAD_DATES) == pytest.approx(437.625)
    # Q4: spend 1750.5 / leads 4 -> 437.625
    assert engine.cost_per_lead(SPEND, SPEND_DATES, LEAD_DATES, "2026-Q4") == pytest.approx(
        437.625)


def test_cost_per_lead_without_leads_is_none():
    # Nov: spend 250, leads 0 -> 250/0
    assert engine.cost_per_lead(SPEND, SPEND_DATES, LEAD_DATES, "2026-11") is None
    assert engine.cost_per_lead([], [], [], None) is None


def test_customer_acquisition_cost():
    stages = ["Won", "Lost", "Closed Won", "Open", "won"]
    close_dates = [D(2026, 10, 5), D(2026, 10, 6), DT(2026, 10, 31, 23, 59), D(2026, 10, 7),
                   D(2026, 12, 1)]
    # Oct: spend 1500.5; won rows 1, 3 -> 750.25
    assert engine.customer_acquisition_cost(SPEND, SPEND_DATES, stages, close_dates,
                                            "2026-10") == pytest.approx(750.25)
    # Nov: spend 250, won 0 -> None
    assert engine.customer_acquisition_cost(SPEND, SPEND_DATES, stages, close_dates,
                                            "2026-11") is None
    # Dec: spend 0, won 1 -> 0
    assert engine.customer_acquisition_cost(SPEND, SPEND_DATES, stages, close_dates,
                                            "2026-12") == 0
    # blank period: spend 1750.5, won rows 1, 3, 5 -> 583.5
    assert engine.customer_acquisition_cost(SPEND, SPEND_DATES, stages,
                                            close_dates) == pytest.approx(583.5)


# --- won revenue and growth ----------------------------------------------------------------

AMOUNTS = [1000, 500, 9999, 1200, 600, 7777, 300, 200, 700, 50000, 4444, None]
DEAL_STAGES = ["Won", "Closed Won", "Closed Lost", "won", "WON", "Proposal", "closed-won",
               "Won", "Успешно реализовано", "Won", "Won", "Won"]
DEAL_DATES = [D(2025, 12, 5), DT(2025, 12, 31, 23, 59), D(2025, 12, 20), D(2026, 1, 1),
              D(2026, 1, 31), D(2026, 1, 15), D(2025, 11, 30), D(2025, 10, 1), D(2026, 3, 31),
              D(2025, 9, 30), None, D(2026, 3, 1)]
DEAL_OWNERS = ["Anna", "Boris", "Anna", "anna", "Boris", "Anna", "Anna", "Boris", "Anna",
               "Boris", "Anna", "Anna"]


def test_won_revenue():
    # 2026-01 won: rows 4, 5 -> 1200 + 600 = 1800
    assert engine.won_revenue(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2026-01") == 1800
    # 2025-12 won: rows 1, 2 (Dec 31 23:59) -> 1500; row 3 lost
    assert engine.won_revenue(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2025-12") == 1500
    # 2026-03: row 9 (700) + row 12 (blank amount = 0) -> 700
    assert engine.won_revenue(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2026-03") == 700
    # blank period: every dated won row: 1000+500+1200+600+300+200+700+50000+0 = 54500
    assert engine.won_revenue(AMOUNTS, DEAL_STAGES, DEAL_DATES) == 54500
    # Anna, 2026-Q1: rows 4, 9, 12 -> 1200 + 700 + 0 = 1900
    assert engine.won_revenue(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2026-Q1", DEAL_OWNERS,
                              "ANNA") == 1900
    # a nothing month -> 0
    assert engine.won_revenue(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2024-01") == 0
    # whole amounts read as whole numbers
    assert isinstance(engine.won_revenue(AMOUNTS, DEAL_STAGES, DEAL_DATES), int)
    # a fractional amount stays fractional: 0.5 + 0.25 = 0.75
    assert engine.won_revenue([0.5, 0.25], ["Won", "Won"], [D(2026, 1, 1)] * 2) == 0.75


def test_revenue_growth_month_across_the_year_boundary():
    # 2026-01: 1800 (rows 4, 5); 2025-12: 1500 (rows 1, 2) -> (1800 - 1500) / 1500 = 0.2
    assert engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2026-01") == pytest.approx(0.2)
    # a date in January means January too
    assert engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES,
                                 D(2026, 1, 20)) == pytest.approx(0.2)


def test_revenue_growth_quarter_across_the_year_boundary():
    # 2026-Q1: rows 4, 5, 9, 12 -> 1200 + 600 + 700 + 0 = 2500
    # 2025-Q4: rows 1, 2, 7, 8 -> 1000 + 500 + 300 + 200 = 2000 (row 10 is Sep 30, Q3)
    # (2500 - 2000) / 2000 = 0.25
    assert engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2026-Q1") == pytest.approx(
        0.25)


def test_revenue_growth_year():
    # 2026: 2500; 2025: 2000 + 50000 = 52000 -> (2500 - 52000) / 52000 = -49500/52000
    assert engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2026") == pytest.approx(
        -0.9519230769230769)
    assert engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES, 2026) == pytest.approx(
        -0.9519230769230769)


def test_revenue_growth_owner_filter():
    # Boris 2026-01: row 5 -> 600; Boris 2025-12: row 2 -> 500 -> 100/500 = 0.2
    assert engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2026-01", DEAL_OWNERS,
                                 "boris") == pytest.approx(0.2)
    # Anna 2026-01: row 4 -> 1200; Anna 2025-12: row 1 -> 1000 (row 3 lost) -> 0.2
    assert engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2026-01", DEAL_OWNERS,
                                 "Anna") == pytest.approx(0.2)
    # Anna 2025-12 vs 2025-11: 1000 vs 300 -> 700/300
    assert engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2025-12", DEAL_OWNERS,
                                 "Anna") == pytest.approx(7 / 3)


def test_revenue_growth_without_revenue_before_is_none():
    # 2025-09 (50000) vs 2025-08 (nothing) -> 50000/0
    assert engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2025-09") is None
    # 2025-08 vs 2025-07: 0/0
    assert engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2025-08") is None


def test_revenue_growth_to_nothing_is_minus_one():
    # 2026-02: nothing won; 2026-01: 1800 -> (0 - 1800) / 1800 = -1
    assert engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES, "2026-02") == -1


def test_revenue_growth_needs_a_period():
    with pytest.raises(InputError) as error:
        engine.revenue_growth(AMOUNTS, DEAL_STAGES, DEAL_DATES, None)
    assert str(error.value) == ("period: required here; give a month such as 2026-10, "
                                "a quarter such as 2026-Q4 or a year")


# --- retention and churn -------------------------------------------------------------------

# Period 2026-10: first day Oct 1, last day Oct 31.
CUSTOMERS = {  # name: (start, end, owner)
    "A": (D(2025, 5, 1), None, "Anna"),  # active all along: retained
    "B": (D(2026, 10, 1), None, "Boris"),  # starts on the first day: active, retained
    "C": (D(2026, 10, 2), D(2026, 10, 20), "Anna"),  # joins and churns inside: not counted
    "D": (D(2026, 1, 1), D(2026, 10, 31), "anna"),  # ends on the last day: churned
    "E": (D(2026, 1, 1), D(2026, 11, 1), "Boris"),  # ends the first day after: retained
    "F": (D(2025, 1, 1), D(2026, 10, 1), "Anna"),  # ends on the first day: not active then
    "G": (D(2026, 10, 2), None, "Anna"),  # joins inside: not counted
    "H": (None, None, "Anna"),  # no start date: never counts
    "I": (D(2026, 3, 1), "2026-10-15", "ANNA"),  # churns mid-period
    "J": (46023.25, 46326.5, "Boris"),  # serials: 2026-01-01 .. 2026-10-31 -> churned
    "K": ("2026-11-01", None, "Boris"),  # starts after the period: not counted
}
STARTS = [c[0] for c in CUSTOMERS.values()]
ENDS = [c[1] for c in CUSTOMERS.values()]
CUSTOMER_OWNERS = [c[2] for c in CUSTOMERS.values()]


def test_retention_and_churn():
    # active on Oct 1: A, B, D, E, I, J = 6; still active on Oct 31: A, B, E = 3 -> 3/6
    assert engine.retention_rate(STARTS, ENDS, "2026-10") == pytest.approx(0.5)
    assert engine.churn_rate(STARTS, ENDS, "2026-10") == pytest.approx(0.5)


def test_retention_owner_filter():
    # Anna: active on Oct 1: A, D, I = 3; still on Oct 31: A = 1 -> 1/3, churn 2/3
    assert engine.retention_rate(STARTS, ENDS, "2026-10", CUSTOMER_OWNERS,
                                 "anna") == pytest.approx(1 / 3)
    assert engine.churn_rate(STARTS, ENDS, "2026-10", CUSTOMER_OWNERS,
                             "ANNA") == pytest.approx(2 / 3)
    # Boris: active on Oct 1: B, E, J = 3; still: B, E = 2 -> 2/3, churn 1/3
    assert engine.retention_rate(STARTS, ENDS, "2026-10", CUSTOMER_OWNERS,
                                 "Boris") == pytest.approx(2 / 3)
    assert engine.churn_rate(STARTS, ENDS, "2026-10", CUSTOMER_OWNERS,
                             "Boris") == pytest.approx(1 / 3)


def test_retention_quarter_and_year():
    # 2026-Q4 (Oct 1 .. Dec 31): active on Oct 1: A, B, D, E, I, J = 6;
    # on Dec 31: A, B (E ended Nov 1) = 2 -> 1/3
    assert engine.retention_rate(STARTS, ENDS, "2026-Q4") == pytest.approx(1 / 3)
    # 2026 (Jan 1 .. Dec 31): active on Jan 1: A, D (starts Jan 1), E, F, J = 5
    # (I starts Mar 1, B Oct 1); on Dec 31: A = 1 -> 1/5, churn 4/5
    assert engine.retention_rate(STARTS, ENDS, "2026") == pytest.approx(0.2)
    assert engine.churn_rate(STARTS, ENDS, 2026) == pytest.approx(0.8)
    # 2026-11 (Nov 1 .. Nov 30): active on Nov 1: A, B, G, K (starts Nov 1) = 4
    # (E ends Nov 1: not active); all four still on Nov 30 -> 1, churn 0
    assert engine.retention_rate(STARTS, ENDS, "2026-11") == 1
    assert engine.churn_rate(STARTS, ENDS, "2026-11") == 0


def test_retention_with_nobody_active_is_none():
    # 2020-01: nobody has started -> 0/0
    assert engine.retention_rate(STARTS, ENDS, "2020-01") is None
    assert engine.churn_rate(STARTS, ENDS, "2020-01") is None
    assert engine.retention_rate([], [], "2026-10") is None


def test_retention_needs_a_period():
    with pytest.raises(InputError, match=r"^period: required here"):
        engine.retention_rate(STARTS, ENDS, None)
    with pytest.raises(InputError, match=r"^period: required here"):
        engine.churn_rate(STARTS, ENDS, "  ")


# --- emails --------------------------------------------------------------------------------

SENT = [100, 50, None, 30, 20]
BOUNCED = [10, None, 0, 5, 20]
OPENED = [45, 20, 3, 10, 0]
REPLIED = [5, 2, 1, 0, 0]
POSITIVE = [2, 1, 1, 0, 0]
EMAIL_DATES = [D(2026, 10, 1), DT(2026, 10, 31, 23, 59), "2026-10-15", D(2026, 11, 1), None]
EMAIL_OWNERS = ["Anna", "anna", "Boris", "Anna", "Anna"]


def test_emails_delivered():
    # Oct: rows 1-3: sent 100 + 50 + 0 = 150, bounced 10 + 0 + 0 = 10 -> 140
    assert engine.emails_delivered(SENT, BOUNCED, EMAIL_DATES, "2026-10") == 140
    # blank period: rows 1-4: sent 180, bounced 15 -> 165 (row 5 undated)
    assert engine.emails_delivered(SENT, BOUNCED, EMAIL_DATES) == 165
    # Anna, Oct: rows 1, 2: 150 - 10 = 140; Boris: row 3: 0 - 0 = 0
    assert engine.emails_delivered(SENT, BOUNCED, EMAIL_DATES, "2026-10", EMAIL_OWNERS,
                                   "ANNA") == 140
    assert engine.emails_delivered(SENT, BOUNCED, EMAIL_DATES, "2026-10", EMAIL_OWNERS,
                                   "Boris") == 0
    assert isinstance(engine.emails_delivered(SENT, BOUNCED, EMAIL_DATES), int)


def test_positive_replies():
    # Oct: 2 + 1 + 1 = 4; blank period: rows 1-4 = 4; Anna Oct: 2 + 1 = 3; Dec: 0
    assert engine.positive_replies(POSITIVE, EMAIL_DATES, "2026-10") == 4
    assert engine.positive_replies(POSITIVE, EMAIL_DATES) == 4
    assert engine.positive_replies(POSITIVE, EMAIL_DATES, "2026-10", EMAIL_OWNERS, "anna") == 3
    assert engine.positive_replies(POSITIVE, EMAIL_DATES, "2026-12") == 0


def test_email_open_rate():
    # Oct: opened 45 + 20 + 3 = 68 over delivered 140
    assert engine.email_open_rate(OPENED, SENT, BOUNCED, EMAIL_DATES,
                                  "2026-10") == pytest.approx(68 / 140)
    # Anna Oct: opened 65 over 140
    assert engine.email_open_rate(OPENED, SENT, BOUNCED, EMAIL_DATES, "2026-10", EMAIL_OWNERS,
                                  "Anna") == pytest.approx(65 / 140)
    # blank period: opened 45+20+3+10 = 78 over 165
    assert engine.email_open_rate(OPENED, SENT, BOUNCED, EMAIL_DATES) == pytest.approx(78 / 165)


def test_email_reply_rate():
    # Oct: replied 5 + 2 + 1 = 8 over 140; Nov: 0 over 25 = 0
    assert engine.email_reply_rate(REPLIED, SENT, BOUNCED, EMAIL_DATES,
                                   "2026-10") == pytest.approx(8 / 140)
    assert engine.email_reply_rate(REPLIED, SENT, BOUNCED, EMAIL_DATES, "2026-11") == 0
    # Q4: replied 8 over 140 + 25 = 165
    assert engine.email_reply_rate(REPLIED, SENT, BOUNCED, EMAIL_DATES,
                                   "2026-Q4") == pytest.approx(8 / 165)


def test_email_rates_without_deliveries_are_none():
    # Dec: nothing sent -> 0/0
    assert engine.email_open_rate(OPENED, SENT, BOUNCED, EMAIL_DATES, "2026-12") is None
    assert engine.email_reply_rate(REPLIED, SENT, BOUNCED, EMAIL_DATES, "2026-12") is None
    # Boris, Oct: row 3 sent blank, bounced 0 -> delivered 0, opened 3 -> 3/0
    assert engine.email_open_rate(OPENED, SENT, BOUNCED, EMAIL_DATES, "2026-10", EMAIL_OWNERS,
                                  "Boris") is None
    # every email bounced: 20 - 20 = 0
    assert engine.email_open_rate([0], [20], [20], [D(2026, 1, 1)]) is None
    assert engine.email_reply_rate([0], [20], [20], [D(2026, 1, 1)]) is None
    assert engine.emails_delivered([20], [20], [D(2026, 1, 1)]) == 0


# --- attainment ----------------------------------------------------------------------------

@pytest.mark.parametrize(("actual", "target", "direction", "expected"), [
    (80, 100, "up", 0.8),  # 80/100
    (125, 100, "up", 1.25),  # 125/100
    (0, 100, "up", 0.0),  # 0/100: an "up" KPI at zero is 0 %, not blank
    (0.3, 0.25, None, 1.2),  # direction blank = up: 0.3/0.25
    (0.3, 0.25, "", 1.2),
    (125, 100, "down", 0.8),  # target/actual = 100/125
    (80, 100, "down", 1.25),  # 100/80
    (80, 100, " DOWN ", 1.25),
    (50, 100, "Up", 0.5),
    (0, 100, "down", 1.0),  # a "down" KPI at 0 beats the target: met
    (0, 0.01, "down", 1.0),
])
def test_attainment(actual, target, direction, expected):
    assert goals.attainment(actual, target, direction) == pytest.approx(expected)


@pytest.mark.parametrize("target", [None, "", "  ", 0, 0.0, -5])
@pytest.mark.parametrize("direction", ["up", "down"])
def test_attainment_without_a_positive_target_is_none(target, direction):
    assert goals.attainment(80, target, direction) is None
    assert goals.attainment(0, target, direction) is None


@pytest.mark.parametrize("direction", ["up", "down"])
def test_attainment_without_an_actual_is_none(direction):
    assert goals.attainment(None, 100, direction) is None
    assert goals.attainment("", 100, direction) is None


def test_attainment_default_direction_is_up():
    assert goals.attainment(30, 40) == pytest.approx(0.75)  # 30/40


def test_attainment_bad_direction():
    with pytest.raises(InputError) as error:
        goals.attainment(1, 2, "sideways")
    assert str(error.value) == (
        "direction: 'sideways' is not \"up\", \"down\" or \"growth\"")


def test_attainment_text_target():
    with pytest.raises(InputError) as error:
        goals.attainment(1, "n/a", "up")
    assert str(error.value) == "target: 'n/a' is not a number"
    with pytest.raises(InputError) as error:
        goals.attainment("lots", 5, "down")
    assert str(error.value) == "actual: 'lots' is not a number"


# --- bad input -----------------------------------------------------------------------------

def message(call, *args):
    with pytest.raises(InputError) as error:
        call(*args)
    return str(error.value)


def test_lengths_differ():
    assert message(engine.close_rate, ["Won", "Lost", "Open"], [D(2026, 1, 1)] * 2) == (
        "stages and dates differ in length: 3 vs 2")
    assert message(engine.deals_won, ["Won"], [D(2026, 1, 1)] * 2) == (
        "stages and close_dates differ in length: 1 vs 2")
    assert message(engine.won_revenue, [1, 2], ["Won"], [D(2026, 1, 1)] * 2) == (
        "amounts and stages differ in length: 2 vs 1")
    assert message(engine.cost_per_lead, [1, 2], [D(2026, 1, 1)], []) == (
        "spend and spend_dates differ in length: 2 vs 1")
    assert message(engine.retention_rate, [D(2026, 1, 1)], [], "2026-01") == (
        "start_dates and end_dates differ in length: 1 vs 0")
    assert message(engine.email_open_rate, [1], [1, 2], [0, 0], [None, None]) == (
        "opened and sent differ in length: 1 vs 2")
    assert message(engine.emails_delivered, [1, 2], [0, 0], [None]) == (
        "sent and dates differ in length: 2 vs 1")


def test_not_a_date():
    assert message(engine.close_rate, ["Won", "Lost"], ["2026-10-01", "soon"]) == (
        "dates row 2: 'soon' is not a date")
    assert message(engine.sql_count, [46300, True]) == "sql_dates row 2: True is not a date"
    assert message(engine.new_opportunities, [46300, 0]) == (
        "created_dates row 2: 0 is not a date")
    assert message(engine.deals_won, ["Won"], ["2026-02-30"]) == (
        "close_dates row 1: '2026-02-30' is not a date")
    assert message(engine.retention_rate, [D(2026, 1, 1), -3], [None, None], "2026-01") == (
        "start_dates row 2: -3 is not a date")
    assert message(engine.cost_per_lead, [1], [D(2026, 1, 1)], ["15.10.2026"]) == (
        "lead_dates row 1: '15.10.2026' is not a date")


def test_not_a_number():
    # Each bad cell is in a row that counts (dated; for amounts also won), so it is read.
    assert message(engine.emails_delivered, ["ten", 5], [0, 0], [46300, 46300]) == (
        "sent row 1: 'ten' is not a number")
    assert message(engine.emails_delivered, [10, 5], [0, "x"], [46300, 46300]) == (
        "bounced row 2: 'x' is not a number")
    assert message(engine.won_revenue, [1, True], ["Won", "Won"], [46300, 46300]) == (
        "amounts row 2: True is not a number")
    assert message(engine.cost_per_lead, [float("nan")], [46300], []) == (
        "spend row 1: nan is not a number")
    # the row number is the row in the column, also when only some rows are read
    assert message(engine.positive_replies, [1, 2, 3, "lots"], [46000, 46300, 46000, 46301],
                   "2026-10") == "positive row 4: 'lots' is not a number"


def test_a_bad_cell_in_a_row_that_does_not_count_is_ignored():
    # As SUMIFS / COUNTIFS in the workbook: a number, stage or owner cell is read only in the
    # rows that count. Row 2 is dated 2025-12-09 (46000), outside 2026-10; row 3 is undated.
    assert engine.emails_delivered([10, "ten", "x"], [1, True, None], [46300, 46000, None],
                                   "2026-10") == 9  # row 1: 10 - 1
    assert engine.won_revenue([100, "lots", float("nan")], ["Won", "Won", "Lost"],
                              [46300, 46000, 46300], "2026-10") == 100  # row 3 is lost
    assert engine.cost_per_lead([50, "n/a"], [46300, None], [46300]) == 50
    assert engine.revenue_growth([300, 100, "x"], ["Won", "Won", "Won"],
                                 [46300, 46296 - 1, 46000], "2026-10") == pytest.approx(2.0)
    # ... while a bad date is an error wherever it is: the dates pick the rows
    assert message(engine.emails_delivered, [1, 2], [0, 0], [46300, "soon"], "2026-10") == (
        "dates row 2: 'soon' is not a date")


def test_integers_past_the_float_range():
    # Python ints have no limit; past about 1.8e308 no float holds them.
    assert message(engine.emails_delivered, [10**400], [0], [46300]) == (
        "sent row 1: 1.000e+400 is too large a number")
    assert message(engine.new_opportunities, [46300, -10**400]) == (
        "created_dates row 2: -1.000e+400 is not a date")
    assert message(engine.new_opportunities, [46300], 10**400) == (
        "period: 1.000e+400 is not a period; use 2026-10, 2026-Q4, 2026 or a date")
    assert message(goals.attainment, 10**400, 5) == "actual: 1.000e+400 is too large a number"
    assert engine.deals_won(["Won"], [46300], None, ["Anna"], 10**400) == 0
    assert engine.deals_won(["Won"], [46300], None, [10**400], 10**400) == 1


@pytest.mark.parametrize("call", [
    (engine.emails_delivered, [1e308, 1e308], [0, 0], [46300, 46300]),
    (engine.won_revenue, [1e308, 1e308], ["Won", "Won"], [46300, 46300]),
    (engine.cost_per_lead, [1e308, 1e308], [46300, 46300], [46300]),
    (engine.email_open_rate, [1e308], [1e-300], [0], [46300]),
    (engine.revenue_growth, [1e308, -1e308], ["Won", "Won"], [46300, 46280], 46300),
    (goals.attainment, 1e308, 1e-308),
    (goals.attainment, 1e-308, 1e308, "down"),
], ids=["sum", "won-revenue", "cost-per-lead", "ratio", "growth", "attainment", "down"])
def test_results_past_the_float_range_raise(call):
    # Excel shows #NUM! for a result past the range of numbers; the engine never returns inf
    function, *args = call
    with pytest.raises(engine.ResultTooLarge):
        function(*args)


def test_numpy_numbers_as_a_period():
    np = pytest.importorskip("numpy")
    for period in (np.int64(2026), np.int32(2026), np.float32(2026.0), np.float64(2026.0)):
        assert engine.deals_won(["Won"], [46100], period) == 1  # 46100 = 2026-03-19
    assert engine.deals_won(["Won"], [46100], np.int64(46300)) == 0  # a serial: 2026-10


@pytest.mark.parametrize("period", ["next month", "2026-13", "2026-Q5", "Q4", "1899", 0, -1,
                                    True, 0.5])
def test_not_a_period(period):
    assert message(engine.sql_count, [D(2026, 1, 1)], period) == (
        f"period: {period!r} is not a period; use 2026-10, 2026-Q4, 2026 or a date")


def test_unknown_period_message_exactly():
    assert message(engine.close_rate, ["Won"], [D(2026, 1, 1)], "next month") == (
        "period: 'next month' is not a period; use 2026-10, 2026-Q4, 2026 or a date")


def test_owner_without_owner_column():
    assert message(engine.sql_count, [D(2026, 1, 1)], None, None, "Anna") == (
        "owners: give the owner column to filter by owner 'Anna'")
    assert message(engine.sql_count, [D(2026, 1, 1)], None, [], "Anna") == (
        "owners: give the owner column to filter by owner 'Anna'")


def test_owner_column_of_another_length():
    assert message(engine.close_rate, ["Won", "Lost"], [None, None], None, ["A", "B", "C"],
                   "A") == "owners has 3 rows but the other columns have 2"


# --- conversions owned by columns.py -------------------------------------------------------
# The first two pin bugs in xlkpi/columns.py (not edited here): they fail until it is fixed.

def test_empty_tables_filtered_by_owner():
    # A table with no rows yet, filtered by rep: nothing counts, rates have nothing to divide.
    # columns.owner_mask takes the empty owner column for a missing one and raises
    # "owners: give the owner column to filter by owner 'Anna'".
    assert engine.sql_count([], None, [], "Anna") == 0
    assert engine.won_revenue([], [], [], "2026-10", [], "Anna") == 0
    assert engine.close_rate([], [], "2026-10", [], "Anna") is None
    assert engine.retention_rate([], [], "2026-10", [], "Anna") is None


@pytest.mark.parametrize("stage", ["Closed\u00a0Won", "Won\u00a0", "Won\n", "\tClosed Won",
                                   "Успешно\u00a0реализовано"])
def test_won_stage_with_other_whitespace(stage):
    # a no-break space (CRM exports, Excel text pasted from the web) or a tab/newline is still
    # a space to the person reading the cell: won 1, lost 0 -> 1/1.
    # columns._NON_WORD removes only ' ', '-' and '_', so these count as open (None, 0 deals).
    assert engine.close_rate([stage], [D(2026, 10, 1)]) == 1
    assert engine.deals_won([stage], [D(2026, 10, 1)]) == 1


def test_object_arrays_are_columns_too():
    np = pytest.importorskip("numpy")
    # The engine takes "lists, tuples or arrays"; an object array of numbers and blanks (what
    # numpy makes of an Excel column with empty cells) must convert like the list.
    # (A guard: an earlier columns.py called values.count(None), which an ndarray lacks.)
    sent = np.array([100.0, None, 30.0], dtype=object)
    bounced = np.array([10.0, 5.0, None], dtype=object)
    dates = np.array([46300.0, 46300.5, None], dtype=object)  # Oct 5, Oct 5, blank
    # rows 1, 2 dated: sent 100 + 0, bounced 10 + 5 -> 85
    assert engine.emails_delivered(sent, bounced, dates) == 85


def test_a_sum_a_rounding_away_from_whole_is_whole():
    # 0.1 added 29,010 times is 2900.9999999999... in binary floating point; the cells are 2,901
    # worth of tenths, and report and engine (summing in different orders) must both say 2901.
    assert engine.whole(sum([0.1] * 29010)) == 2901
    assert type(engine.whole(sum([0.1] * 29010))) is int
    assert engine.whole(2900.5) == 2900.5
    assert engine.whole(1e-10) == 1e-10  # tiny is not zero
    assert engine.whole(-2901.0) == -2901

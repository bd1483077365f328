"""The report on a small tracker whose every number is worked out by hand below.

Fiscal year 2026 from January, reps Anna and Boris, as of 2026-02-15: YTD is January-February.
The expected values are written as the arithmetic that gives them, from the rows listed here.
"""

import datetime as dt
import json

import pytest

from xlkpi import report
from xlkpi.core import kpis
from xlkpi.core.errors import InputError
from xlkpi.core.kpis import Kpi
from xlkpi.core.recipes import LOST, Actual, Count, Plus, Ratio
from xlkpi.report import Report
from xlkpi.slices import Sheet
from xlkpi.tracker import model as layout
from xlkpi.tracker.model import DataSheet, Settings, TargetRow, Tracker

D = dt.date
BLANK = [None] * 10


def months(*first):
    """12 monthly target cells: the given ones first, the rest blank."""
    return list(first) + [None] * (12 - len(first))


def sheet(name, rows):
    return DataSheet(list(layout.DATA_COLUMNS[name]), [list(row) for row in rows])


def tracker(**changes) -> Tracker:
    data = {
        # Lead, Owner, LeadDate, SQLDate, Source
        layout.LEADS: [
            ("L1", "Anna", D(2026, 1, 5), D(2026, 1, 20), "Web"),
            ("L2", "anna", dt.datetime(2026, 1, 10, 15, 30), None, "Web"),
            ("L3", "Boris", dt.datetime(2026, 1, 31, 23, 59), D(2026, 2, 3), "Ads"),
            ("L4", "Boris", D(2026, 2, 2), D(2026, 2, 10), "Ads"),
            ("L5", None, D(2026, 2, 20), None, "Web"),  # unassigned: counts for the team only
        ],
        # SpendDate, Spend, Channel
        layout.SPEND: [
            (D(2026, 1, 5), 300, "Ads"),
            (D(2026, 1, 19), 100.0, "Web"),
            (D(2026, 2, 2), 250, "Ads"),
            (D(2025, 12, 29), 999, "Ads"),  # before the year
        ],
        # Opportunity, Owner, CreatedDate, CloseDate, Stage, Amount
        layout.OPPORTUNITIES: [
            ("O1", "Anna", D(2025, 11, 10), D(2025, 12, 15), "Won", 1000),
            ("O2", "Anna", D(2025, 12, 1), D(2026, 1, 10), "Closed Won", 2000),
            ("O3", "Anna", D(2026, 1, 5), D(2026, 1, 25), "Lost", 500),
            ("O4", "Boris", D(2026, 1, 12), D(2026, 1, 30), "closed-won", 3000),
            ("O5", "Boris", D(2026, 1, 20), D(2026, 2, 14), "Закрыто и не реализовано", 800),
            ("O6", "BORIS", D(2026, 2, 1), D(2026, 2, 20), "Успешно реализовано", 1500),
            ("O7", "Anna", D(2026, 2, 5), None, "Negotiation", 4000),
            ("O8", "Anna", D(2025, 1, 10), D(2025, 1, 20), "Won", 400),
            ("O9", "Boris", D(2025, 2, 3), D(2025, 2, 18), "Won", 600),
        ],
        # SendDate, Owner, Sent, Bounced, Opened, Replied, Positive
        layout.EMAILS: [
            (D(2026, 1, 5), "Anna", 100, 10, 45, 9, 3),
            (D(2026, 1, 6), "Boris", 50, 0, 20, 5, 1),
            (D(2026, 2, 2), "Anna", 80, 5, 30, 6, 2),
            (D(2026, 2, 3), "Boris", 40, 4, 18, 3, None),  # a blank counts as 0
        ],
        # Customer, Owner, StartDate, EndDate
        layout.CUSTOMERS: [
            ("C1", "Anna", D(2025, 3, 1), None),
            ("C2", "Anna", D(2025, 6, 1), D(2026, 1, 15)),
            ("C3", "Boris", D(2025, 9, 1), None),
            ("C4", "Boris", D(2026, 1, 10), None),
            ("C5", "Boris", D(2025, 10, 1), D(2026, 2, 28)),
            ("C6", "Anna", D(2025, 1, 1), D(2026, 1, 1)),  # gone on Jan 1: not active then
        ],
    }
    data.update(changes)
    targets = [
        TargetRow("Team", "cost_per_lead", months(120, 100)),
        TargetRow("Team", "deals_won", months(2, 2, 2)),
        TargetRow("Team", "sql_count", months(0, 0)),
        TargetRow("Anna", "won_revenue", months(1000, None, 5000)),
        TargetRow("Anna", "retention_rate", months("TBD", 0.9)),
        TargetRow("boris", "churn_rate", months(0.1, 0.25)),
    ]
    settings = Settings(year=2026, fiscal_start=1, currency="EUR", reps=["Anna", "Boris"],
                        as_of=D(2026, 2, 15))
    return Tracker(settings, targets, {name: sheet(name, rows) for name, rows in data.items()})


JAN, FEB, YTD = "2026-01", "2026-02", "YTD"

# (kpi, who, period): expected actual, worked by hand from the rows above.
EXPECTED = {
    # spend in period ÷ leads created in period
    ("cost_per_lead", "Team", JAN): (300 + 100) / 3,  # L1, L2, L3 (Jan 31 23:59 is January)
    ("cost_per_lead", "Team", FEB): 250 / 2,  # L4, L5
    ("cost_per_lead", "Team", YTD): 650 / 5,
    # spend ÷ deals won closing in period
    ("customer_acquisition_cost", "Team", JAN): 400 / 2,  # O2, O4
    ("customer_acquisition_cost", "Team", FEB): 250 / 1,  # O6
    ("customer_acquisition_cost", "Team", YTD): 650 / 3,
    # SQL dates in period
    ("sql_count", "Team", JAN): 1,  # L1
    ("sql_count", "Team", FEB): 2,  # L3, L4
    ("sql_count", "Team", YTD): 3,
    ("sql_count", "Anna", JAN): 1,
    ("sql_count", "Anna", FEB): 0,
    ("sql_count", "Boris", YTD): 2,
    # won ÷ (won + lost) by close date; O7 is open
    ("close_rate", "Team", JAN): 2 / 3,  # O2 won, O3 lost, O4 won
    ("close_rate", "Team", FEB): 1 / 2,  # O5 lost, O6 won
    ("close_rate", "Team", YTD): 3 / 5,  # pooled, not the mean of Anna's and Boris's rates
    ("close_rate", "Anna", JAN): 1 / 2,
    ("close_rate", "Anna", FEB): None,  # nothing closed
    ("close_rate", "Anna", YTD): 1 / 2,
    ("close_rate", "Boris", JAN): 1.0,
    ("close_rate", "Boris", FEB): 1 / 2,  # "BORIS" is Boris
    ("close_rate", "Boris", YTD): 2 / 3,
    # active at start: start <= d and (no end or end > d)
    ("retention_rate", "Team", JAN): 3 / 4,  # C1 C2 C3 C5 at Jan 1; C2 gone by Jan 31
    ("retention_rate", "Team", FEB): 3 / 4,  # C1 C3 C4 C5 at Feb 1; C5 gone on Feb 28
    ("retention_rate", "Team", YTD): 2 / 4,  # C1 C2 C3 C5 at Jan 1; C1 C3 left at Feb 28
    ("retention_rate", "Anna", JAN): 1 / 2,  # C1 C2 -> C1
    ("retention_rate", "Anna", FEB): 1.0,  # C1
    ("retention_rate", "Anna", YTD): 1 / 2,
    ("churn_rate", "Team", JAN): 1 - 3 / 4,
    ("churn_rate", "Boris", JAN): 0.0,  # C3 C5 both stay
    ("churn_rate", "Boris", FEB): 1 - 2 / 3,  # C3 C4 C5 -> C3 C4
    ("churn_rate", "Boris", YTD): 1 - 1 / 2,  # C3 C5 -> C3
    # sent − bounced
    ("emails_delivered", "Team", JAN): (100 - 10) + (50 - 0),
    ("emails_delivered", "Team", FEB): (80 - 5) + (40 - 4),
    ("emails_delivered", "Team", YTD): 140 + 111,
    ("emails_delivered", "Anna", YTD): 90 + 75,
    ("emails_delivered", "Boris", FEB): 36,
    ("positive_replies", "Team", JAN): 3 + 1,
    ("positive_replies", "Team", FEB): 2 + 0,
    ("positive_replies", "Boris", YTD): 1,
    # opened ÷ delivered; replied ÷ delivered
    ("email_open_rate", "Team", JAN): (45 + 20) / 140,
    ("email_open_rate", "Team", YTD): (45 + 20 + 30 + 18) / 251,
    ("email_open_rate", "Anna", FEB): 30 / 75,
    ("email_open_rate", "Boris", FEB): 18 / 36,
    ("email_reply_rate", "Team", JAN): (9 + 5) / 140,
    ("email_reply_rate", "Team", FEB): (6 + 3) / 111,
    ("email_reply_rate", "Anna", YTD): (9 + 6) / 165,
    # created in period
    ("new_opportunities", "Team", JAN): 3,  # O3 O4 O5
    ("new_opportunities", "Team", FEB): 2,  # O6 O7
    ("new_opportunities", "Anna", YTD): 2,  # O3 O7
    ("new_opportunities", "Boris", YTD): 3,  # O4 O5 O6
    # won, close date in period
    ("deals_won", "Team", JAN): 2,
    ("deals_won", "Team", FEB): 1,
    ("deals_won", "Team", YTD): 3,
    ("deals_won", "Anna", FEB): 0,
    ("won_revenue", "Team", JAN): 2000 + 3000,
    ("won_revenue", "Team", FEB): 1500,
    ("won_revenue", "Team", YTD): 6500,
    ("won_revenue", "Anna", FEB): 0,
    ("won_revenue", "Boris", YTD): 3000 + 1500,
    # (now − before) ÷ before; YTD's "before" is Jan-Feb 2025
    ("revenue_growth", "Team", JAN): (5000 - 1000) / 1000,  # December: O1
    ("revenue_growth", "Team", FEB): (1500 - 5000) / 5000,
    ("revenue_growth", "Team", YTD): (6500 - (400 + 600)) / (400 + 600),  # O8, O9
    ("revenue_growth", "Anna", JAN): (2000 - 1000) / 1000,
    ("revenue_growth", "Anna", FEB): (0 - 2000) / 2000,
    ("revenue_growth", "Anna", YTD): (2000 - 400) / 400,
    ("revenue_growth", "Boris", JAN): None,  # Boris won nothing in December
    ("revenue_growth", "Boris", FEB): (1500 - 3000) / 3000,
    ("revenue_growth", "Boris", YTD): (4500 - 600) / 600,
}


@pytest.mark.parametrize("key", list(EXPECTED), ids=lambda key: "-".join(key))
def test_actual_worked_by_hand(key):
    kpi, who, period = key
    got = report.actual(tracker(), kpi, who, period)
    want = EXPECTED[key]
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_counts_are_whole_numbers():
    assert report.actual(tracker(), "deals_won", "Team", JAN) == 2
    assert isinstance(report.actual(tracker(), "deals_won", "Team", JAN), int)


def rows_by_key(rows):
    return {(row["rep"], row["kpi"], row["period"]): row for row in rows}


def test_targets_and_attainment_worked_by_hand():
    rows = rows_by_key(report.report(tracker()))
    # Team cost per lead ("down"): target ÷ actual
    assert rows["Team", "cost_per_lead", JAN]["target"] == 120
    assert rows["Team", "cost_per_lead", JAN]["attainment"] == pytest.approx(120 / (400 / 3))
    assert rows["Team", "cost_per_lead", FEB]["attainment"] == pytest.approx(100 / 125)
    # YTD target of a cost is the mean of Jan and Feb: 110; actual 650 / 5 = 130
    assert rows["Team", "cost_per_lead", YTD]["target"] == pytest.approx(110)
    assert rows["Team", "cost_per_lead", YTD]["attainment"] == pytest.approx(110 / 130)
    # counts add up: YTD target 2 + 2 = 4 (March's 2 is after the as-of month)
    assert rows["Team", "deals_won", FEB]["attainment"] == pytest.approx(1 / 2)
    assert rows["Team", "deals_won", YTD]["target"] == 4
    assert rows["Team", "deals_won", YTD]["attainment"] == pytest.approx(3 / 4)
    # a target of 0 gives no attainment (blank, not 0 %)
    assert rows["Team", "sql_count", JAN]["target"] == 0
    assert rows["Team", "sql_count", JAN]["attainment"] is None
    # a blank month has no target; YTD leaves it out: 1000 alone
    assert rows["Anna", "won_revenue", JAN]["attainment"] == pytest.approx(2000 / 1000)
    assert rows["Anna", "won_revenue", FEB]["target"] is None
    assert rows["Anna", "won_revenue", FEB]["attainment"] is None
    assert rows["Anna", "won_revenue", YTD]["target"] == 1000
    # a note ("TBD") is no target; retention YTD compounds the typed months: 0.9
    assert rows["Anna", "retention_rate", JAN]["target"] is None
    assert rows["Anna", "retention_rate", FEB]["attainment"] == pytest.approx(1.0 / 0.9)
    assert rows["Anna", "retention_rate", YTD]["target"] == pytest.approx(0.9)
    assert rows["Anna", "retention_rate", YTD]["attainment"] == pytest.approx(0.5 / 0.9)
    # churn ("down"), target row typed as "boris": an actual of 0 beats the target
    assert rows["Boris", "churn_rate", JAN]["attainment"] == 1.0
    assert rows["Boris", "churn_rate", FEB]["attainment"] == pytest.approx(0.25 / (1 / 3))
    # YTD churn target compounds: 1 − (1 − 0.1)(1 − 0.25) = 0.325; actual 0.5
    assert rows["Boris", "churn_rate", YTD]["target"] == pytest.approx(0.325)
    assert rows["Boris", "churn_rate", YTD]["attainment"] == pytest.approx(0.325 / 0.5)
    # no target row at all
    assert rows["Boris", "deals_won", JAN]["target"] is None


def test_default_periods_run_through_the_as_of_month_then_ytd():
    rows = report.report(tracker())
    assert list(dict.fromkeys(row["period"] for row in rows)) == [JAN, FEB, YTD]
    assert list(rows[0]) == ["rep", "kpi", "period", "target", "actual", "attainment"]


def test_all_periods_and_order():
    rows = report.report(tracker(), period="all")
    periods = list(dict.fromkeys(row["period"] for row in rows))
    assert periods == [f"2026-{m:02d}" for m in range(1, 13)] + [YTD]
    assert list(dict.fromkeys(row["rep"] for row in rows)) == ["Team", "Anna", "Boris"]
    team_kpis = {row["kpi"] for row in rows if row["rep"] == "Team"}
    anna_kpis = {row["kpi"] for row in rows if row["rep"] == "Anna"}
    assert len(team_kpis) == 17  # the seed's nine as 14 rows, and the 3 funnel KPIs
    # spend has no owner: cost per lead and CAC are team figures
    assert anna_kpis == team_kpis - {"cost_per_lead", "customer_acquisition_cost"}
    assert len(rows) == (17 + 15 + 15) * 13


def test_filters():
    rows = report.report(tracker(), period="2026-2", rep="anna")
    assert {(row["rep"], row["period"]) for row in rows} == {("Anna", FEB)}
    assert len(rows) == 15  # the rep's KPIs
    assert {row["period"] for row in report.report(tracker(), period="ytd")} == {YTD}
    assert {row["rep"] for row in report.report(tracker(), rep="TEAM")} == {"Team"}


def test_fiscal_year_starting_in_april():
    t = tracker()
    t.settings.fiscal_start = 4
    t.settings.as_of = D(2027, 2, 1)  # the 11th fiscal month
    periods = list(dict.fromkeys(row["period"] for row in report.report(t)))
    assert periods[0] == "2026-04" and periods[-2] == "2027-02" and periods[-1] == YTD
    assert len(periods) == 12
    with pytest.raises(InputError, match="2026-04 to 2027-03"):
        report.report(t, period="2026-03")


def test_ytd_follows_today_when_there_is_no_as_of_date():
    t = tracker()
    t.settings.as_of = None
    r = Report(t, today=D(2026, 1, 31))
    assert r.actual("deals_won", "Team", YTD) == 2  # January only
    assert Report(t, today=D(2030, 1, 1)).actual("deals_won", "Team", YTD) == 3  # whole year


@pytest.mark.parametrize("period, message", [
    ("2026-13", "period '2026-13' is not a month of this tracker's year (2026-01 to 2026-12); "
                "use a month such as 2026-12, a quarter such as 2026-Q4, YTD or all"),
    ("2025-10", "period '2025-10' is not a month of this tracker's year (2026-01 to 2026-12); "
                "use a month such as 2026-12, a quarter such as 2026-Q4, YTD or all"),
    ("soon", "period 'soon' is not a month of this tracker's year (2026-01 to 2026-12); "
             "use a month such as 2026-12, a quarter such as 2026-Q4, YTD or all"),
])
def test_bad_period(period, message):
    with pytest.raises(InputError) as error:
        report.report(tracker(), period=period)
    assert str(error.value) == message


def test_unknown_rep():
    with pytest.raises(InputError) as error:
        report.report(tracker(), rep="Zed")
    assert str(error.value) == ("rep 'Zed' is not in this tracker; use Team or a rep from "
                                "Settings: Anna, Boris")


def test_team_only_kpi_for_a_rep():
    with pytest.raises(InputError, match="cost_per_lead is a team figure"):
        report.actual(tracker(), "cost_per_lead", "Anna", JAN)


def test_bad_date_names_sheet_row_and_column():
    opportunities = [list(row) for row in tracker().data[layout.OPPORTUNITIES].rows]
    opportunities[6][3] = "soon"  # the 7th data row: sheet row 8
    with pytest.raises(InputError) as error:
        report.report(tracker(**{layout.OPPORTUNITIES: opportunities}))
    assert str(error.value) == "Opportunities row 8: CloseDate 'soon' is not a date"


def test_bad_number_names_sheet_row_and_column():
    emails = [list(row) for row in tracker().data[layout.EMAILS].rows]
    emails[1][2] = "fifty"
    with pytest.raises(InputError) as error:
        report.report(tracker(**{layout.EMAILS: emails}))
    assert str(error.value) == "Emails row 3: Sent 'fifty' is not a number"


def test_serials_are_dates_and_iso_date_text_is_not_counted():
    """Issue 10 item 6: the workbook's COUNTIFS skip a date typed as text, so the report does
    too (it counted it before) and names it; a serial is a date."""
    leads = [list(row) for row in tracker().data[layout.LEADS].rows]
    leads[0][2] = "2026-01-05"  # ISO text: no date to the workbook, none to the report
    leads[3][2] = 46055  # the serial of 2026-02-02
    t = tracker(**{layout.LEADS: leads})
    assert report.actual(t, "cost_per_lead", "Team", JAN) == pytest.approx(400 / 2)
    assert report.actual(t, "cost_per_lead", "Team", FEB) == pytest.approx(250 / 2)
    assert [problem.message() for problem in Report(t).problems()] == [
        "Leads row 2 (LeadDate): dates stored as text; they are not counted — retype them as "
        "dates, or run `xlkpi refresh --convert-text`"]


def test_missing_sheet_counts_as_empty():
    t = tracker()
    del t.data[layout.SPEND]
    assert report.actual(t, "cost_per_lead", "Team", JAN) == 0.0  # no spend, 3 leads


def test_each_column_is_converted_once(monkeypatch):
    """The report converts each data column once, not once per (rep, KPI, period)."""
    calls = []
    real = Sheet._convert

    def counting(self, column, convert, kind):
        calls.append((self.name, column))
        return real(self, column, convert, kind)

    monkeypatch.setattr(Sheet, "_convert", counting)
    report.report(tracker(), period="all")
    assert len(calls) == len(set(calls))


def test_a_kpi_that_is_only_a_catalogue_entry_is_reported(monkeypatch):
    """Adding a KPI to the report is one catalogue entry with its recipe: no other code."""
    # (average deal size was this test's example before it joined the catalogue)
    average_deal_size = Kpi(
        "revenue_per_deal", "REVENUE_PER_DEAL", "Revenue per deal", "up", "currency", False,
        "mean", "won revenue ÷ deals won", Ratio(Actual("won_revenue"), Actual("deals_won")))
    deals_closed = Kpi(  # a count: shown as a whole number, as the recipe's shape says
        "deals_closed", "DEALS_CLOSED", "Deals closed", "up", "count", False, "sum",
        "deals won + deals lost", Plus(Actual("deals_won"),
                                       Count("Opportunities", "CloseDate", LOST)))
    catalogue = (*kpis.KPIS, average_deal_size, deals_closed)
    for kpi in catalogue[-2:]:
        monkeypatch.setitem(kpis.KPI_BY_ID, kpi.id, kpi)
    monkeypatch.setattr(report, "KPIS", catalogue)  # the catalogue as the report module sees it

    assert report.actual(tracker(), "revenue_per_deal", "Team", JAN) == (2000 + 3000) / 2
    assert report.actual(tracker(), "revenue_per_deal", "Anna", FEB) is None  # none won
    assert report.actual(tracker(), "revenue_per_deal", "Boris", YTD) == (3000 + 1500) / 2
    closed = report.actual(tracker(), "deals_closed", "Team", JAN)  # O2 O4 won, O3 lost
    assert closed == 3 and isinstance(closed, int)
    rows = rows_by_key(report.report(tracker()))
    assert rows["Team", "revenue_per_deal", YTD]["actual"] == 6500 / 3  # O2 O4 O6
    assert rows["Anna", "revenue_per_deal", JAN]["actual"] == 2000 / 1
    assert rows["Boris", "deals_closed", FEB]["actual"] == 2  # O5 lost, O6 won
    assert [key[1] for key in rows if key[0] == "Team"][-6:] == [
        "revenue_per_deal"] * 3 + ["deals_closed"] * 3


def test_formats():
    rows = report.report(tracker(), period=JAN, rep="Team")
    parsed = json.loads(report.to_json(rows))
    assert parsed[0] == {"rep": "Team", "kpi": "cost_per_lead", "period": JAN, "target": 120.0,
                         "actual": pytest.approx(400 / 3), "attainment": pytest.approx(0.9)}
    assert any(row["target"] is None for row in parsed)
    csv_lines = report.to_csv(rows).splitlines()
    assert csv_lines[0] == "rep,kpi,period,target,actual,attainment"
    assert csv_lines[3] == "Team,sql_count,2026-01,0.0,1,"
    table = report.to_table(rows, "EUR").splitlines()
    assert table[0].split() == ["Rep", "KPI", "Period", "Target", "Actual", "Attainment"]
    assert table[2].split() == ["Team", "Cost", "per", "lead", JAN, "EUR", "120.00", "EUR",
                                "133.33", "90%"]
    assert table[3].split()[-3:] == ["EUR", "200", "-"]  # CAC: whole amounts; no target
    assert "66.7%" in table[5]  # close rate 2 / 3
    assert len({len(line) for line in table[:2]}) == 1  # the rule is as wide as the header


def test_csv_never_carries_a_formula():
    """A rep named like a formula must not run when the CSV is opened in a spreadsheet."""
    from xlkpi.report import to_csv

    rows = [{"rep": "=1+1", "kpi": "deals_won", "period": "2026-10", "target": None,
             "actual": -3, "attainment": None},
            {"rep": "@SUM(A1)", "kpi": "deals_won", "period": "2026-10", "target": 2,
             "actual": 1, "attainment": 0.5}]
    lines = to_csv(rows).splitlines()
    assert lines[1] == "'=1+1,deals_won,2026-10,,-3,"
    assert lines[2] == "'@SUM(A1),deals_won,2026-10,2,1,0.5"

"""The tracker's formulas, recalculated by LibreOffice, against the Python KPI engine.

Every Target, Actual and Attainment cell of the Team tab and of every rep tab must equal what
xlkpi.core.engine and goals.ytd_target give for the same rows, period and owner (None ↔ blank),
and no cell anywhere may hold an error.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from tests.conftest import require
from tests.libreoffice import recalculate
from tests.test_workbook import sample_tracker, tab_rows
from xlkpi.core import engine, goals
from xlkpi.core.goals import ytd_target
from xlkpi.core.kpis import KPIS
from xlkpi.core.periods import Period, date_to_serial, serial_to_date
from xlkpi.core.texts import stage_class
from xlkpi.report import Report
from xlkpi.tracker import build as workbook
from xlkpi.tracker import model as layout
from xlkpi.tracker.model import (
    CUSTOMERS,
    EMAILS,
    LEADERBOARD,
    LEADS,
    OPPORTUNITIES,
    SETTINGS,
    SPEND,
    TEAM,
    TEAM_NAME,
    Tracker,
)

pytestmark = pytest.mark.libreoffice

KPI_BY_NAME = {kpi.name: kpi for kpi in KPIS}


def column(tracker: Tracker, sheet: str, name: str) -> list:
    data = tracker.data[sheet]
    index = data.header.index(name)
    return [row[index] for row in data.rows]


def engine_actual(tracker: Tracker, kpi_id: str, period: Period, owner: str | None):
    """The engine's value of one KPI for one period and owner (None: the team)."""
    def col(sheet, name):
        return column(tracker, sheet, name)

    def owned(sheet):
        return {} if owner is None else {"owners": col(sheet, "Owner"), "owner": owner}

    spend = (col(SPEND, "Spend"), col(SPEND, "SpendDate"))
    stages = col(OPPORTUNITIES, "Stage")
    close = col(OPPORTUNITIES, "CloseDate")
    amounts = col(OPPORTUNITIES, "Amount")
    mails = {name: col(EMAILS, name) for name in
             ("Sent", "Bounced", "Opened", "Replied", "Positive", "SendDate")}
    customers = (col(CUSTOMERS, "StartDate"), col(CUSTOMERS, "EndDate"))
    calls = {
        "cost_per_lead": lambda: engine.cost_per_lead(*spend, col(LEADS, "LeadDate"), period),
        "customer_acquisition_cost": lambda: engine.customer_acquisition_cost(
            *spend, stages, close, period),
        "sql_count": lambda: engine.sql_count(col(LEADS, "SQLDate"), period, **owned(LEADS)),
        "close_rate": lambda: engine.close_rate(stages, close, period, **owned(OPPORTUNITIES)),
        "retention_rate": lambda: engine.retention_rate(*customers, period, **owned(CUSTOMERS)),
        "churn_rate": lambda: engine.churn_rate(*customers, period, **owned(CUSTOMERS)),
        "emails_delivered": lambda: engine.emails_delivered(
            mails["Sent"], mails["Bounced"], mails["SendDate"], period, **owned(EMAILS)),
        "positive_replies": lambda: engine.positive_replies(
            mails["Positive"], mails["SendDate"], period, **owned(EMAILS)),
        "email_open_rate": lambda: engine.email_open_rate(
            mails["Opened"], mails["Sent"], mails["Bounced"], mails["SendDate"], period,
            **owned(EMAILS)),
        "email_reply_rate": lambda: engine.email_reply_rate(
            mails["Replied"], mails["Sent"], mails["Bounced"], mails["SendDate"], period,
            **owned(EMAILS)),
        "new_opportunities": lambda: engine.new_opportunities(
            col(OPPORTUNITIES, "CreatedDate"), period, **owned(OPPORTUNITIES)),
        "deals_won": lambda: engine.deals_won(stages, close, period, **owned(OPPORTUNITIES)),
        "won_revenue": lambda: engine.won_revenue(amounts, stages, close, period,
                                                  **owned(OPPORTUNITIES)),
        "revenue_growth": lambda: engine.revenue_growth(amounts, stages, close, period,
                                                        **owned(OPPORTUNITIES)),
        "lead_to_sql_rate": lambda: engine.lead_to_sql_rate(
            col(LEADS, "LeadDate"), col(LEADS, "SQLDate"), period, **owned(LEADS)),
        "average_deal_size": lambda: engine.average_deal_size(amounts, stages, close, period,
                                                              **owned(OPPORTUNITIES)),
        "sales_cycle_days": lambda: engine.sales_cycle_days(
            col(OPPORTUNITIES, "CreatedDate"), stages, close, period, **owned(OPPORTUNITIES)),
    }
    return calls[kpi_id]()


def typed_targets(tracker: Tracker, who: str, kpi_id: str) -> list:
    for row in tracker.targets:
        if row.who.lower() == who.lower() and row.kpi_id == kpi_id:
            return list(row.months)
    return [None] * 12


def expected_tab(tracker: Tracker, who: str, today: dt.date) -> dict:
    """(KPI name, kind) → 13 expected values (12 months, then the year to date)."""
    settings = tracker.settings
    periods = [*settings.month_periods(), settings.ytd_period(today)]
    months_to_date = settings.months_to_date(today)
    owner = None if who == TEAM_NAME else who
    expected = {}
    for kpi in KPIS:
        if owner is not None and kpi.team_only:
            continue
        # as planned (issue 11): typed months, Year figures spread, the Team's blank counts
        # and amounts the reps' sum (goals.plan_kpi, through the report)
        planned = Report(tracker, today).planned(kpi)
        typed = planned.get(None if owner is None else owner.lower(), [None] * 12)
        targets = list(typed)
        targets.append(ytd_target(kpi, typed[:months_to_date]))
        # a month after the as-of date has no actual yet: blank, not 0 (issue 11)
        as_of = date_to_serial(settings.as_of or today)
        actuals = [None if index < 12 and period.start > as_of
                   else engine_actual(tracker, kpi.id, period, owner)
                   for index, period in enumerate(periods)]
        attainments = [goals.attainment(actual, target, kpi.direction)
                       for actual, target in zip(actuals, targets, strict=True)]
        expected[(kpi.name, "Target")] = targets
        expected[(kpi.name, "Actual")] = actuals
        expected[(kpi.name, "Attainment")] = attainments
    return expected


def same(got, want) -> bool:
    if want is None:
        return got is None or got == ""
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


def check_tab(ws, expected: dict) -> int:
    """Compare every Target/Actual/Attainment cell; the number of cells compared."""
    rows = tab_rows(ws)
    assert set(rows) == set(expected), ws.title
    wrong = []
    for key, values in expected.items():
        row = rows[key]
        for offset, want in enumerate(values):
            got = ws.cell(row, layout.TAB_FIRST_MONTH_COL + offset).value
            if not same(got, want):
                wrong.append((ws.title, ws.cell(row, 3 + offset).coordinate, key, got, want))
    assert not wrong, f"{len(wrong)} cells differ, e.g. {wrong[:5]}"
    return sum(len(values) for values in expected.values())


def error_cells(wb) -> list:
    return [(ws.title, cell.coordinate, cell.value) for ws in wb.worksheets
            for row in ws.iter_rows() for cell in row if cell.data_type == "e"]


def check_workbook(path: Path, tracker: Tracker, today: dt.date) -> int:
    wb = openpyxl.load_workbook(path, data_only=True)
    assert error_cells(wb) == []
    settings = tracker.settings
    first = dt.date(*settings.months()[0], 1)
    assert wb[TEAM]["C4"].value.date() == first
    assert wb[TEAM]["O5"].value.date() == serial_to_date(settings.ytd_period(today).last_day)
    compared = check_tab(wb[TEAM], expected_tab(tracker, TEAM_NAME, today))
    titles = workbook.rep_sheet_names(settings.reps)
    per_rep = {}
    for rep, title in titles.items():
        expected = expected_tab(tracker, rep, today)
        compared += check_tab(wb[title], expected)
        per_rep[rep] = expected
    check_leaderboard(wb[LEADERBOARD], settings.reps, per_rep)
    check_stage_classes(wb[OPPORTUNITIES], tracker)
    return compared


def check_leaderboard(ws, reps: list[str], per_rep: dict) -> None:
    def ytd(rep, name, kind):
        return per_rep[rep][(name, kind)][-1]

    def key(item):
        index, rep = item
        attainment = ytd(rep, "Won revenue", "Attainment")
        return (attainment is None, -(attainment or 0), index)

    ranked = [rep for _, rep in sorted(enumerate(reps), key=key)]
    first = layout.LEADERBOARD_FIRST_ROW
    got = [ws.cell(first + i, 2).value for i in range(len(reps))]
    assert got == ranked
    rep_kpis = [kpi for kpi in KPIS if not kpi.team_only]
    for i, rep in enumerate(ranked):
        row = first + i
        attainment = ytd(rep, "Won revenue", "Attainment")
        assert same(ws.cell(row, 3).value, ytd(rep, "Won revenue", "Actual"))
        assert same(ws.cell(row, 5).value, attainment)
        values = [ytd(rep, kpi.name, "Attainment") for kpi in rep_kpis]
        numbers = [min(v, layout.LEADERBOARD_CAP) for v in values if v is not None]
        assert same(ws.cell(row, 6).value, sum(numbers) / len(numbers) if numbers else None)
        assert ws.cell(row, 7).value == len(numbers)
        for offset, value in enumerate(values):
            assert same(ws.cell(row, 8 + offset).value, value)
        if attainment is None:
            assert ws.cell(row, 1).value in (None, "")
        else:
            better = sum(1 for r in reps if (ytd(r, "Won revenue", "Attainment") or -1e300)
                         > attainment)
            assert ws.cell(row, 1).value == better + 1


def check_stage_classes(ws, tracker: Tracker) -> None:
    """StageClass, computed by LibreOffice, equals columns.stage_class of the same row's Stage
    for every table row (the rows are written grouped by owner, so in another order than the
    tracker's), and every stage of the tracker is on the sheet."""
    header = [cell.value for cell in ws[1]]
    stage_col = header.index("StageClass") + 1
    stage_of = header.index("Stage") + 1
    last = range_boundaries(ws.tables[OPPORTUNITIES].ref)[3]
    names = {1: "Won", -1: "Lost", 0: "Open"}
    stages = []
    for row in range(2, last + 1):
        stage = ws.cell(row, stage_of).value
        stages.append(stage)
        want = "" if stage is None or stage == "" else names[stage_class(stage)]
        assert (ws.cell(row, stage_col).value or "") == want, (row, stage)
    def key(stage):
        return repr("" if stage is None else stage)

    typed = column(tracker, OPPORTUNITIES, "Stage")[:last - 1]
    assert sorted(map(key, stages)) == sorted(map(key, typed))


def append_below_tables(wb, tracker: Tracker) -> None:
    """Rows typed under each table (outside its range, no StageClass), in the workbook and in
    the tracker the engine sees. The opportunity's stage is open: won/lost need StageClass."""
    year = tracker.settings.year
    fs = tracker.settings.fiscal_start
    when = dt.datetime(year, fs, 1, 0, 0) + dt.timedelta(days=40, hours=23, minutes=59)
    extra = {
        LEADS: ["Pasted lead", "Anna", when, when, "Web", "note"],
        SPEND: [when, 999.5, "Ads"],
        OPPORTUNITIES: ["Pasted opp", "anna", when, when, "Negotiation", 5000, None],
        EMAILS: [when, "Boris", 100, 7, 50, 9, 3],
        CUSTOMERS: ["Pasted customer", "Anna", dt.datetime(year - 1, 1, 1, 12), None],
    }
    for sheet, values in extra.items():
        ws = wb[sheet]
        row = ws.max_row + 1
        header = [cell.value for cell in ws[1]]
        for name, value in zip(tracker.data[sheet].header, values, strict=False):
            ws.cell(row, header.index(name) + 1, value)
        tracker.data[sheet].rows.append(list(values[:len(tracker.data[sheet].header)]))


def test_recalculation_replaces_stale_cached_values(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"], wb.active["A2"], wb.active["A3"] = 20, 22, "=A1+A2"
    plain = tmp_path / "plain.xlsx"
    wb.save(plain)
    stale = tmp_path / "stale.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(stale, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>A1+A2</f><v></v>", b"<f>A1+A2</f><v>5</v>")
                assert b"<v>5</v>" in data
            target.writestr(item, data)
    assert openpyxl.load_workbook(stale, data_only=True).active["A3"].value == 5
    out = recalculate(stale, tmp_path / "out")
    assert openpyxl.load_workbook(out, data_only=True).active["A3"].value == 42


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """The sample tracker (rows pasted below the tables included), and a copy whose Settings
    year moved on a year and whose year-to-date date was cleared (TODAY() then), both
    recalculated by LibreOffice."""
    folder = tmp_path_factory.mktemp("tracker")
    tracker = sample_tracker(seed=2026, rows=300)
    wb = workbook.new_workbook(tracker)
    append_below_tables(wb, tracker)
    path = folder / "tracker.xlsx"
    wb.save(path)
    moved = folder / "moved" / "tracker.xlsx"
    moved.parent.mkdir()
    settings = wb[SETTINGS]
    settings["B4"] = tracker.settings.year + 1
    settings["B7"] = None
    wb.save(moved)
    started = time.perf_counter()
    out = recalculate(path, folder / "out")
    seconds = time.perf_counter() - started
    out_moved = recalculate(moved, folder / "out_moved")
    print(f"\nLibreOffice recalculated the {path.stat().st_size // 1024} KB test tracker "
          f"in {seconds:.1f} s")
    return tracker, out, out_moved


def test_every_cell_equals_the_engine(recalculated):
    tracker, out, _ = recalculated
    compared = check_workbook(out, tracker, dt.date.today())
    assert compared == 13 * 3 * (len(KPIS) + len(tracker.settings.reps) * len(layout.REP_KPIS))


def test_pasted_rows_below_the_tables_count(recalculated):
    tracker, out, _ = recalculated
    wb = openpyxl.load_workbook(out, data_only=True)
    rows = tab_rows(wb[TEAM])
    month = tracker.settings.month_periods()[1]
    # The engine (which sees the pasted rows) agrees cell by cell; check one cell directly
    # against the engine without the pasted rows too, to be sure they made a difference.
    without = sample_tracker(seed=2026, rows=300)
    for kpi_id, sheet in (("sql_count", LEADS), ("new_opportunities", OPPORTUNITIES),
                          ("emails_delivered", EMAILS)):
        name = next(kpi.name for kpi in KPIS if kpi.id == kpi_id)
        got = wb[TEAM].cell(rows[(name, "Actual")], 4).value
        assert got == engine_actual(tracker, kpi_id, month, None)
        assert got != engine_actual(without, kpi_id, month, None), sheet


def test_settings_year_moves_the_months(recalculated):
    tracker, _, out_moved = recalculated
    tracker.settings.year += 1
    tracker.settings.as_of = None
    try:
        check_workbook(out_moved, tracker, dt.date.today())
    finally:
        tracker.settings.year -= 1
        tracker.settings.as_of = dt.date(2026, 11, 20)


def test_template_computes_without_errors(tmp_path):
    path = tmp_path / "template.xlsx"
    workbook.template_workbook().save(path)
    wb = openpyxl.load_workbook(recalculate(path, tmp_path / "out"), data_only=True)
    assert error_cells(wb) == []
    rows = tab_rows(wb[TEAM])
    assert wb[TEAM].cell(rows[("Won revenue", "Actual")], 3).value == 0
    assert wb[TEAM].cell(rows[("Close rate", "Actual")], 3).value in (None, "")


def test_pdf_of_team_tab(tmp_path):
    """Render the recalculated tracker to PDF (looked at by eye during development)."""
    require("pdftoppm", "poppler-utils' pdftoppm")
    from tests.libreoffice import convert
    path = tmp_path / "tracker.xlsx"
    workbook.new_workbook(sample_tracker(seed=1, rows=100, reps=["Anna", "Boris"])).save(path)
    pdf = convert(path, tmp_path / "pdf", "pdf")
    assert pdf.stat().st_size > 10_000

"""Targets that plan themselves (issue 11): a Year figure spread to the blank months, the Team's
counts and amounts defaulting to the reps' sum, the check where they differ; hand-worked in
core.goals, the same in the report, and (LibreOffice) the same in the workbook."""

from __future__ import annotations

import datetime as dt
import math

import openpyxl
import pytest

from xlkpi import demo
from xlkpi.core import goals
from xlkpi.core.kpis import KPI_BY_ID
from xlkpi.report import Report
from xlkpi.tracker import build as workbook
from xlkpi.tracker import model as layout
from xlkpi.tracker.model import Settings, TargetRow, Tracker

DEALS, CLOSE = KPI_BY_ID["deals_won"], KPI_BY_ID["close_rate"]
YEAR_AT = layout.TARGETS_YEAR_COL - layout.TARGETS_EXTRA_COL  # index in TargetRow.extra


def row(who, kpi, months, year=None):
    return TargetRow(who, kpi.id, list(months) + [None] * (12 - len(months)), [None, year])


def test_even_spread_of_what_the_typed_months_leave():
    # 1200 a year, January typed 150: the other eleven share 1050 evenly
    planned = goals.plan_months(DEALS, [150] + [None] * 11, 1200)
    assert planned[0] == 150
    assert planned[1:] == pytest.approx([1050 / 11] * 11)
    assert sum(planned) == pytest.approx(1200)


def test_spread_by_last_years_shape():
    shape = goals.year_shape([float(i) for i in range(1, 13)])  # 1, 2, … 12: 78 in all
    assert goals.plan_months(DEALS, [None] * 12, 780, shape) == pytest.approx(
        [10.0 * i for i in range(1, 13)])
    # January typed 100: 680 left over the weights 2..12 (77)
    planned = goals.plan_months(DEALS, [100] + [None] * 11, 780, shape)
    assert planned[0] == 100 and planned[1] == pytest.approx(680 * 2 / 77)
    assert planned[11] == pytest.approx(680 * 12 / 77)


def test_no_full_year_means_even():
    assert goals.year_shape([5.0] * 11 + [0.0]) is None
    assert goals.year_shape([5.0] * 11 + [None]) is None
    assert goals.plan_months(DEALS, [None] * 12, 120, None) == [10.0] * 12


def test_typed_months_leaving_less_than_nothing_give_zero():
    assert goals.plan_months(DEALS, [100, 100] + [None] * 10, 150)[2:] == [0.0] * 10


def test_a_rate_gets_the_figure_itself_and_typed_months_win():
    planned = goals.plan_months(CLOSE, [0.3, "TBD"] + [None] * 10, 0.25)
    assert planned == [0.3] + [0.25] * 11


def test_no_year_figure_leaves_the_typed_months():
    assert goals.plan_months(DEALS, [5, "note"] + [None] * 10, None) == [5.0] + [None] * 11
    assert goals.plan_months(DEALS, [5] * 12, "soon") == [5.0] * 12


def test_team_counts_default_to_the_reps_sum_rates_never():
    anna, boris = [3.0] * 6 + [None] * 6, [2.0] * 3 + [None] * 9
    team = [None, 9.0] + [None] * 10
    assert goals.team_months(DEALS, team, [anna, boris]) == (
        [5.0, 9.0, 5.0, 3.0, 3.0, 3.0] + [None] * 6)
    assert goals.team_months(CLOSE, [None] * 12, [[0.3] * 12]) == [None] * 12


def test_mismatch_where_a_team_target_differs_from_the_reps_sum():
    anna, boris = [3.0] * 12, [2.0] * 12
    team = [5.0, 6.0] + [None] * 10
    assert goals.mismatches(DEALS, team, [anna, boris]) == [(1, 6.0, 5.0)]
    assert goals.mismatches(CLOSE, [0.9] * 12, [[0.3] * 12]) == []


def test_the_report_plans_as_goals_does():
    tracker = Tracker(Settings(2026, reps=["Anna", "Boris"], as_of=dt.date(2026, 12, 31)), [
        row("Team", DEALS, [None, 9]),
        row("Anna", DEALS, [], 120),           # 10 a month
        row("Boris", DEALS, [6] + [None] * 11, 50),  # 6, then 44/11 = 4 a month
        row("Team", CLOSE, [], 0.25),
        row("Anna", CLOSE, [0.3]),
    ], {})
    report = Report(tracker)
    assert report.target("deals_won", "Anna", "2026-03") == pytest.approx(10)
    assert report.target("deals_won", "Boris", "2026-03") == pytest.approx(4)
    assert report.target("deals_won", "Team", "2026-01") == pytest.approx(16)
    assert report.target("deals_won", "Team", "2026-02") == 9  # typed wins
    assert report.target("deals_won", "Team", "YTD") == pytest.approx(16 + 9 + 14 * 10)
    assert report.target("close_rate", "Team", "2026-05") == 0.25
    assert report.target("close_rate", "Anna", "2026-02") is None
    lines = report.target_mismatches()
    assert lines == ["Targets: Team Deals won 2026-02 is 9, the reps' targets add up to 14"]


def test_mismatch_notes_are_capped():
    targets = [row("Team", DEALS, [1] * 12), row("Anna", DEALS, [2] * 12)]
    report = Report(Tracker(Settings(2026, reps=["Anna"]), targets, {}))
    lines = report.target_mismatches(limit=3)
    assert len(lines) == 4 and lines[-1].startswith("Targets: 9 more")


# --- the demo --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def march():
    return demo.demo_tracker(2026, as_of=dt.date(2026, 3, 15))


def test_demo_targets_move_smoothly(march):
    """Month to month, a target moves at most MAX_STEP (plus the rounding a manager does)."""
    steps = {"count": 1.0, "currency": None, "days": 1.0, "ratio": 0.005}
    worst = []
    holes = {(t.kpi_id, i) for t in march.targets if t.who != "Team"
             for i, m in enumerate(t.months) if not isinstance(m, (int, float))}
    for target in march.targets:
        kpi = KPI_BY_ID[target.kpi_id]
        months = [m if isinstance(m, (int, float)) else None for m in target.months]
        if target.who == "Team":  # the reps' sum drops where a rep's target is not set yet
            months = [None if (kpi.id, i) in holes and goals.sums(kpi) else m
                      for i, m in enumerate(months)]
        for before, now in zip(months, months[1:], strict=False):
            if before is None or now is None or before <= 0:
                continue
            step = steps[kpi.unit] if steps[kpi.unit] is not None else 10 ** max(
                0, int(math.log10(max(before, now))) - 1)
            allowed = demo.MAX_STEP * max(before, now) + 2 * step + 1e-9
            if abs(now - before) > allowed:
                worst.append((target.who, kpi.id, before, now))
    assert not worst, worst[:10]
    team_close = next(t for t in march.targets if t.who == "Team" and t.kpi_id == "close_rate")
    values = [m for m in team_close.months if isinstance(m, float)]
    assert max(values) / min(values) < 1.5


def test_demo_has_no_actual_after_as_of_and_targets_all_year(march):
    as_of = dt.date(2026, 3, 15)
    for name, sheet in march.data.items():
        for data_row in sheet.rows:
            for column, value in zip(sheet.header, data_row, strict=True):
                if isinstance(value, dt.datetime):
                    value = value.date()
                if column in layout.DATE_COLUMNS and isinstance(value, dt.date):
                    assert value <= as_of or column == "CloseDate", (name, data_row)
    report = Report(march)
    assert report.actual("deals_won", "Team", "2026-04") is None  # after the as-of date: none yet
    assert report.actual("won_revenue", "Team", "2026-03") > 0
    for month in ("2026-04", "2026-12"):
        assert report.target("won_revenue", "Team", month) > 0


def test_demo_team_targets_are_the_reps_sum(march):
    assert Report(march).target_mismatches() == []


def test_demo_targets_do_not_depend_on_as_of(march):
    assert demo.demo_tracker(2026, as_of=dt.date(2026, 12, 31)).targets == march.targets


# --- the workbook computes the same (LibreOffice) --------------------------------------------

@pytest.mark.libreoffice
def test_workbook_targets_equal_the_reports(tmp_path):
    from tests import libreoffice
    from tests.conftest import require

    require("soffice", "LibreOffice")
    tracker = demo.demo_tracker(2025, reps=["Anna", "Boris"], as_of=dt.date(2025, 10, 15))
    by_key = {(t.who, t.kpi_id): t for t in tracker.targets}
    for who in ("Team", "Anna", "Boris"):
        for kpi_id, year in (("new_opportunities", 300), ("won_revenue", 900000),
                             ("close_rate", 0.3), ("sql_count", 400)):
            target = by_key[who, kpi_id]
            target.months = [None] * 12 if who != "Boris" else [
                *target.months[:2], *[None] * 10]
            target.extra = [None, year if who != "Team" or kpi_id == "close_rate" else None]
    by_key["Team", "deals_won"].months[3] = 1  # differs from the reps' sum
    path = tmp_path / "planned.xlsx"
    workbook.new_workbook(tracker, streamed=False).save(path)
    recalculated = libreoffice.recalculate(path, tmp_path / "out")
    report = Report(tracker)
    assert report.planned(KPI_BY_ID["new_opportunities"]) is not None
    shape = report._shape(KPI_BY_ID["won_revenue"], {None: ([], 1)})
    assert shape is not None  # the demo holds last year's deals: the shape is used
    wb = openpyxl.load_workbook(recalculated, data_only=True, read_only=True)
    titles = {"Team": layout.TEAM, **workbook.rep_sheet_names(["Anna", "Boris"])}
    by_name = {kpi.name: kpi for kpi in KPI_BY_ID.values()}
    months = [p.label for p in tracker.settings.month_periods()]
    wrong, checked = [], 0
    for who, title in titles.items():
        for cells in wb[title].iter_rows(min_row=layout.TAB_FIRST_ROW,
                                         max_col=layout.TAB_YTD_COL, values_only=True):
            if cells[1] != "Target":
                continue
            kpi = by_name[cells[0]]
            values = cells[layout.TAB_FIRST_MONTH_COL - 1:layout.TAB_YTD_COL]
            for period, value in zip([*months, "YTD"], values, strict=True):
                expected = report.target(kpi.id, who, period)
                checked += 1
                if expected is None:
                    ok = value in (None, "")
                else:
                    ok = isinstance(value, (int, float)) and math.isclose(
                        value, expected, rel_tol=1e-9, abs_tol=1e-9)
                if not ok:
                    wrong.append((who, kpi.id, period, value, expected))
    wb.close()
    assert checked > 300
    assert not wrong, wrong[:20]
    deals = report.planned(KPI_BY_ID["deals_won"])
    assert report.target_mismatches(limit=100) == [
        "Targets: Team Deals won 2025-04 is 1, the reps' targets add up to "
        f"{deals['anna'][3] + deals['boris'][3]:g}"]

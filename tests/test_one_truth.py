"""One truth (issue 10, items 5, 6, 9 and 13): the report counts a cell exactly when the
workbook's formulas do, and names the cells whose form makes them differ; the workbook computes
the same numbers in LibreOffice and in Gnumeric."""

from __future__ import annotations

import datetime as dt
import shutil
import sys

import openpyxl
import pytest
from click.testing import CliRunner

from tests.conftest import require
from tests.test_workbook import load_typed
from xlkpi.cli import cli
from xlkpi.core.cells import number_from_text
from xlkpi.core.kpis import KPIS
from xlkpi.core.periods import parse_iso_date
from xlkpi.report import Report
from xlkpi.tracker import model as layout
from xlkpi.tracker import values
from xlkpi.tracker.data import stage_class_formula
from xlkpi.tracker.formulas import target_helper_formulas, ytd_target_formula
from xlkpi.tracker.problems import convert_text

from . import gnumeric, libreoffice
from .test_agreement import Built, same, tab_cells

RECALCULATE = ("open and save the file in Excel or LibreOffice once, so that the formulas' "
               "results are stored")


def run(*args) -> str:
    result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "tracker.xlsx"
    run("new", path, "--demo", "--year", 2025, "--as-of", "2025-12-31", "--reps", "Anna,Boris")
    return path


def edited(demo, folder, name="edited.xlsx"):
    """The demo with dates and numbers typed as text, formulas typed into data and target cells
    and a target typed as text. Loaded whole: the engines recalculate its tabs as they are
    (no refresh in between), so the generated tabs must keep their cells."""
    path = folder / name
    wb = openpyxl.load_workbook(demo)
    leads = wb[layout.LEADS]
    leads["C5"] = leads["C5"].value.date().isoformat()  # LeadDate as text
    leads["C9"] = leads["C9"].value.date().isoformat() + " 13:45"
    opportunities = wb[layout.OPPORTUNITIES]
    opportunities["F4"] = "1 234"  # Amount as text
    opportunities["F5"] = "=2500*2"  # Amount as a formula
    opportunities["D6"] = "=DATE(2025,10,20)"  # CloseDate as a formula
    targets = wb[layout.TARGETS]
    targets["C6"] = "=4000+2000"
    targets["D6"] = "10%"
    wb.save(path)
    return path


# --- dates and numbers typed as text ------------------------------------------------------------

@pytest.mark.parametrize("text, day", [
    ("2026-12-07", dt.date(2026, 12, 7)),
    ("2026-12-07 13:45", dt.date(2026, 12, 7)),
    ("2026-12-07T13:45:00", dt.date(2026, 12, 7)),
    ("2026-12-07T13:45:00.5+02:00", dt.date(2026, 12, 7)),
    ("2026-12-07 garbage", None),  # a date before: issue 10 item 6
    ("2026-12-07 25:00", None),
    ("2026-12-07x", None),
    ("2026-02-30", None),
])
def test_parse_iso_date_is_strict(text, day):
    assert parse_iso_date(text) == day


@pytest.mark.parametrize("text, number", [
    ("1 000", 1000), ("1\u00a0000", 1000), ("1,000", 1000), ("1 000,5", 1000.5),
    ("1.000,5", 1000.5), ("1,000.5", 1000.5), ("0,125", 0.125), ("10%", 0.1), ("-5", -5),
    ("soon", None), ("2026-10-06", None), ("1e5", None), ("", None)])
def test_number_from_text(text, number):
    assert number_from_text(text) == number


@pytest.mark.slow
def test_text_dates_numbers_and_targets_are_not_counted_and_are_named(demo, tmp_path):
    path = edited(demo, tmp_path)
    tracker, problems = values.read_checked(path)
    messages = [problem.message() for problem in Report(tracker, problems=problems).problems()]
    assert messages == [
        f"Opportunities row 5 (Amount): formulas without a stored result; the report cannot "
        f"count them — {RECALCULATE}",
        f"Opportunities row 6 (CloseDate): formulas without a stored result; the report cannot "
        f"count them — {RECALCULATE}",
        f"Targets row 6 (month columns): formulas without a stored result; the report cannot "
        f"count them — {RECALCULATE}",
        "Leads rows 5, 9 (LeadDate): dates stored as text; they are not counted — retype them "
        "as dates, or run `xlkpi refresh --convert-text`",
        "Opportunities row 4 (Amount): numbers stored as text; they are not counted — retype "
        "them as numbers, or run `xlkpi refresh --convert-text`",
        "Targets cell D6 (2025-02): '10%' (Team · Customer acquisition cost): targets stored "
        "as text; they are no target — retype them as numbers, or run `xlkpi refresh "
        "--convert-text`",
    ]
    # the text date is not counted: one lead fewer than in the demo
    before = Report(values.read_tracker_values(demo)).actual("cost_per_lead", "Team", "2025")
    after = Report(tracker).actual("cost_per_lead", "Team", "2025")
    assert after != before


@pytest.mark.slow
def test_uncached_formulas_are_named_by_the_openpyxl_fallback_too(demo, tmp_path, monkeypatch):
    path = edited(demo, tmp_path)
    monkeypatch.setitem(sys.modules, "python_calamine", None)  # import fails: openpyxl reads
    tracker, problems = values.read_checked(path)
    assert [(p.sheet, p.column, p.rows) for p in problems] == [
        (layout.OPPORTUNITIES, "Amount", [5]), (layout.OPPORTUNITIES, "CloseDate", [6]),
        (layout.TARGETS, "month columns", [6])]


def test_a_fresh_tracker_has_no_problems(demo):
    tracker, problems = values.read_checked(demo)
    assert problems == [] and Report(tracker, problems=problems).problems() == []


@pytest.mark.slow
def test_convert_text_converts_cell_by_cell(demo, tmp_path):
    path = edited(demo, tmp_path)
    wb = load_typed(path)
    lines = convert_text(wb)
    day5 = load_typed(demo)[layout.LEADS]["C5"].value.date()
    assert lines[0] == f"Leads!C5: '{day5.isoformat()}' → {day5.isoformat()}"
    assert lines[2:] == ["Opportunities!F4: '1 234' → 1234", "Targets!D6: '10%' → 0.1"]
    wb.save(path)
    tracker, problems = values.read_checked(path)
    kinds = {problem.kind for problem in Report(tracker, problems=problems).problems()}
    assert kinds == {"no cached value"}  # the formulas remain: only Excel or LibreOffice


# --- Gnumeric can compute the formulas (item 13) ------------------------------------------------

def test_formulas_gnumeric_reads_differently_are_not_used():
    """Gnumeric cannot parse INDEX(...):Targets!$B$1048576, and reads INDEX(a row, n) and
    INDEX({...}, n) as row n: the formulas use INDEX(...):INDEX(...) and INDEX(x, 1, n)."""
    helpers = " ".join(formula for _col, formula in target_helper_formulas(6))
    assert "):Targets!" not in helpers and "INDEX(Targets!$B:$B,1048576)" in helpers
    for kpi in KPIS:
        assert ",1,Settings!$B$11)" in ytd_target_formula(kpi, 6)
    # issue 9: StageClass looks the Stages sheet up (no inline array), INDEX(range, n, 1)
    assert "{" not in stage_class_formula("E2") and ",0),1)," in stage_class_formula("E2")


# --- the agreement, with such cells, in both engines ----------------------------------------------

ENGINES = {"libreoffice": libreoffice.recalculate, "gnumeric": gnumeric.recalculate}


@pytest.fixture(scope="module")
def saved_by_libreoffice(demo, tmp_path_factory):
    """The edited demo as a person has it once LibreOffice saved it: its formula cells with
    their results stored."""
    require("soffice", "LibreOffice")
    folder = tmp_path_factory.mktemp("edited")
    path = edited(demo, folder)
    return libreoffice.recalculate(path, folder / "saved")


@pytest.mark.libreoffice
@pytest.mark.parametrize("engine", list(ENGINES))
def test_workbook_equals_report_with_text_and_formula_cells(saved_by_libreoffice, engine,
                                                            tmp_path):
    if engine == "gnumeric":
        require("ssconvert", "Gnumeric")
    source = tmp_path / "tracker.xlsx"
    shutil.copy(saved_by_libreoffice, source)
    tracker, problems = values.read_checked(source)
    computed = Report(tracker, problems=problems)
    rows = computed.rows("all")
    kinds = sorted({problem.kind for problem in computed.problems()})
    assert kinds == ["text date", "text number", "text target"]  # the formulas have values
    report = {(row["rep"], row["kpi"], row["period"]): row for row in rows}
    recalculated = ENGINES[engine](source, tmp_path / engine)
    months = [period.label for period in tracker.settings.month_periods()]
    built = Built(None, source, recalculated, report, list(tracker.settings.reps), months)
    cells = list(tab_cells(built))
    wrong = [(who, kpi, period, kind, value, report[who, kpi, period][kind.lower()])
             for who, kpi, period, kind, value in cells
             if not same(report[who, kpi, period][kind.lower()], value)]
    assert not wrong, wrong[:20]
    # cells were compared, numbers among them (tabs recalculated, not left empty): every
    # KPI's target, actual and attainment for the Team and each rep in 12 months and YTD
    assert len(cells) >= 3 * 13 * (1 + len(tracker.settings.reps)) * 10
    assert sum(isinstance(value, int | float) and value != 0 for *_, value in cells) > 100
    # the formula cells count: the target typed as =4000+2000 is the Team's January target
    assert report["Team", "customer_acquisition_cost", months[0]]["target"] == 6000

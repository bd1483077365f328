"""The committed template works with no Python: reps typed into Settings, with a few data rows
and targets, show their numbers on the rep view and the Leaderboard, and on the dashboard's reps
for the month, after a recalculation in LibreOffice and no command run."""

import datetime as dt
import shutil

import openpyxl
import pytest

from tests import gnumeric, libreoffice
from xlkpi.tracker import model

TEMPLATE = (__import__("pathlib").Path(__file__).resolve().parent.parent / "workbook_template"
            / "xlkpi-tracker.xlsx")

pytestmark = pytest.mark.libreoffice

# Anna: won 1,000 in Feb and 2,000 in Mar, lost 500 in Mar; Boris: won 500 in Jan, 4,000 in Mar.
OPPORTUNITIES = [
    ("A1", "Anna", dt.datetime(2026, 1, 5), dt.datetime(2026, 2, 10), "Closed Won", 1000),
    ("A2", "Anna", dt.datetime(2026, 2, 1), dt.datetime(2026, 3, 5), "Closed Won", 2000),
    ("A3", "Anna", dt.datetime(2026, 2, 1), dt.datetime(2026, 3, 9), "Closed Lost", 500),
    ("B1", "Boris", dt.datetime(2026, 1, 2), dt.datetime(2026, 1, 20), "Closed Won", 500),
    ("B2", "Boris", dt.datetime(2026, 2, 2), dt.datetime(2026, 3, 12), "Closed Won", 4000),
]
# Won revenue targets, January to March.
TARGETS = {"Anna": (1000, 1000, 2000), "Boris": (1000, 1000, 3000)}


@pytest.fixture(scope="module")
def typed(tmp_path_factory):
    """The committed template with reps, opportunities and targets typed in by openpyxl."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "tracker.xlsx"
    shutil.copy(TEMPLATE, path)
    wb = openpyxl.load_workbook(path)
    settings = wb[model.SETTINGS]
    settings["B7"] = dt.datetime(2026, 3, 20)
    for offset, rep in enumerate(("Anna", "Boris"), 1):
        settings.cell(model.SETTINGS_REPS_HEADER_ROW + offset, 1, rep)
    opportunities = wb[model.OPPORTUNITIES]
    for row, values in enumerate(OPPORTUNITIES, 2):
        for col, value in enumerate(values, 1):
            opportunities.cell(row, col, value)
    targets = wb[model.TARGETS]
    row = targets.max_row + 1
    for who, months in TARGETS.items():
        targets.cell(row, 1, who)
        targets.cell(row, 2, "Won revenue")
        for index, value in enumerate(months):
            targets.cell(row, model.TARGETS_FIRST_MONTH_COL + index, value)
        row += 1
    wb[model.REP_VIEW]["B2"] = "Anna"
    wb.save(path)
    return path


@pytest.fixture(scope="module", params=["libreoffice", "gnumeric"])
def recalculated(request, typed):
    """The typed template recalculated by LibreOffice, and by Gnumeric."""
    if request.param == "libreoffice":
        if libreoffice.soffice() is None:
            pytest.skip("no LibreOffice")
        out = libreoffice.convert(typed, typed.parent / "lo")
    else:
        if gnumeric.ssconvert() is None:
            pytest.skip("no Gnumeric")
        # Whole columns ($C:$C) bounded to the rows in use (gnumeric.bound_whole_columns: the
        # same cells, so the same numbers): Gnumeric scanning a million empty rows per column
        # was 24 s of CPU for these few rows. test_one_truth has Gnumeric recalculate the
        # whole-column formulas as written; LibreOffice, below, recalculates this template as
        # it is shipped.
        bounded = gnumeric.bound_whole_columns(typed, typed.parent / "bounded" / typed.name)
        out, unparsed = gnumeric.convert(bounded, typed.parent / "gnumeric")
        assert unparsed == []
    return openpyxl.load_workbook(out, data_only=True)


def kpi_rows(ws, name: str) -> dict[str, list]:
    found = {}
    for row in ws.iter_rows(min_row=model.TAB_FIRST_ROW, max_row=80):
        if row[0].value == name and row[1].value in model.ROW_KINDS:
            found[row[1].value] = [cell.value for cell in row[2:15]]
    return found


def test_the_rep_view_shows_the_picked_rep(recalculated):
    ws = recalculated[model.REP_VIEW]
    won = kpi_rows(ws, "Won revenue")
    assert won["Actual"][:3] == [0, 1000, 2000]
    assert won["Target"][:3] == [1000, 1000, 2000]
    assert won["Attainment"][:3] == [0, 1, 1]
    assert won["Actual"][3] in (None, "")  # April: after the as-of date
    assert (won["Target"][12], won["Actual"][12]) == (4000, 3000)
    assert won["Attainment"][12] == pytest.approx(0.75)
    deals = kpi_rows(ws, "Deals won")
    assert deals["Actual"][:3] == [0, 1, 1]
    close = kpi_rows(ws, "Close rate")
    assert close["Actual"][2] == pytest.approx(0.5)  # March: 1 won of 2 closed


def test_the_leaderboard_ranks_the_typed_reps(recalculated):
    ws = recalculated[model.LEADERBOARD]
    first = model.LEADERBOARD_FIRST_ROW
    rows = [[ws.cell(first + i, col).value for col in range(1, 6)] for i in range(3)]
    assert rows[0][:4] == [1, "Boris", 4500, 5000]
    assert rows[0][4] == pytest.approx(0.9)
    assert rows[1][:4] == [2, "Anna", 3000, 4000]
    assert rows[1][4] == pytest.approx(0.75)
    assert rows[2][1] in (None, "")


def test_the_dashboard_ranks_the_typed_reps_for_the_month(recalculated):
    from xlkpi.tracker.dashboard import REPS_COL, TABLE_ROW

    ws = recalculated[model.DASHBOARD]
    got = [[ws.cell(TABLE_ROW + i, REPS_COL + col).value for col in range(6)]
           for i in (1, 2)]
    assert got[0][:4] == [1, "Boris", 4000, 3000]
    assert got[0][4] == pytest.approx(4 / 3)
    assert got[0][5] == 1
    assert got[1][:4] == [2, "Anna", 2000, 2000]
    assert got[1][4] == pytest.approx(1)
    # the team's tile: won revenue in March, 6,000
    assert ws.cell(5, 1).value == 6000


def test_no_error_cells(recalculated):
    errors = [(ws.title, c.coordinate, c.value) for ws in recalculated.worksheets
              for row in ws.iter_rows() for c in row if c.data_type == "e"
              and ws.title in (model.DASHBOARD, model.REP_VIEW, model.LEADERBOARD)]
    assert errors == []

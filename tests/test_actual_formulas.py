"""The Team and rep tabs' formulas, rendered from the KPI recipes, are those the hand-written
builder made before the recipes (commit 4a190c7): the fixture holds its Actual cells (first
month, second month, year to date and the hidden previous-period cells) of the Team tab and of
a rep tab, and a digest of every formula of the whole workbook.

Since issue 11 a month's scan is in a hidden cell (W, X, ...: the formula the visible cell had,
with references to the other KPIs' month actuals moved to their hidden cells), and the visible
cell is IF(month after the as-of date, "", that cell)."""

import hashlib
import json
from pathlib import Path

import pytest

from xlkpi.core.kpis import KPI_BY_ID, KPIS
from xlkpi.core.recipes import Actual, Before, Ratio, Total
from xlkpi.tracker.build import new_workbook
from xlkpi.tracker.formulas import ActualFormulas, Window, previous_actuals
from xlkpi.tracker.model import REP_KPIS, Settings, Tracker

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "actual_formulas.json"
REP_TAB = "Bo_b ~x_"  # the tab of rep "Bo*b ~x?": wildcards in the owner criterion


@pytest.fixture(scope="module")
def built():
    tracker = Tracker(Settings(year=2025, fiscal_start=4, currency="EUR",
                               reps=["Anna", "Bo*b ~x?"]), [], {})
    return new_workbook(tracker)


@pytest.fixture(scope="module")
def expected():
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def actual_cells(ws) -> dict[str, object]:
    cells = {}
    for row in range(6, ws.max_row + 1):
        if ws.cell(row, 2).value == "Actual":
            for col in ("C", "D", "O", "P", "Q", "W", "X"):
                if ws[f"{col}{row}"].value is not None:
                    cells[f"{col}{row}"] = ws[f"{col}{row}"].value
    return cells


@pytest.mark.parametrize("title, kpis", [("Team", KPIS), (REP_TAB, REP_KPIS)])
def test_every_kpis_actual_formula_is_as_before(built, expected, title, kpis):
    cells = actual_cells(built[title])
    assert len([key for key in cells if key.startswith("C")]) == len(kpis)
    assert cells == expected[title]


def test_every_formula_of_the_workbook_is_as_before(built, expected):
    everything = json.dumps({ws.title: {c.coordinate: c.value for r in ws.iter_rows() for c in r
                                        if c.data_type == "f" and isinstance(c.value, str)}
                             for ws in built.worksheets}, sort_keys=True)
    assert hashlib.sha256(everything.encode()).hexdigest() == expected["sha256 of every formula"]


def test_the_previous_period_cells_follow_from_the_recipes():
    needs = {kpi.id: previous_actuals(kpi.recipe) for kpi in KPIS}
    assert {kpi_id: ids for kpi_id, ids in needs.items() if ids} == {
        "revenue_growth": ["won_revenue"]}


def test_a_recipe_renders_without_cells_for_the_kpis_it_uses():
    """Another KPI's actual with no cell on the tab, or in the period before with no cell for
    it, is that KPI's recipe written out (in parentheses where it is a sum or difference)."""
    letters = {"Emails": {"SendDate": "A", "Sent": "C", "Bounced": "D", "Opened": "E",
                          "Owner": "B"}}
    window = Window("C$4", "(C$5+1)", "(EOMONTH(C$4,-2)+1)", "C$4")
    formulas = ActualFormulas(letters, None)
    open_rate = formulas.formula(KPI_BY_ID["email_open_rate"].recipe, window, {}, {})
    delivered = ('SUMIFS(Emails!$C:$C,Emails!$A:$A,">="&C$4,Emails!$A:$A,"<"&(C$5+1))-'
                 'SUMIFS(Emails!$D:$D,Emails!$A:$A,">="&C$4,Emails!$A:$A,"<"&(C$5+1))')
    assert open_rate == ('=IFERROR(SUMIFS(Emails!$E:$E,Emails!$A:$A,">="&C$4,Emails!$A:$A,'
                         f'"<"&(C$5+1))/({delivered}),"")')
    sent_before = formulas.formula(Ratio(Before(Total("Emails", "Sent", "SendDate")),
                                         Actual("emails_delivered")), window,
                                   {"emails_delivered": "C9"}, {})
    assert sent_before == ('=IFERROR(SUMIFS(Emails!$C:$C,Emails!$A:$A,">="&(EOMONTH(C$4,-2)+1),'
                           'Emails!$A:$A,"<"&C$4)/C9,"")')

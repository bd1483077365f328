"""Refresh groups data rows by owner only where nothing points at them (issue 10, item 4).

A formula, a name, a link, a chart or a conditional format that names a data row by number
would show another row after the rows move; then the sheet stays as it is and the summary says
why. Whole columns and structured references are no reason. Both ways of loading a tracker:
the whole file in openpyxl, and data rows held outside it (xlsx.splice).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import tempfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import CellIsRule
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from tests.test_workbook import load_typed, sample_tracker
from tests.test_workbook_blocks import assert_grouped, owner_runs, sheet_rows
from xlkpi.cli import cli
from xlkpi.tracker import build as workbook
from xlkpi.tracker import model as layout
from xlkpi.tracker.pinned import references
from xlkpi.xlsx import splice

REPS = ["Anna", "Boris"]
OPPORTUNITIES = layout.OPPORTUNITIES


def run(*args):
    return CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)


def mixed_tracker(tmp_path: Path) -> Path:
    """A tracker whose Opportunities rows are not grouped: a row of Anna's typed at the bottom
    (after Boris's and the others'), so refresh would move rows. Built once (mixed_bytes), a
    copy per test."""
    path = tmp_path / "tracker.xlsx"
    path.write_bytes(mixed_bytes())
    return path


@functools.lru_cache(maxsize=1)
def mixed_bytes() -> bytes:
    buffer = io.BytesIO()
    workbook.new_workbook(sample_tracker(seed=6, rows=40, reps=REPS)).save(buffer)
    wb = load_typed(buffer.getvalue())
    ws = wb[OPPORTUNITIES]
    header = [cell.value for cell in ws[1]]
    row = max(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value is not None) + 1
    for name, value in zip(header, ["Late deal", "Anna", dt.datetime(2026, 5, 5),
                                    dt.datetime(2026, 6, 5), "Won", 1234], strict=False):
        ws.cell(row, header.index(name) + 1, value)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def amount_col(ws) -> str:
    header = [cell.value for cell in ws[1]]
    return openpyxl.utils.get_column_letter(header.index("Amount") + 1)


def pointed(tmp_path: Path, kind: str) -> tuple[Path, object]:
    """The mixed tracker with ``EDITS[kind]`` applied (something pointing at Opportunities row
    3) and the name of the deal in row 3, before refresh. Edited once (pointed_bytes), a copy
    per test."""
    data, deal = pointed_bytes(kind)
    path = tmp_path / "tracker.xlsx"
    path.write_bytes(data)
    return path, deal


@functools.cache
def pointed_bytes(kind: str) -> tuple[bytes, object]:
    wb = load_typed(mixed_bytes())
    (EDITS | NO_EDITS)[kind](wb)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue(), wb[OPPORTUNITIES]["A3"].value


def dashboard_formula(wb):
    wb.create_sheet("Dashboard")["B2"] = f"=Opportunities!{amount_col(wb[OPPORTUNITIES])}3"


EDITS = {
    "formula": dashboard_formula,
    "defined-name": lambda wb: wb.defined_names.add(DefinedName(
        "BigDeal", attr_text=f"Opportunities!${amount_col(wb[OPPORTUNITIES])}$3")),
    "hyperlink": lambda wb: setattr(wb.create_sheet("Links")["A1"], "hyperlink",
                                    "#Opportunities!A3") or _location(wb),
    "conditional-format": lambda wb: wb[OPPORTUNITIES].conditional_formatting.add(
        "F3:F4", CellIsRule(operator="greaterThan", formula=["1000"])),
    "validation": lambda wb: _validation(wb),
    "chart": lambda wb: _chart(wb),
    "own-sheet-formula": lambda wb: wb[OPPORTUNITIES].cell(
        5, wb[OPPORTUNITIES].max_column + 1, "=F3*2"),
}


# Whole columns and structured references point at no row: the rows move.
NO_EDITS = {
    "whole-columns-and-tables": lambda wb: wb.create_sheet("Sums").append(
        ["=SUM(Opportunities!F:F)", "=SUM(Opportunities[Amount])",
         "=COUNTA(Opportunities!$B:$B)", "=Opportunities!A1", "=Settings!B4"]),
}


def _location(wb):
    link = wb["Links"]["A1"].hyperlink
    link.target, link.location = None, "Opportunities!A3"


def _validation(wb):
    validation = DataValidation(type="whole", operator="greaterThan", formula1="0")
    validation.add("F3")
    wb[OPPORTUNITIES].add_data_validation(validation)


def _chart(wb):
    chart = BarChart()
    chart.add_data(Reference(wb[OPPORTUNITIES], min_col=6, min_row=2, max_row=6))
    wb.create_sheet("Charts").add_chart(chart, "A1")


@pytest.fixture(params=["openpyxl", "split"])
def path_kind(request, monkeypatch):
    if request.param == "split":
        monkeypatch.setattr(splice, "STREAM_FROM_BYTES", 0)
    return request.param


def refreshed(tmp_path: Path, kind: str, path_kind: str):
    """(a copy of pointed(kind) after `xlkpi refresh`, loaded as ``path_kind`` says; the deal in
    row 3 before; the command's result). Refreshed once for each (kind, path_kind): the tests
    reading the same refresh share it."""
    result, data, deal = _refreshed(kind, path_kind)
    path = tmp_path / "tracker.xlsx"
    path.write_bytes(data)
    return path, deal, result


@functools.cache
def _refreshed(kind: str, path_kind: str):
    with tempfile.TemporaryDirectory() as folder:
        path, deal = pointed(Path(folder), kind)
        result = run("refresh", path)
        return result, path.read_bytes(), deal


@pytest.mark.slow
def test_formula_on_another_sheet_keeps_its_deal(tmp_path, path_kind):
    """The regression: =Opportunities!F3 on a Dashboard showed another deal after refresh."""
    path, deal, result = refreshed(tmp_path, "formula", path_kind)  # dashboard_formula
    before = sheet_rows(load_typed(pointed_bytes("formula")[0])[
        OPPORTUNITIES])
    assert result.exit_code == 0, result.stderr
    wb = load_typed(path)
    assert wb[OPPORTUNITIES]["A3"].value == deal
    assert sheet_rows(wb[OPPORTUNITIES]) == before
    col = amount_col(wb[OPPORTUNITIES])
    assert (f"Opportunities: rows not regrouped by owner (=Opportunities!{col}3 on 'Dashboard' "
            "points at a row); rep tabs read the whole columns (slower to recalculate in "
            "LibreOffice)") in result.stdout
    # the other sheets are grouped as before, and say so only when rows moved
    for sheet in (layout.LEADS, layout.EMAILS, layout.CUSTOMERS):
        assert_grouped(wb[sheet], REPS)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(EDITS))
def test_anything_pointing_at_a_row_keeps_the_rows(tmp_path, kind, path_kind):
    if path_kind == "split" and kind in ("hyperlink",):
        pass  # a link on another sheet: the data sheets still load split
    path, deal, result = refreshed(tmp_path, kind, path_kind)
    assert result.exit_code == 0, result.stderr
    assert load_typed(path)[OPPORTUNITIES]["A3"].value == deal
    assert "Opportunities: rows not regrouped by owner (" in result.stdout, result.stdout


@pytest.mark.slow
def test_whole_columns_and_table_references_let_rows_move(tmp_path, path_kind):
    path, _deal = pointed(tmp_path, "whole-columns-and-tables")
    result = run("refresh", path)
    assert result.exit_code == 0, result.stderr
    wb = load_typed(path)
    assert_grouped(wb[OPPORTUNITIES], REPS)
    moved = [line for line in result.stdout.splitlines() if "Opportunities:" in line]
    assert len(moved) == 1 and "rows moved to group them by owner" in moved[0], result.stdout
    late = next(r for r in range(2, wb[OPPORTUNITIES].max_row + 1)
                if wb[OPPORTUNITIES].cell(r, 1).value == "Late deal")
    assert late == owner_runs(wb[OPPORTUNITIES], REPS)["anna"][-1]


@pytest.mark.slow
def test_rows_moved_are_counted_and_a_grouped_tracker_says_nothing(tmp_path):
    path = mixed_tracker(tmp_path)
    first = run("refresh", "--dry-run", path)
    assert first.exit_code == 0, first.stderr
    line = next(line for line in first.stdout.splitlines() if "Opportunities:" in line)
    count = int(line.split("Opportunities: ")[1].split(" rows")[0].replace(",", ""))
    anna = owner_runs(load_typed(path)[OPPORTUNITIES], REPS)["anna"]
    # every row from just after Anna's block to the late row shifts by one
    assert count == (max(anna) - anna[-2])
    assert run("refresh", path).exit_code == 0
    again = run("refresh", path)
    assert "Opportunities:" not in again.stdout and "rows" not in again.stdout.split(
        "target rows added")[1]


@pytest.mark.slow
def test_a_data_row_formula_on_its_own_row_moves_with_it(tmp_path):
    """=F5*2 in row 5 is the row's own: the rows move and the formula with its row."""
    path = mixed_tracker(tmp_path)
    wb = load_typed(path)
    ws = wb[OPPORTUNITIES]
    late = max(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value is not None)
    col = ws.max_column + 1
    ws.cell(late, col, f"=F{late}*2&$A$1")
    wb.save(path)
    result = run("refresh", path)
    assert result.exit_code == 0, result.stderr
    ws = load_typed(path)[OPPORTUNITIES]
    moved = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "Late deal")
    assert moved < late
    assert ws.cell(moved, col).value == f"=F{moved}*2&$A$1"


def test_references_are_read_by_row_number_only():
    found = list(references("=Opportunities!F3+SUM('My ''S'!A1:B2)+F:F+Opportunities[Amount]"
                            "+3:5+$A$1+\"Opportunities!F9\"+[1]Opportunities!A5+Name1"))
    assert found == [("Opportunities!F3", "Opportunities", 3, 3, True),
                     ("'My ''S'!A1:B2", "My 'S", 1, 2, True),
                     ("3:5", None, 3, 5, True),
                     ("$A$1", None, 1, 1, False)]

"""The Stages table (issue 9): one mapping for the workbook, the report and the functions."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest

from xlkpi import udfs
from xlkpi.core.errors import InputError
from xlkpi.core.stages import BUILT_IN, StageMap, stage_key
from xlkpi.tracker import model as layout

from .test_import_merge import EXPORTS, new_tracker, run


@pytest.mark.parametrize("stage", ["Closed: won", "closedwon", "CLOSED-WON", "Closed.Won",
                                   "Сделка успешна", "Успешно\u00a0реализовано", "won"])
def test_built_in_won_names(stage):
    assert BUILT_IN.number(stage) == 1


@pytest.mark.parametrize("stage", ["Closed: lost", "Сделка провалена", "Lost",
                                   "Закрыто и не реализовано"])
def test_built_in_lost_names(stage):
    assert BUILT_IN.number(stage) == -1


def test_a_map_replaces_the_built_ins_and_first_row_wins():
    mapping = StageMap([("Closed: abandoned", "Lost"), ("closed abandoned", "Won"),
                        ("Won", "won")])
    assert mapping.number("CLOSED_ABANDONED") == -1
    assert mapping.number("Won") == 1 and mapping.number("Lost") == 0
    assert mapping.number("") == 0 and mapping.number(None) == 0 and mapping.number(5) == 0
    assert stage_key("a*b?c~") == "a#b#c#"


def test_function_stage_map_argument():
    stages = [["Won"], ["Closed: abandoned"], ["Lost"]]
    dates = [[46000], [46000], [46000]]
    assert udfs.close_rate(stages, dates) == 0.5
    table = [["Stage", "Class"], ["Closed: abandoned", "Lost"], ["Won", "Won"],
             ["Lost", "Lost"], [None, None]]
    assert udfs.close_rate(stages, dates, None, None, None, table) == pytest.approx(1 / 3)
    assert udfs.close_rate(stages, dates, None, None, None, None) == 0.5
    with pytest.raises(InputError, match="stage_map row 2: 'Wn' is not Won, Lost or Open"):
        StageMap.from_cells([["Stage", "Class"], ["x", "Wn"]])


@pytest.mark.slow
def test_refresh_adds_stages_to_an_old_tracker(tmp_path):
    path = new_tracker(tmp_path)
    wb = openpyxl.load_workbook(path)
    del wb[layout.STAGES]
    wb.save(path)
    run("refresh", path)
    wb = openpyxl.load_workbook(path)
    assert [row[0] for row in wb[layout.STAGES].iter_rows(min_row=2, max_col=1,
                                                           values_only=True)][:2] == [
        "Won", "Closed Won"]


@pytest.mark.libreoffice
def test_custom_stage_changes_workbook_report_and_function_alike(tmp_path):
    """'Closed: abandoned' mapped Lost on the Stages sheet: the recalculated workbook's every
    Actual cell equals `xlkpi report`, and CLOSE_RATE with stage_map equals both."""
    from .libreoffice import recalculate
    from .test_agreement import Built, Config, same, tab_cells

    path = new_tracker(tmp_path)
    run("import", path, EXPORTS / "hubspot_deals.csv")
    run("import", path, EXPORTS / "salesforce_opportunities.csv")
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.STAGES]
    row = next(cell.row for cell in ws["A"] if cell.value == "Closed: abandoned")
    ws.cell(row, 2).value = "Lost"
    # a row pasted below the data where the table was not extended (issue 10 item 7)
    opps = wb[layout.OPPORTUNITIES]
    last = max(r for r in range(2, opps.max_row + 1) if opps.cell(r, 1).value)
    for col, value in enumerate(["Pasted", "Boris", None, None, "Closed: abandoned", 7], 1):
        opps.cell(last + 1, col).value = value
    opps.cell(last + 1, 4).value = opps.cell(2, 4).value or opps.cell(3, 4).value
    wb.save(path)
    rows = json.loads(run("report", path, "--period", "all", "--format", "json").stdout)
    report = {(r["rep"], r["kpi"], r["period"]): r for r in rows}
    recalculated = recalculate(path, tmp_path / "recalculated")
    reps = ["Anna Petrova", "Boris"]
    months = [f"2026-{month:02d}" for month in range(1, 13)]
    built = Built(Config("import", 2026, 1, "2026-12-31", 2026), path, recalculated, report,
                  reps, months)
    wrong, checked = [], 0
    for who, kpi, period, kind, value in tab_cells(built):
        if kind == "Actual":
            checked += 1
            if not same(report[who, kpi, period]["actual"], value):
                wrong.append((who, kpi, period, value, report[who, kpi, period]["actual"]))
    assert checked and not wrong, wrong[:10]
    values = openpyxl.load_workbook(recalculated, data_only=True)
    data = list(values[layout.OPPORTUNITIES].iter_rows(values_only=True))
    header = list(data[0])
    body = [row for row in data[1:] if row[0] is not None]
    classes = [row[header.index("StageClass")] for row in body]
    assert classes[-1] == "Lost"  # the pasted row counts at once
    stages = [[row[header.index("Stage")]] for row in body]
    dates = [[row[header.index("CloseDate")]] for row in body]
    table = [list(row) for row in values[layout.STAGES].iter_rows(max_col=2, values_only=True)]
    got = udfs.close_rate(stages, dates, 2026, None, None, table)
    assert same(report["Team", "close_rate", "YTD"]["actual"], got)
    built_in = udfs.close_rate(stages, dates, 2026)
    assert built_in != got  # the mapping matters here


# --- rows pasted below the StageClass formulas (issue 10, item 7) -------------------------------

def _paste_below(path, count: int) -> tuple[int, int]:
    """``count`` won and lost deals pasted with openpyxl right below the Opportunities data (as
    LibreOffice pastes: the table is not extended); the first and last row pasted."""
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.OPPORTUNITIES]
    header = [cell.value for cell in ws[1]]
    last = max(row for row in range(2, ws.max_row + 1)
               if ws.cell(row, header.index("Stage") + 1).value not in (None, ""))
    for number in range(count):
        row = last + 1 + number
        values = {"Opportunity": f"Pasted {number}", "Owner": "Anna" if number % 2 else "Boris",
                  "CreatedDate": dt.datetime(2025, 3, 1 + number % 28),
                  "CloseDate": dt.datetime(2025, 10, 1 + number % 28),
                  "Stage": "Won" if number % 3 else "Lost", "Amount": 1000 + number}
        for name, value in values.items():
            ws.cell(row, header.index(name) + 1, value)
    wb.save(path)
    return last + 1, last + count


@pytest.mark.libreoffice
def test_rows_pasted_below_the_stage_class_formulas_count_alike_and_are_named(tmp_path):
    from tests.conftest import require
    from xlkpi.report import Report
    from xlkpi.tracker import values

    from . import libreoffice
    from .test_agreement import Built, same, tab_cells

    require("soffice", "LibreOffice")
    path = tmp_path / "t.xlsx"
    run("new", path, "--demo", "--year", 2025, "--as-of", "2025-12-31", "--reps", "Anna,Boris")
    first, last = _paste_below(path, 120)
    recalculated = libreoffice.recalculate(path, tmp_path / "lo")
    tracker, problems = values.read_checked(recalculated)
    computed = Report(tracker, problems=problems)
    [problem] = [problem for problem in computed.problems() if problem.kind == "no stage class"]
    assert problem.rows == list(range(first + 100, last + 1))  # 100 spare formula rows
    assert problem.message().startswith(
        f"Opportunities rows {first + 100:,}–{last:,} (StageClass): no StageClass formula "
        "(pasted below the table)")
    assert problem.message().endswith("run `xlkpi refresh`")
    report = {(row["rep"], row["kpi"], row["period"]): row for row in computed.rows("all")}
    months = [period.label for period in tracker.settings.month_periods()]
    built = Built(None, recalculated, recalculated, report, list(tracker.settings.reps), months)
    wrong = [(who, kpi, period, kind, value, report[who, kpi, period][kind.lower()])
             for who, kpi, period, kind, value in tab_cells(built)
             if not same(report[who, kpi, period][kind.lower()], value)]
    assert not wrong, wrong[:20]
    noted = run("report", recalculated, "--period", "YTD")
    assert f"Note: Opportunities rows {first + 100:,}–{last:,} (StageClass)" in noted.stderr

    # refresh writes the missing formulas: the rows count as won or lost at once
    before = report["Team", "deals_won", "YTD"]["actual"]
    refreshed = run("refresh", recalculated)
    assert "no StageClass formula" not in refreshed.stdout
    again = libreoffice.recalculate(recalculated, tmp_path / "lo2")
    tracker, problems = values.read_checked(again)
    assert not [problem for problem in problems if problem.kind == "no stage class"]
    after = {(row["rep"], row["kpi"], row["period"]): row
             for row in Report(tracker, problems=problems).rows("all")}
    assert after["Team", "deals_won", "YTD"]["actual"] == before + sum(
        1 for number in range(100, 120) if number % 3)


@pytest.mark.slow
def test_rows_without_stage_class_are_neither_won_nor_lost_in_the_report(tmp_path):
    from xlkpi.report import read_report

    def won(count: int):
        path = tmp_path / f"t{count}.xlsx"
        run("new", path, "--demo", "--year", 2025, "--as-of", "2025-12-31",
            "--reps", "Anna,Boris")
        first, _last = _paste_below(path, count)
        computed = read_report(path)
        rows = {(row["rep"], row["kpi"], row["period"]): row for row in computed.rows("all")}
        return first, computed.problems(), rows["Team", "deals_won", "YTD"]["actual"]

    first, problems, within = won(100)  # on the 100 spare formula rows: counted
    assert not [problem for problem in problems if problem.kind == "no stage class"]
    first, problems, beyond = won(120)  # 20 more below them: neither won nor lost
    [problem] = [problem for problem in problems if problem.kind == "no stage class"]
    assert problem.rows == list(range(first + 100, first + 120)) and beyond == within

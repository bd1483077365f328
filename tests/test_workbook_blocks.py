"""Owner blocks: data rows grouped by owner, and rep tabs that read only their rep's rows.

``new`` writes each data sheet's rows grouped by owner and ``refresh`` groups them again; a rep
tab counts inside its rep's block when the block holds all and only the rep's rows, and over
whole columns otherwise (rows pasted later, a sheet sorted by date). Either way every cell must
equal the engine: the LibreOffice tests here check that, and that the fast path is really taken.
"""

from __future__ import annotations

import datetime as dt
import io
import random

import openpyxl
import pytest
from openpyxl.comments import Comment

from tests.libreoffice import recalculate
from tests.test_workbook import load_typed, roundtrip, sample_tracker, tab_rows
from tests.test_workbook_libreoffice import check_workbook
from xlkpi.core.cells import owner_key
from xlkpi.core.kpis import KPIS
from xlkpi.tracker import build as workbook
from xlkpi.tracker import model as layout
from xlkpi.tracker import reader
from xlkpi.tracker.cells import put_text
from xlkpi.tracker.data import grouped_order
from xlkpi.tracker.model import (
    DATA_SHEETS,
    EMAILS,
    LEADS,
    OPPORTUNITIES,
    TEAM,
    Tracker,
)

OWNED = layout.OWNED_SHEETS
NO_ROWS_REP = "Zoe (left)"  # sample_tracker types targets for her but gives her no rows


# --- helpers -----------------------------------------------------------------------------------

def sheet_rows(ws) -> list[list]:
    """The data rows of a sheet, as values, StageClass left out, trailing blank rows dropped."""
    header = [cell.value for cell in ws[1]]
    skip = header.index("StageClass") if "StageClass" in header else None
    rows = [[value for index, value in enumerate(row) if index != skip]
            for row in ws.iter_rows(min_row=2, values_only=True)]
    while rows and all(value is None or value == "" for value in rows[-1]):
        rows.pop()
    return rows


def owner_runs(ws, reps) -> dict[str, list[int]]:
    """Rep key → the rows of the sheet owned by the rep."""
    header = [cell.value for cell in ws[1]]
    col = header.index("Owner") + 1
    keys = {owner_key(rep) for rep in reps}
    runs: dict[str, list[int]] = {}
    for row in range(2, ws.max_row + 1):
        key = owner_key(ws.cell(row, col).value)
        if key in keys:
            runs.setdefault(key, []).append(row)
    return runs


def assert_grouped(ws, reps) -> None:
    """Each rep's rows are contiguous, and come before any row of another or blank owner."""
    runs = owner_runs(ws, reps)
    for key, rows in runs.items():
        assert rows == list(range(rows[0], rows[0] + len(rows))), (ws.title, key)
    owned = sum(len(rows) for rows in runs.values())
    assert sorted(row for rows in runs.values() for row in rows) == list(range(2, owned + 2))


def blocks(ws) -> dict[str, tuple]:
    """Sheet → (count, first, last, ok) from a recalculated rep tab's hidden cells."""
    out = {}
    for offset, sheet in enumerate(OWNED):
        row = layout.TAB_BLOCK_FIRST_ROW + offset
        assert ws.cell(row, layout.TAB_BLOCK_SHEET_COL).value == sheet
        out[sheet] = tuple(ws.cell(row, col).value for col in (
            layout.TAB_BLOCK_COUNT_COL, layout.TAB_BLOCK_FIRST_COL,
            layout.TAB_BLOCK_LAST_COL, layout.TAB_BLOCK_OK_COL))
    return out


def flags(path, tracker: Tracker) -> dict[tuple[str, str], bool]:
    """(rep, sheet) → whether the rep tab reads the sheet through its owner block."""
    wb = openpyxl.load_workbook(path, data_only=True)
    titles = workbook.rep_sheet_names(tracker.settings.reps)
    return {(rep, sheet): values[3] for rep, title in titles.items()
            for sheet, values in blocks(wb[title]).items()}


def write_rows(wb, tracker: Tracker, sheet: str, order: list[int]) -> None:
    """Type the tracker's rows of ``sheet`` into rows 2… of the workbook in ``order`` (as a
    person's sort would leave them); StageClass formulas stay on their rows."""
    ws = wb[sheet]
    header = [cell.value for cell in ws[1]]
    data = tracker.data[sheet]
    for row, index in enumerate(order, 2):
        for name, value in zip(data.header, data.rows[index], strict=False):
            put_text(ws.cell(row, header.index(name) + 1), value)


def append_row(wb, tracker: Tracker, sheet: str, values: list) -> None:
    ws = wb[sheet]
    header = [cell.value for cell in ws[1]]
    row = max(r for (r, c) in ws._cells if ws._cells[(r, c)].value is not None
              and header[c - 1] != "StageClass") + 1
    for name, value in zip(tracker.data[sheet].header, values, strict=False):
        put_text(ws.cell(row, header.index(name) + 1), value)
    tracker.data[sheet].rows.append(list(values))


# --- grouped_order -----------------------------------------------------------------------------

def test_grouped_order_is_stable_and_case_insensitive():
    owners = ["Carl", "anna", None, "Boris", "ANNA", "", "boris", "St*r?", 7, "Anna", "StXr1"]
    blank = [False] * len(owners)
    blank[5] = True
    order = grouped_order(owners, ["Anna", "Boris", "St*r?", "7"], blank)
    assert order == [1, 4, 9, 3, 6, 7, 8, 0, 2, 10, 5]
    assert sorted(order) == list(range(len(owners)))
    grouped = [owners[i] for i in order]
    again = grouped_order(grouped, ["Anna", "Boris", "St*r?", "7"],
                                   [blank[i] for i in order])
    assert again == list(range(len(owners)))  # grouped rows keep their order
    assert grouped_order([], ["Anna"]) == []
    assert grouped_order(["x", "y"], []) == [0, 1]


@pytest.mark.slow
def test_new_writes_rows_grouped_by_owner():
    tracker = sample_tracker(seed=4, rows=120)
    wb = roundtrip(workbook.new_workbook(tracker))
    for sheet in DATA_SHEETS:
        data = tracker.data[sheet]
        got = sheet_rows(wb[sheet])
        assert sorted(map(repr, got)) == sorted(
            map(repr, ([_as_read(v) for v in row] for row in data.rows)))
        if sheet in OWNED:
            assert_grouped(wb[sheet], tracker.settings.reps)


def _as_read(value):
    if value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


# --- the rep tab formulas ----------------------------------------------------------------------

def test_rep_tabs_read_the_owner_block_or_whole_columns():
    tracker = sample_tracker(seed=5, rows=30, reps=["Anna", "St*r?"])
    wb = workbook.new_workbook(tracker)
    ws = wb["St_r_"]
    assert ws["P2"].value == "=St~*r~?" and ws["P3"].value == "St~*r~?"
    assert ws["P3"].data_type == "s"
    for offset, sheet in enumerate(OWNED):
        row = 2 + offset
        assert ws.cell(row, 17).value == sheet
        assert ws.cell(row, 18).value.startswith("=COUNTIF(")
        assert "MATCH($P$3," in ws.cell(row, 19).value
        assert ws.cell(row, 21).value.startswith("=IFERROR(COUNTIF(INDEX(")
    for col in "PQRSTU":
        assert ws.column_dimensions[col].hidden
    rows = tab_rows(ws)
    won = ws.cell(rows[("Deals won", "Actual")], layout.TAB_RAW_FIRST_COL).value
    assert won.startswith("=IF($U$3,COUNTIFS(INDEX(Opportunities!$D:$D,$S$3):")
    assert won.count("Opportunities!$B:$B,$P$2") == 1  # only in the fallback
    churn = ws.cell(rows[("Churn rate", "Actual")], layout.TAB_RAW_FIRST_COL).value
    assert not churn.startswith("=IF(")  # built on the retention cell: no data of its own
    team = wb[TEAM]
    for row in team.iter_rows(min_row=layout.TAB_FIRST_ROW):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                assert "INDEX(Leads" not in cell.value and "$U$" not in cell.value


def test_each_count_is_made_once_per_cell():
    """Retention counts three things once each; growth divides by a hidden cell, not by a
    second copy of the previous period's SUMIFS."""
    wb = workbook.new_workbook(sample_tracker(seed=5, rows=10))
    ws = wb[TEAM]
    rows = tab_rows(ws)
    retention = ws.cell(rows[("Retention rate", "Actual")], layout.TAB_RAW_FIRST_COL).value
    assert retention.count("COUNTIFS(") == 3
    growth = rows[("Revenue growth", "Actual")]
    for col, helper in ((layout.TAB_RAW_FIRST_COL, "$P$"), (15, "$Q$")):
        assert ws.cell(growth, col).value == (
            f'=IFERROR(({openpyxl.utils.get_column_letter(col)}{growth - 3}-{helper}{growth})/'
            f'{helper}{growth},"")')
    assert ws.cell(growth, 16).value.startswith("=SUMIFS(Opportunities!$F:$F")
    assert "SUMIFS" not in ws.cell(growth, layout.TAB_RAW_FIRST_COL + 1).value


# --- refresh groups the rows again ---------------------------------------------------------------

@pytest.mark.slow
def test_refresh_moves_whole_rows():
    tracker = sample_tracker(seed=6, rows=40, reps=["Anna", "Boris"])
    wb = roundtrip(workbook.new_workbook(tracker))
    ws = wb[LEADS]
    header = [cell.value for cell in ws[1]]
    note = header.index("Campaign note") + 1
    mine = len(header) + 1
    ws.cell(1, mine, "Mine")
    last = ws.max_row
    # A row for Anna typed at the bottom, with a formula of its own, a link, a comment and a
    # height; a blank row between the data and it.
    row = last + 2
    for name, value in zip(header, ["Late lead", "ANNA", dt.datetime(2026, 5, 5), None,
                                    "Web", "late"], strict=False):
        ws.cell(row, header.index(name) + 1, value)
    ws.cell(row, mine, f"=LEN(A{row})&$A$1")
    ws.cell(row, note).hyperlink = "https://example.com/lead"
    ws.cell(row, 1).comment = Comment("typed late", "me")
    ws.row_dimensions[row].height = 33
    before = sheet_rows(ws)
    back = reader.read_tracker(wb)
    workbook.regenerate(wb, back)
    wb = roundtrip(wb)
    ws = wb[LEADS]
    assert_grouped(ws, ["Anna", "Boris"])
    after = sheet_rows(ws)
    # Every row is kept (the blank one went to the end, where it is no row at all); the
    # formula moved with its row (compared below).
    def key(row):
        return repr(["=…" if isinstance(v, str) and v.startswith("=LEN(") else v for v in row])

    assert len(after) == len(before) - 1
    assert sorted(map(key, after)) == sorted(
        key(r) for r in before if any(v is not None for v in r))
    moved = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "Late lead")
    assert moved < row
    anna = owner_runs(ws, ["Anna"])["anna"]
    assert moved == anna[-1]  # last of Anna's rows: the typed order is kept
    assert ws.cell(moved, mine).value == f"=LEN(A{moved})&$A$1"
    assert ws.cell(moved, note).hyperlink.target == "https://example.com/lead"
    assert ws.cell(moved, note).hyperlink.ref == f"{ws.cell(moved, note).coordinate}"
    assert ws.cell(moved, 1).comment.text == "typed late"
    assert ws.row_dimensions[moved].height == 33
    table = ws.tables[LEADS]
    assert table.ref.endswith(str(len(after) + 1))


@pytest.mark.slow
def test_refresh_leaves_rows_with_merged_cells_alone():
    tracker = sample_tracker(seed=6, rows=20, reps=["Anna", "Boris"])
    wb = roundtrip(workbook.new_workbook(tracker))
    ws = wb[EMAILS]
    ws.cell(ws.max_row + 1, 2, "Anna")
    ws.cell(ws.max_row, 1, dt.datetime(2026, 5, 5))
    ws.merge_cells(start_row=3, start_column=10, end_row=4, end_column=10)
    before = sheet_rows(ws)
    workbook.regenerate(wb, reader.read_tracker(wb))
    assert sheet_rows(wb[EMAILS]) == before


# --- LibreOffice: every cell still equals the engine -------------------------------------------

@pytest.mark.libreoffice
def test_grouped_rows_take_the_fast_path_and_pasted_rows_fall_back(tmp_path):
    """(a) rows typed in mixed owner order are written grouped, and every rep tab reads its
    blocks; (b) a row for one rep pasted at the bottom makes only that rep, on only that
    sheet, fall back to whole columns, and every cell still equals the engine."""
    tracker = sample_tracker(seed=11, rows=300)
    tracker.settings.reps.append(NO_ROWS_REP)
    reps = tracker.settings.reps
    wb = workbook.new_workbook(tracker)
    for sheet in OWNED:
        assert_grouped(wb[sheet], reps)
    year, first = tracker.settings.year, tracker.settings.fiscal_start
    when = dt.datetime(year, first + 2, 10, 9, 30)
    append_row(wb, tracker, LEADS, ["Late lead", "boris", when, when, "Web", None])
    # open: a row below the table has no StageClass in LibreOffice, so won/lost would not count
    append_row(wb, tracker, OPPORTUNITIES,
               ["Late opp", "St*r?", when, when, "Proposal", 700, None])
    # a non-rep's row at the bottom changes nothing for the reps
    append_row(wb, tracker, EMAILS, [when, "Carl", 10, 1, 5, 2, 1])
    path = tmp_path / "tracker.xlsx"
    wb.save(path)
    out = recalculate(path, tmp_path / "out")
    check_workbook(out, tracker, dt.date.today())
    got = flags(out, tracker)
    fallen = {key for key, ok in got.items() if ok is not True}
    assert fallen == {("Boris", LEADS), ("St*r?", OPPORTUNITIES)}
    recalculated = openpyxl.load_workbook(out, data_only=True)
    nobody = blocks(recalculated[workbook.rep_sheet_names(reps)[NO_ROWS_REP]])
    assert all(values == (0, 1, 1, True) for values in nobody.values())


@pytest.mark.libreoffice
def test_rows_in_any_order_still_equal_the_engine_and_refresh_groups_them(tmp_path):
    """(c) the rows of every data sheet shuffled (a person sorting by date, say): every rep
    falls back and every cell still equals the engine; after `refresh` the rows are grouped
    again, every rep reads its blocks, and the cells still equal the engine."""
    tracker = sample_tracker(seed=12, rows=300)
    tracker.settings.reps.append(NO_ROWS_REP)
    wb = workbook.new_workbook(tracker)
    rng = random.Random(12)
    for sheet in DATA_SHEETS:
        order = list(range(len(tracker.data[sheet].rows)))
        rng.shuffle(order)
        write_rows(wb, tracker, sheet, order)
    path = tmp_path / "shuffled.xlsx"
    wb.save(path)
    out = recalculate(path, tmp_path / "out")
    check_workbook(out, tracker, dt.date.today())
    got = flags(out, tracker)
    assert sum(ok is not True for ok in got.values()) >= 4 * (len(tracker.settings.reps) - 1)

    book = load_typed(path)  # as refresh loads it
    workbook.regenerate(book, reader.read_tracker(book))
    refreshed = tmp_path / "refreshed" / "tracker.xlsx"
    refreshed.parent.mkdir()
    buffer = io.BytesIO()
    book.save(buffer)
    refreshed.write_bytes(buffer.getvalue())
    grouped = load_typed(refreshed)
    for sheet in OWNED:
        assert_grouped(grouped[sheet], tracker.settings.reps)
    out = recalculate(refreshed, tmp_path / "out_refreshed")
    check_workbook(out, tracker, dt.date.today())
    assert all(ok is True for ok in flags(out, tracker).values())


# --- Targets: one lookup per KPI row -----------------------------------------------------------

def test_target_cells_read_the_one_targets_row():
    wb = workbook.new_workbook(sample_tracker(seed=5, rows=10, reps=["St*r?"]))
    ws = wb["St_r_"]
    assert ws["P4"].value == "=IFERROR(MATCH($P$3,Targets!$A:$A,0),0)"
    row = tab_rows(ws)[("Deals won", "Target")]
    assert ws.cell(row, 17).value.startswith("=COUNTIFS(Targets!$A:$A,$P$2,")
    # the planned month (settings.plan_targets), else the typed one (a row added since)
    planned, typed = f"INDEX(Targets!$AN:$AN,$P{row})", f"INDEX(Targets!$C:$C,$P{row})"
    assert ws.cell(row, 3).value.startswith(
        f'=IF($P{row}>0,IF(ISNUMBER({planned}),{planned},IF(ISNUMBER({typed}),{typed},""))'
        f',IF($Q{row}=0,"",')


@pytest.mark.libreoffice
def test_target_cells_take_the_lookup_and_add_up_duplicate_rows(tmp_path):
    tracker = sample_tracker(seed=13, rows=30, reps=["Anna", "St*r?"])
    wb = workbook.new_workbook(tracker)
    targets = wb["Targets"]
    row = targets.max_row + 1
    put_text(targets.cell(row, 1), "st*R?")  # the same rep, another case
    put_text(targets.cell(row, 2), "Deals won")
    targets.cell(row, 3, 5)
    path = tmp_path / "tracker.xlsx"
    wb.save(path)
    out = openpyxl.load_workbook(recalculate(path, tmp_path / "out"), data_only=True)
    for who, title in {"Team": TEAM, **workbook.rep_sheet_names(tracker.settings.reps)}.items():
        ws = out[title]
        for (name, kind), r in tab_rows(ws).items():
            if kind != "Target":
                continue
            kpi = next(k for k in KPIS if k.name == name)
            found, count = ws.cell(r, 16).value, ws.cell(r, 17).value
            if who == "St*r?" and kpi.id == "deals_won":
                assert (found, count) == (0, 2)  # two rows: COUNTIFS/SUMIFS add them up
                first = next((t.months[0] for t in tracker.targets
                              if t.who == who and t.kpi_id == kpi.id), None)
                number = first if isinstance(first, (int, float)) and first > -1e300 else 0
                assert ws.cell(r, 3).value == number + 5
            else:  # new writes one Targets row for every (who, KPI)
                assert count == 1 and found > 0, (who, name)

"""`xlkpi refresh` keeps everything a person typed.

Random edits to a tracker (typed targets: blanks, zeros, decimals, text notes; reps added,
renamed and removed in Settings; data rows appended and deleted; extra columns; a sheet of the
user's own) → read_tracker → regenerate → save → load: every typed cell is unchanged, except
that the data rows are grouped by owner again (every row kept whole, each rep's rows in typed
order), each rep now in Settings has a tab, a removed rep's tab is gone and its Targets rows
are kept.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import tempfile
from collections import Counter
from pathlib import Path
from unittest import mock

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter, range_boundaries

from tests.test_workbook import sample_tracker
from xlkpi.core.errors import TrackerFileError
from xlkpi.core.kpis import KPIS
from xlkpi.tracker import build as workbook
from xlkpi.tracker import model as layout
from xlkpi.tracker import reader
from xlkpi.tracker.cells import put_text
from xlkpi.tracker.data import grouped_order, stage_class_formula
from xlkpi.tracker.file import generated_unread, split_large
from xlkpi.tracker.model import (
    DATA_COLUMNS,
    DATA_SHEETS,
    OPPORTUNITIES,
    SETTINGS,
    STAGE_CLASS_COLUMN,
    TARGETS,
    TEAM,
)
from xlkpi.xlsx import splice

BASE_REPS = ["Anna", "St*r?"]
USER_SHEET = "My analysis"


@functools.lru_cache(maxsize=1)
def base_bytes() -> bytes:
    buffer = io.BytesIO()
    workbook.new_workbook(sample_tracker(seed=3, rows=6, reps=BASE_REPS)).save(buffer)
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def base_unread_bytes() -> bytes:
    """base_bytes as `xlkpi refresh` loads a small tracker (file.generated_unread): the
    generated tabs without their cells and charts, which regenerate writes again. A third of
    an example's time was openpyxl reading them only to throw them away."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.xlsx"
        path.write_bytes(base_bytes())
        unread = generated_unread(path, lambda source: source.getvalue())
    assert unread is not None
    return unread


def save_and_load(wb) -> openpyxl.Workbook:
    buffer = io.BytesIO()
    wb.save(buffer)
    return openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))


def save_and_load_typed(wb) -> tuple[openpyxl.Workbook, openpyxl.Workbook]:
    """``wb`` saved, and loaded twice: as `xlkpi refresh` loads a small tracker (every typed
    cell, the generated tabs without their cells: file.generated_unread), and read-only, for
    a few cells of the generated tabs. The property is about typed cells; reading the
    generated tabs' ten thousand formulas into openpyxl was a third of an example's time."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.xlsx"
        wb.save(path)
        typed = generated_unread(path, openpyxl.load_workbook)
        if typed is None:  # no generated tab: nothing left unread
            typed = openpyxl.load_workbook(path)
        data = path.read_bytes()
    return typed, openpyxl.load_workbook(io.BytesIO(data), read_only=True)


# --- strategies ----------------------------------------------------------------------------

def as_saved(number: float) -> float:
    """openpyxl writes numbers with 16 significant digits ("%.16g"); a number read from a
    saved file has at most that many, so that is what a person's typed numbers look like."""
    return float(f"{number:.16g}")


TEXT = st.text(alphabet="abcXYZ =#*?~<>'\"-_.,!ЖжёÉ€", min_size=1, max_size=12).filter(
    lambda text: text.strip() != "")
NOTES = st.sampled_from(["tbd", "ask Boris", "=1+1", "#N/A", "100", " ", "=Team!C6"]) | TEXT
TYPED = st.one_of(
    st.none(),
    st.just(0),
    st.integers(-10**9, 10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e12,
              max_value=1e12).map(as_saved),
    st.decimals(min_value=0, max_value=1, places=3).map(float),
    NOTES,
)
DATES = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2028, 12, 31)
                     ).map(lambda moment: moment.replace(microsecond=0))
CELLS = st.one_of(st.none(), st.integers(-10**6, 10**6), DATES, TEXT,
                  st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9,
                            max_value=1e9).map(as_saved))
REP_NAMES = st.one_of(
    st.sampled_from(["Carl", "=Eve", "Ольга ~1", "a/b", "x" * 40, USER_SHEET, "Boris2",
                     "Q?", "O'Neil"]),
    st.text(alphabet="abcdefXYZ *?~=<>'-.[]:/", min_size=1, max_size=35),
).map(str.strip).filter(lambda name: name != "" and name.lower() != "team")


@st.composite
def edits(draw):
    kept = [rep for rep in BASE_REPS if draw(st.booleans())]
    renamed = {rep: draw(REP_NAMES) for rep in kept if draw(st.integers(0, 4)) == 0}
    reps = [renamed.get(rep, rep) for rep in kept] + draw(st.lists(REP_NAMES, max_size=2))
    unique = list({rep.lower(): rep for rep in reversed(reps)}.values())[::-1]
    return {
        "reps": unique,
        "currency": draw(st.sampled_from([None, "EUR", "₽", "X\"Y"])),
        "as_of": draw(st.one_of(st.none(), DATES)),
        "targets": draw(st.lists(st.tuples(st.integers(0, 80), st.integers(0, 14), TYPED),
                                 max_size=25)),
        "new_target_rows": draw(st.lists(st.tuples(st.sampled_from(["Zoe", "Team", "Anna"]),
                                                   st.sampled_from(["Calls", "Won revenue",
                                                                    None]),
                                                   TYPED), max_size=2,
                                         unique_by=lambda row: row[:2])),
        "append": {sheet: draw(st.lists(st.lists(CELLS, min_size=8, max_size=8), max_size=3))
                   for sheet in DATA_SHEETS},
        "delete": {sheet: draw(st.lists(st.integers(2, 8), max_size=2, unique=True))
                   for sheet in DATA_SHEETS},
        "extra_column": draw(st.one_of(st.none(), st.tuples(
            st.sampled_from(DATA_SHEETS), st.sampled_from(["Mine", "Region", "Комментарий"]),
            st.lists(CELLS, max_size=5)))),
        "user_sheet": draw(st.booleans()),
        "move_column": draw(st.booleans()),
    }


def apply(wb: openpyxl.Workbook, change: dict) -> None:
    settings = wb[SETTINGS]
    for row in range(layout.SETTINGS_REPS_HEADER_ROW + 1, settings.max_row + 1):
        settings.cell(row, 1).value = None
    for offset, rep in enumerate(change["reps"], 1):
        put_text(settings.cell(layout.SETTINGS_REPS_HEADER_ROW + offset, 1), rep)
    if change["currency"] is not None:
        put_text(settings["B6"], change["currency"])
    settings["B7"] = change["as_of"]
    targets = wb[TARGETS]
    for row, col, value in change["targets"]:
        put_text(targets.cell(layout.TARGETS_FIRST_ROW + row, 3 + col), value)
    for who, kpi, value in change["new_target_rows"]:
        row = targets.max_row + 2
        if kpi == "Won revenue" and who in ("Team", "Anna"):
            kpi = "Won  revenue (mine)"  # a person's own row: not a duplicate of a KPI row
        put_text(targets.cell(row, 1), who)
        put_text(targets.cell(row, 2), kpi)
        put_text(targets.cell(row, 5), value)
    for sheet in DATA_SHEETS:
        ws = wb[sheet]
        for index in sorted(change["delete"][sheet], reverse=True):
            if index <= ws.max_row:
                ws.delete_rows(index)
        width = len(DATA_COLUMNS[sheet])
        last = max((row for row in range(2, ws.max_row + 1)
                    if any(ws.cell(row, c).value is not None for c in range(1, width + 1))),
                   default=1)
        for offset, values in enumerate(change["append"][sheet], 1):
            for col, value in enumerate(values[:width], 1):
                put_text(ws.cell(last + offset, col), value)
    if change["extra_column"] is not None:
        sheet, header, values = change["extra_column"]
        ws = wb[sheet]
        col = ws.max_column + 1
        put_text(ws.cell(1, col), header)
        for row, value in enumerate(values, 2):
            put_text(ws.cell(row, col), value)
    if change["move_column"]:
        ws = wb[OPPORTUNITIES]
        ws.move_range(f"F1:F{ws.max_row}", cols=ws.max_column + 3 - 6)  # Amount far right
    if change["user_sheet"]:
        ws = wb.create_sheet(USER_SHEET, 3)
        ws["A1"] = "My own notes"
        ws["A2"] = "=Team!O7"
        put_text(ws["A3"], "=not a formula")
        ws["B2"] = dt.datetime(2026, 5, 1, 8, 30)
        ws["C2"] = 1.25


def typed_cells(wb: openpyxl.Workbook) -> dict:
    """Every cell a person typed outside the data rows: (sheet, coordinate) → (value, data
    type). The data rows are in data_rows: refresh may reorder them."""
    cells = {}

    def take(ws, rows, skip_col=None):
        for row in rows:
            for cell in row:
                if cell.value is not None and cell.column != skip_col:
                    cells[(ws.title, cell.coordinate)] = (cell.value, cell.data_type)

    settings = wb[SETTINGS]
    take(settings, settings.iter_rows(min_row=4, max_row=7, max_col=2))
    take(settings, settings.iter_rows(min_row=layout.SETTINGS_REPS_HEADER_ROW, max_col=2))
    targets = wb[TARGETS]
    # not the generated, hidden planning block from TARGETS_PLAN_COL (settings.plan_targets)
    typed_cols = layout.TARGETS_PLAN_COL - 1
    take(targets, targets.iter_rows(min_row=layout.TARGETS_FIRST_ROW, max_col=typed_cols))
    take(targets, targets.iter_rows(min_row=layout.TARGETS_HEADER_ROW,
                                    max_row=layout.TARGETS_HEADER_ROW,
                                    min_col=layout.TARGETS_EXTRA_COL, max_col=typed_cols))
    for sheet in DATA_SHEETS:
        ws = wb[sheet]
        take(ws, ws.iter_rows(max_row=1))
    if USER_SHEET in wb.sheetnames:
        take(wb[USER_SHEET], wb[USER_SHEET].iter_rows())
    return cells


def data_rows(wb: openpyxl.Workbook) -> dict[str, tuple[int, list[tuple]]]:
    """Sheet → (the Owner column, every data row below the header as a tuple of (column,
    value, data type) of its typed cells: all columns, a person's too, StageClass left out)."""
    rows = {}
    for sheet in DATA_SHEETS:
        ws = wb[sheet]
        header = [str(c.value).lower() for c in ws[1]]
        stage_col = (header.index(STAGE_CLASS_COLUMN.lower()) + 1
                     if STAGE_CLASS_COLUMN.lower() in header else None)
        owner_col = header.index("owner") + 1 if "owner" in header else None
        found = []
        for row in ws.iter_rows(min_row=2):
            found.append(tuple((cell.column, cell.value, cell.data_type) for cell in row
                               if cell.value is not None and cell.column != stage_col))
        rows[sheet] = (owner_col, found)
    return rows


def regrouped(rows: dict, reps: list[str]) -> dict[str, list[tuple]]:
    """The data rows in the order refresh gives them: grouped_order by the owner
    (each rep's rows together, in typed order; other owners, then blank rows, last); blank rows
    are dropped (at the end they are no row at all)."""
    out = {}
    for sheet, (owner_col, found) in rows.items():
        if owner_col is not None:
            owners = [next((value for col, value, _ in row if col == owner_col), None)
                      for row in found]
            blank = [all(value == "" for _, value, _ in row) for row in found]
            found = [found[index] for index in grouped_order(owners, reps, blank)]
        out[sheet] = [row for row in found if any(value != "" for _, value, _ in row)]
    return out


# Found by the CI profile: a blank row between typed rows of Spend (no Owner column, so
# refresh keeps it where it is).
BLANK_ROW_BETWEEN = {
    "reps": list(BASE_REPS), "currency": None, "as_of": None, "targets": [],
    "new_target_rows": [], "delete": {sheet: [] for sheet in DATA_SHEETS},
    "append": {sheet: [[None] * 8, [None, None, 0] + [None] * 5] for sheet in DATA_SHEETS},
    "extra_column": None, "user_sheet": False, "move_column": False,
}


def split_load(wb: openpyxl.Workbook) -> splice.SplitBook:
    """``wb`` saved and loaded the way `xlkpi refresh` loads a large tracker: the data rows
    kept as sheet XML outside openpyxl (xlsx.splice), whatever the size."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.xlsx"
        wb.save(path)
        with mock.patch.object(splice, "STREAM_FROM_BYTES", 0):
            split = split_large(path, openpyxl.load_workbook)
    assert isinstance(split, splice.SplitBook)  # never declined for these edits
    return split


# Both ways `xlkpi refresh` loads a tracker: every typed cell in openpyxl (small trackers, and
# files the fast path declines) and the data rows kept as XML (large trackers): "split", in
# tests/test_refresh_roundtrip_split.py, so that pytest-xdist (a file to a worker) runs the two
# at once: they are the longest tests of the CI run.
@pytest.mark.slow
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change=edits())
@example(change=BLANK_ROW_BETWEEN)
def test_refresh_keeps_what_a_person_typed(change):
    check_refresh_keeps_what_a_person_typed("cells", change)


def check_refresh_keeps_what_a_person_typed(load: str, change: dict) -> None:
    """``change`` applied to the base tracker (as refresh loads it: its generated tabs
    unread), refreshed, saved and loaded: everything typed is kept (module doc)."""
    wb = openpyxl.load_workbook(io.BytesIO(base_unread_bytes()))
    old_titles = set(workbook.generated_sheets(wb))
    apply(wb, change)
    before = typed_cells(wb)
    before_rows = data_rows(wb)
    tracker = reader.read_tracker(wb, "tracker.xlsx")
    assert tracker.settings.reps == change["reps"]

    if load == "split":
        wb = split_load(wb)
        split = reader.read_tracker(wb, "tracker.xlsx")  # data rows not read, as refresh does
        assert (split.settings, split.targets) == (tracker.settings, tracker.targets)
        workbook.regenerate(wb, split)
    else:
        workbook.regenerate(wb, tracker)
    after_wb, shown = save_and_load_typed(wb)
    after = typed_cells(after_wb)
    changed = {key: (value, after.get(key)) for key, value in before.items()
               if after.get(key) != value}
    assert not changed, changed
    # Every data row is kept whole (a person's columns too) and only its place changes: the
    # rows are grouped by owner, each rep's rows in their typed order.
    after_rows = regrouped(data_rows(after_wb), [])  # blank rows dropped, order as it is
    expected_rows = regrouped(before_rows, change["reps"])
    for sheet in DATA_SHEETS:
        assert Counter(after_rows[sheet]) == Counter(expected_rows[sheet]), sheet
        assert after_rows[sheet] == expected_rows[sheet], sheet

    # The tracker reads back the same, plus empty Targets rows for new (who, KPI) pairs.
    again = reader.read_tracker(after_wb, "tracker.xlsx")
    assert again.settings == tracker.settings
    for sheet in DATA_SHEETS:
        assert again.data[sheet].header == tracker.data[sheet].header
        # A blank row carries nothing typed; where it ends up (dropped at the end, kept
        # between rows of a sheet without an Owner column) does not matter.
        assert Counter(tuple(row) for row in again.data[sheet].rows if not blank_row(row)) == (
            Counter(tuple(row) for row in tracker.data[sheet].rows if not blank_row(row))), sheet
    assert again.targets[:len(tracker.targets)] == tracker.targets
    assert all(row.months == [None] * 12 and row.extra == []
               for row in again.targets[len(tracker.targets):])
    pairs = {(row.who.lower(), row.kpi_id) for row in again.targets}
    for rep in change["reps"]:
        for kpi in KPIS:
            assert ((rep.lower(), kpi.id) in pairs) != kpi.team_only
    for kpi in KPIS:
        assert ("team", kpi.id) in pairs
    for rep in BASE_REPS:  # removed or not, their typed rows stay
        assert all((rep.lower(), kpi.id) in pairs for kpi in KPIS if not kpi.team_only)

    # Tabs: one per rep now in Settings, none for removed reps; a person's sheet survives.
    generated = workbook.generated_sheets(after_wb)
    user = [USER_SHEET] if change["user_sheet"] else []
    titles = workbook.rep_sheet_names(change["reps"], reserved=user)
    rep_tabs = {title for title, kind in generated.items() if kind == "rep"}
    assert rep_tabs == set(titles.values())
    for rep, title in titles.items():
        assert shown[title]["B2"].value == rep
    for title in old_titles - set(titles.values()) - {TEAM, "Start", "Leaderboard", "Channels",
                                                      "This month", "Rep view"}:
        assert title not in after_wb.sheetnames or title in user
    if change["user_sheet"]:
        assert after_wb[USER_SHEET]["A2"].value == "=Team!O7"
        assert after_wb[USER_SHEET]["A3"].data_type == "s"
    assert after_wb.sheetnames[-1] == workbook.META
    assert after_wb[workbook.META].sheet_state == "veryHidden"

    # Data sheets: the table spans every row, StageClass is on every opportunity.
    for sheet in DATA_SHEETS:
        ws = after_wb[sheet]
        table = ws.tables[sheet]
        rows = len(again.data[sheet].rows)
        assert range_boundaries(table.ref)[3] == max(rows + 1, 2)
        assert table.column_names == [str(c.value) for c in ws[1]][:len(table.column_names)]
    ws = after_wb[OPPORTUNITIES]
    header = [c.value for c in ws[1]]
    stage = get_column_letter(header.index("Stage") + 1)
    stage_class = header.index(STAGE_CLASS_COLUMN) + 1
    for row in range(2, len(again.data[OPPORTUNITIES].rows) + 2):
        assert ws.cell(row, stage_class).value == stage_class_formula(f"{stage}{row}")


def blank_row(row: list) -> bool:
    return all(value is None or value == "" for value in row)


@pytest.mark.slow
def test_refresh_twice_changes_nothing():
    wb = openpyxl.load_workbook(io.BytesIO(base_bytes()))
    workbook.regenerate(wb, reader.read_tracker(wb))
    once = save_and_load(wb)
    workbook.regenerate(once, reader.read_tracker(once))
    twice = save_and_load(once)

    def dump(book):
        return {ws.title: [(c.coordinate, c.value) for row in ws.iter_rows() for c in row
                           if c.value is not None] for ws in book.worksheets}

    assert dump(once) == dump(twice)
    assert once.sheetnames == twice.sheetnames


def test_refresh_refuses_a_sheet_that_takes_a_generated_name():
    wb = openpyxl.load_workbook(io.BytesIO(base_bytes()))
    tracker = reader.read_tracker(wb)
    meta = wb[workbook.META]
    for row in meta.iter_rows(min_row=layout.META_HEADER_ROW + 1):
        if row[0].value == "Leaderboard":
            row[0].value = "Old leaderboard"
    sheets = list(wb.sheetnames)
    with pytest.raises(TrackerFileError, match="'Leaderboard' was not made by xlkpi.*rename it"):
        workbook.regenerate(wb, tracker)
    assert wb.sheetnames == sheets  # nothing removed before refusing

"""The tracker workbook's structure: sheets, headers, formats, formulas, safety, determinism.

``sample_tracker`` (also used by the LibreOffice and refresh tests) builds a seeded, messy
Tracker: stage spellings in several languages, dates with times and on month boundaries,
blank end dates and owners, rep names with wildcards and a leading "=".
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import re
import tempfile
from pathlib import Path

import openpyxl
import pytest

from xlkpi.core.errors import InputError, TrackerFileError
from xlkpi.core.kpis import KPIS
from xlkpi.core.texts import stage_class
from xlkpi.tracker import build as workbook
from xlkpi.tracker import model as layout
from xlkpi.tracker import reader
from xlkpi.tracker.data import (
    SPARE_STAGE_ROWS,
    STAGE_STRIPPED,
    grouped_order,
    stage_class_formula,
)
from xlkpi.tracker.file import generated_unread
from xlkpi.tracker.formulas import owner_criterion
from xlkpi.tracker.meta import generated_sheets
from xlkpi.tracker.model import (
    CUSTOMERS,
    DATA_COLUMNS,
    DATA_SHEETS,
    EMAILS,
    LEADERBOARD,
    LEADS,
    OPPORTUNITIES,
    SETTINGS,
    SPEND,
    START,
    TARGETS,
    TEAM,
    DataSheet,
    Settings,
    TargetRow,
    Tracker,
    check_reps,
)
from xlkpi.tracker.styles import currency_format

STAGES = ["Won", "won", "Closed Won", "closed-won", "CLOSED_WON", " Closed  Won ",
          "Успешно реализовано", "успешно_реализовано", "Lost", "Closed Lost", "closed-lost",
          "Закрыто и не реализовано", "ЗАКРЫТО И НЕ РЕАЛИЗОВАНО", "Negotiation", "Proposal",
          "Won?", "w*n", "Closed Won (old)", "", None, 7, "Closed\u00a0Won", "Won\t"]
REPS = ["Anna", "Boris", "=Eve", "St*r?", "Ольга ~1"]
# Owners: the reps in other cases, decoys that a wildcard or a missing "=" would match, a
# person who is not a rep, and blanks.
OWNERS = ["Anna", "anna", "ANNA", "Boris", "boris", "=Eve", "Eve", "St*r?", "StXr1",
          "Ольга ~1", "ольга ~1", "Ольга 1", "Carl", None, None]


def _moment(rng: random.Random, first: dt.date, months: int) -> dt.datetime | dt.date:
    """A date in ``months`` months from ``first``: often on a month boundary, often with a
    time of day, sometimes a plain date."""
    index = first.year * 12 + first.month - 1 + rng.randrange(months)
    year, month = divmod(index, 12)
    month += 1
    start = dt.date(year, month, 1)
    end = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1))
    kind = rng.random()
    if kind < 0.15:
        return dt.datetime(year, month, 1, 0, 0)
    if kind < 0.3:
        return dt.datetime(end.year, end.month, end.day, 23, 59, 59)
    if kind < 0.4:
        return start
    day = start + dt.timedelta(days=rng.randrange((end - start).days + 1))
    if kind < 0.55:
        return day
    return dt.datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60))


def sample_tracker(seed: int = 1, rows: int = 300, year: int = 2026, fiscal_start: int = 4,
                   as_of: dt.date | None = dt.date(2026, 11, 20),
                   reps: list[str] | None = None) -> Tracker:
    rng = random.Random(seed)
    reps = list(REPS if reps is None else reps)
    settings = Settings(year=year, fiscal_start=fiscal_start, currency="EUR", reps=reps,
                        as_of=as_of)
    # Data from 13 months before the fiscal year (growth looks a year back) to a month after.
    first = dt.date(year - 1, fiscal_start, 1)
    first = (dt.date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1))
    span = 27

    def owner() -> object:
        return rng.choice(OWNERS)

    leads = []
    for i in range(rows):
        lead_date = _moment(rng, first, span)
        sql = None if rng.random() < 0.45 else _moment(rng, first, span)
        leads.append([f"Lead {i}", owner(), lead_date, sql, rng.choice(["Web", "Event", None])])
    spend = [[_moment(rng, first, span), rng.choice([0, 125, 250.5, 1000, 77.25, None]),
              rng.choice(["Ads", "Events"])] for _ in range(rows // 3)]
    opportunities = []
    for i in range(rows):
        created = _moment(rng, first, span)
        close = None if rng.random() < 0.2 else _moment(rng, first, span)
        amount = rng.choice([None, 0, 500, 1200, 2500, 10000, 333.5, rng.randrange(50, 9000)])
        opportunities.append([f"Opp {i}", owner(), created, close, rng.choice(STAGES), amount,
                              rng.choice(["EU", "US", None])])
    emails = []
    for _ in range(rows):
        sent = rng.randrange(0, 400)
        bounced = rng.randrange(0, 20) if sent else 0
        opened = rng.randrange(0, max(sent - bounced, 0) + 1)
        replied = rng.randrange(0, opened + 1)
        emails.append([_moment(rng, first, span), owner(), sent, bounced, opened, replied,
                       rng.randrange(0, replied + 1)])
    customers = []
    for i in range(rows):
        start = _moment(rng, dt.date(year - 3, 1, 1), 12 * 5)
        end = None
        if rng.random() < 0.55:
            end = _moment(rng, dt.date(year - 1, 1, 1), 36)
            if (end.date() if isinstance(end, dt.datetime) else end) < (
                    start.date() if isinstance(start, dt.datetime) else start):
                start, end = end, start
        customers.append([f"Customer {i}", owner(), start, end])
    data = {
        LEADS: DataSheet([*DATA_COLUMNS[LEADS], "Campaign note"],
                         [[*row, rng.choice([None, "=SUM(1,2)", "spring"])] for row in leads]),
        SPEND: DataSheet(list(DATA_COLUMNS[SPEND]), spend),
        OPPORTUNITIES: DataSheet([*DATA_COLUMNS[OPPORTUNITIES], "Region"], opportunities),
        EMAILS: DataSheet(list(DATA_COLUMNS[EMAILS]), emails),
        CUSTOMERS: DataSheet(list(DATA_COLUMNS[CUSTOMERS]), customers),
    }
    targets = []
    scale = {"count": 40, "currency": 20000, "ratio": 0.3, "days": 30}
    for who in ["Team", *reps, "Zoe (left)"]:
        for kpi in KPIS:
            if who != "Team" and kpi.team_only:
                continue
            if rng.random() < 0.15:
                continue  # no row at all
            months = []
            for _ in range(12):
                pick = rng.random()
                if pick < 0.2:
                    months.append(None)
                elif pick < 0.25:
                    months.append(0)
                elif pick < 0.3:
                    months.append(rng.choice(["tbd", "ask Boris", "=1+1", "100"]))
                elif pick < 0.32:
                    months.append(-1)
                else:
                    value = scale[kpi.unit] * rng.uniform(0.5, 1.5)
                    months.append(round(value, 3) if kpi.unit == "ratio" else round(value))
            extra = [rng.choice(["stretch goal", None, 42])] if rng.random() < 0.3 else []
            targets.append(TargetRow(who, kpi.id, months, extra))
    return Tracker(settings, targets, data)


def load_typed(source: bytes | str | os.PathLike) -> openpyxl.Workbook:
    """A saved tracker (its bytes or its path) loaded as `xlkpi refresh` loads a small one:
    every sheet whole but the generated tabs, loaded without their cells and charts
    (file.generated_unread; refresh writes them again). For tests that read or edit what a
    person types (Settings, Targets, the data sheets, their own sheets): the generated tabs'
    ten thousand formulas were most of the time of a load."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.xlsx"
        path.write_bytes(source if isinstance(source, bytes) else Path(source).read_bytes())
        wb = generated_unread(path, openpyxl.load_workbook)
        return openpyxl.load_workbook(path) if wb is None else wb


def roundtrip(wb: openpyxl.Workbook, **load) -> openpyxl.Workbook:
    buffer = io.BytesIO()
    wb.save(buffer)
    return openpyxl.load_workbook(io.BytesIO(buffer.getvalue()), **load)


@pytest.fixture(scope="module")
def tracker() -> Tracker:
    return sample_tracker(seed=7, rows=60)


@pytest.fixture(scope="module")
def saved(tracker) -> bytes:
    """The tracker's workbook as saved (built once; the tests that edit it load their own)."""
    buffer = io.BytesIO()
    workbook.new_workbook(tracker).save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def book(saved) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(saved))


def tab_rows(ws) -> dict[tuple[str, str], int]:
    """(KPI name, row kind) → row number on a Team or rep tab."""
    rows = {}
    for row in range(layout.TAB_FIRST_ROW, ws.max_row + 1):
        name, kind = ws.cell(row, 1).value, ws.cell(row, 2).value
        if kind in layout.ROW_KINDS:
            rows[(name, kind)] = row
    return rows


def all_formulas(wb: openpyxl.Workbook):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    yield ws.title, cell.coordinate, str(cell.value)


# --- sheets and layout ---------------------------------------------------------------------

def test_sheets_in_order(book, tracker):
    titles = workbook.rep_sheet_names(tracker.settings.reps)
    assert book.sheetnames == [START, layout.DASHBOARD, SETTINGS, TARGETS, TEAM,
                               *titles.values(), layout.REP_VIEW, LEADERBOARD,
                               layout.CHANNELS, *DATA_SHEETS, layout.STAGES, layout.META]
    assert book[layout.META].sheet_state == "veryHidden"
    assert all(book[name].sheet_state == "visible" for name in book.sheetnames[:-1])
    assert book.active.title == START
    assert [ws.title for ws in book.worksheets if ws.sheet_view.tabSelected] == [START]


def test_generated_sheets_are_listed(book, tracker):
    titles = workbook.rep_sheet_names(tracker.settings.reps)
    generated = generated_sheets(book)
    assert generated == {START: "start", TEAM: "team", **dict.fromkeys(titles.values(), "rep"),
                         LEADERBOARD: "leaderboard", layout.CHANNELS: "channels",
                         layout.DASHBOARD: "dashboard", layout.REP_VIEW: "repview"}
    meta = book[layout.META]
    assert (meta["A1"].value, meta["B1"].value, meta["B2"].value) == ("generator", "xlkpi", 1)


def test_team_tab_layout(book):
    ws = book[TEAM]
    rows = tab_rows(ws)
    expected = [(kpi.name, kind) for kpi in KPIS for kind in layout.ROW_KINDS]
    assert sorted(rows, key=rows.get) == expected
    assert list(rows.values()) == list(range(6, 6 + 3 * len(KPIS)))
    assert ws["A4"].value == "KPI" and ws["B4"].value == "Row"
    assert ws["C4"].value == "=Settings!$B$12"
    assert ws["D4"].value == "=EOMONTH(C4,0)+1"
    assert ws["O4"].value == layout.YTD_HEADER
    assert ws["O5"].value == "=EOMONTH($C$4,Settings!$B$11-1)"
    assert ws.freeze_panes == "C6"
    assert ws.column_dimensions["P"].hidden
    assert ws["P2"].value == "=Team" and ws["P2"].data_type == "s"
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert len(ws._charts) == 3
    assert ws.conditional_formatting


def test_rep_tabs_skip_team_only_kpis(book, tracker):
    for rep, title in workbook.rep_sheet_names(tracker.settings.reps).items():
        ws = book[title]
        names = {name for name, _ in tab_rows(ws)}
        assert names == {kpi.name for kpi in KPIS if not kpi.team_only}
        assert ws["B2"].value == rep and ws["B2"].data_type == "s"
        assert ws["P2"].value == owner_criterion(rep)
        actual = ws.cell(tab_rows(ws)[("Deals won", "Actual")], layout.TAB_RAW_FIRST_COL).value
        assert "Opportunities!$B:$B,$P$2" in actual


def test_number_formats(book):
    ws = book[TEAM]
    rows = tab_rows(ws)
    for kpi in KPIS:
        for kind in ("Target", "Actual"):
            fmt = ws.cell(rows[(kpi.name, kind)], 3).number_format
            if kpi.unit == "ratio":
                assert fmt == "0.0%"
            elif kpi.unit == "count":
                assert fmt == "#,##0"
            elif kpi.unit == "days":  # the sales cycle, to a tenth of a day
                assert fmt == "0.0"
            else:
                assert "€" in fmt
        assert ws.cell(rows[(kpi.name, "Attainment")], 15).number_format == "0%"
    assert ws["C4"].number_format == "mmm yyyy"


def test_settings_and_targets_layout(book, tracker):
    ws = book[SETTINGS]
    assert [ws.cell(r, 1).value for r in (4, 5, 6, 7)] == [
        "Year", "Fiscal year starts in month", "Currency", "Year to date through"]
    assert ws["B4"].value == 2026 and ws["B5"].value == 4 and ws["B6"].value == "EUR"
    assert ws["A14"].value == "Reps"
    assert [ws.cell(15 + i, 1).value for i in range(len(tracker.settings.reps))] == \
        tracker.settings.reps
    assert "TODAY()" in ws["B10"].value
    targets = book[TARGETS]
    assert (targets["A4"].value, targets["B4"].value, targets["O4"].value) == (
        "Who", "KPI", "Notes")
    assert targets["C4"].value == "=Settings!$B$12"
    validations = targets.data_validations.dataValidation
    assert any(dv.type == "decimal" and "C5:N" in str(dv.sqref) for dv in validations)
    whos = [(targets.cell(r, 1).value, targets.cell(r, 2).value)
            for r in range(5, targets.max_row + 1)]
    for kpi in KPIS:
        assert ("Team", kpi.name) in whos
        for rep in tracker.settings.reps:
            assert ((rep, kpi.name) in whos) != kpi.team_only
    assert ("Zoe (left)", "Won revenue") in whos


def test_data_sheets_are_tables_named_after_the_sheet(book):
    for name in DATA_SHEETS:
        ws = book[name]
        assert list(ws.tables) == [name]
        table = ws.tables[name]
        header = [cell.value for cell in ws[1] if cell.value is not None]
        assert header[:len(DATA_COLUMNS[name])] == list(DATA_COLUMNS[name])
        assert table.column_names == header
        spare = SPARE_STAGE_ROWS if name == OPPORTUNITIES else 0  # StageClass below the data
        assert table.ref == (f"A1:{openpyxl.utils.get_column_letter(len(header))}"
                             f"{ws.max_row - spare}")
    table = book[OPPORTUNITIES].tables[OPPORTUNITIES]
    stage = table.tableColumns[table.column_names.index("StageClass")]
    assert stage.calculatedColumnFormula.attr_text == stage_class_formula("E2")[1:]
    assert book[OPPORTUNITIES]["G3"].value == stage_class_formula("E3")


def test_stage_class_formula_strips_what_the_engine_strips():
    """The StageClass formula removes STAGE_STRIPPED; columns.stage_class must remove
    exactly those characters too, or the tabs and the report would disagree."""
    stripped = {char for char in map(chr, range(0x10000))
                if not 0xD800 <= ord(char) < 0xE000 and stage_class(f"Closed{char}Won") == 1}
    assert stripped == set(STAGE_STRIPPED)
    formula = stage_class_formula("E2")
    assert formula.count("SUBSTITUTE(") == len(STAGE_STRIPPED) + 3


def test_only_portable_functions():
    wb = workbook.new_workbook(sample_tracker(seed=3, rows=20))
    forbidden = re.compile(r"\b(XLOOKUP|FILTER|LET|LAMBDA|SORT|SORTBY|UNIQUE|SEQUENCE|"
                           r"OFFSET|INDIRECT|TEXTJOIN|IFS|MAXIFS|MINIFS|SWITCH|NOW)\s*\(")
    used = set()
    count = 0
    for sheet, coordinate, formula in all_formulas(wb):
        count += 1
        assert not forbidden.search(formula.upper()), (sheet, coordinate, formula)
        used.update(re.findall(r"\b([A-Z][A-Z0-9.]*)\(", formula))
        if "TODAY()" in formula:
            assert (sheet, coordinate) == (SETTINGS, "B10")
    assert count > 1000
    assert used <= {"COUNTIFS", "SUMIFS", "IFERROR", "IF", "DATE", "EOMONTH", "INDEX", "MATCH",
                    "DAY",
                    "SUBSTITUTE", "LOWER", "OR", "AND", "ISNUMBER", "COUNT", "SUM", "AVERAGE",
                    "PRODUCT", "MIN", "MAX", "YEAR", "MONTH", "INT", "TODAY", "RANK",
                    "COUNTIF", "ROWS", "CHAR", "SUMPRODUCT", "SMALL", "MID"}, used


@pytest.mark.slow
def test_formula_injection_is_text():
    tracker = sample_tracker(seed=5, rows=30, reps=["=1+1", "#N/A", "+Anna", "@x", "-3"])
    tracker.targets[:] = [t for t in tracker.targets if t.who != "=1+1"]
    tracker.targets.append(TargetRow("=1+1", "won_revenue", ["=2+2", "#DIV/0!"] + [None] * 10,
                                     ["=HYPERLINK(\"http://x\")"]))
    tracker.data[OPPORTUNITIES].rows.append(
        ["=cmd|' /C calc'!A0", "=1+1", None, None, "=Won", "=5", "#REF!"])
    wb = roundtrip(workbook.new_workbook(tracker))
    typed = {"=1+1", "#N/A", "=2+2", "#DIV/0!", "=HYPERLINK(\"http://x\")",
             "=cmd|' /C calc'!A0", "=Won", "=5", "#REF!"}
    found = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in typed:
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    found.add(cell.value)
    assert found == typed
    assert "=1+1" in wb.sheetnames
    back = reader.read_tracker(wb)
    assert back.settings.reps == tracker.settings.reps
    assert tracker.data[OPPORTUNITIES].rows[-1] in back.data[OPPORTUNITIES].rows


def test_rep_sheet_names():
    names = workbook.rep_sheet_names(
        ["Anna", "anna", "Team", "a/b:c*d?e[f]g\\h", "x" * 40, "x" * 40 + "y", "'quoted'",
         "Leaderboard", "", "History", "Settings"], reserved=["Anna's analysis", "ANNA"])
    titles = list(names.values())
    assert len({t.lower() for t in titles}) == len(titles)
    for title in titles:
        assert 0 < len(title) <= 31
        assert not re.search(r"[\[\]:*?/\\]", title)
        assert not title.startswith("'") and not title.endswith("'")
        assert title.lower() not in {n.lower() for n in layout.FIXED_SHEETS}
        assert title.lower() not in ("anna", "history")
    assert names["Anna"] == "Anna (2)" and names["anna"] == "anna (3)"
    assert names["a/b:c*d?e[f]g\\h"] == "a_b_c_d_e_f_g_h"
    assert names["x" * 40] == "x" * 31 and names["x" * 40 + "y"] == "x" * 27 + " (2)"


def test_check_reps_refuses_what_the_tracker_cannot_hold():
    for reps in (["Anna", "ANNA"], ["Team"], [" "], ["x" * 256]):
        with pytest.raises(InputError):
            check_reps(reps)
    check_reps(["Anna", "St*r?", "=Eve", "~"])


def test_template_is_deterministic_and_empty():
    first, second = workbook.template_workbook(), workbook.template_workbook()

    def dump(wb):
        return {ws.title: [(c.coordinate, c.value, c.number_format) for row in ws.iter_rows()
                           for c in row if c.value is not None] for ws in wb.worksheets}

    assert dump(first) == dump(second)
    assert first.properties.created == dt.datetime(2026, 1, 1)
    assert first.sheetnames == [START, layout.DASHBOARD, SETTINGS, TARGETS, TEAM, layout.REP_VIEW,
                                LEADERBOARD, layout.CHANNELS, *DATA_SHEETS, layout.STAGES,
                                layout.META]
    back = reader.read_tracker(roundtrip(first))
    assert back.settings == Settings(2026, 1, "USD", [], None)
    assert all(sheet.rows == [] for sheet in back.data.values())
    assert len(back.targets) == len(KPIS)
    assert all(row.months == [None] * 12 for row in back.targets)
    text = " ".join(str(c.value) for ws in first.worksheets for row in ws.iter_rows()
                    for c in row if isinstance(c.value, str))
    assert str(dt.date.today().year + 1) not in text


# --- reader --------------------------------------------------------------------------------

def test_reader_gives_back_the_tracker(tracker, book):
    back = reader.read_tracker(book, "tracker.xlsx")
    assert back.settings == tracker.settings
    for name in DATA_SHEETS:
        assert back.data[name].header == tracker.data[name].header
        rows = tracker.data[name].rows
        if "Owner" in tracker.data[name].header:  # written grouped by owner
            owner = tracker.data[name].header.index("Owner")
            order = grouped_order([row[owner] for row in rows],
                                           tracker.settings.reps)
            assert sorted(order) == list(range(len(rows)))
            rows = [rows[index] for index in order]
        expected = [[_as_read(v) for v in row] for row in rows]
        assert back.data[name].rows == expected
    typed = {(t.who.lower(), t.kpi_id): t for t in tracker.targets}
    for row in back.targets:
        source = typed.get((row.who.lower(), row.kpi_id))
        if source is None:
            assert row.months == [None] * 12 and row.extra == []
        else:
            extra = list(source.extra)
            while extra and extra[-1] is None:
                extra.pop()
            assert row.months == source.months and row.extra == extra


def _as_read(value):
    """openpyxl reads a date cell back as a datetime; an empty string is an empty cell."""
    if value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def test_reader_finds_moved_columns_and_drops_trailing_empty_rows(tracker, saved):
    wb = load_typed(saved)
    ws = wb[LEADS]
    ws.insert_cols(1)  # LeadDate etc. move one column right
    ws["A1"] = "My column"
    ws["A2"] = "kept"
    for row in range(ws.max_row + 1, ws.max_row + 4):
        ws.cell(row, 3).value = None
    ws.cell(ws.max_row + 2, 2).value = ""
    back = reader.read_tracker(wb)
    assert back.data[LEADS].header == [*DATA_COLUMNS[LEADS], "My column", "Campaign note"]
    assert back.data[LEADS].rows[0][-2] == "kept"
    assert len(back.data[LEADS].rows) == len(tracker.data[LEADS].rows)


@pytest.mark.parametrize("damage, message", [
    (lambda wb: wb.remove(wb[SETTINGS]), "x.xlsx: the Settings sheet is missing (renamed or"),
    (lambda wb: [wb.remove(wb[title]) for title in (SETTINGS, layout.META)],
     "x.xlsx is not an xlkpi tracker: no Settings sheet"),
    (lambda wb: wb.remove(wb[layout.META]), "x.xlsx is not an xlkpi tracker: its hidden"),
    (lambda wb: setattr(wb[OPPORTUNITIES], "title", "Deals"), "the Opportunities sheet is"),
    (lambda wb: wb[OPPORTUNITIES].cell(1, 4, "Close date"), "no 'CloseDate' column"),
    (lambda wb: wb[OPPORTUNITIES].cell(1, 9, "amount"), "two 'Amount' columns"),
    (lambda wb: wb[SETTINGS].cell(4, 2, "soon"), "Settings!B4 (Year) holds 'soon'"),
    (lambda wb: wb[SETTINGS].cell(5, 2, 13), "type a month number from 1 to 12"),
    (lambda wb: wb[SETTINGS].cell(7, 2, "someday"), "type a date or leave it blank"),
    (lambda wb: wb[SETTINGS].cell(18, 1, "anna"), "are the same rep"),
    (lambda wb: wb[SETTINGS].cell(4, 1, "Jahr"), "Settings!A4 should read 'Year'"),
    (lambda wb: wb[TARGETS].cell(4, 1, "Person"), "Targets!A4:B4 should read"),
    (lambda wb: wb[TARGETS].append(["Team", "Won revenue", 1]), "are both for Team · Won"),
])
def test_reader_errors_are_one_clear_line(saved, damage, message):
    wb = load_typed(saved)
    damage(wb)
    with pytest.raises(TrackerFileError) as error:
        reader.read_tracker(wb, "x.xlsx")
    text = str(error.value)
    assert message in text, text
    assert "\n" not in text


def test_reader_on_any_workbook():
    wb = openpyxl.Workbook()
    with pytest.raises(TrackerFileError, match="^tracker.xlsx is not an xlkpi tracker: no "
                                               "Settings sheet; create .* `xlkpi new`$"):
        reader.read_tracker(wb, "tracker.xlsx")


def test_reader_in_read_only_mode(tracker, saved):
    wb = openpyxl.load_workbook(io.BytesIO(saved), read_only=True)
    back = reader.read_tracker(wb)
    assert back.settings == tracker.settings
    assert len(back.data[OPPORTUNITIES].rows) == len(tracker.data[OPPORTUNITIES].rows)


def test_new_workbook_refuses_bad_reps():
    tracker = Tracker(Settings(2026, reps=["Anna", "anna"]), [], {})
    with pytest.raises(InputError, match="same rep"):
        workbook.new_workbook(tracker)


def test_owner_criterion_escapes_wildcards():
    assert owner_criterion("St*r?~") == "=St~*r~?~~"
    assert owner_criterion("=Eve") == "==Eve"


def test_currency_formats():
    assert currency_format("USD") == '"$"#,##0'
    assert currency_format("EUR", 2) == '#,##0.00 "€"'
    assert currency_format('Bad"Code') == '#,##0 "BadCode"'
    assert currency_format("") == "#,##0"

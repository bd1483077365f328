"""The Start tab: an on-ramp in the tracker's language, whose function examples work as typed.

A small tracker with hand-made data is built in English and in Russian; its Start tab is read
back with openpyxl. The examples are parsed (function, arguments, Table[Column]) and checked
against the workbook's own tables, then computed with xlkpi.udfs on those tables' data and
compared with values worked out by hand below.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import math
import re
import subprocess
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter, range_boundaries

from tests.conftest import require
from tests.libreoffice import convert
from xlkpi import udfs
from xlkpi.core import lang
from xlkpi.core.kpis import KPIS
from xlkpi.tracker import build
from xlkpi.tracker.model import (
    CUSTOMERS,
    DATA_COLUMNS,
    DATA_SHEETS,
    EMAILS,
    LEADS,
    OPPORTUNITIES,
    SETTINGS,
    SPEND,
    START,
    TARGETS,
    DataSheet,
    Settings,
    Tracker,
    title,
)

D = dt.datetime
LANGUAGES = ("en", "ru")
REPS = ["Anna", "Boris", "St*r"]  # "St*r" gets the tab "St_r"

# Opportunities: Opportunity, Owner, CreatedDate, CloseDate, Stage, Amount
OPPORTUNITY_ROWS = [
    ["O1", "Anna", D(2026, 9, 1), D(2026, 10, 5), "Won", 1000],
    ["O2", "Anna", D(2026, 9, 10), D(2026, 10, 20), "Lost", 500],
    ["O3", "Boris", D(2026, 8, 1), D(2026, 10, 12), "Closed Won", 3000],
    ["O4", "Anna", D(2026, 10, 1), D(2026, 11, 3), "Won", 2000],
    ["O5", "Boris", D(2026, 10, 2), None, "Negotiation", 800],
    ["O6", "Anna", D(2025, 12, 1), D(2025, 12, 20), "Won", 700],
]
# Leads: Lead, Owner, LeadDate, SQLDate, Source
LEAD_ROWS = [
    ["L1", "Anna", D(2026, 10, 1), D(2026, 10, 3), "Web"],
    ["L2", "Anna", D(2026, 10, 2), None, "Web"],
    ["L3", "Boris", D(2026, 9, 28), D(2026, 10, 10), "Events"],
    ["L4", "Boris", D(2026, 11, 1), D(2026, 11, 4), "Web"],
    ["L5", "Anna", D(2026, 12, 30), D(2027, 1, 2), "Web"],
]
# Spend: SpendDate, Spend, Channel
SPEND_ROWS = [[D(2026, 10, 1), 600, "Web"], [D(2026, 10, 15), 300, "Events"],
              [D(2026, 9, 30), 1000, "Web"]]
# Emails: SendDate, Owner, Sent, Bounced, Opened, Replied, Positive
EMAIL_ROWS = [[D(2026, 10, 5), "Anna", 100, 10, 40, 9, 3],
              [D(2026, 10, 20), "Boris", 50, 0, 20, 6, 2],
              [D(2026, 11, 2), "Anna", 80, 0, 30, 8, 1]]
CUSTOMER_ROWS = [["C1", "Anna", D(2025, 1, 1), None]]

# What each example on the Start tab computes on the rows above, by hand:
HAND = {
    # October 2026, closed: O1 won, O2 lost, O3 won ("Closed Won"); O4 closes in November
    "CLOSE_RATE": 2 / 3,
    # Anna (the first rep), won and closed in 2026: O1 1000 + O4 2000; O6 closed in 2025
    "WON_REVENUE": 3000,
    # SQL dates in October-December 2026: L1 10-03, L3 10-10, L4 11-04 (L5's is in 2027)
    "SQL_COUNT": 3,
    # October: spend 600 + 300 = 900 over the leads created in October, L1 and L2
    "COST_PER_LEAD": 450,
    # October: replied 9 + 6 = 15 over delivered (100 - 10) + (50 - 0) = 140
    "EMAIL_REPLY_RATE": 15 / 140,
}
# Which data-sheet column each argument of an example must name.
ARGUMENT_COLUMNS = {
    "stages": {"Stage"}, "close_dates": {"CloseDate"}, "dates": {"CloseDate", "SendDate"},
    "amounts": {"Amount"}, "owners": {"Owner"}, "sql_dates": {"SQLDate"}, "spend": {"Spend"},
    "spend_dates": {"SpendDate"}, "lead_dates": {"LeadDate"}, "replied": {"Replied"},
    "sent": {"Sent"}, "bounced": {"Bounced"},
}
REFERENCE = re.compile(r"^([^\[\]\"]+)\[([^\[\]]+)\]$")


def small_tracker(code: str, reps=REPS) -> Tracker:
    settings = Settings(2026, 1, "USD", list(reps))
    if "language" in {field.name for field in dataclasses.fields(Settings)}:
        settings.language = code
    rows = {LEADS: LEAD_ROWS, SPEND: SPEND_ROWS, OPPORTUNITIES: OPPORTUNITY_ROWS,
            EMAILS: EMAIL_ROWS, CUSTOMERS: CUSTOMER_ROWS}
    data = {name: DataSheet(list(DATA_COLUMNS[name]), [list(row) for row in sheet_rows])
            for name, sheet_rows in rows.items()}
    return Tracker(settings, [], data)


def build_book(tmp_path, code: str, reps=REPS) -> openpyxl.Workbook:
    with lang.using(code):
        wb = build.new_workbook(small_tracker(code, reps), streamed=False)
    path = tmp_path / f"tracker-{code}.xlsx"
    wb.save(path)
    return openpyxl.load_workbook(path)


@pytest.fixture(scope="module", params=LANGUAGES)
def book(request, tmp_path_factory):
    return request.param, build_book(tmp_path_factory.mktemp(request.param), request.param)


def start_sheet(wb):
    ws = wb.worksheets[0]
    assert ws.title in {lang.load(code).sheet(START) for code in lang.codes()}
    return ws


def texts(ws) -> list[str]:
    return [cell.value for row in ws.iter_rows() for cell in row if isinstance(cell.value, str)]


def tables(wb) -> dict[str, tuple[object, list[str], list[tuple]]]:
    """Table name → (sheet, header, data rows) of every table in the workbook."""
    found = {}
    for ws in wb.worksheets:
        for table in ws.tables.values():
            first_col, first_row, last_col, last_row = range_boundaries(table.ref)
            rows = list(ws.iter_rows(min_row=first_row, max_row=last_row, min_col=first_col,
                                     max_col=last_col, values_only=True))
            found[table.displayName] = (ws, [str(value) for value in rows[0]], rows[1:])
    return found


def split_arguments(inner: str, separator: str) -> list[str]:
    """The arguments of a call, split at ``separator`` outside quotes."""
    parts, current, quoted = [], "", False
    for char in inner:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def examples(ws) -> list[str]:
    return [value for value in texts(ws) if value.startswith("=")]


def parse(example: str, separator: str) -> tuple[str, list[str]]:
    match = re.fullmatch(r"=([A-Z_]+)\((.*)\)", example)
    assert match, example
    return match.group(1), split_arguments(match.group(2), separator)


def localised_tables_or_skip(code: str, wb) -> None:
    """Before the data sheets carry their Russian names (the language files' "sheets" and
    "columns"), a Russian example names tables the workbook does not hold yet."""
    with lang.using(code):
        localised = title(OPPORTUNITIES)
    if localised not in tables(wb) and OPPORTUNITIES in tables(wb):
        pytest.skip(f"the data sheets of a {code!r} tracker are not written in {code!r} yet")


# --- what the tab says --------------------------------------------------------------------

def test_three_steps_and_a_line_per_kpi(book):
    code, wb = book
    ws = start_sheet(wb)
    text = "\n".join(texts(ws))
    with lang.using(code):
        steps = [cell.value for cell in ws["A"] if isinstance(cell.value, str)
                 and cell.value[:3] in ("1. ", "2. ", "3. ")]
        assert steps == [f"1. {title(SETTINGS)}", f"2. {title(TARGETS)}",
                         lang.text("start.steps.three_label")]
        for command in ("xlkpi import tracker.xlsx export.csv", "xlkpi refresh tracker.xlsx",
                        "xlkpi report tracker.xlsx"):
            assert command in text
        rows = {row[0].value: row for row in ws.iter_rows()}
        for kpi in KPIS:
            row = rows[lang.active().kpi_name(kpi.id)]  # the KPI's own line, name in column A
            line = [cell.value for cell in row if cell.value is not None]
            assert lang.text(f"kpis.{kpi.id}.definition") in line
            assert kpi.function in line
            better = "start.kpis.better_down" if kpi.direction == "down" else \
                "start.kpis.better_up"
            assert lang.text(better) in line
            assert lang.text(f"start.why.{kpi.id}", channels=title("Channels")) in line


def test_the_words_are_the_languages_own():
    """Worked by hand: a few phrases as a reader of each language reads them."""
    english = "\n".join(texts(start_sheet(_fresh("en"))))
    for phrase in ("Three steps to a working tracker", "Why it matters", "Setting targets",
                   "Getting your data in", "How the numbers are computed", "Close rate",
                   "80 %", "100 %", "150 %", "Leaderboard", "Settings", "Targets",
                   "=CLOSE_RATE(Opportunities[Stage], Opportunities[CloseDate], \"2026-10\")"):
        assert phrase in english
    words = lang.load("en")
    for kpi in KPIS:  # moved from test_workbook.test_start_sheet_explains
        assert words.kpi_name(kpi.id) in english and kpi.function in english
        assert words.text(f"kpis.{kpi.id}.definition") in english
    russian = "\n".join(texts(start_sheet(_fresh("ru"))))
    for phrase in ("Три шага до работающего трекера", "Зачем он нужен", "Как ставить планы",
                   "Как загрузить данные", "Как считаются цифры", "Цена за лид",
                   "Коэффициент закрытия", "Количество SQL", "Настройки", "Цели"):
        assert phrase in russian
    assert "Three steps" not in russian and "Why it matters" not in russian


def _fresh(code: str, reps=REPS):
    with lang.using(code):
        return build.new_workbook(small_tracker(code, reps), streamed=False)


def test_no_specification_words(book):
    """No Σ, Π, StageClass or INDEX blocks in what the tab says, the KPI definitions included
    (kpis.<id>.definition, in plain words)."""
    _code, wb = book
    for value in texts(start_sheet(wb)):
        for word in ("Σ", "Π", "StageClass", "INDEX", "`"):
            assert word not in value, value


def test_the_rep_tabs_are_listed():
    wb = _fresh("en")
    text = "\n".join(texts(start_sheet(wb)))
    assert "(Anna, Boris, St*r (tab St_r))" in text
    empty = "\n".join(texts(start_sheet(_fresh("en", reps=[]))))
    assert "none yet: list your reps in Settings" in empty
    russian = "\n".join(texts(start_sheet(_fresh("ru"))))
    assert "St*r (вкладка St_r)" in russian


# --- the function examples ----------------------------------------------------------------

def test_each_example_names_a_function_and_this_workbooks_columns(book):
    code, wb = book
    localised_tables_or_skip(code, wb)
    with lang.using(code):
        separator = lang.text("language.formula_separator")
    assert separator == {"en": ",", "ru": ";"}[code]
    found = tables(wb)
    shown = examples(start_sheet(wb))
    assert len(shown) >= 4
    for example in shown:
        outside_quotes = re.sub(r'"[^"]*"', "", example)
        assert ({",", ";"} - {separator}).isdisjoint(outside_quotes), example
        function, arguments = parse(example, separator)
        assert function.lower() in udfs.__all__, example
        parameters = list(inspect.signature(getattr(udfs, function.lower())).parameters.values())
        required = [p for p in parameters if p.default is inspect.Parameter.empty]
        assert len(required) <= len(arguments) <= len(parameters), example
        for parameter, argument in zip(parameters, arguments, strict=False):
            reference = REFERENCE.match(argument)
            if reference is None:  # a literal: a period or a rep's name
                assert re.fullmatch(r'"[^"]*"|\d+', argument), example
                continue
            table, column = reference.groups()
            assert table in found, f"{example}: no table {table!r}"
            assert column in found[table][1], f"{example}: {table} has no column {column!r}"
            with lang.using(code):
                expected = {lang.text(f"columns.{name}")
                            for name in ARGUMENT_COLUMNS[parameter.name]}
            assert column in expected, f"{example}: {parameter.name} is not {column}"


def _column_values(found, argument: str) -> list[list[object]]:
    table, column = REFERENCE.match(argument).groups()
    _, header, rows = found[table]
    index = header.index(column)
    return [[row[index]] for row in rows]  # a column as xlwings sends it: one-cell rows


def _literal(argument: str) -> object:
    return argument[1:-1].replace('""', '"') if argument.startswith('"') else int(argument)


def test_the_examples_compute_what_was_worked_out_by_hand(book):
    code, wb = book
    localised_tables_or_skip(code, wb)
    found = tables(wb)
    computed = {}
    for example in examples(start_sheet(wb)):
        in_file = example if code == "en" else example.replace(";", ",")  # the file's syntax
        function, arguments = parse(in_file, ",")
        values = [_column_values(found, argument) if REFERENCE.match(argument)
                  else _literal(argument) for argument in arguments]
        computed[function] = getattr(udfs, function.lower())(*values)
    assert computed.keys() == HAND.keys()
    for function, value in HAND.items():
        assert computed[function] == pytest.approx(value), function


# --- looks --------------------------------------------------------------------------------

def test_one_landscape_page_wide_and_no_text_cut(book):
    _, wb = book
    ws = start_sheet(wb)
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_area == f"'{ws.title}'!$A$1:$F${ws.max_row}"
    widths = {letter: ws.column_dimensions[letter].width for letter in "ABCDEF"}
    assert all(width >= 12 for width in widths.values()) and sum(widths.values()) <= 180
    merged = {(m.min_row, m.min_col): m.max_col for m in ws.merged_cells.ranges}
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            if not isinstance(cell.value, str):
                continue
            last = merged.get((cell.row, cell.column), cell.column)
            width = sum(widths[get_column_letter(col)] for col in range(cell.column, last + 1))
            if not cell.alignment.wrap_text:  # a heading: it runs on over empty cells
                assert all(ws.cell(cell.row, col).value is None for col in range(last + 1, 7))
                assert len(cell.value) <= sum(widths.values()), cell.coordinate
                continue
            # Even the narrowest font holds at most ~1.4 characters per unit of width.
            least_lines = math.ceil(len(cell.value) / (width * 1.4))
            height = ws.row_dimensions[cell.row].height or 15
            assert height >= 15 * least_lines, (cell.coordinate, cell.value)


def test_the_russian_readme_examples_name_the_russian_tables_and_columns():
    readme = (Path(__file__).parent.parent / "README.ru.md").read_text(encoding="utf-8")
    russian = lang.load("ru")
    sheets = {russian.sheet(sheet): sheet for sheet in DATA_SHEETS}
    shown = re.findall(r"^=[A-Z_]+\(.*\)$", readme, flags=re.MULTILINE)
    assert len(shown) >= 2
    for example in shown:
        function, arguments = parse(example, ";")
        assert function.lower() in udfs.__all__
        for argument in arguments:
            reference = REFERENCE.match(argument)
            if reference:
                sheet = sheets[reference.group(1)]
                assert reference.group(2) in {russian.text(f"columns.{column}")
                                              for column in DATA_COLUMNS[sheet]}, example
    assert "xlkpi new demo.xlsx --lang ru --demo" in readme


@pytest.mark.libreoffice
@pytest.mark.parametrize("code", LANGUAGES)
def test_the_start_tab_prints_on_a_few_landscape_pages(tmp_path, code):
    """LibreOffice prints the Start tab alone: every page landscape, the whole tab on at most
    five pages, each KPI's name on them."""
    require("pdfinfo", "poppler-utils' pdfinfo")
    wb = _fresh(code)
    for ws in wb.worksheets[1:]:
        wb.remove(ws)
    path = tmp_path / f"start-{code}.xlsx"
    wb.save(path)
    pdf = convert(path, tmp_path / "pdf", "pdf")
    info = subprocess.run(["pdfinfo", "-l", "99", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    sizes = [tuple(map(float, match)) for match in
             re.findall(r"size:\s+([\d.]+) x ([\d.]+)", info)]
    assert 1 <= len(sizes) <= 5
    assert all(width > height for width, height in sizes)
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    with lang.using(code):
        for kpi in KPIS:
            assert lang.active().kpi_name(kpi.id) in text

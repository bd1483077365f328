"""Cells whose form makes the workbook's formulas and ``xlkpi report`` see different things,
named for the person who can fix them: both ``report`` and ``refresh`` print them.

The tracker's rule (the workbook's): a date typed as text ("2026-10-06") is no date to COUNTIFS
(">="&date skips text), a number typed as text ("1 234") is no number to SUMIFS, a target typed
as text ("10%") is no target, and a formula whose result was never stored (a file saved by a
script) has no value until Excel or LibreOffice calculates it. The report follows the same rule
(it leaves such cells out) and says so with a :class:`CellProblem` each: sheet, column, rows,
what is wrong and the fix. The Excel functions keep accepting ISO date text (DESIGN.md): there
a person passes the range on purpose, and no other number is shown beside theirs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from xlkpi.core import lang
from xlkpi.core.cells import number_from_text
from xlkpi.core.periods import parse_iso_date
from xlkpi.tracker.model import (
    DATA_COLUMNS,
    DATA_SHEETS,
    DATE_COLUMNS,
    NUMBER_COLUMNS,
    TARGETS,
    TARGETS_FIRST_MONTH_COL,
    TARGETS_FIRST_ROW,
    TEAM_NAME,
    Tracker,
    column_title,
    kpi_name,
    team_name,
    title,
)

CONVERT = "run `xlkpi refresh --convert-text`"
RECALCULATE = ("open and save the file in Excel or LibreOffice once, so that the formulas' "
               "results are stored")

# kind -> (what is wrong, the fix)
KINDS = {
    "text date": ("dates stored as text; they are not counted",
                  f"retype them as dates, or {CONVERT}"),
    "text number": ("numbers stored as text; they are not counted",
                    f"retype them as numbers, or {CONVERT}"),
    "text target": ("targets stored as text; they are no target",
                    f"retype them as numbers, or {CONVERT}"),
    "no stage class": ("no StageClass formula (pasted below the table); neither won nor lost, "
                       "in the workbook and in this report", "run `xlkpi refresh`"),
    "no cached value": ("formulas without a stored result; the report cannot count them",
                        RECALCULATE),
}


@dataclass
class CellProblem:
    """Cells of one column of one sheet with the same problem: ``kind`` is a key of KINDS;
    ``rows`` are sheet row numbers; ``cells`` (Targets) name each cell, e.g. "D7 (Anna · Won
    revenue, 2026-03): '10%'"."""

    sheet: str
    column: str
    rows: list[int]
    kind: str
    cells: list[str] = field(default_factory=list)

    @property
    def fix(self) -> str:
        return lang.text("messages.problems." + self.kind.replace(" ", "_") + "_fix")

    def message(self, shown: int = 10) -> str:
        """One line: "Leads rows 5, 9 (LeadDate): dates stored as text; they are not counted —
        retype them as dates, or run `xlkpi refresh --convert-text`"."""
        what = self.cells or (_spans(self.rows) if self.kind == "no stage class"
                              else [str(row) for row in self.rows])
        listed = ", ".join(what[:shown])
        if len(what) > shown:
            listed = lang.text("messages.import.and_more", listed=listed, count=len(what) - shown)
        noun = (lang.plural(len(self.cells), "messages.problems.cell") if self.cells
                else lang.plural(len(self.rows), "messages.problems.row"))
        key = "messages.problems." + self.kind.replace(" ", "_")
        return lang.text("messages.problems.line", sheet=self.sheet, noun=noun, listed=listed,
                         column=self.column, what=lang.text(key), fix=lang.text(f"{key}_fix"))


def _spans(rows: list[int]) -> list[str]:
    """Runs of consecutive rows as "1,203–1,250"."""
    spans: list[list[int]] = []
    for row in rows:
        if spans and row == spans[-1][1] + 1:
            spans[-1][1] = row
        else:
            spans.append([row, row])
    return [f"{first:,}" if first == last else f"{first:,}–{last:,}" for first, last in spans]


def group(found: list[tuple[str, str, int, str]]) -> list[CellProblem]:
    """(sheet, column, row, kind) cells as CellProblems, one per (sheet, column, kind), in the
    order first met, rows ascending."""
    problems: dict[tuple[str, str, str], CellProblem] = {}
    for sheet, column, row, kind in found:
        problem = problems.setdefault((sheet, column, kind), CellProblem(
            _shown(sheet, title), _shown(column, column_title), [], kind))
        problem.rows.append(row)
    for problem in problems.values():
        problem.rows.sort()
    return list(problems.values())


def _shown(name: str, in_language) -> str:
    """A sheet or column id as the file names it (the language in force); any other name as
    it is."""
    try:
        return in_language(name)
    except KeyError:
        return name


def text_targets(tracker: Tracker) -> list[CellProblem]:
    """Targets cells holding text that reads as a number ("10%", "1 000"): no target to the
    workbook (its Target cells take numbers only) nor to the report; one CellProblem per
    Targets row, naming each cell, its month and its text. Other text is a note, left alone."""
    with lang.using(tracker.settings.language):
        return _text_targets(tracker)


def _text_targets(tracker: Tracker) -> list[CellProblem]:
    months = [period.label for period in tracker.settings.month_periods()]
    found = []
    for target in tracker.targets:
        cells = []
        for index, cell in enumerate(target.months):
            if isinstance(cell, str) and number_from_text(cell) is not None:
                letter = get_column_letter(TARGETS_FIRST_MONTH_COL + index)
                where = f"{letter}{target.row}" if target.row else letter
                cells.append(f"{where} ({months[index]}): {cell!r}")
        if cells:
            who = team_name() if target.who == TEAM_NAME else target.who
            found.append(CellProblem(title(TARGETS), f"{who} · {kpi_name(target.kpi_id)}",
                                     [target.row or 0], "text target", cells))
    return found


def convert_text(wb: Workbook) -> list[str]:
    """``xlkpi refresh --convert-text``: in an openpyxl workbook of a tracker (loaded whole,
    not read-only), every date typed as ISO text in a data sheet's date column becomes a date,
    every number typed as text in a number column ("1 234", "1 000,5") and every Targets month
    cell typed as a number's text ("10%", "1 000") becomes the number. Text that reads as
    neither is left as it is (the report names it). One line per cell converted, e.g.
    "Leads!C5: '2026-10-06' → 2026-10-06"."""
    from xlkpi.tracker.data import column_keys
    from xlkpi.tracker.reader import ListedRows, language_of

    with lang.using(language_of(wb.sheetnames, lambda shown: ListedRows.of_worksheet(
            wb[shown]))):
        return _convert_text(wb, column_keys)


def _convert_text(wb: Workbook, column_keys) -> list[str]:
    done = []
    for name in DATA_SHEETS:
        if title(name) not in wb.sheetnames:
            continue
        ws = wb[title(name)]
        header = next(ws.iter_rows(max_row=1, values_only=True), ())
        for index, key in enumerate(column_keys(header), 1):
            match = [known for known in DATA_COLUMNS[name] if known.lower() == key]
            if not match:
                continue
            is_date = match[0] in DATE_COLUMNS
            if not is_date and match[0] not in NUMBER_COLUMNS:
                continue
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                done += _convert_cell(cell, title(name), is_date)
    if title(TARGETS) in wb.sheetnames:
        ws = wb[title(TARGETS)]
        for row in ws.iter_rows(min_row=TARGETS_FIRST_ROW, min_col=TARGETS_FIRST_MONTH_COL,
                                max_col=TARGETS_FIRST_MONTH_COL + 11):
            for cell in row:
                done += _convert_cell(cell, title(TARGETS), False)
    return done


def _convert_cell(cell, sheet: str, is_date: bool) -> list[str]:
    value = cell.value
    if not isinstance(value, str) or not value.strip() or value.startswith("="):
        return []
    if is_date:
        day = parse_iso_date(value)
        if day is None:
            return []
        cell.value = dt.datetime(day.year, day.month, day.day)
        cell.number_format = lang.text("formats.data_date")
        return [f"{sheet}!{cell.coordinate}: {value!r} → {day.isoformat()}"]
    number = number_from_text(value)
    if number is None:
        return []
    cell.value = int(number) if number.is_integer() and abs(number) < 1e15 else number
    if value.strip().endswith("%"):
        cell.number_format = "0%" if (number * 100).is_integer() else "0.0%"
    return [f"{sheet}!{cell.coordinate}: {value!r} → {cell.value}"]

"""Reads a tracker workbook back into a layout.Tracker: what a person typed, nothing generated.

The reader reads each sheet as :class:`SheetRows`: its values, row by row. :func:`read_tracker`
takes an openpyxl workbook (or a SplitBook) loaded normally (``xlkpi refresh``: formulas a
person typed come back as formula text and stay formulas when written back in place), with
``data_only=True`` (what the formulas last showed) or in read-only mode, each sheet through
:class:`ListedRows`; :func:`read_sheets` takes any other source of SheetRows (the fast reader
of values, ``tracker.values``, gives python-calamine's).

Every problem is a TrackerFileError with one line that says what is wrong and what to do.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from typing import Protocol

from openpyxl import Workbook

from xlkpi.core import lang
from xlkpi.core.errors import InputError, TrackerFileError
from xlkpi.core.periods import EXCEL_EPOCH
from xlkpi.tracker.data import column_keys
from xlkpi.tracker.meta import listed_language, listed_sheets
from xlkpi.tracker.model import (
    DATA_COLUMNS,
    DATA_SHEETS,
    FIRST_YEAR,
    LAST_YEAR,
    META,
    SETTINGS,
    SETTINGS_LANGUAGE_ROW,
    SETTINGS_REPS_HEADER_ROW,
    SETTINGS_ROWS,
    STAGE_CLASS_COLUMN,
    STAGES,
    TARGETS,
    TARGETS_FIRST_MONTH_COL,
    TARGETS_FIRST_ROW,
    TARGETS_HEADER_ROW,
    TARGETS_PLAN_COL,
    TEAM_NAME,
    DataSheet,
    Settings,
    TargetRow,
    Tracker,
    check_reps,
    column_title,
    is_team,
    kpi_by_name,
    kpi_name,
    settings_label,
    team_name,
    title,
)
from xlkpi.tracker.settings import read_aliases
from xlkpi.tracker.stages import read_stages
from xlkpi.xlsx.extent import values_up_to_last
from xlkpi.xlsx.splice import SplitBook, workbook_and_rows

_AUTO_NAME = re.compile(r"Column\d+")


class SheetRows(Protocol):
    """One sheet's values as the reader reads them: None for a blank cell, rows counted from 1,
    up to the last row that holds a value or further: the reader drops the blank rows at the
    bottom of a data sheet (blank in the columns it keeps), once."""

    def rows(self) -> Sequence[tuple]:
        """Every row, row 1 first, as tuples (not all as wide)."""

    def header(self) -> tuple:
        """Row 1 (empty for an empty sheet)."""

    def filled(self) -> list[bool]:
        """For each column up to the widest row, whether it holds a value (not None) below
        row 1."""

    def body(self, order: Sequence[int]) -> list[list]:
        """The rows below row 1, each the cells of the columns ``order`` (0-based) in that
        order; None for a cell beyond a row's end."""


class ListedRows:
    """SheetRows of a list of rows: an openpyxl worksheet's (:meth:`of_worksheet`)."""

    def __init__(self, rows: Sequence[tuple]):
        self._rows = rows

    @classmethod
    def of_worksheet(cls, ws) -> ListedRows:
        """The values of an openpyxl worksheet, up to its last row holding a value (a read-only
        one: the rows the file holds)."""
        return cls(values_up_to_last(ws))

    def rows(self) -> Sequence[tuple]:
        return self._rows

    def header(self) -> tuple:
        return tuple(self._rows[0]) if self._rows else ()

    def filled(self) -> list[bool]:
        body = self._rows[1:]
        width = max(map(len, self._rows), default=0)
        return [any(index < len(values) and values[index] is not None for values in body)
                for index in range(width)]

    def body(self, order: Sequence[int]) -> list[list]:
        return [[values[i] if i < len(values) else None for i in order]
                for values in self._rows[1:]]


def read_tracker(book: Workbook | SplitBook, name: str = "the workbook") -> Tracker:
    """The Tracker a person typed into ``book``; ``name`` (e.g. the file name) starts each error
    message: "tracker.xlsx is not an xlkpi tracker: no Settings sheet; …"."""
    wb, outside = workbook_and_rows(book)
    tracker = read_sheets(wb.sheetnames, lambda shown: ListedRows.of_worksheet(wb[shown]), name)
    language = tracker.settings.language
    with lang.using(language):
        for sheet in DATA_SHEETS:
            shown = title(sheet)
            if shown in outside:
                # the rows are not in wb (only their header, checked above): read them from
                # the file the first time someone asks; `xlkpi refresh` never does
                tracker.data[sheet] = _LazyDataSheet(
                    lambda sheet=sheet: _read_lazily(book, sheet, name, language),
                    column=lambda header, shown=shown: _outside_column(
                        wb[shown], outside[shown], header, language))
    return tracker


def _read_lazily(book: SplitBook, sheet: str, name: str, language: str) -> DataSheet:
    with lang.using(language):
        return _read_data(ListedRows.of_worksheet(book.values_sheet(title(sheet))), sheet, name)


def _outside_column(ws, rows, header: str, language: str) -> list | None:
    """The cells of the known column ``header`` (its id, e.g. "Source") of a data sheet whose
    rows are held outside openpyxl (kept.KeptRows.column), its header row being ``ws``'s row 1,
    in the tracker's ``language``."""
    names = [str(h).strip().lower() if not _blank(h) else ""
             for h in next(ws.iter_rows(max_row=1, values_only=True), ())]
    words = lang.load(language)
    shown = words.text(f"columns.{header}").lower()
    stage = words.text(f"columns.{STAGE_CLASS_COLUMN}").lower()
    if not hasattr(rows, "column") or names.count(shown) != 1:
        return None
    return rows.column(names.index(shown) + 1, names.index(stage) + 1 if stage in names else None)


def language_of(titles: Sequence[str], sheet: Callable[[str], SheetRows]) -> str:
    """The language a tracker is written in: the one its hidden _xlkpi sheet records, else the
    code in the language row of its Settings sheet (found under its title in any language),
    else English (a tracker made before languages)."""
    recorded = listed_language(sheet(META).rows()) if META in titles else None
    if recorded is None:
        for code in lang.codes():
            shown = lang.load(code).sheet(SETTINGS)
            if shown in titles:
                rows = sheet(shown).rows()
                label, typed = (_cell(rows, SETTINGS_LANGUAGE_ROW, col) for col in (1, 2))
                labels = {lang.load(known).text("settings.language").lower()
                          for known in lang.codes()}
                if (isinstance(label, str) and label.strip().lower() in labels
                        and isinstance(typed, str) and typed.strip()):
                    recorded = typed.strip().lower()
                if recorded is None and code != lang.DEFAULT:
                    recorded = code  # its sheets are titled in that language
                break
    return recorded or lang.DEFAULT


def read_sheets(titles: Sequence[str], sheet: Callable[[str], SheetRows],
                name: str = "the workbook") -> Tracker:
    """The Tracker a person typed into a workbook of the sheets ``titles``, each read as
    ``sheet(title)`` (asked for once, only for the sheets a tracker reads); ``name`` as for
    :func:`read_tracker`."""
    try:
        listed_sheets(sheet(META).rows() if META in titles else None, name)
    except TrackerFileError:
        if not any(lang.load(code).sheet(SETTINGS) in titles for code in lang.codes()):
            raise TrackerFileError(lang.text("messages.errors.not_a_tracker",
                                             name=name)) from None
        raise
    code = language_of(titles, sheet)
    try:
        language = lang.load(code)
    except InputError:
        raise TrackerFileError(lang.text("messages.errors.tracker.unknown_language", name=name,
                                         code=repr(code), codes=", ".join(lang.codes()))
                               ) from None
    with lang.using(language):
        # The hidden marker says it is a tracker: a missing sheet was renamed or deleted.
        for sheet_id in (SETTINGS, TARGETS, *DATA_SHEETS):
            if title(sheet_id) not in titles:
                raise TrackerFileError(lang.text("messages.errors.tracker.sheet_missing",
                                                 name=name, sheet=title(sheet_id)))
        settings_sheet = sheet(title(SETTINGS))
        settings = _read_settings(settings_sheet, name)
        settings.language = language.code
        settings.aliases = read_aliases(settings_sheet.rows())
        targets = _read_targets(sheet(title(TARGETS)), name)
        data = {sheet_id: _read_data(sheet(title(sheet_id)), sheet_id, name)
                for sheet_id in DATA_SHEETS}
        stages = (read_stages(sheet(title(STAGES)).rows()) if title(STAGES) in titles
                  else None)
    return Tracker(settings, targets, data, stages=stages)


class _LazyDataSheet(DataSheet):
    """A DataSheet read when its header or rows are first asked for."""

    def __init__(self, load, column=None):  # noqa: D107 - DataSheet's fields come from load()
        self._load = load
        self._column = column
        self._sheet: DataSheet | None = None

    def column(self, header: str) -> list | None:
        """The cells of the known column ``header`` in the rows, read alone while the rows are
        not (a refresh lists the channels so); None: read the rows."""
        if self._sheet is not None or self._column is None:
            return None
        return self._column(header)

    def _get(self) -> DataSheet:
        if self._sheet is None:
            self._sheet = self._load()
        return self._sheet

    header = property(lambda self: self._get().header,
                      lambda self, value: setattr(self._get(), "header", value))
    rows = property(lambda self: self._get().rows,
                    lambda self, value: setattr(self._get(), "rows", value))

    def __eq__(self, other):
        if not isinstance(other, DataSheet):
            return NotImplemented
        return (self.header, self.rows) == (other.header, other.rows)

    __hash__ = None

    def __repr__(self):
        return repr(self._get())


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(rows: list[tuple], row: int, col: int, first_row: int = 1) -> object:
    index = row - first_row
    if index < 0 or index >= len(rows) or col - 1 >= len(rows[index]):
        return None
    return rows[index][col - 1]


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- Settings --------------------------------------------------------------------------------

def _read_settings(sheet: SheetRows, name: str) -> Settings:
    rows = sheet.rows()
    here = title(SETTINGS)
    for key, row in SETTINGS_ROWS.items():
        label = _cell(rows, row, 1)
        if not isinstance(label, str) or label.strip().lower() != settings_label(key).lower():
            raise TrackerFileError(lang.text(
                "messages.errors.tracker.settings_label", name=name, sheet=here, row=row,
                label=settings_label(key), value=repr(label)))
    values = {key: _cell(rows, row, 2) for key, row in SETTINGS_ROWS.items()}

    year = _whole(values["year"])
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        raise TrackerFileError(lang.text(
            "messages.errors.tracker.settings_year", name=name, sheet=here,
            row=SETTINGS_ROWS["year"], label=settings_label("year"), value=repr(values["year"]),
            first=FIRST_YEAR, last=LAST_YEAR))
    fiscal_start = _whole(values["fiscal_start"])
    if fiscal_start is None or not 1 <= fiscal_start <= 12:
        raise TrackerFileError(lang.text(
            "messages.errors.tracker.settings_fiscal_start", name=name, sheet=here,
            row=SETTINGS_ROWS["fiscal_start"], label=settings_label("fiscal_start"),
            value=repr(values["fiscal_start"])))
    currency = values["currency"]
    currency = "" if _blank(currency) else _as_text(currency).strip()
    as_of = _as_of(values["as_of"], name)

    header = _cell(rows, SETTINGS_REPS_HEADER_ROW, 1)
    reps_label = settings_label("reps")
    if not isinstance(header, str) or header.strip().lower() != reps_label.lower():
        raise TrackerFileError(lang.text(
            "messages.errors.tracker.settings_reps_header", name=name, sheet=here,
            row=SETTINGS_REPS_HEADER_ROW, label=reps_label, value=repr(header)))
    reps = []
    for values_row in rows[SETTINGS_REPS_HEADER_ROW:]:
        value = values_row[0] if values_row else None
        if not _blank(value):
            reps.append(_as_text(value).strip())
    try:
        check_reps(reps)
    except InputError as error:
        raise TrackerFileError(lang.text("messages.errors.tracker.settings_reps", name=name,
                                         sheet=here, error=error, label=reps_label)) from None
    return Settings(year=year, fiscal_start=fiscal_start, currency=currency, reps=reps,
                    as_of=as_of)


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _as_of(value: object, name: str) -> dt.date | None:
    if _blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 2958466:
        return EXCEL_EPOCH + dt.timedelta(days=int(value))
    raise TrackerFileError(lang.text(
        "messages.errors.tracker.settings_as_of", name=name, sheet=title(SETTINGS),
        row=SETTINGS_ROWS["as_of"], label=settings_label("as_of"), value=repr(value)))


# --- Targets ---------------------------------------------------------------------------------

def _read_targets(sheet: SheetRows, name: str) -> list[TargetRow]:
    rows = sheet.rows()
    header = rows[TARGETS_HEADER_ROW - 1:TARGETS_HEADER_ROW]
    who, kpi = (tuple(header[0]) + (None, None))[:2] if header else (None, None)
    heads = (lang.text("targets.who"), lang.text("targets.kpi"))
    if not (isinstance(who, str) and isinstance(kpi, str)
            and (who.strip().lower(), kpi.strip().lower()) in (
                ("who", "kpi"), (heads[0].lower(), heads[1].lower()))):
        raise TrackerFileError(lang.text(
            "messages.errors.tracker.targets_header", name=name, sheet=title(TARGETS),
            row=TARGETS_HEADER_ROW, who=heads[0], kpi=heads[1], found_who=repr(who),
            found_kpi=repr(kpi)))
    targets: list[TargetRow] = []
    seen: dict[tuple[str, str], int] = {}
    first_month = TARGETS_FIRST_MONTH_COL - 1
    for row, values in enumerate(rows[TARGETS_FIRST_ROW - 1:], TARGETS_FIRST_ROW):
        values = list(values)
        who = values[0] if values else None
        kpi_text = values[1] if len(values) > 1 else None
        if _blank(who) or not isinstance(kpi_text, str):
            continue
        kpi = kpi_by_name(kpi_text)
        if kpi is None:
            continue  # a row of a person's own: kept in the sheet, not a KPI target
        who = TEAM_NAME if is_team(who) else _as_text(who)
        key = (who.lower(), kpi.id)
        if key in seen:
            raise TrackerFileError(lang.text(
                "messages.errors.tracker.targets_twice", name=name, sheet=title(TARGETS),
                first=seen[key], row=row, who=team_name() if who == TEAM_NAME else who,
                kpi=kpi_name(kpi.id)))
        seen[key] = row
        months = values[first_month:first_month + 12]
        months += [None] * (12 - len(months))
        extra = values[first_month + 12:TARGETS_PLAN_COL - 1]  # not the generated block
        while extra and extra[-1] is None:
            extra.pop()
        targets.append(TargetRow(who=who, kpi_id=kpi.id, months=months, extra=extra,
                                   row=row))
    return targets


# --- data sheets -----------------------------------------------------------------------------

def _read_data(source: SheetRows, sheet: str, name: str) -> DataSheet:
    header = list(source.header())
    keys = column_keys([h if not _blank(h) else None for h in header])
    known = DATA_COLUMNS[sheet]
    positions = []
    for column in known:
        found = [index for index, key in enumerate(keys) if key == column.lower()]
        if not found:
            shown = (", ".join(str(h) for h in header if not _blank(h))
                     or lang.text("messages.reading.nothing"))
            raise TrackerFileError(lang.text(
                "messages.errors.tracker.no_column", name=name, sheet=title(sheet),
                column=column_title(column), shown=shown))
        if len(found) > 1:
            raise TrackerFileError(lang.text(
                "messages.errors.tracker.column_twice", name=name, sheet=title(sheet),
                column=column_title(column)))
        positions.append(found[0])
    skip = set(positions)
    skip.update(index for index, key in enumerate(keys) if key == STAGE_CLASS_COLUMN.lower())
    extras = []
    for index, has_data in enumerate(source.filled()):
        if index in skip:
            continue
        label = header[index] if index < len(header) else None
        # A column with no header and no data carries nothing; nor does an empty one named
        # "Column7" (the name Excel, and xlkpi refresh, give a table column with no header).
        if has_data or not (_blank(label) or _AUTO_NAME.fullmatch(str(label))):
            extras.append(index)
    order = positions + extras
    out_header = list(known) + [
        _as_text(header[i]) if i < len(header) and header[i] is not None else ""
        for i in extras]
    out_rows = source.body(order)
    while out_rows and all(_blank_cell(value) for value in out_rows[-1]):
        out_rows.pop()
    return DataSheet(header=out_header, rows=out_rows)


def _blank_cell(value: object) -> bool:
    return value is None or value == ""

"""The five data sheets: rows as typed, grouped by owner, the StageClass column and the table.

Every use of rows held outside openpyxl (``xlsx.splice``: rows streamed into the file as it is
saved, or kept as they were in the file on refresh) is in this module, so that mechanism can be
swapped here alone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.formula.translate import Translator
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.core.cells import owner_key
from xlkpi.core.errors import TrackerFileError
from xlkpi.core.stages import STRIPPED
from xlkpi.tracker.cells import print_setup, put_text, text_cell
from xlkpi.tracker.model import (
    DATA_COLUMNS,
    DATA_SHEETS,
    DATE_COLUMNS,
    OPPORTUNITIES,
    OWNED_SHEETS,
    STAGE_CLASS_COLUMN,
    STAGES_CLASS_RANGE,
    STAGES_KEY_RANGE,
    DataSheet,
    Tracker,
    column_title,
    title,
)
from xlkpi.tracker.pinned import find_pins
from xlkpi.tracker.styles import HEADER_FILL, HEADER_FONT
from xlkpi.xlsx.splice import RowsOutside
from xlkpi.xlsx.stream import STREAM_FROM_ROWS, NewRows, plain_values

# What core.stages.stage_key removes from a stage before matching (tests keep the two in step),
# and how the StageClass formula writes each character. The no-break space is written as itself
# in a string: UNICHAR needs the _xlfn. prefix in a file (without it LibreOffice and Excel show
# #NAME?) and is missing from Excel 2010, and CHAR(160) is another character on a Mac.
STAGE_STRIPPED = STRIPPED
_STRIPPED_IN_FORMULA = {" ": '" "', "\u00a0": '"\u00a0"', "\t": "CHAR(9)",
                        "\n": "CHAR(10)", "\r": "CHAR(13)", "-": '"-"', "_": '"_"', ":": '":"',
                        ".": '"."'}


# StageClass formulas are written this many rows below the data too, so that a row pasted there
# in an application that does not extend the table (LibreOffice; openpyxl) counts at once as won
# or lost (issue 10, item 7); refresh moves the spare rows below the data again.
SPARE_STAGE_ROWS = 100  # ~40 KB of sheet XML: a small tracker stays below splice's threshold


def streams_rows(tracker: Tracker, streamed: bool | None) -> bool:
    """Whether ``new`` keeps the data rows outside openpyxl and writes them into the file as it
    is saved (xlsx.splice.SplitBook), in a fraction of the time and memory: as asked, or by
    default when the data has STREAM_FROM_ROWS rows or more, all of types NewRows writes."""
    if streamed is not None:
        return streamed
    sheets = [sheet for sheet in tracker.data.values() if sheet is not None]
    return (sum(len(sheet.rows) for sheet in sheets) >= STREAM_FROM_ROWS
            and all(plain_values(sheet.rows) for sheet in sheets))


def write_data_sheets(wb: Workbook, tracker: Tracker,
                      outside: dict[str, RowsOutside] | None = None) -> None:
    """The five data sheets holding ``tracker.data``, rows grouped by owner; with ``outside``,
    their rows are put there (by sheet title) instead of into openpyxl cells."""
    for name in DATA_SHEETS:
        _write_data_sheet(wb.create_sheet(title(name)), name, tracker.data.get(name),
                          tracker.settings.reps, outside)


def refresh_data_sheets(wb: Workbook, reps: Sequence[str],
                        outside_rows: dict[str, RowsOutside]) -> RowMoves:
    """Group each data sheet's rows by owner again, where nothing points at them (see
    pinned.py), and bring its StageClass column and table up to date; what moved, or why not.
    ``outside_rows``: the sheets whose rows are held outside openpyxl."""
    moves = RowMoves()
    pins = find_pins(wb, {title(name): _rows_span(wb[title(name)], outside_rows.get(title(name)))
                          for name in OWNED_SHEETS}, outside_rows)
    for name in DATA_SHEETS:
        shown = title(name)
        outside = outside_rows.get(shown)
        if outside is None:
            moved = _group_sheet_rows(wb[shown], reps, pins.get(shown))
        else:
            moved = _group_outside_rows(wb[shown], outside, reps, pins.get(shown))
        if isinstance(moved, str):
            moves.held[shown] = moved
        elif moved:
            moves.moved[shown] = moved
        _fix_data_sheet(wb[shown], name, outside)
    return moves


@dataclass
class RowMoves:
    """What grouping the rows by owner did: data sheet → how many rows moved, or why its rows
    were left where they are although they are not grouped."""

    moved: dict[str, int] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [lang.text("messages.refresh.rows_moved", sheet=name,
                          count=f"{self.moved[name]:,}") if name in self.moved else
                lang.text("messages.refresh.rows_held", sheet=name, why=self.held[name])
                for name in dict.fromkeys([*map(title, DATA_SHEETS), *DATA_SHEETS])
                if name in self.moved or name in self.held]


def column_keys(header: Sequence[object]) -> list[str]:
    """Each header cell of a data sheet as the reader keys it: a known column (DATA_COLUMNS,
    StageClass) named in the language in force or in English as its id in lower case
    ("ответственный" → "owner"), any other header as its text in lower case."""
    known = {name.lower(): name.lower() for names in DATA_COLUMNS.values() for name in names}
    known[STAGE_CLASS_COLUMN.lower()] = STAGE_CLASS_COLUMN.lower()
    for name in list(known):
        known[column_title(_ID_OF[name]).strip().lower()] = name
    return [known.get(key, key) for key in
            (str(h).strip().lower() if h is not None else "" for h in header)]


_ID_OF = {name.lower(): name for names in DATA_COLUMNS.values() for name in names}
_ID_OF[STAGE_CLASS_COLUMN.lower()] = STAGE_CLASS_COLUMN


def _rows_span(ws: Worksheet, outside: RowsOutside | None) -> tuple[int, int]:
    """(the last data row, the StageClass column or 0) of a data sheet."""
    names = column_keys(_header_values(ws))
    stage_key = STAGE_CLASS_COLUMN.lower()
    stage_col = names.index(stage_key) + 1 if stage_key in names else None
    last = _data_last_row(ws, stage_col) if outside is None else outside.last_row(stage_col)
    return last, stage_col or 0


def stage_key_formula(stage_cell: str) -> str:
    """The formula text (no '=') of core.stages.stage_key for one cell, prefixed with "k" so
    that no key is empty: lower case, the characters of STAGE_STRIPPED removed, the wildcard
    characters ~ * ? read as '#' so that MATCH compares exactly ("w*n" is not "won")."""
    squeezed = stage_cell
    for char in STAGE_STRIPPED:
        squeezed = f'SUBSTITUTE({squeezed},{_STRIPPED_IN_FORMULA[char]},"")'
    return f'"k"&SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(LOWER({squeezed}),"~","#"),"*","#"),"?","#")'


def stage_class_formula(stage_cell: str) -> str:
    """Won, Lost or Open for one stage cell, as core.stages.StageMap classifies it: its key
    (stage_key_formula) looked up in the Stages sheet's hidden key column, the class from the
    hidden class column beside it; Open for a stage the sheet does not list."""
    key = stage_key_formula(stage_cell)
    return (f'=IF({stage_cell}="","",IFERROR(INDEX({STAGES_CLASS_RANGE},'
            f'MATCH({key},{STAGES_KEY_RANGE},0),1),"Open"))')

# --- grouping rows by owner ----------------------------------------------------------------

# Why the data rows are grouped by owner. A rep tab's Actual cells count a rep's rows with
# COUNTIFS/SUMIFS; over whole columns with an Owner criterion every one of them reads every row
# of the sheet, so a workbook with R reps does R times the row visits of the Team tab and
# recalculating it takes minutes at 250,000 rows (LibreOffice caches nothing between formulas).
# With each rep's rows next to each other, a rep tab finds its block once (MATCH for the first
# row, COUNTIF for how many) and counts inside INDEX(col,first):INDEX(col,last) with no owner
# criterion: R times fewer row visits. The tab checks that the block really holds all and only
# the rep's rows (COUNTIF over the block = COUNTIF over the column); when it does not (rows
# pasted later at the bottom, the sheet sorted by date) that rep's cells fall back to the whole
# columns: slower, never wrong. `new` writes the rows grouped and `refresh` groups them again.

def grouped_order(owners: Sequence[object], reps: Sequence[str],
                  blank: Sequence[bool] | None = None) -> list[int]:
    """The order (indexes into ``owners``) in which xlkpi writes a data sheet's rows: the rows of
    each rep together, the reps in the order they first appear, each rep's rows in their typed
    order; then the other rows (owner blank or not a rep) in typed order; then the rows that are
    entirely blank (``blank``). Owners match reps as COUNTIFS matches them (columns.owner_key):
    without regard to case. Rows already grouped this way keep their order."""
    rep_keys = {owner_key(rep) for rep in reps} - {None}
    blocks: dict[str, list[int]] = {}
    rest: list[int] = []
    empty: list[int] = []
    keys: dict[tuple[type, object], str | None] = {}  # each distinct owner keyed once
    for index, owner in enumerate(owners):
        try:
            key = keys[(type(owner), owner)]
        except KeyError:
            key = keys[(type(owner), owner)] = owner_key(owner)
        except TypeError:  # not hashable
            key = owner_key(owner)
        if key is not None and key in rep_keys:
            blocks.setdefault(key, []).append(index)
        elif blank is not None and blank[index]:
            empty.append(index)
        else:
            rest.append(index)
    return [index for block in blocks.values() for index in block] + rest + empty


def _write_data_sheet(ws: Worksheet, name: str, sheet: DataSheet | None,
                      reps: Sequence[str] = (),
                      outside: dict[str, RowsOutside] | None = None) -> None:
    known = list(DATA_COLUMNS[name])
    header = list(sheet.header) if sheet is not None else list(known)
    rows = sheet.rows if sheet is not None else []
    if "Owner" in header and rows:
        owner = header.index("Owner")
        rows = [rows[index] for index in grouped_order(
            [values[owner] if owner < len(values) else None for values in rows], reps)]
    extras = [h for h in header if h not in known and h != STAGE_CLASS_COLUMN]
    out_header = known + ([STAGE_CLASS_COLUMN] if name == OPPORTUNITIES else []) + extras
    sources = [header.index(h) if h in header else None for h in out_header]
    for col, label in enumerate(out_header, 1):
        text_cell(ws, 1, col, column_title(label) if label in _KNOWN_IDS else label)
    date_format = lang.text("formats.data_date")
    if outside is not None:
        outside[ws.title] = new_rows = NewRows(ws, rows, sources)
        for kind in (dt.datetime, dt.date):  # dates as the sheet shows them, not "h:mm:ss"
            sample = Cell(ws, value=kind(2026, 1, 1))
            sample.number_format = date_format
            new_rows.styles[kind] = ws.parent._cell_styles.add(sample._style)
    else:
        _put_rows(ws, ([values[source] if source is not None and source < len(values)
                        else None for source in sources] for values in rows), 2, date_format)
    for col, label in enumerate(out_header, 1):
        width = _WIDTHS.get(label, 16 if label in _KNOWN_IDS else 14)
        ws.column_dimensions[get_column_letter(col)].width = max(
            width, len(column_title(label) if label in _KNOWN_IDS else str(label)) + 4)
    _fix_data_sheet(ws, name, outside.get(ws.title) if outside is not None else None)


# Data sheet widths: names not cut, dates as DATE_FORMAT shows them (the rest: 16).
_KNOWN_IDS = frozenset(_ID_OF.values())
_WIDTHS = {**{column: 13 for column in DATE_COLUMNS},
           **{column: 28 for column in ("Lead", "Opportunity", "Customer")},
           **{column: 20 for column in ("Owner", "Stage", "Source", "Channel")}}


def data_print_setup(ws: Worksheet, width: int) -> None:
    """A data sheet prints its header row only, with a page header saying why and how to
    print rows: printing the whole workbook gives the report pages, not thousands of data
    rows (a manager prints rows on purpose with Print Selection)."""
    print_setup(ws, f"A1:{get_column_letter(max(width, 1))}1", None)
    ws.oddHeader.center.text = lang.text("formats.print_note")
    ws.oddHeader.center.size = 9


_CELL_TYPES = {str: "s", int: "n", float: "n", bool: "b",
               dt.datetime: "d", dt.date: "d", dt.time: "d"}


def _put_rows(ws: Worksheet, rows: Iterable[Sequence[object]], first_row: int,
              date_format: str | None = None) -> None:
    """Write data rows as typed, fast: a data sheet may hold a few hundred thousand rows.

    What ``put_text`` does, cell by cell, without openpyxl's per-cell type inference and style
    look-up: text is always a string cell (never a formula or an error value), a blank makes no
    cell at all, a date shares one style per type; anything unusual takes the ordinary path."""
    cells = ws._cells
    templates: dict[type, Cell] = {}
    for row, values in enumerate(rows, first_row):
        for col, value in enumerate(values, 1):
            if value is None:
                continue
            kind = _CELL_TYPES.get(type(value))
            if kind is None:
                put_text(ws.cell(row, col), value)
                continue
            if kind == "d":
                template = templates.get(type(value))
                if template is None:
                    template = templates[type(value)] = Cell(ws, value=value)
                    if date_format is not None and type(value) is not dt.time:
                        template.number_format = date_format
                cell = Cell(ws, row=row, column=col, style_array=template._style)
            else:
                cell = Cell(ws, row=row, column=col)
                if kind == "s":
                    if ILLEGAL_CHARACTERS_RE.search(value):
                        value = ILLEGAL_CHARACTERS_RE.sub("", value)
                    value = value[:32767]
            cell._value = value
            cell.data_type = kind
            cells[(row, col)] = cell


def _data_last_row(ws: Worksheet, skip_col: int | None) -> int:
    """The last row holding a value outside ``skip_col`` (1 for none). Looks only at cells that
    exist, so a sheet formatted down to row 1,048,576 costs nothing."""
    last = 1
    for (row, col), cell in ws._cells.items():
        if row > last and col != skip_col and cell.value is not None and cell.value != "":
            last = row
    return last


def _group_sheet_rows(ws: Worksheet, reps: Sequence[str], pinned: str | None = None
                      ) -> int | str:
    """Put a data sheet's rows (2 to the last one holding a value) in grouped_order, in place;
    how many rows moved, or ``pinned`` (why they must stay) when they would have moved.

    A row moves as a whole: every cell of it (extra columns too) with its style, comment and
    hyperlink, and its height. A formula a person typed in a data row moves as Excel's own sort
    moves it (relative references shift with the row). Nothing moves when the rows are already
    grouped, or when a merged cell or an array formula lies among them (Excel will not sort
    those either); the rep tabs then read whole columns, which is slower but as right."""
    names = column_keys(_header_values(ws))
    if "owner" not in names:
        return 0
    owner_col = names.index("owner") + 1
    stage_key = STAGE_CLASS_COLUMN.lower()
    stage_col = names.index(stage_key) + 1 if stage_key in names else None
    last = _data_last_row(ws, stage_col)
    if last < 3:
        return 0
    for merged in ws.merged_cells.ranges:
        if merged.max_row >= 2 and merged.min_row <= last:
            return 0
    count = last - 1
    owners: list[object] = [None] * count
    blank = [True] * count
    for (row, col), cell in ws._cells.items():
        if 2 <= row <= last:
            value = cell._value
            if isinstance(cell, MergedCell) or isinstance(value, (ArrayFormula,
                                                                  DataTableFormula)):
                return 0  # leave the rows be
            if col == owner_col:
                owners[row - 2] = value
            if col != stage_col and value is not None and value != "":
                blank[row - 2] = False
    order = grouped_order(owners, reps, blank)
    if order == list(range(count)):
        return 0
    if pinned is not None:
        return pinned
    new_row = {old + 2: new + 2 for new, old in enumerate(order)}
    formulas = {}
    for (row, col), cell in ws._cells.items():
        if (2 <= row <= last and new_row[row] != row and cell.data_type == "f"
                and isinstance(cell._value, str)):
            try:
                formulas[(row, col)] = Translator(cell._value, origin=cell.coordinate
                                                  ).translate_formula(
                    f"{get_column_letter(col)}{new_row[row]}")
            except Exception:  # a formula openpyxl cannot parse: move nothing
                return 0
    cells = {}
    for (row, col), cell in ws._cells.items():
        if 2 <= row <= last and new_row[row] != row:
            if (row, col) in formulas:
                cell._value = formulas[(row, col)]
            row = new_row[row]
            cell.row = row
            if cell.hyperlink is not None:
                cell.hyperlink.ref = cell.coordinate
        cells[(row, col)] = cell
    ws._cells = cells
    dimensions = [(index, ws.row_dimensions[index]) for index in list(ws.row_dimensions)
                  if 2 <= index <= last]
    for index, _ in dimensions:
        del ws.row_dimensions[index]
    for index, dimension in dimensions:
        dimension.index = new_row[index]
        ws.row_dimensions[new_row[index]] = dimension
    return sum(new != old for new, old in enumerate(order))


def _group_outside_rows(ws: Worksheet, outside, reps: Sequence[str],
                        pinned: str | None = None) -> int | str:
    """_group_sheet_rows for rows held outside openpyxl (xlsx.kept.KeptRows)."""
    names = column_keys(_header_values(ws))
    if "owner" not in names:
        return 0
    stage_key = STAGE_CLASS_COLUMN.lower()
    stage_col = names.index(stage_key) + 1 if stage_key in names else None
    held = []

    def order_of(owners, blank):
        order = grouped_order(owners, reps, blank)
        if pinned is not None and order != list(range(len(order))):
            held.append(pinned)
            return list(range(len(order)))  # KeptRows leaves rows in this order alone
        return order

    outside.group(names.index("owner") + 1, stage_col, order_of)
    if held:
        return held[0]
    order = outside.order or []
    return sum(new != old for new, old in enumerate(order))


def _header_values(ws: Worksheet) -> list[object]:
    values = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
    values = list(values)
    while values and (values[-1] is None or values[-1] == ""):
        values.pop()
    return values


def _fix_data_sheet(ws: Worksheet, name: str, outside: RowsOutside | None = None) -> None:
    """StageClass formulas on every data row and the sheet's table over its current rows
    (``outside``: the sheet's rows, when they are held outside openpyxl)."""
    header = _header_values(ws)
    names = column_keys(header)
    stage_col = None
    if name == OPPORTUNITIES:
        key = STAGE_CLASS_COLUMN.lower()
        if key in names:
            stage_col = names.index(key) + 1
        else:
            stage_col = len(header) + 1
            text_cell(ws, 1, stage_col, column_title(STAGE_CLASS_COLUMN))
            ws.column_dimensions[get_column_letter(stage_col)].width = 14
            header.append(column_title(STAGE_CLASS_COLUMN))
    last = max(_data_last_row(ws, stage_col) if outside is None else outside.last_row(stage_col),
               2)
    if stage_col is not None and outside is not None:
        stage_letter = get_column_letter(names.index("stage") + 1)
        outside.set_stage_class(stage_col, stage_class_formula(f"{stage_letter}\x00"),
                                last + SPARE_STAGE_ROWS)
    elif stage_col is not None:
        stage_letter = get_column_letter(names.index("stage") + 1)
        template = stage_class_formula("\x00")  # one formula, its row filled in per row
        for row in range(2, last + SPARE_STAGE_ROWS + 1):
            cell = ws.cell(row, stage_col)
            cell._value = template.replace("\x00", f"{stage_letter}{row}")
            cell.data_type = "f"
        for key in [key for key in ws._cells
                    if key[1] == stage_col and key[0] > last + SPARE_STAGE_ROWS]:
            del ws._cells[key]  # formulas left below the data by deleted rows
    # Table columns need unique, non-blank text headers. A blank header gets Excel's own
    # "Column7", a number becomes text; a header that repeats an earlier one (a person's
    # typing, which refresh does not rename) ends the table before it: that column and any
    # to its right stay on the sheet, outside the table.
    seen: set[str] = set()
    columns = []
    for col in range(1, len(header) + 1):
        value = header[col - 1]
        label = str(value) if value is not None and str(value).strip() else f"Column{col}"
        label = re.sub(r"[\x00-\x1f]", " ", label)
        if label.lower() in seen:
            break
        seen.add(label.lower())
        if value != label or ws.cell(1, col).data_type != "s":
            text_cell(ws, 1, col, label)
        column = TableColumn(id=col, name=label)
        if col == stage_col:
            stage_letter = get_column_letter(names.index("stage") + 1)
            column.calculatedColumnFormula = TableFormula(
                attr_text=stage_class_formula(f"{stage_letter}2")[1:])
        columns.append(column)
        ws.cell(1, col).font = HEADER_FONT
        ws.cell(1, col).fill = HEADER_FILL
    shown = title(name)
    for table in list(ws.tables.values()):
        if table.displayName.lower() == shown.lower() or table.ref.split(":")[0] == "A1":
            del ws.tables[table.name]
    ref = f"A1:{get_column_letter(len(columns))}{last}"
    table = Table(displayName=shown, ref=ref, tableColumns=columns,
                  tableStyleInfo=TableStyleInfo(name="TableStyleMedium2", showRowStripes=True))
    table.autoFilter = AutoFilter(ref=ref)
    ws.add_table(table)
    ws.freeze_panes = "A2"
    data_print_setup(ws, len(columns))


def data_column_letters(wb: Workbook) -> dict[str, dict[str, str]]:
    """Sheet → known column header → column letter, from each data sheet's header row."""
    letters: dict[str, dict[str, str]] = {}
    for name in DATA_SHEETS:
        header = column_keys(_header_values(wb[title(name)]))
        wanted = (*DATA_COLUMNS[name], *([STAGE_CLASS_COLUMN] if name == OPPORTUNITIES else []))
        found = {}
        for column in wanted:
            if column.lower() not in header:
                raise TrackerFileError(lang.text("messages.errors.tracker.data_no_column",
                                                 sheet=title(name),
                                                 column=column_title(column)))
            found[column] = get_column_letter(header.index(column.lower()) + 1)
        letters[name] = found
    return letters

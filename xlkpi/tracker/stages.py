"""The Stages sheet: stage name → Won / Lost / Open, typed by a manager, kept by refresh.

Columns A (Stage) and B (Class) are typed, from row 2; pre-filled with the built-in names
(core.stages.BUILT_IN_STAGES); ``xlkpi import`` appends the names it meets, as Open. Hidden
columns C and D are calculated: the name's match key and the class the formulas use. Every
StageClass cell of Opportunities looks its stage's key up in C (data.stage_class_formula), and
``report`` and ``import`` classify with the same rows (core.stages.StageMap), so the three agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.core.errors import TrackerFileError
from xlkpi.core.stages import BUILT_IN_STAGES, LOST, OPEN, WON, StageMap, stage_key
from xlkpi.tracker.cells import formula_cell, print_setup, text_cell
from xlkpi.tracker.data import stage_key_formula
from xlkpi.tracker.model import DATA_SHEETS, STAGES, STAGES_FIRST_ROW, TARGETS, Tracker, title
from xlkpi.tracker.styles import GREY, HEADER_FILL, HEADER_FONT, INPUT_FILL

HEADER = ("Stage", "Class", "Match key (calculated)", "Class used (calculated)")
_HEADER_KEYS = ("stages.stage", "stages.class", "stages.key", "stages.class_used")
SPARE_ROWS = 200  # rows below the list whose hidden cells are ready for names typed there
_VALIDATION_TAG = "xlkpi"
_CLASS_KEYS = {WON: "stages.won", LOST: "stages.lost", OPEN: "stages.open"}


def class_word(code: object) -> object:
    """A class (Won, Lost, Open) as the Stages sheet shows it in the language in force; any
    other value as it is."""
    key = _CLASS_KEYS.get(code) if isinstance(code, str) else None
    return lang.text(key) if key else code


def class_code(typed: object) -> object:
    """A class cell typed in the language in force ("Выиграна") as its code ("Won"); any other
    value (English words too, which core.stages reads) as it is."""
    if isinstance(typed, str):
        for code, key in _CLASS_KEYS.items():
            if typed.strip().lower() == lang.text(key).strip().lower():
                return code
    return typed


def write_stages(ws: Worksheet, rows: Iterable[tuple[object, object]] | None = None) -> None:
    """A new Stages sheet holding ``rows`` (None: the built-in names)."""
    for col, key in enumerate(_HEADER_KEYS, 1):
        text_cell(ws, 1, col, lang.text(key), HEADER_FONT, fill=HEADER_FILL)
    text_cell(ws, 1, 6, lang.text("stages.note"), GREY)
    row = STAGES_FIRST_ROW - 1
    for row, (name, kind) in enumerate(BUILT_IN_STAGES if rows is None else rows,
                                       STAGES_FIRST_ROW):
        text_cell(ws, row, 1, name, fill=INPUT_FILL)
        text_cell(ws, row, 2, class_word(kind), fill=INPUT_FILL)
    ws.column_dimensions["A"].width = 32
    ws.column_dimensions["B"].width = 10
    ws.freeze_panes = "A2"
    refresh_stages(ws)


def refresh_stages(ws: Worksheet) -> None:
    """The calculated columns C and D over the listed rows and SPARE_ROWS more, hidden, and
    the Won/Lost/Open drop-down on B."""
    last = _last_row(ws)
    for row in range(STAGES_FIRST_ROW, last + SPARE_ROWS + 1):
        formula_cell(ws, row, 3, f'=IF(A{row}="","",{stage_key_formula(f"A{row}")})')
        formula_cell(ws, row, 4, f"=IF({_is(row, WON)},\"Won\",IF({_is(row, LOST)},\"Lost\","
                                 '"Open"))')
    for letter in "CD":
        ws.column_dimensions[letter].hidden = True
    ws.data_validations.dataValidation = [
        dv for dv in ws.data_validations.dataValidation if dv.promptTitle != _VALIDATION_TAG]
    words = ",".join(str(class_word(code)) for code in (WON, LOST, OPEN))
    dv = DataValidation(type="list", formula1=f'"{words}"', allow_blank=True,
                        showErrorMessage=True, showInputMessage=True, errorStyle="warning",
                        promptTitle=_VALIDATION_TAG, prompt=lang.text("stages.prompt"),
                        errorTitle=lang.text("stages.error_title"),
                        error=lang.text("stages.error"))
    dv.add(f"B{STAGES_FIRST_ROW}:B{last + SPARE_ROWS}")
    ws.add_data_validation(dv)
    # prints the list (not the long note beside it, which made five pages of one line)
    print_setup(ws, f"A1:B{max(last, STAGES_FIRST_ROW)}", "1:1")


def _is(row: int, code: str) -> str:
    """Column B of ``row`` reads the class ``code``: its English word or the language's."""
    shown = class_word(code)
    if shown == code:
        return f'B{row}="{code}"'
    return f'OR(B{row}="{code}",B{row}="{shown}")'


def _last_row(ws: Worksheet) -> int:
    last = STAGES_FIRST_ROW - 1
    for row, (name, kind) in enumerate(ws.iter_rows(min_row=STAGES_FIRST_ROW, max_col=2,
                                                    values_only=True), STAGES_FIRST_ROW):
        if name not in (None, "") or kind not in (None, ""):
            last = row
    return last


def ensure_stages(wb: Workbook) -> bool:
    """Refresh: the Stages sheet's calculated columns brought up to date, or the sheet added
    (with the built-in names, after the data sheets) to a tracker made before it existed. True when
    it was added."""
    shown = title(STAGES)
    if shown in wb.sheetnames:
        ws = wb[shown]
        heads = (lang.text(_HEADER_KEYS[0]), lang.text(_HEADER_KEYS[1]))
        if (ws.cell(1, 1).value, ws.cell(1, 2).value) not in (HEADER[:2], heads):
            raise TrackerFileError(lang.text("messages.errors.tracker.stages_header",
                                             sheet=shown, first=heads[0], second=heads[1]))
        refresh_stages(ws)
        return False
    after = [wb.sheetnames.index(title(name)) for name in (TARGETS, *DATA_SHEETS)
             if title(name) in wb.sheetnames]
    write_stages(wb.create_sheet(shown, max(after) + 1 if after else None))
    return True


def read_stages(rows: Sequence[tuple]) -> list[tuple[object, object]]:
    """The typed rows (name, class) of the Stages sheet, blank names left out; ``rows``: its
    values, row 1 (the header) first (reader.SheetRows.rows)."""
    out = []
    for values in rows[STAGES_FIRST_ROW - 1:]:
        values = tuple(values[:2]) + (None,) * (2 - len(values[:2]))
        if values[0] not in (None, ""):
            out.append((values[0], class_code(values[1])))
    return out


def stage_map(tracker: Tracker) -> StageMap:
    """How the tracker classifies stages: its Stages rows, or the built-in names."""
    return StageMap() if tracker.stages is None else StageMap(tracker.stages)


def add_stage_names(ws: Worksheet, names: Sequence[str]) -> list[str]:
    """Append each of ``names`` the sheet does not list yet (by match key), as Open; the
    names added, in order."""
    known = {stage_key(name) for name, _kind in read_stages_of(ws)}
    last = _last_row(ws)
    added = []
    for name in names:
        key = stage_key(name)
        if key is None or not name.strip() or key in known:
            continue
        known.add(key)
        last += 1
        text_cell(ws, last, 1, name, fill=INPUT_FILL)
        text_cell(ws, last, 2, class_word(OPEN), fill=INPUT_FILL)
        added.append(name)
    if added:
        refresh_stages(ws)
    return added


def read_stages_of(ws: Worksheet) -> list[tuple[object, object]]:
    """The typed rows (name, class code) of the Stages sheet ``ws``: its class words in the
    tracker's language ("Выиграна") read as the codes the StageMap knows ("Won")."""
    return [(name, class_code(kind)) for name, kind in ws.iter_rows(
        min_row=STAGES_FIRST_ROW, max_col=2, values_only=True) if name not in (None, "")]


# --- saved import mappings (xlkpi.imports.mapping) -----------------------------------------------
# Columns H:J of the Stages sheet, from row 2: the export's header signature, the data sheet,
# the mapping ("Deal Stage=Stage, Owner Name=Owner"). The Stages sheet is typed (refresh patches
# it cell by cell and keeps every cell it does not write), so a saved mapping survives refresh;
# a person may edit the mapping or delete the row to forget it.
MAPS_COLUMN = 8  # H
MAPS_HEADER = ("Saved import mapping: export headers", "Sheet", "Columns (HEADER=COLUMN)")


def read_import_maps(ws: Worksheet) -> dict[str, tuple[str, str]]:
    """signature → (sheet, mapping text) of the mappings saved on the Stages sheet ``ws``;
    the first row of a signature wins."""
    if ws.cell(1, MAPS_COLUMN).value != MAPS_HEADER[0]:
        return {}
    found: dict[str, tuple[str, str]] = {}
    for key, sheet, text in ws.iter_rows(min_row=STAGES_FIRST_ROW, min_col=MAPS_COLUMN,
                                         max_col=MAPS_COLUMN + 2, values_only=True):
        if isinstance(key, str) and key and isinstance(text, str) and text.strip():
            found.setdefault(key, (str(sheet or "").strip(), text))
    return found


def save_import_map(ws: Worksheet, signature: str, sheet: str, text: str) -> bool:
    """Save the mapping ``text`` for exports whose headers have ``signature`` (replacing the one
    saved for it); whether anything changed."""
    if ws.cell(1, MAPS_COLUMN).value != MAPS_HEADER[0]:
        for offset, label in enumerate(MAPS_HEADER):
            text_cell(ws, 1, MAPS_COLUMN + offset, label, HEADER_FONT, fill=HEADER_FILL)
        ws.column_dimensions["H"].width = 40
        ws.column_dimensions["J"].width = 60
    row = STAGES_FIRST_ROW
    while ws.cell(row, MAPS_COLUMN).value not in (None, ""):
        if ws.cell(row, MAPS_COLUMN).value == signature:
            break
        row += 1
    if (ws.cell(row, MAPS_COLUMN).value, ws.cell(row, MAPS_COLUMN + 1).value,
            ws.cell(row, MAPS_COLUMN + 2).value) == (signature, sheet, text):
        return False
    for offset, value in enumerate((signature, sheet, text)):
        text_cell(ws, row, MAPS_COLUMN + offset, value, fill=INPUT_FILL)
    return True

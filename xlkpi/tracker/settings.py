"""The Settings and Targets sheets: what a person types, and the few cells xlkpi calculates.

Typed cells are written once by ``new``; ``refresh`` rewrites only the calculated block of
Settings, the month headers and validation of Targets, and appends missing Targets rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.core.errors import InputError
from xlkpi.core.goals import sums
from xlkpi.core.kpis import KPI_BY_ID, KPIS, Kpi
from xlkpi.tracker.cells import formula_cell, header_row, print_setup, text_cell
from xlkpi.tracker.model import (
    REP_KPIS,
    S_AS_OF_TYPED,
    S_FIRST_DAY,
    S_FISCAL_START,
    S_YEAR,
    SETTINGS_ALIASES_COL,
    SETTINGS_LANGUAGE_ROW,
    SETTINGS_REPS_HEADER_ROW,
    SETTINGS_ROWS,
    TARGETS_EXTRA_COL,
    TARGETS_FIRST_MONTH_COL,
    TARGETS_FIRST_ROW,
    TARGETS_HEADER_ROW,
    TARGETS_KPI_COL,
    TARGETS_PLAN_COL,
    TARGETS_REP_FLAG_COL,
    TARGETS_SHAPE_COL,
    TARGETS_SHAPE_OK_COL,
    TARGETS_TEAM_FLAG_COL,
    TARGETS_WHO_COL,
    TARGETS_YEAR_COL,
    TEAM_NAME,
    Settings,
    TargetRow,
    Tracker,
    is_team,
    kpi_by_name,
    kpi_name,
    team_name,
)
from xlkpi.tracker.model import settings_label as label
from xlkpi.tracker.styles import (
    BOLD,
    CALC_FILL,
    GREY,
    HEADER_FILL,
    HEADER_FONT,
    INPUT_FILL,
    SECTION_FONT,
    TITLE,
    day_format,
    month_format,
    number_format,
)
from xlkpi.xlsx.extent import last_value_row

_VALIDATION_TAG = "xlkpi"  # promptTitle of the validations this module owns
ALIASES_LABEL = "Also known as"
ALIAS_SEPARATOR = "; "


def read_aliases(rows: Sequence[tuple]) -> dict[str, list[str]]:
    """Rep → the aliases typed beside the rep's name in Settings (";" or line breaks between
    them); ``rows``: the Settings sheet's values, row 1 first (reader.SheetRows.rows)."""
    aliases: dict[str, list[str]] = {}
    for values in rows[SETTINGS_REPS_HEADER_ROW:]:
        name = values[0] if len(values) > 0 else None
        typed = values[SETTINGS_ALIASES_COL - 1] if len(values) >= SETTINGS_ALIASES_COL else None
        if isinstance(name, float) and name.is_integer():
            name = int(name)  # as the reader reads the rep's name
        if name is None or typed is None or not str(name).strip():
            continue
        found = [part.strip() for part in str(typed).replace("\n", ";").split(";")]
        found = [part for part in found if part]
        if found:
            aliases.setdefault(str(name).strip(), []).extend(found)
    return aliases


def write_settings(ws: Worksheet, settings: Settings) -> None:
    text_cell(ws, 1, 1, lang.text("settings.title"), TITLE)
    text_cell(ws, 2, 1, lang.text("settings.intro"), GREY)
    values = {"year": settings.year, "fiscal_start": settings.fiscal_start,
              "currency": settings.currency, "as_of": settings.as_of}
    for key, row in SETTINGS_ROWS.items():
        text_cell(ws, row, 1, label(key), BOLD)
        text_cell(ws, row, 2, values[key], fill=INPUT_FILL,
              fmt=lang.text("formats.date") if key == "as_of" else None)
        text_cell(ws, row, 3, lang.text(f"settings.note_{key}"), GREY)
    settings_language(ws, settings.language)
    text_cell(ws, SETTINGS_REPS_HEADER_ROW, 1, label("reps"), HEADER_FONT, fill=HEADER_FILL)
    text_cell(ws, SETTINGS_REPS_HEADER_ROW, SETTINGS_ALIASES_COL, label("aliases"), HEADER_FONT,
              fill=HEADER_FILL)
    text_cell(ws, SETTINGS_REPS_HEADER_ROW, 3, lang.text("settings.reps_note"), GREY)
    for offset, rep in enumerate(settings.reps, 1):
        text_cell(ws, SETTINGS_REPS_HEADER_ROW + offset, 1, rep, fill=INPUT_FILL)
        aliases = settings.aliases.get(rep)
        if aliases:
            text_cell(ws, SETTINGS_REPS_HEADER_ROW + offset, SETTINGS_ALIASES_COL,
                      ALIAS_SEPARATOR.join(aliases), fill=INPUT_FILL)
    for offset in range(len(settings.reps) + 1, len(settings.reps) + 11):
        ws.cell(SETTINGS_REPS_HEADER_ROW + offset, 1).fill = INPUT_FILL
    # wide enough for the labels in any language (30 and 16 for the English ones)
    labels = [*SETTINGS_ROWS, "language", "reps", "as_of_used", "months_to_date"]
    ws.column_dimensions["A"].width = max(30, max(len(label(key)) for key in labels) + 3)
    ws.column_dimensions["B"].width = max(16, len(label("aliases")) + 3)
    ws.column_dimensions["C"].width = 60
    print_setup(ws, None, None)
    settings_calculated(ws)
    settings_validation(ws)


def settings_language(ws: Worksheet, code: str) -> None:
    """The language row: its label and the tracker's language code (read back by the reader
    when the hidden _xlkpi sheet records none). A row 8 a person filled in a tracker made
    before languages is left as typed."""
    held = ws.cell(SETTINGS_LANGUAGE_ROW, 1).value
    labels = {lang.load(code).text("settings.language").lower() for code in lang.codes()}
    if held not in (None, "") and str(held).strip().lower() not in labels:
        return
    text_cell(ws, SETTINGS_LANGUAGE_ROW, 1, label("language"), BOLD)
    text_cell(ws, SETTINGS_LANGUAGE_ROW, 2, code, fill=CALC_FILL)
    text_cell(ws, SETTINGS_LANGUAGE_ROW, 3, lang.text("settings.note_language"), GREY)


def settings_calculated(ws: Worksheet) -> None:
    """The calculated block (generated, rewritten by refresh): as-of date, months to date,
    the fiscal year's first and last day. The only volatile function of the workbook is here."""
    text_cell(ws, 9, 1, label("calculated"), SECTION_FONT)
    day = day_format()
    rows = (
        (10, "as_of_used", f"=IF(ISNUMBER({S_AS_OF_TYPED}),"
                           f"INT({S_AS_OF_TYPED}),TODAY())", day),
        (11, "months_to_date",
         f"=MIN(MAX(YEAR(B10)*12+MONTH(B10)-({S_YEAR}*12+{S_FISCAL_START})+1,1),12)", "0"),
        (12, "fiscal_year", f"=DATE({S_YEAR},{S_FISCAL_START},1)", day),
    )
    for row, key, formula, fmt in rows:
        text_cell(ws, row, 1, label(key))
        formula_cell(ws, row, 2, formula, fmt).fill = CALC_FILL
    formula_cell(ws, 12, 3, "=EOMONTH(B12,11)", day)
    ws.cell(12, 3).alignment = Alignment(horizontal="left")


def _drop_own_validations(ws: Worksheet) -> None:
    ws.data_validations.dataValidation = [
        dv for dv in ws.data_validations.dataValidation if dv.promptTitle != _VALIDATION_TAG]


def settings_validation(ws: Worksheet) -> None:
    _drop_own_validations(ws)
    rules = (
        ("whole", "1900", "9999", "B4", lang.text("settings.valid_year")),
        ("whole", "1", "12", "B5", lang.text("settings.valid_fiscal_start")),
        ("date", "1", "2958465", "B7", lang.text("settings.valid_as_of")),
    )
    for kind, low, high, ref, message in rules:
        dv = DataValidation(type=kind, operator="between", formula1=low, formula2=high,
                            allow_blank=True, showErrorMessage=True, showInputMessage=True,
                            promptTitle=_VALIDATION_TAG, prompt=message,
                            errorTitle=lang.text("settings.title"), error=message)
        dv.add(ref)
        ws.add_data_validation(dv)


# --- Targets ---------------------------------------------------------------------------------

def _target_key(who: object, kpi: object) -> tuple[str, str] | None:
    """(who, KPI id) of a Targets row: the team's rows under TEAM_NAME whatever the word
    shown, a KPI named in the language in force or in English; None for a row of one's own."""
    if isinstance(kpi, str):
        kpi = kpi_by_name(kpi)
    if not isinstance(who, str) or kpi is None:
        return None
    return (TEAM_NAME.lower() if is_team(who) else who.lower()), kpi.id


def _shown_who(who: str) -> str:
    return team_name() if who == TEAM_NAME else who


def _expected_targets(settings: Settings) -> list[tuple[str, Kpi]]:
    rows = [(TEAM_NAME, kpi) for kpi in KPIS]
    rows += [(rep, kpi) for rep in settings.reps for kpi in REP_KPIS]
    return rows


def write_targets(ws: Worksheet, tracker: Tracker) -> None:
    text_cell(ws, 1, 1, lang.text("targets.title"), TITLE)
    text_cell(ws, 2, 1, lang.text("targets.intro"), GREY)
    header_row(ws, TARGETS_HEADER_ROW, [lang.text("targets.who"), lang.text("targets.kpi")])
    text_cell(ws, TARGETS_HEADER_ROW, TARGETS_EXTRA_COL, lang.text("targets.notes"), HEADER_FONT,
              fill=HEADER_FILL)
    by_key: dict[tuple[str, str], TargetRow] = {}
    for target in tracker.targets:
        kpi = _kpi_by_id(target.kpi_id)
        key = _target_key(target.who, kpi)
        if key is not None:
            by_key.setdefault(key, target)
    row = TARGETS_FIRST_ROW
    written: set[tuple[str, str]] = set()
    for who, kpi in _expected_targets(tracker.settings):
        key = _target_key(who, kpi)
        _target_row(ws, row, who, kpi, tracker.settings.currency, by_key.get(key))
        written.add(key)
        row += 1
    for target in tracker.targets:  # rows of reps no longer in Settings: kept as they are
        kpi = _kpi_by_id(target.kpi_id)
        key = _target_key(target.who, kpi)
        if key not in written:
            _target_row(ws, row, target.who, kpi, tracker.settings.currency, target)
            written.add(key)
            row += 1
    ws.freeze_panes = ws.cell(TARGETS_FIRST_ROW, TARGETS_FIRST_MONTH_COL)
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = max(28, max(len(kpi_name(kpi.id)) for kpi in KPIS) + 2)
    for col in range(TARGETS_FIRST_MONTH_COL, TARGETS_EXTRA_COL):
        ws.column_dimensions[get_column_letter(col)].width = 11
    ws.column_dimensions[get_column_letter(TARGETS_EXTRA_COL)].width = 40
    print_setup(ws, None, f"{TARGETS_HEADER_ROW}:{TARGETS_HEADER_ROW}")
    _targets_generated(ws)


def _kpi_by_id(kpi_id: str) -> Kpi:
    kpi = KPI_BY_ID.get(kpi_id)
    if kpi is None:
        raise InputError(lang.text("messages.errors.tracker.not_a_kpi", kpi=repr(kpi_id)))
    return kpi


def _target_row(ws: Worksheet, row: int, who: str, kpi: Kpi, currency: object,
                typed: TargetRow | None) -> None:
    text_cell(ws, row, TARGETS_WHO_COL, _shown_who(who))
    text_cell(ws, row, TARGETS_KPI_COL, kpi_name(kpi.id))
    fmt = number_format(kpi, currency)
    months = list(typed.months) if typed is not None else []
    for index in range(12):
        value = months[index] if index < len(months) else None
        text_cell(ws, row, TARGETS_FIRST_MONTH_COL + index, value, fmt=fmt, fill=INPUT_FILL)
    if typed is not None:
        for offset, value in enumerate(typed.extra):
            text_cell(ws, row, TARGETS_EXTRA_COL + offset, value)
    ws.cell(row, TARGETS_YEAR_COL).fill = INPUT_FILL
    ws.cell(row, TARGETS_YEAR_COL).number_format = fmt


def _targets_last_row(ws: Worksheet) -> int:
    """The last Targets row holding a value (the header row for none), from the cells the
    sheet holds: iter_rows would visit the planning block's whole width on every row."""
    return max(last_value_row(ws), TARGETS_HEADER_ROW)


def complete_targets(ws: Worksheet, tracker: Tracker) -> None:
    """Append a row for every (Team or rep, KPI) that has none; touch no existing row."""
    present = set()
    for who, kpi_text in ws.iter_rows(min_row=TARGETS_FIRST_ROW, min_col=TARGETS_WHO_COL,
                                      max_col=TARGETS_KPI_COL, values_only=True):
        key = _target_key(who, kpi_text)
        if key is not None:
            present.add(key)
    row = _targets_last_row(ws) + 1
    for who, kpi in _expected_targets(tracker.settings):
        key = _target_key(who, kpi)
        if key not in present:
            _target_row(ws, row, who, kpi, tracker.settings.currency, None)
            present.add(key)
            row += 1
    _targets_generated(ws)


def _targets_generated(ws: Worksheet) -> None:
    """The generated cells of Targets: month headers (from Settings) and the validation."""
    for index in range(12):
        col = TARGETS_FIRST_MONTH_COL + index
        formula = (f"={S_FIRST_DAY}" if index == 0 else
                   f"=EOMONTH({get_column_letter(col - 1)}{TARGETS_HEADER_ROW},0)+1")
        cell = formula_cell(ws, TARGETS_HEADER_ROW, col, formula, month_format(), HEADER_FONT)
        cell.fill = HEADER_FILL
    _drop_own_validations(ws)
    last = _targets_last_row(ws) + 1000
    first_col = get_column_letter(TARGETS_FIRST_MONTH_COL)
    last_col = get_column_letter(TARGETS_EXTRA_COL - 1)
    message = lang.text("targets.valid_message")
    dv = DataValidation(type="decimal", operator="between", formula1="-1E+15",
                        formula2="1E+15", allow_blank=True, showErrorMessage=True,
                        showInputMessage=True, errorStyle="warning",
                        promptTitle=_VALIDATION_TAG, prompt=message,
                        errorTitle=lang.text("targets.valid_title"),
                        error=message + lang.text("targets.valid_notes"))
    dv.add(f"{first_col}{TARGETS_FIRST_ROW}:{last_col}{last}")
    ws.add_data_validation(dv)


# --- reps typed as formulas ----------------------------------------------------------------

def resolve_formula_reps(tracker: Tracker, wb, path, name: str) -> None:
    """Reps typed as formulas in Settings (=UPPER("frank")) as the values they last showed,
    read from the file at ``path`` (openpyxl keeps a formula's text, not its value); a
    TrackerFileError naming the cell when the file holds no value for it. ``tracker`` is
    what reader.read_tracker read from ``wb`` (its reps in the order of their rows)."""
    with lang.using(tracker.settings.language):
        _resolve_formula_reps(tracker, wb, path, name)


def _resolve_formula_reps(tracker: Tracker, wb, path, name: str) -> None:
    from xlkpi.core.errors import TrackerFileError
    from xlkpi.tracker.model import SETTINGS, check_reps, title

    ws = wb[title(SETTINGS)]
    typed = sorted((row, cell) for (row, col), cell in ws._cells.items()
                   if col == 1 and row > SETTINGS_REPS_HEADER_ROW
                   and cell.value is not None and str(cell.value).strip())
    formulas = {row: cell.value for row, cell in typed if cell.data_type == "f"}
    if not formulas or len(typed) != len(tracker.settings.reps):
        return
    import openpyxl

    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        shown = {row: value for row, (value,) in enumerate(values[title(SETTINGS)].iter_rows(
            min_row=1, max_col=1, values_only=True), 1) if row in formulas}
    finally:
        values.close()
    reps = list(tracker.settings.reps)
    for index, (row, _cell) in enumerate(typed):
        if row not in formulas:
            continue
        value = shown.get(row)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if value is None or not str(value).strip():
            raise TrackerFileError(lang.text(
                "messages.errors.tracker.rep_formula", name=name, sheet=title(SETTINGS), row=row,
                formula=formulas[row]))
        reps[index] = str(value).strip()
    try:
        check_reps(reps)
    except InputError as error:
        raise TrackerFileError(lang.text(
            "messages.errors.tracker.settings_reps", name=name, sheet=title(SETTINGS), error=error,
            label=label("reps"))) from None
    tracker.settings.reps = reps


# --- target planning (goals.plan_months) -------------------------------------------------------

_MISMATCH_FILL = PatternFill("solid", start_color="F4B6B6", end_color="F4B6B6")


def plan_targets(ws: Worksheet, tracker: Tracker, letters: dict[str, dict[str, str]]) -> None:
    """The generated planning cells of Targets (rewritten by new and refresh): the Year header,
    and per (who, KPI) row the hidden planned months, flags and, on Team rows of counts and
    amounts, last year's actuals; the conditional format marking a Team target that differs
    from the reps' sum. Typed cells are not touched (the Year header only where P4 is blank)."""
    from xlkpi.tracker.formulas import (
        ActualFormulas,
        last_year_window,
        mismatch_rule,
        plan_formula,
        shape_ok_formula,
    )

    year_head = ws.cell(TARGETS_HEADER_ROW, TARGETS_YEAR_COL)
    if year_head.value is None or str(year_head.value).strip() == "":
        text_cell(ws, TARGETS_HEADER_ROW, TARGETS_YEAR_COL, lang.text("targets.year"),
                  HEADER_FONT, fill=HEADER_FILL)
    text_cell(ws, 3, 1, lang.text("targets.plan_note"), GREY)
    last_col = TARGETS_TEAM_FLAG_COL
    for col in range(TARGETS_PLAN_COL, last_col + 1):
        for cell in ws.iter_rows(min_row=TARGETS_HEADER_ROW, min_col=col, max_col=col):
            cell[0].value = None
        ws.column_dimensions[get_column_letter(col)].hidden = True
    reps = {rep.strip().lower() for rep in tracker.settings.reps}
    rows: list[tuple[int, bool, Kpi]] = []
    team_rows: dict[str, int] = {}
    for row, (who, kpi_text) in enumerate(ws.iter_rows(
            min_row=TARGETS_FIRST_ROW, min_col=TARGETS_WHO_COL, max_col=TARGETS_KPI_COL,
            values_only=True), TARGETS_FIRST_ROW):
        key = _target_key(who, kpi_text)
        kpi = KPI_BY_ID[key[1]] if key else None
        if kpi is None:
            continue
        team = key[0] == TEAM_NAME.lower()
        rows.append((row, team, kpi))
        if team:
            team_rows.setdefault(kpi.id, row)
        elif key[0] in reps and sums(kpi):
            formula_cell(ws, row, TARGETS_REP_FLAG_COL, "=1")  # a formula: not typed
    actuals = ActualFormulas(letters, None)
    for row, team, kpi in rows:
        fmt = number_format(kpi, tracker.settings.currency)
        shape_row = team_rows.get(kpi.id) if sums(kpi) else None
        for index in range(12):
            formula_cell(ws, row, TARGETS_PLAN_COL + index,
                         plan_formula(kpi, row, index, team, shape_row), fmt)
        if team and sums(kpi) and team_rows.get(kpi.id) == row:
            formula_cell(ws, row, TARGETS_TEAM_FLAG_COL, "=1")
            for index in range(12):
                formula_cell(ws, row, TARGETS_SHAPE_COL + index,
                             actuals.formula(kpi.recipe, last_year_window(index), {}, {}), fmt)
            formula_cell(ws, row, TARGETS_SHAPE_OK_COL, shape_ok_formula(row))
    _mismatch_format(ws, mismatch_rule(TARGETS_FIRST_ROW))


def _mismatch_format(ws: Worksheet, formula: str) -> None:
    """Replace this module's conditional format (found by its formula) on the month cells."""
    marker = get_column_letter(TARGETS_TEAM_FLAG_COL) + str(TARGETS_FIRST_ROW)
    kept = ConditionalFormattingList()
    for block in ws.conditional_formatting:
        for rule in block.rules:
            if not any(marker in text for text in rule.formula or ()):
                kept.add(str(block.sqref), rule)
    ws.conditional_formatting = kept
    first = get_column_letter(TARGETS_FIRST_MONTH_COL)
    last = get_column_letter(TARGETS_FIRST_MONTH_COL + 11)
    end = max(_targets_last_row(ws), TARGETS_FIRST_ROW)
    ws.conditional_formatting.add(f"{first}{TARGETS_FIRST_ROW}:{last}{end}",
                                  FormulaRule(formula=[formula], fill=_MISMATCH_FILL))

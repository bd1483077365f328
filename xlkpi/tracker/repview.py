"""The rep view: one tab that shows any rep on Settings, picked from a drop-down, as a rep tab
shows its rep (Target, Actual and Attainment per KPI and month, pacing, charts).

It is a rep tab (tabs.write_kpi_tab) whose name cells are formulas over the picked name instead
of text, so it works for a rep typed into Settings with no command run. Its Actual cells count
the picked rep's rows: through the owner block when the rep's rows are together, else over
whole columns with the owner criterion, exactly as on a rep tab.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.styles import Alignment
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.tracker.cells import absolute, formula_cell, put_text, text_cell
from xlkpi.tracker.leaderboard import rep_rows_count, sheet_ref
from xlkpi.tracker.model import (
    REP_KPIS,
    SETTINGS,
    SETTINGS_REPS_HEADER_ROW,
    TAB_CRITERION_COL,
    TAB_MATCH_ROW,
    TAB_WHO_ROW,
)
from xlkpi.tracker.styles import BOLD, GREY, INPUT_FILL, TITLE, style
from xlkpi.tracker.tabs import TabRows, write_kpi_tab

PICKER = f"$B${TAB_WHO_ROW}"


def write_rep_view(ws: Worksheet, reps: Sequence[str], letters, currency: object,
                   picked: object = None) -> dict[str, TabRows]:
    """The rep view, showing ``picked`` when it is one of ``reps`` (the rep it showed before a
    refresh), else the first rep."""
    keys = {rep.lower(): rep for rep in reps}
    shown = keys.get(str(picked).lower()) if isinstance(picked, str) else None
    shown = shown or (reps[0] if reps else None)
    rows = write_kpi_tab(ws, shown or "", REP_KPIS, letters, currency, team=False)
    text_cell(ws, 1, 1, lang.text("repview.title"), TITLE)
    text_cell(ws, TAB_WHO_ROW, 1, lang.text("repview.pick"), BOLD)
    picker = ws[PICKER.replace("$", "")]
    put_text(picker, shown)
    style(picker, BOLD, fill=INPUT_FILL)
    text_cell(ws, TAB_WHO_ROW, 3, lang.text("repview.how"), GREY)
    settings = sheet_ref(SETTINGS)
    first = SETTINGS_REPS_HEADER_ROW + 1
    last = SETTINGS_REPS_HEADER_ROW + max(rep_rows_count(len(reps)), 50)
    validation = DataValidation(type="list", formula1=f"{settings}!$A${first}:$A${last}",
                                allow_blank=True, showDropDown=False)
    validation.error = lang.text("repview.not_a_rep")
    validation.showErrorMessage = True
    ws.add_data_validation(validation)
    validation.add(PICKER.replace("$", ""))
    # The name the tab is about: the picked one, else the first rep on Settings. With none at
    # all the criterion is a character no name holds ("=" alone would match blank owners).
    first_rep = f"INDEX({settings}!$A:$A,{first})"
    name = f'IF({PICKER}="",{first_rep},{PICKER})'
    escaped = f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({name},"~","~~"),"*","~*"),"?","~?")'
    formula_cell(ws, TAB_WHO_ROW, TAB_CRITERION_COL,
                 f'=IF({name}="","="&CHAR(1),"="&{escaped})')
    formula_cell(ws, TAB_MATCH_ROW, TAB_CRITERION_COL, f'=IF({name}="",CHAR(1),{escaped})')
    ws.cell(TAB_WHO_ROW, 2).alignment = Alignment(horizontal="left")
    assert absolute(TAB_CRITERION_COL, TAB_WHO_ROW) == "$P$2"
    return rows

"""The tracker workbook: built from a Tracker, and its generated parts rebuilt in place.

This module only writes (``reader.py`` reads). Every number on the generated tabs is a live
formula made of functions that Excel, LibreOffice Calc and Google Sheets all have (COUNTIFS,
SUMIFS, IFERROR, DATE, EOMONTH, INDEX, MATCH, RANK…), so the tracker computes with no add-in.

What a person types (Settings values and reps, every Targets cell, data rows, their own columns
and sheets) is never rewritten. What the tool generates is listed on the very hidden sheet
``_xlkpi`` together with a marker and a format version, so that ``regenerate`` knows what it
may throw away and the reader can tell a tracker from any other workbook.

Text from a person (rep names, stages, notes) is always written as a string cell, never as a
formula or an error value, whatever it starts with.

The sheets are written by one module each: start, settings (Settings and Targets), data, tabs
(Team and reps), leaderboard and meta (``_xlkpi``); their formula text is in formulas, their
looks in styles, every sheet name and cell address in model. This module puts them together.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from openpyxl import Workbook

from xlkpi.core import lang
from xlkpi.core.errors import TrackerFileError
from xlkpi.core.kpis import KPIS
from xlkpi.tracker.cells import select_only
from xlkpi.tracker.channels import channel_names, write_channels
from xlkpi.tracker.dashboard import write_dashboard
from xlkpi.tracker.data import (
    RowMoves,
    data_column_letters,
    refresh_data_sheets,
    streams_rows,
    write_data_sheets,
)
from xlkpi.tracker.leaderboard import write_leaderboard
from xlkpi.tracker.meta import (
    generated_sheets,
    generation_inputs,
    mark_generated,
    note_made_from,
    write_meta,
)
from xlkpi.tracker.model import (
    CHANNELS,
    DASHBOARD,
    FIXED_SHEETS,
    KIND_CHANNELS,
    KIND_DASHBOARD,
    KIND_LEADERBOARD,
    KIND_REP,
    KIND_REP_VIEW,
    KIND_START,
    KIND_TEAM,
    LEADERBOARD,
    MARKER,
    META,
    REP_KPIS,
    REP_VIEW,
    SETTINGS,
    STAGES,
    START,
    TARGETS,
    TEAM,
    TEAM_NAME,
    Settings,
    Tracker,
    check_fiscal_year,
    check_reps,
    title,
)
from xlkpi.tracker.repview import write_rep_view
from xlkpi.tracker.settings import (
    complete_targets,
    plan_targets,
    settings_calculated,
    settings_language,
    settings_validation,
    write_settings,
    write_targets,
)
from xlkpi.tracker.stages import ensure_stages, write_stages
from xlkpi.tracker.start import write_start
from xlkpi.tracker.tabs import TabRows, write_kpi_tab
from xlkpi.xlsx.splice import RowsOutside, SplitBook, workbook_and_rows

_FORBIDDEN_IN_TITLE = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def new_workbook(tracker: Tracker, *, streamed: bool | None = None) -> Workbook | SplitBook:
    """A complete tracker: Start, Settings, Targets, Team, one tab per rep, Leaderboard, Channels
    and the five data sheets holding ``tracker.data``.

    ``streamed`` (default: see data.streams_rows): the data sheets hold only their header row in
    memory and their rows are written into the file as it is saved: a SplitBook, not a
    Workbook, in a fraction of the time and memory."""
    with lang.using(tracker.settings.language):
        return _new_workbook(tracker, streamed)


def _new_workbook(tracker: Tracker, streamed: bool | None) -> Workbook | SplitBook:
    check_fiscal_year(tracker.settings.year, tracker.settings.fiscal_start)
    check_reps(tracker.settings.reps)
    wb = Workbook()
    outside: dict[str, RowsOutside] | None = {} if streams_rows(tracker, streamed) else None
    wb.remove(wb.active)
    write_settings(wb.create_sheet(title(SETTINGS)), tracker.settings)
    write_targets(wb.create_sheet(title(TARGETS)), tracker)
    write_data_sheets(wb, tracker, outside)
    write_stages(wb.create_sheet(title(STAGES)), tracker.stages)
    wb.properties.creator = MARKER
    wb.properties.title = lang.text("data.workbook_title")
    _generate(wb, tracker)
    wb.active = wb.sheetnames.index(title(START))
    select_only(wb)
    return SplitBook(wb, outside) if outside is not None else wb


def regenerate(book: Workbook | SplitBook, tracker: Tracker, carry: str | None = None) -> RowMoves:
    """Rebuild every generated part of a loaded tracker in place; keep whatever a person typed.

    ``tracker`` is what ``reader.read_tracker`` read from ``wb``. Start, Team, the rep tabs,
    Leaderboard, Channels (the channels now in the data) and ``_xlkpi`` are written again
    (rep tabs for the reps now in Settings);
    Settings' calculated cells, Targets' month headers and missing Targets rows, and each data
    sheet's StageClass column and table range are brought up to date, and each data sheet's
    rows are grouped by owner again (see grouped_order) where nothing points at them (see
    pinned.py). Nothing else changes: typed cells (a data row moves as a whole), Targets rows
    of reps no longer in Settings, extra columns, a person's own sheets. Returns what moved.

    ``carry``: the generation_inputs the file's generated tabs were made from (the file's seal,
    xlsx.seal), when every part is as xlkpi wrote it. If the tabs would be made from the same
    inputs again, they are left as they are (meta.made_from says so): written again, they would
    be the same.
    """
    with lang.using(tracker.settings.language):
        return _regenerate(book, tracker, carry)


def _regenerate(book: Workbook | SplitBook, tracker: Tracker, carry: str | None) -> RowMoves:
    wb, outside_rows = workbook_and_rows(book)
    active = getattr(wb.active, "title", title(START))
    generated = generated_sheets(wb)
    check_fiscal_year(tracker.settings.year, tracker.settings.fiscal_start)
    check_reps(tracker.settings.reps, other_sheets=len(
        [own for own in wb.sheetnames if own not in generated
         and own not in fixed_titles()]))
    for needed in (title(START), title(TEAM), title(LEADERBOARD), title(CHANNELS),
                   title(DASHBOARD), title(REP_VIEW)):
        if needed in wb.sheetnames and needed not in generated:
            raise TrackerFileError(lang.text("messages.errors.tracker.name_taken",
                                             sheet=needed))
    view = title(REP_VIEW)
    picked = wb[view]["B2"].value if generated.get(view) == KIND_REP_VIEW else None
    kept = [(at, ws) for at, ws in enumerate(wb._sheets)  # noqa: SLF001 - put back below
            if ws.title in generated or ws.title == META]
    for _, ws in kept:
        wb.remove(ws)
    settings_sheet = wb[title(SETTINGS)]
    settings_calculated(settings_sheet)
    settings_validation(settings_sheet)
    settings_language(settings_sheet, tracker.settings.language)
    targets_rows = wb[title(TARGETS)].max_row
    complete_targets(wb[title(TARGETS)], tracker)
    ensure_stages(wb)
    moves = refresh_data_sheets(wb, tracker.settings.reps, outside_rows)
    names = inputs = None  # worked out once, for the comparison and _generate's record
    if carry is not None:
        names = channel_names(tracker)
        inputs = generation_inputs(wb, tracker, channels=names)
    if carry is not None and carry == inputs:
        for at, ws in kept:  # the file's own tabs, as they were
            wb._sheets.insert(at, ws)  # noqa: SLF001
        held = frozenset()
        if wb[title(TARGETS)].max_row != targets_rows:
            plan_targets(wb[title(TARGETS)], tracker, data_column_letters(wb))
        else:  # planned as the file holds them: Targets as it was
            held = frozenset({title(TARGETS)})
        note_made_from(wb, carry, carried=True, held=held)
        wb.calculation.fullCalcOnLoad = True
    else:
        _generate(wb, tracker, picked, names, inputs)
    wb.active = wb.sheetnames.index(active if active in wb.sheetnames else title(START))
    select_only(wb)
    return moves


def fixed_titles() -> list[str]:
    """The fixed sheets' titles in the language in force."""
    return [META if sheet_id == META else title(sheet_id) for sheet_id in FIXED_SHEETS]


def template_workbook(language: str = "en", currency: str = "USD") -> Workbook:
    """The empty tracker shipped in workbook_template/: no data, no reps, year 2026, January.

    No reps on purpose: a placeholder rep would be a fake person whose tab shows zeros and whose
    Targets rows stay behind for ever (refresh never deletes typed rows). The Team tab works
    with no reps at all; listing reps in Settings and running ``xlkpi refresh`` adds their tabs.
    Nothing depends on today: the year is a constant and the year-to-date cell is blank (the
    workbook's own TODAY() fills it when it calculates).
    """
    wb = new_workbook(Tracker(Settings(year=2026, fiscal_start=1, currency=currency, reps=[],
                                       language=language),
                              targets=[], data={}))
    wb.properties.created = dt.datetime(2026, 1, 1)  # openpyxl stamps "modified" on save
    return wb


def rep_sheet_names(reps: Iterable[str], reserved: Iterable[str] = ()) -> dict[str, str]:
    """A sheet title per rep: at most 31 characters, none of []:*?/\\, no leading or trailing
    apostrophe, unique without regard to case, and clashing neither with the fixed sheets nor
    with ``reserved`` (titles already taken, e.g. a person's own sheets)."""
    taken = {taken.lower() for taken in (*FIXED_SHEETS, *fixed_titles(), *reserved, "History")}
    titles: dict[str, str] = {}
    for rep in reps:
        if rep in titles:
            continue
        base = _FORBIDDEN_IN_TITLE.sub("_", str(rep)).strip().strip("'").strip() or "Rep"
        base = base[:31].rstrip()
        chosen, number = base, 2
        while chosen.lower() in taken:
            suffix = f" ({number})"
            chosen = base[:31 - len(suffix)].rstrip() + suffix
            number += 1
        taken.add(chosen.lower())
        titles[rep] = chosen
    return titles


def _generate(wb: Workbook, tracker: Tracker, picked: object = None,
              names: list[str | None] | None = None, inputs: str | None = None) -> None:
    """``picked``: the rep the rep view showed, kept by refresh while still on Settings;
    ``names``, ``inputs``: the channel names and generation inputs if already worked out."""
    settings = tracker.settings
    if names is None:
        names = channel_names(tracker)  # read once: a large tracker's two columns
    note_made_from(wb, inputs or generation_inputs(wb, tracker, channels=names))
    letters = data_column_letters(wb)
    plan_targets(wb[title(TARGETS)], tracker, letters)
    titles = rep_sheet_names(settings.reps, reserved=wb.sheetnames)
    start = wb.create_sheet(title(START), 0)
    write_start(start, settings, titles)
    position = wb.sheetnames.index(title(TARGETS)) + 1
    team = wb.create_sheet(title(TEAM), position)
    team_rows = write_kpi_tab(team, TEAM_NAME, KPIS, letters, settings.currency, team=True)
    team.sheet_properties.tabColor = "1F3864"
    places: dict[str, dict[str, TabRows]] = {}
    for offset, rep in enumerate(settings.reps, 1):
        ws = wb.create_sheet(titles[rep], position + offset)
        places[rep] = write_kpi_tab(ws, rep, REP_KPIS, letters, settings.currency, team=False)
        ws.sheet_properties.tabColor = "8EA9DB"
    rep_view = wb.create_sheet(title(REP_VIEW), position + len(settings.reps) + 1)
    write_rep_view(rep_view, settings.reps, letters, settings.currency, picked)
    rep_view.sheet_properties.tabColor = "8EA9DB"
    board = wb.create_sheet(title(LEADERBOARD), position + len(settings.reps) + 2)
    write_leaderboard(board, settings.reps, titles, places, settings.currency, letters,
                      team_rows, team.title)
    board.sheet_properties.tabColor = "C9A227"
    dashboard = wb.create_sheet(title(DASHBOARD), 1)
    write_dashboard(dashboard, len(settings.reps), team_rows, settings.currency, letters,
                    {TEAM: team.title, LEADERBOARD: board.title})
    dashboard.sheet_properties.tabColor = "1F3864"
    channels = wb.create_sheet(title(CHANNELS), wb.sheetnames.index(board.title) + 1)
    write_channels(channels, tracker, letters, settings.currency, names)
    for name in (SETTINGS, TARGETS):
        wb[title(name)].sheet_properties.tabColor = "FFC000"
    meta = wb.create_sheet(META)
    write_meta(meta, [(title(START), KIND_START, None), (dashboard.title, KIND_DASHBOARD, None),
                       (title(TEAM), KIND_TEAM, None),
                       *((titles[rep], KIND_REP, rep) for rep in settings.reps),
                       (rep_view.title, KIND_REP_VIEW, None),
                       (title(LEADERBOARD), KIND_LEADERBOARD, None),
                       (title(CHANNELS), KIND_CHANNELS, None)], settings.language)
    meta.sheet_state = "veryHidden"
    mark_generated(wb, [title(START), dashboard.title, title(TEAM),
                        *(titles[rep] for rep in settings.reps), rep_view.title,
                        title(LEADERBOARD), title(CHANNELS)])
    wb.calculation.fullCalcOnLoad = True

"""``xlkpi import``'s writing half: records read from an export (xlkpi.imports) merged into a
tracker's data sheets, the Stages sheet and nothing else.

A record is known by its source and record ID, kept in a hidden column of the data sheet
(ID_HEADER): a record seen before is updated in place (only the cells that differ), a new one
appended below the last row. Rows without an ID (typed or pasted by a person) are never read
for merging nor written. Owners go through the reps' aliases (Settings) to the rep's own name;
every new stage name is added to the Stages sheet as Open. Importing the same records twice
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi.core import lang
from xlkpi.core.errors import TrackerFileError
from xlkpi.core.stages import (
    OPEN,
    Owners,
    StageMap,
    stage_key,
    unknown_owners,
    unknown_owners_message,
)
from xlkpi.tracker.cells import put_text, text_cell
from xlkpi.tracker.data import column_keys
from xlkpi.tracker.model import (
    DATA_COLUMNS,
    SETTINGS,
    STAGES,
    Tracker,
    cells_at,
    column_title,
    title,
)
from xlkpi.tracker.stages import add_stage_names, ensure_stages, read_stages_of
from xlkpi.tracker.styles import GREY

# The keys of xlkpi.imports' records that identify one (imports.SOURCE, imports.RECORD_ID;
# tracker sits below the command and does not import imports).
SOURCE, RECORD_ID = "source", "record_id"
ID_HEADER = "xlkpi ID"  # hidden column: "source:record ID" of each imported row
MAX_ROW = 1_048_576  # the last row of a sheet
SAMPLE_ROWS = 5


@dataclass
class MergeSummary:
    sheet: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    stages_added: list[str] = field(default_factory=list)
    open_stages: list[tuple[str, int]] = field(default_factory=list)  # name, deals
    unknown_owners: list[tuple[str, int]] = field(default_factory=list)
    aliased: int = 0  # owners written as the rep's own name
    sample: list[list[object]] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # sheet id, "stages.open" → the tracker's

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.stages_added)


def _same(old: object, new: object) -> bool:
    if isinstance(new, dt.date) and not isinstance(new, dt.datetime):
        new = dt.datetime.combine(new, dt.time())
    if isinstance(old, dt.date) and not isinstance(old, dt.datetime):
        old = dt.datetime.combine(old, dt.time())
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(
            old, bool) and not isinstance(new, bool):
        return float(old) == float(new)
    if old == "" and new is None:
        return True
    return old == new


def _header(ws: Worksheet) -> list[str]:
    values = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
    return ["" if value is None else str(value).strip() for value in values]


def _last_row(ws: Worksheet, columns: list[int]) -> int:
    """The last row holding a value in one of ``columns`` (1: none)."""
    last = 1
    wanted = set(columns)
    for (row, col), cell in ws._cells.items():  # noqa: SLF001 - openpyxl's cell store
        if row > last and col in wanted and cell.value not in (None, ""):
            last = row
    return last


def _new_cell(ws: Worksheet, row: int, col: int) -> Cell:
    """ws.cell(row, col) for a cell the sheet does not hold yet, without its look-up."""
    cells = ws._cells  # noqa: SLF001 - openpyxl's cell store, as ws.cell fills it
    if (row, col) in cells:
        return cells[(row, col)]
    cell = cells[(row, col)] = Cell(ws, row=row, column=col)
    if row > ws._current_row:  # noqa: SLF001 - as Worksheet._add_cell
        ws._current_row = row  # noqa: SLF001
    return cell


def owner_resolver(tracker: Tracker) -> Owners:
    return Owners(tracker.settings.reps, tracker.settings.aliases)


def merge_records(wb: Workbook, tracker: Tracker, sheet: str, records: list[dict],
                  write: bool = True) -> MergeSummary:
    """Merge ``records`` (imports.ImportResult.records) into the data sheet ``sheet`` of
    ``wb`` (``tracker``: what reader.read_tracker read from it, for the reps, aliases and
    stages). ``write=False``: count only (a dry run)."""
    ws = wb[title(sheet)]  # in the tracker's language, which the caller puts in force
    summary = MergeSummary(sheet, titles={
        **{name: title(name) for name in (sheet, STAGES, SETTINGS)},
        **{f"stages.{word}": lang.text(f"stages.{word}") for word in ("won", "lost", "open")}})
    header = _header(ws)
    folded = [name.casefold() for name in header]
    keys = column_keys(header)  # known columns by id, in the tracker's language or English
    positions = {}
    for name in DATA_COLUMNS[sheet]:
        if name.lower() not in keys:
            raise TrackerFileError(lang.text("messages.errors.tracker.import_no_column",
                                             sheet=title(sheet), column=column_title(name)))
        positions[name] = keys.index(name.lower()) + 1
    if ID_HEADER.casefold() in folded:
        id_col = folded.index(ID_HEADER.casefold()) + 1
    else:
        id_col = len(header) + 1
        if write:
            text_cell(ws, 1, id_col, ID_HEADER, GREY)
            ws.column_dimensions[get_column_letter(id_col)].hidden = True
    known: dict[str, int] = {}
    for row, (value,) in enumerate(ws.iter_rows(min_row=2, min_col=id_col, max_col=id_col,
                                                values_only=True), 2):
        if value not in (None, ""):
            known.setdefault(str(value), row)
    last = _last_row(ws, [*positions.values(), id_col])
    owners = owner_resolver(tracker)
    new_rows = sum(1 for record in records
                   if f"{record[SOURCE]}:{record[RECORD_ID]}" not in known)
    if last + new_rows > MAX_ROW:
        raise TrackerFileError(lang.text(
            "messages.errors.tracker.import_too_many_rows", sheet=title(sheet),
            rows=lang.count(last - 1), new=lang.count(new_rows), limit=lang.count(MAX_ROW)))
    seen_owners: list[object] = []
    for record in records:
        values = {name: record.get(name) for name in DATA_COLUMNS[sheet]}
        if "Owner" in values and values["Owner"] is not None:
            rep = owners.rep_of(values["Owner"])
            if rep is not None and rep != values["Owner"]:
                summary.aliased += 1
                values["Owner"] = rep
            seen_owners.append(values["Owner"])
        key = f"{record[SOURCE]}:{record[RECORD_ID]}"
        row = known.get(key)
        if row is None:
            last += 1
            row = known[key] = last
            summary.added += 1
            if len(summary.sample) < SAMPLE_ROWS:
                summary.sample.append(["added", *values.values()])
            if write:  # a row below the last: its cells are new (as ws.cell makes them)
                put_text(_new_cell(ws, row, id_col), key)
                for name, value in values.items():
                    if value is not None:
                        put_text(_new_cell(ws, row, positions[name]), value)
            continue
        changed = [name for name, value in values.items()
                   if not _same(ws.cell(row, positions[name]).value, value)]
        if not changed:
            summary.unchanged += 1
            continue
        summary.updated += 1
        if len(summary.sample) < SAMPLE_ROWS:
            summary.sample.append([f"updated row {row}", *values.values()])
        if write:
            for name in changed:
                put_text(ws.cell(row, positions[name]), values[name])
    if "Owner" in positions:
        summary.unknown_owners = unknown_owners([seen_owners], tracker.settings.reps)
    if "Stage" in positions:
        _merge_stages(wb, records, summary, write)
    return summary


def _merge_stages(wb: Workbook, records: list[dict], summary: MergeSummary, write: bool
                  ) -> None:
    deals = Counter(record["Stage"] for record in records
                    if isinstance(record.get("Stage"), str) and record["Stage"].strip())
    if write:
        ensure_stages(wb)
        summary.stages_added = add_stage_names(wb[title(STAGES)], list(deals))
        rows = read_stages_of(wb[title(STAGES)])
    else:
        rows = read_stages_of(wb[title(STAGES)]) if title(STAGES) in wb.sheetnames else None
        mapping = StageMap() if rows is None else StageMap(rows)
        summary.stages_added = [name for name in dict.fromkeys(deals)
                                if not mapping.knows(name)]
        rows = (rows or []) + [(name, OPEN) for name in summary.stages_added]
    mapping = StageMap(rows)
    by_key: Counter = Counter()
    shown: dict[str, str] = {}
    for name, count in deals.items():
        if mapping.number(name) == 0:
            key = stage_key(name)
            by_key[key] += count
            shown.setdefault(key, name)
    summary.open_stages = sorted(((shown[key], count) for key, count in by_key.items()),
                                 key=lambda item: (-item[1], item[0]))


def editable(book, name: str) -> Workbook:
    """The openpyxl workbook to merge into; a tracker whose data rows are held outside
    openpyxl (a large one, xlsx.splice) is refused for now, with what to do."""
    if isinstance(book, Workbook):
        return book
    raise TrackerFileError(lang.text("messages.errors.tracker.import_too_large", name=name))


def _count(number: int) -> str:
    """A count as the language writes it: 1,234 in English, 1 234 in Russian."""
    return f"{number:,}".replace(",", lang.text("report.numbers.thousands"))


def _counted(key: str, number: int) -> str:
    """"2 deals", "2 сделки": the form of the word ``messages.words.<key>`` for ``number``."""
    return lang.plural(number, f"messages.words.{key}").format(count=_count(number))


def in_words(text: str) -> str:
    """An English decision of xlkpi.imports ("csv, UTF-8 with BOM, semicolon-separated",
    "decimal comma") in the language in force; text it has no phrase for stays as it is."""
    return lang.messages().reword(text, "messages.phrases.")


_DECISION = re.compile(r"^(\w+) \((.*)\): (.*)$")


def _decision_line(decision: str) -> str:
    match = _DECISION.match(decision)
    if match is None or not lang.active().has(f"columns.{match[1]}"):
        return in_words(decision)
    return lang.text("messages.import.decision", column=column_title(match[1]),
                     header=match[2], decision=in_words(match[3]))


def import_lines(result) -> list[str]:
    """What the reading half decided: the source, the file, each column's format, skips; in
    the language in force (the decisions are kept in English words and rendered here)."""
    source = f"messages.sources.{result.profile}"
    lines = [lang.text("messages.import.read", file=result.path.name, profile=result.profile,
                       title=lang.text(source) if lang.active().has(source) else result.title,
                       sheet=title(result.sheet), how=in_words(result.file),
                       rows=_count(result.rows_read))]
    if result.mapping is not None:
        lines.append("  " + lang.text("messages.import.mapping_saved" if result.mapping_saved
                                      else "messages.import.mapping_given",
                                      mapping=result.mapping.text()))
    lines += [f"  {_decision_line(decision)}" for decision in result.decisions]
    if result.aggregation:
        lines.append(f"  {in_words(result.aggregation)}")
    for skipped in result.skipped[:10]:
        lines.append("  " + lang.text("messages.import.skipped", row=skipped.row,
                                      reason=in_words(skipped.reason)))
    if len(result.skipped) > 10:
        lines.append("  " + lang.text("messages.import.skipped_more",
                                      count=_count(len(result.skipped) - 10)))
    if result.formula_like:
        lines.append("  " + lang.text("messages.import.formula_like",
                                      count=_count(len(result.formula_like))))
    return lines


def summary_lines(summary: MergeSummary, dry_run: bool = False) -> list[str]:
    """What the merge did (or would do), in the language in force; sheets named by their
    titles in the tracker (MergeSummary.titles)."""
    def sheet_title(sheet_id: str) -> str:
        return summary.titles.get(sheet_id) or title(sheet_id)

    def stage_word(word: str) -> str:
        return summary.titles.get(f"stages.{word}") or lang.text(f"stages.{word}")

    lines = [lang.text("messages.import.merged_dry" if dry_run else "messages.import.merged",
                       sheet=sheet_title(summary.sheet), added=_count(summary.added),
                       updated=_count(summary.updated), unchanged=_count(summary.unchanged))]
    if summary.aliased:
        lines.append("  " + lang.text("messages.import.aliased", settings=sheet_title(SETTINGS),
                                      owners=_counted("owners_aliased", summary.aliased)))
    if dry_run and summary.sample:
        lines.append("  " + lang.text("messages.import.sample", columns=" | ".join(
            column_title(name) for name in DATA_COLUMNS[summary.sheet])))
        for row in summary.sample:
            said = (lang.text("messages.import.sample_added") if row[0] == "added" else
                    lang.text("messages.import.sample_updated", row=row[0].rsplit(" ", 1)[-1]))
            lines.append("    " + " | ".join([said, *("" if value is None else str(value)
                                                    for value in row[1:])]))
    if summary.stages_added:
        listed = ", ".join(map(repr, summary.stages_added[:8])) + (
            " …" if len(summary.stages_added) > 8 else "")
        lines.append(lang.text("messages.import.stages_added_dry" if dry_run
                               else "messages.import.stages_added",
                               sheet=sheet_title(STAGES), open=stage_word("open"),
                               names=_counted("new_stage_names", len(summary.stages_added)),
                               listed=listed))
    if summary.open_stages:
        listed = ", ".join(lang.text("messages.import.open_stage", name=repr(name),
                                     deals=_counted("deals", count))
                           for name, count in summary.open_stages[:5])
        more = " …" if len(summary.open_stages) > 5 else ""
        lines.append(lang.text("messages.import.open_stages", listed=listed + more,
                               names=_counted("stage_names_open", len(summary.open_stages)),
                               won=stage_word("won"), lost=stage_word("lost"),
                               open=stage_word("open"), sheet=sheet_title(STAGES)))
    message = unknown_owners_message(summary.unknown_owners)
    if message:
        lines.append(message)
    return lines


def unknown_owner_note(tracker: Tracker) -> str | None:
    """The one place ``report``, ``refresh`` and ``import`` ask which owners in the data sheets
    match no rep: core.stages.unknown_owners_message over every Owner column."""
    columns = []
    for name, sheet in tracker.data.items():
        if sheet is None or "Owner" not in DATA_COLUMNS[name]:
            continue
        index = list(sheet.header).index("Owner")
        columns.append(cells_at(sheet.rows, index))
    return unknown_owners_message(unknown_owners(columns, tracker.settings.reps))

"""A tracker file: opened safely, read, refreshed and saved in one step (:class:`TrackerFile`),
the one thing the ``xlkpi`` command holds.

    tracker = TrackerFile.open("tracker.xlsx")
    summary = tracker.refresh()      # what it changed: tabs added and removed, Targets rows
    tracker.save()                   # atomic, the previous file kept as tracker.bak.xlsx

A large tracker's data rows stay sheet XML, outside openpyxl (xlsx.splice), and are put back as
the file is saved. A dry run is a refresh that is not saved: its summary is the refresh's own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

from xlkpi.core.errors import TrackerFileError
from xlkpi.tracker import build, reader
from xlkpi.tracker.model import (
    DATA_SHEETS,
    MARKER,
    META,
    META_HEADER_ROW,
    SETTINGS,
    STAGE_CLASS_COLUMN,
    TARGETS,
    TARGETS_FIRST_ROW,
    Tracker,
)
from xlkpi.tracker.settings import resolve_formula_reps
from xlkpi.xlsx import splice
from xlkpi.xlsx.guards import open_workbook
from xlkpi.xlsx.save import backup_path, check_not_open, save_atomic


def open_tracker(path: str | os.PathLike, *, writing: bool = False, values: bool = False
                 ) -> Workbook | splice.SplitBook:
    """The tracker workbook at ``path``, checked (xlsx.guards.open_workbook: one-line
    TrackerFileErrors); with ``values``, openpyxl's read-only workbook of the values the
    formulas last showed. Otherwise a large tracker's data rows stay outside openpyxl: a
    splice.SplitBook (build.regenerate and reader.read_tracker take either)."""
    return open_workbook(path, writing=writing, values=values, split=split_large)


def split_large(path: Path, load) -> splice.SplitBook | None:
    """The tracker at ``path`` with its data rows held outside openpyxl when they are large
    (splice.load_split), its generated tabs loaded without their cells; None: load it whole."""
    return splice.load_split(path, DATA_SHEETS, load, generated=_generated_titles,
                             rewritten_column=STAGE_CLASS_COLUMN)


def _generated_titles(cells_of: splice.SheetCells) -> set[str]:
    """The tabs the hidden _xlkpi sheet lists as generated, read as build.generated_sheets reads
    them (none when it is missing or not xlkpi's); never Settings, Targets or _xlkpi itself."""
    cells = cells_of(META)
    if cells is None:
        return set()
    first = cells.get(1, {})
    if (first.get(1), first.get(2)) != ("generator", MARKER):
        return set()
    titles = {row.get(1) for number, row in cells.items() if number > META_HEADER_ROW}
    return {title for title in titles if isinstance(title, str)} - {SETTINGS, TARGETS, META}


def check_new_path(path: Path, force: bool) -> None:
    """A TrackerFileError when a new tracker cannot be saved at ``path`` (not an .xlsx, there
    already without ``force``, no such folder, open in Excel)."""
    if path.suffix.lower() != ".xlsx":
        raise TrackerFileError(f"{path.name}: a tracker is an .xlsx file; give a name such as "
                               f"{path.stem or 'tracker'}.xlsx")
    if path.exists() and not force:
        raise TrackerFileError(f"{path.name} already exists; use --force to replace it (the old "
                               f"file is kept as {backup_path(path).name}), or run "
                               f"`xlkpi refresh {path.name}` to update it")
    if not path.parent.is_dir():
        raise TrackerFileError(f"{path}: the folder {path.parent} does not exist; create it "
                               "first")
    if path.exists():
        check_not_open(path)


@dataclass
class RefreshSummary:
    """What a refresh changed: tabs added and removed (in workbook order) and the Targets rows
    it appended, as (who, KPI name) in the order they were written."""

    tabs_added: list[str] = field(default_factory=list)
    tabs_removed: list[str] = field(default_factory=list)
    targets_added: list[tuple[str, str]] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)  # data.RowMoves.lines(): rows moved or not

    def lines(self) -> list[str]:
        """The summary as the lines ``xlkpi refresh`` prints."""
        by_who: dict[str, int] = {}
        for who, _kpi in self.targets_added:
            by_who[who] = by_who.get(who, 0) + 1
        return [f"tabs added: {', '.join(self.tabs_added) or 'none'}",
                f"tabs removed: {', '.join(self.tabs_removed) or 'none'}",
                f"target rows added: {len(self.targets_added)}" + (
                    " (" + ", ".join(f"{who}: {count}" for who, count in by_who.items()) + ")"
                    if by_who else "")] + self.rows


class TrackerFile:
    """A tracker workbook and the file it is saved to."""

    def __init__(self, path: str | os.PathLike, book: Workbook | splice.SplitBook):
        self.path = Path(path)
        self.book = book  # an openpyxl Workbook, or a SplitBook for a large tracker
        self._tracker: Tracker | None = None

    @classmethod
    def open(cls, path: str | os.PathLike, *, writing: bool = True) -> TrackerFile:
        """The tracker at ``path``, checked and loaded (``writing``: refused when it is open in
        Excel or LibreOffice, as it is about to be replaced)."""
        return cls(path, open_tracker(path, writing=writing))

    @classmethod
    def new(cls, path: str | os.PathLike, tracker: Tracker) -> TrackerFile:
        """A new tracker holding ``tracker``, to be saved at ``path``."""
        return cls(path, build.new_workbook(tracker))

    @property
    def workbook(self) -> Workbook:
        return splice.workbook_and_rows(self.book)[0]

    def read(self) -> Tracker:
        """What a person typed into the tracker (reader.read_tracker), read once."""
        if self._tracker is None:
            self._tracker = reader.read_tracker(self.book, self.path.name)
            resolve_formula_reps(self._tracker, self.workbook, self.path, self.path.name)
        return self._tracker

    def refresh(self) -> RefreshSummary:
        """Rebuild the generated tabs in memory (build.regenerate) and say what changed."""
        tracker = self.read()
        wb = self.workbook
        before = list(wb.sheetnames)
        targets_before = _target_rows(wb)
        moves = build.regenerate(self.book, tracker)
        after = list(wb.sheetnames)
        return RefreshSummary(
            tabs_added=[name for name in after if name not in before],
            tabs_removed=[name for name in before if name not in after],
            targets_added=[key for row, key in _target_rows(wb).items()
                           if targets_before.get(row) != key],
            rows=moves.lines())

    def save(self, backup: bool = True) -> Path | None:
        """Save atomically (xlsx.save.save_atomic); the backup's path, if one was kept."""
        return save_atomic(self.book, self.path, backup=backup)


def _target_rows(wb: Workbook) -> dict[int, tuple[str, str]]:
    """Row → (Who, KPI) of the Targets rows that name both."""
    rows = wb[TARGETS].iter_rows(min_row=TARGETS_FIRST_ROW, max_col=2, values_only=True)
    return {number: (who, kpi) for number, (who, kpi) in enumerate(rows, TARGETS_FIRST_ROW)
            if isinstance(who, str) and isinstance(kpi, str)}

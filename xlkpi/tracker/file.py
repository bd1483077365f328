"""A tracker file: opened safely, read, refreshed and saved in one step (:class:`TrackerFile`),
the one thing the ``xlkpi`` command holds.

    tracker = TrackerFile.open("tracker.xlsx")
    summary = tracker.refresh()      # what it changed: tabs added and removed, Targets rows
    tracker.save()                   # atomic, the previous file kept as tracker.bak.xlsx

A large tracker's data rows stay sheet XML, outside openpyxl (xlsx.splice), and are put back as
the file is saved. A dry run is a refresh that is not saved: its summary is the refresh's own.

Saving a refreshed tracker edits the file's own package (xlsx.package_edit): the generated tabs
and ``_xlkpi`` are replaced, Settings, Targets and the data sheets get only the cells refresh
wrote, and every other part (a person's sheets, pictures, comments, x14 validations, macros,
cached values) is carried byte for byte. What the editor cannot do exactly is saved as openpyxl
saves it, and the summary says so. Every .bak is therefore a whole previous version.

The file's identity (size, mtime, SHA-256) is read when it is opened and checked again just
before it is replaced: a tracker saved by someone else meanwhile is left alone, the refreshed
version saved beside it as ``<name>.refreshed.xlsx`` (TrackerFileError, exit 1).
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

from xlkpi.core import lang
from xlkpi.core.errors import TrackerFileError
from xlkpi.tracker import build, problems, reader
from xlkpi.tracker.meta import generated_sheets, made_from, marked_in_xml, titles_in_file
from xlkpi.tracker.model import (
    DATA_SHEETS,
    KIND_REP_VIEW,
    MARKER,
    META,
    META_HEADER_ROW,
    SETTINGS,
    STAGE_CLASS_COLUMN,
    STAGES,
    TARGETS,
    TARGETS_FIRST_ROW,
    Tracker,
    title,
)
from xlkpi.tracker.settings import resolve_formula_reps
from xlkpi.xlsx import splice
from xlkpi.xlsx.guards import open_workbook
from xlkpi.xlsx.package import Package, deflated
from xlkpi.xlsx.package_edit import Plan, write_edited
from xlkpi.xlsx.save import backup_path, check_not_open, save_atomic, stamp
from xlkpi.xlsx.seal import sealed_inputs
from xlkpi.xlsx.stylemap import Unsupported

TYPED_SHEETS = (SETTINGS, TARGETS, *DATA_SHEETS, STAGES)  # patched cell by cell by a refresh


def open_tracker(path: str | os.PathLike, *, writing: bool = False, values: bool = False,
                 whole: bool = False) -> Workbook | splice.SplitBook:
    """The tracker workbook at ``path``, checked (xlsx.guards.open_workbook: one-line
    TrackerFileErrors); with ``values``, openpyxl's read-only workbook of the values the
    formulas last showed. Otherwise the workbook a refresh rewrites: its generated tabs loaded
    without their cells and charts (regenerate writes them again) and a large tracker's data rows
    outside openpyxl (a splice.SplitBook, which build.regenerate and reader.read_tracker take),
    unless ``whole`` (every data row in openpyxl)."""
    return open_workbook(path, writing=writing, values=values,
                         split=generated_unread if whole else split_large)


def split_large(path: Path, load) -> splice.SplitBook | Workbook | None:
    """The tracker at ``path`` with its data rows held outside openpyxl when they are large
    (splice.load_split), its generated tabs loaded without their cells; a small one (or one the
    split load declines) as generated_unread loads it."""
    data_sheets, generated = _for_refresh(path)
    split = splice.load_split(path, data_sheets, load, generated=generated,
                              rewritten_column=STAGE_CLASS_COLUMN)
    if split is not None:
        return split
    return splice.load_generated_unread(path, data_sheets, load, generated)


def generated_unread(path: Path, load) -> Workbook | None:
    """The tracker at ``path``, every cell in openpyxl but the generated tabs' (refresh writes
    them again; splice.load_generated_unread); None: load it whole."""
    data_sheets, generated = _for_refresh(path)
    return splice.load_generated_unread(path, data_sheets, load, generated)


def _for_refresh(path: Path):
    """(the data sheets' titles in the file's language, the ``generated`` of splice.load_split:
    the tabs _xlkpi lists and xl/workbook.xml marks, but the rep view, loaded whole: refresh
    keeps the rep picked on it)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            book_xml = archive.read("xl/workbook.xml")
    except (OSError, KeyError, zipfile.BadZipFile):
        book_xml = b""

    def generated(cells_of: splice.SheetCells) -> set[str]:
        return marked_in_xml(book_xml, _generated_titles(cells_of))

    return titles_in_file(DATA_SHEETS, book_xml), generated


def _generated_titles(cells_of: splice.SheetCells) -> set[str]:
    """The tabs the hidden _xlkpi sheet lists as generated, read as build.generated_sheets reads
    them (none when it is missing or not xlkpi's); never Settings, Targets or _xlkpi itself,
    nor the rep view (refresh keeps the rep picked on it)."""
    cells = cells_of(META)
    if cells is None:
        return set()
    first = cells.get(1, {})
    if (first.get(1), first.get(2)) != ("generator", MARKER):
        return set()
    titles = {row.get(1) for number, row in cells.items() if number > META_HEADER_ROW}
    titles -= {row.get(1) for number, row in cells.items()
               if number > META_HEADER_ROW and row.get(2) == KIND_REP_VIEW}
    return {title for title in titles if isinstance(title, str)} - {SETTINGS, TARGETS, META}


def check_new_path(path: Path, force: bool) -> None:
    """A TrackerFileError when a new tracker cannot be saved at ``path`` (not an .xlsx, there
    already without ``force``, no such folder, open in Excel)."""
    if path.suffix.lower() != ".xlsx":
        raise TrackerFileError(lang.text("messages.errors.save.new_suffix", name=path.name,
                                         stem=path.stem or "tracker"))
    if path.exists() and not force:
        raise TrackerFileError(lang.text("messages.errors.exists", name=path.name,
                                         backup=backup_path(path).name))
    if not path.parent.is_dir():
        raise TrackerFileError(lang.text("messages.errors.save.new_no_folder", path=path,
                                         folder=path.parent))
    if path.exists():
        check_not_open(path)


@dataclass
class RefreshSummary:
    """What a refresh changed: tabs added and removed (in workbook order) and the Targets rows
    it appended, as (who, KPI name) in the order they were written; ``notes``: what saving it
    adds (a save that could not keep every part byte for byte)."""

    tabs_added: list[str] = field(default_factory=list)
    tabs_removed: list[str] = field(default_factory=list)
    targets_added: list[tuple[str, str]] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)  # data.RowMoves.lines(): rows moved or not
    converted: list[str] = field(default_factory=list)  # problems.convert_text, cell by cell
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary as the lines ``xlkpi refresh`` prints."""
        by_who: dict[str, int] = {}
        for who, _kpi in self.targets_added:
            by_who[who] = by_who.get(who, 0) + 1
        return [f"tabs added: {', '.join(self.tabs_added) or 'none'}",
                f"tabs removed: {', '.join(self.tabs_removed) or 'none'}",
                f"target rows added: {len(self.targets_added)}" + (
                    " (" + ", ".join(f"{who}: {count}" for who, count in by_who.items()) + ")"
                    if by_who else ""), *self.rows,
                *(f"converted {line}" for line in self.converted), *self.notes]


@dataclass(frozen=True)
class Identity:
    """What a file was when it was read: size, modification time and SHA-256 of its bytes."""

    size: int
    mtime_ns: int
    sha256: str

    @classmethod
    def of(cls, path: Path, data: bytes | None = None) -> Identity | None:
        try:
            before = path.stat()
            if data is None:
                data = path.read_bytes()
        except OSError:
            return None
        return cls(before.st_size, before.st_mtime_ns, hashlib.sha256(data).hexdigest())

    def unchanged(self, path: Path) -> bool:
        """Whether ``path`` still is this file (size and mtime first, then its hash)."""
        now = stamp(path)
        if now is None or now[0] != self.size:
            return False
        if now == (self.size, self.mtime_ns):
            return True
        found = Identity.of(path)
        return found is not None and found.sha256 == self.sha256


class _Edited:
    """A refreshed tracker saved as save.save_atomic saves a workbook: the generated package
    (openpyxl) put into the original one (xlsx.package_edit) as it is written, so that a
    failure of either is a failure of the save (named after the tracker)."""

    def __init__(self, file: TrackerFile, plan: Plan):
        self.file = file
        self.plan = plan
        self.vba_archive = getattr(file.book, "vba_archive", None)

    def save(self, handle) -> None:
        generated = io.BytesIO()
        wb = self.file.workbook
        held = {shown: wb[shown]._cells for shown in made_from(wb)[2]  # noqa: SLF001
                if shown in wb.sheetnames and shown not in self.plan.typed}
        try:  # a typed sheet the refresh left as the file holds it: its part kept, not written
            for shown in held:
                wb[shown]._cells = {}  # noqa: SLF001
            splice.save_stored(self.file.book, generated)  # read once, below: not compressed
        finally:
            for shown, cells in held.items():
                wb[shown]._cells = cells  # noqa: SLF001
        try:
            write_edited(self.file.original, generated, self.plan, handle,  # not copied
                         made_from(wb)[0])
        except Unsupported as why:  # raised before anything is written
            if self.file.summary is not None:
                self.file.summary.notes.append(lang.text(
                    "messages.refresh.saved_whole", why=why,
                    backup=backup_path(self.file.path).name))
            if self.file._carried:  # noqa: SLF001 - the workbook has the tabs unread: write them
                self.file._regenerate_carried()  # noqa: SLF001
                generated = io.BytesIO()
                splice.save_stored(self.file.book, generated)
            deflated(generated.getvalue(), handle)


class _Sealed:
    """A new tracker saved as Workbook.save (or, rows held outside openpyxl, SplitBook.save)
    saves it, sealed with what its generated tabs were made from (xlsx.seal)."""

    def __init__(self, book: Workbook | splice.SplitBook):
        self.book = book
        self.wb = splice.workbook_and_rows(book)[0]

    def save(self, handle) -> None:
        if isinstance(self.book, splice.SplitBook):
            splice.save_spliced(self.book, handle, sealed=made_from(self.wb)[0])
        else:
            splice.save_workbook(self.wb, handle, sealed=made_from(self.wb)[0])


class TrackerFile:
    """A tracker workbook and the file it is saved to."""

    def __init__(self, path: str | os.PathLike, book: Workbook | splice.SplitBook,
                 original: bytes | None = None):
        self.path = Path(path)
        self.book = book  # an openpyxl Workbook, or a SplitBook for a large tracker
        self._tracker: Tracker | None = None
        self.original = original  # the file's bytes as opened (None: a new tracker)
        self.identity = Identity.of(self.path, original) if original is not None else None
        self._replaced: set[str] | None = None  # the generated tabs before refresh
        self.sealed: str | None = None  # what the file's generated tabs were made from
        if original is not None:
            import zipfile

            try:
                with zipfile.ZipFile(io.BytesIO(original)) as archive:
                    self.sealed = sealed_inputs(archive)
            except (zipfile.BadZipFile, OSError, ValueError):
                self.sealed = None
        self.summary: RefreshSummary | None = None

    @classmethod
    def open(cls, path: str | os.PathLike, *, writing: bool = True,
             whole: bool = False) -> TrackerFile:
        """The tracker at ``path``, checked and loaded (``writing``: refused when it is open in
        Excel or LibreOffice, as it is about to be replaced; ``whole``: every cell in openpyxl,
        even for a large tracker, e.g. to convert cells or import rows; either way the generated
        tabs are loaded without their cells, which :meth:`refresh` writes again)."""
        first = stamp(path)
        book = open_tracker(path, writing=writing, whole=whole)
        original = book.original if isinstance(book, splice.SplitBook) else None
        if original is None:
            try:
                original = Path(path).read_bytes()
            except OSError:
                original = None
        if first != stamp(path):
            raise TrackerFileError(lang.text("messages.errors.file.changed_reading",
                                             name=Path(path).name))
        return cls(path, book, original)

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

    def refresh(self, convert_text: bool = False, carry: bool = False) -> RefreshSummary:
        """Rebuild the generated tabs in memory (build.regenerate) and say what changed; with
        ``convert_text``, first turn dates and numbers typed as text into real ones
        (problems.convert_text; a large tracker must be opened ``whole`` for it). ``carry``:
        keep the file's generated tabs, part for part, where the file is sealed and they would
        be made from the same inputs again (``xlkpi import``: an import of rows that change
        none of them)."""
        converted = problems.convert_text(self.workbook) if convert_text else []
        tracker = self.read()
        with lang.using(tracker.settings.language):
            return self._refresh(tracker, converted, carry and not convert_text)

    def _refresh(self, tracker: Tracker, converted, carry: bool = False) -> RefreshSummary:
        wb = self.workbook
        before = list(wb.sheetnames)
        targets_before = _target_rows(wb)
        self._replaced = {title for title in generated_sheets(wb) if title in before}
        moves = build.regenerate(self.book, tracker, self.sealed if carry else None)
        if self._carried:
            self._replaced = set()
        after = list(wb.sheetnames)
        self.summary = RefreshSummary(
            tabs_added=[name for name in after if name not in before],
            tabs_removed=[name for name in before if name not in after],
            targets_added=[key for row, key in _target_rows(wb).items()
                           if targets_before.get(row) != key],
            rows=moves.lines(), converted=converted)
        return self.summary

    @property
    def _carried(self) -> bool:
        """Whether the refresh kept the file's generated tabs as they were (build.regenerate
        records it with the workbook)."""
        return made_from(self.workbook)[1]

    def _regenerate_carried(self) -> None:
        """The generated tabs a refresh carried (loaded without their cells) written again,
        for a save that cannot keep the file's own parts (openpyxl's whole workbook)."""
        tracker = self.read()
        with lang.using(tracker.settings.language):
            build.regenerate(self.book, tracker)

    def package(self) -> _Edited | Workbook | splice.SplitBook:
        """What to save: the refreshed original package (xlsx.package_edit), or the workbook
        itself for a new tracker or when the editor cannot keep every part exactly (noted in
        the summary)."""
        if self.original is None or self._replaced is None:
            if made_from(self.workbook)[0] is not None and \
                    getattr(self.book, "vba_archive", None) is None:
                return _Sealed(self.book)  # a new tracker
            return self.book
        if getattr(self.book, "vba_archive", None) is not None and \
                b"macroEnabled" not in Package(self.original).read("[Content_Types].xml"):
            if self._carried:  # saved whole: the tabs, loaded without their cells, written
                self._regenerate_carried()
            return self.book  # macros without their content type: openpyxl's save mends it
        wb = self.workbook
        typed = {shown for shown in self._typed_titles() if shown in wb.sheetnames}
        if self._carried:  # the generated tabs and _xlkpi (and sheets held): the file's own
            plan = Plan(replaced=set(), generated=set(), typed=typed - made_from(wb)[2])
        else:
            plan = Plan(replaced=self._replaced | {META},
                        generated=set(generated_sheets(wb)) | {META}, typed=typed)
        return _Edited(self, plan)

    def _typed_titles(self) -> list[str]:
        """TYPED_SHEETS titled in the tracker's language."""
        with lang.using(self._tracker.settings.language if self._tracker else lang.DEFAULT):
            return [title(sheet_id) for sheet_id in TYPED_SHEETS]

    def save(self, backup: bool = True) -> Path | None:
        """Save atomically (xlsx.save.save_atomic); the backup's path, if one was kept. A file
        changed since it was opened is not replaced (module doc)."""
        unchanged = None
        if self.identity is not None:
            identity = self.identity
            unchanged = lambda: identity.unchanged(self.path)  # noqa: E731
        return save_atomic(self.package(), self.path, backup=backup, unchanged=unchanged)


def _target_rows(wb: Workbook) -> dict[int, tuple[str, str]]:
    """Row → (Who, KPI) of the Targets rows that name both."""
    rows = wb[title(TARGETS)].iter_rows(min_row=TARGETS_FIRST_ROW, max_col=2, values_only=True)
    return {number: (who, kpi) for number, (who, kpi) in enumerate(rows, TARGETS_FIRST_ROW)
            if isinstance(who, str) and isinstance(kpi, str)}

"""The very hidden ``_xlkpi`` sheet: the marker that makes a workbook a tracker, its format
version, and the list of sheets xlkpi generated (which ``refresh`` may throw away).

A generated tab also carries a hidden name local to it (TAB_MARK), which Excel and LibreOffice
delete with the sheet and never give a sheet a person makes. So a sheet a person made with the
name of a generated tab they had deleted ("Leaderboard", "Boris") is not generated, though
``_xlkpi`` still lists its name: once a workbook has any such mark, a listed sheet without it
is a person's (a tracker from before the marks trusts the list alone)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from weakref import WeakKeyDictionary

from openpyxl import Workbook
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi import __version__
from xlkpi.core import lang
from xlkpi.core.errors import TrackerFileError
from xlkpi.tracker.cells import text_cell
from xlkpi.tracker.model import FORMAT_VERSION, MARKER, META, META_HEADER_ROW

TAB_MARK = "_xlkpi_tab"
# workbook → (generation_inputs of its generated tabs, whether they were carried as the file
# held them, typed sheets left as the file holds them); read by tracker.file to seal the saved
# file and to keep those parts
_MADE_FROM: WeakKeyDictionary = WeakKeyDictionary()
_CODE: list[bytes] = []
META_LANGUAGE_ROW = 5  # "language" | code  # the hidden sheet-local name on every generated tab


def mark_generated(wb: Workbook, titles: list[str]) -> None:
    """Put TAB_MARK on each of the sheets ``titles`` (just generated)."""
    for title in titles:
        wb[title].defined_names[TAB_MARK] = DefinedName(TAB_MARK, attr_text='"generated"',
                                                        hidden=True)


def marked(wb: Workbook, titles) -> set[str]:
    """Those of ``titles`` that are generated tabs: the marked ones, or all of them when no
    sheet of the workbook carries a mark (a tracker made before the marks)."""
    have = {ws.title for ws in wb.worksheets if TAB_MARK in getattr(ws, "defined_names", {})}
    return set(titles) & have if have else set(titles)


def sheet_names_in_xml(book_xml: bytes) -> list[str]:
    """The sheet titles xl/workbook.xml lists, in order, as the XML spells them."""
    return [m.group(1).decode("utf-8", "replace") for m in re.finditer(
        rb'<sheet\b[^>]*?\sname\s*=\s*"([^"]*)"', book_xml)]


def titles_in_file(sheet_ids, book_xml: bytes) -> list[str]:
    """The titles of the tracker sheets ``sheet_ids`` in the language whose titles the file's
    sheets have (English when none has them all): for loading before the language is read."""
    from xlkpi.core import lang
    from xlkpi.xlsx.parts import xml_text

    present = {xml_text(name.encode()) for name in sheet_names_in_xml(book_xml)}
    for code in lang.codes():
        shown = [lang.load(code).sheet(sheet_id) for sheet_id in sheet_ids]
        if all(title in present for title in shown):
            return shown
    return list(sheet_ids)


def marked_in_xml(book_xml: bytes, titles) -> set[str]:
    """``marked`` read from xl/workbook.xml (for a file not loaded by openpyxl)."""
    names = sheet_names_in_xml(book_xml)
    have = set()
    for found in re.finditer(rb'<definedName\b[^>]*?\sname\s*=\s*"%s"[^>]*>' %
                             TAB_MARK.encode(), book_xml):
        local = re.search(rb'localSheetId\s*=\s*"(\d+)"', found.group(0))
        if local is not None and int(local.group(1)) < len(names):
            have.add(names[int(local.group(1))])
    from xlkpi.xlsx.parts import xml_text

    have = {xml_text(title.encode()) for title in have}
    return set(titles) & have if have else set(titles)


def generated_sheets(wb: Workbook) -> dict[str, str]:
    """Title → kind ("start", "team", "rep", "leaderboard") of the sheets xlkpi generated, read
    from the hidden ``_xlkpi`` sheet; TrackerFileError when it is missing or not ours."""
    sheets = listed_sheets(list(wb[META].iter_rows(values_only=True))
                           if META in wb.sheetnames else None)
    keep = marked(wb, [title for title in sheets if title in wb.sheetnames])
    return {title: kind for title, kind in sheets.items()
            if title in keep or title not in wb.sheetnames}


def listed_language(rows: list[tuple] | None) -> str | None:
    """The language code the ``_xlkpi`` sheet's ``rows`` record, or None (none recorded: a
    tracker made before languages, or no such sheet)."""
    if not rows or len(rows) < META_LANGUAGE_ROW:
        return None
    row = rows[META_LANGUAGE_ROW - 1]
    if len(row) > 1 and row[0] == "language" and isinstance(row[1], str) and row[1].strip():
        return row[1].strip().lower()
    return None


def listed_sheets(rows: list[tuple] | None, name: str | None = None) -> dict[str, str]:
    """Title → kind of the sheets the ``_xlkpi`` sheet's ``rows`` (None: no such sheet) list
    as generated; TrackerFileError when it is missing or not ours (naming the file ``name``)."""
    if rows is None:
        raise TrackerFileError(lang.text("messages.errors.tracker.no_meta_in", name=name)
                               if name else lang.text("messages.errors.tracker.no_meta"))
    if not rows or rows[0][:2] != ("generator", MARKER):
        raise TrackerFileError(lang.text("messages.errors.tracker.no_marker_in", name=name)
                               if name else lang.text("messages.errors.tracker.no_marker"))
    sheets: dict[str, str] = {}
    for row in rows[META_HEADER_ROW:]:
        if row and isinstance(row[0], str) and row[0] and len(row) > 1:
            sheets[row[0]] = str(row[1])
    return sheets


def write_meta(ws: Worksheet, sheets: list[tuple[str, str, str | None]],
               language: str = "en") -> None:
    """The marker, the versions, the tracker's language (row META_LANGUAGE_ROW, a free row
    above the header) and one row (title, kind, rep) per generated sheet."""
    text_cell(ws, 1, 1, "generator")
    text_cell(ws, 1, 2, MARKER)
    text_cell(ws, 2, 1, "format")
    ws.cell(2, 2, FORMAT_VERSION)
    text_cell(ws, 3, 1, "version")
    text_cell(ws, 3, 2, __version__)
    text_cell(ws, 4, 1, "note")
    text_cell(ws, 4, 2, "Written by xlkpi: the sheets listed below are generated and "
                        "`xlkpi refresh` rebuilds them. Do not edit.")
    text_cell(ws, META_LANGUAGE_ROW, 1, "language")
    text_cell(ws, META_LANGUAGE_ROW, 2, language)
    text_cell(ws, META_HEADER_ROW, 1, "Sheet")
    text_cell(ws, META_HEADER_ROW, 2, "Kind")
    text_cell(ws, META_HEADER_ROW, 3, "Rep")
    for row, (title, kind, rep) in enumerate(sheets, META_HEADER_ROW + 1):
        text_cell(ws, row, 1, title)
        text_cell(ws, row, 2, kind)
        if rep is not None:
            text_cell(ws, row, 3, rep)


def generation_inputs(wb: Workbook, tracker, generated=(), channels=None) -> str:
    """A digest of everything the generated tabs are made from: xlkpi's code and words (its
    source and language files), the format version, the Settings (year, months, currency,
    reps, as-of date, language), the data sheets' column letters, the titles and order of the
    sheets that are not generated (``generated``: titles to leave out, with _xlkpi) and the
    channels of the data (``channels``: channel_names(tracker), if known). Equal digests:
    build._generate writes the same tabs."""
    from xlkpi.tracker.channels import channel_names
    from xlkpi.tracker.data import data_column_letters

    if not _CODE:
        package = Path(__file__).resolve().parent.parent
        code = hashlib.sha256()
        for path in sorted([*package.rglob("*.py"), *package.glob("lang/*.json")]):
            code.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
        _CODE.append(code.digest())
    own = [shown for shown in wb.sheetnames if shown not in generated and shown != META]
    made_from = repr((FORMAT_VERSION, __version__, tracker.settings, data_column_letters(wb),
                      own, channel_names(tracker) if channels is None else channels))
    return hashlib.sha256(_CODE[0] + made_from.encode("utf-8", "surrogatepass")).hexdigest()


def note_made_from(wb: Workbook, inputs: str, carried: bool = False,
                   held: frozenset[str] = frozenset()) -> None:
    """Record that ``wb``'s generated tabs were made from ``inputs`` (generation_inputs), and
    whether they are the file's own, carried unchanged (build.regenerate); ``held``: sheets a
    person types into that the refresh left as the file holds them (not to be patched)."""
    _MADE_FROM[wb] = (inputs, carried, held)


def made_from(wb: Workbook) -> tuple[str | None, bool, frozenset[str]]:
    """(what note_made_from recorded for ``wb``, carried, held); (None, False, ()) when
    nothing."""
    return _MADE_FROM.get(wb, (None, False, frozenset()))

"""The parts of an xlsx package and the small things every reader and writer of sheet XML needs,
written once: which part holds which sheet (:func:`sheet_parts`), A1 references and column
letters, text escaped for XML and characters XML cannot hold, and the one-line messages for a
damaged package."""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from pathlib import Path

from xlkpi.core import lang
from xlkpi.core.errors import TrackerFileError
from xlkpi.xlsx.save import backup_path

MAX_SHEETS = 1_000  # a tracker has a dozen plus one per rep; openpyxl takes ~4 ms a sheet
MAX_WORKBOOK_PART = 16 * 1024 * 1024  # xl/workbook.xml and its relationships, read whole
MAX_COL, MAX_ROW = 16_384, 1_048_576
MAX_TEXT = 32_767  # characters in a cell
CELL_REF = re.compile(rb"([A-Za-z]{1,3})(\d+)$")  # a cell's r="B12", as bytes

# The control characters XML 1.0 cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
# Written here, not taken from openpyxl, so that reading a tracker's parts (tracker.prefetch,
# at the start of `xlkpi report`) does not wait for openpyxl to load: A to ZZZ, as openpyxl.
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_COLUMN_LETTERS = [""] + list(_LETTERS) + [a + b for a in _LETTERS for b in _LETTERS] + [
    a + b + c for a in _LETTERS for b in _LETTERS for c in _LETTERS]
_COLUMN_INDEX = {letters: index for index, letters in enumerate(_COLUMN_LETTERS) if index}


def column_letter(index: int) -> str:
    """1 → "A", 28 → "AB" (ValueError outside 1 to 18,278, as openpyxl's get_column_letter)."""
    if not 1 <= index < len(_COLUMN_LETTERS):
        raise ValueError(f"Invalid column index {index}")
    return _COLUMN_LETTERS[index]


# --- A1 references and text ------------------------------------------------------------------

def column_index(letters: str | bytes) -> int:
    """"A" → 1, "ab" → 28 (either case, text or bytes)."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    try:
        return _COLUMN_INDEX[letters.upper()]
    except KeyError:
        raise ValueError(f"{letters.upper()!r} is not a valid column name. Column names are "
                         "from A to ZZZ") from None


def escape_text(text: str) -> str:
    """``text`` for an XML element's content; "\\r" as a character reference, since an XML
    parser reads a literal one as "\\n"."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;") if "\r" in text else text


def xml_text(raw: bytes) -> str:
    """An element's content (UTF-8 bytes, references and all) as the text it stands for."""
    return html.unescape(raw.decode("utf-8"))


def cell_text(value: str) -> str:
    """A text as a cell can hold it (as openpyxl stores it): without the control characters XML
    cannot hold, at most MAX_TEXT characters."""
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return value[:MAX_TEXT]


# --- messages --------------------------------------------------------------------------------

def restore_hint(path: Path) -> str:
    backup = backup_path(path)
    if backup.exists() and backup != path:
        return lang.text("messages.errors.file.restore_backup", backup=backup.name)
    return lang.text("messages.errors.file.restore")


def damaged(path: Path) -> TrackerFileError:
    return TrackerFileError(lang.text("messages.errors.file.damaged", name=path.name,
                                      hint=restore_hint(path)))


def xml_bomb(name: str, part: str) -> TrackerFileError:
    return TrackerFileError(lang.text("messages.errors.file.xml_bomb", name=name, part=part))


# --- sheet parts -----------------------------------------------------------------------------

def local(tag: str) -> str:
    """An element's or attribute's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def parse_whole(archive: zipfile.ZipFile, path: Path, part: str):
    """A small part (xl/workbook.xml, its relationships) parsed with defusedxml."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    size = archive.getinfo(part).file_size
    if size > MAX_WORKBOOK_PART:
        raise TrackerFileError(lang.text("messages.errors.file.part_too_large", name=path.name,
                                         part=part, size=lang.count(size)))
    try:
        return fromstring(archive.read(part))
    except DefusedXmlException:
        raise xml_bomb(path.name, part) from None
    except ParseError as error:
        raise TrackerFileError(lang.text("messages.errors.file.unreadable", name=path.name,
                                         detail=f"{part}: {error}",
                                         hint=restore_hint(path))) from None


def sheet_parts(archive: zipfile.ZipFile, path: Path) -> dict[str, str]:
    """Sheet name → its part, from xl/workbook.xml; a TrackerFileError for more than MAX_SHEETS
    sheets, or two sheets on one part (openpyxl would read it once for each)."""
    name = path.name
    book = parse_whole(archive, path, "xl/workbook.xml")
    sheets = [element for element in book.iter() if local(element.tag) == "sheet"]
    if len(sheets) > MAX_SHEETS:
        raise TrackerFileError(lang.text("messages.errors.file.too_many_sheets", name=name,
                                         count=lang.count(len(sheets)),
                                         limit=lang.count(MAX_SHEETS)))
    rels_part = "xl/_rels/workbook.xml.rels"
    if rels_part not in archive.namelist():
        return {}
    rels = parse_whole(archive, path, rels_part)
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter()
               if local(rel.tag) == "Relationship"}
    parts: dict[str, str] = {}
    owners: dict[str, str] = {}
    for sheet in sheets:
        rel_id = next((value for key, value in sheet.attrib.items() if local(key) == "id"), None)
        target = targets.get(rel_id)
        if not target:
            continue
        part = (target.lstrip("/") if target.startswith("/")
                else posixpath.normpath(posixpath.join("xl", target)))
        title = sheet.get("name", "")
        if part in owners:
            raise TrackerFileError(lang.text(
                "messages.errors.file.shared_part", name=name, first=owners[part], second=title,
                part=part, hint=restore_hint(path)))
        owners[part] = title
        parts[title] = part
    return parts

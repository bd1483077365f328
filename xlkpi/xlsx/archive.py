"""The checks of an xlsx file itself, before any reader parses it (:func:`check_archive`): that
it is an xlsx (or an xlsm, whose macros are kept), is not damaged or truncated, is not a zip
bomb (a part, or all of them together, inflating more than MAX_RATIO fold, or more than
MAX_UNCOMPRESSED bytes of XML), declares no DTD or entities (an XML bomb), and has at most
parts.MAX_SHEETS sheets, each its own part. Before a full load (``expansions``) it also checks
that merged cells and hyperlinks cover at most MAX_EXPANDED_CELLS cells, since openpyxl makes a
cell object for each of them: a 20 kB file merging A1:XFD1048576 would take hours and all
memory. XML is parsed with defusedxml (a dependency of xlkpi), which refuses entity declarations
wherever they are; openpyxl uses it too.

Apart from xlsx.guards (opening with openpyxl) and without openpyxl, so that a thread can check
a file before python-calamine reads it while openpyxl is still loading (tracker.prefetch)."""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from pathlib import Path

from xlkpi.core import lang
from xlkpi.core.errors import TrackerFileError
from xlkpi.xlsx.parts import MAX_COL, MAX_ROW, damaged, local, sheet_parts, xml_bomb

MAX_UNCOMPRESSED = 1 << 30  # 1 GiB of XML is far beyond any tracker: refuse it
MAX_RATIO = 200  # a part (or a whole file) that inflates more than this is a zip bomb
RATIO_CHECKED_FROM = 10 * 1024 * 1024  # ... once it unpacks to more than this
MAX_PARTS = 10_000
MAX_EXPANDED_CELLS = 100_000  # merged and hyperlinked cells openpyxl would make one by one
_PROLOG_BYTES = 64 * 1024  # where a DOCTYPE would have to be
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, or an xlsx encrypted with a password
_ZIP_MAGIC = b"PK\x03\x04"


def _prolog_text(prolog: bytes) -> bytes:
    """The prolog lower-cased, as ASCII-compatible bytes also when the part is UTF-16."""
    if prolog[:2] in (b"\xff\xfe", b"\xfe\xff") or prolog[:2] in (b"<\0", b"\0<"):
        encoding = "utf-16-be" if prolog[:2] in (b"\xfe\xff", b"\0<") else "utf-16-le"
        prolog = prolog.decode(encoding, "ignore").encode("ascii", "ignore")
    return prolog.lower()


def _declares_dtd(prolog: bytes, complete: bool) -> bool:
    """Whether the XML before the part's first element declares a DTD (<!DOCTYPE ...>, where
    entities are declared), or goes on past ``prolog`` (``complete``: it is the whole part),
    which no workbook's does: 64 kB of comments in front of a DTD must not hide it."""
    if b"<!doctype" in prolog or b"<!entity" in prolog:
        return True
    at, end = 0, len(prolog)
    while True:
        while at < end and prolog[at] in b" \t\r\n":
            at += 1
        if prolog.startswith(b"\xef\xbb\xbf", at):
            at += 3
            continue
        if at >= end:
            return not complete
        if prolog.startswith(b"<?", at) or prolog.startswith(b"<!--", at):
            close = prolog.find(b"?>" if prolog[at + 1] == ord("?") else b"-->", at + 2)
            if close < 0:
                return not complete
            at = close + 2 + (prolog[at + 1] != ord("?"))
            continue
        return prolog.startswith(b"<!", at)  # a declaration; otherwise the first element


def _comment_cut_short(handle) -> bool:
    """Whether the zip's end record declares a comment longer than the bytes after it: the file
    was cut short there (zipfile reads such a file, its comment cut; xlkpi's seal is one)."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(size - 22 - 0xFFFF, 0))
    tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return False  # zipfile decides
    return int.from_bytes(tail[at + 20:at + 22], "little") > len(tail) - at - 22


def check_archive(path: str | os.PathLike, expansions: bool = False) -> None:
    """The checks of the file itself, before any reader parses it: a TrackerFileError (one line:
    what is wrong and what to do) when it is not an xlsx, damaged, a zip or XML bomb, or has
    more sheets than a tracker could. ``path`` must be an existing file. With ``expansions``,
    also the merged and hyperlinked cells that a full openpyxl load would make one by one."""
    path = Path(path)
    name = path.name
    try:
        with open(path, "rb") as handle:
            magic = handle.read(8)
            cut_short = _comment_cut_short(handle)
    except PermissionError:
        raise TrackerFileError(lang.text("messages.errors.file.permission", name=name)) from None
    if magic.startswith(_OLE_MAGIC):
        raise TrackerFileError(lang.text("messages.errors.file.xls_or_password", name=name))
    if not magic.startswith(_ZIP_MAGIC):
        raise TrackerFileError(lang.text("messages.errors.file.empty" if not magic
                                         else "messages.errors.file.not_workbook", name=name))
    if cut_short:
        raise damaged(path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise TrackerFileError(lang.text("messages.errors.file.zip_not_workbook",
                                                 name=name))
            if len(infos) > MAX_PARTS:
                raise TrackerFileError(lang.text("messages.errors.file.too_many_parts",
                                                 name=name, count=len(infos)))
            total = sum(info.file_size for info in infos)
            if total > MAX_UNCOMPRESSED:
                raise TrackerFileError(lang.text(
                    "messages.errors.file.unpacks_to", name=name, size=f"{total / (1 << 30):.1f}",
                    limit=MAX_UNCOMPRESSED >> 30))
            packed = sum(info.compress_size for info in infos)
            if total > RATIO_CHECKED_FROM and total / max(packed, 1) > MAX_RATIO:
                raise TrackerFileError(lang.text(
                    "messages.errors.file.inflates", name=name,
                    ratio=f"{total / max(packed, 1):.0f}", size=f"{total / (1 << 20):,.0f}"))
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > RATIO_CHECKED_FROM and ratio > MAX_RATIO:
                    raise TrackerFileError(lang.text(
                        "messages.errors.file.part_inflates", name=name, part=info.filename,
                        ratio=f"{ratio:.0f}"))
                if info.filename.endswith((".xml", ".rels", ".vml")):
                    with archive.open(info) as part:
                        head = part.read(_PROLOG_BYTES)
                    if _declares_dtd(_prolog_text(head), complete=len(head) < _PROLOG_BYTES):
                        raise xml_bomb(name, info.filename)
            sheets = sheet_parts(archive, path)
            if expansions:
                _check_expansions(archive, name, sheets)
    except (zipfile.BadZipFile, zlib.error, EOFError, zipfile.LargeZipFile,
            NotImplementedError):
        raise damaged(path) from None


def _area(ref: str) -> int:
    """Cells in a reference such as "A1:C3", "A:A" or "2:5" (several, space-separated)."""
    cells = 0
    for one in ref.split():
        try:
            min_col, min_row, max_col, max_row = _range_boundaries(one.replace("$", ""))
        except (ValueError, TypeError):
            continue  # not a reference: openpyxl says so when it loads the sheet
        cols = (max_col or MAX_COL) - (min_col or 1) + 1
        rows = (max_row or MAX_ROW) - (min_row or 1) + 1
        cells += max(cols, 0) * max(rows, 0)
    return cells


_EXPANDING = (b"mergeCell", b"hyperlink")
_BYTE_ENCODINGS = re.compile(rb"""^(?:<\?xml[^>]*?encoding\s*=\s*["'](?:utf-?8|us-ascii|ascii|"""
                             rb"""iso-8859-1|latin-?1|windows-1252|cp1252)["'][^>]*\?>|"""
                             rb"""<\?xml(?:(?!encoding)[^>])*\?>|(?!<\?xml))""", re.IGNORECASE)
_CHUNK = 1 << 20


def _may_expand(archive: zipfile.ZipFile, part: str) -> bool:
    """Whether a sheet's XML may hold merged cells or hyperlinks: it names one of them, or it is
    in an encoding where those names are not these bytes (UTF-16...). A quick search of the
    bytes, so that only such sheets are parsed."""
    overlap = max(map(len, _EXPANDING)) - 1
    with archive.open(part) as source:
        head = source.read(_CHUNK)
        text = head.lstrip(b"\xef\xbb\xbf")
        if b"\0" in text[:256] or not _BYTE_ENCODINGS.match(text.lstrip()):
            return True
        tail = b""
        while head:
            chunk = tail + head
            if any(marker in chunk for marker in _EXPANDING):
                return True
            tail = chunk[-overlap:]
            head = source.read(_CHUNK)
    return False


def _check_expansions(archive: zipfile.ZipFile, name: str, sheets: dict[str, str]) -> None:
    """A TrackerFileError when a sheet merges or hyperlinks more than MAX_EXPANDED_CELLS cells
    (openpyxl's full load makes a cell object for each one)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, iterparse

    available = set(archive.namelist())
    for title, part in sheets.items():
        if part not in available or not _may_expand(archive, part):
            continue
        total, largest = 0, ""
        open_elements = []
        try:
            with archive.open(part) as source:
                for event, element in iterparse(source, events=("start", "end")):
                    if event == "start":
                        open_elements.append(element)
                        continue
                    open_elements.pop()
                    if open_elements:  # done with it: the tree never grows
                        open_elements[-1].remove(element)
                    kind = local(element.tag)
                    if kind in ("mergeCell", "hyperlink"):
                        ref = element.get("ref", "")
                        total += _area(ref)
                        largest = max(largest, ref, key=_area)
                        if total > MAX_EXPANDED_CELLS:
                            raise TrackerFileError(lang.text(
                                "messages.errors.file.merged_cells", name=name, sheet=title,
                                largest=largest, limit=lang.count(MAX_EXPANDED_CELLS)))
        except DefusedXmlException:
            raise xml_bomb(name, part) from None
        except ParseError:
            continue  # openpyxl's load gives the message for broken XML


def _range_boundaries(ref: str):
    from openpyxl.utils.cell import range_boundaries  # only before a full load, by then loaded

    return range_boundaries(ref)

"""Formula cells without a stored result, found in the sheet XML (:func:`uncached_formulas`):
a reader (python-calamine, openpyxl's data_only) sees them blank while Excel and LibreOffice
compute them, so ``xlkpi report`` cannot count them and says so (tracker.values.read_checked).

The search starts from each formula element ("<f", found with bytes.find) and matches the cell
tag before it, instead of trying every cell of a sheet of millions of cells."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from openpyxl.utils import get_column_letter

from xlkpi.tracker.data import column_keys
from xlkpi.tracker.model import (
    DATA_COLUMNS,
    OPPORTUNITIES,
    STAGE_CLASS_COLUMN,
    TARGETS,
    TARGETS_FIRST_MONTH_COL,
    TARGETS_FIRST_ROW,
    data_sheet_titles,
    title,
)
from xlkpi.tracker.problems import CellProblem, group
from xlkpi.xlsx.parts import sheet_parts

_REF = re.compile(rb"\br\s*=\s*[\"']\$?([A-Za-z]{1,3})\$?([0-9]+)[\"']")

# A formula cell and what follows its formula: its value, if any. A cell with no value, or an
# empty one without t="str" (openpyxl writes <v></v> for every formula), has none stored.
_FORMULA_CELL = (rb"<(?:[\w.-]+:)?c\b(?![^>]*\br\s*=\s*[\"']\$?(?:%s)\$?[0-9])([^>]*)>\s*"
                 rb"<(?:[\w.-]+:)?f\b(?:[^>]*/>|[^>]*>[^<]*</(?:[\w.-]+:)?f>)\s*"
                 rb"(?:<(?:[\w.-]+:)?v>([^<]*)<|<(?:[\w.-]+:)?v\s*/>)?")
# A formula cell of one column (%s: its letters): the row number.
_CLASS_FORMULA = (rb"<(?:[\w.-]+:)?c\b[^>]*?\br\s*=\s*[\"']\$?%s\$?([0-9]+)[\"'][^>]*>\s*"
                  rb"<(?:[\w.-]+:)?f[\s>/]")
_STR_TYPE = re.compile(rb"\bt\s*=\s*[\"']str[\"']")
_FORMULA_MARK = re.compile(rb"<(?:[\w.-]+:)?f[\s>/]")


def sheets_with_formulas(path: Path) -> dict[str, bytes | None]:
    """Part → its XML where it holds a formula, None where it holds none, for the parts of
    the data sheets and Targets (uncached_formulas' ``inflated``); {} when the file cannot be
    read so (the reading of the values says why)."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = sheet_parts(archive, path)
            out: dict[str, bytes | None] = {}
            for name in data_sheet_titles(TARGETS):
                if name in parts and parts[name] not in out:
                    xml = archive.read(parts[name])
                    out[parts[name]] = xml if next(_formula_marks(xml), None) is not None \
                        else None
            return out
    except Exception:  # noqa: BLE001 - anything: uncached_formulas reads the file itself
        return {}


def uncached_formulas(path: str | os.PathLike, headers: dict[str, Sequence],
                      stage_class_rows: dict[str, set[int]] | None = None,
                      inflated: dict[str, bytes | None] | None = None) -> list[CellProblem]:
    """The cells of the data sheets' known columns and of Targets' month columns that hold a
    formula whose result the file does not store (a file saved by a script: openpyxl keeps no
    results). A reader sees them blank; Excel and LibreOffice compute them: the report cannot
    count them and says so. ``headers``: each data sheet's row 1 as read. ``stage_class_rows``
    gets, for Opportunities, the rows whose StageClass cell holds a formula (from the same
    reading of the sheet's XML). ``inflated``: parts already read (_sheets_with_formulas)."""
    problems: list[CellProblem] = []
    with zipfile.ZipFile(path) as archive:
        parts = sheet_parts(archive, Path(path))
        for name, header in headers.items():
            if title(name) not in parts:
                continue
            wanted = _wanted_columns(name, header)
            stage_class = skipped_columns(name, header) if name == OPPORTUNITIES else []
            if stage_class and stage_class_rows is not None:
                stage_class_rows[name] = set()
            if not wanted:
                continue
            part = parts[title(name)]
            if inflated is not None and part in inflated:
                xml = inflated[part]  # None: no formula
            else:  # inflated once (was: searched, then read again)
                xml = archive.read(part)
            if xml is None or next(_formula_marks(xml), None) is None:
                continue
            if stage_class and _only_class_formulas(xml, stage_class[0], stage_class_rows, name):
                continue  # every formula a StageClass formula as xlkpi writes it: none to name
            skip = b"|".join(letter.encode() for letter in skipped_columns(name, header))
            pattern = re.compile(_FORMULA_CELL % (skip or b"(?!)"), re.S)
            found = []
            classes = re.compile(_CLASS_FORMULA % stage_class[0].encode()) if (
                stage_class and stage_class_rows is not None) else None
            for match in _formula_cells(xml, pattern, classes, stage_class_rows, name):
                attributes, value = match.groups()
                if value or (value is not None and _STR_TYPE.search(attributes)):
                    continue
                ref = _REF.search(attributes)
                if ref is None:
                    continue
                letters, number = ref.groups()
                column = wanted.get(letters.decode().upper())
                first = TARGETS_FIRST_ROW if name == TARGETS else 2
                if column is not None and int(number) >= first:
                    found.append((name, column, int(number), "no cached value"))
            problems += group(found)
    return problems


def _formula_cells(xml: bytes, pattern: re.Pattern, classes: re.Pattern | None,
                   class_rows: dict[str, set[int]] | None, name: str) -> Iterator[re.Match]:
    """pattern.finditer(xml) for a _FORMULA_CELL pattern, and class_rows[name] gets the rows
    ``classes`` (a _CLASS_FORMULA pattern) finds, both looked for only where a formula is: the
    tag before each "<f" (a formula directly follows its cell's tag) is matched, instead of
    every cell of the sheet being tried."""
    rows = class_rows.setdefault(name, set()) if classes is not None else None
    for at in _formula_marks(xml):
        start = xml.rfind(b"<", 0, at)  # no "<" inside a tag: the cell's tag
        if start < 0:
            continue
        if classes is not None:
            found = classes.match(xml, start)
            if found is not None and found.end() > at:
                rows.add(int(found.group(1)))
        match = pattern.match(xml, start)
        if match is not None and match.end() > at:
            yield match


def _only_class_formulas(xml: bytes, letter: str, class_rows: dict[str, set[int]] | None,
                         name: str) -> bool:
    """Whether every formula of the sheet is a StageClass cell written as xlkpi writes it
    (<c r="F2"><f>, found in C with one search instead of a match at each formula); if so,
    class_rows[name] gets their rows. False (the general search) for anything else, such as a
    file Excel saved (shared formulas, other attributes)."""
    rows = re.findall(rb'<c r="%s([0-9]+)"><f>' % letter.encode(), xml)
    if len(rows) != sum(1 for _ in _formula_marks(xml)):
        return False
    if class_rows is not None:
        class_rows[name] = set(map(int, rows))
    return True


def _formula_marks(xml: bytes) -> Iterator[int]:
    """Where each formula element (_FORMULA_MARK) starts: found with bytes.find, many times
    faster than the pattern over tens of megabytes, unless the XML may use prefixes."""
    if xml.find(b"<sheetData") < 0:  # <x:sheetData>, <x:f>...: the pattern
        yield from (mark.start() for mark in _FORMULA_MARK.finditer(xml))
        return
    at = xml.find(b"<f")
    while at >= 0:
        if xml[at + 2:at + 3] in (b" ", b"\t", b"\r", b"\n", b">", b"/"):
            yield at
        at = xml.find(b"<f", at + 2)


def _wanted_columns(name: str, header: Sequence) -> dict[str, str]:
    """Column letter → name of the columns whose formulas matter: a data sheet's known
    columns; Targets' twelve month columns."""
    if name == TARGETS:
        return {get_column_letter(TARGETS_FIRST_MONTH_COL + i): "month columns"
                for i in range(12)}
    known = {column.lower(): column for column in DATA_COLUMNS[name]}
    return {get_column_letter(index + 1): known[key]
            for index, key in enumerate(column_keys(header)) if key in known}


def skipped_columns(name: str, header: Sequence) -> list[str]:
    """The columns of generated formulas (StageClass), which the report does not read: the
    search passes over them in C."""
    return [get_column_letter(index + 1) for index, key in enumerate(column_keys(header))
            if name != TARGETS and key == STAGE_CLASS_COLUMN.lower()]

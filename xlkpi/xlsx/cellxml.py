"""Reading cells straight out of sheet XML bytes, without parsing the XML: the rows and cells of
``<sheetData>`` as Excel, LibreOffice and openpyxl write them, and a cell's value as openpyxl
would read it (formulas as their text). Used where a whole parse would cost too much
(kept.KeptRows, splice.load_split)."""

from __future__ import annotations

import re

from xlkpi.xlsx.parts import CELL_REF, column_index, xml_text

SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData(?:\s[^>]*)?>")
ROW = re.compile(rb"<row(?=[\s/>])([^>]*?)(/>|>(.*?)</row>)", re.S)
CELL = re.compile(rb"<c(?=[\s/>])([^>]*?)(/>|>(.*?)</c>)", re.S)
FORMULA = re.compile(rb"<f(?=[\s/>])([^>]*?)(?:/>|>(.*?)</f>)", re.S)
SHARED_STRING = re.compile(rb"<si(?:\s[^>]*)?(?:/>|>(.*?)</si>)", re.S)
_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_V = re.compile(rb"<v(?:\s[^>]*)?>(.*?)</v>", re.S)
_T = re.compile(rb"<t(?:\s[^>]*)?>(.*?)</t>", re.S)
_RPH = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_FIRST_ROW_NUMBER = re.compile(rb'(?<![\w:])r\s*=\s*["\'](\d+)')


def attrs(raw: bytes) -> dict[bytes, bytes]:
    """A tag's attributes (the bytes between its name and its end)."""
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _ATTR.finditer(raw)}


def row_number(raw_attrs: bytes) -> int | None:
    """The r="..." of a row's attributes, None when it has none."""
    found = _FIRST_ROW_NUMBER.search(raw_attrs)
    return int(found.group(1)) if found else None


def row_cells(inner: bytes) -> list[tuple[int, dict, bytes | None, bytes]]:
    """(column, attributes, inner XML or None, whole XML) of each cell of a row's XML; a cell
    without its reference is the one after the cell before it."""
    cells = []
    col = 0
    for match in CELL.finditer(inner):
        cell_attrs = attrs(match.group(1))
        ref = cell_attrs.get(b"r")
        found = CELL_REF.match(ref) if ref else None
        col = column_index(found.group(1)) if found else col + 1
        cells.append((col, cell_attrs, match.group(3), match.group(0)))
    return cells


def cell_value(cell_attrs: dict, inner: bytes | None, strings: list[bytes] | None) -> object:
    """A cell's value as openpyxl reads it without data_only (a formula as "=..." text);
    ``strings``: the shared-string table's <si> contents."""
    if not inner:
        return None
    formula = FORMULA.search(inner)
    if formula is not None:
        return "=" + xml_text(formula.group(2) or b"")
    kind = cell_attrs.get(b"t", b"n")
    if kind == b"inlineStr":
        return xml_text(b"".join(_T.findall(_RPH.sub(b"", inner))))
    found = _V.search(inner)
    if found is None:
        return None
    raw = found.group(1)
    if kind == b"s":
        try:
            item = strings[int(raw)]
        except (TypeError, ValueError, IndexError):
            return None
        return xml_text(b"".join(_T.findall(_RPH.sub(b"", item or b""))))
    if kind in (b"str", b"e", b"d"):
        return xml_text(raw)
    if kind == b"b":
        return raw.strip() == b"1"
    text = raw.strip()
    if not text:
        return None
    try:
        return float(text) if any(c in text for c in b".eE") else int(text)
    except ValueError:
        return xml_text(text)


def sheet_cells(xml: bytes, strings: list[bytes] | None) -> dict[int, dict[int, object]] | None:
    """Row number → column → value of every cell of a sheet's XML; None when a row has no
    number."""
    values: dict[int, dict[int, object]] = {}
    for row in ROW.finditer(xml):
        number = row_number(row.group(1))
        if number is None:
            return None
        cells = values.setdefault(number, {})
        for col, cell_attrs, inner, _ in row_cells(row.group(3) or b""):
            cells[col] = cell_value(cell_attrs, inner, strings)
    return values

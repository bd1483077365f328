"""Sheet XML moved from one package into another: the generated sheets' cells given the target
package's style ids and inline strings (:func:`moved_sheet`), and a sheet a person types into
patched with only what the generator changed (:func:`patched_sheet`).

``patched_sheet`` keeps every row and cell of the original sheet XML byte for byte (cached
values of formulas, rich text, attributes openpyxl does not know) unless the generated sheet
holds something else there: then the generated cell is written (its style id mapped, its text
inline). A cell the generator no longer has is dropped only when it held a value (a StageClass
formula below the data); a formatted empty cell stays. The rest of the sheet (views, columns,
conditional formats, x14 extensions, drawings, comments) is the original's, but the dimension
and xlkpi's own data validations (promptTitle "xlkpi"), which are the generated sheet's, and a
column the generated sheet hides where the original says nothing of it (the hidden "xlkpi ID"
column an import adds).
"""

from __future__ import annotations

import re

from xlkpi.core import lang
from xlkpi.xlsx.cellxml import CELL, ROW, SHEET_DATA, attrs, cell_value, row_cells, row_number
from xlkpi.xlsx.stylemap import StyleMap, Unsupported

_S_ATTR = re.compile(rb'(?<=\s)s\s*=\s*"(\d+)"')
_T_S = re.compile(rb'(?<=\s)t\s*=\s*"s"')
_V = re.compile(rb"<v>(\d+)</v>")
_DXF = re.compile(rb'(?<=\s)dxfId\s*=\s*"(\d+)"')
_COL_STYLE = re.compile(rb'(<col\b[^>]*?\sstyle\s*=\s*")(\d+)(")')
_DV_BLOCK = re.compile(rb"<dataValidations\b[^>]*?(?:/>|>(.*?)</dataValidations>)", re.S)
_DV = re.compile(rb"<dataValidation\b([^>]*?)(?:/>|>.*?</dataValidation>)", re.S)
_DIMENSION = re.compile(rb"<dimension\b[^>]*/>")
_COLS = re.compile(rb"<cols\b[^>]*>(.*?)</cols>", re.S)
_COL = re.compile(rb"<col\b([^>]*?)/>")
_SPANS = re.compile(rb'\sspans\s*=\s*"[^"]*"')
# A cell holding a value as openpyxl writes it: reference, style, type, value (CellMover.row)
_PLAIN_CELL = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"(?: s="([0-9]{1,9})")?'
                         rb'(?: t="([A-Za-z]{1,9})")?>(<v>([^<]*)</v>|<is><t(?: xml:space='
                         rb'"preserve")?>[^<]*</t></is>|<f>[^<]*</f><v>[^<]*</v>|)</c>')
OWN_VALIDATION = b"xlkpi"  # promptTitle of xlkpi's own data validations
# What follows <dataValidations> in a worksheet (ECMA-376 order): it goes before the first.
_AFTER_DV = (b"<hyperlinks", b"<printOptions", b"<pageMargins", b"<pageSetup", b"<headerFooter",
             b"<rowBreaks", b"<colBreaks", b"<customProperties", b"<cellWatches",
             b"<ignoredErrors", b"<smartTags", b"<drawing", b"<legacyDrawing", b"<picture",
             b"<oleObjects", b"<controls", b"<webPublishItems", b"<tableParts", b"<extLst",
             b"</worksheet")


class CellMover:
    """Rewrites the generated package's cells for the original package (style map, strings)."""

    def __init__(self, styles: StyleMap, g_strings: list[bytes]):
        self.styles = styles
        self.g_strings = g_strings

    def style(self, match: re.Match) -> bytes:
        return b's="%d"' % self.styles.xf(int(match.group(1)))

    def cell(self, raw: bytes) -> bytes:
        match = CELL.match(raw)
        head, inner = match.group(1), match.group(3)
        head = _S_ATTR.sub(self.style, head)
        if inner is not None and _T_S.search(head):
            found = _V.search(inner)
            if found is None:
                raise Unsupported(lang.text("messages.unsupported.string_no_index"))
            try:
                text = self.g_strings[int(found.group(1))]
            except IndexError:
                raise Unsupported(lang.text("messages.unsupported.string_past")) from None
            head = _T_S.sub(b't="inlineStr"', head)
            inner = inner[:found.start()] + b"<is>" + text + b"</is>" + inner[found.end():]
        if inner is None:
            return b"<c" + head + b"/>"
        return b"<c" + head + b">" + inner + b"</c>"

    def row(self, raw: bytes) -> bytes:
        match = ROW.match(raw)
        head = _S_ATTR.sub(self.style, match.group(1))
        if match.group(3) is None:
            return b"<row" + head + b"/>"
        cells = self._plain_cells(match.group(3))
        if cells is None:
            cells = CELL.sub(lambda m: self.cell(m.group(0)), match.group(3))
        return b"<row" + head + b">" + cells + b"</row>"

    def _plain_cells(self, inner: bytes) -> bytes | None:
        """:meth:`cell` of each cell of a row that holds only cells as openpyxl writes a
        value or a formula (``<c r="A2" s="5" t="n"><v>1</v></c>``, an inline string, ``<f>``
        and an empty ``<v>``, nothing), in one pass and byte for byte as :meth:`cell` writes
        them; None for any other row."""
        out: list[bytes] = []
        at = 0
        xf, strings = self.styles.xf, self.g_strings
        for found in _PLAIN_CELL.finditer(inner):
            if found.start() != at:
                return None
            at = found.end()
            ref, style, kind, inside, value = found.groups()
            head = b' r="' + ref + b'"'
            if style is not None:
                head += b' s="%d"' % xf(int(style))
            if kind == b"s":
                if value is None or not value.isdigit() or int(value) >= len(strings):
                    return None  # cell() says why
                text = strings[int(value)]
                out.append(b"<c" + head + b' t="inlineStr"><is>' + text + b"</is></c>")
                continue
            if kind is not None:
                head += b' t="' + kind + b'"'
            out.append(b"<c" + head + b">" + inside + b"</c>")
        return b"".join(out) if at == len(inner) else None


def moved_sheet(xml: bytes, mover: CellMover) -> bytes:
    """A generated sheet's XML with its style ids, dxf ids and strings made the original's."""
    opened = SHEET_DATA.search(xml)
    if opened is None:
        raise Unsupported(lang.text("messages.unsupported.generated_no_data"))
    head = _COL_STYLE.sub(lambda m: m.group(1) + b"%d" % mover.styles.xf(int(m.group(2))) +
                          m.group(3), xml[:opened.end()])
    if opened.group(0).endswith(b"/>"):
        body, tail = b"", xml[opened.end():]
    else:
        close = xml.index(b"</sheetData>", opened.end())
        body = ROW.sub(lambda m: mover.row(m.group(0)), xml[opened.end():close])
        tail = xml[close:]
    tail = _DXF.sub(lambda m: b'dxfId="%d"' % mover.styles.dxf(int(m.group(1))), tail)
    return head + body + tail


def _rows(body: bytes) -> dict[int, re.Match]:
    rows = {}
    for match in ROW.finditer(body):
        number = row_number(match.group(1))
        if number is None or number in rows:
            raise Unsupported(lang.text("messages.unsupported.row_number"))
        rows[number] = match
    return rows


def _split(xml: bytes) -> tuple[bytes, bytes, bytes]:
    opened = SHEET_DATA.search(xml)
    if opened is None:
        raise Unsupported(lang.text("messages.unsupported.no_data"))
    if opened.group(0).endswith(b"/>"):
        return xml[:opened.start()] + b"<sheetData>", b"", b"</sheetData>" + xml[opened.end():]
    close = xml.index(b"</sheetData>", opened.end())
    return xml[:opened.end()], xml[opened.end():close], xml[close:]


def _has_value(value: object) -> bool:
    return value is not None and value != ""


class _Shared:
    """The original sheet's shared formulas: a dependent cell's formula as openpyxl reads it."""

    def __init__(self, body: bytes):
        self.masters: dict[bytes, tuple[str, str]] = {}
        if b"shared" not in body:
            return
        for match in re.finditer(rb'<c\b([^>]*)>(?:(?!</c>).)*?<f\b([^>]*?\bt\s*=\s*"shared"'
                                 rb'[^>]*)>(.*?)</f>', body, re.S):
            found = attrs(match.group(2))
            if b"ref" in found:
                from xlkpi.xlsx.parts import xml_text

                self.masters[found.get(b"si", b"")] = (
                    "=" + xml_text(match.group(3)), attrs(match.group(1)).get(b"r", b"").decode())

    def value(self, cell_attrs: dict, inner: bytes | None, strings) -> object:
        value = cell_value(cell_attrs, inner, strings)
        if value == "=" and self.masters and inner and b"shared" in inner:
            found = re.search(rb'<f\b([^>]*)', inner)
            master = self.masters.get(attrs(found.group(1)).get(b"si", b"")) if found else None
            if master is None:
                return value
            from openpyxl.formula.translate import Translator

            try:
                return Translator(master[0], origin=master[1]).translate_formula(
                    cell_attrs.get(b"r", b"").decode())
            except Exception:  # noqa: BLE001 - not movable: compared as written
                return value
        return value


def patched_sheet(o_xml: bytes, g_xml: bytes, mover: CellMover, o_strings: list[bytes],
                  same_ids: bool) -> bytes:
    """The original sheet ``o_xml`` with the cells, dimension and xlkpi data validations of
    the generated ``g_xml`` where they differ (see module doc). ``same_ids``: a row whose bytes
    are the same in both means the same (the generated package kept the original's string and
    style ids), so it is kept without reading its cells."""
    o_head, o_body, o_tail = _split(o_xml)
    g_head, g_body, g_tail = _split(g_xml)
    if re.search(rb"<\w+:(?:row|c)\b", o_body):
        raise Unsupported(lang.text("messages.unsupported.rows_prefix"))
    if same_ids and o_body == g_body:
        rows_out = o_body
    else:
        rows_out = _merged_rows(o_body, g_body, mover, o_strings, same_ids)
    head = o_head
    o_dim, g_dim = _DIMENSION.search(head), _DIMENSION.search(g_head)
    if o_dim is not None and g_dim is not None:
        head = head[:o_dim.start()] + g_dim.group(0) + head[o_dim.end():]
    tail = _with_validations(o_tail, _own_validations(g_tail))
    return _with_hidden_columns(head, g_head) + rows_out + tail


def _with_hidden_columns(head: bytes, g_head: bytes) -> bytes:
    """``head`` (the original sheet's part before its rows) with the columns the generated head
    hides and ``head`` describes nowhere: hidden, in their place among its <col> elements."""
    g_cols = _COLS.search(g_head)
    if g_cols is None or re.search(rb"<\w+:sheetData\b", head):
        return head
    o_cols = _COLS.search(head)
    described = [_span(attrs(m.group(1))) for m in _COL.finditer(o_cols.group(1))] \
        if o_cols is not None else []
    added = []
    for match in _COL.finditer(g_cols.group(1)):
        found = attrs(match.group(1))
        first, last = _span(found)
        if found.get(b"hidden") not in (b"1", b"true") or any(
                first <= end and start <= last for start, end in described):
            continue
        width = found.get(b"width", b"9")
        added.append((first, b'<col min="%d" max="%d" width="%s" hidden="1" customWidth="1"/>'
                      % (first, last, width)))
    if not added:
        return head
    if o_cols is None:
        at = SHEET_DATA.search(head).start()
        return head[:at] + b"<cols>" + b"".join(xml for _, xml in added) + b"</cols>" + head[at:]
    every = [(_span(attrs(m.group(1)))[0], m.group(0)) for m in _COL.finditer(o_cols.group(1))]
    inner = b"".join(xml for _, xml in sorted(every + added, key=lambda item: item[0]))
    opened = head[o_cols.start():o_cols.start(1)]
    return head[:o_cols.start()] + opened + inner + b"</cols>" + head[o_cols.end():]


def _span(found: dict) -> tuple[int, int]:
    first = int(found.get(b"min", b"0"))
    return first, int(found.get(b"max", b"%d" % first))


def _merged_rows(o_body: bytes, g_body: bytes, mover: CellMover, o_strings: list[bytes],
                 same_ids: bool) -> bytes:
    o_rows, g_rows = _rows(o_body), _rows(g_body)
    shared = _Shared(o_body)
    g_strings = mover.g_strings
    styles = mover.styles
    out: list[bytes] = []
    kept_shared: set[bytes] = set()
    dropped_masters: set[bytes] = set()
    for number in sorted(set(o_rows) | set(g_rows)):
        o_row, g_row = o_rows.get(number), g_rows.get(number)
        if g_row is None:
            cells = [raw for _, cell_attrs, inner, raw in row_cells(o_row.group(3) or b"")
                     if not _has_value(cell_value(cell_attrs, inner, o_strings))]
            if len(cells) == len(row_cells(o_row.group(3) or b"")):
                out.append(o_row.group(0))
            else:
                _note_shared(o_row.group(0), kept_shared, dropped_masters, cells)
                out.append(_row_with(o_row, cells))
            continue
        if o_row is None:
            out.append(mover.row(g_row.group(0)))
            continue
        if same_ids and o_row.group(0) == g_row.group(0):
            _note_shared(o_row.group(0), kept_shared, dropped_masters, None)
            out.append(o_row.group(0))
            continue
        o_cells = {col: (a, inner, raw) for col, a, inner, raw in row_cells(o_row.group(3) or b"")}
        g_cells = {col: (a, inner, raw) for col, a, inner, raw in row_cells(g_row.group(3) or b"")}
        cells = []
        changed = False
        for col in sorted(set(o_cells) | set(g_cells)):
            o_cell, g_cell = o_cells.get(col), g_cells.get(col)
            if g_cell is None:
                if not _has_value(cell_value(o_cell[0], o_cell[1], o_strings)):
                    cells.append(o_cell[2])
                else:
                    changed = True
                    _note_dropped(o_cell[1], dropped_masters)
                continue
            if o_cell is not None and _same(o_cell, g_cell, shared, o_strings, g_strings,
                                            styles):
                cells.append(o_cell[2])
                continue
            changed = True
            if o_cell is not None:
                _note_dropped(o_cell[1], dropped_masters)
            cells.append(mover.cell(g_cell[2]))
        _note_shared(b"".join(cells), kept_shared, dropped_masters, None)
        out.append(_row_with(o_row, cells) if changed else o_row.group(0))
    if kept_shared & dropped_masters:
        raise Unsupported(lang.text("messages.unsupported.shared_formula"))
    return b"".join(out)


def _same(o_cell, g_cell, shared: _Shared, o_strings, g_strings, styles: StyleMap) -> bool:
    o_attrs, o_inner, _ = o_cell
    g_attrs, g_inner, _ = g_cell
    if shared.value(o_attrs, o_inner, o_strings) != cell_value(g_attrs, g_inner, g_strings):
        return False
    return styles.same(int(o_attrs.get(b"s", b"0") or 0), int(g_attrs.get(b"s", b"0") or 0))


def _note_dropped(inner: bytes | None, dropped: set[bytes]) -> None:
    if inner and b"shared" in inner:
        found = re.search(rb"<f\b([^>]*)", inner)
        if found is not None and b"ref" in attrs(found.group(1)):
            dropped.add(attrs(found.group(1)).get(b"si", b""))


def _note_shared(xml: bytes, kept: set[bytes], dropped: set[bytes], cells) -> None:
    if b"shared" not in xml:
        return
    for found in re.finditer(rb'<f\b([^>]*\bt\s*=\s*"shared"[^>]*)', xml if cells is None
                             else b"".join(cells)):
        kept.add(attrs(found.group(1)).get(b"si", b""))


def _row_with(o_row: re.Match, cells: list[bytes]) -> bytes:
    head = _SPANS.sub(b"", o_row.group(1))
    if head.endswith(b"/"):
        head = head[:-1]
    return b"<row" + head + b">" + b"".join(cells) + b"</row>"


def _own_validations(tail: bytes) -> list[bytes]:
    block = _DV_BLOCK.search(tail)
    if block is None or block.group(1) is None:
        return []
    return [m.group(0) for m in _DV.finditer(block.group(1))
            if attrs(m.group(1)).get(b"promptTitle") == OWN_VALIDATION]


def _with_validations(tail: bytes, own: list[bytes]) -> bytes:
    """The original sheet's part after sheetData with xlkpi's data validations ``own``."""
    block = _DV_BLOCK.search(tail)
    kept: list[bytes] = []
    if block is not None and block.group(1) is not None:
        kept = [m.group(0) for m in _DV.finditer(block.group(1))
                if attrs(m.group(1)).get(b"promptTitle") != OWN_VALIDATION]
        if len(kept) + len(_own_validations(tail)) != len(_DV.findall(block.group(1))):
            raise Unsupported(lang.text("messages.unsupported.validations"))
    every = kept + own
    if block is not None:
        opened = re.match(rb"<dataValidations\b([^>]*?)/?>", block.group(0))
        if not every:
            return tail[:block.start()] + tail[block.end():]
        head = re.sub(rb'\scount\s*=\s*"\d*"', b"", opened.group(1))
        if kept == [m.group(0) for m in _DV.finditer(block.group(1) or b"")] and not own:
            return tail
        element = b'<dataValidations%s count="%d">%s</dataValidations>' % (
            head, len(every), b"".join(every))
        return tail[:block.start()] + element + tail[block.end():]
    if not own:
        return tail
    at = min((i for i in (tail.find(tag) for tag in _AFTER_DV) if i >= 0), default=len(tail))
    element = b'<dataValidations count="%d">%s</dataValidations>' % (len(own), b"".join(own))
    return tail[:at] + element + tail[at:]

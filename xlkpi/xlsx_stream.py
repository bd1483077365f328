"""The data sheets' rows as sheet XML, outside openpyxl, for trackers with many rows.

openpyxl makes a Python object per cell: 250,000 data rows are 1.5 million objects, tens of
seconds and gigabytes. So for a large tracker the data sheets hold only their header row in
openpyxl, and their rows are written straight into the file as it is saved (a
:class:`SplicedWorkbook`): openpyxl saves the workbook, then each data sheet's ``<sheetData>``
gets the rows after its header row.

- ``xlkpi new`` (:class:`NewRows`): the rows are written from Python values as openpyxl would
  write them (inline strings, numbers, dates as serials with openpyxl's own date styles).
- ``xlkpi refresh`` (:func:`load_split`, :class:`KeptRows`): the data sheets are loaded with
  their rows cut out; the rows are put back as they were (cell XML kept byte for byte), in
  workbook.grouped_order, renumbered (a person's formulas translated as Excel's sort moves
  them), style ids mapped to the saved stylesheet and the shared-string table kept. Anything
  this cannot move exactly (merged cells, hyperlinks, comments, array formulas, shared
  formulas outside StageClass, prefixed XML) makes :func:`load_split` decline: the ordinary
  openpyxl load then does it, slower.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import to_excel

STREAM_FROM_ROWS = 20_000  # new: fewer data rows than this are ordinary openpyxl cells
STREAM_FROM_BYTES = 4 << 20  # refresh: data sheets' XML smaller than this load normally
ROWS_ATTR = "_xlkpi_rows"  # a SplicedWorkbook's rows held outside openpyxl, by sheet title

_SST_PART = "xl/sharedStrings.xml"
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
            "sharedStrings")
_PLAIN_TYPES = frozenset({str, int, float, bool, dt.datetime, dt.date, dt.time, type(None)})
_CHUNK_ROWS = 2_000


class SplicedWorkbook(Workbook):
    """A Workbook whose data sheets hold only their header row; the rows (``ROWS_ATTR``: sheet
    title → NewRows or KeptRows) are put into the file by :meth:`save`."""

    def save(self, filename):
        save_spliced(self, filename)


def rows_outside(wb: Workbook, title: str):
    """The rows of sheet ``title`` that ``wb`` holds outside openpyxl, or None."""
    return (getattr(wb, ROWS_ATTR, None) or {}).get(title)


def plain_values(rows: Sequence[Sequence[object]]) -> bool:
    """Whether every value is of a type NewRows writes (anything else goes through openpyxl)."""
    types = {type(value) for values in rows for value in values}
    return types <= _PLAIN_TYPES


# --- writing ---------------------------------------------------------------------------------

def _escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;") if "\r" in text else text


def _formula_parts(template: str) -> list[str]:
    """The escaped formula (without '=') split where its row number goes ("\\x00")."""
    return _escape(template[1:]).split("\x00")


class NewRows:
    """Rows from Python values, written as workbook.put_text / openpyxl write them: text always
    a string cell, a blank no cell, a date a serial number with openpyxl's date style."""

    def __init__(self, ws, rows: Sequence[Sequence[object]], sources: list[int | None]):
        self.rows = rows
        self.sources = sources
        self.width = len(sources)
        self.stage: tuple[int, list[str]] | None = None  # (column, formula parts)
        wb = ws.parent
        self.styles = {}
        for kind, sample in ((dt.datetime, dt.datetime(2026, 1, 1)), (dt.date, dt.date(2026, 1, 1)),
                             (dt.time, dt.time(0, 0))):
            self.styles[kind] = wb._cell_styles.add(Cell(ws, value=sample)._style)
        self.epoch = wb.epoch

    def last_row(self, skip_col: int | None) -> int:
        """The last row holding a value (outside ``skip_col``), 1 for none."""
        for index in range(len(self.rows) - 1, -1, -1):
            values = self.rows[index]
            for col, source in enumerate(self.sources, 1):
                if col == skip_col or source is None or source >= len(values):
                    continue
                value = values[source]
                if value is not None and value != "":
                    return index + 2
        return 1

    def set_stage_class(self, col: int, template: str, last: int) -> None:
        self.stage = (col, _formula_parts(template), last)

    def max_row(self) -> int:
        return max(len(self.rows) + 1, self.stage[2] if self.stage else 1)

    def chunks(self) -> Iterator[bytes]:
        letters = [get_column_letter(col) for col in range(1, self.width + 2)]
        strings: dict[str, str] = {}
        numbers: dict[object, str] = {}
        stage_col, parts, stage_last = self.stage if self.stage else (None, None, 0)
        stage_letter = letters[stage_col - 1] if stage_col else ""
        sources = self.sources
        out: list[str] = []
        for number, values in enumerate(self.rows, 2):
            out.append(f'<row r="{number}">')
            size = len(values)
            for col, source in enumerate(sources, 1):
                if col == stage_col and number <= stage_last:
                    out.append(f'<c r="{stage_letter}{number}"><f>{str(number).join(parts)}'
                               "</f><v></v></c>")
                    continue
                if source is None or source >= size:
                    continue
                value = values[source]
                if value is None:
                    continue
                kind = type(value)
                if kind is str:
                    body = strings.get(value)
                    if body is None:
                        body = strings[value] = _string_body(value)
                else:
                    body = numbers.get((kind, value))
                    if body is None:
                        body = numbers[(kind, value)] = self._other_body(value, kind)
                out.append(f'<c r="{letters[col - 1]}{number}"{body}')
            out.append("</row>")
            if number % _CHUNK_ROWS == 0:
                yield "".join(out).encode("utf-8")
                out.clear()
        if stage_col:  # an empty sheet: the table's one row still has its formula
            for number in range(len(self.rows) + 2, stage_last + 1):
                out.append(f'<row r="{number}"><c r="{stage_letter}{number}"><f>'
                           f'{str(number).join(parts)}</f><v></v></c></row>')
        yield "".join(out).encode("utf-8")

    def _other_body(self, value, kind) -> str:
        if kind is bool:
            return f' t="b"><v>{int(value)}</v></c>'
        if kind in (int, float):
            if isinstance(value, float) and not math.isfinite(value):
                return ' t="n"><v></v></c>'  # as openpyxl's safe_string
            return f' t="n"><v>{value:.16g}</v></c>'
        if getattr(value, "tzinfo", None) is not None:
            raise TypeError("Excel does not support timezones in datetimes. The tzinfo in the "
                            "datetime/time object must be set to None.")
        style = self.styles[kind]
        return f' s="{style}" t="n"><v>{to_excel(value, self.epoch):.16g}</v></c>'


def _string_body(value: str) -> str:
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    value = value[:32767]
    if value == "":
        return ' t="inlineStr"/>'
    space = ' xml:space="preserve"' if value != value.strip() else ""
    return f' t="inlineStr"><is><t{space}>{_escape(value)}</t></is></c>'


# --- reading a file's rows -------------------------------------------------------------------

_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData(?:\s[^>]*)?>")
_ROW = re.compile(rb"<row(?=[\s/>])([^>]*?)(/>|>(.*?)</row>)", re.S)
_CELL = re.compile(rb"<c(?=[\s/>])([^>]*?)(/>|>(.*?)</c>)", re.S)
_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"([A-Za-z]{1,3})(\d+)$")
_F = re.compile(rb"<f(?=[\s/>])([^>]*?)(?:/>|>(.*?)</f>)", re.S)
_V = re.compile(rb"<v(?:\s[^>]*)?>(.*?)</v>", re.S)
_T = re.compile(rb"<t(?:\s[^>]*)?>(.*?)</t>", re.S)
_RPH = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_ROW_NUMBER = re.compile(rb"""<row\s[^>]*?(?<![\w:])r\s*=\s*["'](\d+)""")
_CELL_WITHOUT_REF = re.compile(rb"<c(?=[\s/>])(?![^>]*?(?<![\w:])r\s*=)")
_SI = re.compile(rb"<si(?:\s[^>]*)?(?:/>|>(.*?)</si>)", re.S)
_ROW_KEEP = (b"s", b"customFormat", b"ht", b"hidden", b"customHeight", b"outlineLevel",
             b"collapsed", b"thickTop", b"thickBot", b"ph")
_CELL_KEEP = (b"t", b"ph")
_DECLINE = (b"<mergeCell", b"<hyperlink", b"<legacyDrawing", b'"array"', b'"dataTable"',
            b"'array'", b"'dataTable'")


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _ATTR.finditer(raw)}


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


class KeptRows:
    """A data sheet's rows after its header row, as the file held them (cell XML kept)."""

    def __init__(self, body: bytes, strings: list[bytes] | None):
        self.body = body
        self.strings = strings  # the shared-string table's <si> contents, or None
        self.rows: dict[int, tuple[int, int]] = {}  # row number → (start, end) in body
        starts = [(match.start(), int(match.group(1))) for match in _ROW_NUMBER.finditer(body)]
        if body.count(b"<row") != len(starts) or _CELL_WITHOUT_REF.search(body):
            raise _Decline  # rows or cells without their reference: not from Excel or openpyxl
        ends = [start for start, _ in starts[1:]] + [len(body)]
        for (start, number), end in zip(starts, ends, strict=True):
            if number in self.rows or number < 2:
                raise _Decline
            self.rows[number] = (start, end)
        if body.strip() and not self.rows:
            raise _Decline
        self._owner_cells: dict[int, re.Pattern] = {}
        self.moved_formulas: dict[tuple[int, int], bytes] = {}
        self.order: list[int] | None = None  # new row n holds old row order[n - 2] + 2
        self.stage: tuple[int, list[str], int] | None = None  # (column, formula parts, last)

    # - values, for grouping -
    def _cells(self, number: int) -> list[tuple[int, dict, bytes | None, bytes]]:
        start, end = self.rows[number]
        row = _ROW.match(self.body, start, end)
        inner = row.group(3) or b""
        cells = []
        col = 0
        for match in _CELL.finditer(inner):
            attrs = _attrs(match.group(1))
            ref = attrs.get(b"r")
            found = _REF.match(ref) if ref else None
            col = column_index_from_string(found.group(1).decode().upper()) if found else col + 1
            cells.append((col, attrs, match.group(3), match.group(0)))
        return cells

    def _value(self, attrs: dict, inner: bytes | None) -> object:
        if not inner:
            return None
        formula = _F.search(inner)
        if formula is not None:
            return "=" + _text(formula.group(2) or b"")
        kind = attrs.get(b"t", b"n")
        if kind == b"inlineStr":
            return _text(b"".join(_T.findall(_RPH.sub(b"", inner))))
        found = _V.search(inner)
        if found is None:
            return None
        raw = found.group(1)
        if kind == b"s":
            try:
                item = self.strings[int(raw)]
            except (TypeError, ValueError, IndexError):
                return None
            return _text(b"".join(_T.findall(_RPH.sub(b"", item or b""))))
        if kind in (b"str", b"e", b"d"):
            return _text(raw)
        if kind == b"b":
            return raw.strip() == b"1"
        text = raw.strip()
        if not text:
            return None
        try:
            return float(text) if any(c in text for c in b".eE") else int(text)
        except ValueError:
            return _text(text)

    def _blank(self, number: int, skip_col: int | None) -> bool:
        if number not in self.rows:
            return True
        for col, attrs, inner, _ in self._cells(number):
            if col != skip_col:
                value = self._value(attrs, inner)
                if value is not None and value != "":
                    return False
        return True

    def last_row(self, skip_col: int | None) -> int:
        if self.order is not None:
            return self.grouped_last
        for number in sorted(self.rows, reverse=True):
            if not self._blank(number, skip_col):
                return number
        return 1

    def group(self, owner_col: int, stage_col: int | None, order_of) -> None:
        """Put rows 2..last in ``order_of(owners, blank)`` (workbook.grouped_order)."""
        last = self.last_row(stage_col)
        if last < 3:
            return
        owners: list[object] = [None] * (last - 1)
        for number in range(2, last + 1):
            if number in self.rows:
                owners[number - 2] = self._owner(number, owner_col)
        order = order_of(owners, _LazyBlank(self, stage_col))
        if order == list(range(last - 1)):
            return
        # A person's formula moves as Excel's sort moves it; one that openpyxl cannot move
        # (a reference pushed above row 1...) leaves every row where it is, as on the slow path.
        self.moved_formulas = {}
        for new, old_index in enumerate(order, 2):
            old = old_index + 2
            span = self.rows.get(old)
            if old == new or span is None or b"<f" not in self.body[span[0]:span[1]]:
                continue
            for col, _, inner, _ in self._cells(old):
                if inner and b"<f" in inner and col != stage_col:
                    moved = _moved_formula(inner, col, old, new)
                    if moved is None:
                        return
                    self.moved_formulas[(old, col)] = moved
        self.order = order
        self.grouped_last = last  # the entirely blank rows went to the end
        while self.grouped_last > 2 and self._blank(order[self.grouped_last - 2] + 2, stage_col):
            self.grouped_last -= 1

    def _owner(self, number: int, owner_col: int) -> object:
        pattern = self._owner_cells.get(owner_col)
        if pattern is None:  # the one cell of the row in the owner column, found by C code
            letter = re.escape(get_column_letter(owner_col).encode())
            pattern = self._owner_cells[owner_col] = re.compile(
                rb'<c((?:\s[^>]*?)?\sr\s*=\s*"' + letter + rb'\d+"[^>]*?)(?:/>|>(.*?)</c>)', re.S)
        start, end = self.rows[number]
        at = self.body.find(b' r="%s%d"' % (get_column_letter(owner_col).encode(), number),
                            start, end)  # the way Excel and openpyxl write it: found fastest
        at = self.body.rfind(b"<c", start, at) if at >= 0 else -1
        match = (_CELL.match(self.body, at, end) if at >= 0 else None) or pattern.search(
            self.body, start, end)
        if match is None:
            return None
        return self._value(_attrs(match.group(1)), match.group(3 if match.re is _CELL else 2))

    def set_stage_class(self, col: int, template: str, last: int) -> None:
        self.stage = (col, _formula_parts(template), last)

    # - writing -
    def max_row(self) -> int:
        return max(max(self.rows, default=1), self.stage[2] if self.stage else 1,
                   len(self.order) + 1 if self.order else 1)

    def chunks(self) -> Iterator[bytes]:
        stage_col, parts, last = self.stage if self.stage else (None, None, 1)
        order = self.order
        moved = len(order) + 1 if order else 1
        out: list[bytes] = []
        for number in sorted(set(self.rows) | set(range(2, max(last, moved) + 1))):
            old = order[number - 2] + 2 if number <= moved else number
            out.append(self._row(old, number, stage_col, parts if number <= last else None))
            if len(out) >= _CHUNK_ROWS:
                yield b"".join(out)
                out.clear()
        yield b"".join(out)

    def _row(self, old: int, new: int, stage_col: int | None, parts) -> bytes:
        span = self.rows.get(old)
        letter = get_column_letter(stage_col).encode() if stage_col else b""
        stage_xml = None
        if parts is not None:
            stage_xml = f"<f>{str(new).join(parts)}</f><v></v>".encode()
        if span is None:
            if stage_xml is None:
                return b""
            return b'<row r="%d"><c r="%s%d">%s</c></row>' % (new, letter, new, stage_xml)
        raw = self.body[span[0]:span[1]]
        if (old == new and b":" not in raw[:raw.find(b">")] and (
                stage_col is None or (stage_xml is not None and b'<c r="%s%d">%s</c>' % (
                    letter, new, stage_xml) in raw))):
            return raw  # as it was, byte for byte
        row = _ROW.match(raw)
        attrs = _attrs(row.group(1))
        head = [b'<row r="%d"' % new]
        head += [b' %s="%s"' % (key, attrs[key]) for key in _ROW_KEEP if key in attrs]
        cells = []
        stage_done = stage_xml is None
        for col, cell_attrs, inner, _ in self._cells(old):
            if col == stage_col:
                if stage_xml is not None:
                    cells.append(_cell(col, new, cell_attrs, stage_xml, True))
                    stage_done = True
                continue
            if not stage_done and col > stage_col:
                cells.append(b'<c r="%s%d">%s</c>' % (letter, new, stage_xml))
                stage_done = True
            if inner and old != new and b"<f" in inner:
                inner = self.moved_formulas.get((old, col), inner)
            cells.append(_cell(col, new, cell_attrs, inner, False))
        if not stage_done:
            cells.append(b'<c r="%s%d">%s</c>' % (letter, new, stage_xml))
        return b"".join(head) + b">" + b"".join(cells) + b"</row>"


def _cell(col: int, row: int, attrs: dict, inner: bytes | None, stage: bool) -> bytes:
    """A cell's XML at its new place: its style kept (openpyxl saves the stylesheet's cell
    formats in the order it read them, so the ids stay right), cm/vm (metadata openpyxl does
    not keep) and attributes of other namespaces left out."""
    out = [b'<c r="%s%d"' % (get_column_letter(col).encode(), row)]
    if b"s" in attrs:
        out.append(b' s="%s"' % attrs[b"s"])
    if not stage:
        out += [b' %s="%s"' % (key, attrs[key]) for key in _CELL_KEEP if key in attrs]
    out.append(b"/>" if inner is None else b">%s</c>" % inner)
    return b"".join(out)


class _LazyBlank:
    """blank[i] for grouped_order, worked out only for the rows that ask (owner not a rep)."""

    def __init__(self, rows: KeptRows, skip_col: int | None):
        self.rows, self.skip_col = rows, skip_col

    def __getitem__(self, index: int) -> bool:
        return self.rows._blank(index + 2, self.skip_col)


def _moved_formula(inner: bytes, col: int, old: int, new: int) -> bytes:
    """A cell's <f> moved from row ``old`` to ``new`` as Excel's sort moves it; None when
    openpyxl's Translator cannot move it."""
    from openpyxl.formula.translate import Translator

    match = _F.search(inner)
    if match is None or match.group(2) is None:
        return inner
    letter = get_column_letter(col)
    text = "=" + _text(match.group(2))
    try:
        moved = Translator(text, origin=f"{letter}{old}").translate_formula(f"{letter}{new}")
    except Exception:  # noqa: BLE001 - a formula openpyxl cannot move: None
        return None
    start, end = match.span(2)
    return inner[:start] + html.escape(moved[1:], quote=False).encode() + inner[end:]


class _Decline(Exception):
    """The file's data sheets hold something KeptRows does not move exactly."""


# --- loading a large tracker with its data rows cut out -----------------------------------------

def _first_row_number(raw_attrs: bytes) -> int | None:
    found = re.search(rb'(?<![\w:])r\s*=\s*["\'](\d+)', raw_attrs)
    return int(found.group(1)) if found else None


def load_split(path: Path, data_sheets: Sequence[str], load) -> Workbook | None:
    """The tracker at ``path`` loaded by ``load(file)`` with its data sheets' rows (after row 1)
    cut out and held as KeptRows, as a SplicedWorkbook; None when the data sheets are small or
    hold what KeptRows does not move exactly (then load the file as usual)."""
    from .files import _sheet_parts

    with open(path, "rb") as handle:
        original = handle.read()
    archive = zipfile.ZipFile(io.BytesIO(original))
    parts = _sheet_parts(archive, path)
    names = set(archive.namelist())
    wanted = {title: parts.get(title) for title in data_sheets}
    if any(part is None or part not in names for part in wanted.values()):
        return None
    if sum(archive.getinfo(part).file_size for part in wanted.values()) < STREAM_FROM_BYTES:
        return None
    strings = None
    if _SST_PART in names:
        table = archive.read(_SST_PART)
        if re.search(rb"<\w+:si[\s>/]", table):
            return None
        strings = [match.group(1) for match in _SI.finditer(table)]
    kept: dict[str, KeptRows] = {}
    stripped: dict[str, bytes] = {}
    try:
        for title, part in wanted.items():
            xml = archive.read(part)
            head = xml[:200].lstrip(b"\xef\xbb\xbf")
            if head.startswith(b"<?xml") and b"encoding" in head[:head.find(b"?>")] and not \
                    re.match(rb"<\?xml[^>]*encoding\s*=\s*[\"'](?i:utf-8)[\"']", head):
                return None
            opened = _SHEET_DATA.search(xml)
            if opened is None or any(marker in xml for marker in _DECLINE):
                return None
            if opened.group(0).endswith(b"/>"):
                continue
            close = xml.find(b"</sheetData>", opened.end())
            if close < 0:
                return None
            rest = opened.end()
            while xml[rest:rest + 1] in (b" ", b"\t", b"\r", b"\n"):
                rest += 1
            first = _ROW.match(xml, rest, close)
            if first is not None and _first_row_number(first.group(1)) in (None, 1):
                rest = first.end()
            body = xml[rest:close]
            if re.search(rb"<c\s[^>]*?\w:\w[^>]*>", body) or re.search(rb"</?\w+:", body):
                return None  # prefixed attributes or elements: not moved by hand
            rows = KeptRows(body, strings)
            _check_shared(rows, xml[opened.end():rest])
            kept[title] = rows
            stripped[part] = xml[:rest] + xml[close:]
    except _Decline:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for info in archive.infolist():
            data = stripped.get(info.filename)
            out.writestr(info.filename, archive.read(info) if data is None else data)
    wb = load(io.BytesIO(buffer.getvalue()))
    wb.__class__ = SplicedWorkbook
    setattr(wb, ROWS_ATTR, kept)
    wb._xlkpi_original = original  # the values of the rows, should a reader ask (reader.py)
    wb._xlkpi_strings = archive.read(_SST_PART) if strings is not None else None
    return wb


def _check_shared(rows: KeptRows, header: bytes) -> None:
    """Shared formulas are kept only in the StageClass column (rewritten anyway): elsewhere a
    moved row would break the group. Which column that is, the header row says."""
    if b"shared" not in rows.body:
        return
    stage = None
    for match in _CELL.finditer(header):
        attrs = _attrs(match.group(1))
        if rows._value(attrs, match.group(3)) == "StageClass":
            found = _REF.match(attrs.get(b"r", b""))
            stage = found.group(1).upper() if found else None
    for found in re.finditer(rb"<f\s[^>]*shared", rows.body):
        cell = _CELL.match(rows.body, rows.body.rfind(b"<c", 0, found.start()))
        ref = _REF.match(_attrs(cell.group(1)).get(b"r", b"")) if cell else None
        if stage is None or ref is None or ref.group(1).upper() != stage:
            raise _Decline


def read_values_sheet(wb: Workbook, title: str):
    """The original file's sheet ``title`` in openpyxl's read-only mode (formulas as text)."""
    import openpyxl

    book = getattr(wb, "_xlkpi_values_book", None)
    if book is None:
        book = openpyxl.load_workbook(io.BytesIO(wb._xlkpi_original), read_only=True)
        wb._xlkpi_values_book = book
    ws = book[title]
    ws.reset_dimensions()
    return ws


# --- saving ------------------------------------------------------------------------------------

_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]+)\d+(?::([A-Z]+)\d+)?"\s*/>')


def save_spliced(wb: Workbook, filename) -> None:
    """Save ``wb`` with openpyxl, then put the rows held outside it into its data sheets."""
    from .files import _sheet_parts

    outside: dict = getattr(wb, ROWS_ATTR, {})
    saved = io.BytesIO()
    Workbook.save(wb, saved)
    source = zipfile.ZipFile(saved)
    parts = _sheet_parts(source, Path("workbook.xlsx"))
    by_part = {parts[title]: rows for title, rows in outside.items() if title in parts}
    strings = getattr(wb, "_xlkpi_strings", None)
    if strings is not None and _SST_PART in source.namelist():
        raise ValueError("openpyxl wrote a shared-string table: the kept rows' ids are not its")
    close = not hasattr(filename, "write")
    handle = open(filename, "wb") if close else filename  # noqa: SIM115
    try:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as out:
            for info in source.infolist():
                rows = by_part.get(info.filename)
                if rows is not None:
                    _write_sheet(out, info, source.read(info), rows)
                    continue
                data = source.read(info)
                if strings is not None and info.filename == "[Content_Types].xml":
                    data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml"'
                                        b' ContentType="' + _SST_TYPE.encode() + b'"/></Types>')
                elif strings is not None and info.filename == "xl/_rels/workbook.xml.rels":
                    data = data.replace(b"</Relationships>", b'<Relationship Id="rIdXlkpiSst" '
                                        b'Type="' + _SST_REL.encode() +
                                        b'" Target="sharedStrings.xml"/></Relationships>')
                out.writestr(info, data)
            if strings is not None:
                out.writestr(_SST_PART, strings)
    finally:
        if close:
            handle.close()


def _write_sheet(out: zipfile.ZipFile, info: zipfile.ZipInfo, xml: bytes, rows) -> None:
    """The sheet openpyxl saved (its header row) with the rows after it put in."""
    opened = _SHEET_DATA.search(xml)
    if opened.group(0).endswith(b"/>"):
        head, tail = xml[:opened.start()] + b"<sheetData>", b"</sheetData>" + xml[opened.end():]
    else:
        close = xml.index(b"</sheetData>")
        head, tail = xml[:close], xml[close:]
    dimension = _DIMENSION.search(head)
    if dimension is not None:
        end_col = dimension.group(2) or dimension.group(1)
        head = (head[:dimension.start()] + b'<dimension ref="%s1:%s%d"/>' % (
            dimension.group(1), end_col, rows.max_row()) + head[dimension.end():])
    target_info = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    target_info.compress_type = zipfile.ZIP_DEFLATED
    target_info._compresslevel = 1  # 3 times faster than the default; the file ~15 % larger
    with out.open(target_info, "w", force_zip64=True) as target:
        target.write(head)
        for chunk in rows.chunks():
            target.write(chunk)
        target.write(tail)

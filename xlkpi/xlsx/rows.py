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
  openpyxl load then does it, slower. The generated tabs, which refresh removes and writes
  again, are loaded without their cells and charts. A moved row is rewritten by replacing
  bytes (its cells' row numbers, a person's formulas moved once per formula shape, the
  StageClass cell) where its cells are as Excel and openpyxl write them, else cell by cell.
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

# Measured at 50 reps (benchmarks/README.md): streaming is faster from a few thousand rows on
# (new) and from a few hundred (refresh); below these the difference is under 0.1 s and the
# plain openpyxl path, the reference the fast one is tested against, does it.
STREAM_FROM_ROWS = 5_000  # new: fewer data rows than this are ordinary openpyxl cells
STREAM_FROM_BYTES = 256 << 10  # refresh: data sheets' XML smaller than this load normally
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
_PLAIN_CELL_TAG = re.compile(rb'<c r="[A-Z]{1,3}\d+"(?: s="\d+")?(?: t="[a-zA-Z]+")?(?:/>|>)')
# The row number of a cell reference, and of anything else shaped like one (X12" in a text or
# a formula): splits are used only when there are exactly as many as cells (all references).
_REF_ROW = re.compile(rb'(?<=[A-Z])\d+(?=")')
_DECLINE = (b"<mergeCell", b"<hyperlink", b"<legacyDrawing")  # looked for outside sheetData
# Searched for one by one: each has a literal start that the regex engine finds fast.
_DECLINE_IN_ROWS = tuple(re.compile(pattern) for pattern in (
    rb"<f\s[^>]*(?:array|dataTable)", rb"<c\s[^>]*:", rb"<\w+:", rb"</\w+:"))


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
        if body.count(b"<row") != len(starts) or (
                body.count(b"<c") != body.count(b'<c r="') and _CELL_WITHOUT_REF.search(body)):
            raise _Decline  # rows or cells without their reference: not from Excel or openpyxl
        ends = [start for start, _ in starts[1:]] + [len(body)] * bool(starts)  # none: empty
        for (start, number), end in zip(starts, ends, strict=True):
            if number in self.rows or number < 2:
                raise _Decline
            self.rows[number] = (start, end)
        if body.strip() and not self.rows:
            raise _Decline
        self._owner_cells: dict[int, re.Pattern] = {}
        self.moved_formulas: dict[tuple[int, int], bytes] = {}
        self.moved_by_row: dict[int, list[tuple[bytes, bytes]]] = {}  # old row → (was, is)
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
        owners = self._owners(owner_col, last)
        order = order_of(owners, _LazyBlank(self, stage_col))
        if order == list(range(last - 1)):
            return
        # A person's formula moves as Excel's sort moves it; one that openpyxl cannot move
        # (a reference pushed above row 1...) leaves every row where it is, as on the slow path.
        self.moved_formulas = {}
        self.moved_by_row = {}
        shapes: dict[str, bool] = {}  # _moved_formula's
        for new, old_index in enumerate(order, 2):
            old = old_index + 2
            span = self.rows.get(old)
            if old == new or span is None or b"<f" not in self.body[span[0]:span[1]]:
                continue
            for col, inner in self._formula_cells(old):
                if inner and b"<f" in inner and col != stage_col:
                    moved = _moved_formula(inner, col, old, new, shapes)
                    if moved is None:
                        return
                    self.moved_formulas[(old, col)] = moved
                    self.moved_by_row.setdefault(old, []).append((inner, moved))
        self.order = order
        self.grouped_last = last  # the entirely blank rows went to the end
        while self.grouped_last > 2 and self._blank(order[self.grouped_last - 2] + 2, stage_col):
            self.grouped_last -= 1

    def _formula_cells(self, number: int) -> list[tuple[int, bytes | None]]:
        """(column, inner XML) of the cells of row ``number`` that hold "<f": found from each
        "<f" back to its cell, not by reading every cell (_cells, the fallback)."""
        start, end = self.rows[number]
        body = self.body
        found = []
        at = body.find(b"<f", start, end)
        while at >= 0:
            # the cell as _CELL matches it: its tag to the first ">", its XML to "</c>"
            cell = body.rfind(b"<c ", start, at)
            tag_end = body.find(b">", cell, end) if cell >= 0 else -1
            close = body.find(b"</c>", tag_end, end) if tag_end >= 0 else -1
            ref = _REF.match(_attrs(body[cell + 2:tag_end]).get(b"r", b"")) if (
                0 <= tag_end < at < close and body[tag_end - 1] != ord("/")) else None
            if ref is None:
                return [(col, inner) for col, _, inner, _ in self._cells(number)]
            found.append((column_index_from_string(ref.group(1).decode().upper()),
                          body[tag_end + 1:close]))
            at = body.find(b"<f", close, end)
        return found

    def _owners(self, owner_col: int, last: int) -> list[object]:
        """The owner cell's value of rows 2..last: one scan of the body for the cells written
        as Excel and openpyxl write them (reference first), each distinct cell's XML read once;
        a row whose cell that misses is looked up on its own."""
        letter = get_column_letter(owner_col).encode()
        owners: list[object] = [None] * (last - 1)
        found = [False] * (last - 1)
        values: dict[tuple[bytes, bytes | None], object] = {}
        rows = self.rows
        for match in re.finditer(rb'<c r="' + letter + rb'(\d+)"([^>]*?)(?:/>|>(.*?)</c>)',
                                 self.body):
            number = int(match.group(1))
            span = rows.get(number)
            if number > last or span is None or not span[0] <= match.start() < span[1]:
                continue  # not that row's cell: the lookup below decides
            key = match.group(2, 3)
            value = values.get(key, values)
            if value is values:
                value = values[key] = self._value(_attrs(key[0]), key[1])
            owners[number - 2] = value
            found[number - 2] = True
        for number in range(2, last + 1):
            if not found[number - 2] and number in rows:
                owners[number - 2] = self._owner(number, owner_col)
        return owners

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

    def _row_fast(self, inner: bytes, old: int, new: int, stage_col: int | None,
                  letter: bytes, stage_xml: bytes | None) -> bytes | None:
        """The cells of a row (``inner``, its XML inside <row>) at row ``new`` by replacing
        bytes (what the cell-by-cell rewrite in _row gives, a few times faster): only for cells
        with the attributes r, s, t as Excel and openpyxl write them; None for anything else."""
        count = inner.count(b"<c")
        if len(_PLAIN_CELL_TAG.findall(inner)) != count:
            return None  # other attributes (cm, vm, ph), other quoting, rich inline text
        for before, after in self.moved_by_row.get(old, ()):
            inner = inner.replace(before, after)  # a formula moves the same way in every column
        if stage_col is not None:
            at = inner.find(b'<c r="%s%d"' % (letter, old))
            if at < 0:
                if stage_xml is not None:
                    return None  # a missing StageClass cell: _row puts it in its place
            else:
                tag_end = inner.index(b">", at)
                end = tag_end + 1 if inner[tag_end - 1:tag_end] == b"/" else inner.index(
                    b"</c>", tag_end) + 4
                style = re.search(rb' s="(\d+)"', inner[at:tag_end])
                cell = b"" if stage_xml is None else b'<c r="%s%d"%s>%s</c>' % (
                    letter, old, b' s="%s"' % style.group(1) if style else b"", stage_xml)
                inner = inner[:at] + cell + inner[end:]
                count -= not cell
        parts = _REF_ROW.split(inner)
        if len(parts) - 1 != count:
            return None
        return (b"%d" % new).join(parts)

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
        tag_end = raw.find(b">")  # as _ROW matches it, without its slow search for </row>
        close = raw.find(b"</row>", tag_end)
        tag = raw[4:tag_end]
        if tag == b' r="%d"' % old:  # as openpyxl writes it
            head = [b'<row r="%d"' % new]
        else:
            attrs = _attrs(tag)
            head = [b'<row r="%d"' % new]
            head += [b' %s="%s"' % (key, attrs[key]) for key in _ROW_KEEP if key in attrs]
        if not tag.endswith(b"/") and close >= 0:
            fast = self._row_fast(raw[tag_end + 1:close], old, new, stage_col, letter,
                                  stage_xml)
            if fast is not None:
                return b"".join(head) + b">" + fast + b"</row>"
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


# A person's formula filled down a column is one "shape" on every row: the same text with its
# relative row numbers at the same offsets from the row. openpyxl's Translator (slow: it
# tokenizes) moves the first formula of a shape; where the regex shift below gave the same, the
# regex moves the rest of that shape. Text that only looks like a reference ("A1" in a string)
# shifts under the regex and not under Translator: that shape stays with Translator.
_A1 = re.compile(r"(?<![\w.$])(\$?[A-Z]{1,3})(\$?)(\d+)(?![\w(])")
_MAX_ROW = 1_048_576


def _shifted(text: str, old: int, new: int) -> tuple[str, str | None]:
    """(the formula's shape, the formula with its relative rows moved by new - old; None when
    a row would leave the sheet)."""
    shape, out, at, ok = [], [], 0, True
    for match in _A1.finditer(text):
        head, dollar, digits = match.groups()
        row = int(digits)
        relative = not dollar
        moved = row + new - old if relative else row
        ok = ok and 1 <= moved <= _MAX_ROW
        between = text[at:match.start()]
        shape.append(f"{between}\x00{head}{dollar}{row - old if relative else row}\x00")
        out.append(f"{between}{head}{dollar}{moved}")
        at = match.end()
    shape.append(text[at:])
    out.append(text[at:])
    return "".join(shape), "".join(out) if ok else None


def _moved_formula(inner: bytes, col: int, old: int, new: int, shapes: dict[str, bool]
                   ) -> bytes:
    """A cell's <f> moved from row ``old`` to ``new`` as Excel's sort moves it; None when
    openpyxl's Translator cannot move it. ``shapes``: shape → whether the regex shift of
    _shifted moved it as Translator did (filled in here)."""
    from openpyxl.formula.translate import Translator

    match = _F.search(inner)
    if match is None or match.group(2) is None:
        return inner
    letter = get_column_letter(col)
    text = "=" + _text(match.group(2))
    shape, quick = _shifted(text, old, new)
    trusted = shapes.get(shape) if quick is not None else False
    if trusted:
        moved = quick
    else:
        try:
            moved = Translator(text, origin=f"{letter}{old}").translate_formula(
                f"{letter}{new}")
        except Exception:  # noqa: BLE001 - a formula openpyxl cannot move: None
            return None
        if trusted is None:
            shapes[shape] = moved == quick
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
    from xlkpi.xlsx.package import _sheet_parts

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
            if opened is None:
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
            outside = xml[:rest] + xml[close:]
            if any(marker in outside for marker in _DECLINE) or any(
                    pattern.search(body) for pattern in _DECLINE_IN_ROWS):
                return None  # array formulas, prefixed attributes or elements: not moved by hand
            rows = KeptRows(body, strings)
            _check_shared(rows, xml[opened.end():rest])
            kept[title] = rows
            stripped[part] = xml[:rest] + xml[close:]
    except _Decline:
        return None
    dropped: set[str] = set()
    for part in _generated_parts(archive, parts, strings, set(wanted.values())):
        # refresh removes these tabs and writes them again: their cells and charts unread
        xml = archive.read(part)
        opened = _SHEET_DATA.search(xml)
        close = xml.find(b"</sheetData>")
        if opened is None or opened.group(0).endswith(b"/>") or close < 0:
            continue
        xml = xml[:opened.end()] + xml[close:]
        without_charts = re.sub(rb"<drawing\s[^>]*/>", b"", xml)
        if b":id=" in without_charts:  # a relationship openpyxl would look for: all kept
            stripped[part] = xml
            continue
        stripped[part] = without_charts
        folder, _, name = part.rpartition("/")
        dropped.add(f"{folder}/_rels/{name}.rels")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for info in archive.infolist():
            if info.filename in dropped:
                continue
            data = stripped.get(info.filename)
            out.writestr(info.filename, archive.read(info) if data is None else data)
    wb = load(io.BytesIO(buffer.getvalue()))
    wb.__class__ = SplicedWorkbook
    setattr(wb, ROWS_ATTR, kept)
    wb._xlkpi_original = original  # the values of the rows, should a reader ask (reader.py)
    wb._xlkpi_strings = archive.read(_SST_PART) if strings is not None else None
    return wb


def _generated_parts(archive: zipfile.ZipFile, parts: dict[str, str],
                     strings: list[bytes] | None, keep: set[str]) -> set[str]:
    """The sheet parts of the tabs the hidden _xlkpi sheet lists as generated, read from the
    cells workbook.generated_sheets reads (none when it is missing or not xlkpi's)."""
    from xlkpi.tracker.build import MARKER, META, META_HEADER_ROW
    from xlkpi.tracker.model import SETTINGS, TARGETS

    part = parts.get(META)
    if part is None or part not in archive.namelist():
        return set()
    reader = KeptRows.__new__(KeptRows)  # only for _value, which reads only the strings
    reader.strings = strings
    values: dict[int, dict[int, object]] = {}
    for row in _ROW.finditer(archive.read(part)):
        number = _first_row_number(row.group(1))
        if number is None:
            return set()
        cells = values.setdefault(number, {})
        col = 0
        for match in _CELL.finditer(row.group(3) or b""):
            attrs = _attrs(match.group(1))
            found = _REF.match(attrs.get(b"r", b""))
            col = column_index_from_string(found.group(1).decode().upper()) if found else col + 1
            cells[col] = reader._value(attrs, match.group(3))
    first = values.get(1, {})
    if (first.get(1), first.get(2)) != ("generator", MARKER):
        return set()
    titles = {cells.get(1) for number, cells in values.items() if number > META_HEADER_ROW}
    keep = keep | {parts.get(title) for title in (SETTINGS, TARGETS, META)}
    return {parts[title] for title in titles
            if isinstance(title, str) and title in parts and parts[title] not in keep}


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
    from xlkpi.xlsx.package import _sheet_parts

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
                # count (references in the whole workbook) is optional and no longer true:
                # the generated tabs' references are gone, openpyxl writes inline strings
                out.writestr(_SST_PART, re.sub(rb'(<sst\b[^>]*?)\s+count\s*=\s*"\d*"', rb"\1",
                                               strings, count=1))
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

"""A sheet's rows after its header row kept as the file held them (cell XML byte for byte) and
moved as a whole (:class:`KeptRows`), for ``xlkpi refresh`` of a large tracker (splice).

The rows are put in the order ``group`` is given (the tracker's grouped order), renumbered (a
person's formulas translated as Excel's sort moves them), the StageClass-like column given its
formula, style ids kept (openpyxl saves the stylesheet's cell formats in the order it read
them) and shared-string ids kept (splice keeps the table). Anything this cannot move exactly
raises :class:`Decline`. A moved row is rewritten by replacing bytes (its cells' row numbers, a
person's formulas moved once per formula shape, the StageClass cell) where its cells are as
Excel and openpyxl write them, else cell by cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from xlkpi.xlsx.cellxml import CELL, FORMULA, ROW, attrs, cell_value, row_cells
from xlkpi.xlsx.parts import (
    CELL_REF,
    MAX_ROW,
    column_index,
    column_letter,
    escape_text,
    xml_text,
)
from xlkpi.xlsx.stream import CHUNK_ROWS, formula_parts

_ROW_NUMBER = re.compile(rb"""<row\s[^>]*?(?<![\w:])r\s*=\s*["'](\d+)""")
_CELL_WITHOUT_REF = re.compile(rb"<c(?=[\s/>])(?![^>]*?(?<![\w:])r\s*=)")
_ROW_KEEP = (b"s", b"customFormat", b"ht", b"hidden", b"customHeight", b"outlineLevel",
             b"collapsed", b"thickTop", b"thickBot", b"ph")
_CELL_KEEP = (b"t", b"ph")
_PLAIN_CELL_TAG = re.compile(rb'<c r="[A-Z]{1,3}\d+"(?: s="\d+")?(?: t="[a-zA-Z]+")?(?:/>|>)')
# The row number of a cell reference, and of anything else shaped like one (X12" in a text or
# a formula): splits are used only when there are exactly as many as cells (all references).
_REF_ROW = re.compile(rb'(?<=[A-Z])\d+(?=")')


class Decline(Exception):
    """The rows hold something KeptRows does not move exactly."""


class KeptRows:
    """A data sheet's rows after its header row, as the file held them (cell XML kept)."""

    def __init__(self, body: bytes, strings: list[bytes] | None):
        self.body = body
        self.strings = strings  # the shared-string table's <si> contents, or None
        self.rows: dict[int, tuple[int, int]] = {}  # row number → (start, end) in body
        starts = [(match.start(), int(match.group(1))) for match in _ROW_NUMBER.finditer(body)]
        if body.count(b"<row") != len(starts) or (
                body.count(b"<c") != body.count(b'<c r="') and _CELL_WITHOUT_REF.search(body)):
            raise Decline  # rows or cells without their reference: not from Excel or openpyxl
        ends = [start for start, _ in starts[1:]] + [len(body)] * bool(starts)  # none: empty
        for (start, number), end in zip(starts, ends, strict=True):
            if number in self.rows or number < 2:
                raise Decline
            self.rows[number] = (start, end)
        if body.strip() and not self.rows:
            raise Decline
        self._owner_cells: dict[int, re.Pattern] = {}
        self.moved_formulas: dict[tuple[int, int], bytes] = {}
        self.moved_by_row: dict[int, list[tuple[bytes, bytes]]] = {}  # old row → (was, is)
        self.order: list[int] | None = None  # new row n holds old row order[n - 2] + 2
        self.stage: tuple[int, list[str], int] | None = None  # (column, formula parts, last)

    # - values, for grouping -
    def _cells(self, number: int) -> list[tuple[int, dict, bytes | None, bytes]]:
        start, end = self.rows[number]
        return row_cells(ROW.match(self.body, start, end).group(3) or b"")

    def value(self, cell_attrs: dict, inner: bytes | None) -> object:
        """A cell's value (cellxml.cell_value with this sheet's shared strings)."""
        return cell_value(cell_attrs, inner, self.strings)

    def _blank(self, number: int, skip_col: int | None) -> bool:
        if number not in self.rows:
            return True
        for col, cell_attrs, inner, _ in self._cells(number):
            if col != skip_col:
                value = self.value(cell_attrs, inner)
                if value is not None and value != "":
                    return False
        return True

    def last_row(self, skip_col: int | None) -> int:
        if self.order is not None:
            return self.grouped_last
        return self._held_last(skip_col)

    def _held_last(self, skip_col: int | None) -> int:
        """The last row, as the file held them, with a value outside ``skip_col``; 1: none."""
        for number in sorted(self.rows, reverse=True):
            if not self._blank(number, skip_col):
                return number
        return 1

    def column(self, col: int, skip_col: int | None) -> list[object]:
        """The values of column ``col`` (1-based) in rows 2 to the last holding anything but
        ``skip_col``, as the file held them (before any regrouping): what reading the whole
        rows would give for that column, from one scan of the body."""
        return self._owners(col, self._held_last(skip_col))

    def group(self, owner_col: int, stage_col: int | None, order_of) -> None:
        """Put rows 2..last in ``order_of(owners, blank)`` (the list of old row indexes)."""
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
        shapes: dict[str, bool] = {}  # moved_formula's
        for new, old_index in enumerate(order, 2):
            old = old_index + 2
            span = self.rows.get(old)
            if old == new or span is None or b"<f" not in self.body[span[0]:span[1]]:
                continue
            for col, inner in self._formula_cells(old):
                if inner and b"<f" in inner and col != stage_col:
                    moved = moved_formula(inner, col, old, new, shapes)
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
            ref = CELL_REF.match(attrs(body[cell + 2:tag_end]).get(b"r", b"")) if (
                0 <= tag_end < at < close and body[tag_end - 1] != ord("/")) else None
            if ref is None:
                return [(col, inner) for col, _, inner, _ in self._cells(number)]
            found.append((column_index(ref.group(1)),
                          body[tag_end + 1:close]))
            at = body.find(b"<f", close, end)
        return found

    def _owners(self, owner_col: int, last: int) -> list[object]:
        """The owner cell's value of rows 2..last: one scan of the body for the cells written
        as Excel and openpyxl write them (reference first), each distinct cell's XML read once;
        a row whose cell that misses is looked up on its own."""
        letter = column_letter(owner_col).encode()
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
                value = values[key] = self.value(attrs(key[0]), key[1])
            owners[number - 2] = value
            found[number - 2] = True
        for number in range(2, last + 1):
            if not found[number - 2] and number in rows:
                owners[number - 2] = self._owner(number, owner_col)
        return owners

    def _owner(self, number: int, owner_col: int) -> object:
        pattern = self._owner_cells.get(owner_col)
        if pattern is None:  # the one cell of the row in the owner column, found by C code
            letter = re.escape(column_letter(owner_col).encode())
            pattern = self._owner_cells[owner_col] = re.compile(
                rb'<c((?:\s[^>]*?)?\sr\s*=\s*"' + letter + rb'\d+"[^>]*?)(?:/>|>(.*?)</c>)', re.S)
        start, end = self.rows[number]
        at = self.body.find(b' r="%s%d"' % (column_letter(owner_col).encode(), number),
                            start, end)  # the way Excel and openpyxl write it: found fastest
        at = self.body.rfind(b"<c", start, at) if at >= 0 else -1
        match = (CELL.match(self.body, at, end) if at >= 0 else None) or pattern.search(
            self.body, start, end)
        if match is None:
            return None
        return self.value(attrs(match.group(1)), match.group(3 if match.re is CELL else 2))

    def set_stage_class(self, col: int, template: str, last: int) -> None:
        self.stage = (col, formula_parts(template), last)

    # - writing -
    def max_row(self) -> int:
        return max(max(self.rows, default=1), self.stage[2] if self.stage else 1,
                   len(self.order) + 1 if self.order else 1)

    def chunks(self) -> Iterator[bytes]:
        stage_col, parts, last = self.stage if self.stage else (None, None, 1)
        order = self.order
        if order is None and stage_col is None and self._as_written():
            yield self.body[min((start for start, _ in self.rows.values()), default=0):]
            return  # every row as it was (what _row gives each), in one piece
        moved = len(order) + 1 if order else 1
        out: list[bytes] = []
        for number in sorted(set(self.rows) | set(range(2, max(last, moved) + 1))):
            old = order[number - 2] + 2 if number <= moved else number
            out.append(self._row(old, number, stage_col, parts if number <= last else None))
            if len(out) >= CHUNK_ROWS:
                yield b"".join(out)
                out.clear()
        yield b"".join(out)

    def _as_written(self) -> bool:
        """Whether the rows, written where they are, are the body as it is: in order of their
        numbers, no row tag with a prefixed attribute (which _row leaves out)."""
        numbers = list(self.rows)  # in the order of the body
        return numbers == sorted(numbers) and re.search(rb"<row\s[^>]*:", self.body) is None

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
        letter = column_letter(stage_col).encode() if stage_col else b""
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
            row_attrs = attrs(tag)
            head = [b'<row r="%d"' % new]
            head += [b' %s="%s"' % (key, row_attrs[key]) for key in _ROW_KEEP
                     if key in row_attrs]
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


def _cell(col: int, row: int, cell_attrs: dict, inner: bytes | None, stage: bool) -> bytes:
    """A cell's XML at its new place: its style kept (openpyxl saves the stylesheet's cell
    formats in the order it read them, so the ids stay right), cm/vm (metadata openpyxl does
    not keep) and attributes of other namespaces left out."""
    out = [b'<c r="%s%d"' % (column_letter(col).encode(), row)]
    if b"s" in cell_attrs:
        out.append(b' s="%s"' % cell_attrs[b"s"])
    if not stage:
        out += [b' %s="%s"' % (key, cell_attrs[key]) for key in _CELL_KEEP if key in cell_attrs]
    out.append(b"/>" if inner is None else b">%s</c>" % inner)
    return b"".join(out)


class _LazyBlank:
    """blank[i] for an order_of, worked out only for the rows that ask for it."""

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


def _shifted(text: str, old: int, new: int) -> tuple[str, str | None]:
    """(the formula's shape, the formula with its relative rows moved by new - old; None when
    a row would leave the sheet)."""
    shape, out, at, ok = [], [], 0, True
    for match in _A1.finditer(text):
        head, dollar, digits = match.groups()
        row = int(digits)
        relative = not dollar
        moved = row + new - old if relative else row
        ok = ok and 1 <= moved <= MAX_ROW
        between = text[at:match.start()]
        shape.append(f"{between}\x00{head}{dollar}{row - old if relative else row}\x00")
        out.append(f"{between}{head}{dollar}{moved}")
        at = match.end()
    shape.append(text[at:])
    out.append(text[at:])
    return "".join(shape), "".join(out) if ok else None


def moved_formula(inner: bytes, col: int, old: int, new: int, shapes: dict[str, bool]
                  ) -> bytes:
    """A cell's <f> moved from row ``old`` to ``new`` as Excel's sort moves it; None when
    openpyxl's Translator cannot move it. ``shapes``: shape → whether the regex shift of
    _shifted moved it as Translator did (filled in here)."""
    from openpyxl.formula.translate import Translator

    match = FORMULA.search(inner)
    if match is None or match.group(2) is None:
        return inner
    letter = column_letter(col)
    text = "=" + xml_text(match.group(2))
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
    return inner[:start] + escape_text(moved[1:]).encode() + inner[end:]


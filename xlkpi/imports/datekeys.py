"""The date column of an event export decided across chunks (events.py): each cell made an id
of a distinct (shape, date part) key, values.TextShapes' grouping kept from chunk to chunk, with
what values.read_date_column decides from; cells come as strings (pandas' chunks) or as bytes
(splitcsv's, grouped by byte shapes and decoded only when looked at)."""

from __future__ import annotations

import operator
from collections import Counter

import numpy as np
import pandas as pd

from xlkpi.imports import splitcsv, values
from xlkpi.imports.counting import first_of_each


class NotStreamed(Exception):
    """The file is to be read whole (read.read_table), as events.py cannot read it so."""


_KEPT_TEXT = 1 << 20  # at most this many cell texts kept for messages before giving up


class DateKeys:
    """A date column's cells as ids of distinct (shape, date part) keys, chunk by chunk, with
    what values.read_date_column decides from: each shape's kind, count and first row."""

    def __init__(self) -> None:
        self.shape_ids: dict[str, int] = {}
        self.shape_kind: list[str | None] = []
        self.shape_blank: list[bool] = []
        self.shape_span: list[tuple[int, int]] = []  # where in a cell its date part is
        self.shape_first: list[int] = []  # row number of its first cell
        self.shape_count: list[int] = []
        self.key_ids: dict[tuple[int, str], int] = {}
        self.key_shape: list[int] = []
        self.key_cell: list[str] = []  # the first cell with the key
        self.key_count: list[int] = []
        self.key_suspect: list[bool] = []  # not a date in some order: its cells are kept
        self.texts: dict[int, str] = {}  # row number → cell, for cells that may be problems
        self.majorities: set[str] = set()  # the most common kind of each chunk

    def _shape(self, shape: str, first_row: int) -> int:
        found = self.shape_ids.get(shape)
        if found is not None:
            return found
        blank = values.is_blank(shape)
        kind = None if blank else values.date_kind(shape)
        offset = len(shape) - len(shape.lstrip())
        span = (offset, len(shape.rstrip()))  # not a format's: the cell stripped
        if kind in values.DATE_FORMATS:
            match = values.DATE_FORMATS[kind].fullmatch(shape.strip())
            spans = [match.span(name) for name in values.DATE_PARTS
                     if name in match.groupdict() and match.span(name) != (-1, -1)]
            span = (min(spans)[0] + offset, max(end for _, end in spans) + offset)
        self.shape_ids[shape] = sid = len(self.shape_kind)
        self.shape_kind.append(kind)
        self.shape_blank.append(blank)
        self.shape_span.append(span)
        self.shape_first.append(first_row)
        self.shape_count.append(0)
        return sid

    def add(self, cells: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The key id of each cell (-1: blank) of one chunk; ``rows``: their row numbers."""
        if len(cells) and pd.api.types.infer_dtype(cells, skipna=False) != "string":
            raise NotStreamed  # only text comes from a CSV
        return self._add(_shape_groups(cells.tolist()), rows, cells.__getitem__)

    def add_split(self, split: splitcsv.Split, column: int, rows: np.ndarray) -> np.ndarray:
        """As add, from a chunk split by splitcsv: cells are decoded only to be kept."""
        starts, lengths = split.cells(column)
        return self._add(_split_shape_groups(split, starts, lengths), rows,
                         lambda position: split.text(starts[position], lengths[position]))

    def _add(self, groups, rows: np.ndarray, cell_text) -> np.ndarray:
        """add's work on the cells' shape groups (_shape_groups); ``cell_text``: a cell's
        text by its position."""
        ids = np.full(len(rows), -1, dtype=np.int64)
        by_kind: Counter = Counter()
        for shape, positions, group, matrix in groups:
            sid = self._shape(shape, int(rows[positions[0]]))
            self.shape_count[sid] += len(positions)
            kind = self.shape_kind[sid]
            if kind is None and self.shape_blank[sid]:
                continue
            by_kind[kind] += len(positions)
            low, high = self.shape_span[sid]
            digits = [column for column in range(low, high) if shape[column] == "9"]
            if matrix is not None and len(digits) <= 18:
                # one shape: a part is told apart by its digits alone, read as one number
                number = (matrix[:, digits].astype(np.int64) - 48) @ (
                    10 ** np.arange(len(digits) - 1, -1, -1, dtype=np.int64))
                codes, _ = pd.factorize(number)
            else:
                codes, _ = pd.factorize(np.asarray(
                    list(map(operator.itemgetter(slice(low, high)), group)), dtype=object))
            first = first_of_each(codes)
            counts = np.bincount(codes, minlength=len(first)).tolist()
            key_of = np.empty(len(first), dtype=np.int64)
            for code, index in enumerate(first.tolist()):
                cell = group[index]
                key_of[code] = self._key(sid, cell[low:high], cell)
                self.key_count[key_of[code]] += counts[code]
            ids[positions] = key_of[codes]
        majority = max(by_kind, key=by_kind.get) if by_kind else None
        if majority is not None:
            self.majorities.add(majority)
        suspect = np.asarray(self.key_suspect + [False], dtype=bool)[ids]
        kinds = np.asarray([kind != majority for kind in self.shape_kind] + [False],
                           dtype=bool)
        suspect |= kinds[np.asarray(self.key_shape + [len(self.shape_kind)])[ids]]
        for position in np.flatnonzero(suspect).tolist():
            self.texts[int(rows[position])] = cell_text(position)
        if len(self.texts) > _KEPT_TEXT:
            raise NotStreamed  # a column of mixed formats: read whole
        return ids

    def _key(self, sid: int, part: str, cell: str) -> int:
        found = self.key_ids.get((sid, part))
        if found is not None:
            return found
        kind = self.shape_kind[sid]
        if kind is None:
            suspect = True
        else:
            orders = ("m/d", "d/m") if kind == "slashed" else ("m/d",)
            suspect = any(isinstance(values.date_or_reason(cell, kind, order), str)
                          for order in orders)
        self.key_ids[(sid, part)] = kid = len(self.key_shape)
        self.key_shape.append(sid)
        self.key_cell.append(cell)
        self.key_count.append(0)
        self.key_suspect.append(suspect)
        return kid

    def decide(self) -> tuple[str, str, str]:
        """(kind, order, the decision in words), as values.read_date_column decides."""
        kind = values.elected_kind(zip(self.shape_kind, self.shape_first, self.shape_count,
                                       strict=True))
        if kind == "native":
            return kind, "m/d", "blank"  # text cells only: no shape was a date
        found = None
        if kind == "slashed":
            firsts = seconds = 0
            for kid, sid in enumerate(self.key_shape):
                if self.shape_kind[sid] == "slashed":
                    part = values.DATE_FORMATS["slashed"].fullmatch(self.key_cell[kid].strip())
                    firsts += (int(part.group("a")) > 12) * self.key_count[kid]
                    seconds += (int(part.group("b")) > 12) * self.key_count[kid]
            found = None if firsts == seconds else ("d/m" if firsts > seconds else "m/d")
        return (kind, *values.kind_decision(kind, found, None))

    def read(self) -> tuple[str, np.ndarray, np.ndarray, dict[int, str]]:
        """(the decision, each key's day as an ordinal (-1: none), whether each key is a
        problem, the problems' reasons by key)."""
        kind, order, decision = self.decide()
        if self.majorities - {kind}:
            raise NotStreamed  # some chunk's common cells are problems: their texts are gone
        days = np.full(len(self.key_shape), -1, dtype=np.int64)
        problem = np.zeros(len(self.key_shape), dtype=bool)
        reasons: dict[int, str] = {}
        for kid, sid in enumerate(self.key_shape):
            shape_kind = self.shape_kind[sid]
            if shape_kind != kind:
                problem[kid] = True
                reasons[kid] = values.not_a_date(shape_kind, decision)
                continue
            value = values.date_or_reason(self.key_cell[kid], kind, order)
            if isinstance(value, str):
                problem[kid], reasons[kid] = True, value
            else:
                days[kid] = value.toordinal()
        return decision, days, problem, reasons


def _code_groups(codes: np.ndarray) -> list[np.ndarray]:
    """The positions of each code (pandas.factorize's, from 0), in order."""
    count = int(codes.max(initial=-1)) + 1
    if count == 1:
        return [np.arange(len(codes))]
    if count <= 8:
        return [np.flatnonzero(codes == code) for code in range(count)]
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)


def _shape_groups(texts: list[str]):
    """(shape, positions, cells, an ASCII cells' bytes matrix or None) for each shape of
    ``texts`` (values.TextShapes: each digit made a 9), positions in row order. Cells of one
    shape have one length: each length is looked at as a matrix of bytes when it is ASCII."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    groups = _code_groups(pd.factorize(lengths)[0])
    for positions in groups:
        if not len(positions):
            continue
        cells = (texts if len(groups) == 1 else
                 list(operator.itemgetter(*positions.tolist())(texts)) if len(positions) > 1
                 else [texts[positions[0]]])
        width = len(cells[0])
        joined = "".join(cells)
        if width and joined.isascii():
            matrix = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, width)
            shaped = np.where((matrix >= 48) & (matrix <= 57), np.uint8(57), matrix)
            if (shaped == shaped[0]).all():
                yield shaped[0].tobytes().decode("ascii"), positions, cells, matrix
                continue
        shapes = [cell.translate(values.DIGITS_AS_NINES) for cell in cells]
        shape_codes, shape_texts = pd.factorize(np.asarray(shapes, dtype=object))
        for code, shape in enumerate(shape_texts.tolist()):
            inside = np.flatnonzero(shape_codes == code)
            yield (shape, positions[inside], [cells[index] for index in inside.tolist()],
                   None)


def _split_shape_groups(split: splitcsv.Split, starts: np.ndarray, lengths: np.ndarray):
    """_shape_groups of a split chunk's cells, shaped as bytes: ASCII shapes come with the
    matrix of their cells' bytes and decode a cell only when it is looked at; the cells of
    other shapes, and cells too long for a matrix, are decoded and grouped as text."""
    short = np.flatnonzero(lengths <= splitcsv.LONGEST)
    if len(short):
        matrix = split.matrix(starts[short], lengths[short]).view(np.uint8).reshape(
            len(short), -1)
        shaped = np.where((matrix >= 48) & (matrix <= 57), np.uint8(57), matrix)
        codes = splitcsv.row_codes(shaped.view(np.uint64))
        for inside in _code_groups(codes):
            positions = short[inside]
            width = int(lengths[positions[0]])
            shape = shaped[inside[0], :width].tobytes()
            if shape.isascii():
                yield (shape.decode("ascii"), positions,
                       _SplitCells(split, starts[positions], lengths[positions]),
                       matrix[inside, :width] if width else None)
            else:
                yield from _decoded_groups(split, starts, lengths, positions)
    long = np.flatnonzero(lengths > splitcsv.LONGEST)
    if len(long):
        yield from _decoded_groups(split, starts, lengths, long)


def _decoded_groups(split: splitcsv.Split, starts: np.ndarray, lengths: np.ndarray,
                    positions: np.ndarray):
    texts = split.texts(starts[positions], lengths[positions])
    for shape, inside, group, matrix in _shape_groups(texts):
        yield shape, positions[inside], group, matrix


class _SplitCells:
    """A shape group's cells, each decoded when it is looked at."""

    def __init__(self, split: splitcsv.Split, starts: np.ndarray, lengths: np.ndarray) -> None:
        self.split, self.starts, self.lengths = split, starts, lengths

    def __getitem__(self, index: int) -> str:
        return self.split.text(int(self.starts[index]), int(self.lengths[index]))

    def __iter__(self):
        return iter(self.split.texts(self.starts, self.lengths))

"""A CSV without a quote character, split with numpy: what events.py reads an event export by
when it can, in a fraction of the time pandas' parser takes to make a Python string of every
cell.

Without a quote, a record is one line and a cell the bytes between two separators, so the
file is read in whole-record chunks and each chunk's separators and line ends are found at
once. A column's cells are never made strings one by one: each cell's bytes (zero-padded to
whole 8-byte words: no cell holds a NUL) are hashed, the hashes factorized, and every cell
compared with the first cell of its code, so that two texts sharing a hash can never pass for
one; only the distinct cells are decoded. Whatever is not that simple raises
:class:`NotPlain` and the caller reads the file with pandas: a quote or a NUL anywhere, a
"\\r" that does not end a line, a record without exactly the header's number of fields (a
blank line, a short or wide row), bytes the file's encoding cannot decode.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

import numpy as np
import pandas as pd

from xlkpi.imports.counting import first_of_each

READ_BYTES = 4 << 20  # the file is read in pieces of this size, joined into chunks
LONGEST = 64  # bytes: a longer cell is hashed by Python, not from a matrix of words
PADDING = LONGEST + 8  # a matrix's words can be read from any cell's start, however short
_WORD_MASKS = np.array([(1 << (8 * count)) - 1 for count in range(8)] + [(1 << 64) - 1],
                       dtype=np.uint64)  # the first n bytes of a little-endian word
# a random odd multiplier for each word of a cell: a cell's hash is the sum of its words'
# products (wrapping), so the zero words after its end add nothing, however wide the matrix
_MULTIPLIERS = np.random.default_rng(20261207).integers(
    0, 1 << 63, LONGEST // 8, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_DECODING_SLICE = 1 << 20


class NotPlain(Exception):
    """The file is not a quote-free CSV of even rows: pandas is to read it."""


def chunks(path, rows: int) -> Iterator[tuple[int, int, bytes]]:
    """(the index of its first record, its number of records, the bytes) of each run of
    ``rows`` records (the last may be shorter), each record ending in a line feed; the bytes
    are followed by PADDING zero bytes."""
    with open(path, "rb") as handle:
        pending, first, ended = b"", 0, False
        while pending or not ended:
            pieces, lines = [pending], [_line_feeds(pending)]
            while sum(lines) < rows and not ended:
                piece = handle.read(READ_BYTES)
                ended = not piece
                pieces.append(piece)
                lines.append(_line_feeds(piece))
            data = b"".join(pieces)
            if sum(lines) >= rows:  # the chunk ends after the rows-th line feed: in the last piece
                offset = len(data) - len(pieces[-1])
                ends = np.flatnonzero(np.frombuffer(data, np.uint8, offset=offset) == 10)
                cut = offset + int(ends[rows - sum(lines[:-1]) - 1]) + 1
                chunk, pending, count = memoryview(data)[:cut], data[cut:], rows
            else:
                chunk, pending, count = data, b"", sum(lines)
                if chunk and not chunk.endswith(b"\n"):
                    chunk += b"\n"  # the last record needs no line break in a file
                    count += 1
            if not chunk:
                return
            yield first, count, b"".join((chunk, bytes(PADDING)))
            first += count


def _line_feeds(data: bytes) -> int:
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 10))


class Split:
    """One chunk of ``lines`` records (as chunks gives it, padding and all), from its
    ``skip``-th record on, split into cells."""

    def __init__(self, data: bytes, lines: int, skip: int, separator: str, width: int,
                 encoding: str) -> None:
        size = len(data) - PADDING
        self.crlf = b"\r" in data
        if b'"' in data or data.find(b"\0", 0, size) >= 0 or (
                self.crlf and data.count(b"\r") != data.count(b"\r\n")):
            raise NotPlain
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding  # the BOM is gone
        _check_encoding(data, self.encoding)
        self.rows, self.width = lines - skip, width
        self.data = data
        self.bytes = np.frombuffer(data, dtype=np.uint8)
        # every cell's first 8 bytes as one number, at whatever offset it starts
        self.words = np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
        text = self.bytes[:size]
        feeds = np.flatnonzero(text == 10)
        start = int(feeds[skip - 1]) + 1 if skip else 0
        feeds = feeds[skip:]
        separators = np.flatnonzero(text == ord(separator))
        separators = separators[np.searchsorted(separators, start):]
        if len(separators) != self.rows * (width - 1):
            raise NotPlain
        # Each row's fields end at its separators, then its line feed: every row has exactly
        # the header's fields when its first separator follows the line feed before it and
        # its last comes before its own.
        self.ends = np.empty((self.rows, width), dtype=np.int64)
        self.ends[:, -1] = feeds
        self.ends[:, :-1] = separators.reshape(self.rows, width - 1)
        self.line_starts = np.concatenate(([start], feeds[:-1] + 1))[:self.rows]
        if width > 1 and self.rows and not ((self.ends[:, 0] >= self.line_starts).all()
                                            and (self.ends[:, -2] < feeds).all()):
            raise NotPlain

    def cells(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """(where each row's cell starts, its length in bytes)."""
        starts = self.ends[:, column - 1] + 1 if column else self.line_starts
        ends = self.ends[:, column]
        if self.crlf and column == self.width - 1:
            ends = ends - (self.bytes[ends - 1] == 13)
        return starts, ends - starts

    def matrix(self, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The cells' bytes as rows of little-endian words, zero after each cell's end
        (cells of at most LONGEST bytes)."""
        count = max(1, -(-int(lengths.max(initial=0)) // 8))
        steps = 8 * np.arange(count)
        words = self.words[starts[:, None] + steps]
        words &= _WORD_MASKS[np.clip(lengths[:, None] - steps, 0, 8)]
        return words

    def texts(self, starts: np.ndarray, lengths: np.ndarray) -> list[str]:
        """The cells decoded."""
        return _decoded(self.bytes, starts, lengths, self.encoding)

    def text(self, start: int, length: int) -> str:
        return self.data[start:start + length].decode(self.encoding)

    def factorize(self, column: int) -> tuple[np.ndarray, list[str]]:
        """pandas.factorize of the column's cells as text: (each row's code, in the order the
        cells first appear; the distinct cells)."""
        starts, lengths = self.cells(column)
        codes = self._codes(starts, lengths)
        first = first_of_each(codes)
        return codes, self.texts(starts[first], lengths[first])

    def _codes(self, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """A code for each cell, equal for equal cells, numbered as they first appear."""
        long = lengths > LONGEST
        if not long.any():
            return row_codes(self.matrix(starts, lengths))
        short = np.flatnonzero(~long)
        found = np.empty(len(starts), dtype=np.int64)
        found[short] = row_codes(self.matrix(starts[short], lengths[short]))
        cells = [self.data[start:start + length] for start, length in zip(
            starts[long].tolist(), lengths[long].tolist(), strict=True)]
        found[long] = pd.factorize(np.asarray(cells, dtype=object))[0] + len(short)
        return pd.factorize(found)[0]


def row_codes(words: np.ndarray) -> np.ndarray:
    """A code for each row of a matrix of words, equal for equal rows, numbered as they first
    appear; NotPlain in the unlikely case that two different rows share a hash."""
    codes = pd.factorize(_row_hashes(words))[0]
    _check_same(words, words[first_of_each(codes)][codes])
    return codes


def _row_hashes(words: np.ndarray) -> np.ndarray:
    hashes = words[:, 0] * _MULTIPLIERS[0]
    for column in range(1, words.shape[1]):
        hashes += words[:, column] * _MULTIPLIERS[column]
    return hashes


def _check_same(words: np.ndarray, expected: np.ndarray) -> None:
    if not (words == expected).all():
        raise NotPlain  # two different cells share a hash


class CellIds:
    """One column's distinct cells across chunks: an id for each, in the order they first
    appear. A cell is known by the hash of its bytes, checked against the bytes kept of the
    first cell with that hash; cells longer than LONGEST bytes by their bytes."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.hashes = pd.Index(np.zeros(0, dtype=np.uint64))
        self.count = 0  # ids of cells up to LONGEST bytes
        self.words = np.zeros((1024, LONGEST // 8), dtype=np.uint64)  # each id's, from 0
        self.long: dict[bytes, int] = {}
        self.ids: list[np.ndarray] = []  # each chunk's rows'

    def add(self, split: Split, column: int) -> None:
        starts, lengths = split.cells(column)
        ids = np.empty(len(starts), dtype=np.int64)
        short = np.flatnonzero(lengths <= LONGEST)
        words = split.matrix(starts[short], lengths[short])
        width = words.shape[1]
        hashes = _row_hashes(words)
        codes = pd.factorize(hashes)[0]
        first = first_of_each(codes)
        distinct = words[first]
        _check_same(words, distinct[codes])
        known = self.hashes.get_indexer(hashes[first])
        old = np.flatnonzero(known >= 0)
        _check_same(distinct[old], self.words[known[old], :width])
        _check_same(self.words[known[old], width:], 0)
        new = np.flatnonzero(known < 0)
        known[new] = self.count + np.arange(len(new))
        self.hashes = self.hashes.append(pd.Index(hashes[first[new]]))
        if self.count + len(new) > len(self.words):  # room for twice as many
            grown = np.zeros((2 * (self.count + len(new)), LONGEST // 8), dtype=np.uint64)
            grown[:self.count] = self.words[:self.count]
            self.words = grown
        self.words[self.count:self.count + len(new), :width] = distinct[new]
        self.count += len(new)
        ids[short] = known[codes]
        for position in np.flatnonzero(lengths > LONGEST).tolist():
            cell = split.data[starts[position]:starts[position] + lengths[position]]
            ids[position] = self.long.setdefault(cell, -1 - len(self.long))
        self.ids.append(ids)

    def read(self) -> tuple[np.ndarray, list[str]]:
        """(each row's id, the distinct cells decoded)."""
        # as fixed-width bytes, each cell without the zero bytes after it (no cell holds one)
        cells = self.words[:self.count].view(f"S{LONGEST}").ravel().tolist()
        texts = b"\n".join(cells).decode(self.encoding).split("\n") if cells else []
        texts += [cell.decode(self.encoding) for cell in self.long]
        ids = np.concatenate(self.ids) if self.ids else np.zeros(0, dtype=np.int64)
        return np.where(ids < 0, self.count - 1 - ids, ids), texts


def _decoded(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
             encoding: str) -> list[str]:
    """The cells of ``data`` (bytes) decoded: joined by line feeds (no cell holds one), to be
    decoded at once."""
    if not len(starts):
        return []
    spans = lengths + 1
    offsets = np.cumsum(spans) - spans
    index = np.arange(int(spans.sum())) + np.repeat(starts - offsets, spans)
    joined = data[np.minimum(index, len(data) - 1)]
    joined[offsets + lengths] = 10
    return joined[:-1].tobytes().decode(encoding).split("\n")


def _check_encoding(data: bytes, encoding: str) -> None:
    """NotPlain unless every byte decodes (read.decode would otherwise read the whole file as
    cp1251, or fail)."""
    if data.isascii():
        return
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _DECODING_SLICE):
            decoder.decode(view[start:start + _DECODING_SLICE])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise NotPlain from None

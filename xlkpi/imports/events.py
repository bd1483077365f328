"""Per-e-mail event exports (one row per event) counted into one Emails record per day and
owner, read in chunks so that a file of millions of events is never held whole.

:func:`read_events` reads only the columns the profile uses (pandas' C parser, ``chunksize``)
and reduces each chunk at once to integer codes: the event, owner and recipient of each row
as ids into tables of their distinct texts, the date as an id into a table of distinct (shape,
date part) keys (values.TextShapes' grouping, kept across chunks: datekeys.py). The date
column's format is decided from all of its cells once the file is read, exactly as
values.read_date_column decides it, and counting.aggregate counts the events from the codes;
records.py's whole-table path counts through the same function. Whatever the chunked reading
cannot settle as the whole-table path does (blank rows inside the data, a report trailer, a
file that is not plain UTF-8 or cp1251 CSV, a chunk whose dates are mostly of a format the
column is not decided as) raises :class:`NotStreamed` and the caller reads the file whole.

A file without a quote near its end is first read by splitcsv (:func:`_read_plain`): the same
chunks of CHUNK_ROWS records, split with numpy, each column's cells factorized by their bytes
and only the distinct ones decoded, the dates grouped by byte shapes (DateKeys.add_split), the
recipients known across chunks by their bytes (SplitFoldedIds). It gives what pandas' chunks
give, NotStreamed where they would; what splitcsv cannot split (a quote or NUL anywhere, a
lone "\r", a row without the header's number of fields, bytes the encoding cannot decode:
splitcsv.NotPlain) is read by pandas as above.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import re
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xlkpi.imports import splitcsv, values
from xlkpi.imports.counting import EventCodes
from xlkpi.imports.datekeys import DateKeys, NotStreamed
from xlkpi.imports.read import (
    HEADER_SEARCH_ROWS,
    PANDAS_ENCODINGS,
    TRAILER,
    clean_header,
    distinct_headers,
    has_text_mask,
    header_index,
    looks_like_html,
    sniff_separator,
)
from xlkpi.imports.sources import Match, header_key

CHUNK_ROWS = 200_000  # ~60 MB of cells per chunk at lemlist's width
HEAD_BYTES = 4 << 20  # the header and the first rows are looked for in this much of the file


@dataclass
class Head:
    """What the first rows of a CSV say: how to read it and where its header is."""

    encoding: str  # a key of read.PANDAS_ENCODINGS
    separator: str
    top: int  # the header's index among the file's records
    header: list[str]  # distinct, cleaned
    width: int  # the widest of the first rows
    rows: list[list[str]]  # the first records, as the csv module reads them


def csv_head(path: Path) -> Head | None:
    """The head of a CSV read from its first bytes only; None for anything else (a workbook,
    HTML, UTF-16, a file whose first rows are longer than the sample)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(HEAD_BYTES)
            whole = len(handle.read(1)) == 0
    except OSError:
        return None
    if data[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0") or data.startswith(
            (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    if data.startswith(codecs.BOM_UTF8):
        encoding, text = "UTF-8 with BOM", _decode(data[3:], "utf-8", whole)
    else:
        encoding, text = "UTF-8", _decode(data, "utf-8", whole)
        if text is None:  # read.decode takes cp1251 when the file is not UTF-8
            encoding, text = "cp1251", _decode(data, "cp1251", True)  # None: no text
    if text is None or looks_like_html(text):
        return None
    separator = sniff_separator(text)
    rows = list(itertools.islice(csv.reader(io.StringIO(text, newline=""),
                                            delimiter=separator), HEADER_SEARCH_ROWS + 2))
    if not whole and len(rows) <= HEADER_SEARCH_ROWS + 1:
        return None  # the last row read may be cut off: the sample holds too few rows
    rows = rows[:HEADER_SEARCH_ROWS + 1]
    if not rows:
        return None
    top = header_index(rows)
    header = distinct_headers([clean_header(name) for name in rows[top]])
    return Head(encoding, separator, top, header, max(map(len, rows[:HEADER_SEARCH_ROWS])),
                rows)


def _decode(data: bytes, encoding: str, whole: bool) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(data, final=whole)
    except UnicodeDecodeError:
        return None


def _factorized(cells: np.ndarray) -> tuple[np.ndarray, list]:
    codes, distinct = pd.factorize(cells)
    return codes, distinct.tolist()


class FoldedIds:
    """A recipient column as ids of its folded texts (what an event counts once per: trimmed,
    case folded, "" for blank). Each chunk keeps its distinct cells; they are put together,
    and each distinct one folded, once at the end."""

    def __init__(self) -> None:
        self.chunks: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, codes: np.ndarray, distinct: list) -> None:
        """One chunk's cells as pandas.factorize gives them: codes and the distinct cells."""
        self.chunks.append((codes, np.asarray(distinct, dtype=object)))

    def ids(self, selected: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """(each selected row's id, the distinct folded texts)."""
        if not self.chunks:
            return np.zeros(0, dtype=np.int64), []
        cells, distinct = pd.factorize(np.concatenate([found for _, found in self.chunks]))
        ids, keys = _folded(distinct.tolist())
        ids = ids[cells]
        out, offset = [], 0
        for codes, found in self.chunks:
            out.append(ids[offset:offset + len(found)][codes])
            offset += len(found)
        return np.concatenate(out)[selected], keys


class SplitFoldedIds:
    """FoldedIds of a recipient column split by splitcsv: its distinct cells are known across
    chunks by their bytes, each decoded once."""

    def __init__(self, encoding: str) -> None:
        self.cells = splitcsv.CellIds(encoding)

    def add(self, split: splitcsv.Split, column: int) -> None:
        self.cells.add(split, column)

    def ids(self, selected: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """As FoldedIds.ids."""
        cells, distinct = self.cells.read()
        ids, keys = _folded(distinct)
        return ids[cells[selected]], keys


def _folded(distinct: list[str]) -> tuple[np.ndarray, list[str]]:
    """(the id of each distinct cell's folded text, the folded texts): values._text of a
    CSV's cell (always text, "" for blank) folded."""
    folded = [text.strip().replace("\r\n", "\n").casefold() for text in distinct]
    ids, keys = pd.factorize(np.asarray(folded, dtype=object))
    return ids, keys.tolist()


class TextIds:
    """Distinct texts (values.read_text_column's: trimmed, None for blank) and their ids,
    kept across chunks."""

    def __init__(self) -> None:
        self.ids: dict[object, int] = {}
        self.texts: list = []

    def add(self, codes: np.ndarray, distinct: list) -> np.ndarray:
        """Ids of the cells ``distinct[code]`` (pandas.factorize's codes and distinct cells)."""
        mapped = np.empty(len(distinct), dtype=np.int64)
        for code, text in enumerate(values.read_text_column(distinct).values):
            found = self.ids.get(text)
            if found is None:
                found = self.ids[text] = len(self.texts)
                self.texts.append(text)
            mapped[code] = found
        return mapped[codes]


# --- reading in chunks -----------------------------------------------------------------------

@dataclass
class EventsRead:
    codes: EventCodes
    rows_read: int
    decision: str
    problems: list[tuple[int, str]]  # (row, reason) of cells that are not dates


def read_events(path: Path, head: Head, found: Match) -> EventsRead:
    """The export's events as codes (module doc); NotStreamed when it must be read whole."""
    fields = {name: found.columns[name] for name in ("SendDate", "Event", "Owner", "Recipient")
              if name in found.columns}
    if set(found.columns) - set(fields) or "SendDate" not in fields or "Event" not in fields:
        raise NotStreamed
    index = {name: position for position, name in enumerate(head.header)}
    owner_others = _fallbacks(found, "Owner", head.header) if "Owner" in fields else []
    wanted = {index[header] for header in (*fields.values(), *owner_others)}
    # Is the bottom row a report's trailer or blank (read.trailer_start)? Its first cells say:
    # the last line when it can be read apart, else the first column, read with the rest.
    last = last_record(path, head)
    if last is not None:
        filled = [cell for cell in last if cell.strip()]
        if not filled or TRAILER.match(filled[0]):
            raise NotStreamed
        try:  # no quote near the end: maybe none in the whole file
            return _read_plain(path, head, fields, owner_others, index)
        except splitcsv.NotPlain:
            pass
    wanted = sorted(wanted | ({0} if last is None else set()))
    options = dict(sep=head.separator, header=None, names=range(head.width), dtype=object,
                   keep_default_na=False, na_filter=False, skip_blank_lines=False,
                   encoding=PANDAS_ENCODINGS[head.encoding], engine="c", quotechar='"',
                   doublequote=True)
    try:
        first = pd.read_csv(path, nrows=len(head.rows), **options)
        for position, column in enumerate(first.columns):  # split as the csv module splits
            if first[column].tolist() != [row[position] if position < len(row) else ""
                                          for row in head.rows]:
                raise NotStreamed
        del first
        reader = pd.read_csv(path, usecols=wanted, chunksize=CHUNK_ROWS, **options)
        found_events, last_cells = _read_chunks(reader, head, fields, owner_others, index)
    except (pd.errors.ParserError, ValueError, UnicodeError):
        raise NotStreamed from None
    if last is None:
        first_cell = last_cells.get(0)
        if not isinstance(first_cell, str) or not first_cell.strip() or TRAILER.match(
                first_cell):
            raise NotStreamed
    elif any(cell != (last[column] if column < len(last) else "")
             for column, cell in last_cells.items()):
        raise NotStreamed  # the bottom line read apart is not the last record read
    return found_events


def last_record(path: Path, head: Head, window: int = 64 << 10) -> list[str] | None:
    """The file's last record, read from its last bytes, when they hold no quote (then a
    record is one line); None when they do, or the last line is longer than ``window``."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(size - window, 0))
            data = handle.read()
    except OSError:
        return None
    if b'"' in data:
        return None
    encoding = PANDAS_ENCODINGS[head.encoding]
    text = data.decode("utf-8" if encoding == "utf-8-sig" else encoding, errors="replace")
    for ending in ("\r\n", "\n", "\r"):  # the file's last line break ends no record
        if text.endswith(ending):
            text = text[:-len(ending)]
            break
    lines = re.split(r"\r\n|\n|\r", text)
    if len(lines) < 2 and size > window:
        return None
    return next(csv.reader([lines[-1]], delimiter=head.separator), [])


def _fallbacks(found: Match, name: str, header: list[str]) -> list[str]:
    """records._with_fallbacks' other headers for a text field, present in the file."""
    keys = {header_key(column): column for column in header}
    return [keys[header_key(other)] for other in found.profile.headers(name)
            if header_key(other) in keys and keys[header_key(other)] != found.columns[name]]


class _Tally:
    """The chunks' codes put together, then read as EventsRead."""

    def __init__(self, fields: dict[str, str], recipients=None) -> None:
        self.fields = fields
        self.dates, self.events, self.owners = DateKeys(), TextIds(), TextIds()
        self.recipients = recipients or (FoldedIds() if "Recipient" in fields else None)
        self.parts: dict[str, list[np.ndarray]] = {"rows": [], "dates": [], "events": [],
                                                   "owners": []}

    def add(self, rows: np.ndarray, dates: np.ndarray, event: tuple, owner: tuple | None,
            owner_others: list, recipient: tuple | None) -> None:
        """One chunk's data rows: their numbers, date key ids (DateKeys) and the other
        columns as (codes, distinct cells); ``owner_others``: functions giving the owner's
        fallback columns so, in order (records._with_fallbacks); ``recipient``: the
        arguments of the recipients' add."""
        self.parts["rows"].append(rows)
        self.parts["dates"].append(dates)
        self.parts["events"].append(self.events.add(*event))
        if owner is not None:
            codes, distinct = owner
            for other in owner_others:
                blank = np.fromiter(map(values.is_blank, distinct), dtype=bool,
                                    count=len(distinct))[codes]
                if not blank.any():
                    break
                other_codes, other_distinct = other()
                codes, kept = pd.factorize(np.where(blank, other_codes + len(distinct), codes))
                both = distinct + other_distinct
                distinct = [both[index] for index in kept.tolist()]
            self.parts["owners"].append(self.owners.add(codes, distinct))
        if self.recipients is not None:
            self.recipients.add(*recipient)

    def read(self) -> EventsRead:
        parts, fields, dates = self.parts, self.fields, self.dates
        if not parts["rows"] or not sum(map(len, parts["rows"])):
            raise NotStreamed  # no data rows
        rows = np.concatenate(parts["rows"])
        decision, key_days, problem, reasons = dates.read()
        keys = np.concatenate(parts["dates"])
        bad = np.zeros(len(keys), dtype=bool)
        has_key = keys >= 0
        bad[has_key] = problem[keys[has_key]]
        problems = [(row, f"column {fields['SendDate']!r}: {values.shown(dates.texts[row])} "
                          f"{reasons[key]}")
                    for row, key in zip(rows[bad].tolist(), keys[bad].tolist(), strict=True)]
        good = ~bad
        day = np.full(len(keys), -1, dtype=np.int64)  # every cell may be blank: no key
        day[has_key] = key_days[keys[has_key]]
        if "Owner" in fields:
            owner_codes, owner_texts = np.concatenate(parts["owners"])[good], self.owners.texts
        else:
            owner_codes, owner_texts = np.zeros(int(good.sum()), dtype=np.int64), [None]
        recipient_ids, recipient_keys = (self.recipients.ids(good) if self.recipients
                                         else (None, None))
        codes = EventCodes(rows[good], day[good], np.concatenate(parts["events"])[good],
                           self.events.texts, owner_codes, owner_texts, recipient_ids,
                           recipient_keys)
        return EventsRead(codes, len(rows), decision, problems)


def _read_chunks(reader, head: Head, fields: dict[str, str], owner_others: list[str],
                 index: dict[str, int]) -> tuple[EventsRead, dict[int, str]]:
    tally = _Tally(fields)
    start, last_cells = 0, {}
    with reader:
        for chunk in reader:
            count = len(chunk)
            numbers = np.arange(start, start + count)  # record indexes
            start += count
            data = numbers > head.top
            cells = {column: chunk[column].to_numpy(dtype=object) for column in chunk.columns}
            used = [cells[index[fields[name]]] for name in ("Event", "Owner", "Recipient",
                                                             "SendDate") if name in fields]
            others = [cells[index[header]] for header in owner_others] + (
                [cells[0]] if 0 in cells else [])
            if not has_text_mask(used + others, np.flatnonzero(data)).all():
                raise NotStreamed  # a blank row, or a row blank but in columns not read
            if count:
                last_cells = {column: cells[column][-1] for column in cells}
            keep = np.flatnonzero(data)
            rows = numbers[keep] + 1

            def column(name: str, keep=keep, cells=cells) -> tuple[np.ndarray, list]:
                return _factorized(cells[index[name]][keep])

            tally.add(rows, tally.dates.add(cells[index[fields["SendDate"]]][keep], rows),
                      column(fields["Event"]),
                      column(fields["Owner"]) if "Owner" in fields else None,
                      [functools.partial(column, other) for other in owner_others],
                      column(fields["Recipient"]) if "Recipient" in fields else None)
            del chunk, cells, used
    return tally.read(), last_cells


def _one_ahead(items: Generator) -> Iterator:
    """``items``, each next one made in a second thread while the caller works on the one
    before: splitting a chunk is mostly numpy and file reading, which let the caller's
    counting run meanwhile. An error making an item is raised where it is taken."""
    try:
        with ThreadPoolExecutor(max_workers=1) as ahead:
            following = ahead.submit(next, items, None)
            while True:
                item = following.result()
                if item is None:
                    return
                following = ahead.submit(next, items, None)
                yield item
    finally:  # the thread is done with them: the file they read is closed now, not at exit
        items.close()


def _read_plain(path: Path, head: Head, fields: dict[str, str], owner_others: list[str],
                index: dict[str, int]) -> EventsRead:
    """_read_chunks' result from the file split by splitcsv, chunk for chunk (the dates are
    decided from the same chunks); splitcsv.NotPlain when it cannot be split so."""
    width = len(head.header)
    if head.width != width:
        raise splitcsv.NotPlain  # a row of the first ones is wider than the header
    encoding = PANDAS_ENCODINGS[head.encoding]
    tally = _Tally(fields, SplitFoldedIds(encoding) if "Recipient" in fields else None)
    columns = {name: index[header] for name, header in fields.items()}
    # the columns a row's text is looked for in when its event and owner are blank
    rest = [index[header] for header in owner_others] + [
        columns[name] for name in ("Recipient", "SendDate") if name in columns]
    def splits():
        for first, lines, data in splitcsv.chunks(path, CHUNK_ROWS):
            skip = min(max(head.top + 1 - first, 0), lines)
            yield first + skip, first + lines, splitcsv.Split(data, lines, skip, head.separator,
                                                              width, encoding)

    for begin, end, split in _one_ahead(splits()):
        if not split.rows:
            continue
        rows = np.arange(begin, end) + 1
        event = split.factorize(columns["Event"])
        owner = split.factorize(columns["Owner"]) if "Owner" in columns else None
        blank = np.arange(split.rows)  # the rows with no text in any column looked at so far
        for codes, distinct in filter(None, (event, owner)):
            filled = np.zeros(len(distinct), dtype=bool)
            for code in pd.unique(codes[blank]).tolist():
                filled[code] = bool(distinct[code].strip())
            blank = blank[~filled[codes[blank]]]
        cells = [split.cells(column) for column in rest] if len(blank) else []
        for row in blank.tolist():
            if not any(split.text(starts[row], lengths[row]).strip()
                       for starts, lengths in cells):
                raise NotStreamed  # a blank row, as _read_chunks finds it
        tally.add(rows, tally.dates.add_split(split, columns["SendDate"], rows), event, owner,
                  [functools.partial(split.factorize, index[other]) for other in owner_others],
                  (split, columns["Recipient"]) if "Recipient" in columns else None)
    return tally.read()

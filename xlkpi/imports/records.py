"""An export file → clean records for one of the tracker's data sheets.

read_export() reads the file (read.py), recognises its source (sources.py), reads each
column in the format decided for it (values.py) and builds one record per row, keyed by the
data sheet's columns plus "source" and "record_id" (what a later import merges on). Rows with
a cell it cannot read are skipped and reported; per-event e-mail rows become one Emails
record per day and owner.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xlkpi.core import lang
from xlkpi.imports import counting, events, values
from xlkpi.imports.mapping import ColumnMap, mapped_match, parse_map, signature
from xlkpi.imports.read import SEPARATOR_NAMES, ExportError, read_table
from xlkpi.imports.sources import (
    AMOUNT_FIELDS,
    COUNT_FIELDS,
    DATE_FIELDS,
    EMAILS,
    LEADS,
    NATURAL_KEYS,
    SHEET_COLUMNS,
    SPEND,
    Match,
    header_key,
    recognise,
    sheet_name,
)

MAX_RECORDS = 1_048_575  # an Excel sheet's rows below its header row
SOURCE, RECORD_ID = "source", "record_id"
WON, LOST, OPEN = "Won", "Lost", "Open"


@dataclass
class Skipped:
    row: int  # the row number a person sees when opening the export in a spreadsheet
    reason: str  # names the column and the value: "column 'Бюджет': '12abc' is not a number"


@dataclass
class ImportResult:
    path: Path
    profile: str  # e.g. "amocrm-deals"
    title: str  # e.g. "amoCRM сделки"
    sheet: str  # the data sheet the records are for
    file: str  # how the file was read: "csv, UTF-8 with BOM, semicolon-separated"
    rows_read: int
    records: list[dict] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)  # "CloseDate (Дата закрытия): dd.mm.yyyy"
    skipped: list[Skipped] = field(default_factory=list)
    aggregation: str | None = None  # how e-mail events became daily counts
    formula_like: list[tuple[int, str]] = field(default_factory=list)  # (row, column): text
    # beginning with = + - @, to be written as text, never as a formula
    signature: str = ""  # the export's headers (mapping.signature): what a mapping is saved by
    mapping: ColumnMap | None = None  # the explicit column mapping read with, if any
    mapping_saved: bool = False  # that mapping is the one saved in the tracker

    @property
    def columns(self) -> tuple[str, ...]:
        return SHEET_COLUMNS[self.sheet]


def read_export(path: str | Path, as_sheet: str | None = None, parser: str = "pandas",
                mapping: str | None = None, saved: dict[str, tuple[str, str]] | None = None
                ) -> ImportResult:
    """Read an export as its vendor wrote it; ExportError (one line) if it cannot be used.
    ``parser``: as read.read_table's. ``mapping``: the ``--map`` text (mapping.py), which
    replaces recognising the source; ``saved``: the tracker's saved mappings, signature →
    (sheet, text), of which the one for this export's headers is used when none is given."""
    path = Path(path)
    given = parse_map(mapping, as_sheet) if mapping is not None else None
    head = events.csv_head(path) if parser == "pandas" else None
    if head is not None:
        try:
            recognised = _recognise(head.header, as_sheet, given, saved)
        except ExportError:
            recognised = None  # the whole file may read otherwise (its encoding): say so then
        if recognised is not None and recognised[0].profile.events:
            try:
                return _streamed_events(path, head, *recognised)
            except events.NotStreamed:
                pass
    table = read_table(path, parser)
    found, columns_map, from_saved, key = _recognise(table.header, as_sheet, given, saved)
    profile = found.profile
    result = ImportResult(path, profile.name, profile.title, profile.sheet, table.describe(),
                          len(table.frame), signature=key, mapping=columns_map,
                          mapping_saved=from_saved)
    rows = list(table.frame.index)
    columns, problems = _read_columns(found, table, result.decisions)
    del table  # the cells are read: hold only the values from here on
    for position, reasons in sorted(problems.items()):
        result.skipped.append(Skipped(rows[position], "; ".join(reasons)))
    good = [position for position in range(len(rows)) if position not in problems]
    if profile.events:
        records = _aggregate_events(columns, good, rows, result)
    else:
        records = _row_records(found, columns, good, rows, result)
    return _finished(result, records)


def _recognise(header: list[str], as_sheet: str | None, given: ColumnMap | None,
               saved: dict[str, tuple[str, str]] | None
               ) -> tuple[Match, ColumnMap | None, bool, str]:
    """(the profile applied to ``header``, the mapping read with, whether it is the saved
    one, the headers' signature): --map, else the mapping saved for these headers, else the
    profile the headers fit best."""
    key = signature(header)
    columns_map, from_saved = given, False
    if given is None and saved and key in saved:
        sheet, text = saved[key]
        if as_sheet is None or sheet_name(as_sheet) == sheet:
            where = lang.text("messages.imports.saved_where", sheet=lang.text("sheets.Stages"))
            columns_map, from_saved = parse_map(text, sheet, where), True
    if columns_map is not None:
        found = mapped_match(columns_map, header,
                             "the saved mapping" if from_saved else "--map")
    else:
        found = recognise(header, as_sheet)
    return found, columns_map, from_saved, key


def _streamed_events(path: Path, head: events.Head, found: Match, columns_map, from_saved: bool,
                     key: str) -> ImportResult:
    """An event export read in chunks (events.py); NotStreamed when it must be read whole."""
    read = events.read_events(path, head, found)
    profile = found.profile
    file = f"csv, {head.encoding}, {SEPARATOR_NAMES[head.separator]}-separated"
    result = ImportResult(path, profile.name, profile.title, profile.sheet, file,
                          read.rows_read, signature=key, mapping=columns_map,
                          mapping_saved=from_saved)
    result.decisions.append(f"SendDate ({found.columns['SendDate']}): {read.decision}")
    records, skipped, result.aggregation = counting.aggregate(read.codes, profile.name)
    result.skipped = sorted((Skipped(row, reason) for row, reason in (*read.problems, *skipped)),
                            key=lambda skipped: skipped.row)
    return _finished(result, records)


def _finished(result: ImportResult, records: list[dict]) -> ImportResult:
    """The records checked against a sheet's size, formula-like texts listed."""
    if len(records) > MAX_RECORDS:
        raise ExportError(lang.text(
            "messages.imports.too_many_records", name=result.path.name,
            count=lang.count(len(records)), sheet=lang.text(f"sheets.{result.sheet}"),
            limit=lang.count(MAX_RECORDS)))
    result.records = records
    for record, row in ((record, record.pop("_row")) for record in records):
        result.formula_like += [(row, name) for name in result.columns
                                if values.looks_like_formula(record[name])]
    return result


def _read_columns(found: Match, table, decisions: list[str]) -> tuple[dict, dict]:
    """Each mapped field read in its column's format; problems by row position."""
    frame = table.frame
    cells = {name: frame[header].to_numpy(dtype=object)
             for name, header in found.columns.items()}
    if found.record_id:
        cells[RECORD_ID] = frame[found.record_id].to_numpy(dtype=object)
    shapes = {name: values.TextShapes(cells[name]) for name in cells if name in DATE_FIELDS}
    orders = {values.slash_order(shapes[name]) for name in shapes}
    orders.discard(None)
    hint = orders.pop() if len(orders) == 1 else None  # the file's other slashed dates
    decimal = "," if table.separator == ";" else "."  # ;-CSVs come from decimal-comma locales
    columns, problems = {}, defaultdict(list)
    for name, column in cells.items():
        header = found.columns.get(name, found.record_id)
        if name in DATE_FIELDS:
            read = values.read_date_column(column, hint, shapes[name])
        elif name in AMOUNT_FIELDS or name in COUNT_FIELDS:
            read = values.read_number_column(column, name in COUNT_FIELDS, decimal)
        else:
            read = values.read_text_column(_with_fallbacks(found, name, column, frame))
        if read.decision != "text":
            decisions.append(f"{name} ({header}): {read.decision}")
        columns[name] = read.values
        for position, reason in read.problems.items():
            problems[position].append(f"column {header!r}: {reason}")
    if not found.record_id and not found.profile.events:
        key = " + ".join(NATURAL_KEYS[found.profile.sheet])
        decisions.append(f"record ID: none in the export; records are keyed by {key}")
    return columns, problems


def _with_fallbacks(found: Match, name: str, column, frame):
    """A blank text cell takes the next of the profile's headers for the field that has a
    value in that row (Stripe: a customer without a description is named by its e-mail)."""
    keys = {header_key(header): header for header in frame.columns}
    others = [keys[header_key(header)] for header in found.profile.headers(name)
              if header_key(header) in keys and keys[header_key(header)] != found.columns[name]]
    if not others:
        return column
    column = column.copy()
    for other in others:
        blank = values.blank_mask(column)
        if not blank.any():
            break
        column[blank] = frame[other].to_numpy(dtype=object)[blank]
    return column


def _row_records(found: Match, columns: dict, good: list[int], rows: list[int],
                 result: ImportResult) -> list[dict]:
    profile, sheet = found.profile, found.profile.sheet
    by_id: dict[str, dict] = {}
    summed = sheet in (SPEND, EMAILS) and not found.record_id
    for position in good:
        record = {name: columns[name][position] if name in columns else None
                  for name in SHEET_COLUMNS[sheet]}
        if sheet == LEADS and record["Lead"] is None:
            record["Lead"] = _lead_name(columns, position)
        if profile.statuses:
            reason = _apply_status(profile.statuses, columns, position, record)
            if reason:
                result.skipped.append(Skipped(rows[position], reason))
                continue
        for name in SHEET_COLUMNS[sheet]:
            if name in COUNT_FIELDS and record[name] is None:
                record[name] = 0
        key = columns[RECORD_ID][position] if RECORD_ID in columns else None
        key = key or "|".join(_key_text(record[name]) for name in NATURAL_KEYS[sheet])
        record.update({SOURCE: profile.name, RECORD_ID: key, "_row": rows[position]})
        earlier = by_id.get(key)
        if earlier and summed:  # two rows for one day and channel (or owner): one total
            for name in SHEET_COLUMNS[sheet]:
                if name in AMOUNT_FIELDS | COUNT_FIELDS:
                    earlier[name] = (earlier[name] or 0) + (record[name] or 0)
            continue
        if earlier:
            result.skipped.append(Skipped(earlier["_row"], f"same record ID {key!r} as row "
                                          f"{rows[position]}, which is kept"))
            del by_id[key]
        by_id[key] = record
    result.skipped.sort(key=lambda skipped: skipped.row)
    return list(by_id.values())


def _lead_name(columns: dict, position: int) -> str | None:
    parts = [columns[name][position] for name in ("FirstName", "LastName") if name in columns]
    name = " ".join(part for part in parts if part)
    return name or next((columns[other][position] for other in ("Email", "Company")
                         if other in columns and columns[other][position]), None)


def _apply_status(statuses: dict, columns: dict, position: int, record: dict) -> str | None:
    """Pipedrive: the status decides the stage (won/lost) and which time is the close date.
    Returns why the row is skipped, if it is."""
    status = columns["Status"][position]
    stage = statuses.get((status or "").casefold())
    if stage is None:
        return f"status {status!r} is not open, won or lost"
    record["Stage"] = stage or record["Stage"] or OPEN
    time = {WON: "WonTime", LOST: "LostTime"}.get(stage)
    if record["CloseDate"] is None and time in columns:
        record["CloseDate"] = columns[time][position]
    if not stage:
        record["CloseDate"] = None  # an open deal is not closed, whatever a column says
    return None


def _key_text(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else "" if value is None else str(
        value)


def _aggregate_events(columns: dict, good: list[int], rows: list[int],
                      result: ImportResult) -> list[dict]:
    """One Emails record per day and owner (events.aggregate, from the columns as codes)."""
    good = np.asarray(good, dtype=np.int64)

    def codes_of(name: str) -> tuple[np.ndarray, list]:
        codes, distinct = pd.factorize(_array(columns[name])[good], use_na_sentinel=False)
        return codes.astype(np.int64), _nones(distinct)

    days = np.fromiter((-1 if day is None else day.toordinal()
                        for day in _array(columns["SendDate"])[good].tolist()),
                       dtype=np.int64, count=len(good))
    event_codes, event_texts = codes_of("Event")
    owner_codes, owner_texts = codes_of("Owner") if "Owner" in columns else (
        np.zeros(len(good), dtype=np.int64), [None])
    recipient = columns.get("Recipient")
    recipient_codes, recipient_keys = codes_of("Recipient") if (
        recipient is not None and len(recipient)) else (None, None)
    if recipient_keys is not None:
        recipient_keys = [str(value).casefold() if value else "" for value in recipient_keys]
    codes = counting.EventCodes(np.asarray(rows, dtype=np.int64)[good] if len(rows) else good,
                              days, event_codes, event_texts, owner_codes, owner_texts,
                              recipient_codes, recipient_keys)
    records, skipped, result.aggregation = counting.aggregate(codes, result.profile)
    result.skipped += [Skipped(row, reason) for row, reason in skipped]
    result.skipped.sort(key=lambda skipped: skipped.row)
    return records


def _array(cells) -> np.ndarray:
    return cells if isinstance(cells, np.ndarray) else np.fromiter(cells, dtype=object,
                                                                   count=len(cells))


def _nones(distinct) -> list:
    """pandas.factorize's distinct values with its NaN for None put back."""
    return [None if isinstance(value, float) and math.isnan(value) else value
            for value in distinct]

"""Per-e-mail events counted into one Emails record per day and owner, from integer codes
(:class:`EventCodes`): what events.py makes of a file read in chunks and records.py of a table
read whole, so that both count alike."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlkpi.imports.sources import EMAIL_EVENTS

EVENT_COLUMNS = ("Sent", "Bounced", "Opened", "Replied", "Positive")


def first_of_each(codes: np.ndarray) -> np.ndarray:
    """The position of each code's first cell (pandas.factorize numbers codes in the order
    they first appear: a new code is one above every code before it)."""
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    running = np.maximum.accumulate(codes)
    return np.flatnonzero(np.concatenate(([True], running[1:] > running[:-1])))


def event_column(event: object) -> str | None:
    """lemlist's "emailsOpened", "opened", "Email opened" → "Opened"; None for other events."""
    key = re.sub(r"[^a-z]", "", str(event or "").lower())
    key = key.removeprefix("emails").removeprefix("email")
    return EMAIL_EVENTS.get(key)


@dataclass
class EventCodes:
    """Events as codes, one per row in row order: the row numbers, each row's day (an ordinal,
    -1: none), event and owner (ids into the distinct texts; None among them for a blank cell)
    and recipient (ids into the distinct recipients trimmed and case folded, "" for a blank
    cell), ``recipients`` None when the export has no recipient column."""

    rows: np.ndarray
    days: np.ndarray
    events: np.ndarray
    event_texts: list
    owners: np.ndarray
    owner_texts: list
    recipients: np.ndarray | None
    recipient_keys: list | None


def aggregate(codes: EventCodes, profile: str) -> tuple[list[dict], list[tuple[int, str]], str]:
    """(one Emails record per day and owner, the rows skipped as (row, reason), the words
    saying how). With a recipient column an event counts once per recipient and day (three
    opens of one e-mail are one open)."""
    counted = [event_column(event) for event in codes.event_texts]
    column_of = np.array([EVENT_COLUMNS.index(column) if column else -1 for column in counted]
                         + [-1], dtype=np.int64)[codes.events]
    ignored: Counter = Counter()
    for event, column, count in zip(codes.event_texts, counted, np.bincount(
            codes.events, minlength=len(counted)).tolist(), strict=True):
        if column is None and count:
            ignored[str(event)] += count
    undated = (column_of >= 0) & (codes.days < 0)
    skipped = [(row, "no date for the event") for row in codes.rows[undated].tolist()]
    keep = np.flatnonzero((column_of >= 0) & ~undated)
    column_of, days, owners = column_of[keep], codes.days[keep], codes.owners[keep]
    rows = codes.rows[keep]
    repeated = 0
    if codes.recipients is not None:
        recipients = codes.recipients[keep]
        folded = pd.factorize(np.array(codes.recipient_keys + [""], dtype=object))[0]
        named = np.array([bool(key) for key in codes.recipient_keys] + [False])
        owner_folded = pd.factorize(np.array([(owner or "").casefold()
                                              for owner in codes.owner_texts] + [""],
                                             dtype=object))[0]
        with_recipient = np.flatnonzero(named[recipients])
        again = np.zeros(len(keep), dtype=bool)  # only events with a recipient are compared
        again[with_recipient] = _repeated([pd.factorize(days[with_recipient])[0],
                                           owner_folded[owners[with_recipient]],
                                           column_of[with_recipient],
                                           folded[recipients[with_recipient]]])
        repeated = int(again.sum())
        column_of, days, owners, rows = (column_of[~again], days[~again], owners[~again],
                                         rows[~again])
    day_codes, day_values = pd.factorize(days)
    group_codes, _ = pd.factorize(day_codes.astype(np.int64) * (len(codes.owner_texts) + 1)
                                  + owners)
    first = first_of_each(group_codes)  # factorize's codes: np.unique's, without its sort
    tallies = np.bincount(group_codes * len(EVENT_COLUMNS) + column_of,
                          minlength=len(first) * len(EVENT_COLUMNS)).reshape(
        len(first), len(EVENT_COLUMNS)).tolist()
    records = []
    for index, tally in zip(first.tolist(), tallies, strict=True):
        day = dt.date.fromordinal(int(day_values[day_codes[index]]))
        owner = codes.owner_texts[owners[index]]
        record = {"SendDate": day, "Owner": owner, "Sent": 0, "Bounced": 0, "Opened": 0,
                  "Replied": 0, "Positive": 0, "source": profile,
                  "record_id": f"{day.isoformat()}|{owner or ''}", "_row": int(rows[index])}
        record.update(zip(EVENT_COLUMNS, tally, strict=True))
        records.append(record)
    text = f"{len(rows)} events → {len(records)} Emails records (one per day and owner)"
    if codes.recipients is not None:
        text += f"; {repeated} repeated events of one recipient on one day counted once"
    if ignored:
        text += "; not counted: " + ", ".join(f"{name} ({count})" for name, count in
                                             sorted(ignored.items()))
    return records, skipped, text


def _repeated(columns: list[np.ndarray]) -> np.ndarray:
    """Whether each row repeats an earlier one in every column (columns of codes from 0)."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    room = 1
    for column in columns:
        size = int(column.max()) + 1 if len(column) else 1
        room *= size
        if room >= 1 << 62:  # too many combinations for one number: compare as a table
            frame = pd.DataFrame({str(number): column for number, column in enumerate(columns)})
            return frame.duplicated(keep="first").to_numpy()
        key = key * size + column
    first = np.zeros(len(key), dtype=bool)
    first[first_of_each(pd.factorize(key)[0])] = True
    return ~first

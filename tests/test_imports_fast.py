"""The vectorised reading (pandas' C parser, a value per distinct text, events grouped) gives
what reading cell by cell gives, on a generated event export with bad cells."""

import csv
import datetime as dt
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from xlkpi.imports import Skipped, read_export
from xlkpi.imports.read import read_table
from xlkpi.imports.values import _date, date_kind, is_blank

TYPES = ["emailsSent", "emailsOpened", "emailsReplied", "emailsBounced", "emailsInterested",
         "emailsClicked", "Email opened", " sent "]
OWNERS = ["Anna Petrova", "anna petrova", "Boris Ivanov ", "", "Иванов Б.", "=cmd"]
EXPORTS = Path(__file__).parent / "fixtures" / "exports"
BAD_DATES = ["next week", "2026-02-31T10:00:00.000Z", "2026-13-01", "14.03.2026", "", "n/a"]


def event_rows(seed: int, count: int) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for number in range(count):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(40))
        stamp = f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00.000Z"
        if rng.random() < 0.04:
            stamp = rng.choice(BAD_DATES)
        rows.append([f"ev{number}", rng.choice(TYPES), stamp, rng.choice(OWNERS),
                     rng.choice(["", f"lead{rng.randrange(30)}@x.com", "LEAD1@X.COM"]),
                     "multi\nline" if rng.random() < 0.05 else "note"])
    return rows


def per_cell(rows: list[list[str]]):
    """The aggregation as a person would do it: one row at a time (an ISO-only file)."""
    counts, seen, ignored, skipped, repeated = {}, set(), Counter(), [], 0
    names = {"sent": "Sent", "opened": "Opened", "replied": "Replied", "bounced": "Bounced",
             "interested": "Positive"}
    for number, (_, event, stamp, owner, recipient, _) in enumerate(rows, start=2):
        day = None
        if not is_blank(stamp):
            kind = date_kind(stamp)
            day = _date(stamp, kind, "m/d") if kind == "yyyy-mm-dd" else (
                "is not a yyyy-mm-dd date" if kind else "is not a date")
            if isinstance(day, str):
                skipped.append(Skipped(number, f"column 'date': {stamp!r} {day}"))
                continue
        owner, recipient = owner.strip() or None, recipient.strip() or None
        key = re.sub(r"[^a-z]", "", event.lower()).removeprefix("emails").removeprefix("email")
        column = names.get(key)
        if column is None:
            ignored[event.strip()] += 1
            continue
        if day is None:
            skipped.append(Skipped(number, "no date for the event"))
            continue
        if recipient:
            once = (day, (owner or "").casefold(), column, recipient.casefold())
            if once in seen:
                repeated += 1
                continue
            seen.add(once)
        record = counts.setdefault((day, owner), dict.fromkeys(
            ("Sent", "Bounced", "Opened", "Replied", "Positive"), 0))
        record[column] += 1
    return counts, sorted(skipped, key=lambda s: s.row), ignored, repeated


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_path_equals_cell_by_cell(tmp_path, seed):
    rows = event_rows(seed, 3000)
    path = tmp_path / "events.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["_id", "type", "date", "sendUserName", "leadEmail", "note"])
        writer.writerows(rows)
    counts, skipped, ignored, repeated = per_cell(rows)
    fast, slow = read_export(path), read_export(path, parser="csv")
    for result in (fast, slow):
        got = {(r["SendDate"], r["Owner"]): {name: r[name] for name in counts[
            r["SendDate"], r["Owner"]]} for r in result.records}
        assert got == counts
        assert result.skipped == skipped
        assert f"; {repeated} repeated events" in result.aggregation
        assert result.aggregation.endswith(", ".join(
            f"{name} ({count})" for name, count in sorted(ignored.items())))
    assert fast.records == slow.records and fast.skipped == slow.skipped
    assert (fast.aggregation, fast.decisions, fast.file) == (
        slow.aggregation, slow.decisions, slow.file)
    assert fast.formula_like == slow.formula_like != []
    fast_table, slow_table = read_table(path), read_table(path, parser="csv")
    assert fast_table.frame.equals(slow_table.frame)
    assert list(fast_table.frame.index) == list(slow_table.frame.index)


@pytest.mark.parametrize("name", sorted(path.name for path in (
    EXPORTS).iterdir()))
def test_every_fixture_reads_the_same_with_either_parser(name):
    path = EXPORTS / name
    fast, slow = read_export(path), read_export(path, parser="csv")
    assert (fast.records, fast.skipped, fast.decisions, fast.file, fast.rows_read) == (
        slow.records, slow.skipped, slow.decisions, slow.file, slow.rows_read)

"""Per-event exports read in chunks (imports/events.py) give what reading the whole table gives
(the csv module, cell by cell), whatever the chunk size; what chunks cannot settle is read
whole. Counts worked out by hand where they are asserted."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import pytest

from xlkpi.imports import Skipped, events, read_export

sys.path.insert(0, str(Path(__file__).parent))
from test_imports_fast import event_rows  # noqa: E402

HEADER = ["_id", "type", "date", "sendUserName", "leadEmail", "note"]


@pytest.fixture
def streamed(monkeypatch):
    """Chunks of 7 rows, and a list of how each read went: "streamed" or "whole"."""
    monkeypatch.setattr(events, "CHUNK_ROWS", 7)
    ways: list[str] = []
    read = events.read_events

    def spy(*args):
        try:
            found = read(*args)
        except events.NotStreamed:
            ways.append("whole")
            raise
        ways.append("streamed")
        return found

    monkeypatch.setattr(events, "read_events", spy)
    return ways


def write(path: Path, rows: list[list[str]], header=HEADER, encoding="utf-8",
          before: str = "", after: str = "") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        handle.write(before)
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        handle.write(after)
    return path


def same_as_whole(path: Path):
    fast, slow = read_export(path), read_export(path, parser="csv")
    assert (fast.records, fast.skipped, fast.aggregation, fast.decisions, fast.file,
            fast.rows_read, fast.formula_like) == (
        slow.records, slow.skipped, slow.aggregation, slow.decisions, slow.file,
        slow.rows_read, slow.formula_like)
    return fast


@pytest.mark.parametrize("seed", [1, 2])
def test_many_small_chunks_give_the_whole_tables_result(tmp_path, streamed, seed):
    path = write(tmp_path / "events.csv", event_rows(seed, 400))
    same_as_whole(path)
    assert streamed == ["streamed"]


def test_a_recipient_repeated_across_a_chunk_boundary_counts_once(tmp_path, streamed):
    # rows 2-8 are the first chunk, rows 9-15 the second: lead a opens on row 8 and again on
    # row 9, one open; lead b's open on another day counts; lead c's send on row 10 too.
    rows = [[f"e{n}", "emailsSent", "2026-03-02T09:00:00Z", "Anna", f"x{n}@y.com", ""]
            for n in range(6)]
    rows += [["o1", "emailsOpened", "2026-03-02T10:00:00Z", "Anna", "a@y.com", ""],
             ["o2", "emailsOpened", "2026-03-02T11:00:00Z", "anna", "A@Y.COM ", ""],
             ["s1", "emailsSent", "2026-03-03T08:00:00Z", "Anna", "c@y.com", ""],
             ["o3", "emailsOpened", "2026-03-03T09:00:00Z", "Anna", "b@y.com", ""]]
    result = same_as_whole(write(tmp_path / "events.csv", rows))
    assert streamed == ["streamed"]
    counts = {(r["SendDate"], r["Owner"]): (r["Sent"], r["Opened"]) for r in result.records}
    assert counts == {(dt.date(2026, 3, 2), "Anna"): (6, 1),
                      (dt.date(2026, 3, 3), "Anna"): (1, 1)}
    assert "1 repeated events of one recipient on one day counted once" in result.aggregation


def test_day_month_order_told_by_a_later_chunk(tmp_path, streamed):
    # The first chunk's dates all read either way; row 12's "25/03/2026" says day first, so
    # "03/04/2026" on row 2 is 3 April.
    rows = [[f"e{n}", "emailsSent", "03/04/2026", "Anna", f"x{n}@y.com", ""] for n in range(10)]
    rows.append(["e10", "emailsSent", "25/03/2026", "Anna", "z@y.com", ""])
    result = same_as_whole(write(tmp_path / "events.csv", rows))
    assert streamed == ["streamed"]
    assert result.decisions == ["SendDate (date): dd/mm/yyyy"]
    assert [(r["SendDate"], r["Sent"]) for r in result.records] == [
        (dt.date(2026, 4, 3), 10), (dt.date(2026, 3, 25), 1)]


def test_bad_dates_are_skipped_by_row_and_column(tmp_path, streamed):
    rows = [[f"e{n}", "emailsSent", "2026-03-02T09:00:00Z", "Anna", "", ""] for n in range(9)]
    rows[3][2] = "2026-02-31T10:00:00Z"  # row 5
    rows[8][2] = "next week"  # row 10
    rows[6][2] = ""  # row 8: a counted event without a date
    result = same_as_whole(write(tmp_path / "events.csv", rows))
    assert streamed == ["streamed"]
    assert result.skipped == [
        Skipped(5, "column 'date': '2026-02-31T10:00:00Z' is not a date (no such day)"),
        Skipped(8, "no date for the event"),
        Skipped(10, "column 'date': 'next week' is not a date")]
    assert result.records[0]["Sent"] == 6


def test_a_chunk_mostly_of_another_date_format_is_read_whole(tmp_path, streamed):
    # Seven dd.mm.yyyy dates fill the first chunk; the twelve ISO dates after them decide the
    # column, so the first chunk's cells are all problems, named with their text.
    rows = [[f"e{n}", "emailsSent", "14.03.2026", "Anna", "", ""] for n in range(7)]
    rows += [[f"i{n}", "emailsSent", "2026-03-14T10:00:00Z", "Anna", "", ""] for n in range(12)]
    result = same_as_whole(write(tmp_path / "events.csv", rows))
    assert streamed == ["whole"]
    assert result.skipped[0] == Skipped(2, "column 'date': '14.03.2026' is not a yyyy-mm-dd "
                                           "date")


@pytest.mark.parametrize("case", ["blank line", "trailer", "title block", "cp1251", "bom",
                                  "owner fallback", "multi-line"])
def test_what_chunks_cannot_settle_reads_as_the_whole_table(tmp_path, streamed, case):
    rows = event_rows(3, 60)
    header, encoding, before, after = HEADER, "utf-8", "", ""
    if case == "blank line":
        rows.insert(20, ["", "", "", "", "", ""])
    elif case == "trailer":
        after = "Total,,,,,\n"
    elif case == "title block":
        before = "Campaign report\nExported 2026-03-31\n"
    elif case == "cp1251":
        encoding = "cp1251"
        rows = [[cell.replace("=cmd", "Иванов") for cell in row] for row in rows]
    elif case == "bom":
        encoding = "utf-8-sig"
    elif case == "owner fallback":
        header = ["_id", "type", "date", "sendUserName", "leadEmail", "sendUserEmail"]
        rows = [row[:5] + [f"rep{number % 3}@acme.com"] for number, row in enumerate(rows)]
    elif case == "multi-line":
        rows[6][5] = rows[7][5] = "two\nlines"  # the chunk boundary falls inside a record
    same_as_whole(write(tmp_path / "events.csv", rows, header, encoding, before, after))
    expected = "whole" if case in ("blank line", "trailer") else "streamed"
    assert streamed == [expected]


@pytest.mark.parametrize(("ending", "way"), [
    ("", "streamed"), ("\n", "streamed"), ("\r\n", "streamed"), ("\n\n", "whole"),
    ("\nGrand Totals,,,,,\n", "whole"), ("\n,,,,,\n", "whole"), ("\n ,Total,,,,\n", "whole")])
def test_the_bottom_line_of_a_file_without_quotes_is_read_apart(tmp_path, streamed, ending,
                                                                   way):
    # Without a quote near its end, the last line is the last record: the first column need
    # not be read to tell a trailer (read.trailer_start cuts it, so the file is read whole).
    rows = [[cell.replace("\n", " ") for cell in row] for row in event_rows(4, 50)]
    lines = [",".join(HEADER)] + [",".join(row) for row in rows]
    newline = "\r\n" if ending == "\r\n" else "\n"
    path = tmp_path / "events.csv"
    path.write_bytes((newline.join(lines) + ending).encode())
    assert b'"' not in path.read_bytes()
    result = same_as_whole(path)
    assert streamed == [way]
    assert result.rows_read == 50


def test_repeats_are_found_however_many_combinations():
    import numpy as np

    from xlkpi.imports.counting import _repeated

    # rows (day, owner, recipient): row 3 repeats row 1; row 4 differs in its recipient
    small = [np.array([0, 1, 0, 0]), np.array([2, 2, 2, 2]), np.array([0, 0, 0, 1])]
    assert _repeated(small).tolist() == [False, False, True, False]
    large = [column * (1 << 40) for column in small]  # too many combinations for one int64
    assert _repeated(large).tolist() == [False, False, True, False]

"""Per-event exports read in chunks (imports/events.py) give what reading the whole table gives
(the csv module, cell by cell), whatever the chunk size; what chunks cannot settle is read
whole. A file without quotes is split by splitcsv and gives what pandas' chunks give; what it
cannot split is read by pandas. Counts worked out by hand where they are asserted."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlkpi.imports import Skipped, events, read_export, splitcsv

sys.path.insert(0, str(Path(__file__).parent))
from test_imports_fast import event_rows  # noqa: E402

HEADER = ["_id", "type", "date", "sendUserName", "leadEmail", "note"]


def ways_of(monkeypatch, name: str, read: str, *raised: tuple[type, str]) -> list[str]:
    """events.<name> spied on: the list of how each call went, ``read`` when it returned, else
    the word of the first of ``raised`` (exception, word) it raised (else the error's name)."""
    ways: list[str] = []
    function = getattr(events, name)

    def spy(*args):
        try:
            found = function(*args)
        except Exception as error:
            ways.append(next((word for kind, word in raised if isinstance(error, kind)),
                             type(error).__name__))
            raise
        ways.append(read)
        return found

    monkeypatch.setattr(events, name, spy)
    return ways


@pytest.fixture
def streamed(monkeypatch):
    """Chunks of 7 rows, and a list of how each read went: "streamed" or "whole"."""
    monkeypatch.setattr(events, "CHUNK_ROWS", 7)
    return ways_of(monkeypatch, "read_events", "streamed", (events.NotStreamed, "whole"))


def write(path: Path, rows: list[list[str]], header=HEADER, encoding="utf-8",
          before: str = "", after: str = "") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        handle.write(before)
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        handle.write(after)
    return path


@pytest.fixture
def split(monkeypatch):
    """Pieces of 64 bytes read at a time (records cross them), and a list of how each file
    was read: "split" (splitcsv), "pandas" (not plain) or "whole" (NotStreamed)."""
    monkeypatch.setattr(splitcsv, "READ_BYTES", 64)
    return ways_of(monkeypatch, "_read_plain", "split", (splitcsv.NotPlain, "pandas"),
                   (events.NotStreamed, "whole"))


def outcome(result) -> tuple:
    return (result.records, result.skipped, result.aggregation, result.decisions, result.file,
            result.rows_read, result.formula_like)


def same_as_whole(path: Path):
    fast, slow = read_export(path), read_export(path, parser="csv")
    assert outcome(fast) == outcome(slow)
    return fast


def not_plain(*args):
    raise splitcsv.NotPlain


def same_three_ways(path: Path):
    """Split (when it can be), pandas' chunks and the whole table give one result."""
    fast = same_as_whole(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(events, "_read_plain", not_plain)
        assert outcome(read_export(path)) == outcome(fast)
    return fast


def plain_rows(seed: int, count: int) -> list[list[str]]:
    """event_rows with no cell the csv module would quote."""
    return [[cell.replace("\n", " ") for cell in row] for row in event_rows(seed, count)]


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


# --- files split by splitcsv ---------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_a_file_without_quotes_is_split_and_gives_the_whole_tables_result(tmp_path, streamed,
                                                                          split, seed):
    path = write(tmp_path / "events.csv", plain_rows(seed, 400))
    assert b'"' not in path.read_bytes()
    same_three_ways(path)
    assert (split, streamed) == (["split"], ["streamed"] * 2)  # split, then pandas' chunks


def test_long_cells_are_split_as_the_short_ones(tmp_path, streamed, split):
    # Cells longer than a matrix holds (splitcsv.LONGEST bytes) are compared by their bytes.
    rows = plain_rows(5, 60)
    long_owner, long_lead = "Анна " * 20, "lead" * 20 + "@x.com"
    for row in rows[::3]:
        row[3], row[4] = long_owner, long_lead
    rows[7][4] = long_lead.upper()  # the same recipient, case folded
    rows[9][2] = "2026-01-05T10:00:00.000Z" + " " * 80  # a date with trailing spaces
    rows[11][2] = "x" * 90  # not a date
    path = write(tmp_path / "events.csv", rows)
    result = same_three_ways(path)
    assert (split, streamed) == (["split"], ["streamed"] * 2)
    assert any(record["Owner"] == long_owner.strip() for record in result.records)


@pytest.mark.parametrize(("case", "way"), [
    ("quote", "pandas"), ("NUL", "pandas"), ("lone CR", "pandas"), ("short row", "pandas"),
    ("wide row", "pandas"), ("wide first rows", "pandas"), ("blank line", "pandas"),
    ("spaces row", "whole"), ("trailer", None), ("not UTF-8 after the head", "pandas")])
def test_what_splitcsv_cannot_split_is_read_by_pandas(tmp_path, monkeypatch, streamed, split,
                                                      case, way):
    rows = plain_rows(6, 60)
    lines = [",".join(HEADER)] + [",".join(row) for row in rows]
    if case == "quote":  # far enough from the end not to be in the bottom line's window
        monkeypatch.setattr(events, "last_record", functools.partial(events.last_record,
                                                                     window=300))
        lines[30] = lines[30].replace("note", '"a ""quoted"" note"')
    elif case == "NUL":
        lines[30] = lines[30].replace("note", "no\0te")
    elif case == "lone CR":
        lines[30] = lines[30].replace("note", "no\rte")
    elif case == "short row":
        lines[30] = lines[30].rsplit(",", 1)[0]
    elif case == "wide row":
        lines[30] += ",extra"
    elif case == "wide first rows":
        lines[3] += ",extra"
    elif case == "blank line":
        lines.insert(30, "")
    elif case == "spaces row":
        lines.insert(30, ", ,  ,,\t,")
    elif case == "trailer":
        lines.append("Total,,,,,")
    text = "\n".join(lines) + "\n"
    data = text.encode()
    if case == "not UTF-8 after the head":
        monkeypatch.setattr(events, "HEAD_BYTES", 2000)  # an ASCII head, cp1251 lines after it
        data = text.replace("Иванов Б.", "Ivanov B.").encode() + "\n".join(
            ",".join(row) for row in plain_rows(7, 5)).encode("cp1251") + b"\n"
        assert data[:2000].isascii() and not data.isascii()
        with pytest.raises(UnicodeDecodeError):
            data.decode()
    path = tmp_path / "events.csv"
    path.write_bytes(data)
    same_three_ways(path)
    assert split == ([way] if way else [])


_DATES = st.one_of(
    st.builds(lambda day, hour: f"{day.isoformat()}T{hour:02d}:05:00.000Z",
              st.dates(dt.date(2025, 12, 1), dt.date(2026, 3, 1)), st.integers(0, 23)),
    st.builds(lambda day: f"{day:%d.%m.%Y} 10:30", st.dates(dt.date(2025, 12, 1),
                                                            dt.date(2026, 3, 1))),
    st.builds(lambda day: f"{day.month}/{day.day}/{day.year}",
              st.dates(dt.date(2025, 12, 1), dt.date(2026, 3, 1))),
    st.sampled_from(["", "  ", "n/a", "next week", "2026-02-31", "31.02.2026 10:00",
                     "13/13/2026", " 2026-01-02 "]))
_ROWS = st.lists(st.tuples(
    st.sampled_from(["emailsSent", "emailsOpened", "Email opened", "emailsReplied",
                     "emailsBounced", "emailsInterested", "emailsClicked", " sent "]),
    _DATES,
    st.sampled_from(["Anna Petrova", "anna petrova", " Anna Petrova ", "Иванов Б.",
                     "Пётр  Сидоров", "", "  ", "Rep 01"]),
    st.sampled_from(["", "a@x.com", "A@X.COM", " a@x.com ", "b@y.ru", "Ёж@почта.рф",
                     "lead" * 20 + "@x.com"]),
    st.sampled_from(["", "anna@acme.com", "ANNA@acme.com", "ivanov@acme.com"])),
    min_size=1, max_size=40)


@settings(max_examples=25, deadline=None)
@given(rows=_ROWS, separator=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]),
       newline=st.sampled_from(["\n", "\r\n"]), last_newline=st.booleans(),
       chunk_rows=st.integers(1, 9), read_bytes=st.integers(1, 80))
def test_split_files_read_as_pandas_chunks_and_the_whole_table(rows, separator, encoding,
                                                               newline, last_newline,
                                                               chunk_rows, read_bytes):
    # a blank owner is named by the sender's e-mail (records._with_fallbacks)
    header = [*HEADER[:5], "sendUserEmail"]
    lines = [separator.join(header)] + [separator.join([f"e{number}", *row])
                                        for number, row in enumerate(rows)]
    text = newline.join(lines) + (newline if last_newline else "")
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(events, "CHUNK_ROWS", chunk_rows)
        patch.setattr(splitcsv, "READ_BYTES", read_bytes)
        path = Path(folder) / "events.csv"
        path.write_bytes(text.encode(encoding))
        same_three_ways(path)


def test_a_date_column_of_blank_cells_only_is_read_as_blank(tmp_path, split):
    # No date key at all: every counted event is skipped for its missing date.
    rows = [[f"e{n}", "emailsSent", " " * (n % 2), "Anna", "a@x.com", ""] for n in range(4)]
    result = same_three_ways(write(tmp_path / "events.csv", rows))
    assert split == ["split"]
    assert result.decisions == ["SendDate (date): blank"]
    assert result.skipped == [Skipped(row, "no date for the event") for row in range(2, 6)]

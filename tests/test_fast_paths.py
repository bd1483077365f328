"""The shortcuts that keep `refresh` and `report` fast on a large tracker give what the long way
gives: the channel listing from one column of the rows held outside openpyxl, KeptRows written
in one piece, the package edit copying unchanged parts compressed as they were, the formula
scan that starts from each "<f", the owner lookup once per distinct owner."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest

from xlkpi.core.stages import unknown_owners
from xlkpi.tracker import formula_scan
from xlkpi.tracker import model as layout
from xlkpi.tracker.build import new_workbook
from xlkpi.tracker.channels import channel_names
from xlkpi.tracker.file import TrackerFile
from xlkpi.tracker.model import DataSheet, Settings, Tracker
from xlkpi.xlsx import splice
from xlkpi.xlsx.kept import KeptRows
from xlkpi.xlsx.package import Package

DAY = dt.datetime(2026, 2, 3)
FILLER = 6000  # Leads rows of one source: the data sheets' XML past splice.STREAM_FROM_BYTES


def large_tracker() -> Tracker:
    leads = [[f"L{n}", "Anna", DAY, None, "Webinar"] for n in range(FILLER)]
    leads[10][4] = "google ads"
    leads[20][4] = "Google Ads"
    leads[30][4] = None  # a blank source in the middle: "(no channel)"
    leads.append(["L-last", "Boris", DAY, None, 2025])  # a number as a source
    spend = [[DAY, 10.0, "LinkedIn"], [DAY, 5.0, "  "]]  # blank after trimming
    return Tracker(Settings(2026, 1, "EUR", ["Anna", "Boris"]), [], {
        layout.LEADS: DataSheet(list(layout.DATA_COLUMNS[layout.LEADS]), leads),
        layout.SPEND: DataSheet(list(layout.DATA_COLUMNS[layout.SPEND]), spend)})


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    path = tmp_path_factory.mktemp("fast") / "tracker.xlsx"
    new_workbook(large_tracker()).save(path)
    return path


def test_the_channels_of_a_large_tracker_come_from_the_one_column(large):
    file = TrackerFile.open(large)
    assert isinstance(file.book, splice.SplitBook)  # the rows are held outside openpyxl
    tracker = file.read()
    # worked out by hand: Google Ads spelt as its first spelling in code-point order, the
    # number as its text, blanks last as None
    expected = ["2025", "Google Ads", "LinkedIn", "Webinar", None]
    assert channel_names(tracker) == expected
    leads = tracker.data[layout.LEADS]
    assert leads._sheet is None  # not read: the column alone was
    assert len(leads.rows) == FILLER + 1  # now read whole: the long way gives the same
    assert channel_names(tracker) == expected


def test_a_column_of_kept_rows_stops_at_the_last_row_holding_anything():
    body = (b'<row r="2"><c r="A2" t="inlineStr"><is><t>a</t></is></c></row>'
            b'<row r="4"><c r="B4"><v>7</v></c><c r="C4"><f>1</f><v></v></c></row>'
            b'<row r="5"><c r="C5"><f>1</f><v></v></c></row>'  # only the skipped column
            b'<row r="6"><c r="A6" s="3"/></row>')  # formatted, empty
    rows = KeptRows(body, None)
    assert rows.column(1, 3) == ["a", None, None]  # rows 2, 3 (missing), 4
    assert rows.column(2, 3) == [None, None, 7]
    assert rows.column(3, None) == [None, None, "=1", "=1"]


def test_kept_rows_in_place_are_written_as_they_were_in_one_piece():
    body = (b'<row r="2" ht="20" customHeight="1"><c r="A2"><v>1</v></c></row>\n'
            b'<row r="3"><c r="A3" t="s"><v>0</v></c></row>')
    rows = KeptRows(body, [b"<t>x</t>"])
    assert b"".join(rows.chunks()) == body
    prefixed = (b'<row r="2" spans="1:1" x14ac:dyDescent="0.25"><c r="A2"><v>1</v></c></row>'
                b'<row r="3"><c r="A3"><v>2</v></c></row>')
    rows = KeptRows(prefixed, None)  # spans and the prefixed attribute left out, row by row
    assert b"".join(rows.chunks()) == (b'<row r="2"><c r="A2"><v>1</v></c></row>'
                                       b'<row r="3"><c r="A3"><v>2</v></c></row>')


def test_refresh_copies_the_parts_it_leaves_alone_compressed_as_they_were(large, tmp_path):
    path = tmp_path / "tracker.xlsx"
    path.write_bytes(large.read_bytes())
    file = TrackerFile.open(path)
    file.refresh()
    file.save(backup=False)
    with zipfile.ZipFile(large) as before, zipfile.ZipFile(path) as after:
        assert after.testzip() is None
        leads = next(name for name in before.namelist() if before.read(name).count(b"L-last"))
        old, new = before.getinfo(leads), after.getinfo(leads)
        assert (new.CRC, new.compress_size, new.file_size) == (
            old.CRC, old.compress_size, old.file_size)
        assert after.read(leads) == before.read(leads)


def test_copy_raw_writes_an_entry_zipfile_reads_back():
    source = io.BytesIO()
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("a.xml", b"<a/>" * 1000, zipfile.ZIP_DEFLATED)
        archive.writestr("b.bin", b"\x00\x01", zipfile.ZIP_STORED)
    package = Package(source.getvalue())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        assert package.copy_raw("a.xml", archive)
        archive.writestr("c.txt", b"new")
        assert package.copy_raw("b.bin", archive)
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        assert [archive.read(name) for name in ("a.xml", "c.txt", "b.bin")] == [
            b"<a/>" * 1000, b"new", b"\x00\x01"]


SHEET = (b'<worksheet><sheetData>'
         b'<row r="1"><c r="A1" t="inlineStr"><is><t>Amount</t></is></c></row>'
         b'<row r="2"><c r="A2"><f>1+1</f><v>2</v></c><c r="B2"><f>2</f><v></v></c></row>'
         b'<row r="3"><c r="A3"><f>1+2</f><v></v></c>'
         b'<c r="C3" t="str"><f>""</f><v></v></c></row>'
         b'<row r="4"><c r="A4"><f>X</f></c></row>'
         b'</sheetData></worksheet>')


@pytest.mark.parametrize("prefixed", [False, True])
def test_the_formula_scan_finds_the_cells_without_a_stored_result(prefixed):
    xml = SHEET
    if prefixed:
        xml = re.sub(rb"<(/?)(?!/)", rb"<\1x:", xml)
    pattern = re.compile(formula_scan._FORMULA_CELL % b"B", re.S)  # B: skipped (StageClass)
    classes = re.compile(formula_scan._CLASS_FORMULA % b"B")
    rows: dict[str, set[int]] = {}
    found = [(formula_scan._REF.search(match.group(1)).group(0), match.group(2))
             for match in formula_scan._formula_cells(xml, pattern, classes, rows, "Sheet")]
    # by hand: A2 (a value), A3 (empty), C3 (t="str", empty), A4 (no value); B2 skipped
    assert found == [(b'r="A2"', b"2"), (b'r="A3"', b""), (b'r="C3"', b""), (b'r="A4"', None)]
    assert rows == {"Sheet": {2}}


CLASS_ONLY = (b'<worksheet><sheetData>'
              b'<row r="2"><c r="A2" t="n"><v>5</v></c><c r="B2"><f>IF(A2="","",1)</f><v></v></c>'
              b'</row><row r="3"><c r="B3"><f>IF(A3="","",1)</f><v></v></c></row>'
              b'</sheetData></worksheet>')


@pytest.mark.parametrize("xml, taken", [
    (CLASS_ONLY, True),
    # one more formula (an Amount typed as =2500*2 by a script: no stored result)
    (CLASS_ONLY.replace(b'<v>5</v>', b'<f>2500*2</f><v></v>'), False),
    # a StageClass formula as Excel writes it (shared, another attribute): the long way
    (CLASS_ONLY.replace(b'<c r="B3"><f>', b'<c r="B3" s="2"><f>'), False),
])
def test_a_sheet_of_stage_class_formulas_only_is_found_in_one_search(xml, taken):
    """The one search (_only_class_formulas) is taken only when every formula is a StageClass
    formula as xlkpi writes it, and then gives the rows the match at each formula gives."""
    rows: dict[str, set[int]] = {}
    assert formula_scan._only_class_formulas(xml, "B", rows, "Sheet") is taken
    pattern = re.compile(formula_scan._FORMULA_CELL % b"B", re.S)
    classes = re.compile(formula_scan._CLASS_FORMULA % b"B")
    long_way: dict[str, set[int]] = {}
    others = list(formula_scan._formula_cells(xml, pattern, classes, long_way, "Sheet"))
    if taken:
        assert rows == long_way == {"Sheet": {2, 3}}  # by hand: B2 and B3
        assert others == []  # and no other formula the long way would name
    else:
        assert rows == {}


def test_unknown_owners_are_counted_as_before_with_each_owner_keyed_once():
    column = ["Anna", "anna ", "Zoe", "Zoe", 7, 7.0, None, "", "Zoe"]
    # by hand: "Anna" is the rep; "anna " is not (COUNTIFS ignores case, not spaces); Zoe 3
    # rows; 7 and 7.0 one owner, shown as first met; blanks nobody's
    assert unknown_owners([column], ["Anna"]) == [("Zoe", 3), ("7", 2), ("anna ", 1)]


@pytest.mark.slow
def test_a_save_the_editor_cannot_make_is_openpyxls_compressed(large, tmp_path, monkeypatch):
    """The generated package is kept uncompressed for the editor; when the editor declines,
    that package is what is saved, compressed again, and the summary says so."""
    from xlkpi.tracker import file as tracker_file
    from xlkpi.xlsx.stylemap import Unsupported

    def decline(*_args):
        raise Unsupported("a test")

    monkeypatch.setattr(tracker_file, "write_edited", decline)
    path = tmp_path / "tracker.xlsx"
    path.write_bytes(large.read_bytes())
    file = TrackerFile.open(path)
    summary = file.refresh()
    file.save(backup=False)
    assert any("not part for part (a test)" in note for note in summary.notes)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    again = TrackerFile.open(path).read()
    assert len(again.data[layout.LEADS].rows) == FILLER + 1
    assert again.data[layout.LEADS].rows[-1][:2] == ["L-last", "Boris"]


def test_a_formula_naming_no_data_sheet_pins_nothing_and_one_naming_one_still_does():
    from xlkpi.tracker.pinned import Pins

    pins = Pins({"Opportunities": 10})
    pins.formula("=SUM(Targets!C5:C9)+C3", "Dashboard", None, "on 'Dashboard'")
    assert pins.reasons == {}
    pins.formula("='OPPORTUNITIES'!F3*2", "Dashboard", None, "on 'Dashboard'")
    assert list(pins.reasons) == ["Opportunities"]

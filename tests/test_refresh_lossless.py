"""Refresh is a package-level edit (issue 10, items 1, 2, 3, 5, 11): every part of the file that
xlkpi does not generate is carried byte for byte; generated tabs are known by xlkpi's record
(and their mark), never by name; a file changed while refresh ran is not replaced; a formatted
blank cell at the sheet's last row is not data.

The fixtures are generated trackers edited at the zip/XML level: a person's "Dashboard" sheet
with a picture, a chart, a comment, an x14 dropdown fed from Settings and a formula with its
cached value; a picture on Settings; a formula with a cached value in an Opportunities Amount
cell; defined names; a VBA project (.xlsm).
"""

from __future__ import annotations

import functools
import json
import re
import struct
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tests.test_workbook import sample_tracker
from xlkpi.cli import cli
from xlkpi.core.errors import TrackerFileError
from xlkpi.tracker.file import TrackerFile, generated_unread, split_large
from xlkpi.xlsx import splice
from xlkpi.xlsx.package import Package, check_package

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
X14_DV = (
    '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
    'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/'
    'main"><x14:dataValidation type="list" allowBlank="1" showInputMessage="1" '
    'showErrorMessage="1"><x14:formula1><xm:f>Settings!$A$4:$A$5</xm:f></x14:formula1>'
    '<xm:sqref>B2</xm:sqref></x14:dataValidation></x14:dataValidations></ext></extLst>')


def png() -> bytes:
    """A valid 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def picture(rel: str) -> str:
    return (
        '<xdr:oneCellAnchor><xdr:from><xdr:col>3</xdr:col><xdr:colOff>0</xdr:colOff>'
        '<xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx="952500" '
        'cy="952500"/><xdr:pic><xdr:nvPicPr><xdr:cNvPr id="2" name="Logo"/><xdr:cNvPicPr/>'
        f'</xdr:nvPicPr><xdr:blipFill><a:blip r:embed="{rel}"/><a:stretch><a:fillRect/>'
        '</a:stretch></xdr:blipFill><xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom>'
        '</xdr:spPr></xdr:pic><xdr:clientData/></xdr:oneCellAnchor>')


def drawing(*anchors: str) -> str:
    return ('<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/'
            'spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
            f'xmlns:r="{RELS}" xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart">'
            + "".join(anchors) + "</xdr:wsDr>")


CHART_ANCHOR = (
    '<xdr:twoCellAnchor><xdr:from><xdr:col>5</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1'
    '</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>12</xdr:col><xdr:colOff>0'
    '</xdr:colOff><xdr:row>15</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:graphicFrame '
    'macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="3" name="My chart"/><xdr:cNvGraphicFramePr/>'
    '</xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
    '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
    '<c:chart r:id="rId2"/></a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/>'
    '</xdr:twoCellAnchor>')
COMMENTS = (f'<comments xmlns="{MAIN}"><authors><author>Ann</author></authors><commentList>'
            '<comment ref="A1" authorId="0"><text><r><t>Checked by Ann</t></r></text></comment>'
            '</commentList></comments>')
VML = ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:'
       'office" xmlns:x="urn:schemas-microsoft-com:office:excel"><v:shape type="#_x0000_t202" '
       'style="position:absolute;visibility:hidden"><x:ClientData ObjectType="Note"><x:Row>0'
       '</x:Row><x:Column>0</x:Column></x:ClientData></v:shape></xml>')
DASHBOARD = (
    f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}"><dimension ref="A1:B2"/><sheetData>'
    '<row r="1"><c r="A1"><f>2+3</f><v>5</v></c><c r="B1" t="inlineStr"><is><t>Pick one</t>'
    '</is></c></row><row r="2"><c r="A2"><f>Opportunities!F2*2</f><v>10000</v></c></row>'
    '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
    'footer="0.3"/><drawing r:id="rId1"/><legacyDrawing r:id="rId3"/>' + X14_DV +
    '</worksheet>')
CT = {
    "sheet": "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
    "drawing": "application/vnd.openxmlformats-officedocument.drawing+xml",
    "chart": "application/vnd.openxmlformats-officedocument.drawingml.chart+xml",
    "comments": "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml",
}
FOREIGN = {  # the parts the fixture adds, all to be carried byte for byte
    "xl/worksheets/dashboard.xml", "xl/worksheets/_rels/dashboard.xml.rels",
    "xl/drawings/mydrawing1.xml", "xl/drawings/_rels/mydrawing1.xml.rels",
    "xl/drawings/mydrawing2.xml", "xl/drawings/_rels/mydrawing2.xml.rels",
    "xl/charts/mychart1.xml", "xl/media/logo.png", "xl/comments9.xml",
    "xl/drawings/vmlDrawing9.vml", "docProps/custom.xml",
}


def rels(*items: tuple[str, str, str]) -> str:
    return (f'<Relationships xmlns="{PKG}">' + "".join(
        f'<Relationship Id="{rid}" Type="{RELS}/{kind}" Target="{target}"/>'
        for rid, kind, target in items) + "</Relationships>")


def add_foreign(source: Path, target: Path, vba: bool = False) -> None:
    """``source`` with every kind of foreign content (module doc), saved as ``target``."""
    with zipfile.ZipFile(source) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    package = Package(source.read_bytes())
    book = parts["xl/workbook.xml"].decode()
    sheet_of = {}
    targets = {rel.id: rel.target for rel in package.rels("xl/workbook.xml")}
    for match in re.finditer(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', book):
        sheet_of[match.group(1)] = targets[match.group(2)]
    chart = next(name for name in parts if name.startswith("xl/charts/"))
    parts["xl/charts/mychart1.xml"] = parts[chart]
    parts["xl/media/logo.png"] = png()
    parts["xl/worksheets/dashboard.xml"] = DASHBOARD.encode()
    parts["xl/worksheets/_rels/dashboard.xml.rels"] = rels(
        ("rId1", "drawing", "../drawings/mydrawing1.xml"),
        ("rId3", "vmlDrawing", "../drawings/vmlDrawing9.vml"),
        ("rId4", "comments", "../comments9.xml")).encode()
    parts["xl/drawings/mydrawing1.xml"] = drawing(picture("rId1"), CHART_ANCHOR).encode()
    parts["xl/drawings/_rels/mydrawing1.xml.rels"] = rels(
        ("rId1", "image", "../media/logo.png"), ("rId2", "chart", "../charts/mychart1.xml")
    ).encode()
    parts["xl/drawings/mydrawing2.xml"] = drawing(picture("rId1")).encode()
    parts["xl/drawings/_rels/mydrawing2.xml.rels"] = rels(
        ("rId1", "image", "../media/logo.png")).encode()
    parts["xl/comments9.xml"] = COMMENTS.encode()
    parts["xl/drawings/vmlDrawing9.vml"] = VML.encode()
    parts["docProps/custom.xml"] = (
        b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-'
        b'properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTy'
        b'pes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Dept">'
        b'<vt:lpwstr>Sales</vt:lpwstr></property></Properties>')
    # a picture on Settings
    settings = sheet_of["Settings"]
    xml = parts[settings].decode()
    if 'xmlns:r="' not in xml[:xml.index(">")]:
        xml = xml.replace("<worksheet ", f'<worksheet xmlns:r="{RELS}" ', 1)
    at = min(i for i in (xml.find(t) for t in ("<legacyDrawing", "<tableParts", "<extLst",
                                               "</worksheet>")) if i >= 0)
    parts[settings] = (xml[:at] + '<drawing r:id="rIdPic"/>' + xml[at:]).encode()
    folder, _, name = settings.rpartition("/")
    settings_rels = f"{folder}/_rels/{name}.rels"
    assert settings_rels not in parts
    parts[settings_rels] = rels(("rIdPic", "drawing", "../drawings/mydrawing2.xml")).encode()
    # a formula with its cached value in an Opportunities Amount cell (F2)
    opportunities = sheet_of["Opportunities"]
    xml = parts[opportunities].decode()
    cell = re.search(r'<c r="F2"( s="\d+")?( t="\w+")?(/>|>.*?</c>)', xml)
    parts[opportunities] = (xml[:cell.start()] + f'<c r="F2"{cell.group(1) or ""}><f>2500*2</f>'
                            '<v>5000</v></c>' + xml[cell.end():]).encode()
    # the Dashboard sheet, defined names, the workbook's relationships and content types
    count = len(sheet_of)
    book = book.replace("</sheets>", f'<sheet name="Dashboard" sheetId="99" r:id="rIdDash" '
                        f'xmlns:r="{RELS}"/></sheets>')
    names = ('<definedName name="MyDeal">Opportunities!$F$2</definedName>'
             f'<definedName name="_xlnm.Print_Area" localSheetId="{count}">Dashboard!$A$1:$B$2'
             '</definedName>')
    book = book.replace("<definedNames>", "<definedNames>" + names, 1)
    parts["xl/workbook.xml"] = book.encode()
    book_rels = parts["xl/_rels/workbook.xml.rels"].decode()
    extra = (f'<Relationship Id="rIdDash" Type="{RELS}/worksheet" '
             'Target="worksheets/dashboard.xml"/>')
    types = parts["[Content_Types].xml"].decode()
    overrides = [("/xl/worksheets/dashboard.xml", CT["sheet"]),
                 ("/xl/drawings/mydrawing1.xml", CT["drawing"]),
                 ("/xl/drawings/mydrawing2.xml", CT["drawing"]),
                 ("/xl/charts/mychart1.xml", CT["chart"]),
                 ("/xl/comments9.xml", CT["comments"]),
                 ("/docProps/custom.xml", "application/vnd.openxmlformats-officedocument."
                                          "custom-properties+xml")]
    defaults = '<Default Extension="png" ContentType="image/png"/><Default Extension="vml" ' \
               'ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>'
    if vba:
        parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0" + bytes(range(256)) * 4
        extra += ('<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/'
                  'relationships/vbaProject" Target="vbaProject.bin"/>')
        overrides.append(("/xl/vbaProject.bin", "application/vnd.ms-office.vbaProject"))
        types = types.replace("spreadsheetml.sheet.main+xml",
                              "../ms-excel.sheet.macroEnabled.main+xml").replace(
            "application/vnd.openxmlformats-officedocument.../ms-excel",
            "application/vnd.ms-excel")
    parts["xl/_rels/workbook.xml.rels"] = book_rels.replace("</Relationships>",
                                                            extra + "</Relationships>").encode()
    types = types.replace("<Override", defaults + "<Override", 1).replace(
        "</Types>", "".join(f'<Override PartName="{n}" ContentType="{t}"/>'
                            for n, t in overrides) + "</Types>")
    parts["[Content_Types].xml"] = types.encode()
    root = parts["_rels/.rels"].decode()
    parts["_rels/.rels"] = root.replace("</Relationships>", (
        '<Relationship Id="rIdCustom" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/custom-properties" Target="docProps/custom.xml"/>'
        "</Relationships>")).encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)


def run(*args) -> CliRunner:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def small_tracker(folder: Path) -> Path:
    """``folder``/plain.xlsx: a tracker of 40 rows (made once, a copy per test)."""
    path = folder / "plain.xlsx"
    path.write_bytes(_made("small"))
    return path


def large_tracker(folder: Path) -> Path:
    """``folder``/plain.xlsx: `xlkpi new --demo` (made once, a copy per test)."""
    path = folder / "plain.xlsx"
    path.write_bytes(_made("large"))
    return path


@functools.cache
def _made(size: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plain.xlsx"
        if size == "small":
            TrackerFile.new(path, sample_tracker(rows=40, reps=["Anna", "Boris"])).save(
                backup=False)
        else:
            assert run("new", path, "--demo").exit_code == 0
        return path.read_bytes()


def report(path: Path) -> list:
    result = run("report", path, "--period", "all", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def carried(before: bytes, after: bytes) -> list[str]:
    """The parts of ``before`` that ``after`` does not hold byte for byte, but for what a
    refresh rewrites: its generated tabs and what they use, and the workbook's index parts."""
    old, new = Package(before), Package(after)
    generated = set()
    book = old.read("xl/workbook.xml").decode()
    targets = {rel.id: rel.target for rel in old.rels("xl/workbook.xml")}
    typed = {"Settings", "Targets", "Leads", "Spend", "Opportunities", "Emails", "Customers"}
    typed_parts = set()
    for match in re.finditer(r'<sheet [^>]*?name="([^"]+)"[^>]*?r:id="([^"]+)"', book):
        title, part = match.group(1), targets[match.group(2)]
        if title in typed:
            typed_parts.add(part)
            typed_parts.update(rel.target for rel in old.rels(part) if "/tables/" in rel.target)
        elif title in ("Start", "This month", "Team", "Rep view", "Leaderboard", "Channels",
                       "_xlkpi", "Anna", "Boris",
                       "Chloe", "Dmitri", "Elena"):
            generated.update(old.closure(part))
    generated |= {f"{p.rpartition('/')[0]}/_rels/{p.rpartition('/')[2]}.rels" for p in generated}
    index = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
             "xl/styles.xml"}
    return [name for name in old.names if name not in generated | typed_parts | index and (
        name not in new.infos or new.read(name) != old.read(name))]


@pytest.fixture(params=["small", "large"])
def foreign(request, tmp_path):
    plain = (small_tracker if request.param == "small" else large_tracker)(tmp_path)
    path = tmp_path / "tracker.xlsx"
    add_foreign(plain, path)
    split = split_large(path, openpyxl.load_workbook)
    assert isinstance(split, splice.SplitBook) == (request.param == "large")
    return path


@pytest.mark.slow
def test_refresh_carries_every_foreign_part_byte_for_byte(foreign):
    before = foreign.read_bytes()
    numbers = report(foreign)
    result = run("refresh", foreign)
    assert result.exit_code == 0, result.output
    assert "note:" not in result.output  # no fallback
    after = foreign.read_bytes()
    assert check_package(after) == []
    assert carried(before, after) == []
    assert set(zipfile.ZipFile(foreign).namelist()) >= FOREIGN
    # what lives inside the sheets refresh patches: kept as it was
    new = Package(after)
    book = new.read("xl/workbook.xml")
    assert b'<definedName name="MyDeal">Opportunities!$F$2</definedName>' in book
    dashboard = re.search(rb'<sheet name="Dashboard"[^>]*/>', book)
    index = re.findall(rb"<sheet\b", book[:dashboard.start()])
    assert b'localSheetId="%d">Dashboard!' % len(index) in book
    wb = openpyxl.load_workbook(foreign)
    assert wb["Dashboard"]["A1"].value == "=2+3"
    assert wb["Opportunities"]["F2"].value == "=2500*2"
    values = openpyxl.load_workbook(foreign, data_only=True)
    assert values["Opportunities"]["F2"].value == 5000  # the cached value, kept
    assert values["Dashboard"]["A1"].value == 5
    settings = new.read(next(rel.target for rel in new.rels("xl/workbook.xml")
                             if rel.target.endswith(".xml") and b"Settings" in book and
                             _title(book, new, rel.target) == "Settings"))
    assert b'<drawing r:id="rIdPic"/>' in settings
    assert report(foreign) == numbers
    # a second refresh: the same again, every part of the first result carried
    again = run("refresh", foreign)
    assert again.exit_code == 0, again.output
    assert carried(after, foreign.read_bytes()) == []
    assert Path(str(foreign).replace(".xlsx", ".bak.xlsx")).read_bytes() == after


def _title(book: bytes, package: Package, part: str) -> str | None:
    targets = {rel.target: rel.id for rel in package.rels("xl/workbook.xml")}
    found = re.search(rb'<sheet [^>]*?name="([^"]+)"[^>]*?r:id="%s"' %
                      targets[part].encode(), book)
    return found.group(1).decode() if found else None


@pytest.mark.slow
def test_refresh_keeps_a_vba_project(tmp_path):
    plain = small_tracker(tmp_path)
    path = tmp_path / "tracker.xlsm"
    add_foreign(plain, path, vba=True)
    before = path.read_bytes()
    result = run("refresh", path)
    assert result.exit_code == 0, result.output
    after = path.read_bytes()
    assert carried(before, after) == []
    assert Package(after).read("xl/vbaProject.bin") == Package(before).read("xl/vbaProject.bin")
    assert check_package(after) == []


@pytest.mark.libreoffice
@pytest.mark.parametrize("size", ["small", "large"])
def test_refreshed_file_recalculates_to_the_report(size, tmp_path):
    from tests.libreoffice import recalculate
    from tests.test_agreement import same, tab_cells

    plain = (small_tracker if size == "small" else large_tracker)(tmp_path)
    path = tmp_path / "tracker.xlsx"
    add_foreign(plain, path)
    assert run("refresh", path).exit_code == 0
    rows = report(path)
    done = recalculate(path, tmp_path / "lo")

    class Built:
        recalculated = done
        reps = list(dict.fromkeys(row["rep"] for row in rows if row["rep"] != "Team"))
        months = list(dict.fromkeys(row["period"] for row in rows if row["period"] != "YTD"))

    by_key = {(row["rep"], row["kpi"], row["period"]): row for row in rows}
    wrong, checked = [], 0
    for who, kpi, period, kind, value in tab_cells(Built):
        checked += 1
        expected = by_key[who, kpi, period][kind.lower()]
        if not same(expected, value):
            wrong.append((who, kpi, period, kind, value, expected))
    assert checked > 100 and not wrong, wrong[:10]
    assert openpyxl.load_workbook(done, data_only=True)["Dashboard"]["A1"].value == 5


# --- item 2: generated tabs known by the record and their mark, never by name ----------------

@pytest.mark.slow
def test_a_sheet_a_person_named_like_a_deleted_rep_tab_is_kept(tmp_path):
    path = small_tracker(tmp_path)
    wb = openpyxl.load_workbook(path)
    del wb["Boris"]
    mine = wb.create_sheet("Boris")
    mine["A1"] = "my notes on Boris"
    wb.save(path)
    result = run("refresh", path)
    assert result.exit_code == 0, result.output
    assert "tabs added: Boris (2)" in result.output and "tabs removed: none" in result.output
    wb = openpyxl.load_workbook(path)
    assert wb["Boris"]["A1"].value == "my notes on Boris"
    assert "Boris (2)" in wb.sheetnames


def test_a_sheet_a_person_named_like_a_deleted_generated_tab_is_never_overwritten(tmp_path):
    path = small_tracker(tmp_path)
    wb = openpyxl.load_workbook(path)
    del wb["Leaderboard"]
    wb.create_sheet("Leaderboard")["A1"] = "my own ranking"
    wb.save(path)
    before = path.read_bytes()
    result = run("refresh", path)
    assert result.exit_code == 1
    assert "'Leaderboard' was not made by xlkpi" in result.output
    assert path.read_bytes() == before


# --- item 3: a file changed while refresh ran is not replaced ---------------------------------

@pytest.mark.slow
def test_a_file_saved_meanwhile_is_not_replaced(tmp_path):
    path = small_tracker(tmp_path)
    tracker = TrackerFile.open(path)
    tracker.refresh()
    wb = openpyxl.load_workbook(path)
    wb["Leads"]["A2"] = "a deal typed while refresh ran"
    time.sleep(0.01)
    wb.save(path)
    theirs = path.read_bytes()
    with pytest.raises(TrackerFileError, match="changed while xlkpi was working on it.*"
                                               "plain.refreshed.xlsx"):
        tracker.save()
    assert path.read_bytes() == theirs
    refreshed = tmp_path / "plain.refreshed.xlsx"
    assert openpyxl.load_workbook(refreshed).sheetnames == wb.sheetnames
    assert not (tmp_path / "plain.bak.xlsx").exists()


@pytest.mark.slow
def test_refresh_command_exits_1_when_the_file_changed_meanwhile(tmp_path, monkeypatch):
    path = small_tracker(tmp_path)
    real = TrackerFile.refresh

    def and_someone_saves(self, *args, **kwargs):
        summary = real(self, *args, **kwargs)
        path.write_bytes(path.read_bytes() + b"")  # the same bytes, but a new mtime
        wb = openpyxl.load_workbook(path)
        wb["Leads"]["A2"] = "new deal"
        wb.save(path)
        return summary

    monkeypatch.setattr(TrackerFile, "refresh", and_someone_saves)
    result = run("refresh", path)
    assert result.exit_code == 1
    assert "plain.refreshed.xlsx" in result.output
    assert openpyxl.load_workbook(path)["Leads"]["A2"].value == "new deal"


# --- item 11: a formatted blank cell at the last row is not data ------------------------------

@pytest.mark.slow
def test_a_formatted_blank_cell_at_the_last_row_costs_nothing(tmp_path):
    path = small_tracker(tmp_path)
    package = Package(path.read_bytes())
    targets = {rel.id: rel.target for rel in package.rels("xl/workbook.xml")}
    leads = targets[re.search(rb'name="Leads"[^>]*r:id="([^"]+)"',
                              package.read("xl/workbook.xml")).group(1).decode()]
    xml = package.read(leads)
    xml = xml.replace(b"</sheetData>", b'<row r="1048576"><c r="A1048576" s="1"/></row>'
                                       b"</sheetData>")
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts[leads] = xml
    with zipfile.ZipFile(path, "w") as out:
        for name, data in parts.items():
            out.writestr(name, data)
    size = len(xml)
    started = time.perf_counter()
    for _ in range(2):  # the second refresh too (it used to fail)
        result = run("refresh", path)
        assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 20
    after = Package(path.read_bytes()).read(leads)
    assert len(after) < 2 * size
    assert b'<c r="A1048576" s="1"/>' in after
    table = openpyxl.load_workbook(path)["Leads"].tables["Leads"]
    assert table.ref.endswith("41")  # the last row with data, not row 1,048,576


def test_a_small_tracker_loads_its_generated_tabs_unread(tmp_path):
    """Refresh (split_large) and import (generated_unread) load a small tracker whole but for
    the generated tabs' cells and charts, which regenerate writes again."""
    path = small_tracker(tmp_path)
    whole = openpyxl.load_workbook(path)
    for load in (split_large, generated_unread):
        book = load(path, openpyxl.load_workbook)
        assert isinstance(book, openpyxl.Workbook)
        assert book.sheetnames == whole.sheetnames
        for title in ("Team", "Anna", "Leaderboard", "This month"):
            assert whole[title].max_row > 5
            assert all(cell.value is None for row in book[title].iter_rows() for cell in row)
            assert book[title]._charts == []
        for title in ("Settings", "Targets", "Leads", "Opportunities", "_xlkpi"):
            assert [list(row) for row in book[title].iter_rows(values_only=True)] == [
                list(row) for row in whole[title].iter_rows(values_only=True)]

"""`xlkpi refresh` of a tracker as Excel saves it, with the data rows as sheet XML (the fast
path of xlkpi.xlsx.rows) and as openpyxl cells (the slow path): the same typed cells, the
same recalculated numbers, a file openpyxl and LibreOffice open.

There is no Excel here, so :func:`excel_saved` rewrites a generated tracker's XML the way
Excel writes it: every text in the shared-string table (count/uniqueCount, one rich-text
entry with a phonetic run, ``xml:space="preserve"``), ``<row r= spans= x14ac:dyDescent=>``
with the markup-compatibility namespaces on the worksheet root, numbers without ``t="n"``,
StageClass as one shared formula with ``t="str"`` cached results, a cell-metadata part with
``cm=``/``vm=`` on cells, empty styled cells, booleans, error values and styled date serials.
"""

from __future__ import annotations

import html
import random
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tests.libreoffice import recalculate
from tests.test_workbook import sample_tracker
from tests.test_xlsx_stream import cells, rewritten_both_ways
from xlkpi.cli import cli
from xlkpi.core.texts import stage_class
from xlkpi.tracker import build as workbook
from xlkpi.tracker.cells import put_text
from xlkpi.tracker.file import open_tracker
from xlkpi.tracker.model import DATA_SHEETS, EMAILS, LEADS, OPPORTUNITIES, TEAM
from xlkpi.xlsx import parts as xlsx_parts
from xlkpi.xlsx import splice

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
ROOT_NS = (' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
           ' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
           ' mc:Ignorable="x14ac xr xr2 xr3"'
           ' xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"'
           ' xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision"'
           ' xmlns:xr2="http://schemas.microsoft.com/office/spreadsheetml/2015/revision2"'
           ' xmlns:xr3="http://schemas.microsoft.com/office/spreadsheetml/2016/revision3"')
METADATA = (
    f'<metadata xmlns="{MAIN}" '
    'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">'
    '<metadataTypes count="2"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1"'
    ' pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1"'
    ' clearComments="1" assign="1" coerce="1" cellMeta="1"/><metadataType name="XLRICHVALUE"'
    ' minSupportedVersion="120000" copy="1" pasteAll="1" pasteValues="1" merge="1"'
    ' splitFirst="1" rowColShift="1" clearFormats="1" clearComments="1" assign="1"'
    ' coerce="1"/></metadataTypes><futureMetadata name="XLDAPR" count="1"><bk><extLst><ext'
    ' uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}"><xda:dynamicArrayProperties fDynamic="1"'
    ' fCollapsed="0"/></ext></extLst></bk></futureMetadata><cellMetadata count="1"><bk>'
    '<rc t="1" v="0"/></bk></cellMetadata><valueMetadata count="1"><bk><rc t="2" v="0"/></bk>'
    '</valueMetadata></metadata>')
_ROW = re.compile(r'<row r="(\d+)"([^>]*)>(.*?)</row>', re.S)
_CELL = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)


def person_edited(folder: Path, fill_down: bool) -> Path:
    """A tracker a person worked on in Excel: rows sorted by date (not grouped by owner), a
    formula column of their own in Leads (every third row), a flag column (booleans), a
    check column (an error value), text with spaces around it, a number format of their own;
    with ``fill_down`` a formula filled down the whole of an Emails column."""
    tracker = sample_tracker(seed=5, rows=240, reps=["Anna", "Boris", "Chen"])
    wb = workbook.new_workbook(tracker, streamed=False)
    for name in DATA_SHEETS:  # sorted by date: every rep's rows spread over the sheet
        ws = wb[name]
        dated = next(i for i, cell in enumerate(ws[1]) if str(cell.value).endswith("Date"))
        rows = sorted(([cell.value for cell in row] for row in ws.iter_rows(min_row=2)),
                      key=lambda values, i=dated: (values[i] is None, str(values[i])))
        for r, values in enumerate(rows, 2):
            for c, value in enumerate(values, 1):
                if isinstance(value, str) and value.startswith("=IF("):
                    continue  # StageClass: its formula reads its own row
                if isinstance(value, str):
                    put_text(ws.cell(r, c), value)
                else:
                    ws.cell(r, c).value = value
    leads = wb[LEADS]
    width = leads.max_column
    for offset, label in enumerate(["Score", "Flag", "Check", "Note"], 1):
        put_text(leads.cell(1, width + offset), label)
    rng = random.Random(5)
    for r in range(2, leads.max_row + 1):
        if r % 3 == 0:
            leads.cell(r, width + 1, f"=LEN(A{r})*2")
        leads.cell(r, width + 2, rng.random() < 0.5)
        if r % 7 == 0:
            leads.cell(r, width + 3, "#N/A")
            assert leads.cell(r, width + 3).data_type == "e"
        if r % 5 == 0:
            put_text(leads.cell(r, width + 4), "  spaced out ")
    opportunities = wb[OPPORTUNITIES]
    for r in range(2, opportunities.max_row + 1):
        opportunities.cell(r, 6).number_format = "#,##0.00"
    if fill_down:
        emails = wb[EMAILS]
        col = emails.max_column + 1
        put_text(emails.cell(1, col), "Delivered")
        for r in range(2, emails.max_row + 1):
            emails.cell(r, col, f"=C{r}-D{r}")
    path = folder / "edited.xlsx"
    wb.save(path)
    return path


def _sheet_titles(archive: zipfile.ZipFile) -> dict[str, str]:
    return {part: title for title, part in xlsx_parts.sheet_parts(archive, Path("x.xlsx")).items()}


def excel_saved(source: Path, target: Path) -> Path:
    """``source`` (saved by openpyxl) rewritten as Excel writes a workbook (module docstring)."""
    strings: dict[str, int] = {}
    refs = 0
    rich_done = False

    def shared(t_element: str) -> int:
        nonlocal refs
        refs += 1
        return strings.setdefault(t_element, len(strings))

    with zipfile.ZipFile(source) as archive:
        titles = _sheet_titles(archive)
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    out: dict[str, bytes] = {}
    rich_key = None
    for name, data in parts.items():
        if name not in titles:
            out[name] = data
            continue
        title = titles[name]
        xml = data.decode("utf-8")
        header = {}
        stage_letter = None
        fill_letter = None
        first_shared: dict[str, tuple[int, str]] = {}

        def cell(match, row_number, row_xml, stage_source, title=title, header=header,
                 first_shared=first_shared, xml=xml):
            nonlocal stage_letter, fill_letter, rich_key
            letter, number, attrs, inner = match.groups()
            kind = re.search(r' t="(\w+)"', attrs)
            kind = kind.group(1) if kind else None
            style = re.search(r' s="(\d+)"', attrs)
            head = f'<c r="{letter}{number}"' + (f' s="{style.group(1)}"' if style else "")
            if kind == "inlineStr":
                found = re.search(r"<t(?:\s[^>]*)?>.*?</t>|<t\s*/>", inner or "", re.S)
                t_element = found.group(0) if found else "<t/>"
                if row_number == 1:
                    header[letter] = html.unescape(re.sub(r"<[^>]+>", "", t_element))
                if title == LEADS and row_number == 4 and letter == "A":
                    rich_key = t_element
                return f'{head} t="s"><v>{shared(t_element)}</v></c>'
            if inner and "<f>" in inner:
                formula = re.search(r"<f>(.*?)</f>", inner, re.S).group(1)
                if header.get(letter) == "StageClass" or (header.get(letter) == "Delivered"):
                    label = header[letter]
                    if label == "StageClass":
                        stage = re.search(rf'<c r="{stage_source}{number}"[^>]*><is><t[^>]*>'
                                          r"(.*?)</t>", row_xml)
                        text = ({1: "Won", -1: "Lost", 0: "Open"}[stage_class(html.unescape(
                            stage.group(1)))] if stage else "")
                        value = ' t="str"', f"<v>{html.escape(text, quote=False)}</v>"
                    else:
                        value = "", "<v>0</v>"
                    if label not in first_shared:
                        first_shared[label] = (len(first_shared), formula)
                        si = first_shared[label][0]
                        last = len(_ROW.findall(xml))
                        return (f'{head}{value[0]}><f t="shared" ref="{letter}{number}:{letter}'
                                f'{last}" si="{si}">{formula}</f>{value[1]}</c>')
                    si = first_shared[label][0]
                    return f'{head}{value[0]}><f t="shared" si="{si}"/>{value[1]}</c>'
                metadata = ' cm="1"' if title == LEADS and number == "6" else ""
                return f'{head}{metadata}><f>{formula}</f><v>4</v></c>'
            if kind == "n" or kind is None:
                if inner is None or "<v" not in inner:
                    return f"{head}/>"
                value = ' vm="1"' if title == LEADS and number == "9" else ""
                return f"{head}{value}>{inner}</c>"
            return f'{head} t="{kind}">{inner}</c>'

        rows = []
        stage_source = None
        for row_match in _ROW.finditer(xml):
            row_number = int(row_match.group(1))
            row_xml = row_match.group(3)
            if row_number == 2 and "StageClass" in header.values():
                stage_source = next(k for k, v in header.items() if v == "Stage")
            found = list(_CELL.finditer(row_xml))
            body = "".join(cell(m, row_number, row_xml, stage_source) for m in found)
            if title == LEADS and row_number > 1 and row_number % 4 == 0:
                body += f'<c r="Z{row_number}" s="1"/>'  # a formatted, empty cell
            columns = [openpyxl.utils.column_index_from_string(m.group(1)) for m in found]
            spans = f' spans="{min(columns)}:{max(columns)}"' if columns else ""
            rows.append((row_match.start(), row_match.end(),
                         f'<row r="{row_number}"{spans}{row_match.group(2)} '
                         f'x14ac:dyDescent="0.25">{body}</row>'))
        for start, end, text in reversed(rows):
            xml = xml[:start] + text + xml[end:]
        xml = xml.replace(f'<worksheet xmlns="{MAIN}"', f'<worksheet xmlns="{MAIN}"' + (
            ROOT_NS.replace(' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                            'relationships"', "") if "xmlns:r=" in xml[:500] else ROOT_NS)
            + ' xr:uid="{00000000-0001-0000-0000-000000000000}"', 1)
        xml = re.sub(r"<sheetFormatPr([^>]*?)/>", r'<sheetFormatPr\1 x14ac:dyDescent="0.25"/>',
                     xml, count=1)
        if not xml.startswith("<?xml"):
            xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' + xml
        out[name] = xml.encode("utf-8")
    items = []
    for t_element in strings:
        if t_element == rich_key and not rich_done:
            text = html.unescape(re.sub(r"<[^>]+>", "", t_element))
            head, tail = html.escape(text[:3], quote=False), html.escape(text[3:], quote=False)
            items.append(f'<si><r><rPr><b/><sz val="11"/><color theme="1"/><rFont val="Calibri"/>'
                         f'<family val="2"/><scheme val="minor"/></rPr><t>{head}</t></r><r>'
                         f'<rPr><sz val="11"/><color theme="1"/><rFont val="Calibri"/>'
                         f'<family val="2"/><scheme val="minor"/></rPr>'
                         f'<t xml:space="preserve">{tail}</t></r><rPh sb="0" eb="1"><t>ヨミ</t>'
                         f'</rPh><phoneticPr fontId="1" type="noConversion"/></si>')
            rich_done = True
        else:
            items.append(f"<si>{t_element}</si>")
    assert rich_done
    out["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<sst xmlns="{MAIN}" count="{refs}" uniqueCount="{len(strings)}">{"".join(items)}'
        "</sst>").encode()
    out["xl/metadata.xml"] = METADATA.encode("utf-8")
    out["[Content_Types].xml"] = out["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
        b'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="'
        b'/xl/metadata.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sheetMetadata+xml"/></Types>')
    out["xl/_rels/workbook.xml.rels"] = out["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        b'<Relationship Id="rIdMeta" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/sheetMetadata" Target="metadata.xml"/></Relationships>')
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in out.items():
            archive.writestr(name, data)
    return target


def refreshed_by_cli(path: Path, monkeypatch, threshold: int) -> Path:
    monkeypatch.setattr(splice, "STREAM_FROM_BYTES", threshold)
    copy = path.with_name(f"{path.stem}-{threshold}{path.suffix}")
    shutil.copy(path, copy)
    result = CliRunner().invoke(cli, ["refresh", str(copy)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return copy


def typed_cells(path: Path) -> dict:
    """tests.test_xlsx_stream.cells, with the style of every data cell, and an empty text the
    same as no cell: a shared "" stays "" on the fast path, while openpyxl writes it as an
    empty inline string that reads back as no value (blank to every formula alike)."""
    found = {key: value for key, value in cells(openpyxl.load_workbook(path)).items()
             if not (isinstance(value, tuple) and value[:1] == ("",))}
    book = openpyxl.load_workbook(path)
    for name in DATA_SHEETS:  # styles beyond number format and bold: the whole style id
        for row in book[name].iter_rows():
            for cell in row:
                if cell.has_style:
                    found[(name, cell.coordinate, "style")] = repr((
                        cell.font, cell.fill, cell.border, cell.alignment, cell.protection))
    return found


@pytest.fixture(scope="module")
def excel_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("excel")
    made = {}
    for fill_down in (False, True):
        source = person_edited(folder, fill_down)
        made[fill_down] = excel_saved(source, folder / f"excel-{int(fill_down)}.xlsx")
    return made


def test_the_fixture_looks_like_excel(excel_files):
    with zipfile.ZipFile(excel_files[False]) as archive:
        sheet = archive.read(xlsx_parts.sheet_parts(archive, Path("x"))[OPPORTUNITIES])
        table = archive.read("xl/sharedStrings.xml")
    assert b'x14ac:dyDescent="0.25"' in sheet and b' spans="1:' in sheet
    assert b'<f t="shared" ref="G2:G' in sheet and b'<f t="shared" si="0"/>' in sheet
    assert b'inlineStr' not in sheet and b' t="str"><f' in sheet
    assert b"<rPh " in table and b'xml:space="preserve"' in table
    book = openpyxl.load_workbook(excel_files[False])  # openpyxl reads it as a workbook
    assert book[LEADS]["A4"].value.startswith("Lead ")


@pytest.mark.slow
@pytest.mark.parametrize("fill_down", [False, True], ids=["fast", "shared-fill-down"])
def test_refresh_of_an_excel_saved_file_equals_the_slow_path(excel_files, tmp_path,
                                                             monkeypatch, fill_down):
    source = shutil.copy(excel_files[fill_down], tmp_path / "tracker.xlsx")
    monkeypatch.setattr(splice, "STREAM_FROM_BYTES", 0)
    split = open_tracker(source, writing=True)
    # A formula filled down outside StageClass is shared: the rows go through openpyxl.
    assert isinstance(split, splice.SplitBook) == (not fill_down)
    fast = refreshed_by_cli(source, monkeypatch, 0)
    slow = refreshed_by_cli(source, monkeypatch, 1 << 60)
    assert typed_cells(fast) == typed_cells(slow)
    with zipfile.ZipFile(fast) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                data = archive.read(name)
                assert b" cm=" not in data and b" vm=" not in data  # no metadata part kept
                assert b"x14ac:" not in data or b"xmlns:x14ac" in data
        if not fill_down:  # the table kept, without the count of references it no longer has
            table = archive.read("xl/sharedStrings.xml")
            assert b' uniqueCount="' in table and b' count="' not in table[:300]
    book = openpyxl.load_workbook(fast)
    assert book[LEADS]["A2"].value is not None
    # refresh grouped the rows by owner; a person's formula moved with its row
    leads = book[LEADS]
    names = [c.value for c in leads[1]]
    score = names.index("Score")
    for row in leads.iter_rows(min_row=2):
        formula = row[score].value
        if isinstance(formula, str) and formula.startswith("=LEN("):
            assert formula == f"=LEN(A{row[0].row})*2"


@pytest.mark.slow
def test_excel_rows_moved_by_bytes_equal_moved_cell_by_cell(excel_files, tmp_path,
                                                             monkeypatch):
    source = shutil.copy(excel_files[False], tmp_path / "tracker.xlsx")
    for quick, slow in rewritten_both_ways(source, monkeypatch):
        assert quick == slow


@pytest.mark.libreoffice
@pytest.mark.parametrize("fill_down", [False, True], ids=["fast", "shared-fill-down"])
def test_excel_saved_refresh_recalculates_as_the_slow_path(excel_files, tmp_path, monkeypatch,
                                                           fill_down):
    source = shutil.copy(excel_files[fill_down], tmp_path / "tracker.xlsx")
    values = []
    for threshold in (0, 1 << 60):
        refreshed = refreshed_by_cli(source, monkeypatch, threshold)
        out = openpyxl.load_workbook(recalculate(refreshed, tmp_path / f"lo-{threshold}"),
                                     data_only=True)
        sheets = [TEAM, out.sheetnames[out.sheetnames.index(TEAM) + 1]]
        values.append([[cell.value for cell in row] for name in sheets
                       for row in out[name].iter_rows()])
        assert any(isinstance(v, (int, float)) and v for row in values[-1] for v in row)
        errors = [v for row in values[-1] for v in row
                  if isinstance(v, str) and v.startswith("#") and v != "#"]
        assert not errors
    assert values[0] == values[1]

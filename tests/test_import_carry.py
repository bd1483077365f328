"""`xlkpi import` keeps the generated tabs part for part when the file is sealed (xlsx.seal: every
part as xlkpi wrote it) and the tabs would be made from the same inputs again
(meta.generation_inputs): the workbook is the one the general path, which writes them again,
gives; the parts differ only in the generated tabs' names and bytes (their cells are the same)
and in the three parts that list parts (workbook.xml, its relationships, the content types)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.test_import_fast_save import imported, parts, run, tracker_and_exports
from xlkpi.tracker import file as tracker_file
from xlkpi.xlsx.package import Package, rels_path
from xlkpi.xlsx.parts import sheet_parts
from xlkpi.xlsx.seal import PREFIX, sealed_inputs

OWNERS = 6
LISTS_PARTS = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}


def content(path: Path) -> dict:
    """Every sheet's cells (value, number format, font, fill), columns, state, charts."""
    wb = openpyxl.load_workbook(path)
    out = {"sheets": wb.sheetnames}
    for ws in wb.worksheets:
        out[ws.title] = ({cell.coordinate: (cell.value, cell.number_format, cell.font.b,
                                            cell.fill.fgColor.rgb, cell.alignment.horizontal)
                          for row in ws.iter_rows() for cell in row
                          if cell.value is not None or cell.has_style},
                         {key: (dim.hidden, dim.width)
                          for key, dim in ws.column_dimensions.items()}, ws.sheet_state,
                         len(ws._charts), ws.print_area, ws.sheet_properties.tabColor)
    wb.close()
    return out


def generated_parts(path: Path) -> set[str]:
    """The parts of the tabs _xlkpi lists and of _xlkpi itself, with what they lead to."""
    wb = openpyxl.load_workbook(path, read_only=True)
    listed = {row[0] for row in wb["_xlkpi"].iter_rows(min_row=7, values_only=True) if row[0]}
    wb.close()
    with zipfile.ZipFile(path) as archive:
        parts = sheet_parts(archive, path)
        package = Package(path.read_bytes())
    out = set()
    for shown in (*listed, "_xlkpi"):
        for part in package.closure(parts[shown]):
            out |= {part, rels_path(part)} & set(package.names)
    return out


def sealed(path: Path) -> str | None:
    with zipfile.ZipFile(path) as archive:
        return sealed_inputs(archive)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A new tracker of OWNERS reps, an event export and its first part."""
    return tracker_and_exports(tmp_path_factory.mktemp("carry"), OWNERS, 6_000, 2_000)


def test_a_new_tracker_is_sealed(tmp_path, files):
    tracker, _, _ = files
    assert sealed(tracker) is not None
    demo = tmp_path / "demo.xlsx"  # 6,000 rows and more: streamed (splice.SplitBook)
    run("new", demo, "--demo")
    assert sealed(demo) is not None


@pytest.mark.slow
def test_carried_tabs_give_the_general_paths_workbook(tmp_path, monkeypatch, files):
    tracker, first, events = files
    carried, carried_said = imported(tmp_path / "carried", tracker, first, events)
    with monkeypatch.context() as patched:
        patched.setattr(tracker_file, "sealed_inputs", lambda archive: None)
        general, general_said = imported(tmp_path / "general", tracker, first, events)
    assert carried_said == general_said
    assert " 0 updated" not in carried_said[1]  # the second import updated rows in place
    assert content(carried) == content(general)
    # carried: the generated tabs' parts are the new tracker's own, byte for byte
    tabs = generated_parts(tracker)
    assert generated_parts(carried) == tabs
    assert {name: parts(carried)[name] for name in tabs} == \
        {name: parts(tracker)[name] for name in tabs}
    # every other part as the general path writes it
    found, expected = parts(carried), parts(general)
    general_tabs = generated_parts(general)  # written again (twice: the names come round)
    assert {name: data for name, data in found.items() if name not in tabs | LISTS_PARTS} == \
        {name: data for name, data in expected.items()
         if name not in general_tabs | LISTS_PARTS}
    # both sealed, with the same inputs
    assert sealed(carried) == sealed(general) == sealed(tracker) is not None


@pytest.mark.slow
def test_a_file_saved_by_another_program_takes_the_general_path(tmp_path, files):
    tracker, first, _ = files
    resaved = tmp_path / "resaved.xlsx"
    wb = openpyxl.load_workbook(tracker)
    wb.save(resaved)  # as a person's script (or Excel) would: no seal
    assert sealed(resaved) is None
    done, _ = imported(tmp_path / "imported", resaved, first)
    assert generated_parts(done).isdisjoint(generated_parts(resaved))  # written again
    assert sealed(done) is not None  # and sealed now


@pytest.mark.slow
def test_a_part_changed_in_place_breaks_the_seal(tmp_path, files):
    """A tool that rewrites one part and keeps the zip's comment: the tab is written again."""
    tracker, first, _ = files
    changed = tmp_path / "changed.xlsx"
    with zipfile.ZipFile(tracker) as source:
        team = sheet_parts(source, tracker)["Team"]
        with zipfile.ZipFile(changed, "w", zipfile.ZIP_DEFLATED) as out:
            for info in source.infolist():
                data = source.read(info)
                if info.filename == team:
                    data = data.replace(b"</sheetData>", b'<row r="200"><c r="A200" '
                                        b't="inlineStr"><is><t>typed on Team</t></is></c>'
                                        b'</row></sheetData>')
                out.writestr(info, data)
            out.comment = source.comment
    assert zipfile.ZipFile(changed).comment.startswith(PREFIX) and sealed(changed) is None
    done, _ = imported(tmp_path / "imported", changed, first)
    assert generated_parts(done).isdisjoint(generated_parts(changed))
    wb = openpyxl.load_workbook(done, read_only=True)
    assert all(row[0] != "typed on Team" for row in wb["Team"].iter_rows(values_only=True))
    wb.close()


@pytest.mark.slow
def test_an_import_that_changes_an_input_writes_the_tabs_again(tmp_path, files):
    """A lead from a new channel: the Channels tab must list it (channels are an input)."""
    tracker, _, _ = files
    leads = tmp_path / "leads.csv"
    leads.write_text("Lead,Owner,LeadDate,SQLDate,Source\nL1,Rep 01,2026-03-02,,Webinar\n")
    done, _ = imported(tmp_path / "imported", tracker, leads)
    assert sealed(done) not in (None, sealed(tracker))
    assert generated_parts(done).isdisjoint(generated_parts(tracker))
    wb = openpyxl.load_workbook(done, read_only=True)
    assert any("Webinar" in row for row in wb["Channels"].iter_rows(values_only=True))
    wb.close()


@pytest.mark.slow
def test_a_save_the_editor_cannot_make_writes_the_carried_tabs(tmp_path, monkeypatch, files):
    """Saved whole (openpyxl) when the package editor declines: the carried tabs, loaded
    without their cells, and Targets, left out of the save, are written all the same."""
    from xlkpi.xlsx.stylemap import Unsupported

    tracker, first, _ = files
    expected, _ = imported(tmp_path / "general", tracker, first)

    def declined(*args, **kwargs):
        raise Unsupported("declined")

    with monkeypatch.context() as patched:
        patched.setattr(tracker_file, "write_edited", declined)
        whole, _ = imported(tmp_path / "whole", tracker, first)
    assert sealed(whole) is None  # saved whole, as openpyxl saves it
    found, wanted = content(whole), content(expected)
    listed = [row[0] for row in openpyxl.load_workbook(whole)["_xlkpi"].iter_rows(
        min_row=7, values_only=True)]
    assert len(listed) > OWNERS
    for shown in (*listed, "Targets"):  # what the editor's path keeps from the file
        assert found[shown][0] == wanted[shown][0], shown
        assert found[shown][3:] == wanted[shown][3:], shown

"""Hostile, broken and oddly edited tracker files, through the command line.

Whatever the file, ``xlkpi report`` and ``xlkpi refresh`` (and ``refresh --dry-run``) either
work or exit 1 with one line ``Error: ...`` and no traceback, and a refused file is left exactly
as it was, with nothing beside it (no temporary file, no backup). Bombs are refused before they
cost time or memory. What a person may reasonably do to a tracker (move a column, merge cells
in the data, add sheets of their own, keep macros in an .xlsm) keeps working. Text that looks
like a formula ("=1+1", "+A1", "-2+3", "@SUM(A1)") stays text through `xlkpi new`, the demo
and `xlkpi refresh`.

test_cli.py already covers, for `report`: a missing file, plain text, an empty file, a
truncated file, an old .xls, a zip that is no workbook, an XML bomb in docProps, the zip-bomb
guard by a lowered limit; and a fake VBA part surviving a refresh. Here: the same for `refresh`
too, and the bombs and edits it does not build.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import stat
import struct
import time
import tracemalloc
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.test_cli import assert_error, run
from tests.test_workbook import load_typed, sample_tracker
from xlkpi.core.errors import TrackerFileError
from xlkpi.tracker import build as workbook
from xlkpi.tracker import model as layout
from xlkpi.tracker import reader
from xlkpi.tracker.cells import put_text
from xlkpi.tracker.data import stage_class_formula
from xlkpi.tracker.file import open_tracker
from xlkpi.xlsx import archive as archive_checks
from xlkpi.xlsx import guards
from xlkpi.xlsx import save as saving

YEAR, AS_OF = "2025", "2025-06-15"
COMMANDS = [("report",), ("refresh",), ("refresh", "--dry-run")]
COMMAND_IDS = ["report", "refresh", "dry-run"]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WORKSHEET_TYPE = R + "/worksheet"
SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
TINY_SHEET = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
              '</sheetData></worksheet>').encode()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A small tracker of two reps (Anna, Boris) with messy data (tests.test_workbook's
    sample: stage spellings, owners in other cases, blanks, text like "=SUM(1,2)"), never
    changed."""
    path = tmp_path_factory.mktemp("source") / "tracker.xlsx"
    saving.save_atomic(workbook.new_workbook(sample_tracker(seed=11, rows=60,
                                                           reps=["Anna", "Boris"])), path)
    return path


@pytest.fixture(scope="module")
def source_report(source) -> list[dict]:
    return report_json(source)


@pytest.fixture
def tracker(source, tmp_path) -> Path:
    path = tmp_path / "tracker.xlsx"
    shutil.copy(source, path)
    return path


def report_json(path: Path) -> list[dict]:
    result = run("report", path, "--period", "all", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def snapshot(folder: Path) -> dict[str, object]:
    return {p.name: _content(p) if p.is_file() else b"<dir>" for p in folder.iterdir()}


def _content(path: Path) -> object:
    """The file's bytes; for a file nobody may read, its size, time and mode."""
    try:
        return path.read_bytes()
    except PermissionError:
        info = path.stat()
        return ("unreadable", info.st_size, info.st_mtime_ns, info.st_mode)


def assert_refused(path: Path, command: tuple[str, ...], *parts: str) -> str:
    """Exit 1 with one line holding every part; the folder exactly as it was."""
    before = snapshot(path.parent)
    line = assert_error(run(*command, path), *parts)
    assert snapshot(path.parent) == before
    return line


def rewrite(path: Path, edits=None, add=None) -> None:
    """Rewrite the zip at ``path``: parts edited (name -> function of the bytes) or added."""
    edits, add = edits or {}, add or {}
    with zipfile.ZipFile(path) as archive:
        parts = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts:
            archive.writestr(name, edits[name](data) if name in edits else data)
        for name, data in add.items():
            archive.writestr(name, data)


def sheet_part(path: Path, title: str) -> str:
    """The part holding the sheet called ``title``."""
    with zipfile.ZipFile(path) as archive:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target") for rel in rels}
    for sheet in book.iter(f"{{{MAIN}}}sheet"):
        if sheet.get("name") == title:
            target = targets[sheet.get(f"{{{R}}}id")]
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    raise KeyError(title)


def insert(marker: bytes, text: bytes, before: bool = True):
    """An edit putting ``text`` before (or after) the first ``marker``."""
    def edit(data: bytes) -> bytes:
        assert marker in data, marker
        return data.replace(marker, text + marker if before else marker + text, 1)
    return edit


def content_type(part: str, kind: str) -> bytes:
    return f'<Override PartName="/{part}" ContentType="{kind}"/>'.encode()


# --- broken files --------------------------------------------------------------------------

def _not_a_zip(path, source):
    path.write_text("Owner,Stage\nAnna,Won\n")


def _truncated(path, source):
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])


def _no_central_directory(path, source):
    path.write_bytes(source.read_bytes()[:-200])


def _empty(path, source):
    path.write_bytes(b"")


def _old_xls(path, source):
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048)


def _a_zip_of_something_else(path, source):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")


def _corrupt_part(path, source):
    """Bytes of a sheet's compressed data flipped (a bad sector, a bad download)."""
    shutil.copy(source, path)
    part = sheet_part(path, layout.OPPORTUNITIES)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:
                                                          info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    for i in range(start + 40, start + 120):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _deep_corrupt_part(path, source):
    """Bytes flipped in the middle of a large sheet (past the first 64 kB that the archive
    check reads), so that the damage shows only as the sheet is parsed; report's readers parse
    sheets lazily, long after the file was opened."""
    wb = load_typed(source)
    ws = wb[layout.OPPORTUNITIES]
    for number in range(1500):
        ws.append([f"Deal {number}", "Anna", dt.datetime(2026, 5, 1), dt.datetime(2026, 6, 1),
                   "Won", 1000])
    wb.save(path)
    part = sheet_part(path, layout.OPPORTUNITIES)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    assert info.file_size > 4 * 64 * 1024
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:
                                                          info.header_offset + 30])
    middle = info.header_offset + 30 + name_length + extra_length + info.compress_size // 2
    for i in range(middle, middle + 80):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _lying_size(path, source):
    """The central directory (and local header) claim a sheet unpacks to 1,000 bytes, where
    its data inflate to far more: a reader trusting the claim allocates too little, one
    trusting the data inflates without bound. zipfile stops at the claim and checks the CRC."""
    shutil.copy(source, path)
    part = sheet_part(path, layout.OPPORTUNITIES)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    struct.pack_into("<I", data, info.header_offset + 22, 1000)
    encoded = part.encode()
    central = 0
    while True:
        central = data.find(b"PK\x01\x02", central)
        assert central >= 0
        name_length = struct.unpack("<H", data[central + 28:central + 30])[0]
        if data[central + 46:central + 46 + name_length] == encoded:
            break
        central += 4
    struct.pack_into("<I", data, central + 24, 1000)
    path.write_bytes(bytes(data))


BROKEN = {
    "not-a-zip": (_not_a_zip, "is not an Excel workbook (.xlsx)"),
    "truncated": (_truncated, "is damaged (truncated or incomplete)"),
    "no-central-directory": (_no_central_directory, "is damaged (truncated or incomplete)"),
    "empty": (_empty, "tracker.xlsx is empty"),
    "old-xls": (_old_xls, "old-style .xls workbook or is protected with a password"),
    "zip-of-something-else": (_a_zip_of_something_else, "is a zip file but not an Excel"),
    "corrupt-part": (_corrupt_part, "is damaged (truncated or incomplete)"),
    "lying-size": (_lying_size, "is damaged (truncated or incomplete)"),
    "deep-corrupt-part": (_deep_corrupt_part, "restore it from a backup or export it again"),
}


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file(source, tmp_path, case, command):
    build, message = BROKEN[case]
    path = tmp_path / "tracker.xlsx"
    build(path, source)
    assert_refused(path, command, message)


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
def test_a_folder(tmp_path, command):
    path = tmp_path / "tracker.xlsx"
    path.mkdir()
    assert_refused(path, command, "tracker.xlsx' is a directory")


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
def test_a_pipe_is_not_waited_on(tmp_path, command):
    """A named pipe would block the reader for ever."""
    path = tmp_path / "tracker.xlsx"
    os.mkfifo(path)
    assert_refused(path, command, "tracker.xlsx is not a file")


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
def test_a_file_without_read_permission(tracker, command):
    tracker.chmod(0)
    try:
        if os.geteuid() == 0:  # root reads any file: the check runs in a child that cannot
            _without_root_file_access(
                lambda: assert_refused(tracker, command, "tracker.xlsx: permission denied"))
        else:
            assert_refused(tracker, command, "tracker.xlsx: permission denied")
    finally:
        tracker.chmod(stat.S_IRUSR | stat.S_IWUSR)


def _without_root_file_access(check) -> None:
    """Run ``check`` in a forked child whose root has lost the capabilities to ignore file
    permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), as any user is; its failure is ours."""
    import ctypes
    import traceback

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child: drop the two capabilities, run the check, say how it went
        os.close(reading)
        outcome = b"ok"
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
            if libc.capget(ctypes.byref(header), data) != 0:
                raise OSError(ctypes.get_errno(), "capget")
            data[0].effective &= ~((1 << 1) | (1 << 2))
            if libc.capset(ctypes.byref(header), data) != 0:
                raise OSError(ctypes.get_errno(), "capset")
            check()
        except BaseException:  # noqa: BLE001 - everything goes back to the parent
            outcome = traceback.format_exc().encode()
        os.write(writing, outcome)
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(child, 0)
    assert outcome == "ok", outcome


# --- XML bombs -----------------------------------------------------------------------------

LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">'
                    for i in range(1, 10))
          + "]>").encode()
SHARED_STRINGS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def _bomb_in_sheet(path):
    part = sheet_part(path, layout.OPPORTUNITIES)
    rewrite(path, edits={part: lambda data: LAUGHS + data.replace(
        b"<v>", b"<v>&lol9;", 1)})


def _bomb_in_shared_strings(path, prolog=b"", entity=LAUGHS, value=b"&lol9;"):
    strings = prolog + entity + (f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>'
                                 .encode() + value + b"</t></si></sst>")
    rel = (f'<Relationship Id="rIdStrings" Type="{R}/sharedStrings" '
           'Target="sharedStrings.xml"/>').encode()
    rewrite(path, add={"xl/sharedStrings.xml": strings}, edits={
        "[Content_Types].xml": insert(b"</Types>", content_type("xl/sharedStrings.xml",
                                                                 SHARED_STRINGS_CT)),
        "xl/_rels/workbook.xml.rels": insert(b"</Relationships>", rel)})


def _bomb_after_a_long_comment(path):
    """The DOCTYPE after 100 kB of comment: past any quick look at the start of the part."""
    _bomb_in_shared_strings(path, prolog=b"<!--" + b"x" * 100_000 + b"-->")


def _bomb_in_sheet_after_a_long_comment(path):
    """The same in a data sheet, which report's readers parse lazily."""
    part = sheet_part(path, layout.OPPORTUNITIES)
    rewrite(path, edits={part: lambda data: b"<!--" + b"x" * 100_000 + b"-->" + LAUGHS
                         + data.replace(b"<v>", b"<v>&lol9;", 1)})


def _bomb_in_utf16(path):
    part = sheet_part(path, layout.OPPORTUNITIES)
    rewrite(path, edits={part: lambda data: (
        '<?xml version="1.0" encoding="UTF-16"?>'.encode("utf-16-le")
        + LAUGHS.decode().encode("utf-16-le") + data.decode().encode("utf-16-le"))})


def _bomb_in_workbook(path):
    rewrite(path, edits={"xl/workbook.xml": lambda data: LAUGHS + data})


def _external_entity(path):
    """XXE: an entity that would read a local file into a cell."""
    _bomb_in_shared_strings(path, entity=b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                            value=b"&x;")


XML_BOMBS = {
    "sheet": _bomb_in_sheet,
    "shared-strings": _bomb_in_shared_strings,
    "after-a-long-comment": _bomb_after_a_long_comment,
    "sheet-after-a-long-comment": _bomb_in_sheet_after_a_long_comment,
    "utf-16": _bomb_in_utf16,
    "workbook": _bomb_in_workbook,
    "external-entity": _external_entity,
}


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
@pytest.mark.parametrize("case", list(XML_BOMBS))
def test_xml_bomb(tracker, case, command):
    XML_BOMBS[case](tracker)
    assert_refused(tracker, command, "declares XML entities", "(an XML bomb?)")


def test_openpyxl_parses_with_defusedxml():
    """The prolog check is the quick, clear refusal; behind it openpyxl's own parser (for
    worksheets and shared strings: iterparse) must refuse entities wherever they are. lxml
    does not protect iterparse, so defusedxml is required even with lxml installed."""
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML
    guards._check_parser()


def test_without_defusedxml_nothing_is_opened(tracker, monkeypatch):
    import openpyxl.xml

    monkeypatch.setattr(openpyxl.xml, "DEFUSEDXML", False)
    with pytest.raises(TrackerFileError, match="install defusedxml"):
        open_tracker(tracker)


# --- zip bombs -----------------------------------------------------------------------------

ROW = b'<row r="2"><c r="A2" t="inlineStr"><is><t>Opp</t></is></c><c r="B2"><v>1</v></c></row>'


def _write_bomb_part(archive: zipfile.ZipFile, name: str, size: int) -> None:
    """``size`` bytes of sheet XML written in chunks, at the highest compression: the
    uncompressed data never exist on disk or in memory as a whole."""
    chunk = ROW * (65536 // len(ROW))
    with archive.open(name, "w", force_zip64=True) as part:
        part.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode())
        written = 0
        while written < size:
            part.write(chunk)
            written += len(chunk)
        part.write(b"</sheetData></worksheet>")


def _zip_bomb(path: Path, parts: dict[str, int]) -> None:
    with zipfile.ZipFile(path) as archive:
        kept = [(info.filename, archive.read(info.filename)) for info in archive.infolist()
                if info.filename not in parts]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in kept:
            archive.writestr(name, data)
        for name, size in parts.items():
            _write_bomb_part(archive, name, size)


@pytest.fixture(scope="module")
def zip_bombs(source, tmp_path_factory) -> dict[str, Path]:
    """One sheet of 300 MiB (the Opportunities sheet), and 12 sheets of 9 MiB each, every
    one under the per-part limit (the Opportunities sheet and 11 sheets more)."""
    folder = tmp_path_factory.mktemp("bombs")
    single = folder / "single.xlsx"
    shutil.copy(source, single)
    part = sheet_part(single, layout.OPPORTUNITIES)
    _zip_bomb(single, {part: 300 << 20})
    split = folder / "split.xlsx"
    shutil.copy(source, split)
    extra = {f"xl/worksheets/bomb{i}.xml": 9 << 20 for i in range(11)}
    _zip_bomb(split, {part: 9 << 20, **extra})
    add_sheets_edits = _sheet_entries({name: f"Bomb {i}" for i, name in enumerate(extra)})
    rewrite(split, edits=add_sheets_edits)
    for path in (single, split):
        assert path.stat().st_size < 2 << 20  # a MiB or so that would inflate to 300 MiB
    return {"single": single, "split": split}


@pytest.mark.parametrize("case", ["single", "split"])
def test_zip_bomb_is_refused_at_once_in_little_memory(zip_bombs, case):
    path = zip_bombs[case]
    with zipfile.ZipFile(path) as archive:
        assert sum(info.file_size for info in archive.infolist()) > 100 << 20
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(TrackerFileError, match=r"refusing to open it \(a zip bomb\?\)$"):
            open_tracker(path, writing=True)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 8 << 20, f"{peak / (1 << 20):.1f} MiB"


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
@pytest.mark.parametrize("case", ["single", "split"])
def test_zip_bomb_through_the_command_line(zip_bombs, tmp_path, case, command):
    path = tmp_path / "tracker.xlsx"
    shutil.copy(zip_bombs[case], path)
    assert_refused(path, command, "refusing to open it (a zip bomb?)")


# --- sheets --------------------------------------------------------------------------------

def _sheet_entries(parts: dict[str, str], shared: str | None = None) -> dict:
    """Edits adding one sheet per part (part -> title) to workbook.xml, its relationships
    and the content types. With ``shared``, every new sheet points to that one part."""
    sheets, rels, types = [], [], []
    for i, (part, title) in enumerate(parts.items()):
        target = shared or part
        sheets.append(f'<sheet xmlns:r="{R}" name="{title}" sheetId="{5000 + i}" '
                      f'r:id="rIdExtra{i}"/>')
        rels.append(f'<Relationship Id="rIdExtra{i}" Type="{WORKSHEET_TYPE}" '
                    f'Target="/{target}"/>')
        if shared is None:
            types.append(f'<Override PartName="/{part}" ContentType="{SHEET_CT}"/>')
    return {"xl/workbook.xml": insert(b"</sheets>", "".join(sheets).encode()),
            "xl/_rels/workbook.xml.rels": insert(b"</Relationships>", "".join(rels).encode()),
            "[Content_Types].xml": insert(b"</Types>", "".join(types).encode())}


def add_sheets(path: Path, count: int, shared: bool = False) -> None:
    parts = {f"xl/worksheets/mine{i}.xml": f"Mine {i}" for i in range(count)}
    if shared:
        first = next(iter(parts))
        rewrite(path, edits=_sheet_entries(parts, shared=first), add={first: TINY_SHEET})
    else:
        rewrite(path, edits=_sheet_entries(parts), add=dict.fromkeys(parts, TINY_SHEET))


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
@pytest.mark.parametrize("shared", [False, True], ids=["own-parts", "one-shared-part"])
def test_a_huge_number_of_sheets(tracker, command, shared):
    """Thousands of sheets (each its own part, or all on one part, which openpyxl would parse
    once per sheet) are refused before openpyxl spends minutes on them."""
    add_sheets(tracker, 3000 if not shared else 50_000, shared=shared)
    started = time.perf_counter()
    assert_refused(tracker, command, "sheets, more than xlkpi reads (1,000)")
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
def test_two_sheets_on_one_part(tracker, command):
    add_sheets(tracker, 2, shared=True)
    assert_refused(tracker, command, "is damaged", "'Mine 0' and 'Mine 1'")


@pytest.mark.slow
def test_many_sheets_of_ones_own_are_kept(tracker, source_report):
    """A few hundred sheets a person added: report and refresh work, refresh keeps them."""
    add_sheets(tracker, 300)
    assert report_json(tracker) == source_report
    result = run("refresh", tracker)
    assert result.exit_code == 0, result.stderr
    names = openpyxl.load_workbook(tracker, read_only=True).sheetnames
    assert {f"Mine {i}" for i in range(300)} <= set(names)
    assert report_json(tracker) == source_report


# --- sheets renamed or deleted -------------------------------------------------------------

TYPED_SHEETS = [layout.SETTINGS, layout.TARGETS, layout.OPPORTUNITIES, workbook.META]


@pytest.fixture(scope="module")
def edited(source, tmp_path_factory):
    """Variants of the tracker, each made once: name -> path."""
    folder = tmp_path_factory.mktemp("edited")
    made: dict[str, Path] = {}

    def make(name: str, edit) -> Path:
        if name not in made:
            path = folder / f"{len(made)}.xlsx"
            wb = load_typed(source)
            edit(wb)
            wb.save(path)
            made[name] = path
        return made[name]
    return make


def _rename(title):
    def edit(wb):
        wb[title].title = f"{title} (old)"
    return edit


def _delete(title):
    def edit(wb):
        wb.remove(wb[title])
    return edit


@pytest.mark.parametrize("command", COMMANDS[:2], ids=COMMAND_IDS[:2])
@pytest.mark.parametrize("how", ["renamed", "deleted"])
@pytest.mark.parametrize("sheet", TYPED_SHEETS)
def test_a_typed_sheet_renamed_or_deleted(edited, tmp_path, sheet, how, command):
    variant = edited(f"{sheet}-{how}", (_rename if how == "renamed" else _delete)(sheet))
    path = tmp_path / "tracker.xlsx"
    shutil.copy(variant, path)
    line = assert_refused(path, command, sheet)
    if sheet != workbook.META:  # the marker is there: say what happened, not "not a tracker"
        assert "renamed or deleted?" in line and "give it back its name" in line
        assert "not an xlkpi tracker" not in line


@pytest.mark.slow
def test_generated_tabs_deleted_or_renamed_come_back(edited, tmp_path):
    """The Team and rep tabs are the tool's: deleted ones are made again; one a person
    renamed becomes theirs, and is kept."""
    def edit(wb):
        wb.remove(wb[layout.TEAM])
        wb["Anna"].title = "Anna (my notes)"
    path = tmp_path / "tracker.xlsx"
    shutil.copy(edited("generated", edit), path)
    result = run("refresh", path)
    assert result.exit_code == 0, result.stderr
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    assert {layout.TEAM, "Anna", "Anna (my notes)", "Boris"} <= set(names)


# --- merged cells, moved and deleted headers -----------------------------------------------

@pytest.mark.parametrize("command", COMMANDS[:2], ids=COMMAND_IDS[:2])
def test_merged_header_cells(edited, tmp_path, command):
    """Merging Lead and Owner's header cells leaves no Owner header: a clear error."""
    def edit(wb):
        wb[layout.LEADS].merge_cells("A1:B1")
    path = tmp_path / "tracker.xlsx"
    shutil.copy(edited("merged-header", edit), path)
    assert_refused(path, command, "the Leads sheet has no 'Owner' column",
                   "put the header back in row 1")


@pytest.mark.slow
def test_merged_data_cells(edited, tmp_path):
    """Merged data cells (close dates D3:D6) read as Excel shows them: the value in the first
    cell, the others blank. Report and refresh work; refresh keeps the merge and every row."""
    def edit(wb):
        wb[layout.OPPORTUNITIES].merge_cells("D3:D6")
    path = tmp_path / "tracker.xlsx"
    shutil.copy(edited("merged-data", edit), path)
    before = report_json(path)
    typed = reader.read_tracker(load_typed(path))
    result = run("refresh", path)
    assert result.exit_code == 0, result.stderr
    wb = load_typed(path)
    assert "D3:D6" in {str(r) for r in wb[layout.OPPORTUNITIES].merged_cells.ranges}
    assert same_rows(reader.read_tracker(wb).data, typed.data)
    assert report_json(path) == before


@pytest.mark.slow
@pytest.mark.parametrize("cells", [100_001, 16_384 * 1_048_575], ids=["many", "whole-sheet"])
@pytest.mark.parametrize("kind", ["mergeCell", "hyperlink"])
def test_merges_and_hyperlinks_openpyxl_would_expand(tracker, source_report, kind, cells):
    """openpyxl makes a cell object for every merged or hyperlinked cell: a 50 kB file merging
    A2:XFD1048576 would take hours and all the memory. A full load (refresh) refuses more than
    archive_checks.MAX_EXPANDED_CELLS of them at once; report (read-only) never expands them."""
    part = sheet_part(tracker, layout.OPPORTUNITIES)
    if cells == 100_001:
        refs = [f"Z{row}:AA{row}" for row in range(10, 10 + cells // 2 + 1)]
    else:
        refs = ["A2:XFD1048576"]
    if kind == "mergeCell":
        xml = f'<mergeCells count="{len(refs)}">' + "".join(
            f'<mergeCell ref="{ref}"/>' for ref in refs) + "</mergeCells>"
        edit = insert(b"</sheetData>", xml.encode(), before=False)
    else:
        xml = "<hyperlinks>" + "".join(
            f'<hyperlink ref="{ref}" location="Team!A1"/>' for ref in refs) + "</hyperlinks>"
        edit = insert(b"<pageMargins", xml.encode())
    rewrite(tracker, edits={part: edit})
    started = time.perf_counter()
    assert_refused(tracker, ("refresh",), "has merged or hyperlinked cells over",
                   f"more than {archive_checks.MAX_EXPANDED_CELLS:,} cells")
    assert time.perf_counter() - started < 10
    assert report_json(tracker) == source_report


@pytest.mark.slow
def test_a_header_moved_to_another_column(edited, tmp_path, source_report):
    """Stage moved from column E to column Q (with its data): report finds it by its name,
    refresh points the StageClass column and the tabs' formulas at Q."""
    def edit(wb):
        ws = wb[layout.OPPORTUNITIES]
        ws.move_range(f"E1:E{ws.max_row}", cols=12)
    path = tmp_path / "tracker.xlsx"
    shutil.copy(edited("moved-header", edit), path)
    assert report_json(path) == source_report
    result = run("refresh", path)
    assert result.exit_code == 0, result.stderr
    wb = load_typed(path)
    assert workbook.data_column_letters(wb)[layout.OPPORTUNITIES]["Stage"] == "Q"
    ws = wb[layout.OPPORTUNITIES]
    stage_class = [cell for cell in ws[1] if cell.value == layout.STAGE_CLASS_COLUMN][0]
    assert ws.cell(2, stage_class.column).value == stage_class_formula("Q2")
    assert report_json(path) == source_report


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
def test_a_header_deleted(edited, tmp_path, command):
    def edit(wb):
        wb[layout.OPPORTUNITIES]["E1"] = None
    path = tmp_path / "tracker.xlsx"
    shutil.copy(edited("deleted-header", edit), path)
    assert_refused(path, command, "the Opportunities sheet has no 'Stage' column",
                   "put the header back in row 1 (any column will do)")


# --- stored dimensions (read-only mode trusts them) ----------------------------------------

@pytest.mark.parametrize("ref", ["A1:F50", "A1", "A1:XFD1048576"])
def test_a_wrong_stored_dimension_changes_nothing(source, tracker, source_report, ref):
    """A sheet's <dimension> says which cells it uses; some programs write it wrong. Read
    trusting it (openpyxl's read-only mode does), a stale A1:F50 would silently cut the data at
    row 50 (report's actuals fall to 0) and a forged A1:XFD1048576 would pad every row to
    16,384 cells. Through `xlkpi report`, and through open_tracker(values=True) itself (what
    report falls back to), the rows are those the sheet holds."""
    for title in (layout.OPPORTUNITIES, layout.LEADS, layout.TARGETS):
        part = sheet_part(tracker, title)
        rewrite(tracker, edits={part: lambda data: re.sub(
            rb'<dimension ref="[^"]*"/>', f'<dimension ref="{ref}"/>'.encode(), data)})
    started = time.perf_counter()
    assert report_json(tracker) == source_report
    assert time.perf_counter() - started < 10

    def read(path):
        wb = open_tracker(path, values=True)
        try:
            return reader.read_tracker(wb, path.name)
        finally:
            wb.close()
    forged, true = read(tracker), read(source)
    assert forged.data == true.data and forged.targets == true.targets


# --- macros --------------------------------------------------------------------------------

VBA = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(7).randbytes(20_000)
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def make_xlsm(source: Path, path: Path) -> None:
    """The tracker as Excel saves it as a macro-enabled workbook: a VBA project part, its
    relationship from the workbook and its content type, and the workbook's own type."""
    shutil.copy(source, path)
    rel = f'<Relationship Id="rIdVba" Type="{VBA_REL}" Target="vbaProject.bin"/>'.encode()
    rewrite(path, add={"xl/vbaProject.bin": VBA}, edits={
        "[Content_Types].xml": lambda data: insert(b"</Types>", content_type(
            "xl/vbaProject.bin", "application/vnd.ms-office.vbaProject"))(
                data.replace(XLSX_MAIN.encode(), XLSM_MAIN.encode())),
        "xl/_rels/workbook.xml.rels": insert(b"</Relationships>", rel)})


def part_type(types: ElementTree.Element, part: str) -> str | None:
    """The content type of ``part``: its Override, else the Default for its extension."""
    for item in types:
        if item.tag.endswith("Override") and item.get("PartName") == "/" + part:
            return item.get("ContentType")
    extension = part.rsplit(".", 1)[-1]
    for item in types:
        if item.tag.endswith("Default") and item.get("Extension") == extension:
            return item.get("ContentType")
    return None


def assert_macros_kept(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        assert archive.read("xl/vbaProject.bin") == VBA
        types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    assert part_type(types, "xl/workbook.xml") == XLSM_MAIN
    assert part_type(types, "xl/vbaProject.bin") == "application/vnd.ms-office.vbaProject"
    vba = [rel for rel in rels if rel.get("Type") == VBA_REL]
    assert len(vba) == 1 and vba[0].get("Target").lstrip("/") in ("vbaProject.bin",
                                                                    "xl/vbaProject.bin")


def test_xlsm_macros_survive_a_refresh(source, tmp_path, source_report):
    """The VBA project stays byte for byte, with what makes Excel load it (the relationship,
    the content types); the backup is the .xlsm as it was; report reads it."""
    path = tmp_path / "tracker.xlsm"
    make_xlsm(source, path)
    original = path.read_bytes()
    result = run("refresh", path)
    assert result.exit_code == 0, result.stderr
    assert_macros_kept(path)
    backup = tmp_path / "tracker.bak.xlsm"
    assert backup.read_bytes() == original
    assert report_json(path) == source_report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tracker.bak.xlsm", "tracker.xlsm"]


# --- formula injection ---------------------------------------------------------------------

HOSTILE = ["=1+1", "+A1", "-2+3", "@SUM(A1)", '=HYPERLINK("http://example.invalid","x")',
           "=cmd|' /C calc'!A0"]
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


def same_rows(a: dict, b: dict) -> bool:
    """The same data sheets, headers and rows, in any row order."""
    def rows(data):
        return {name: (sheet.header, sorted(map(repr, sheet.rows)))
                for name, sheet in data.items()}
    return rows(a) == rows(b)


def assert_text_everywhere(path: Path, texts: list[str], expect_each: bool = True) -> None:
    """Every cell holding one of ``texts`` is a text cell (data type "s", no formula) and no
    formula contains one outside quotes (a sheet name 'x' or a string "x")."""
    wb = openpyxl.load_workbook(path)
    found = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in texts:
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    found.add(cell.value)
                elif cell.data_type == "f" and isinstance(cell.value, str):
                    bare = _QUOTED.sub("", cell.value)
                    assert not any(text in bare for text in texts if len(text) > 3), (
                        ws.title, cell.coordinate, cell.value)
    if expect_each:
        assert found == set(texts), set(texts) - found


@pytest.mark.slow
@pytest.mark.parametrize("demo", [False, True], ids=["new", "new-demo"])
def test_formula_like_rep_names_stay_text_through_new(tmp_path, demo):
    """--reps with names that Excel would run as formulas (CSV-injection style payloads):
    Settings, the rep tabs, Targets, the leaderboard and (with --demo) the Owner column hold
    them as text; the report knows them as reps."""
    path = tmp_path / "tracker.xlsx"
    reps = [name for name in HOSTILE if "," not in name]
    if demo:
        reps = ["=1+1", "@SUM(A1)"]  # the demo makes data rows per rep: two are enough
    args = ["new", path, "--year", YEAR, "--as-of", AS_OF, "--reps", ",".join(reps)]
    result = run(*args, *(["--demo"] if demo else []))
    assert result.exit_code == 0, result.stderr
    assert_text_everywhere(path, reps)
    assert reader.read_tracker(load_typed(path)).settings.reps == reps
    if demo:  # the demo's owners are the reps: their deals count for them
        rows = report_json(path)
        assert {row["rep"] for row in rows} == {"Team", *reps}
        assert any(row["actual"] for row in rows if row["rep"] == reps[0])


@pytest.mark.slow
def test_formula_like_typed_text_stays_text_through_refresh(tracker, tmp_path):
    """Text typed into Settings (a rep), Targets (a note, a target cell), and every data
    sheet (names, owners, stages, a column of one's own), saved as text cells as Excel saves
    them, is text again after a refresh, and reads back unchanged. A real formula a person
    typed (=DATE(2026,3,5) as a close date) stays a formula."""
    wb = load_typed(tracker)
    settings = wb[layout.SETTINGS]
    row = layout.SETTINGS_REPS_HEADER_ROW + 1
    while settings.cell(row, 1).value not in (None, ""):
        row += 1
    put_text(settings.cell(row, 1), "=1+1")
    targets = wb[layout.TARGETS]
    first = layout.TARGETS_FIRST_ROW
    put_text(targets.cell(first, layout.TARGETS_EXTRA_COL), "+A1")
    put_text(targets.cell(first, layout.TARGETS_FIRST_MONTH_COL), "-2+3")
    for name in layout.DATA_SHEETS:
        ws = wb[name]
        width = len(layout.DATA_COLUMNS[name])
        for col, text in zip(range(1, width + 1), HOSTILE * 2, strict=False):
            put_text(ws.cell(2, col), text)
        put_text(ws.cell(3, ws.max_column + 1), "@SUM(A1)")  # a column of one's own
    opportunities = wb[layout.OPPORTUNITIES]
    opportunities["B4"], opportunities["D4"] = "Anna", "=DATE(2026,3,5)"
    wb.save(tracker)
    typed = reader.read_tracker(load_typed(tracker))

    result = run("refresh", tracker)
    assert result.exit_code == 0, result.stderr
    assert_text_everywhere(tracker, HOSTILE)
    wb = load_typed(tracker)
    after = reader.read_tracker(wb)
    assert same_rows(after.data, typed.data)  # refresh groups the rows by owner
    assert after.settings.reps == typed.settings.reps and "=1+1" in after.settings.reps
    notes = {(t.who, t.kpi_id): (t.months, t.extra) for t in after.targets}
    first_row = typed.targets[0]
    assert notes[first_row.who, first_row.kpi_id] == (first_row.months, first_row.extra)
    assert "-2+3" in first_row.months and "+A1" in first_row.extra
    formulas = [cell for row in wb[layout.OPPORTUNITIES].iter_rows() for cell in row
                if cell.value == "=DATE(2026,3,5)"]
    assert len(formulas) == 1 and formulas[0].data_type == "f"


def test_rows_read_lazily_from_a_damaged_sheet_give_a_one_line_error(source, tmp_path):
    """open_tracker(values=True) reads sheets lazily (openpyxl's read-only mode): a sheet
    damaged past its first 64 kB fails only as its rows are read, which must still be a
    TrackerFileError, whoever reads the rows."""
    path = tmp_path / "tracker.xlsx"
    _deep_corrupt_part(path, source)
    wb = open_tracker(path, values=True)
    try:
        with pytest.raises(TrackerFileError, match="^tracker.xlsx (is damaged|could not be "
                                                   "read as a workbook)"):
            list(wb[layout.OPPORTUNITIES].iter_rows(values_only=True))
    finally:
        wb.close()

"""The command line through click's CliRunner: every command, its help, and every failure as
exit code 1 with one line "Error: ..." on stderr."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tests.test_workbook import load_typed
from xlkpi import cli as cli_module
from xlkpi.cli import cli
from xlkpi.core.errors import TrackerFileError
from xlkpi.core.kpis import KPIS
from xlkpi.tracker import model as layout
from xlkpi.tracker.file import TrackerFile
from xlkpi.xlsx import archive as archive_checks
from xlkpi.xlsx import save as saving

YEAR = 2025
AS_OF = "2025-06-15"


def run(*args: str):
    return CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)


def assert_error(result, *parts: str) -> str:
    """Exit code 1, nothing on stdout, one line on stderr that starts with Error: and holds
    every part."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.xlsx"
    result = run("new", path, "--demo", "--year", YEAR, "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def small_demo_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("small") / "small.xlsx"
    result = run("new", path, "--demo", "--year", YEAR, "--as-of", AS_OF, "--reps", "Anna,Elena")
    assert result.exit_code == 0, result.stderr
    return path


@pytest.fixture
def tracker_file(small_demo_file, tmp_path) -> Path:
    """A copy of a two-rep demo tracker (Anna, Elena), to change."""
    path = tmp_path / "tracker.xlsx"
    shutil.copy(small_demo_file, path)
    return path


# --- help ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [[], ["new"], ["refresh"], ["report"], ["template"],
                                     ["functions"]])
def test_help(command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage:")
    assert len(result.stdout.splitlines()) > 5


def test_no_command_shows_help():
    result = run()
    assert result.exit_code == 0
    assert "new" in result.stdout and "report" in result.stdout


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and "xlkpi" in result.stdout


# --- new -----------------------------------------------------------------------------------------

def test_new_empty_tracker(tmp_path):
    path = tmp_path / "tracker.xlsx"
    result = run("new", path, "--year", 2026, "--fiscal-start", 4, "--reps", "Anna, Boris",
                 "--currency", "eur")
    assert result.exit_code == 0, result.stderr
    assert "Created" in result.stdout and "Anna, Boris" in result.stdout
    wb = openpyxl.load_workbook(path)
    assert {"Team", "Anna", "Boris", "Leaderboard"} <= set(wb.sheetnames)
    from xlkpi.tracker.reader import read_tracker

    settings = read_tracker(wb).settings
    assert (settings.year, settings.fiscal_start, settings.currency, settings.reps) == (
        2026, 4, "EUR", ["Anna", "Boris"])


def test_new_demo_reports_json_with_documented_keys(demo_file):
    result = run("report", demo_file, "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    keys = ["rep", "kpi", "period", "target", "actual", "attainment"]
    # the as-of month's rows carry the pacing figures too (issue 11)
    assert rows and all(list(row) == keys + ["expected", "projected", "pace"] * (
        row["period"] == f"{YEAR}-06") for row in rows)
    # as of 2025-06-15: January to June, then YTD; the team and five demo reps
    assert list(dict.fromkeys(row["period"] for row in rows)) == [
        f"{YEAR}-{month:02d}" for month in range(1, 7)] + ["YTD"]
    assert list(dict.fromkeys(row["rep"] for row in rows))[0] == "Team"
    assert len({row["rep"] for row in rows}) == 6
    assert {row["kpi"] for row in rows} == {kpi.id for kpi in KPIS}
    assert all(row["actual"] is None or isinstance(row["actual"], (int, float)) for row in rows)


def test_new_refuses_an_existing_file(tracker_file):
    before = tracker_file.read_bytes()
    result = run("new", tracker_file)
    assert_error(result, "tracker.xlsx already exists; use --force to replace it")
    assert tracker_file.read_bytes() == before


def test_new_force_replaces_and_keeps_a_backup(tracker_file):
    before = tracker_file.read_bytes()
    result = run("new", tracker_file, "--force", "--reps", "Zoe")
    assert result.exit_code == 0, result.stderr
    assert (tracker_file.parent / "tracker.bak.xlsx").read_bytes() == before
    assert "Zoe" in openpyxl.load_workbook(tracker_file, read_only=True).sheetnames


@pytest.mark.parametrize("args, parts", [
    (["--fiscal-start", "13"], ["--fiscal-start", "13", "new --help"]),
    (["--year", "soon"], ["--year", "soon"]),
    (["--reps", "Anna,Team"], ["'Team' is reserved"]),
    (["--reps", "Anna,anna"], ["same rep"]),
    (["--as-of", "15/06/2025"], ["--as-of"]),
])
def test_new_bad_options(tmp_path, args, parts):
    assert_error(run("new", tmp_path / "t.xlsx", *args), *parts)
    assert not (tmp_path / "t.xlsx").exists()


def test_new_needs_an_xlsx_name(tmp_path):
    assert_error(run("new", tmp_path / "tracker.csv"), "tracker.csv: a tracker is an .xlsx file")


def test_new_in_a_missing_folder(tmp_path):
    assert_error(run("new", tmp_path / "nope" / "t.xlsx"), "does not exist")


# --- report --------------------------------------------------------------------------------------

def test_report_table(demo_file):
    result = run("report", demo_file, "--period", "YTD", "--rep", "anna")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "fiscal year 2025" in lines[0] and "through 2025-06" in lines[0]
    assert lines[2].split() == ["Rep", "KPI", "Period", "Target", "Actual", "Attainment"]
    body = lines[4:]
    assert len(body) == len(layout.REP_KPIS)  # the rep's KPIs, YTD only
    assert all(line.startswith("Anna") for line in body)
    assert any("USD" in line for line in body) and any("%" in line for line in body)


def test_report_csv(demo_file):
    result = run("report", demo_file, "--period", f"{YEAR}-03", "--rep", "Team",
                 "--format", "csv")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "rep,kpi,period,target,actual,attainment"
    assert len(lines) == 1 + len(KPIS)
    assert all(line.startswith("Team,") and f",{YEAR}-03," in line for line in lines[1:])


def test_report_all_periods(demo_file):
    rows = json.loads(run("report", demo_file, "--period", "all", "--rep", "Team",
                          "--format", "json").stdout)
    assert len(rows) == len(KPIS) * 13


def test_report_agrees_with_the_report_module(demo_file):
    """The CLI prints what report.Report computes from what reader.read_tracker reads."""
    from xlkpi.report import Report
    from xlkpi.tracker.reader import read_tracker

    rows = json.loads(run("report", demo_file, "--format", "json").stdout)
    tracker = read_tracker(load_typed(demo_file))
    assert rows == json.loads(json.dumps(Report(tracker).rows()))


def test_report_missing_file(tmp_path):
    line = assert_error(run("report", tmp_path / "tracker.xlsx"))
    assert line == ("Error: tracker.xlsx: no such file; create one with "
                    "`xlkpi new tracker.xlsx`")


def test_report_not_an_xlsx(tmp_path):
    path = tmp_path / "tracker.xlsx"
    path.write_text("Owner,Stage\nAnna,Won\n")
    assert_error(run("report", path), "tracker.xlsx is not an Excel workbook (.xlsx)")


def test_report_empty_file(tmp_path):
    path = tmp_path / "tracker.xlsx"
    path.write_bytes(b"")
    assert_error(run("report", path), "tracker.xlsx is empty")


def test_report_truncated_xlsx(tracker_file):
    data = tracker_file.read_bytes()
    tracker_file.write_bytes(data[: len(data) // 2])
    assert_error(run("report", tracker_file), "tracker.xlsx is damaged (truncated or incomplete)")


def test_report_truncated_xlsx_points_to_the_backup(tracker_file):
    shutil.copy(tracker_file, saving.backup_path(tracker_file))
    data = tracker_file.read_bytes()
    tracker_file.write_bytes(data[: len(data) - 100])
    assert_error(run("report", tracker_file), "damaged", "restore the previous version from "
                                                         "tracker.bak.xlsx")


def test_report_old_xls(tmp_path):
    path = tmp_path / "tracker.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500)
    assert_error(run("report", path), "old-style .xls workbook or is protected with a password")


def test_report_a_zip_that_is_no_workbook(tmp_path):
    path = tmp_path / "tracker.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert_error(run("report", path), "is a zip file but not an Excel workbook")


def test_report_not_a_tracker(tmp_path):
    path = tmp_path / "budget.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Budget"
    wb.save(path)
    assert_error(run("report", path), "budget.xlsx is not an xlkpi tracker",
                 "create a tracker with `xlkpi new`")


def test_report_bad_period(demo_file):
    assert_error(run("report", demo_file, "--period", "2025-13"),
                 "period '2025-13' is not a month of this tracker's year (2025-01 to 2025-12)")


def test_report_unknown_rep(demo_file):
    assert_error(run("report", demo_file, "--rep", "Zed"),
                 "rep 'Zed' is not in this tracker; use Team or a rep from Settings: Anna")


def test_report_bad_format(demo_file):
    assert_error(run("report", demo_file, "--format", "xml"), "--format")


def test_report_bad_data_names_sheet_row_and_column(tracker_file):
    wb = load_typed(tracker_file)
    wb[layout.OPPORTUNITIES]["D8"] = "soon"  # CloseDate of the 7th data row
    wb.save(tracker_file)
    assert_error(run("report", tracker_file), "Opportunities row 8: CloseDate 'soon' is not a date")


def test_report_while_open_in_excel_notes_it(tracker_file):
    (tracker_file.parent / "~$tracker.xlsx").write_bytes(b"lock")
    result = run("report", tracker_file, "--period", "YTD", "--rep", "Team")
    assert result.exit_code == 0
    assert "open in Excel" in result.stderr


def test_report_zip_bomb_guard(tracker_file, monkeypatch):
    monkeypatch.setattr(archive_checks, "MAX_UNCOMPRESSED", 100_000)
    assert_error(run("report", tracker_file), "refusing to open it (a zip bomb?)")


def test_report_xml_bomb_guard(tmp_path, demo_file):
    path = tmp_path / "bomb.xlsx"
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            '<coreProperties>&lol2;</coreProperties>')
    with zipfile.ZipFile(demo_file) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = bomb.encode()
            target.writestr(item, data)
    assert_error(run("report", path), "declares XML entities", "refusing to open it")


# --- refresh -------------------------------------------------------------------------------------

def add_rep(path: Path, name: str) -> None:
    wb = load_typed(path)
    ws = wb[layout.SETTINGS]
    row = layout.SETTINGS_REPS_HEADER_ROW + 1
    while ws.cell(row, 1).value not in (None, ""):
        row += 1
    ws.cell(row, 1, name)
    wb.save(path)


def test_refresh_dry_run_changes_nothing(tracker_file):
    add_rep(tracker_file, "Chen")
    before = tracker_file.read_bytes()
    result = run("refresh", tracker_file, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "Dry run" in result.stdout
    assert "tabs added: Chen" in result.stdout
    assert "tabs removed: none" in result.stdout
    n = len(layout.REP_KPIS)
    assert f"target rows added: {n} (Chen: {n})" in result.stdout
    assert tracker_file.read_bytes() == before
    assert not saving.backup_path(tracker_file).exists()


def summary_lines(stdout: str) -> list[str]:
    """The lines of `xlkpi refresh`'s summary (after its first line)."""
    return stdout.splitlines()[1:]


@pytest.mark.slow
def test_refresh_dry_run_says_what_refresh_does_with_caseless_names(tracker_file):
    """Issue 8: the dry run worked out the missing Targets rows on its own, matching names with
    casefold() where refresh matches with lower(): with a rep "Straße" and Targets rows typed
    for "STRASSE" it said 0 rows while refresh added 12. Now it is the refresh, not saved."""
    add_rep(tracker_file, "Straße")
    wb = load_typed(tracker_file)
    targets = wb[layout.TARGETS]
    row = targets.max_row + 1
    for kpi in KPIS:
        if not kpi.team_only:
            targets.cell(row, 1, "STRASSE")
            targets.cell(row, 2, kpi.name)
            row += 1
    wb.save(tracker_file)
    dry = run("refresh", tracker_file, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    real = run("refresh", tracker_file)
    assert real.exit_code == 0, real.stderr
    n = len(layout.REP_KPIS)
    assert f"target rows added: {n} (Straße: {n})" in real.stdout
    assert summary_lines(dry.stdout) == summary_lines(real.stdout)


@pytest.mark.slow
def test_tracker_file_dry_run_summary_equals_the_saved_refresh(tracker_file):
    add_rep(tracker_file, "Chen")
    dry = TrackerFile.open(tracker_file, writing=False).refresh()
    refreshed = TrackerFile.open(tracker_file)
    assert refreshed.refresh() == dry
    refreshed.save()
    assert dry.tabs_added == ["Chen"] and len(dry.targets_added) == len(layout.REP_KPIS)
    assert TrackerFile.open(tracker_file).refresh().lines() == [
        "tabs added: none", "tabs removed: none", "target rows added: 0"]


@pytest.mark.slow
def test_refresh_adds_a_rep_and_keeps_a_backup(tracker_file):
    from xlkpi.tracker.reader import read_tracker

    add_rep(tracker_file, "Chen")
    before = tracker_file.read_bytes()
    typed = read_tracker(load_typed(tracker_file))
    result = run("refresh", tracker_file)
    assert result.exit_code == 0, result.stderr
    assert "tabs added: Chen" in result.stdout
    assert saving.backup_path(tracker_file).read_bytes() == before
    wb = load_typed(tracker_file)
    assert "Chen" in wb.sheetnames
    after = read_tracker(wb)
    assert after.data == typed.data  # every data row kept
    assert after.settings == typed.settings
    kept = {(row.who, row.kpi_id): row.months for row in typed.targets}
    assert all({(row.who, row.kpi_id): row.months for row in after.targets}[key] == months
               for key, months in kept.items())
    assert not list(tracker_file.parent.glob(".~xlkpi-*"))  # no temporary file left behind


@pytest.mark.slow
def test_refresh_removes_a_rep_tab(tracker_file):
    wb = load_typed(tracker_file)
    ws = wb[layout.SETTINGS]
    for row in range(layout.SETTINGS_REPS_HEADER_ROW + 1, ws.max_row + 1):
        if ws.cell(row, 1).value == "Elena":
            ws.cell(row, 1).value = None
    wb.save(tracker_file)
    result = run("refresh", tracker_file)
    assert result.exit_code == 0, result.stderr
    assert "tabs removed: Elena" in result.stdout
    assert "Elena" not in openpyxl.load_workbook(tracker_file, read_only=True).sheetnames


def test_refresh_refuses_while_open_in_excel(tracker_file):
    (tracker_file.parent / "~$tracker.xlsx").write_bytes(b"lock")
    before = tracker_file.read_bytes()
    assert_error(run("refresh", tracker_file), "tracker.xlsx is open in Excel",
                 "close it there first")
    assert tracker_file.read_bytes() == before


def test_refresh_missing_file(tmp_path):
    assert_error(run("refresh", tmp_path / "t.xlsx"), "t.xlsx: no such file")


def test_refresh_not_a_tracker(tmp_path):
    path = tmp_path / "other.xlsx"
    openpyxl.Workbook().save(path)
    assert_error(run("refresh", path), "other.xlsx is not an xlkpi tracker")


def test_refresh_keeps_macros_of_an_xlsm(tracker_file):
    """An .xlsm keeps its VBA project through a refresh; the backup is tracker.bak.xlsm."""
    path = tracker_file.with_suffix(".xlsm")
    vba = b"\xd0\xcf\x11\xe0 pretend VBA project"
    with zipfile.ZipFile(tracker_file) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr("xl/vbaProject.bin", vba)
    result = run("refresh", path)
    assert result.exit_code == 0, result.stderr
    with zipfile.ZipFile(path) as archive:
        assert archive.read("xl/vbaProject.bin") == vba
        assert b"macroEnabled" in archive.read("[Content_Types].xml")
    assert (path.parent / "tracker.bak.xlsm").exists()


@pytest.mark.slow
def test_refresh_of_an_xlsm_prints_nothing_on_stderr(tmp_path):
    """The macros' zip (openpyxl keeps it open for appending) finalized after its buffer
    printed "Exception ignored in: <function ZipFile.__del__ …>" under the command's output
    once the garbage collector ran rarely (a new tracker without data showed it every time);
    in a process of its own, as a person runs it."""
    new = tmp_path / "tracker.xlsx"
    assert run("new", new, "--reps", "Anna,Boris").exit_code == 0
    path = new.with_suffix(".xlsm")
    with zipfile.ZipFile(new) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 pretend VBA project")
    done = subprocess.run([sys.executable, "-m", "xlkpi.cli", "refresh", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("Refreshed"), done.stderr
    assert done.stderr == ""


def test_permission_error_is_one_line(tracker_file, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tracker_file))

    monkeypatch.setattr(TrackerFile, "save", refuse)
    assert_error(run("refresh", tracker_file), "tracker.xlsx: permission denied",
                 "close it in Excel")


def test_unexpected_error_is_one_line_with_a_hint(demo_file, monkeypatch):
    from xlkpi import report

    def boom(*args, **kwargs):
        raise RuntimeError("something odd\non two lines")

    monkeypatch.setattr(report.Report, "rows", boom)
    assert_error(run("report", demo_file), "unexpected RuntimeError: something odd on two lines",
                 "bug in xlkpi", "XLKPI_DEBUG=1")


# --- template, functions -------------------------------------------------------------------------

def test_template(tmp_path):
    from xlkpi.tracker.reader import read_tracker

    path = tmp_path / "workbook_template" / "xlkpi-tracker.xlsx"
    result = run("template", "--output", path)
    assert result.exit_code == 0, result.stderr
    tracker = read_tracker(openpyxl.load_workbook(path))
    assert tracker.settings.reps == []
    assert all(not sheet.rows for sheet in tracker.data.values())


def test_template_default_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("template").exit_code == 0
    assert (tmp_path / cli_module.DEFAULT_TEMPLATE).exists()


def test_functions_lists_every_excel_function():
    result = run("functions")
    assert result.exit_code == 0
    signatures = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
    names = [line.split("(")[0] for line in signatures]
    catalogued = [kpi.function for kpi in KPIS]
    # issue 11's funnel functions come before their catalogue entries, in DESIGN.md's order
    funnel = [name for name in ("LEAD_TO_SQL_RATE", "AVERAGE_DEAL_SIZE", "SALES_CYCLE_DAYS")
              if name not in catalogued]
    assert names == catalogued + funnel + ["ATTAINMENT"]
    assert "CLOSE_RATE(stages, dates, [period], [owners], [owner], [stage_map])" in signatures
    assert "RETENTION_RATE(start_dates, end_dates, period, [owners], [owner])" in signatures
    assert "ATTAINMENT(actual, target, [direction])" in signatures
    assert "Close rate: won ÷ (won + lost)" in result.stdout


def test_unknown_command():
    assert_error(run("frobnicate"), "No such command 'frobnicate'")


# --- saving --------------------------------------------------------------------------------------

def test_a_failed_save_leaves_the_tracker_as_it_was(tracker_file):
    before = tracker_file.read_bytes()
    wb = openpyxl.Workbook()

    def half_then_fail(handle):
        handle.write(b"PK\x03\x04 half a workbook")
        raise OSError(28, "No space left on device")

    wb.save = half_then_fail
    with pytest.raises(OSError):
        saving.save_atomic(wb, tracker_file)
    assert tracker_file.read_bytes() == before
    assert sorted(p.name for p in tracker_file.parent.iterdir()) == ["tracker.xlsx"]


def test_save_keeps_the_file_mode(tracker_file):
    tracker_file.chmod(0o640)
    saving.save_atomic(openpyxl.load_workbook(tracker_file), tracker_file)
    assert tracker_file.stat().st_mode & 0o777 == 0o640
    assert saving.backup_path(tracker_file).name == "tracker.bak.xlsx"


def test_save_refuses_macros_in_an_xlsx(tmp_path):
    wb = openpyxl.Workbook()
    wb.vba_archive = zipfile.ZipFile(tmp_path / "vba.zip", "w")
    with pytest.raises(TrackerFileError, match="save it as t.xlsm"):
        saving.save_atomic(wb, tmp_path / "t.xlsx")


@pytest.mark.slow
def test_refresh_names_text_dates_and_converts_them_on_request(tmp_path):
    """A lead date typed as text is not counted by the workbook's COUNTIFS: refresh says which
    cell and the fix; --convert-text turns it into a date, cell by cell, and report counts it."""
    path = tmp_path / "t.xlsx"
    assert run("new", path, "--year", YEAR, "--reps", "Anna").exit_code == 0
    wb = load_typed(path)
    wb[layout.LEADS].append(["Acme", "Anna", "2025-03-04", None, "Web"])  # row 2, text date
    wb.save(path)

    checked = run("refresh", path)
    assert checked.exit_code == 0, checked.stderr
    assert "check: Leads row 2 (LeadDate): dates stored as text" in checked.stdout
    before = json.loads(run("report", path, "--period", "2025-03", "--rep", "Team",
                            "--format", "json").stdout)
    assert [row["actual"] for row in before if row["kpi"] == "cost_per_lead"] == [None]

    converted = run("refresh", path, "--convert-text")
    assert converted.exit_code == 0, converted.stderr
    assert "converted Leads!C2: '2025-03-04' → 2025-03-04" in converted.stdout
    assert "check:" not in converted.stdout
    cell = load_typed(path)[layout.LEADS]["C2"].value
    assert (cell.year, cell.month, cell.day) == (2025, 3, 4)
    wb = load_typed(path)
    wb[layout.SPEND].append(["2025-03-10", 500, "Ads"])  # text date too: not counted
    wb[layout.SPEND]["A2"].value = openpyxl.utils.datetime.from_excel(45726)  # 2025-03-10
    wb.save(path)
    after = json.loads(run("report", path, "--period", "2025-03", "--rep", "Team",
                           "--format", "json").stdout)
    assert [row["actual"] for row in after if row["kpi"] == "cost_per_lead"] == [500.0]  # 500/1

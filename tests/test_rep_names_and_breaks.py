"""Issue 10: rep names a COUNTIFS criterion would misread (item 8) and the breaks of item 12."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.test_agreement import Built, Config, same, tab_cells
from tests.test_cli import assert_error, run
from tests.test_workbook import load_typed
from xlkpi.core.errors import InputError
from xlkpi.tracker import model as layout
from xlkpi.tracker.model import check_reps, rep_name_problem
from xlkpi.xlsx import parts

REFUSED = ["007", "1e3", "50%", "2026-10-01", "TRUE", "false", "1,000", "10:30", "Oct 1",
           "1-Oct-2026", "(5)", "1 1/2", "$5", "+5", "-0", "10 am"]
ACCEPTED = ["7", "-3", ">5", "<>x", "=x", "a*b", "x?y", "~z", "June", "Agent 007", "R2D2",
            "#N/A", "Anna"]


def settings_rep(path: Path, row_offset: int, value) -> None:
    wb = load_typed(path)
    cell = wb[layout.SETTINGS].cell(layout.SETTINGS_REPS_HEADER_ROW + row_offset, 1)
    cell.value = value
    if isinstance(value, str) and not value.startswith("="):
        cell.data_type = "s"
    wb.save(path)


# --- item 8 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", REFUSED)
def test_number_like_rep_names_are_refused(name):
    assert rep_name_problem(name)
    with pytest.raises(InputError, match=re.escape(repr(name))):
        check_reps(["Anna", name])


def test_names_matched_exactly_are_accepted():
    assert [name for name in ACCEPTED if rep_name_problem(name)] == []
    check_reps(ACCEPTED)


def test_new_refuses_a_number_like_rep(tmp_path):
    path = tmp_path / "t.xlsx"
    line = assert_error(run("new", path, "--reps", "Anna,007"), "reps: '007'", "number")
    assert "Rep 007" in line and not path.exists()


def test_refresh_and_report_refuse_a_number_like_rep_typed_in_settings(tmp_path):
    path = tmp_path / "t.xlsx"
    assert run("new", path, "--reps", "Anna", "--year", 2025).exit_code == 0
    settings_rep(path, 2, "1e3")
    assert_error(run("refresh", path), "Settings", "'1e3'", "number")
    assert_error(run("report", path), "Settings", "'1e3'", "number")


@pytest.mark.libreoffice
def test_accepted_names_agree_in_workbook_and_report(tmp_path):
    """Names with wildcards, comparison signs and whole numbers count the same rows in the
    workbook (LibreOffice) and the report, decoy owners included ("aXb", "x", 6, 7)."""
    from tests.libreoffice import recalculate

    reps = [">5", "<>x", "=x", "a*b", "7", "Agent 007"]
    path = tmp_path / "tracker.xlsx"
    result = run("new", path, "--demo", "--year", 2025, "--as-of", "2025-06-15",
                 "--reps", ",".join(reps))
    assert result.exit_code == 0, result.stderr
    wb = load_typed(path)
    ws = wb[layout.OPPORTUNITIES]
    for owner in ["aXb", "x", "y", 6, 7, "7", "=X", ">5", "5", "a*b", "Agent 7", "agent 007"]:
        ws.append([f"Decoy {owner}", owner, dt.datetime(2025, 3, 3), dt.datetime(2025, 4, 4),
                   "Won", 1000])
        if isinstance(owner, str):
            ws.cell(ws.max_row, 2).data_type = "s"
    wb.save(path)
    assert run("refresh", path).exit_code == 0
    report = {(row["rep"], row["kpi"], row["period"]): row for row in json.loads(
        run("report", path, "--period", "all", "--format", "json").stdout)}
    recalculated = recalculate(path, tmp_path / "out")
    months = [period.label for period in layout.Settings(2025, 1).month_periods()]
    built = Built(Config("names", 2025, 1, "2025-06-15", None), path, recalculated, report,
                  reps, months)
    wrong, checked = [], 0
    for who, kpi, period, kind, value in tab_cells(built):
        if kind == "Actual":
            checked += 1
            if not same(report[who, kpi, period]["actual"], value):
                wrong.append((who, kpi, period, value, report[who, kpi, period]["actual"]))
    assert checked and not wrong, wrong[:20]


# --- item 12 -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_demo_at_the_end_of_excels_calendar(tmp_path):
    """(a) --year 9998 --fiscal-start 12 ran into 10000 (OverflowError "… a bug")."""
    path = tmp_path / "e.xlsx"
    result = run("new", path, "--demo", "--year", 9998, "--fiscal-start", 12)
    assert result.exit_code == 0, result.stderr
    assert run("report", path, "--period", "all").exit_code == 0
    assert run("refresh", path).exit_code == 0


def test_demo_at_the_start_of_excels_calendar(tmp_path):
    """--year 1901: the demo's history (the year before, earlier customers) stays in 1900."""
    path = tmp_path / "e.xlsx"
    assert run("new", path, "--demo", "--year", 1901).exit_code == 0
    result = run("report", path, "--period", "YTD", "--format", "json")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("year,start", [(9999, 2), (9999, 1), (1900, 1)])
def test_years_outside_excels_calendar_are_refused(tmp_path, year, start):
    path = tmp_path / "t.xlsx"
    assert run("new", path, "--reps", "Anna", "--year", 2025).exit_code == 0
    wb = load_typed(path)
    wb[layout.SETTINGS]["B4"], wb[layout.SETTINGS]["B5"] = year, start
    wb.save(path)
    assert_error(run("refresh", path), "Settings!B4", str(year), "1901 to 9998")
    assert_error(run("report", path), "Settings!B4", str(year), "1901 to 9998")
    assert_error(run("new", tmp_path / "n.xlsx", "--year", year), "--year")


@pytest.mark.slow
def test_new_refuses_more_reps_than_refresh_and_report_read(tmp_path, monkeypatch):
    """(b) the limit of sheets is one: new refuses what refresh and report would refuse."""
    monkeypatch.setattr(parts, "MAX_SHEETS", 20)
    room = 20 - len(layout.FIXED_SHEETS)
    names = ",".join(f"Rep{i}" for i in range(room + 1))
    line = assert_error(run("new", tmp_path / "big.xlsx", "--reps", names),
                        f"{room + 1} reps", "(20)", f"at most {room} reps")
    assert "sheets" in line
    path = tmp_path / "ok.xlsx"
    assert run("new", path, "--reps", names.rsplit(",", 1)[0]).exit_code == 0
    assert run("refresh", path).exit_code == 0
    assert run("report", path).exit_code == 0
    settings_rep(path, room + 1, "One more")
    assert_error(run("refresh", path), f"{room + 1} reps", f"at most {room} reps")
    # a sheet of one's own takes a rep's room
    path = tmp_path / "mine.xlsx"
    assert run("new", path, "--reps", names.rsplit(",", 2)[0]).exit_code == 0
    wb = load_typed(path)
    wb.create_sheet("Mine")
    wb.save(path)
    assert run("refresh", path).exit_code == 0
    settings_rep(path, room, "One more")
    assert_error(run("refresh", path), "the 1 sheet you added", f"at most {room - 1} reps")


def _with_cached(path: Path, cell: str, value: str) -> None:
    """Give the formula in Settings!``cell`` the cached text ``value``, as Excel saves it."""
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
        part = parts.sheet_parts(archive, path)[layout.SETTINGS]
    xml = contents[part]
    fixed = re.sub(rb'<c r="%s"([^>]*)><f>(.*?)</f>(<v\s*/>|<v>[^<]*</v>)?</c>' % cell.encode(),
                   rb'<c r="%s"\1 t="str"><f>\2</f><v>%s</v></c>' % (cell.encode(),
                                                                   value.encode()), xml)
    assert fixed != xml
    contents[part] = fixed
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


@pytest.mark.slow
def test_a_rep_typed_as_a_formula_is_its_value(tmp_path):
    """(c) =UPPER("frank") in Settings made a tab named by the formula."""
    path = tmp_path / "t.xlsx"
    assert run("new", path, "--reps", "Anna", "--year", 2025).exit_code == 0
    settings_rep(path, 2, '=UPPER("frank")')
    row = layout.SETTINGS_REPS_HEADER_ROW + 2
    assert_error(run("refresh", path), f"Settings!A{row}", '=UPPER("frank")', "no value")
    _with_cached(path, f"A{row}", "FRANK")
    result = run("refresh", path)
    assert result.exit_code == 0, result.stderr
    assert "tabs added: FRANK" in result.stdout
    assert "FRANK" in openpyxl.load_workbook(path, read_only=True).sheetnames


def test_an_empty_rep_is_refused_by_report(tmp_path):
    """(d) --rep "" reported everyone."""
    path = tmp_path / "t.xlsx"
    assert run("new", path, "--reps", "Anna", "--year", 2025).exit_code == 0
    assert_error(run("report", path, "--rep", ""), "--rep: give a rep's name or Team")
    assert_error(run("report", path, "--rep", "  "), "--rep")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["refresh", "new"])
def test_a_full_output_is_not_a_failed_save(tmp_path, command):
    """(e) `refresh > /dev/full` said "No space left on device" of the file it had saved."""
    path = tmp_path / "t.xlsx"
    if command == "refresh":
        assert run("new", path, "--reps", "Anna", "--year", 2025).exit_code == 0
        args = ["refresh", str(path)]
    else:
        args = ["new", str(path), "--reps", "Anna"]
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "xlkpi.cli", *args], stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "t.xlsx was saved" in lines[0] and "could not be written" in lines[0]
    assert openpyxl.load_workbook(path)[layout.SETTINGS]

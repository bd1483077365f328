"""`xlkpi new --demo` with no --as-of: the data stops today (as a real team's does), so this
month's pacing is a mid-month one; Settings' date stays blank (the workbook's TODAY())."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from click.testing import CliRunner

from xlkpi.cli import cli
from xlkpi.core.texts import stage_class
from xlkpi.tracker import model


@pytest.mark.slow
def test_the_demo_of_this_year_has_no_row_dated_after_today(tmp_path):
    path = tmp_path / "demo.xlsx"
    result = CliRunner().invoke(cli, ["new", str(path), "--demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    today = dt.date.today()
    wb = openpyxl.load_workbook(path)
    assert wb[model.SETTINGS]["B7"].value is None  # "Year to date through": blank = today
    dates, still_open_later = [], 0
    for name in model.DATA_SHEETS:
        for row in wb[name].iter_rows(min_row=2, values_only=True):
            if name == model.OPPORTUNITIES and isinstance(row[3], dt.datetime) \
                    and row[3].date() > today:
                # an open deal's expected close date may lie ahead; a won or lost one may not
                assert stage_class(row[4]) == 0, row
                still_open_later += 1
                row = row[:3]
            dates += [cell for cell in row if isinstance(cell, dt.datetime)]
    wb.close()
    assert dates, "the demo has dated rows"
    assert max(dates).date() <= today
    # and it runs up to about today: the last week has rows (leads, e-mails every workday)
    assert max(dates).date() >= today - dt.timedelta(days=7) or today.timetuple().tm_yday < 8


@pytest.mark.slow
def test_a_past_years_demo_keeps_the_whole_year(tmp_path):
    path = tmp_path / "demo.xlsx"
    year = dt.date.today().year - 2
    result = CliRunner().invoke(cli, ["new", str(path), "--demo", "--year", str(year)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(path, read_only=True)
    closes = [row[3] for row in wb[model.OPPORTUNITIES].iter_rows(min_row=2, values_only=True)
              if isinstance(row[3], dt.datetime)]
    wb.close()
    assert any(close.year == year and close.month == 12 for close in closes)

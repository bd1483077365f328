"""`xlkpi report` starts reading a large tracker's biggest sheets in a thread before its modules
load (tracker.prefetch): the report must be the one read without it, a file changed since is
read again, and a hostile file is checked before python-calamine parses anything."""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.test_values import demo_file
from xlkpi.core.errors import TrackerFileError
from xlkpi.tracker import prefetch
from xlkpi.tracker.values import read_checked
from xlkpi.xlsx.parts import sheet_parts


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return demo_file(tmp_path_factory.mktemp("prefetch"))


@pytest.fixture
def copy(demo, tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(prefetch, "AHEAD_FROM_BYTES", 0)  # a small tracker read ahead too
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    path = tmp_path / "tracker.xlsx"
    shutil.copy(demo, path)
    return path


def test_sheets_read_ahead_give_the_same_tracker(copy):
    ahead = prefetch.read_ahead(copy)
    assert ahead is not None
    sheets = ahead.sheets(copy)
    with zipfile.ZipFile(copy) as archive:
        parts = sheet_parts(archive, copy)
        sizes = {title: archive.getinfo(parts[title]).file_size for title in (
            "Leads", "Spend", "Opportunities", "Emails", "Customers")}
    assert list(sheets)[0] == max(sizes, key=sizes.get)  # the largest first
    assert sum(sizes[title] for title in sheets) <= prefetch.AHEAD_SHARE * sum(sizes.values())
    assert all(future.result() for future in sheets.values())
    assert read_checked(copy, ahead) == read_checked(copy)


def test_a_file_changed_after_the_reading_began_is_read_again(copy, tmp_path):
    ahead = prefetch.read_ahead(copy)
    ahead.sheets(copy)  # read ahead from the file as it was
    other = demo_file(tmp_path, "other.xlsx", reps=["Anna", "Elene"])
    os.replace(other, copy)  # saved meanwhile, as Excel saves: a new file in its place
    assert ahead.sheets(copy) == {}
    tracker, _ = read_checked(copy, ahead)
    assert tracker.settings.reps == ["Anna", "Elene"]
    ahead.close()


def test_a_hostile_file_is_refused_before_anything_is_parsed(copy, tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(copy) as source, zipfile.ZipFile(bomb, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", info.filename):
                at = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
                data = data[:at] + b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + data[at:]
            target.writestr(info, data)
    ahead = prefetch.read_ahead(bomb)
    assert ahead is not None and ahead.sheets(bomb) == {}  # the check refused it: no sheet
    with pytest.raises(TrackerFileError, match="bomb|DTD|entit"):
        read_checked(bomb, ahead)
    ahead.close()

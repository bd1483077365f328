"""The rep view: a drop-down of the reps on Settings, kept by refresh while the rep is listed."""

import io

import openpyxl
import pytest
from click.testing import CliRunner

from tests.test_workbook import sample_tracker
from xlkpi.cli import cli
from xlkpi.tracker import build, model, reader
from xlkpi.xlsx import splice


def saved(wb) -> openpyxl.Workbook:
    out = io.BytesIO()
    wb.save(out)
    return openpyxl.load_workbook(io.BytesIO(out.getvalue()))


def test_the_picker_lists_the_reps_on_settings():
    wb = saved(build.new_workbook(sample_tracker(seed=1, rows=10, reps=["Anna", "Boris"])))
    ws = wb[model.REP_VIEW]
    assert ws["B2"].value == "Anna"
    (validation,) = ws.data_validations.dataValidation
    assert validation.type == "list" and str(validation.sqref) == "B2"
    first = model.SETTINGS_REPS_HEADER_ROW + 1
    assert validation.formula1.startswith(f"'Settings'!$A${first}:$A$")
    # the criterion follows the picked name, wildcards escaped; none at all matches no owner
    assert "$B$2" in ws["P2"].value and '"~","~~"' in ws["P2"].value
    assert "CHAR(1)" in ws["P2"].value


@pytest.mark.slow
def test_refresh_keeps_the_picked_rep_while_listed():
    tracker = sample_tracker(seed=2, rows=10, reps=["Anna", "Boris"])
    wb = saved(build.new_workbook(tracker))
    wb[model.REP_VIEW]["B2"] = "boris"
    build.regenerate(wb, reader.read_tracker(wb))
    assert wb[model.REP_VIEW]["B2"].value == "Boris"
    wb = saved(wb)
    wb[model.SETTINGS].cell(model.SETTINGS_REPS_HEADER_ROW + 2, 1).value = None  # Boris leaves
    build.regenerate(wb, reader.read_tracker(wb))
    assert wb[model.REP_VIEW]["B2"].value == "Anna"


@pytest.mark.slow
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_the_refresh_command_keeps_the_picked_rep(tmp_path, monkeypatch, large):
    """A large tracker's refresh loads the generated tabs without their cells: not the rep
    view, whose picked rep it keeps (it went back to the first rep)."""
    if large:  # data rows held outside openpyxl, as from a few megabytes of them
        monkeypatch.setattr(splice, "STREAM_FROM_BYTES", 0)
    path = tmp_path / "tracker.xlsx"
    build.new_workbook(sample_tracker(seed=3, rows=30, reps=["Anna", "Boris"])).save(path)
    wb = openpyxl.load_workbook(path)
    wb[model.REP_VIEW]["B2"] = "Boris"
    wb.save(path)
    result = CliRunner().invoke(cli, ["refresh", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(path)[model.REP_VIEW]["B2"].value == "Boris"


def test_a_tracker_without_reps_shows_an_empty_picker():
    ws = build.template_workbook()[model.REP_VIEW]
    assert ws["B2"].value is None

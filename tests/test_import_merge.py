"""xlkpi import's writing half (issue 9): every fixture export merged into a fresh tracker,
idempotence, hand-typed rows and targets untouched, aliases, stages, one-line failures."""

from __future__ import annotations

import csv
import functools
import json
import tempfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlkpi.cli import cli
from xlkpi.tracker import model as layout
from xlkpi.tracker.merge import ID_HEADER

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
FIXTURES = sorted(path.name for path in EXPORTS.iterdir())


def run(*args, ok: bool = True):
    result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.stderr
    return result


def new_tracker(folder: Path, reps: str = "Anna Petrova,Boris") -> Path:
    """``folder``/t.xlsx, as `xlkpi new` makes it (made once for each ``reps``)."""
    path = folder / "t.xlsx"
    path.write_bytes(new_tracker_bytes(reps))
    return path


@functools.cache
def new_tracker_bytes(reps: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.xlsx"
        run("new", path, "--year", "2026", "--reps", reps, "--as-of", "2026-12-31")
        return path.read_bytes()


def cells(path: Path) -> dict:
    """Every typed sheet's cell values (not the generated tabs: read-only mode parses only the
    sheets read), every row the sheet's XML holds whatever its stored dimension says."""
    wb = openpyxl.load_workbook(path, read_only=True)
    out = {}
    for name in (*layout.DATA_SHEETS, layout.TARGETS, layout.SETTINGS, layout.STAGES):
        ws = wb[name]
        ws.reset_dimensions()
        out[name] = [list(row) for row in ws.iter_rows(values_only=True)]
    wb.close()
    return out


def data_rows(path: Path, sheet: str) -> list[dict]:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb[sheet].iter_rows(values_only=True))
    wb.close()
    header = [str(value) for value in rows[0]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:] if any(
        value not in (None, "") for index, value in enumerate(row)
        if header[index] != layout.STAGE_CLASS_COLUMN)]


@pytest.mark.slow
@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_imports_into_a_fresh_tracker(tmp_path, name):
    path = new_tracker(tmp_path)
    first = run("import", path, EXPORTS / name)
    assert " added, 0 updated" in first.stdout
    once = cells(path)
    second = run("import", path, EXPORTS / name)
    assert "0 added, 0 updated" in second.stdout and "nothing to save" in second.stdout
    assert cells(path) == once
    run("report", path, "--format", "json")  # the report reads what import wrote


def test_hubspot_custom_stage_is_added_and_mapping_changes_the_report(tmp_path):
    path = new_tracker(tmp_path)
    out = run("import", path, EXPORTS / "hubspot_deals.csv").stdout
    assert "'Closed: abandoned' (1 deal)" in out and "map it on the Stages sheet" in out
    rows = json.loads(run("report", path, "--period", "2026-02", "--format", "json",
                          "--rep", "Team").stdout)
    close = {row["kpi"]: row["actual"] for row in rows}["close_rate"]
    assert close is None  # February's one closed deal is 'Closed: abandoned': Open
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.STAGES]
    row = next(cell.row for cell in ws["A"] if cell.value == "Closed: abandoned")
    assert ws.cell(row, 2).value == "Open"
    ws.cell(row, 2).value = "Lost"
    wb.save(path)
    rows = json.loads(run("report", path, "--period", "2026-02", "--format", "json",
                          "--rep", "Team").stdout)
    assert {row["kpi"]: row["actual"] for row in rows}["close_rate"] == 0


@pytest.mark.slow
def test_hand_typed_rows_and_targets_are_never_touched(tmp_path):
    path = new_tracker(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.OPPORTUNITIES]
    ws.append(["Typed deal", "Boris", None, None, "Closed: won", 100])
    wb[layout.TARGETS].cell(layout.TARGETS_FIRST_ROW, 3).value = 1234
    wb.save(path)
    before = cells(path)
    run("import", path, EXPORTS / "hubspot_deals.csv")
    after = cells(path)
    assert after[layout.TARGETS] == before[layout.TARGETS]
    typed = [row for row in data_rows(path, layout.OPPORTUNITIES)
             if row["Opportunity"] == "Typed deal"]
    assert len(typed) == 1 and typed[0]["Stage"] == "Closed: won" and typed[0]["Amount"] == 100
    assert typed[0].get(ID_HEADER) is None


@pytest.mark.slow
def test_aliases_write_the_reps_own_name(tmp_path):
    path = new_tracker(tmp_path, "Anna,Boris")
    wb = openpyxl.load_workbook(path)
    settings = wb[layout.SETTINGS]
    row = next(cell.row for cell in settings["A"] if cell.value == "Anna")
    settings.cell(row, layout.SETTINGS_ALIASES_COL).value = "Анна Петрова; anna@acme.com"
    wb.save(path)
    out = run("import", path, EXPORTS / "amocrm_deals_utf8_bom.csv").stdout
    owners = [row["Owner"] for row in data_rows(path, layout.OPPORTUNITIES)]
    assert owners.count("Anna") == 2 and "anna@acme.com" not in owners
    assert "1 owner matches no rep: 'Иванов Б.' (2 rows)" in out
    note = run("report", path).stderr
    assert "'Иванов Б.' (2 rows)" in note and "alias next to its rep in Settings" in note


def test_next_weeks_export_updates_stage_and_close_date(tmp_path):
    path = new_tracker(tmp_path)
    export = tmp_path / "deals.csv"
    text = (EXPORTS / "hubspot_deals.csv").read_text()
    export.write_text(text)
    run("import", path, export)
    export.write_text(text.replace("Initech pilot,Appointment scheduled,,",
                                   "Initech pilot,Closed: won,2026-05-02,"))
    out = run("import", path, export).stdout
    assert "0 added, 1 updated, 2 unchanged" in out
    rows = {row["Opportunity"]: row for row in data_rows(path, layout.OPPORTUNITIES)}
    assert rows["Initech pilot"]["Stage"] == "Closed: won"
    assert rows["Initech pilot"]["CloseDate"].date().isoformat() == "2026-05-02"
    assert len(rows) == 3


def test_formula_like_text_is_stored_as_text(tmp_path):
    path = new_tracker(tmp_path)
    export = tmp_path / "deals.csv"
    export.write_text("Record ID,Deal Name,Deal Stage,Close Date,Deal owner,Amount,Create Date\n"
                      '1,"=HYPERLINK(""http://x"")",Won,2026-03-01,@Boris,10,2026-02-01\n')
    run("import", path, export)
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.OPPORTUNITIES]
    assert ws["A2"].value == '=HYPERLINK("http://x")' and ws["A2"].data_type == "s"
    assert ws["B2"].value == "@Boris" and ws["B2"].data_type == "s"


def test_dry_run_writes_nothing_and_shows_a_sample(tmp_path):
    path = new_tracker(tmp_path)
    before = path.read_bytes()
    out = run("import", path, EXPORTS / "pipedrive_deals.csv", "--dry-run").stdout
    assert "would be added" in out and "sample:" in out and "Dry run" in out
    assert path.read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (["missing.csv"], "missing.csv"),
    (["bad.csv"], "not recognised"),
    (["hubspot_deals.csv", "--as", "nonsense"], "--as 'nonsense'"),
])
def test_failures_are_one_line(tmp_path, args, message):
    path = new_tracker(tmp_path)
    (tmp_path / "bad.csv").write_text("foo,bar\n1,2\n")
    export = EXPORTS / args[0] if (EXPORTS / args[0]).exists() else tmp_path / args[0]
    result = run("import", path, export, *args[1:], ok=False)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert message in result.stderr


def test_not_a_tracker_is_one_line(tmp_path):
    other = tmp_path / "o.xlsx"
    openpyxl.Workbook().save(other)
    result = run("import", other, EXPORTS / "hubspot_deals.csv", ok=False)
    assert result.exit_code == 1 and result.stderr.startswith("Error: ")


# --- properties ------------------------------------------------------------------------------

HEADER = ["Record ID", "Deal Name", "Deal Stage", "Close Date", "Deal owner", "Amount",
          "Create Date"]
record = st.fixed_dictionaries({
    "stage": st.sampled_from(["Won", "Lost", "Closed: abandoned", "Open deal"]),
    "day": st.integers(1, 28), "amount": st.integers(0, 10_000),
    "owner": st.sampled_from(["Anna Petrova", "Boris", "Carl"])})
exports = st.dictionaries(st.integers(1, 12), record, min_size=1, max_size=8)


def write_export(path: Path, records: dict) -> None:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for key, value in sorted(records.items()):
            out.writerow([key, f"Deal {key}", value["stage"], f"2026-03-{value['day']:02d}",
                          value["owner"], value["amount"], "2026-01-05"])


def imported(path: Path) -> dict:
    return {row[ID_HEADER]: (row["Opportunity"], row["Owner"], row["Stage"],
                             row["CloseDate"], row["Amount"])
            for row in data_rows(path, layout.OPPORTUNITIES) if row.get(ID_HEADER)}


@pytest.mark.slow  # 8 imports of two exports into fresh trackers: some 20 s
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(first=exports, second=exports)
def test_import_is_idempotent_and_the_latest_export_wins(tmp_path_factory, first, second):
    folder = tmp_path_factory.mktemp("prop")
    path = new_tracker(folder)
    wb = openpyxl.load_workbook(path)
    wb[layout.OPPORTUNITIES].append(["Typed", "Boris", None, None, "Won", 5])
    wb[layout.TARGETS].cell(layout.TARGETS_FIRST_ROW, 4).value = 77
    wb.save(path)
    a, b = folder / "a.csv", folder / "b.csv"
    write_export(a, first)
    write_export(b, second)
    run("import", path, a)
    once = cells(path)
    run("import", path, a)
    assert cells(path) == once  # twice = once
    run("import", path, b)
    merged = imported(path)
    # one row per record of either export; where both have it, the later import's values
    expected_path = new_tracker(folder / "fresh") if (folder / "fresh").mkdir() is None else None
    write_export(folder / "ab.csv", {**first, **second})
    run("import", expected_path, folder / "ab.csv")
    assert merged == imported(expected_path)
    after = cells(path)
    assert after[layout.TARGETS] == once[layout.TARGETS]
    typed = [row for row in data_rows(path, layout.OPPORTUNITIES) if row["Opportunity"] == "Typed"]
    assert len(typed) == 1 and typed[0]["Stage"] == "Won" and typed[0]["Amount"] == 5


@pytest.mark.slow  # two imports into a 6,700-row demo
def test_import_into_a_large_tracker(tmp_path):
    """A demo tracker's rows are held outside openpyxl by refresh (xlsx.splice); import opens
    it whole and merges all the same, keeping every demo row."""
    path = tmp_path / "demo.xlsx"
    run("new", path, "--demo", "--year", "2026", "--as-of", "2026-12-31")
    before = len(data_rows(path, layout.OPPORTUNITIES))
    out = run("import", path, EXPORTS / "hubspot_deals.csv").stdout
    assert "3 added, 0 updated" in out
    assert len(data_rows(path, layout.OPPORTUNITIES)) == before + 3
    assert "0 added, 0 updated" in run("import", path, EXPORTS / "hubspot_deals.csv").stdout


def test_merge_keys_are_the_readers():
    from xlkpi import imports
    from xlkpi.tracker import merge

    assert (merge.SOURCE, merge.RECORD_ID) == (imports.SOURCE, imports.RECORD_ID)

"""`xlkpi import --map` (issue 9): an explicit column mapping, saved in the tracker (Stages
sheet, columns H:J) by the export's header signature, used again without flags, kept by
refresh; bad --map text is one line naming the pair."""

from __future__ import annotations

import openpyxl
import pytest

from xlkpi.tracker import model as layout
from xlkpi.tracker.stages import MAPS_COLUMN

from .test_import_merge import data_rows, new_tracker, run

HEADER = "Deal,Rep Name,Opened On,Shut On,Phase,Value,Deal No\n"
FIRST = HEADER + ("Acme,Boris,2026-03-01,2026-04-01,Won,1000,7\n"
                  "Beta,Anna Petrova,2026-03-05,,Negotiation,500,8\n")
# next week: the same headers in another order; Beta lost, a new deal
SECOND = ("Deal No,Deal,Phase,Rep Name,Opened On,Shut On,Value\n"
          "7,Acme,Won,Boris,2026-03-01,2026-04-01,1000\n"
          "8,Beta,Lost,Anna Petrova,2026-03-05,2026-05-02,500\n"
          "9,Gamma,Won,Boris,2026-06-01,2026-06-20,250\n")
MAP = ("Deal=Opportunity, Rep Name=Owner, Opened On=CreatedDate, Shut On=CloseDate, "
       "Phase=Stage, Value=Amount, Deal No=ID")


def saved_maps(path) -> list[tuple]:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = [row for row in wb[layout.STAGES].iter_rows(
        min_row=2, min_col=MAPS_COLUMN, max_col=MAPS_COLUMN + 2, values_only=True) if row[0]]
    wb.close()
    return rows


@pytest.mark.slow
def test_map_is_saved_used_again_without_flags_and_kept_by_refresh(tmp_path):
    path = new_tracker(tmp_path)
    first, second = tmp_path / "deals.csv", tmp_path / "deals2.csv"
    first.write_text(FIRST)
    second.write_text(SECOND)
    unknown = run("import", path, first, ok=False)
    assert unknown.exit_code == 1 and "--map" in unknown.stderr
    dry = run("import", path, first, "--map", MAP, "--dry-run")
    assert "mapping would be saved" in dry.stdout and saved_maps(path) == []
    done = run("import", path, first, "--map", MAP)
    assert "Opportunities: 2 added" in done.stdout and "mapping saved" in done.stdout
    [(signature, sheet, text)] = saved_maps(path)
    assert sheet == "Opportunities" and text == MAP and "rep name" in signature
    rows = data_rows(path, "Opportunities")
    assert sorted((row["Opportunity"], row["Owner"], row["Stage"], row["Amount"])
                  for row in rows) == [
        ("Acme", "Boris", "Won", 1000), ("Beta", "Anna Petrova", "Negotiation", 500)]

    run("refresh", path)
    assert saved_maps(path) == [(signature, sheet, text)]

    again = run("import", path, second)  # same headers, other order: no flags
    assert "using the saved mapping for these headers" in again.stdout
    assert "Opportunities: 1 added, 1 updated, 1 unchanged" in again.stdout
    rows = data_rows(path, "Opportunities")
    assert sorted((row["Opportunity"], row["Stage"]) for row in rows) == [
        ("Acme", "Won"), ("Beta", "Lost"), ("Gamma", "Won")]
    assert saved_maps(path) == [(signature, sheet, text)]  # not saved twice
    twice = run("import", path, second)
    assert "already holds every record: nothing to save" in twice.stdout


@pytest.mark.slow
def test_map_with_as_and_semicolons(tmp_path):
    path = new_tracker(tmp_path)
    export = tmp_path / "spend.csv"
    export.write_text('Day,"Cost, USD",Where\n2026-03-01,100,Ads\n2026-03-02,50,Ads\n')
    done = run("import", path, export, "--as", "spend",
               "--map", "Day=SpendDate; Cost, USD=Spend; Where=Channel")
    assert "Spend: 2 added" in done.stdout
    assert saved_maps(path)[0][1:] == ("Spend", "Day=SpendDate; Cost, USD=Spend; Where=Channel")
    assert "using the saved mapping" in run("import", path, export).stdout


@pytest.mark.parametrize(("mapping", "message"), [
    ("Deal Opportunity", "--map: 'Deal Opportunity' is not HEADER=COLUMN"),
    ("Deal=Opportunity,=Stage", "--map: '=Stage' is not HEADER=COLUMN"),
    ("Deal=Opp", "--map 'Deal=Opp': 'Opp' is not a column of any data sheet"),
    ("Deal=Opportunity,Deal No=Opportunity,Opened On=CreatedDate",
     "--map 'Deal No=Opportunity': Opportunity is mapped twice"),
    ("Deal=Opportunity,Phase=Stage", "--map: map a date column of Opportunities"),
    ("Dael=Opportunity,Opened On=CreatedDate",
     "--map 'Dael=Opportunity': the export has no column 'Dael'"),
    ("Rep Name=Owner", "--map: the columns fit more than one data sheet (Leads, Opportunities,"),
    ("Rep Name=Owner,Opened On=LeadDate,Deal=Stage", "'Stage' is not a column of Leads"),
    ("", "--map: give HEADER=COLUMN pairs"),
])
def test_bad_map_is_one_line_naming_the_pair(tmp_path, mapping, message):
    path = new_tracker(tmp_path)
    export = tmp_path / "deals.csv"
    export.write_text(FIRST)
    as_leads = ["--as", "leads"] if "LeadDate" in mapping else []
    result = run("import", path, export, "--map", mapping, *as_leads, ok=False)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert saved_maps(path) == []

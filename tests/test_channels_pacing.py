"""The pacing block, blank months after the as-of date and the Channels sheet, as written (the
numbers in LibreOffice: tests/test_agreement.py); `report` pacing keys and `--by channel`."""

import datetime as dt
import json

from click.testing import CliRunner

from xlkpi.cli import cli
from xlkpi.report import CHANNEL_KEYS, PACING_KEYS, Report, to_csv, to_table
from xlkpi.tracker import model as layout
from xlkpi.tracker.build import new_workbook, regenerate
from xlkpi.tracker.channels import MEASURES, NO_CHANNEL, channel_names
from xlkpi.tracker.meta import generated_sheets
from xlkpi.tracker.model import DataSheet, Settings, Tracker
from xlkpi.tracker.reader import read_tracker


def tracker(as_of=dt.date(2026, 2, 14)) -> Tracker:
    day = dt.datetime(2026, 2, 3)
    leads = [["L1", "Anna", day, day, "Google Ads"], ["L2", "Anna", day, None, "google ads"],
             ["L3", "Boris", day, day, None], ["L4", "Boris", dt.datetime(2026, 3, 2), None,
                                               "Events"]]
    spend = [[day, 300.0, "Google Ads"], [day, 50.0, None], [dt.datetime(2026, 1, 5), 7.5,
                                                             "LinkedIn"]]
    opps = [["O1", "Anna", day, day, "Won", 1000]]
    targets = [layout.TargetRow("Team", "deals_won", [None, 28] + [None] * 10)]
    return Tracker(Settings(2026, 1, "EUR", ["Anna", "Boris"], as_of), targets, {
        layout.LEADS: DataSheet(list(layout.DATA_COLUMNS[layout.LEADS]), leads),
        layout.SPEND: DataSheet(list(layout.DATA_COLUMNS[layout.SPEND]), spend),
        layout.OPPORTUNITIES: DataSheet(list(layout.DATA_COLUMNS[layout.OPPORTUNITIES]), opps)})


def test_the_channels_are_those_of_the_data_once_each_and_no_channel_last():
    assert channel_names(tracker()) == ["Events", "Google Ads", "LinkedIn", None]
    empty = Tracker(Settings(2026), [], {})
    assert channel_names(empty) == []


def test_channels_is_a_generated_print_ready_sheet_and_refresh_updates_it():
    wb = new_workbook(tracker(), streamed=False)
    ws = wb[layout.CHANNELS]
    assert generated_sheets(wb)[layout.CHANNELS] == layout.KIND_CHANNELS
    names = [ws.cell(row, 1).value for row in range(layout.TAB_FIRST_ROW, ws.max_row + 1,
                                                    len(MEASURES))]
    assert names == ["Events", "Google Ads", "LinkedIn", NO_CHANNEL]
    assert [ws.cell(layout.TAB_FIRST_ROW + i, 2).value for i in range(len(MEASURES))] == [
        measure.label for measure in MEASURES]
    spend = ws.cell(layout.TAB_FIRST_ROW + len(MEASURES), 3).value  # Google Ads, January
    assert spend.startswith("=SUMIFS(Spend!$B:$B,") and "Spend!$C:$C,$P$11" in spend
    assert ws["P11"].value == "=Google Ads" and ws[f"P{layout.TAB_FIRST_ROW + 15}"].value == "="
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    # a new source appears after refresh
    wb[layout.LEADS].append(["L5", "Anna", dt.datetime(2026, 2, 9), None, "Webinar"])
    regenerate(wb, read_tracker(wb))
    ws = wb[layout.CHANNELS]
    assert "Webinar" in [ws.cell(row, 1).value for row in range(6, ws.max_row + 1)]


def test_months_after_the_as_of_date_are_blank_and_the_scans_read_no_as_of_date():
    wb = new_workbook(tracker(), streamed=False)
    for title in (layout.TEAM, "Anna"):
        ws = wb[title]
        for row in range(layout.TAB_FIRST_ROW, ws.max_row + 1):
            if ws.cell(row, 2).value != "Actual":
                continue
            for col in range(layout.TAB_FIRST_MONTH_COL, layout.TAB_YTD_COL):
                shown = ws.cell(row, col).value
                raw = ws.cell(row, col + layout.TAB_RAW_FIRST_COL - layout.TAB_FIRST_MONTH_COL)
                letter = ws.cell(row, col).column_letter
                assert shown == f'=IF({letter}$4>{layout.S_AS_OF},"",{raw.coordinate})'
                assert "IFS(" in raw.value or "IFERROR" in raw.value
                assert "Settings!" not in raw.value and "TODAY" not in raw.value.upper()
                assert ws.column_dimensions[raw.column_letter].hidden


def test_the_pacing_block_reads_the_tabs_own_cells():
    wb = new_workbook(tracker(), streamed=False)
    ws = wb[layout.TEAM]
    header = next(row for row in range(1, ws.max_row + 1)
                  if ws.cell(row, 4).value == "Expected to date")
    assert [ws.cell(header, col).value for col in range(3, 8)] == list(layout.PACING_HEADERS)
    rows = {ws.cell(row, 1).value: row for row in range(header + 1, header + 18)}
    deals = rows["Deals won"]
    texts = [ws.cell(deals, col).value for col in range(3, 8)]
    assert texts[0].startswith('=IF($P$') and "INDEX($C$" in texts[0]
    assert "DAY(Settings!$B$10)" in texts[1] and "DAY(EOMONTH(Settings!$B$10,0))" in texts[3]
    assert not any("IFS(" in text for text in texts)  # no data scanned again
    rate = [ws.cell(rows["Close rate"], col).value for col in range(3, 8)]
    assert "DAY(" not in rate[1] + rate[3]


def test_the_report_paces_the_as_of_month_and_leaves_later_months_blank():
    computed = Report(tracker())
    rows = {(row["rep"], row["kpi"], row["period"]): row for row in computed.rows("all")}
    feb = rows["Team", "deals_won", "2026-02"]
    assert (feb["target"], feb["actual"]) == (28.0, 1)
    assert (feb["expected"], feb["projected"], feb["pace"]) == (14.0, 2.0, 2 / 28)
    assert set(rows["Team", "deals_won", "2026-01"]) == set(rows["Team", "deals_won", "YTD"]) \
        == {"rep", "kpi", "period", "target", "actual", "attainment"}
    assert rows["Team", "deals_won", "2026-03"]["actual"] is None  # after 14 February
    assert rows["Anna", "sql_count", "2026-12"]["actual"] is None
    assert computed.actual("deals_won", "Team", "2026-03") is None
    assert to_csv(list(rows.values())).splitlines()[0].endswith(",".join(PACING_KEYS))
    assert "Pace" in to_table(list(rows.values())).splitlines()[0]
    assert "Pace" not in to_table(computed.rows("2026-01")).splitlines()[0]


def test_report_by_channel(tmp_path):
    path = tmp_path / "t.xlsx"
    new_workbook(tracker(), streamed=False).save(path)
    result = CliRunner().invoke(cli, ["report", str(path), "--by", "channel", "--period",
                                      "2026-02", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows = {row["channel"]: row for row in json.loads(result.stdout)}
    assert list(rows) == ["Events", "Google Ads", "LinkedIn", NO_CHANNEL]
    assert all(list(row) == list(CHANNEL_KEYS) for row in rows.values())
    google = rows["Google Ads"]  # "google ads" is the same channel, as COUNTIFS has it
    assert (google["spend"], google["leads"], google["cost_per_lead"], google["sqls"],
            google["lead_to_sql_rate"]) == (300, 2, 150.0, 1, 0.5)
    assert (rows[NO_CHANNEL]["spend"], rows[NO_CHANNEL]["leads"]) == (50, 1)
    assert rows["Events"]["cost_per_lead"] is None  # no leads in February
    table = CliRunner().invoke(cli, ["report", str(path), "--by", "channel"])
    assert table.exit_code == 0 and "Cost per lead" in table.stdout
    refused = CliRunner().invoke(cli, ["report", str(path), "--by", "channel", "--rep", "Anna"])
    assert refused.exit_code == 1 and "--rep" in refused.stderr

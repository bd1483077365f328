"""The Channels sheet's cost per lead and lead-to-SQL rate divide by the channel's Spend and
Leads cells above them, and Leads is counted once per month end with one date criterion, a
month being the difference of two running counts (issue 10/11: LibreOffice recalculation time
at 250k rows), with the numbers worked out by hand (blank where there are no leads)."""

import dataclasses
import datetime as dt
import re

import openpyxl
import pytest

from xlkpi.core import lang
from xlkpi.tracker import model as layout
from xlkpi.tracker.build import new_workbook
from xlkpi.tracker.model import DataSheet, Settings, Tracker

from . import libreoffice

FEB = dt.datetime(2026, 2, 3)


def tracker(language: str = "en") -> Tracker:
    # Leads: LeadID, Owner, LeadDate, SQLDate, Source; Spend: SpendDate, Spend, Channel
    leads = [["L1", "Anna", FEB, FEB, "Google Ads"], ["L2", "Anna", FEB, None, "google ads"],
             ["L3", "Anna", FEB, dt.datetime(2026, 3, 1), "Google Ads"],  # SQL next month
             ["L4", "Anna", FEB, FEB, None], ["L5", "Anna", dt.datetime(2026, 3, 2), None,
                                              "Events"]]
    spend = [[FEB, 300.0, "Google Ads"], [FEB, 50.0, None],
             [dt.datetime(2026, 1, 5), 7.5, "LinkedIn"]]
    settings = Settings(2026, 1, "EUR", ["Anna"], dt.date(2026, 3, 20))
    settings = dataclasses.replace(settings, language=language)
    return Tracker(settings, [], {
        layout.LEADS: DataSheet(list(layout.DATA_COLUMNS[layout.LEADS]), leads),
        layout.SPEND: DataSheet(list(layout.DATA_COLUMNS[layout.SPEND]), spend)})


def channels_sheet(wb, language: str = "en"):
    with lang.using(language):
        return wb[layout.title(layout.CHANNELS)]


@pytest.mark.parametrize("language, leads", [("en", "Leads"), ("ru", "'Лиды'")])
def test_the_ratios_divide_the_cells_above_them(language, leads):
    ws = channels_sheet(new_workbook(tracker(language), streamed=False), language)
    # Events 6-10, Google Ads 11-15: spend, leads, cost per lead, SQLs, rate
    assert ws["C13"].value == '=IFERROR(C11/C12,"")'
    assert ws["O13"].value == '=IFERROR(O11/O12,"")'
    # the rate's numerator: February's running count less January's (hidden T and S)
    assert ws["D15"].value == '=IFERROR((T15-S15)/D12,"")'
    assert ws["O15"].value == (
        '=IFERROR((SUMPRODUCT((C$4:N$4<=O$5)*(S15:AD15-R15:AC15)))/O12,"")')
    assert ws["R15"].value == (
        f'=COUNTIFS({leads}!$C:$C,"<"&$C$4,{leads}!$D:$D,">0",{leads}!$E:$E,$P$11)')
    assert ws["T15"].value == (
        f'=COUNTIFS({leads}!$C:$C,"<"&(D$5+1),{leads}!$D:$D,">0",{leads}!$E:$E,$P$11)')
    assert ws["D12"].value == "=T12-S12" and ws["C14"].value == "=S14-R14"


def test_leads_is_counted_once_per_month_end_with_one_date_criterion():
    ws = channels_sheet(new_workbook(tracker(), streamed=False))
    blocks = range(layout.TAB_FIRST_ROW, ws.max_row + 1, 5)
    assert [ws.cell(row, 1).value for row in blocks] == [
        "Events", "Google Ads", "LinkedIn", "(no channel)"]
    shown = range(layout.TAB_FIRST_MONTH_COL, layout.TAB_YTD_COL + 1)  # C..O
    running = range(layout.TAB_CRITERION_COL + 2, layout.TAB_CRITERION_COL + 15)  # R..AD
    assert all(ws.column_dimensions[openpyxl.utils.get_column_letter(col)].hidden
               for col in running)
    for first in blocks:
        rows = range(first, first + 5)
        for col in shown:  # Spend once, Leads never: the months are differences
            text = "".join(ws.cell(row, col).value for row in rows)
            assert len(re.findall(r"SUMIFS\(Spend!", text)) == 1
            assert text.count("IFS(") == 1
        for col in running:  # leads, SQLs, SQL'd leads: one date criterion each
            texts = [ws.cell(row, col).value for row in rows if ws.cell(row, col).value]
            assert len(texts) == 3 and all(text.startswith("=COUNTIFS(Leads!")
                                           and text.count("IFS(") == 1
                                           and '">="' not in text and text.count('"<"') == 1
                                           for text in texts)


@pytest.mark.libreoffice
def test_the_numbers_in_libreoffice(tmp_path):
    if libreoffice.soffice() is None:
        pytest.skip("LibreOffice is not installed")
    path = tmp_path / "channels.xlsx"
    new_workbook(tracker(), streamed=False).save(path)
    wb = openpyxl.load_workbook(libreoffice.recalculate(path, tmp_path / "out"), data_only=True)
    ws = channels_sheet(wb)

    def block(first: int, col: str) -> list:
        return [None if ws[f"{col}{row}"].value == "" else ws[f"{col}{row}"].value
                for row in range(first, first + 5)]

    # Google Ads, February: 300 spent, 3 leads (either spelling), SQLs dated in February 1
    # (L1), leads of February with an SQL date 2 (L1, L3)
    assert block(11, "D") == [300, 3, 100, 1, pytest.approx(2 / 3)]
    assert block(11, "E") == [0, 0, None, 1, None]  # March: no leads, no spend
    assert block(11, "O") == [300, 3, 100, 2, pytest.approx(2 / 3)]  # Jan-Mar
    assert block(6, "E") == [0, 1, 0, 0, 0]  # Events, March: a lead, nothing spent
    assert block(16, "C") == [7.5, 0, None, 0, None]  # LinkedIn, January: spend, no leads
    assert block(21, "D") == [50, 1, 50, 1, 1]  # no channel, February

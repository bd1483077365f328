"""The tracker workbook's contract: sheet names, data columns, and the model read and written.

The builder (``workbook.py``) writes a :class:`Tracker`; the reader (``reader.py``) reads one back.
Everything a person types lives in a Tracker (settings, targets, data rows, extra columns);
everything else in the workbook is generated from it and can be rebuilt at any time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from xlkpi.core.periods import Period

# Sheets a person types into; refresh keeps them as typed.
START, SETTINGS, TARGETS = "Start", "Settings", "Targets"
LEADS, SPEND, OPPORTUNITIES, EMAILS, CUSTOMERS = (
    "Leads", "Spend", "Opportunities", "Emails", "Customers")
DATA_SHEETS = (LEADS, SPEND, OPPORTUNITIES, EMAILS, CUSTOMERS)
# Generated sheets: refresh throws them away and writes them again.
TEAM, LEADERBOARD = "Team", "Leaderboard"
TEAM_NAME = "Team"  # the "who" of the team's rows in Targets and in reports

# The columns the tool knows in each data sheet, in order. Header names follow the Excel
# functions' arguments (Opportunities[CloseDate] is the close_dates argument). A person may add
# columns to the right; they are kept. StageClass is generated: Won, Lost or Open per row.
DATA_COLUMNS: dict[str, tuple[str, ...]] = {
    LEADS: ("Lead", "Owner", "LeadDate", "SQLDate", "Source"),
    SPEND: ("SpendDate", "Spend", "Channel"),
    OPPORTUNITIES: ("Opportunity", "Owner", "CreatedDate", "CloseDate", "Stage", "Amount"),
    EMAILS: ("SendDate", "Owner", "Sent", "Bounced", "Opened", "Replied", "Positive"),
    CUSTOMERS: ("Customer", "Owner", "StartDate", "EndDate"),
}
DATE_COLUMNS = frozenset({"LeadDate", "SQLDate", "SpendDate", "CreatedDate", "CloseDate",
                          "SendDate", "StartDate", "EndDate"})
NUMBER_COLUMNS = frozenset({"Spend", "Amount", "Sent", "Bounced", "Opened", "Replied",
                            "Positive"})
STAGE_CLASS_COLUMN = "StageClass"


@dataclass
class Settings:
    year: int
    fiscal_start: int = 1  # month (1-12) in which the fiscal year starts, in ``year``
    currency: str = "USD"
    reps: list[str] = field(default_factory=list)
    as_of: dt.date | None = None  # year to date runs through this date's month; None: today

    def months(self) -> list[tuple[int, int]]:
        """The twelve (year, month) pairs of the fiscal year, in order."""
        first = self.year * 12 + self.fiscal_start - 1
        return [((first + i) // 12, (first + i) % 12 + 1) for i in range(12)]

    def month_periods(self) -> list[Period]:
        return [Period.month(year, month) for year, month in self.months()]

    def months_to_date(self, today: dt.date) -> int:
        """Fiscal months from the first through the as-of date's month (today's when blank),
        kept within 1..12: before the year starts the YTD column shows its first month."""
        as_of = self.as_of or today
        elapsed = (as_of.year * 12 + as_of.month) - (self.year * 12 + self.fiscal_start) + 1
        return min(max(elapsed, 1), 12)

    def ytd_period(self, today: dt.date) -> Period:
        return Period.months(self.year, self.fiscal_start, self.months_to_date(today),
                             label="YTD")


@dataclass
class TargetRow:
    who: str  # TEAM_NAME or a rep's name
    kpi_id: str
    months: list[object]  # 12 cells as typed (None where blank), in fiscal order
    extra: list[object] = field(default_factory=list)  # cells a person typed right of the months


@dataclass
class DataSheet:
    header: list[str]  # DATA_COLUMNS[name] first, then any columns a person added
    rows: list[list[object]]  # cell values as typed, one list per row, as long as the header


@dataclass
class Tracker:
    settings: Settings
    targets: list[TargetRow]
    data: dict[str, DataSheet]

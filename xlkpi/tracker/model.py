"""The tracker workbook's contract: sheet names, cell addresses, data columns, and the model.

The builder (``build.py`` and the sheet modules it calls) writes a :class:`Tracker`; the reader
(``reader.py``) reads one back. Both take every sheet name and cell address from here.
Everything a person types lives in a Tracker (settings, targets, data rows, extra columns);
everything else in the workbook is generated from it and can be rebuilt at any time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from xlkpi.core import lang
from xlkpi.core.errors import InputError
from xlkpi.core.kpis import KPIS
from xlkpi.core.periods import Period


def title(sheet_id: str) -> str:
    """The sheet's title in the language in force (core.lang); the ids below are the English
    titles, and the keys of Tracker.data."""
    return lang.active().sheet(sheet_id)


_PLAIN_TITLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*")  # "AB12", "R1C1": quoted


def sheet_ref(sheet_id: str) -> str:
    """The sheet's title as a formula names it: bare when a plain ASCII word (the English
    titles, so English formulas read as they always have), else quoted ('Сделки'!)."""
    shown = title(sheet_id)
    if _PLAIN_TITLE.fullmatch(shown) and not _CELL_LIKE.fullmatch(shown):
        return shown
    return "'" + shown.replace("'", "''") + "'"


def column_title(column: str) -> str:
    """The header of a known data column (DATA_COLUMNS, StageClass) in the language in force."""
    return lang.text(f"columns.{column}")


def kpi_name(kpi_id: str) -> str:
    """A KPI's name in the language in force (Targets column B, the tabs' column A)."""
    return lang.active().kpi_name(kpi_id)


def team_name() -> str:
    """The "who" of the team's rows as the Targets sheet shows it ("Team", "Команда")."""
    return lang.text("targets.team")


def is_team(who: object) -> bool:
    """Whether a Targets "who" is the team's: its word in the language in force, or English."""
    return isinstance(who, str) and who.strip().lower() in {TEAM_NAME.lower(),
                                                             team_name().lower()}


def kpi_by_name(name: object):
    """The KPI a Targets or tab row names: in the language in force, or in English; None when
    ``name`` names none (a row of a person's own)."""
    if not isinstance(name, str):
        return None
    language = lang.active()
    known = _KPIS_BY_NAME.get(language.code)
    if known is None or known[0] is not language:
        known = _KPIS_BY_NAME[language.code] = (language, _kpis_by_name(language))
    return known[1].get(name.strip().lower())


# Language code → (the Language, its lower-case KPI names → KPI): a Targets sheet asks once per
# row, and comparing 16 KPIs' names each time was a tenth of reading a large tracker's targets.
_KPIS_BY_NAME: dict[str, tuple[lang.Language, dict]] = {}


def _kpis_by_name(language: lang.Language) -> dict:
    """Lower-case KPI name (English and ``language``'s) → the KPI, the first in catalogue
    order where two share a name."""
    found: dict = {}
    for kpi in KPIS:
        found.setdefault(kpi.name.lower(), kpi)
        found.setdefault(language.kpi_name(kpi.id).lower(), kpi)
    return found


def settings_label(key: str) -> str:
    """A Settings label (SETTINGS_ROWS keys, "language", "reps") in the language in force."""
    return lang.text(f"settings.{key}")


class SheetAddress(str):
    """A reference to cells of a tracker sheet, e.g. Settings!$B$4: formatted (f-strings, str,
    "%s") with the sheet's title in the language in force, so that formula text written as
    f"={S_AS_OF}" follows the tracker's language; its value (==, +) is the English form."""

    def __new__(cls, sheet_id: str, address: str):
        made = super().__new__(cls, f"{sheet_id}!{address}")
        made.sheet_id, made.address = sheet_id, address
        return made

    def __str__(self) -> str:
        return f"{sheet_ref(self.sheet_id)}!{self.address}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


# Sheets a person types into; refresh keeps them as typed.
START, SETTINGS, TARGETS = "Start", "Settings", "Targets"
LEADS, SPEND, OPPORTUNITIES, EMAILS, CUSTOMERS = (
    "Leads", "Spend", "Opportunities", "Emails", "Customers")
DATA_SHEETS = (LEADS, SPEND, OPPORTUNITIES, EMAILS, CUSTOMERS)
# Generated sheets: refresh throws them away and writes them again.
TEAM, LEADERBOARD, CHANNELS = "Team", "Leaderboard", "Channels"
DASHBOARD, REP_VIEW = "This month", "Rep view"  # generated too: the month at a glance, any rep
TEAM_NAME = "Team"  # the "who" of the team's rows in Targets and in reports


def data_sheet_titles(*more: str) -> list[str]:
    """The data sheets' titles (and ``more`` sheets') in every language: for a thread, which
    starts with no language in force (a ContextVar), reading before the language is known."""
    return list(dict.fromkeys(lang.load(code).sheet(name) for code in lang.codes()
                              for name in (*DATA_SHEETS, *more)))


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
# The data sheets with an Owner column: the rep tabs read each through the rep's owner block.
OWNED_SHEETS = tuple(name for name in DATA_SHEETS if "Owner" in DATA_COLUMNS[name])

# The very hidden sheet listing what xlkpi generated: marker, format version, then one row per
# generated sheet (Sheet | Kind | Rep) below the header row.
META = "_xlkpi"
MARKER = "xlkpi"
FORMAT_VERSION = 1
META_HEADER_ROW = 6
KIND_START, KIND_TEAM, KIND_REP, KIND_LEADERBOARD = "start", "team", "rep", "leaderboard"
KIND_CHANNELS = "channels"
KIND_DASHBOARD, KIND_REP_VIEW = "dashboard", "repview"

# Stages (typed, kept by refresh; tracker.stages): stage name | class typed from row 2, hidden
# columns C (the name's match key) and D (the class the formulas use) calculated beside them.
STAGES = "Stages"
STAGES_FIRST_ROW = 2
STAGES_KEY_RANGE, STAGES_CLASS_RANGE = SheetAddress(STAGES, "$C:$C"), SheetAddress(STAGES, "$D:$D")
# Settings: each rep's aliases (other spellings, e-mails), ";"-separated, in column B.
SETTINGS_ALIASES_COL = 2

FIXED_SHEETS = (START, SETTINGS, TARGETS, TEAM, LEADERBOARD, CHANNELS, *DATA_SHEETS, META, STAGES,
                DASHBOARD, REP_VIEW)

# Settings: label in column A, the typed value in column B.
SETTINGS_ROWS = {"year": 4, "fiscal_start": 5, "currency": 6, "as_of": 7}
SETTINGS_LABELS = {"year": "Year", "fiscal_start": "Fiscal year starts in month",
                   "currency": "Currency", "as_of": "Year to date through"}
# The language row: a free row between the typed block and the calculated one, so no address
# moves; a tracker without it (made before languages) reads as English.
SETTINGS_LANGUAGE_ROW = 8
SETTINGS_REPS_HEADER_ROW = 14  # "Reps" in A14, one name per row below it in column A
SETTINGS_REPS_LABEL = "Reps"
S_YEAR, S_FISCAL_START, S_AS_OF_TYPED = (SheetAddress(SETTINGS, address)
                                         for address in ("$B$4", "$B$5", "$B$7"))
S_AS_OF, S_MONTHS_TO_DATE, S_FIRST_DAY = (SheetAddress(SETTINGS, address)
                                          for address in ("$B$10", "$B$11", "$B$12"))

# Targets: Who | KPI | 12 fiscal months | Notes and anything else a person adds.
TARGETS_HEADER_ROW = 4
TARGETS_FIRST_ROW = 5
TARGETS_WHO_COL, TARGETS_KPI_COL, TARGETS_FIRST_MONTH_COL = 1, 2, 3
TARGETS_EXTRA_COL = TARGETS_FIRST_MONTH_COL + 12  # O: "Notes"
TARGETS_YEAR_COL = TARGETS_EXTRA_COL + 1  # P: "Year", a typed figure spread to blank months
# Generated, hidden, rewritten by refresh (see settings.plan_targets): AN..AY the planned months,
# AZ 1 on a current rep's row of a count/amount, BA..BL last year's Team actuals (Team rows),
# BM 1 when those make a full year (the shape), BN 1 on the Team row of a count/amount.
TARGETS_PLAN_COL = 40
TARGETS_REP_FLAG_COL = TARGETS_PLAN_COL + 12
TARGETS_SHAPE_COL = TARGETS_REP_FLAG_COL + 1
TARGETS_SHAPE_OK_COL = TARGETS_SHAPE_COL + 12
TARGETS_TEAM_FLAG_COL = TARGETS_SHAPE_OK_COL + 1

# Team and rep tabs: three rows per KPI (ROW_KINDS) from TAB_FIRST_ROW.
TAB_WHO_ROW, TAB_NOTE_ROW, TAB_HEADER_ROW, TAB_THROUGH_ROW, TAB_FIRST_ROW = 2, 3, 4, 5, 6
TAB_FIRST_MONTH_COL = 3  # C..N: the twelve fiscal months
TAB_YTD_COL = TAB_FIRST_MONTH_COL + 12  # O
TAB_CRITERION_COL = TAB_YTD_COL + 1  # P (hidden): "=name" with wildcards escaped
TAB_MATCH_ROW = TAB_NOTE_ROW  # P3 (hidden): the name with wildcards escaped, for MATCH
# Rep tabs, hidden Q:U, one row per data sheet with an Owner column from row 2: the sheet, the
# number of rows owned by the rep, the first and last row of their block, and whether those
# rows are all theirs (the block is contiguous). See tabs.owner_blocks.
TAB_BLOCK_FIRST_ROW = TAB_WHO_ROW
TAB_BLOCK_SHEET_COL, TAB_BLOCK_COUNT_COL, TAB_BLOCK_FIRST_COL, TAB_BLOCK_LAST_COL, \
    TAB_BLOCK_OK_COL = range(TAB_CRITERION_COL + 1, TAB_CRITERION_COL + 6)  # Q R S T U
# Per KPI row (hidden, same row as the Actual), for a KPI whose recipe uses another KPI's actual
# in the period before: that actual before the first month (P) and before the year to date (Q).
TAB_PREVIOUS_FIRST_COL, TAB_PREVIOUS_YTD_COL = TAB_CRITERION_COL, TAB_CRITERION_COL + 1
# Finding the tab's Targets row (hidden): P4 the first Targets row of the tab's who; on each
# Target row, P the Targets row of (who, KPI) when there is exactly one, else 0; Q how many
# rows there are; R the candidate row checked in P. See formulas.target_formula.
TAB_TARGETS_WHO_ROW = TAB_HEADER_ROW  # P4
TAB_TARGET_ROW_COL, TAB_TARGET_COUNT_COL, TAB_TARGET_CANDIDATE_COL = range(
    TAB_CRITERION_COL, TAB_CRITERION_COL + 3)  # P Q R
# Per month (hidden W:AH, one column per month, on the Actual row): the actual over the data, which
# the visible Actual cell shows through the as-of date and leaves blank after it. The scans read
# no as-of date, so a blank as-of date (TODAY) does not make them recalculate on every change.
TAB_RAW_FIRST_COL = TAB_BLOCK_OK_COL + 2  # W
# The pacing block under the KPI rows: its title row holds, hidden in P, the as-of month's
# position among the twelve (blank when outside the fiscal year).
PACING_HEADERS = ("Target", "Expected to date", "Actual to date", "Projected month end", "Pace")
ROW_KINDS = ("Target", "Actual", "Attainment")
YTD_HEADER = "Year to date"

REP_KPIS = tuple(kpi for kpi in KPIS if not kpi.team_only)  # the KPIs of a rep tab

# Leaderboard: the ranked table from LEADERBOARD_FIRST_ROW, the per-rep table under its chart.
LEADERBOARD_HEADER_ROW = 4
LEADERBOARD_FIRST_ROW = 5
LEADERBOARD_COLUMNS = ("Rank", "Rep", "Won revenue YTD", "Won revenue target YTD",
                       "Won revenue attainment", "Average attainment (capped 150 %)",
                       "KPIs with a target")
LEADERBOARD_CAP = 1.5
# Rows the Leaderboard and the dashboard keep for reps typed into Settings after the last refresh.
SPARE_REP_ROWS = 10


@dataclass
class Settings:
    year: int
    fiscal_start: int = 1  # month (1-12) in which the fiscal year starts, in ``year``
    currency: str = "USD"
    reps: list[str] = field(default_factory=list)
    as_of: dt.date | None = None  # year to date runs through this date's month; None: today
    aliases: dict[str, list[str]] = field(default_factory=dict)  # rep → other spellings
    language: str = "en"  # a code of core.lang: the words the tracker is written in

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
    row: int | None = field(default=None, compare=False)  # its Targets row, when read from one


@dataclass
class DataSheet:
    header: list[str]  # DATA_COLUMNS[name] first, then any columns a person added
    rows: list[list[object]]  # cell values as typed, one list per row, as long as the header


def cells_at(rows: Sequence[Sequence[object]], index: int) -> list[object]:
    """Every row's cell at ``index``: a data column; None where a row is shorter."""
    try:
        return list(map(itemgetter(index), rows))
    except IndexError:  # a short row
        return [row[index] if index < len(row) else None for row in rows]


@dataclass
class Tracker:
    settings: Settings
    targets: list[TargetRow]
    data: dict[str, DataSheet]
    stages: list[tuple[object, object]] | None = None  # the Stages sheet's rows; None: none


# The years a tracker may follow: its fiscal year and the twelve months before it (the base of
# revenue growth) within Excel's calendar, 1900-01-01 to 9999-12-31, with the first day after
# the fiscal year (where its formulas end) a date too.
FIRST_YEAR, LAST_YEAR = 1901, 9998


def check_fiscal_year(year: int, fiscal_start: int = 1, what: str = "year") -> None:
    """InputError for a year whose fiscal year or the year before it leaves Excel's calendar."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InputError(lang.text("messages.errors.reps.year_range", what=what, year=year,
                                   first=FIRST_YEAR, last=LAST_YEAR))


def check_reps(reps: Sequence[str], other_sheets: int = 0) -> None:
    """InputError for a rep list the tracker cannot hold: a blank name, "Team", a name listed
    twice (owners match without regard to case), one longer than 255 characters, one that the
    workbook's COUNTIFS would read as a number, a date or TRUE/FALSE (rep_name_problem), or
    more reps than sheets a tracker may have, with ``other_sheets`` sheets of a person's own."""
    from xlkpi.xlsx import parts

    room = parts.MAX_SHEETS - len(FIXED_SHEETS) - other_sheets
    if len(reps) > room:
        def counted(key: str, number: int) -> str:
            return lang.plural(number, f"messages.errors.reps.{key}").format(
                count=lang.count(number))

        said = {"count": counted("reps", len(reps)), "limit": lang.count(parts.MAX_SHEETS),
                "sheets": counted("sheets", len(reps) + len(FIXED_SHEETS) + other_sheets),
                "room": lang.count(max(room, 0))}
        raise InputError(lang.text("messages.errors.reps.too_many_own",
                                   own=counted("sheets", other_sheets), **said) if other_sheets
                         else lang.text("messages.errors.reps.too_many", **said))
    seen: dict[str, str] = {}
    for rep in reps:
        if not isinstance(rep, str) or not rep.strip():
            raise InputError(lang.text("messages.errors.reps.blank"))
        if rep.strip().lower() in {TEAM_NAME.lower(), team_name().lower()}:
            raise InputError(lang.text("messages.errors.reps.team", rep=repr(rep)))
        if len(rep) > 255:
            raise InputError(lang.text("messages.errors.reps.too_long", rep=repr(rep[:40])))
        problem = rep_name_problem(rep)
        if problem:
            raise InputError(lang.text("messages.errors.reps.problem", rep=repr(rep),
                                       problem=problem))
        key = rep.lower()
        if key in seen:
            raise InputError(lang.text("messages.errors.reps.same", first=repr(seen[key]),
                                       second=repr(rep)))
        seen[key] = rep


# What a COUNTIFS criterion "=name" reads as a value rather than text (Excel and LibreOffice,
# in any common locale): then it matches number, date or logical Owner cells that the report,
# which compares names as text, does not ("007" matches 7). Digits with number and date
# punctuation ("1,000", "50%", "2026-10-01", "10:30", "(5)", "1 1/2"), an exponent ("1e3"),
# month names or am/pm with digits ("Oct 1", "1-Oct-2026", "10 am"), TRUE and FALSE. A whole
# number written as Excel writes it ("7", "-3") is allowed: it matches 7 and "7" in both.
# Wildcards (* ? ~) are escaped and a leading = < > is matched as text (formulas.owner_criterion).
_NUMBER_CHARS = r"\d\s.,:/\-%()'\u00a0\u2009\u202f$\u20ac\u00a3\u00a5\u20bd\u20b9\u20a9\u00a2"
_NUMBER_LIKE = re.compile(f"[+]?[{_NUMBER_CHARS}]*\\d[{_NUMBER_CHARS}]*")  # + leads only
_EXPONENT = re.compile(r"[-+]?(?:\d+[.,]?\d*|[.,]\d+)e[-+]?\d+\s*%?", re.IGNORECASE)
_MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
           "dec", "january", "february", "march", "april", "june", "july", "august",
           "september", "october", "november", "december"}
_CLOCK = {"am", "pm", "a", "p"}
_DATE_TOKEN = re.compile(r"\d+(?:am|pm|a|p)?|[^\W\d_]+", re.IGNORECASE)


def rep_name_problem(name: str) -> str | None:
    """Why a COUNTIFS criterion would not read ``name`` as the text it is, or None."""
    text = name.strip()
    if text.upper() in ("TRUE", "FALSE"):
        return lang.text("messages.errors.reps.logical", value=text.upper(), name=text)
    whole = re.fullmatch(r"-?[1-9]\d{0,14}|0", name)
    if whole:
        return None
    words = _DATE_TOKEN.findall(text)
    separators = re.sub(r"[\d\w]", "", text, flags=re.UNICODE)
    datelike = (words and any(word[0].isdigit() for word in words)
                and all(word[0].isdigit() or word.lower() in _MONTHS | _CLOCK for word in words)
                and not re.search(r"[^\s.,:/\-']", separators))
    if _NUMBER_LIKE.fullmatch(text) or _EXPONENT.fullmatch(text) or datelike:
        return lang.text("messages.errors.reps.number_like", name=text)
    return None

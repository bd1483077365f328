"""Goal vs actual from a Tracker: the numbers of ``xlkpi report``.

Pure: no click, no openpyxl. The actuals come from the data rows (never from cached formula
values), each by its KPI's recipe in the catalogue (:mod:`xlkpi.core.recipes`, evaluated by
:class:`_Recipes`: no code here names a KPI), and are what :mod:`xlkpi.core.engine` (the Excel
functions) gives over the same columns: the same counts, None where it divides by zero, whole
numbers as int, the same sums (added in date order rather than sheet order: a sum of cents may
differ in its last binary digit). tests/test_report_engine.py holds the two equal on random
trackers; the rules for x/0 and for whole numbers are the engine's own functions.

Speed: a report is (1 + reps) × 14 KPIs × up to 13 periods, thousands of actuals over hundreds of
thousands of rows, so the work is split in two:

- once per report, each data column is converted (dates to day serials, numbers to floats,
  stages to won/lost/open, owners to their comparison key), the rows are grouped by owner, and
  for each (date column, owner, stage) the rows are sorted by that date: a :class:`Dated`;
- per actual, the rows dated in the period are then a slice of a Dated, found by binary search:
  a count is the slice's length, a sum the slice's sum (numpy, in C). So an actual costs a few
  microseconds plus its own rows, and a report grows linearly with the rows.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator

import numpy as np

from xlkpi.core import lang, recipes
from xlkpi.core.cells import owner_key
from xlkpi.core.engine import ratio, whole  # the engine's rules: None for x/0, 12 not 12.0
from xlkpi.core.errors import InputError
from xlkpi.core.goals import (
    attainment,
    mismatches,
    plan_kpi,
    plan_months,
    sums,
    target_number,
    year_shape,
    ytd_target,
)
from xlkpi.core.kpis import KPI_BY_ID, KPIS, Kpi
from xlkpi.core.pacing import expected, month_days, pace, projected
from xlkpi.core.periods import (
    Period,
    date_to_serial,
    parse_period,
    serial_to_date,
)
from xlkpi.core.recipes import (
    Actual,
    Before,
    Complement,
    Count,
    Minus,
    Plus,
    Ratio,
    Retained,
    Term,
    Total,
)
from xlkpi.core.stages import StageMap
from xlkpi.report_output import (  # noqa: F401  (the report's formats: xlkpi.report.to_json …)
    CHANNEL_KEYS,
    KEYS,
    PACING_KEYS,
    channels_csv,
    channels_json,
    channels_table,
    format_value,
    to_csv,
    to_json,
    to_table,
)
from xlkpi.slices import FIRST_DATA_ROW, LOST, TEAM, WON, Dated, Sheet, Windows  # noqa: F401
from xlkpi.tracker import model as layout
from xlkpi.tracker.channels import CHANNEL_COLUMNS, MEASURES, channel_names
from xlkpi.tracker.model import DataSheet, Tracker
from xlkpi.tracker.prefetch import ReadAhead
from xlkpi.tracker.problems import CellProblem, text_targets
from xlkpi.tracker.values import read_checked

YTD = "YTD"
ALL = "all"


_QUARTER = re.compile(r"^(\d{4})-?q([1-4])$", re.IGNORECASE)


class _Quarter(Period):
    """A fiscal quarter: three months from any month; the period before is the three months
    before it (Period.previous knows only calendar quarters)."""

    def previous(self) -> Period:
        first = serial_to_date(self.start)
        before = first.year * 12 + first.month - 1 - 3
        return Period.months(before // 12, before % 12 + 1, 3)


def _number(value: object) -> bool:
    return target_number(value) is not None


def _year_of(row: layout.TargetRow) -> object:
    year = layout.TARGETS_YEAR_COL - layout.TARGETS_EXTRA_COL
    return row.extra[year] if len(row.extra) > year else None


class Report:
    """Targets and actuals of one tracker; ``today`` fixes the year to date when the tracker's
    Settings have no as-of date."""

    def __init__(self, tracker: Tracker, today: dt.date | None = None,
                 problems: list[CellProblem] | None = None):
        self.tracker = tracker
        self._file_problems = list(problems or [])  # found in the file (values.read_checked)
        self.settings = tracker.settings
        self.today = today or dt.date.today()
        self.months = self.settings.month_periods()
        self.months_to_date = self.settings.months_to_date(self.today)
        self.ytd = self.settings.ytd_period(self.today)
        self.as_of = self.settings.as_of or self.today
        self._as_of_month = Period.month(self.as_of.year, self.as_of.month)
        self._month_index = {month: index for index, month in enumerate(self.months)}
        stages = None if tracker.stages is None else StageMap(tracker.stages)
        self._sheets = {name: Sheet(name, tracker.data.get(name), stages)
                        for name in layout.DATA_SHEETS}
        self._sheets[layout.OPPORTUNITIES].unclassified = [
            row for problem in self._file_problems if problem.kind == "no stage class"
            for row in problem.rows]
        self.reps = list(dict.fromkeys(rep for rep in self.settings.reps
                                       if owner_key(rep) is not None))
        self._targets: dict[tuple[str | None, str], layout.TargetRow] = {}
        for row in tracker.targets:
            self._targets.setdefault((self._who_key(row.who), row.kpi_id), row)
        self._planned: dict[str, dict[str | None, list[float | None]]] = {}

    # --- who and when ------------------------------------------------------------------------

    @staticmethod
    def _who_key(who: object) -> str | None:
        key = owner_key(who)
        return TEAM if key is None or key == layout.TEAM_NAME.lower() else key

    def rep_name(self, rep: str) -> str:
        """The Team or a rep as spelled in Settings; an InputError for anyone else."""
        key = self._who_key(rep)
        if key is TEAM:
            return layout.TEAM_NAME
        for name in self.reps:
            if owner_key(name) == key:
                return name
        known = ", ".join(self.reps) or lang.text("report.errors.no_reps_yet")
        raise InputError(lang.text("report.errors.rep_unknown", rep=repr(rep),
                                   team=layout.TEAM_NAME, known=known))

    def period(self, period: object) -> Period:
        """A Period from "YTD", a fiscal quarter such as "2026-Q4" (see fiscal_quarter), a
        month such as "2026-10" (or anything else the functions take)."""
        if isinstance(period, str) and period.strip().upper() == YTD:
            return self.ytd
        if isinstance(period, str) and (match := _QUARTER.match(period.strip())):
            return self.fiscal_quarter(int(match[1]), int(match[2]))
        parsed = parse_period(period)
        if parsed is None:
            raise InputError(lang.text("report.errors.period_bad"))
        return parsed

    def fiscal_quarter(self, year: int, quarter: int) -> Period:
        """Quarter ``quarter`` (1-4) of the fiscal year labelled ``year``, the year in which it
        starts, as Settings' year labels the tracker's: with the fiscal year starting in April,
        "2026-Q1" is April-June 2026 and "2026-Q4" January-March 2027. With a calendar fiscal
        year these are the calendar quarters the Excel functions take."""
        first = year * 12 + self.settings.fiscal_start - 1 + 3 * (quarter - 1)
        months = Period.months(first // 12, first % 12 + 1, 3)
        return _Quarter(months.start, months.end, f"{year:04d}-Q{quarter}", "quarter")

    def report_periods(self, period: str | None = None) -> list[Period]:
        """What a report covers: by default the months of the fiscal year through the as-of
        month plus the year to date; "all" every month plus YTD; "YTD"; one month; or one
        quarter of the fiscal year ("2026-Q4", see fiscal_quarter)."""
        first, last = self.months[0].label, self.months[-1].label
        if period is None or not str(period).strip():
            return [*self.months[:self.months_to_date], self.ytd]
        text = str(period).strip()
        if text.lower() == ALL:
            return [*self.months, self.ytd]
        if text.upper() == YTD:
            return [self.ytd]
        if match := _QUARTER.match(text):
            if int(match[1]) == self.settings.year:
                return [self.fiscal_quarter(self.settings.year, int(match[2]))]
            raise InputError(lang.text("report.errors.period_not_quarter", text=repr(text),
                                       year=self.settings.year, first=first, last=last))
        try:
            parsed = parse_period(text)
        except InputError:
            parsed = None
        for month in self.months:
            if parsed is not None and parsed == month:
                return [month]
        raise InputError(lang.text("report.errors.period_not_month", text=repr(text),
                                   first=first, last=last, example=self.months[-1].label,
                                   year=self.settings.year))

    def problems(self) -> list[CellProblem]:
        """Every cell the report leaves out, as the workbook does, because of its form (see
        xlkpi.tracker.problems): formulas without a stored result (given), then dates and
        numbers typed as text in the data sheets, then targets typed as text."""
        found = list(self._file_problems)
        for sheet in self._sheets.values():
            for column in layout.DATA_COLUMNS[sheet.name]:
                if column in layout.DATE_COLUMNS or column in layout.NUMBER_COLUMNS:
                    sheet.column(column)
            found += sheet.problems
        return found + text_targets(self.tracker)

    # --- numbers -----------------------------------------------------------------------------

    def target(self, kpi_id: str, who: str, period: object) -> float | None:
        """The typed target of a month; the year-to-date target by layout.ytd_target."""
        kpi = _kpi(kpi_id)
        key = self._who_key(who)
        return self._target(kpi, self._targets.get((key, kpi.id)), self.period(period),
                            team=key is TEAM)

    def _target(self, kpi: Kpi, row: layout.TargetRow | None, window: Period,
                team: bool = False) -> float | None:
        """A month's typed target; over the year to date or a fiscal quarter, the months'
        targets by the KPI's year-to-date rule (goals.ytd_target)."""
        months = self.planned(kpi).get(TEAM if row is None else self._who_key(row.who))
        if months is None or (row is None and not team):
            return None
        if window == self.ytd:
            return ytd_target(kpi, months[:self.months_to_date])
        if isinstance(window, _Quarter):
            first = next((index for month, index in self._month_index.items()
                          if month.start == window.start), None)
            return None if first is None else ytd_target(kpi, months[first:first + 3])
        index = self._month_index.get(window)
        return None if index is None else months[index]

    def planned(self, kpi: Kpi) -> dict[str | None, list[float | None]]:
        """Every Targets row of ``kpi`` as the tabs use it (goals.plan_kpi): typed months,
        Year figures spread, the Team's blank counts and amounts the reps' sum."""
        if kpi.id not in self._planned:
            rows = {who: (row.months, _year_of(row))
                    for (who, kpi_id), row in self._targets.items() if kpi_id == kpi.id}
            self._planned[kpi.id] = plan_kpi(kpi, rows, TEAM,
                                             [owner_key(rep) for rep in self.reps],
                                             self._shape(kpi, rows))
        return self._planned[kpi.id]

    def _shape(self, kpi: Kpi, rows: dict) -> list[float] | None:
        """goals.year_shape of the Team's actuals in the previous fiscal year's months; only
        looked for where a Year figure of a count or amount needs it."""
        if not sums(kpi) or not any(_number(year) for _months, year in rows.values()):
            return None
        before = [Period.month(y - 1, m) for y, m in self.settings.months()]
        return year_shape(_Recipes(self._sheets).actuals(kpi, TEAM, Windows(before)))

    def target_mismatches(self, limit: int = 10) -> list[str]:
        """One line per (KPI, month) where a Team target differs from the reps' sum (the red
        Team cells of Targets), at most ``limit`` and a line saying how many more."""
        lines = []
        for kpi in KPIS:
            row = self._targets.get((TEAM, kpi.id))
            if row is None or not sums(kpi):
                continue
            planned = self.planned(kpi)
            reps = [planned[key] for key in map(owner_key, self.reps) if key in planned]
            shape = self._shape(kpi, {TEAM: (row.months, _year_of(row))})
            own = plan_months(kpi, row.months, _year_of(row), shape)
            for index, target, total in mismatches(kpi, own, reps):
                lines.append(lang.text("report.errors.mismatch", team=layout.TEAM_NAME,
                                       kpi=lang.active().texts.get(f"kpis.{kpi.id}.name",
                                                                   kpi.name),
                                       month=self.months[index].label, target=f"{target:g}",
                                       total=f"{total:g}"))
        if len(lines) > limit:
            lines = [*lines[:limit], lang.text("report.errors.mismatch_more",
                                               count=len(lines) - limit, team=layout.TEAM_NAME)]
        return lines

    def actual(self, kpi_id: str, who: str, period: object) -> int | float | None:
        """The KPI over the rows of ``who`` (Team: all rows; a rep: rows whose Owner is that
        name, case-insensitively) in ``period``; None where the definition divides by zero, and
        for a month of the year after the as-of month (no actual yet)."""
        kpi = _kpi(kpi_id)
        key = self._who_key(who)
        if kpi.team_only and key is not TEAM:
            raise InputError(lang.text("report.errors.team_only", kpi=kpi.id,
                                       team=layout.TEAM_NAME))
        window = self.period(period)
        if self.after_as_of(window):  # no actual yet, as on the tabs
            return None
        return _Recipes(self._sheets).actuals(kpi, key, Windows([window]))[0]

    def rows(self, period: str | None = None, rep: str | None = None) -> list[dict]:
        """One dict per (who, KPI, period) with the keys of KEYS; Team first, then the reps in
        Settings order; KPIs in catalogue order; team-only KPIs for the Team only."""
        who_list = [self.rep_name(rep)] if rep else [layout.TEAM_NAME, *self.reps]
        periods = self.report_periods(period)
        windows = Windows(periods)
        evaluation = _Recipes(self._sheets)
        out = []
        for who in who_list:
            key = self._who_key(who)
            for kpi in KPIS:
                if kpi.team_only and key is not TEAM:
                    continue
                row = self._targets.get((key, kpi.id))
                actuals = evaluation.actuals(kpi, key, windows)
                for window, actual in zip(periods, actuals, strict=True):
                    target = self._target(kpi, row, window, team=key is TEAM)
                    if self.after_as_of(window):
                        actual = None
                    line = {"rep": who, "kpi": kpi.id, "period": window.label,
                            "target": target, "actual": actual,
                            "attainment": attainment(actual, target, kpi.direction)}
                    if self.is_as_of_month(window):
                        line.update(self.pacing(kpi, target, actual))
                    out.append(line)
        return out

    def channel_rows(self, period: str | None = None) -> list[dict]:
        """`report --by channel`: per channel (channels.channel_names) and period, the Channels
        sheet's measures (keys CHANNEL_KEYS): the recipes evaluated over only the Spend and
        Leads rows whose Channel or Source is that channel (blank for "(no channel)")."""
        periods = self.report_periods(period)
        out = []
        for channel in channel_names(self.tracker):
            key = owner_key(channel)
            sheets = {name: Sheet(name, _channel_rows(self.tracker.data.get(name), column,
                                                       key))
                      for name, column in CHANNEL_COLUMNS.items()}
            sheets.update({name: Sheet(name, None) for name in layout.DATA_SHEETS
                           if name not in sheets})
            evaluation, windows = _Recipes(sheets), Windows(periods)
            values = []
            for measure in MEASURES:
                found = evaluation.evaluate(measure.recipe, TEAM, windows)
                values.append(list(map(whole, found)) if _additive(measure.recipe) else found)
            for index, window in enumerate(periods):
                out.append(dict(zip(CHANNEL_KEYS, (
                    lang.text("channels.no_channel") if channel is None else channel,
                    window.label,
                    *(column[index] for column in values)), strict=True)))
        return out

    # --- the as-of date: months after it, pacing ---------------------------------------------

    def after_as_of(self, window: Period) -> bool:
        """Whether ``window`` is a month of the year after the as-of month: no actual yet
        (blank, not 0), as on the tabs."""
        return window in self._month_index and window.start > date_to_serial(self.as_of)

    def is_as_of_month(self, window: Period) -> bool:
        return window in self._month_index and window == self._as_of_month

    def pacing(self, kpi: Kpi, target: float | None, actual: object) -> dict:
        """Expected to date, projected month end and pace of the as-of month (core.pacing)."""
        elapsed, days = month_days(self.as_of)
        return {"expected": expected(kpi, target, elapsed, days),
                "projected": projected(kpi, actual, elapsed, days),
                "pace": pace(kpi, target, actual, elapsed, days)}


def _channel_rows(sheet: DataSheet | None, column: str, key: str | None) -> DataSheet | None:
    """The rows of ``sheet`` whose ``column`` (Channel, Source) is the channel ``key`` (owner_key
    compares as COUNTIFS does; None: blank)."""
    if sheet is None:
        return None
    folded = [str(name).strip().casefold() for name in sheet.header]
    if column.casefold() not in folded:
        return DataSheet(sheet.header, [] if key is not None else sheet.rows)
    index = folded.index(column.casefold())
    return DataSheet(sheet.header, [row for row in sheet.rows if owner_key(
        row[index] if index < len(row) else None) == key])


# Rows of a sheet belong to a rep through their Owner cell; a sheet without one (Spend) is the
# team's alone, whoever asks.
_OWNED_SHEETS = frozenset(name for name, columns in layout.DATA_COLUMNS.items()
                          if "Owner" in columns)
_STAGE_CLASSES = {None: None, recipes.WON: WON, recipes.LOST: LOST}


def _additive(term: Term) -> bool:
    """Whether ``term`` is a count or a sum (shown as a whole number where it is one): counts,
    totals and what they add up or take away, not ratios, complements or retention."""
    match term:
        case Count() | Total():
            return True
        case Actual(kpi_id):
            return _additive(_kpi(kpi_id).recipe)
        case Before(inner):
            return _additive(inner)
        case Plus(left, right) | Minus(left, right):
            return _additive(left) and _additive(right)
    return False


class _Recipes:
    """Each KPI's recipe (:mod:`xlkpi.core.recipes`) evaluated over the rows of the data sheets,
    for an owner key (None: the team) and some windows: one value per window.

    A KPI's actuals are worked out once per (key, windows): deals won, won revenue and emails
    delivered, which other KPIs reuse, are counted or summed once."""

    def __init__(self, sheets: dict[str, Sheet]):
        self._sheets = sheets
        self._actuals: dict[tuple[str, str | None, Windows], list] = {}

    def actuals(self, kpi: Kpi, key: str | None, windows: Windows) -> list:
        known = (kpi.id, key, windows)
        if known not in self._actuals:
            values = self.evaluate(kpi.recipe, key, windows)
            if _additive(kpi.recipe):  # a count or a sum: 12, not 12.0
                values = list(map(whole, values))
            self._actuals[known] = values
        return self._actuals[known]

    def evaluate(self, term: Term, key: str | None, windows: Windows) -> list:
        match term:
            case Count(sheet, dated_by, stage, filled):
                return self._dated(sheet, dated_by, key, stage, filled).counts(windows)
            case Total(sheet, column, dated_by, stage, filled):
                return self._dated(sheet, dated_by, key, stage, filled).totals(column, windows)
            case Retained():
                return self._retained(term, key, windows)
            case Actual(kpi_id):
                return self.actuals(_kpi(kpi_id), key, windows)
            case Before(inner):
                return self.evaluate(inner, key, windows.previous())
            case Complement(inner):
                return [None if value is None else 1.0 - value
                        for value in self.evaluate(inner, key, windows)]
            case Ratio(numerator, denominator):
                return [None if above is None or below is None else ratio(above, below)
                        for above, below in self._pairs(numerator, denominator, key, windows)]
            case Plus(left, right):
                return [None if first is None or second is None else first + second
                        for first, second in self._pairs(left, right, key, windows)]
            case Minus(left, right):
                return [None if first is None or second is None else first - second
                        for first, second in self._pairs(left, right, key, windows)]
        raise TypeError(f"not a recipe term: {term!r}")

    def _pairs(self, left: Term, right: Term, key: str | None,
               windows: Windows) -> Iterator[tuple]:
        return zip(self.evaluate(left, key, windows), self.evaluate(right, key, windows),
                   strict=True)

    def _dated(self, sheet: str, column: str, key: str | None, stage: str | None,
               filled: str | None = None) -> Dated:
        owner = key if sheet in _OWNED_SHEETS else TEAM
        return self._sheets[sheet].dated(column, owner, _STAGE_CLASSES[stage], filled)

    def _retained(self, term: Retained, key: str | None, windows: Windows) -> list:
        """Of the rows active on the first day, the share still active on the last."""
        rows = self._dated(term.sheet, term.start, key, None)
        ends = rows.values(term.end)
        found = []
        for window in windows.periods:
            known = ends[:rows.through(window.first_day)]  # started by the first day
            open_ended = np.isnan(known)
            active = open_ended | (known > window.first_day)
            still = active & (open_ended | (known > window.last_day))
            found.append(ratio(np.count_nonzero(still), np.count_nonzero(active)))
        return found


def _kpi(kpi_id: str) -> Kpi:
    try:
        return KPI_BY_ID[kpi_id]
    except KeyError:
        raise InputError(lang.text("report.errors.unknown_kpi", kpi=repr(kpi_id),
                                   known=", ".join(KPI_BY_ID))) from None


def report(tracker: Tracker, period: str | None = None, rep: str | None = None,
           today: dt.date | None = None) -> list[dict]:
    """The report's rows (see Report.rows)."""
    return Report(tracker, today).rows(period, rep)


def read_report(path: str | os.PathLike, ahead: ReadAhead | None = None) -> Report:
    """The report of the tracker file at ``path``, read with its cell-form problems
    (formulas without a stored result, dates, numbers and targets typed as text); ``ahead``:
    its largest sheets being read already (tracker.prefetch.read_ahead)."""
    tracker, found = read_checked(path, ahead)
    return Report(tracker, problems=found)


def actual(tracker: Tracker, kpi_id: str, who: str, period: object,
           today: dt.date | None = None) -> int | float | None:
    """One actual, as the tracker's Actual cell for (who, KPI, period) should show it."""
    return Report(tracker, today).actual(kpi_id, who, period)

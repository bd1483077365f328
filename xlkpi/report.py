"""Goal vs actual from a Tracker: the numbers of ``xlkpi report``, computed with the KPI engine.

Pure: no click, no openpyxl. The actuals come from the data rows through :mod:`xlkpi.engine`
(never from cached formula values), the targets from the Targets rows.

Speed: each data column is converted once per report (dates to day serials, numbers to floats,
stages to won/lost/open, owners to their comparison key), and for each (date column, owner) the
rows are sorted by date once. An engine call then gets only the rows of its owner dated in (or
around) its period, as plain lists of already-converted values, so the work per call is the size
of its answer's rows, not of the sheet. The engine still applies the whole definition to those
rows: what is passed is always a superset of the rows the definition counts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Callable
from operator import itemgetter

import numpy as np

from . import engine, layout
from .columns import owner_key, to_dates, to_numbers, to_stage_classes
from .errors import InputError
from .kpis import KPI_BY_ID, KPIS, Kpi
from .layout import DataSheet, Tracker
from .periods import Period, parse_period

YTD = "YTD"
ALL = "all"
KEYS = ("rep", "kpi", "period", "target", "actual", "attainment")
# Data rows start below the header row: the first data row is sheet row 2.
FIRST_DATA_ROW = 2
_STAGE_TEXT = np.array(["open", "won", "lost"], dtype=object)  # index: class 0, 1, -1
_TEAM = None  # the owner key of the team: every row


class _Sheet:
    """One data sheet's columns, each converted at most once, and its rows by owner and date."""

    def __init__(self, name: str, sheet: DataSheet | None):
        self.name = name
        self.header = list(sheet.header) if sheet else list(layout.DATA_COLUMNS[name])
        self.rows = sheet.rows if sheet else []
        self._columns: dict[str, np.ndarray] = {}
        self._groups: dict[str | None, np.ndarray] | None = None
        self._by_date: dict[tuple[str, str | None], tuple[np.ndarray, np.ndarray]] = {}

    def _values(self, column: str) -> list[object]:
        if column in self.header:
            index = self.header.index(column)
        else:
            folded = [str(name).strip().casefold() for name in self.header]
            if column.casefold() not in folded:
                raise InputError(f"{self.name}: no {column} column; put the header {column} "
                                 "back in the first row")
            index = folded.index(column.casefold())
        try:
            return list(map(itemgetter(index), self.rows))
        except IndexError:  # a short row: its missing cells are blank
            return [row[index] if index < len(row) else None for row in self.rows]

    def _convert(self, column: str, convert: Callable, kind: str) -> np.ndarray:
        values = self._values(column)
        try:
            return convert(values, column)
        except InputError:
            for number, value in enumerate(values, FIRST_DATA_ROW):
                try:
                    convert([value], column)
                except InputError:
                    raise InputError(f"{self.name} row {number}: {column} {value!r} is not "
                                     f"a {kind}") from None
            raise

    def column(self, column: str) -> np.ndarray:
        """Dates as day serials (NaN blank), numbers as floats (blank 0), stages as text
        "won", "lost" or "open"."""
        if column not in self._columns:
            if column in layout.DATE_COLUMNS:
                converted = self._convert(column, to_dates, "date")
            elif column in layout.NUMBER_COLUMNS:
                converted = self._convert(column, to_numbers, "number")
            else:  # Stage
                converted = _STAGE_TEXT[to_stage_classes(self._values(column))]
            self._columns[column] = converted
        return self._columns[column]

    def owner_rows(self, key: str | None) -> np.ndarray:
        """Row numbers (0-based) owned by ``key``; every row for the team."""
        if key is _TEAM:
            return np.arange(len(self.rows))
        if self._groups is None:
            owners = self._values("Owner")
            keys = {value: owner_key(value) for value in dict.fromkeys(owners)}
            groups: dict[str | None, list[int]] = {}
            for row, value in enumerate(owners):
                groups.setdefault(keys[value], []).append(row)
            self._groups = {key: np.array(rows, dtype=np.int64) for key, rows in groups.items()}
        return self._groups.get(key, np.empty(0, dtype=np.int64))

    def _sorted(self, column: str, key: str | None) -> tuple[np.ndarray, np.ndarray]:
        if (column, key) not in self._by_date:
            rows = self.owner_rows(key)
            dates = self.column(column)[rows]
            order = np.argsort(dates, kind="stable")  # blanks (NaN) sort last
            self._by_date[column, key] = (rows[order], dates[order])
        return self._by_date[column, key]

    def dated(self, column: str, key: str | None, start: float, end: float) -> np.ndarray:
        """Rows of ``key`` whose ``column`` date is in [start, end)."""
        rows, dates = self._sorted(column, key)
        return rows[np.searchsorted(dates, start, "left"):np.searchsorted(dates, end, "left")]

    def dated_until(self, column: str, key: str | None, last: float) -> np.ndarray:
        """Rows of ``key`` whose ``column`` date is on or before ``last``."""
        rows, dates = self._sorted(column, key)
        return rows[:np.searchsorted(dates, last, "right")]

    def args(self, rows: np.ndarray, *columns: str) -> list[list[object]]:
        """The engine's arguments: the given rows of each column, converted, as lists."""
        out = []
        for column in columns:
            picked = self.column(column)[rows]
            values = picked.tolist()
            if column in layout.DATE_COLUMNS and np.isnan(picked).any():
                values = [None if value != value else value for value in values]  # NaN: blank
            out.append(values)
        return out


class Report:
    """Targets and actuals of one tracker; ``today`` fixes the year to date when the tracker's
    Settings have no as-of date."""

    def __init__(self, tracker: Tracker, today: dt.date | None = None):
        self.tracker = tracker
        self.settings = tracker.settings
        self.today = today or dt.date.today()
        self.months = self.settings.month_periods()
        self.months_to_date = self.settings.months_to_date(self.today)
        self.ytd = self.settings.ytd_period(self.today)
        self._sheets = {name: _Sheet(name, tracker.data.get(name)) for name in layout.DATA_SHEETS}
        self.reps = list(dict.fromkeys(rep for rep in self.settings.reps
                                       if owner_key(rep) is not None))
        self._memo_for: tuple | None = None  # the (owner key, period) that _memo is for
        self._memo: dict[tuple, list] = {}
        self._targets: dict[tuple[str | None, str], layout.TargetRow] = {}
        for row in tracker.targets:
            self._targets.setdefault((self._who_key(row.who), row.kpi_id), row)

    # --- who and when ------------------------------------------------------------------------

    @staticmethod
    def _who_key(who: object) -> str | None:
        key = owner_key(who)
        return _TEAM if key is None or key == layout.TEAM_NAME.lower() else key

    def rep_name(self, rep: str) -> str:
        """The Team or a rep as spelled in Settings; an InputError for anyone else."""
        key = self._who_key(rep)
        if key is _TEAM:
            return layout.TEAM_NAME
        for name in self.reps:
            if owner_key(name) == key:
                return name
        known = ", ".join(self.reps) or "none yet (add them in Settings)"
        raise InputError(f"rep {rep!r} is not in this tracker; use Team or a rep from "
                         f"Settings: {known}")

    def period(self, period: object) -> Period:
        """A Period from "YTD", a month such as "2026-10" (or anything the functions take)."""
        if isinstance(period, str) and period.strip().upper() == YTD:
            return self.ytd
        parsed = parse_period(period)
        if parsed is None:
            raise InputError("period: give a month such as 2026-10 or YTD")
        return parsed

    def report_periods(self, period: str | None = None) -> list[Period]:
        """What a report covers: by default the months of the fiscal year through the as-of
        month plus the year to date; "all" every month plus YTD; "YTD"; or one month."""
        first, last = self.months[0].label, self.months[-1].label
        if period is None or not str(period).strip():
            return [*self.months[:self.months_to_date], self.ytd]
        text = str(period).strip()
        if text.lower() == ALL:
            return [*self.months, self.ytd]
        if text.upper() == YTD:
            return [self.ytd]
        try:
            parsed = parse_period(text)
        except InputError:
            parsed = None
        for month in self.months:
            if parsed is not None and parsed == month:
                return [month]
        raise InputError(f"period {text!r} is not a month of this tracker's year ({first} to "
                         f"{last}); use a month such as {self.months[-1].label}, YTD or all")

    # --- numbers -----------------------------------------------------------------------------

    def target(self, kpi_id: str, who: str, period: object) -> float | None:
        """The typed target of a month; the year-to-date target by layout.ytd_target."""
        kpi = _kpi(kpi_id)
        row = self._targets.get((self._who_key(who), kpi.id))
        if row is None:
            return None
        window = self.period(period)
        if window == self.ytd:
            return layout.ytd_target(kpi, row.months[:self.months_to_date])
        for index, month in enumerate(self.months):
            if window == month:
                return layout.target_number(row.months[index]) if index < len(row.months) else None
        return None

    def actual(self, kpi_id: str, who: str, period: object) -> int | float | None:
        """The KPI over the rows of ``who`` (Team: all rows; a rep: rows whose Owner is that
        name, case-insensitively) in ``period``; None where the definition divides by zero."""
        kpi = _kpi(kpi_id)
        key = self._who_key(who)
        if kpi.team_only and key is not _TEAM:
            raise InputError(f"{kpi.id} is a team figure (spend has no owner); ask for Team")
        window = self.period(period)
        if self._memo_for != (key, window):
            self._memo_for, self._memo = (key, window), {}
        return _ACTUALS[kpi.id](self, key, window)

    def rows(self, period: str | None = None, rep: str | None = None) -> list[dict]:
        """One dict per (who, KPI, period) with the keys of KEYS; Team first, then the reps in
        Settings order; KPIs in catalogue order; team-only KPIs for the Team only."""
        who_list = [self.rep_name(rep)] if rep else [layout.TEAM_NAME, *self.reps]
        periods = self.report_periods(period)
        out = []
        for who in who_list:
            kpis = [kpi for kpi in KPIS if who == layout.TEAM_NAME or not kpi.team_only]
            # period by period, so that the KPIs of one period share their rows (see _columns)
            actuals = {(kpi.id, window): self.actual(kpi.id, who, window)
                       for window in periods for kpi in kpis}
            for kpi in kpis:
                for window in periods:
                    actual = actuals[kpi.id, window]
                    target = self.target(kpi.id, who, window)
                    out.append({"rep": who, "kpi": kpi.id, "period": window.label,
                                "target": target, "actual": actual,
                                "attainment": engine.attainment(actual, target, kpi.direction)})
        return out

    # --- one method per KPI: the rows around the period, then the engine ----------------------

    def _columns(self, sheet: str, date: str, key, start: float, end: float,
                 *columns: str) -> list[list[object]]:
        """The rows of ``key`` whose ``date`` is in [start, end), as the engine's columns.

        Remembered while the report stays with one (who, period): the KPIs share them."""
        found = []
        for column in columns:
            memo_key = (sheet, date, start, end, column)
            if memo_key not in self._memo:
                rows = self._sheets[sheet].dated(date, key, start, end)
                self._memo[memo_key] = self._sheets[sheet].args(rows, column)[0]
            found.append(self._memo[memo_key])
        return found

    def _spend(self, window: Period) -> list[list[object]]:
        return self._columns(layout.SPEND, "SpendDate", _TEAM, window.start, window.end,
                             "Spend", "SpendDate")

    def _opportunities(self, key, window: Period, date: str, *columns: str) -> list:
        return self._columns(layout.OPPORTUNITIES, date, key, window.start, window.end, *columns)

    def _emails(self, key, window: Period, *columns: str) -> list:
        return self._columns(layout.EMAILS, "SendDate", key, window.start, window.end, *columns,
                             "SendDate")

    def _customers(self, key, window: Period) -> list:
        """Customers of ``key`` active on the period's first day (the rest cannot count)."""
        memo_key = (layout.CUSTOMERS, window.first_day)
        if memo_key not in self._memo:
            customers = self._sheets[layout.CUSTOMERS]
            rows = customers.dated_until("StartDate", key, window.first_day)
            ends = customers.column("EndDate")[rows]
            rows = rows[np.isnan(ends) | (ends > window.first_day)]
            self._memo[memo_key] = customers.args(rows, "StartDate", "EndDate")
        return self._memo[memo_key]

    def cost_per_lead(self, key, window):
        lead_dates, = self._columns(layout.LEADS, "LeadDate", _TEAM, window.start, window.end,
                                    "LeadDate")
        return engine.cost_per_lead(*self._spend(window), lead_dates, window)

    def customer_acquisition_cost(self, key, window):
        stages, close_dates = self._opportunities(_TEAM, window, "CloseDate", "Stage",
                                                  "CloseDate")
        return engine.customer_acquisition_cost(*self._spend(window), stages, close_dates,
                                                window)

    def sql_count(self, key, window):
        sql_dates, = self._columns(layout.LEADS, "SQLDate", key, window.start, window.end,
                                   "SQLDate")
        return engine.sql_count(sql_dates, window)

    def close_rate(self, key, window):
        return engine.close_rate(*self._opportunities(key, window, "CloseDate", "Stage",
                                                      "CloseDate"), window)

    def retention_rate(self, key, window):
        return engine.retention_rate(*self._customers(key, window), window)

    def churn_rate(self, key, window):
        return engine.churn_rate(*self._customers(key, window), window)

    def emails_delivered(self, key, window):
        return engine.emails_delivered(*self._emails(key, window, "Sent", "Bounced"), window)

    def positive_replies(self, key, window):
        return engine.positive_replies(*self._emails(key, window, "Positive"), window)

    def email_open_rate(self, key, window):
        return engine.email_open_rate(*self._emails(key, window, "Opened", "Sent", "Bounced"),
                                      window)

    def email_reply_rate(self, key, window):
        return engine.email_reply_rate(*self._emails(key, window, "Replied", "Sent", "Bounced"),
                                       window)

    def new_opportunities(self, key, window):
        created, = self._opportunities(key, window, "CreatedDate", "CreatedDate")
        return engine.new_opportunities(created, window)

    def deals_won(self, key, window):
        return engine.deals_won(*self._opportunities(key, window, "CloseDate", "Stage",
                                                     "CloseDate"), window)

    def won_revenue(self, key, window):
        return engine.won_revenue(*self._opportunities(key, window, "CloseDate", "Amount",
                                                       "Stage", "CloseDate"), window)

    def revenue_growth(self, key, window):
        before = window.previous()
        return engine.revenue_growth(*self._opportunities(
            key, Period(min(before.start, window.start), max(before.end, window.end), "", "range"),
            "CloseDate", "Amount", "Stage", "CloseDate"), window)


_ACTUALS: dict[str, Callable] = {kpi.id: getattr(Report, kpi.id) for kpi in KPIS}


def _kpi(kpi_id: str) -> Kpi:
    try:
        return KPI_BY_ID[kpi_id]
    except KeyError:
        raise InputError(f"unknown KPI {kpi_id!r}; use one of: {', '.join(KPI_BY_ID)}") from None


def report(tracker: Tracker, period: str | None = None, rep: str | None = None,
           today: dt.date | None = None) -> list[dict]:
    """The report's rows (see Report.rows)."""
    return Report(tracker, today).rows(period, rep)


def actual(tracker: Tracker, kpi_id: str, who: str, period: object,
           today: dt.date | None = None) -> int | float | None:
    """One actual, as the tracker's Actual cell for (who, KPI, period) should show it."""
    return Report(tracker, today).actual(kpi_id, who, period)


# --- output formats ------------------------------------------------------------------------------

def _clean(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def to_json(rows: list[dict]) -> str:
    """A JSON list of objects with the keys of KEYS; no number is null."""
    return json.dumps([{key: _clean(row[key]) for key in KEYS} for row in rows], indent=2,
                      ensure_ascii=False)


def to_csv(rows: list[dict]) -> str:
    """CSV with a header row; numbers unformatted (rates as fractions), blank for no number."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(KEYS)
    for row in rows:
        writer.writerow(["" if _clean(row[key]) is None else row[key] for key in KEYS])
    return out.getvalue()


def _plain(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_value(value: float | None, kpi: Kpi, currency: str = "") -> str:
    """A number as a sales manager reads it: 12.5%, USD 1,250, USD 85.40, 1,250."""
    if value is None or not math.isfinite(value):
        return "-"
    if kpi.unit == "ratio":
        return f"{value * 100:.1f}%"
    if kpi.unit == "currency":  # cents only for the cost per lead, as in the workbook
        amount = f"{value:,.2f}" if kpi.id == "cost_per_lead" else f"{value:,.0f}"
        return f"{currency} {amount}".strip()
    return _plain(value, 2)


def to_table(rows: list[dict], currency: str = "") -> str:
    """An aligned table: Rep, KPI, Period, Target, Actual, Attainment; "-" where there is no
    number (no target, or a rate with nothing to divide by)."""
    header = ("Rep", "KPI", "Period", "Target", "Actual", "Attainment")
    lines = [header]
    for row in rows:
        kpi = KPI_BY_ID[row["kpi"]]
        attainment = row["attainment"]
        lines.append((row["rep"], kpi.name, row["period"],
                      format_value(row["target"], kpi, currency),
                      format_value(row["actual"], kpi, currency),
                      "-" if attainment is None else f"{attainment * 100:.0f}%"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = (False, False, False, True, True, True)

    def render(line) -> str:
        cells = [cell.rjust(width) if align else cell.ljust(width)
                 for cell, width, align in zip(line, widths, right, strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(header), rule, *(render(line) for line in lines[1:])])

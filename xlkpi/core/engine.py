"""The KPI engine: every definition of DESIGN.md over whole columns, with no Excel in sight.

Each function takes flat columns (lists, tuples or arrays of cell values, or columns.OneCellRows)
in the argument order of its Excel function. It returns a finite number, or None where the
definition divides by zero (the Excel layer shows that as #DIV/0!); it raises InputError for bad
input, and ResultTooLarge where the result is past the range of numbers (#NUM! in Excel).

Which cells are read: every cell of a date column (the dates pick the rows), but a value, stage
or owner cell only in the rows that count, e.g. those dated in the period: a bad number in a row
dated outside the period is ignored, as SUMIFS and COUNTIFS ignore it in the workbook. That is
also what keeps a worksheet call on a million rows near the cost of one plain loop.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Sequence

import numpy as np

from xlkpi.core import lang
from xlkpi.core.cells import OneCellRows, check_lengths, numbers_within, to_dates, to_numbers
from xlkpi.core.errors import InputError
from xlkpi.core.periods import EXCEL_EPOCH, Period, parse_iso_date, parse_period
from xlkpi.core.stages import StageMap
from xlkpi.core.texts import owner_mask, to_stage_classes

Column = Sequence
# A sum this close to a whole number, relative to its size, is that number: float noise of
# summing many amounts (each off by up to half a unit in the last place), far below a cent.
_WHOLE_WITHIN = 1e-9


class ResultTooLarge(ArithmeticError):
    """A KPI past the range of numbers (about ±1.8e308) although every cell is one: Excel
    shows #NUM! for such a result (=SUM(1E308,1E308)), and so does the Excel layer."""


def finite(value):
    """``value`` (a number or None), or ResultTooLarge where it is infinite or NaN."""
    if value is not None and not math.isfinite(value):
        raise ResultTooLarge("the result is too large a number")
    return value


def _sum(values: np.ndarray) -> float:
    """numpy's sum (pairwise) as a float; an overflow gives ±inf without a warning."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(values.sum())


def _in_period(dates: np.ndarray, period: Period | None) -> np.ndarray:
    if period is None:
        return ~np.isnan(dates)
    return (dates >= period.start) & (dates < period.end)


def _rows(dates: np.ndarray, period: Period | None, owners: Column | None,
          owner: object) -> np.ndarray:
    """Rows dated in the period (any dated row when there is none) and owned by ``owner``;
    owner cells are read only in the rows dated in the period."""
    rows = _in_period(dates, period)
    by_owner = owner_mask(owners, owner, len(dates), within=rows)
    return rows if by_owner is None else rows & by_owner


def whole(value: float) -> int | float:
    """A count or a sum of whole numbers as int, so that 12 reads as 12 and not 12.0. A sum
    within a billionth (relative) of a whole number is that number: report and engine add the
    same cells in different orders, and 0.1-steps must not make one 2901 and the other
    2900.999999998."""
    value = float(value)
    if not math.isfinite(value):
        return value  # finite() says what is wrong with it
    nearest = round(value)
    if abs(value - nearest) <= _WHOLE_WITHIN * abs(value):
        return int(nearest)
    return value


def ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else float(numerator) / float(denominator)


_EPOCH_MOMENT = dt.datetime.combine(EXCEL_EPOCH, dt.time())
_DAY = dt.timedelta(days=1)


def _serial_with_time(cell: object) -> float:
    """A date cell (already checked by to_dates) as Excel's serial with the time of day: what
    Excel subtracts in =B2-A2. to_dates keeps whole days only, since periods need no more."""
    if isinstance(cell, np.datetime64):
        cell = cell.astype("datetime64[us]").item()
    elif isinstance(cell, str):
        try:
            cell = dt.datetime.fromisoformat(cell.strip())
        except ValueError:  # '2026-10-5', or a date followed by something that is no time
            cell = parse_iso_date(cell)
    if isinstance(cell, dt.datetime):
        # the wall-clock time, as to_dates takes the wall-clock day of a zoned datetime
        return (cell.replace(tzinfo=None) - _EPOCH_MOMENT) / _DAY
    if isinstance(cell, dt.date):
        return float((cell - EXCEL_EPOCH).days)
    if isinstance(cell, numbers.Real):
        return float(cell)
    raise TypeError(f"not a date cell: {cell!r}")  # to_dates lets no such cell through


def _serials_at(dates: Column, rows: np.ndarray) -> np.ndarray:
    """The serials, with times of day, of the date cells in ``rows`` (indices)."""
    picked = dates.take(rows) if isinstance(dates, OneCellRows) else [
        dates[row] for row in rows.tolist()]
    types = set(map(type, picked))
    if types <= {float, int}:  # Office.js serials: numpy converts them at once
        return np.array(picked, dtype=np.float64)
    if types == {dt.datetime}:  # classic xlwings: _serial_with_time's arithmetic, in C
        try:
            return np.fromiter(map(_DAY.__rtruediv__, map(_EPOCH_MOMENT.__rsub__, picked)),
                               np.float64, count=len(picked))
        except TypeError:  # a datetime with a time zone (less a naive one), or NotImplemented
            pass
    return np.fromiter(map(_serial_with_time, picked), np.float64, count=len(rows))


def _required_period(period: object) -> Period:
    parsed = parse_period(period)
    if parsed is None:
        raise InputError(lang.text("messages.errors.values.period_required"))
    return parsed


# --- spend ---------------------------------------------------------------------------------

def _spend_in(spend: Column, spend_dates: Column, period: Period | None) -> float:
    check_lengths(spend=spend, spend_dates=spend_dates)
    rows = _in_period(to_dates(spend_dates, "spend_dates"), period)
    return _sum(numbers_within(spend, "spend", rows))


def cost_per_lead(spend: Column, spend_dates: Column, lead_dates: Column,
                  period: object = None) -> float | None:
    """Σ spend dated in the period ÷ leads created in the period."""
    window = parse_period(period)
    total = _spend_in(spend, spend_dates, window)
    leads = np.count_nonzero(_in_period(to_dates(lead_dates, "lead_dates"), window))
    return finite(ratio(total, leads))


def customer_acquisition_cost(spend: Column, spend_dates: Column, stages: Column,
                              close_dates: Column, period: object = None,
                              stage_map: StageMap | None = None) -> float | None:
    """Σ spend in the period ÷ deals won with a close date in the period."""
    window = parse_period(period)
    total = _spend_in(spend, spend_dates, window)
    return finite(ratio(total, deals_won(stages, close_dates, window, stage_map=stage_map)))


# --- leads and opportunities ---------------------------------------------------------------

def _count_dated(dates: Column, argument: str, period: object, owners: Column | None,
                 owner: object) -> int:
    serials = to_dates(dates, argument)
    return int(np.count_nonzero(_rows(serials, parse_period(period), owners, owner)))


def sql_count(sql_dates: Column, period: object = None, owners: Column | None = None,
              owner: object = None) -> int:
    """Leads whose SQL date is in the period."""
    return _count_dated(sql_dates, "sql_dates", period, owners, owner)


def new_opportunities(created_dates: Column, period: object = None,
                      owners: Column | None = None, owner: object = None) -> int:
    """Opportunities created in the period."""
    return _count_dated(created_dates, "created_dates", period, owners, owner)


def lead_to_sql_rate(lead_dates: Column, sql_dates: Column, period: object = None,
                     owners: Column | None = None, owner: object = None) -> float | None:
    """Of the leads created in the period, the share that have an SQL date (any date: the
    cohort view, so a lead created in October and qualified in November counts for October)."""
    check_lengths(lead_dates=lead_dates, sql_dates=sql_dates)
    leads = _rows(to_dates(lead_dates, "lead_dates"), parse_period(period), owners, owner)
    qualified = leads & ~np.isnan(to_dates(sql_dates, "sql_dates"))
    return ratio(np.count_nonzero(qualified), np.count_nonzero(leads))


def _stages_in(stages: Column, dates: Column, dates_argument: str, period: object,
               owners: Column | None, owner: object,
               stage_map: StageMap | None = None) -> np.ndarray:
    """Stage classes (1 won, -1 lost, 0 open) of the rows in the period."""
    check_lengths(stages=stages, **{dates_argument: dates})
    rows = _rows(to_dates(dates, dates_argument), parse_period(period), owners, owner)
    return to_stage_classes(stages, within=rows, stage_map=stage_map)[rows]


def close_rate(stages: Column, dates: Column, period: object = None,
               owners: Column | None = None, owner: object = None,
               stage_map: StageMap | None = None) -> float | None:
    """won ÷ (won + lost) among the opportunities dated in the period; open ones left out."""
    classes = _stages_in(stages, dates, "dates", period, owners, owner, stage_map)
    won = np.count_nonzero(classes == 1)
    return ratio(won, won + np.count_nonzero(classes == -1))


def deals_won(stages: Column, close_dates: Column, period: object = None,
              owners: Column | None = None, owner: object = None,
              stage_map: StageMap | None = None) -> int:
    """Opportunities won with a close date in the period."""
    classes = _stages_in(stages, close_dates, "close_dates", period, owners, owner, stage_map)
    return int(np.count_nonzero(classes == 1))


def _won(stages: Column, close_dates: Column, period: object, owners: Column | None,
         owner: object, stage_map: StageMap | None = None) -> np.ndarray:
    """The rows won with a close date in the period (stages read only in the rows dated so)."""
    rows = _rows(to_dates(close_dates, "close_dates"), parse_period(period), owners, owner)
    rows &= to_stage_classes(stages, within=rows, stage_map=stage_map) == 1
    return rows


def won_revenue(amounts: Column, stages: Column, close_dates: Column, period: object = None,
                owners: Column | None = None, owner: object = None,
                stage_map: StageMap | None = None) -> int | float:
    """Σ amount of the opportunities won with a close date in the period (an amount is read
    only there)."""
    check_lengths(amounts=amounts, stages=stages, close_dates=close_dates)
    rows = _won(stages, close_dates, period, owners, owner, stage_map)
    return finite(whole(_sum(numbers_within(amounts, "amounts", rows))))


def average_deal_size(amounts: Column, stages: Column, close_dates: Column,
                      period: object = None, owners: Column | None = None,
                      owner: object = None, stage_map: StageMap | None = None) -> float | None:
    """Won revenue ÷ deals won, close date in the period."""
    check_lengths(amounts=amounts, stages=stages, close_dates=close_dates)
    rows = _won(stages, close_dates, period, owners, owner, stage_map)
    return finite(ratio(_sum(numbers_within(amounts, "amounts", rows)), np.count_nonzero(rows)))


def sales_cycle_days(created_dates: Column, stages: Column, close_dates: Column,
                     period: object = None, owners: Column | None = None,
                     owner: object = None, stage_map: StageMap | None = None) -> float | None:
    """Mean days from created date to close date over the deals won with a close date in the
    period. A won deal without a created date has no cycle to measure and is left out (not
    counted as 0 days); a time of day in either date counts, as a fraction of a day.
    """
    check_lengths(created_dates=created_dates, stages=stages, close_dates=close_dates)
    created = to_dates(created_dates, "created_dates")  # every cell checked, as for any date
    rows = _won(stages, close_dates, period, owners, owner, stage_map) & ~np.isnan(created)
    counted = np.flatnonzero(rows)
    if len(counted) == 0:
        return None
    days = _serials_at(close_dates, counted) - _serials_at(created_dates, counted)
    return finite(_sum(days) / len(counted))


def revenue_growth(amounts: Column, stages: Column, close_dates: Column, period: object,
                   owners: Column | None = None, owner: object = None,
                   stage_map: StageMap | None = None) -> float | None:
    """(won revenue in the period − in the period before) ÷ won revenue in the period before."""
    window = _required_period(period)
    check_lengths(amounts=amounts, stages=stages, close_dates=close_dates)
    dates = to_dates(close_dates, "close_dates")
    now, earlier = _in_period(dates, window), _in_period(dates, window.previous())
    won = now | earlier
    by_owner = owner_mask(owners, owner, len(dates), within=won)
    if by_owner is not None:
        won &= by_owner
    won &= to_stage_classes(stages, within=won, stage_map=stage_map) == 1
    values = to_numbers(amounts, "amounts", within=won)
    this, before = _sum(values[won & now]), _sum(values[won & earlier])
    return finite(ratio(this - before, before))


# --- customers -----------------------------------------------------------------------------

def retention_rate(start_dates: Column, end_dates: Column, period: object,
                   owners: Column | None = None, owner: object = None) -> float | None:
    """Of the customers active on the period's first day, the share active on its last day.

    A customer is active on day d when start ≤ d and (end is blank or end > d).
    """
    window = _required_period(period)
    check_lengths(start_dates=start_dates, end_dates=end_dates)
    starts = to_dates(start_dates, "start_dates")
    ends = to_dates(end_dates, "end_dates")
    open_ended = np.isnan(ends)
    active_at_start = (starts <= window.first_day) & (open_ended | (ends > window.first_day))
    by_owner = owner_mask(owners, owner, len(starts), within=active_at_start)
    if by_owner is not None:
        active_at_start &= by_owner
    still_active = active_at_start & (open_ended | (ends > window.last_day))
    return ratio(np.count_nonzero(still_active), np.count_nonzero(active_at_start))


def churn_rate(start_dates: Column, end_dates: Column, period: object,
               owners: Column | None = None, owner: object = None) -> float | None:
    """1 − retention rate for the same period."""
    retention = retention_rate(start_dates, end_dates, period, owners, owner)
    return None if retention is None else 1.0 - retention


# --- emails --------------------------------------------------------------------------------

def _email_sums(columns: dict[str, Column], dates: Column, period: object,
                owners: Column | None, owner: object) -> dict[str, float]:
    check_lengths(**columns, dates=dates)
    rows = _rows(to_dates(dates, "dates"), parse_period(period), owners, owner)
    return {name: _sum(numbers_within(values, name, rows))
            for name, values in columns.items()}


def emails_delivered(sent: Column, bounced: Column, dates: Column, period: object = None,
                     owners: Column | None = None, owner: object = None) -> int | float:
    """Σ sent − Σ bounced."""
    sums = _email_sums({"sent": sent, "bounced": bounced}, dates, period, owners, owner)
    return finite(whole(sums["sent"] - sums["bounced"]))


def positive_replies(positive: Column, dates: Column, period: object = None,
                     owners: Column | None = None, owner: object = None) -> int | float:
    """Σ positive replies."""
    sums = _email_sums({"positive": positive}, dates, period, owners, owner)
    return finite(whole(sums["positive"]))


def email_open_rate(opened: Column, sent: Column, bounced: Column, dates: Column,
                    period: object = None, owners: Column | None = None,
                    owner: object = None) -> float | None:
    """Σ opened ÷ emails delivered."""
    sums = _email_sums({"opened": opened, "sent": sent, "bounced": bounced}, dates, period,
                       owners, owner)
    return finite(ratio(sums["opened"], sums["sent"] - sums["bounced"]))


def email_reply_rate(replied: Column, sent: Column, bounced: Column, dates: Column,
                     period: object = None, owners: Column | None = None,
                     owner: object = None) -> float | None:
    """Σ replied ÷ emails delivered."""
    sums = _email_sums({"replied": replied, "sent": sent, "bounced": bounced}, dates, period,
                       owners, owner)
    return finite(ratio(sums["replied"], sums["sent"] - sums["bounced"]))

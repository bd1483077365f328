"""Pacing of the current month (DESIGN.md): expected to date, projected month end and pace.

Pure. Counts and amounts (a KPI whose recipe is a count or a sum: :func:`accrues`) build up
through the month, so the target to date is a share of the month's by elapsed days and the
month end is projected by the same share; rates (ratios, retention, growth, a mean such as the
average deal size or the sales cycle) do not, so their target to date is the target itself and
their projection the actual itself. Pace is the attainment of the projection against the
month's target, with the KPI's direction (goals.attainment).
"""

from __future__ import annotations

import calendar
import datetime as dt

from xlkpi.core.goals import attainment
from xlkpi.core.kpis import KPI_BY_ID, Kpi
from xlkpi.core.recipes import Actual, Before, Count, Minus, Plus, Term, Total


def _additive(term: Term) -> bool:
    if isinstance(term, Count | Total):
        return True
    if isinstance(term, Actual):
        return _additive(KPI_BY_ID[term.kpi_id].recipe)
    if isinstance(term, Before):
        return _additive(term.term)
    if isinstance(term, Plus | Minus):
        return _additive(term.left) and _additive(term.right)
    return False


def accrues(kpi: Kpi) -> bool:
    """Whether the KPI builds up day by day: a count or an amount (unit count or currency)
    whose recipe adds rows up. Cost per lead, acquisition cost and average deal size are
    amounts too, but ratios of two sums: rate-like."""
    return kpi.unit in ("count", "currency") and _additive(kpi.recipe)


def month_days(as_of: dt.date) -> tuple[int, int]:
    """(elapsed days, days in the month) of the as-of date's month: day 7 of December is
    (7, 31); the as-of day counts as elapsed."""
    return as_of.day, calendar.monthrange(as_of.year, as_of.month)[1]


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def expected(kpi: Kpi, target: object, elapsed: int, days: int) -> float | None:
    """Target to date: target × elapsed ÷ days for counts and amounts, the target for rates."""
    target = _number(target)
    if target is None or not accrues(kpi) or elapsed >= days:
        return target
    return target * elapsed / days


def projected(kpi: Kpi, actual: object, elapsed: int, days: int) -> float | None:
    """Month end at this pace: actual ÷ elapsed × days for counts and amounts, the actual for
    rates."""
    actual = _number(actual)
    if actual is None or not accrues(kpi) or elapsed >= days:  # on the last day: the actual
        return actual
    return actual / elapsed * days


def pace(kpi: Kpi, target: object, actual: object, elapsed: int, days: int) -> float | None:
    """The projection's attainment against the month's target (None without either)."""
    return attainment(projected(kpi, actual, elapsed, days), _number(target), kpi.direction)

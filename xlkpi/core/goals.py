"""Targets and attainment: a typed target as a number, the year-to-date target, attainment."""

from __future__ import annotations

import math
import numbers

import numpy as np

from xlkpi.core.cells import is_finite, not_a_number
from xlkpi.core.engine import finite
from xlkpi.core.errors import InputError
from xlkpi.core.kpis import DIRECTIONS, Kpi


def target_number(cell: object) -> float | None:
    """A typed target as a number; None for a blank, text (a note) or a non-number."""
    if isinstance(cell, bool) or not isinstance(cell, (int, float)) or not math.isfinite(cell):
        return None
    return float(cell)


def ytd_target(kpi: Kpi, monthly: list[object]) -> float | None:
    """The year-to-date target from the monthly targets through the as-of month.

    Blank months are left out; no typed month means no YTD target. Counts and amounts add up;
    rates average; retention compounds (kept all year = kept every month), and so does churn
    (1 − Π(1 − monthly churn)).
    """
    found = [n for n in map(target_number, monthly) if n is not None]
    if not found:
        return None
    if kpi.ytd_target == "sum":
        return sum(found)
    if kpi.ytd_target == "mean":
        return sum(found) / len(found)
    if kpi.ytd_target == "compound loss":
        return 1.0 - math.prod(1.0 - n for n in found)
    return math.prod(found)


def parse_direction(direction: object) -> str:
    if direction is None or (isinstance(direction, str) and not direction.strip()):
        return "up"
    text = str(direction).strip().lower()
    if text not in DIRECTIONS:
        raise InputError(f"direction: {direction!r} is not \"up\", \"down\" or \"growth\"")
    return text


def _cell_number(value: object, argument: str) -> float | None:
    """One cell as a number; None for a blank (None or text of spaces, as a formula's "")."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
            and is_finite(value)):
        return float(value)
    raise InputError(not_a_number(argument, value))


def attainment(actual: float | None, target: float | None, direction: object = "up"
               ) -> float | None:
    """actual ÷ target ("up"), target ÷ actual ("down") or (1 + actual) ÷ (1 + target)
    ("growth").

    None (no attainment) where the target is missing, 0 or negative, or the actual missing.
    A "down" KPI whose actual is 0 (or less) beats any positive target: it counts as met, 1.0.
    "growth" is for a rate of growth, which swings around zero: the revenue reached against the
    revenue the plan implied (−8.7 % against +5 %: 0.913 ÷ 1.05, 87 %). Any target above −100 %
    has one (None where 1 + target ≤ 0); an actual of −100 % or less (nothing left) is 0.
    """
    way = parse_direction(direction)
    actual, target = _cell_number(actual, "actual"), _cell_number(target, "target")
    if target is None or actual is None:
        return None
    if way == "growth":
        if 1.0 + target <= 0:
            return None
        return 0.0 if actual <= -1 else finite((1.0 + actual) / (1.0 + target))
    if target <= 0:
        return None
    if way == "up":
        return finite(actual / target)
    return 1.0 if actual <= 0 else finite(target / actual)

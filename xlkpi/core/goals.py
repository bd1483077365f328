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


# --- target planning ---------------------------------------------------------------------------
#
# A Targets row's twelve months as the tabs use them ("planned"): a typed month always wins;
# a blank month of a row with a typed Year figure gets a share of it; for counts and amounts
# (KPIs whose year-to-date target is a "sum") the share is what the typed months leave of the
# Year figure (never below 0), split over the blank months by last year's shape, or evenly when
# the tracker lacks a full previous year; a rate's blank months get the Year figure itself.
# The Team's blank months of a count or amount then default to the sum of the reps' planned
# targets. tracker/formulas.plan_formula renders the same rule for the workbook.

MISMATCH_TOLERANCE = 1e-6  # relative (to max(1, |reps' sum|)): a Team target "differs" beyond


def sums(kpi: Kpi) -> bool:
    """A count or an amount: its monthly targets add up (a rate's never do)."""
    return kpi.ytd_target == "sum"


def year_shape(last_year: list[object]) -> list[float] | None:
    """The weights of the twelve months from last year's actuals of the KPI (the Team's, in
    fiscal order): the actuals themselves when every month has one above 0 (a full year of
    history); None (spread evenly) otherwise."""
    numbers = [target_number(value) for value in last_year]
    if len(numbers) != 12 or any(n is None or n <= 0 for n in numbers):
        return None
    return [float(n) for n in numbers]  # type: ignore[arg-type]


def plan_months(kpi: Kpi, months: list[object], year: object,
                shape: list[float] | None = None) -> list[float | None]:
    """The twelve planned months of one Targets row (see the comment above)."""
    typed = [target_number(months[i]) if i < len(months) else None for i in range(12)]
    figure = target_number(year)
    if figure is None:
        return typed
    if not sums(kpi):
        return [figure if value is None else value for value in typed]
    weights = shape or [1.0] * 12
    rest = max(0.0, figure - sum(value for value in typed if value is not None))
    blank_weight = sum(w for w, value in zip(weights, typed, strict=True) if value is None)
    return [value if value is not None else rest * w / blank_weight
            for w, value in zip(weights, typed, strict=True)]


def reps_sum(kpi: Kpi, reps: list[list[float | None]]) -> list[float | None]:
    """Per month, the sum of the reps' planned targets; None where no rep has one (and for a
    rate, which never sums)."""
    out: list[float | None] = []
    for index in range(12):
        found = [rep[index] for rep in reps if rep[index] is not None]
        out.append(sum(found) if found and sums(kpi) else None)
    return out


def team_months(kpi: Kpi, team: list[float | None], reps: list[list[float | None]]
                ) -> list[float | None]:
    """The Team's targets: its own planned months; blank ones of a count or an amount default
    to the reps' sum."""
    return [own if own is not None else total
            for own, total in zip(team, reps_sum(kpi, reps), strict=True)]


def mismatches(kpi: Kpi, team: list[float | None], reps: list[list[float | None]]
               ) -> list[tuple[int, float, float]]:
    """(month index, Team's planned target, reps' sum) where a Team target the manager set
    (typed or spread from its Year figure) differs from the reps' sum."""
    out = []
    for index, total in enumerate(reps_sum(kpi, reps)):
        own = team[index]
        if own is None or total is None:
            continue
        if abs(own - total) > MISMATCH_TOLERANCE * max(1.0, abs(total)):
            out.append((index, own, total))
    return out


def plan_kpi(kpi: Kpi, rows: dict[object, tuple[list[object], object]], team: object,
             reps: list[object], shape: list[float] | None = None
             ) -> dict[object, list[float | None]]:
    """Every Targets row of one KPI planned: ``rows`` maps a who (key) to its (typed months,
    Year figure); ``team`` is the Team's key, ``reps`` the keys of the current reps, whose
    planned targets the Team's blank months of a count or an amount add up."""
    planned = {who: plan_months(kpi, months, year, shape)
               for who, (months, year) in rows.items()}
    own = planned.get(team, [None] * 12)  # the tracker writes a Team row for every KPI
    planned[team] = team_months(kpi, own, [planned[rep] for rep in reps
                                           if rep in planned and rep != team])
    return planned

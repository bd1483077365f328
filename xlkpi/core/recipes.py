"""Each tracker KPI as a recipe: what it counts or adds up, and how those measures combine.

A recipe is data, written once per KPI in the catalogue (:mod:`xlkpi.core.kpis`). Two readers
interpret it: :mod:`xlkpi.report` evaluates it over the rows, sorted by date, of the tracker's
data sheets, and :mod:`xlkpi.tracker.formulas` renders it as SUMIFS/COUNTIFS formula text for
the Team and rep tabs. :mod:`xlkpi.core.engine` is written independently of both; the tests hold
report and workbook against it.

Sheets and columns are the data sheets' own names (``"Opportunities"``, ``"CloseDate"``): the
columns are the Excel functions' arguments, so a recipe reads like the KPI's definition.
Rows belong to the team, or to a rep through their Owner cell; sheets without an Owner column
(Spend) always count for the team.
"""

from __future__ import annotations

from dataclasses import dataclass

WON, LOST = "Won", "Lost"  # stage classes, as the StageClass column shows them


@dataclass(frozen=True)
class Count:
    """The rows of ``sheet`` whose ``dated_by`` date is in the period (and whose stage is of
    the class ``stage``, when given; and whose date column ``filled`` holds a date, when given:
    a blank cell, or a date typed as text, is not filled, as for any date the tabs read)."""

    sheet: str
    dated_by: str
    stage: str | None = None
    filled: str | None = None


@dataclass(frozen=True)
class Total:
    """Σ ``column`` over the rows that :class:`Count` would count. A date column adds up its
    serials, time of day included (as SUMIFS does): a difference of two such totals over the
    same rows is the total of the days between."""

    sheet: str
    column: str
    dated_by: str
    stage: str | None = None
    filled: str | None = None


@dataclass(frozen=True)
class Retained:
    """Of the rows of ``sheet`` active on the period's first day (``start`` on or before it,
    ``end`` blank or after it), the share still active on its last day; none when no row is
    active on the first day."""

    sheet: str
    start: str
    end: str


@dataclass(frozen=True)
class Actual:
    """Another KPI's actual for the same who and period (its own cell on a tab)."""

    kpi_id: str


@dataclass(frozen=True)
class Before:
    """``term`` over the period before (the month before a month; the same months a year
    earlier for a range of months)."""

    term: Term


@dataclass(frozen=True)
class Plus:
    left: Term
    right: Term


@dataclass(frozen=True)
class Minus:
    left: Term
    right: Term


@dataclass(frozen=True)
class Ratio:
    """numerator ÷ denominator; none (a blank cell) where the denominator is 0 or either side
    is none."""

    numerator: Term
    denominator: Term


@dataclass(frozen=True)
class Complement:
    """1 − term; none where the term is none."""

    term: Term


Term = Count | Total | Retained | Actual | Before | Plus | Minus | Ratio | Complement


def growth(term: Term) -> Ratio:
    """(term − term in the period before) ÷ term in the period before."""
    return Ratio(Minus(term, Before(term)), Before(term))


def parts(term: Term) -> tuple[Term, ...]:
    """The terms ``term`` is made of (none for a measure over rows or another KPI)."""
    if isinstance(term, Before | Complement):
        return (term.term,)
    if isinstance(term, Plus | Minus):
        return (term.left, term.right)
    if isinstance(term, Ratio):
        return (term.numerator, term.denominator)
    return ()


def kpis_used(term: Term) -> set[str]:
    """The ids of the other KPIs whose actuals ``term`` reuses."""
    if isinstance(term, Actual):
        return {term.kpi_id}
    return set().union(*map(kpis_used, parts(term)))

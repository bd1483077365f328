"""Stages and owners as the columns the engine and the report filter by: each distinct text
looked up once (a stage's class by the Stages map; whether an owner cell names a rep, as
COUNTIFS compares: case-insensitively, 7 and "7" alike)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from xlkpi.core.cells import cell_values, owner_key, take_rows
from xlkpi.core.errors import InputError
from xlkpi.core.stages import BUILT_IN, StageMap


def _lookup(values: Sequence, cache: dict, lookup: Callable[[object], object], dtype: type,
            within: np.ndarray | None) -> np.ndarray:
    """``lookup(value)`` for each value as a column of ``dtype``, through ``cache`` (a dict
    that fills itself) while the cells are hashable.

    With ``within`` (a boolean mask as long as ``values``) the rows outside it read 0; when it
    holds few rows, only those are looked up.
    """
    if within is not None and np.count_nonzero(within) * 4 <= len(values):
        rows = np.flatnonzero(within)
        column = np.zeros(len(values), dtype)
        column[rows] = _looked_up(take_rows(values, rows), cache, lookup, dtype)
        return column
    column = _looked_up(cell_values(values), cache, lookup, dtype)
    if within is not None:
        np.copyto(column, 0, casting="unsafe", where=~within)
    return column


def _looked_up(values: Sequence, cache: dict, lookup: Callable[[object], object],
               dtype: type) -> np.ndarray:
    try:
        return np.fromiter(map(cache.__getitem__, values), dtype, count=len(values))
    except TypeError:  # an unhashable cell (a list, an array): no cache
        return np.fromiter(map(lookup, values), dtype, count=len(values))


def stage_class(stage: object, stage_map: StageMap | None = None) -> int:
    """1 for a won stage, -1 for a lost one, 0 for anything else (open): by ``stage_map``
    (core.stages.StageMap; None = the built-in names)."""
    return (stage_map or BUILT_IN).number(stage)


# Keys are stage texts as core.stages.stage_key makes them (DESIGN.md): the built-in names.
WON_STAGES = dict(BUILT_IN.numbers)


class _Classes(dict):
    """Stage text → class; each distinct text is classified once, when first met."""

    __slots__ = ("stage_map",)

    def __init__(self, stage_map: StageMap):
        super().__init__()
        self.stage_map = stage_map

    def __missing__(self, stage: object) -> int:
        self[stage] = kind = self.stage_map.number(stage)
        return kind


def to_stage_classes(values: Sequence, within: np.ndarray | None = None,
                     stage_map: StageMap | None = None) -> np.ndarray:
    """int8 column: 1 won, -1 lost, 0 open (by ``stage_map``; None = the built-in names).
    Each distinct text is classified once.

    With ``within`` (a boolean mask as long as ``values``) the rows outside it read 0, and
    when it holds few rows only those are classified.
    """
    classes = _Classes(stage_map or BUILT_IN)
    return _lookup(values, classes, classes.stage_map.number, np.int8, within)


class _Matches(dict):
    """Owner cell → whether it names the wanted owner; each distinct cell is compared once."""

    __slots__ = ("wanted",)

    def __init__(self, wanted: str):
        super().__init__()
        self.wanted = wanted

    def __missing__(self, owner: object) -> bool:
        self[owner] = match = self.matches(owner)
        return match

    def matches(self, owner: object) -> bool:
        return owner_key(owner) == self.wanted


def owner_mask(owners: Sequence | None, owner: object, length: int,
               within: np.ndarray | None = None) -> np.ndarray | None:
    """Rows whose owner is ``owner``; None (every row) when no owner is given.

    With ``within`` (a boolean mask of ``length`` rows) the rows outside it read False, and
    when it holds few rows only those are looked at.
    """
    wanted = owner_key(owner)
    if wanted is None:
        return None
    if owners is None or len(owners) == 0 < length:  # an empty table may have no owners
        raise InputError(f"owners: give the owner column to filter by owner {owner!r}")
    if len(owners) != length:
        raise InputError(f"owners has {len(owners)} rows but the other columns have {length}")
    matches = _Matches(wanted)
    return _lookup(owners, matches, matches.matches, np.bool_, within)

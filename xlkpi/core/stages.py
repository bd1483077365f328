"""Stage names → Won / Lost / Open (DESIGN.md), and owners that match no rep.

One mapping for the workbook's StageClass formula, ``xlkpi report``, ``xlkpi import`` and the
Excel functions' optional ``stage_map`` argument: a :class:`StageMap`, built from the tracker's
Stages table (stage name, class) or, when there is none, from the built-in names. A stage
matches a name without regard to case, spaces, no-break spaces, tabs, line breaks and the
punctuation '-', '_', ':', '.'; the wildcard characters ~ * ? read as '#' (the workbook's MATCH
compares the same key exactly). The first row naming a key wins, as MATCH's first match does.
A name a table does not list is Open: a given table replaces the built-in names (the tracker's
Stages table starts as a copy of them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from xlkpi.core import lang
from xlkpi.core.cells import owner_key
from xlkpi.core.errors import InputError

WON, LOST, OPEN = "Won", "Lost", "Open"
CLASS_NUMBER = {WON: 1, LOST: -1, OPEN: 0}
# What a stage loses before matching; tracker.data.STAGE_STRIPPED writes the same in formulas.
STRIPPED = (" ", "\u00a0", "\t", "\n", "\r", "-", "_", ":", ".")
_STRIPPED = re.compile("[" + re.escape("".join(STRIPPED)) + "]+")
_WILD = re.compile(r"[~*?]")
# The built-in names, as the Stages table is pre-filled (DESIGN.md). "closedwon",
# "Closed: won" and Pipedrive's status "won" share a key with one of these.
BUILT_IN_STAGES: tuple[tuple[str, str], ...] = (
    ("Won", WON), ("Closed Won", WON), ("Успешно реализовано", WON), ("Сделка успешна", WON),
    ("Lost", LOST), ("Closed Lost", LOST), ("Закрыто и не реализовано", LOST),
    ("Сделка провалена", LOST))


def stage_key(stage: object) -> str | None:
    """The text a stage is matched by; None for a cell that is not text (never won or lost)."""
    if not isinstance(stage, str):
        return None
    return _WILD.sub("#", _STRIPPED.sub("", stage).lower())


def class_name(value: object) -> str | None:
    """"Won", "Lost" or "Open" for a class cell typed in any case; None for anything else."""
    if isinstance(value, str):
        text = value.lower()  # as the workbook's cell="Won" compares it
        for name in CLASS_NUMBER:
            if text == name.lower():
                return name
    return None


class StageMap:
    """Stage key → class number (1 won, -1 lost, 0 open); rows listed first win."""

    __slots__ = ("names", "numbers")

    def __init__(self, rows: Iterable[tuple[object, object]] = BUILT_IN_STAGES):
        self.numbers: dict[str, int] = {}
        self.names: dict[str, str] = {}  # key → the name as first listed
        for name, kind in rows:
            key = stage_key(name)
            if key is None or name == "" or key in self.numbers:
                continue
            self.numbers[key] = CLASS_NUMBER.get(class_name(kind) or OPEN, 0)
            self.names[key] = name

    def number(self, stage: object) -> int:
        """1 won, -1 lost, 0 open (anything not listed, anything not text)."""
        key = stage_key(stage)
        return 0 if key is None or stage == "" else self.numbers.get(key, 0)

    def knows(self, stage: object) -> bool:
        key = stage_key(stage)
        return key is not None and key in self.numbers

    def __eq__(self, other) -> bool:
        return isinstance(other, StageMap) and self.numbers == other.numbers

    __hash__ = None

    @classmethod
    def from_cells(cls, cells: Sequence[Sequence[object]], argument: str = "stage_map"
                   ) -> StageMap:
        """A map from a two-column range (the Excel functions' ``stage_map``): stage name,
        then Won/Lost/Open. Blank rows are skipped, and a first row whose class is not a class
        (a header); any other class is an InputError naming the row."""
        rows = []
        for number, row in enumerate(cells, 1):
            if not isinstance(row, (list, tuple)) or len(row) != 2:
                raise InputError(f"{argument}: give a range of two columns, stage name and "
                                 "Won/Lost/Open")
            name, kind = row
            if (name is None or name == "") and (kind is None or kind == ""):
                continue
            if class_name(kind) is None:
                if number == 1:
                    continue  # the header row
                raise InputError(f"{argument} row {number}: {kind!r} is not Won, Lost or Open")
            rows.append((name, kind))
        return cls(rows)


BUILT_IN = StageMap()


def unknown_owners(owner_columns: Iterable[Sequence[object]], reps: Sequence[str],
                   key=None) -> list[tuple[str, int]]:
    """Owners in the data that match no rep (as the workbook compares them: ``key``, the
    core.cells.owner_key), with their row counts, most rows first."""
    if key is None:
        key = owner_key
    wanted = {key(rep) for rep in reps}
    counts: dict[str, int] = {}
    shown: dict[str, str] = {}
    for column in owner_columns:
        for owner, rows in _distinct(column):  # each distinct owner keyed once
            found = key(owner)
            if found is None or found in wanted:
                continue
            counts[found] = counts.get(found, 0) + rows
            shown.setdefault(found, str(owner))
    return sorted(((shown[found], count) for found, count in counts.items()),
                  key=lambda item: (-item[1], item[0]))


def _distinct(column: Sequence[object]) -> Iterable[tuple[object, int]]:
    """(cell, how many rows hold it) for each distinct cell of ``column``, in order of first
    appearance; counted in C unless cells of two number types could be one dict key (True, 1
    and 1.0 are equal, yet their owner keys differ)."""
    if len(set(map(type, column)) & {bool, int, float}) <= 1:
        return Counter(column).items()
    counted: dict[tuple[type, object], list] = {}
    for cell in column:
        entry = counted.setdefault((type(cell), cell), [cell, 0])
        entry[1] += 1
    return [tuple(entry) for entry in counted.values()]


def unknown_owners_message(unknown: Sequence[tuple[str, int]], shown: int = 5) -> str | None:
    """'3 owners match no rep: 'Иванов Б.' (27 rows), …; add them as aliases in Settings'."""
    if not unknown:
        return None
    def counted(key: str, number: int) -> str:
        return lang.plural(number, f"messages.words.{key}").format(count=number)

    listed = ", ".join(lang.text("messages.import.unknown_owner", owner=repr(owner),
                                 rows=counted("rows", count)) for owner, count in unknown[:shown])
    if len(unknown) > shown:
        listed = lang.text("messages.import.and_more", listed=listed,
                           count=len(unknown) - shown)
    return lang.text("messages.import.unknown_owners", listed=listed,
                     owners=counted("owners_unknown", len(unknown)),
                     settings=lang.active().sheet("Settings"))


def alias_key(name: object) -> str | None:
    """How an owner is compared with a rep's name and aliases: case, surrounding and repeated
    spaces (no-break ones too) do not matter."""
    if name is None:
        return None
    text = " ".join(str(name).replace("\u00a0", " ").split()).casefold()
    return text or None


class Owners:
    """The reps and their aliases: ``rep_of("anna@acme.com")`` → "Anna Petrova"."""

    def __init__(self, reps: Sequence[str], aliases: dict[str, Sequence[str]] | None = None):
        self.by_key: dict[str, str] = {}
        for rep in reps:
            self.by_key.setdefault(alias_key(rep), rep)
        for rep, names in (aliases or {}).items():
            for name in names:
                key = alias_key(name)
                if key is None:
                    continue
                other = self.by_key.setdefault(key, rep)
                if other != rep:
                    raise InputError(lang.text(
                        "messages.errors.values.alias_twice", sheet=lang.text("sheets.Settings"),
                        name=repr(name), rep=repr(rep), other=repr(other)))

    def rep_of(self, owner: object) -> str | None:
        return self.by_key.get(alias_key(owner))

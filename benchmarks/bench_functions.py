"""The KPI worksheet functions on a million rows as Excel sends them, against the floor.

For each function and each way Excel sends dates (datetime objects from classic xlwings, serial
floats from Office.js) the benchmark times two things on the same rows:

- floor: one plain Python loop that visits each row once and computes the same number: the
  period and owner tests inline (a row out of the period costs one comparison), stage and owner
  texts classified through a dict cache. It checks no cell, so it is a floor, not a target: no
  program that starts from Python cell values can do much less.
- xlkpi: what a worksheet call costs once xlwings has read the ranges: the function of
  xlkpi.udfs called with every column range as a list of one-cell rows; it hands each range to
  the engine as a ``columns.OneCellRows``, which converts and checks every date cell and reads
  value, stage and owner cells only in the rows that count (dated in the period). ``--flatten
  chain`` or ``unpack`` calls the engine itself after flattening every column with ``chain`` or
  with ``[cell for (cell,) in rows]``, to compare.

It asserts that the two numbers agree and prints the best of ``--repeat`` runs of each. Text and
datetime cells reach every timed run as new objects (as they do from Excel), so no run profits
from hashes that an earlier run computed.

    python -m benchmarks.bench_functions                 # 1,000,000 rows, best of 3
    python -m benchmarks.bench_functions --quick         # 20,000 rows: a smoke test
    python -m benchmarks.bench_functions --only close_rate,won_revenue --kind serial
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.util
import itertools
import math
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from xlkpi.core import engine
from xlkpi.core.periods import EXCEL_EPOCH, date_to_serial

PERIOD = "2026-10"
OWNER = "Anna"
REPS = ("Anna", "Boris", "Chen", "Dmitri", "Elena", "Farid", "Grace", "Hugo", "Irina", "Jamal")
# (spelling, weight): what CRM exports hold, with the casing and separators people type.
STAGE_SPELLINGS = (
    ("Won", 10), ("Closed Won", 8), ("closed-won", 3), ("Успешно реализовано", 2),
    ("Lost", 8), ("Closed Lost", 10), ("closed_lost", 2), ("Закрыто и не реализовано", 2),
    ("Open", 6), ("open", 4), ("Negotiation", 8), ("Qualification", 8), ("Proposal", 6),
    ("Discovery", 5), (None, 1),
)
FIRST_DAY = date_to_serial(dt.date(2025, 1, 1))  # rows are dated over 2025 and 2026
DAYS = 730
BLANK = 0.02  # share of blank cells in most columns
EPOCH = dt.datetime.combine(EXCEL_EPOCH, dt.time())
KINDS = ("datetime", "serial")

Rows = list  # a column range as Excel gives it: [[cell], [cell], ...]


# --- the input ------------------------------------------------------------------------------

def _maybe(rng: random.Random, value: object, blank: float = BLANK) -> object:
    return None if rng.random() < blank else value


def _day(rng: random.Random, with_time: bool = False) -> float:
    """A serial in 2025-2026; with a time of day for timestamps (created at, sent at)."""
    day = float(FIRST_DAY + rng.randrange(DAYS))
    return day + rng.randrange(86400) / 86400 if with_time else day


def _stage(rng: random.Random) -> str | None:
    texts, weights = zip(*STAGE_SPELLINGS, strict=True)
    return rng.choices(texts, weights)[0]


def _generate(group: str, n: int, seed: int) -> dict[str, list]:
    """Cell values of one group of tables, column by column; dates as serial floats."""
    rng = random.Random(f"{seed}-{group}")
    cols: dict[str, list] = {"owners": [_maybe(rng, REPS[rng.randrange(len(REPS))], 0.01)
                                        for _ in range(n)]}
    if group in ("marketing", "sales"):
        cols["spend"] = [_maybe(rng, round(rng.uniform(5, 500), 2)) for _ in range(n)]
        cols["spend_dates"] = [_maybe(rng, _day(rng)) for _ in range(n)]
    if group == "marketing":
        cols["lead_dates"] = [_maybe(rng, _day(rng)) for _ in range(n)]
        # most leads never become sales-qualified: a mostly blank column
        cols["sql_dates"] = [None if rng.random() < 0.7 else _day(rng) for _ in range(n)]
    if group == "sales":
        cols["stages"] = [_stage(rng) for _ in range(n)]
        cols["created_dates"] = [_maybe(rng, _day(rng, with_time=True)) for _ in range(n)]
        cols["close_dates"] = [_maybe(rng, _day(rng), 0.1) for _ in range(n)]
        cols["amounts"] = [_maybe(rng, float(100 * rng.randrange(10, 2000))) for _ in range(n)]
    if group == "emails":
        cols["email_dates"] = [_maybe(rng, _day(rng, with_time=True)) for _ in range(n)]
        sent = [float(rng.randrange(200)) for _ in range(n)]
        cols["sent"] = [_maybe(rng, s) for s in sent]
        cols["bounced"] = [_maybe(rng, float(rng.randrange(6))) for _ in range(n)]
        cols["opened"] = [_maybe(rng, float(rng.randrange(int(s) // 2 + 1))) for s in sent]
        cols["replied"] = [_maybe(rng, float(rng.randrange(10))) for _ in range(n)]
        cols["positive"] = [_maybe(rng, float(rng.randrange(4))) for _ in range(n)]
    if group == "customers":
        starts = [float(date_to_serial(dt.date(2020, 1, 1)) + rng.randrange(2557))
                  for _ in range(n)]
        cols["start_dates"] = [_maybe(rng, s, 0.01) for s in starts]
        cols["end_dates"] = [None if rng.random() < 0.75 else s + rng.randrange(30, 1500)
                             for s in starts]
    return cols


def _as_datetime(serial: float | None) -> dt.datetime | None:
    return None if serial is None else EPOCH + dt.timedelta(days=serial)


DATE_COLUMNS = ("spend_dates", "lead_dates", "sql_dates", "created_dates", "close_dates",
                "email_dates", "start_dates", "end_dates")
TEXT_COLUMNS = ("stages", "owners")


class Columns:
    """The column ranges of one group for one kind of dates.

    Before each timed run the text and datetime cells are replaced by new, equal objects: str
    and datetime keep their hash once computed, and a call from Excel always brings new ones, so
    no run may profit from hashes that an earlier run computed.
    """

    def __init__(self, values: dict[str, list], kind: str):
        self.rows: dict[str, Rows] = {}
        self.renewable: dict[str, Rows] = {}  # name → the rows whose cell is renewed
        for name, column in values.items():
            if kind == "datetime" and name in DATE_COLUMNS:
                column = map(_as_datetime, column)
            rows = self.rows[name] = [[value] for value in column]
            if name in TEXT_COLUMNS or (kind == "datetime" and name in DATE_COLUMNS):
                self.renewable[name] = [row for row in rows if row[0] is not None]

    def fresh(self, names: tuple[str, ...]) -> dict[str, Rows]:
        for name in names:
            rows = self.renewable.get(name)
            if rows:
                for row, cell in zip(rows, _renewed([row[0] for row in rows]), strict=True):
                    row[0] = cell
        return {name: self.rows[name] for name in names}


_SEP = "\x00"  # no text cell holds it


def _renewed(cells: list) -> list:
    """New objects equal to ``cells`` (all str or all datetime), their hashes not yet known."""
    if isinstance(cells[0], str):
        return _SEP.join(cells).split(_SEP)
    return list(map(dt.datetime.replace, cells))


@dataclass(frozen=True)
class Bounds:
    """The period 2026-10 in the type of the date cells (datetime or serial float)."""

    before: object  # first day of the month before (for revenue growth)
    lo: object  # first day of the period
    day2: object  # the day after the first: a date d is on or before the first day iff d < day2
    hi: object  # first day after the period

    @classmethod
    def of(cls, kind: str) -> Bounds:
        days = [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 10, 2),
                dt.date(2026, 11, 1)]
        if kind == "datetime":
            return cls(*(dt.datetime.combine(day, dt.time()) for day in days))
        return cls(*(float(date_to_serial(day)) for day in days))


# --- the floor: one plain loop per function -------------------------------------------------

_WON = {"won", "closedwon", "успешнореализовано"}
_LOST = {"lost", "closedlost", "закрытоинереализовано"}
_SEPARATORS = re.compile(r"[ _-]")
_WANTED = OWNER.lower()


def _stage_class(stage: object) -> int:
    if not isinstance(stage, str):
        return 0
    key = _SEPARATORS.sub("", stage).lower()
    return 1 if key in _WON else -1 if key in _LOST else 0


def _is_owner(owner: object) -> bool:
    return isinstance(owner, str) and owner.lower() == _WANTED


def floor_cost_per_lead(c: dict[str, Rows], b: Bounds) -> float | None:
    lo, hi = b.lo, b.hi
    total, leads = 0.0, 0
    for (amount,), (day,), (lead,) in zip(c["spend"], c["spend_dates"], c["lead_dates"],
                                          strict=True):
        if amount is not None and day is not None and lo <= day < hi:
            total += amount
        if lead is not None and lo <= lead < hi:
            leads += 1
    return total / leads if leads else None


def floor_customer_acquisition_cost(c: dict[str, Rows], b: Bounds) -> float | None:
    lo, hi = b.lo, b.hi
    classes: dict = {}
    total, won = 0.0, 0
    for (amount,), (day,), (stage,), (close,) in zip(c["spend"], c["spend_dates"], c["stages"],
                                                     c["close_dates"], strict=True):
        if amount is not None and day is not None and lo <= day < hi:
            total += amount
        if close is not None and lo <= close < hi:
            kind = classes.get(stage)
            if kind is None:
                kind = classes[stage] = _stage_class(stage)
            won += kind == 1
    return total / won if won else None


def _floor_count(dates: Rows, owners: Rows, b: Bounds) -> int:
    lo, hi = b.lo, b.hi
    mine: dict = {}
    count = 0
    for (day,), (owner,) in zip(dates, owners, strict=True):
        if day is not None and lo <= day < hi:
            ok = mine.get(owner)
            if ok is None:
                ok = mine[owner] = _is_owner(owner)
            count += ok
    return count


def floor_sql_count(c: dict[str, Rows], b: Bounds) -> int:
    return _floor_count(c["sql_dates"], c["owners"], b)


def floor_new_opportunities(c: dict[str, Rows], b: Bounds) -> int:
    return _floor_count(c["created_dates"], c["owners"], b)


def _floor_won_lost(c: dict[str, Rows], b: Bounds) -> tuple[int, int]:
    lo, hi = b.lo, b.hi
    classes: dict = {}
    mine: dict = {}
    won = lost = 0
    for (stage,), (day,), (owner,) in zip(c["stages"], c["close_dates"], c["owners"], strict=True):
        if day is not None and lo <= day < hi:
            ok = mine.get(owner)
            if ok is None:
                ok = mine[owner] = _is_owner(owner)
            if ok:
                kind = classes.get(stage)
                if kind is None:
                    kind = classes[stage] = _stage_class(stage)
                if kind == 1:
                    won += 1
                elif kind == -1:
                    lost += 1
    return won, lost


def floor_close_rate(c: dict[str, Rows], b: Bounds) -> float | None:
    won, lost = _floor_won_lost(c, b)
    return won / (won + lost) if won + lost else None


def floor_deals_won(c: dict[str, Rows], b: Bounds) -> int:
    return _floor_won_lost(c, b)[0]


def _floor_won_revenue(c: dict[str, Rows], b: Bounds) -> tuple[float, float]:
    """Won revenue in the period and in the month before."""
    before, lo, hi = b.before, b.lo, b.hi
    classes: dict = {}
    mine: dict = {}
    now = earlier = 0.0
    for (amount,), (stage,), (day,), (owner,) in zip(c["amounts"], c["stages"],
                                                     c["close_dates"], c["owners"], strict=True):
        if day is not None and before <= day < hi:
            ok = mine.get(owner)
            if ok is None:
                ok = mine[owner] = _is_owner(owner)
            if ok and amount is not None:
                kind = classes.get(stage)
                if kind is None:
                    kind = classes[stage] = _stage_class(stage)
                if kind == 1:
                    if day >= lo:
                        now += amount
                    else:
                        earlier += amount
    return now, earlier


def floor_won_revenue(c: dict[str, Rows], b: Bounds) -> float:
    return _floor_won_revenue(c, b)[0]


def floor_revenue_growth(c: dict[str, Rows], b: Bounds) -> float | None:
    now, before = _floor_won_revenue(c, b)
    return (now - before) / before if before else None


def floor_retention_rate(c: dict[str, Rows], b: Bounds) -> float | None:
    # active on the first day: start <= first day < end (whole days); kept: end > last day
    day2, hi = b.day2, b.hi
    mine: dict = {}
    active = kept = 0
    for (start,), (end,), (owner,) in zip(c["start_dates"], c["end_dates"], c["owners"],
                                          strict=True):
        if start is not None and start < day2 and (end is None or end >= day2):
            ok = mine.get(owner)
            if ok is None:
                ok = mine[owner] = _is_owner(owner)
            if ok:
                active += 1
                kept += end is None or end >= hi
    return kept / active if active else None


def floor_churn_rate(c: dict[str, Rows], b: Bounds) -> float | None:
    retention = floor_retention_rate(c, b)
    return None if retention is None else 1.0 - retention


def floor_emails_delivered(c: dict[str, Rows], b: Bounds) -> float:
    lo, hi = b.lo, b.hi
    mine: dict = {}
    sent = bounced = 0.0
    for (day,), (owner,), (s,), (x,) in zip(c["email_dates"], c["owners"], c["sent"],
                                            c["bounced"], strict=True):
        if day is not None and lo <= day < hi:
            ok = mine.get(owner)
            if ok is None:
                ok = mine[owner] = _is_owner(owner)
            if ok:
                sent += s or 0.0
                bounced += x or 0.0
    return sent - bounced


def floor_positive_replies(c: dict[str, Rows], b: Bounds) -> float:
    lo, hi = b.lo, b.hi
    mine: dict = {}
    positive = 0.0
    for (day,), (owner,), (p,) in zip(c["email_dates"], c["owners"], c["positive"], strict=True):
        if day is not None and lo <= day < hi:
            ok = mine.get(owner)
            if ok is None:
                ok = mine[owner] = _is_owner(owner)
            if ok:
                positive += p or 0.0
    return positive


def _floor_email_rate(c: dict[str, Rows], b: Bounds, what: str) -> float | None:
    """Σ what ÷ (Σ sent − Σ bounced)."""
    lo, hi = b.lo, b.hi
    mine: dict = {}
    count = sent = bounced = 0.0
    for (day,), (owner,), (n,), (s,), (x,) in zip(c["email_dates"], c["owners"], c[what],
                                                  c["sent"], c["bounced"], strict=True):
        if day is not None and lo <= day < hi:
            ok = mine.get(owner)
            if ok is None:
                ok = mine[owner] = _is_owner(owner)
            if ok:
                count += n or 0.0
                sent += s or 0.0
                bounced += x or 0.0
    return count / (sent - bounced) if sent - bounced else None


def floor_email_open_rate(c: dict[str, Rows], b: Bounds) -> float | None:
    return _floor_email_rate(c, b, "opened")


def floor_email_reply_rate(c: dict[str, Rows], b: Bounds) -> float | None:
    return _floor_email_rate(c, b, "replied")


# --- the cases ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    function: str  # the name in xlkpi.core.engine
    group: str  # which generated tables it reads
    columns: tuple[str, ...]  # value and date columns, in the function's argument order
    floor: Callable[[dict[str, Rows], Bounds], object]
    by_owner: bool = True  # whether it takes (owners, owner) after the period


CASES = (
    Case("cost_per_lead", "marketing", ("spend", "spend_dates", "lead_dates"),
         floor_cost_per_lead, by_owner=False),
    Case("customer_acquisition_cost", "sales", ("spend", "spend_dates", "stages", "close_dates"),
         floor_customer_acquisition_cost, by_owner=False),
    Case("sql_count", "marketing", ("sql_dates",), floor_sql_count),
    Case("close_rate", "sales", ("stages", "close_dates"), floor_close_rate),
    Case("retention_rate", "customers", ("start_dates", "end_dates"), floor_retention_rate),
    Case("churn_rate", "customers", ("start_dates", "end_dates"), floor_churn_rate),
    Case("emails_delivered", "emails", ("sent", "bounced", "email_dates"),
         floor_emails_delivered),
    Case("positive_replies", "emails", ("positive", "email_dates"), floor_positive_replies),
    Case("email_open_rate", "emails", ("opened", "sent", "bounced", "email_dates"),
         floor_email_open_rate),
    Case("email_reply_rate", "emails", ("replied", "sent", "bounced", "email_dates"),
         floor_email_reply_rate),
    Case("new_opportunities", "sales", ("created_dates",), floor_new_opportunities),
    Case("deals_won", "sales", ("stages", "close_dates"), floor_deals_won),
    Case("won_revenue", "sales", ("amounts", "stages", "close_dates"), floor_won_revenue),
    Case("revenue_growth", "sales", ("amounts", "stages", "close_dates"), floor_revenue_growth),
)
GROUPS = ("marketing", "sales", "emails", "customers")


def flatten_chain(rows: Rows) -> list:
    """How the UDF layer flattens a column range (after checking that each row has one cell)."""
    return list(itertools.chain.from_iterable(rows))


def flatten_unpack(rows: Rows) -> list:
    """A faster way for a one-column range: one pass that also checks each row has one cell."""
    return [value for (value,) in rows]


FLATTEN = {"chain": flatten_chain, "unpack": flatten_unpack}


def _as_given(rows: Rows) -> Rows:
    return rows


def _xlkpi_call(case: Case, options: argparse.Namespace) -> Callable[[dict], object]:
    if options.flatten == "udf":
        function = getattr(options.udfs, case.function)
        flatten: Callable[[Rows], Rows] = _as_given  # the UDF flattens
    else:
        function = getattr(options.engine_module, case.function)
        flatten = FLATTEN[options.flatten]

    def call(c: dict[str, Rows]) -> object:
        values = [flatten(c[name]) for name in case.columns]
        if case.by_owner:
            return function(*values, PERIOD, flatten(c["owners"]), OWNER)
        return function(*values, PERIOD)

    return call


def _names(case: Case) -> tuple[str, ...]:
    return case.columns + (("owners",) if case.by_owner else ())


def _timed(run: Callable[[dict], object], columns: Columns, names: tuple[str, ...],
           clock: Callable[[], float]) -> tuple[float, object]:
    cells = columns.fresh(names)
    gc.collect()
    gc.disable()
    try:
        start = clock()
        result = run(cells)
        elapsed = clock() - start
    finally:
        gc.enable()
    return elapsed, result


def _same(floor: object, xlkpi: object) -> bool:
    """Equal numbers; float sums may differ in the last bits (numpy sums pairwise)."""
    if xlkpi == "#DIV/0!":  # what the UDF gives back where the engine gives None
        xlkpi = None
    if floor is None or xlkpi is None:
        return floor is None and xlkpi is None
    return math.isclose(floor, xlkpi, rel_tol=1e-9, abs_tol=1e-9)


@dataclass
class Result:
    case: Case
    kind: str
    floor_s: float
    xlkpi_s: float
    value: object

    @property
    def ratio(self) -> float:
        return self.xlkpi_s / self.floor_s


def measure(case: Case, kind: str, columns: Columns, options: argparse.Namespace) -> Result:
    bounds = Bounds.of(kind)
    names = _names(case)
    call = _xlkpi_call(case, options)
    clock = time.perf_counter if options.wall else time.process_time
    best_floor = best_xlkpi = math.inf
    value = None
    for _ in range(options.repeat):
        floor_s, expected = _timed(lambda c: case.floor(c, bounds), columns, names, clock)
        xlkpi_s, value = _timed(call, columns, names, clock)
        if not _same(expected, value):
            raise AssertionError(f"{case.function} ({kind}): floor gives {expected!r}, "
                                 f"xlkpi gives {value!r}")
        best_floor, best_xlkpi = min(best_floor, floor_s), min(best_xlkpi, xlkpi_s)
    return Result(case, kind, best_floor, best_xlkpi, value)


def _print_table(results: list[Result]) -> None:
    print(f"{'function':<27} {'input':<9} {'floor ms':>9} {'xlkpi ms':>9} {'ratio':>6}  value")
    for r in results:
        print(f"{r.case.function:<27} {r.kind:<9} {r.floor_s * 1e3:9.1f} {r.xlkpi_s * 1e3:9.1f} "
              f"{r.ratio:6.2f}  {r.value!r}")
    worst = max(results, key=lambda r: r.ratio)
    print(f"\nslowest relative to the floor: {worst.case.function} ({worst.kind}), "
          f"{worst.ratio:.2f}x (goal: at most 2x)")


def _load_engine(path: str) -> ModuleType:
    """A copy of engine.py, imported inside the xlkpi package so that its imports work."""
    spec = importlib.util.spec_from_file_location("xlkpi._engine_under_test", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--engine: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_functions",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per column")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; best kept")
    parser.add_argument("--quick", action="store_true", help="20,000 rows: a smoke test")
    parser.add_argument("--only", help="comma-separated engine function names")
    parser.add_argument("--kind", choices=KINDS, help="only datetime or only serial dates")
    parser.add_argument("--flatten", choices=("udf", *FLATTEN), default="udf",
                        help="udf (default): call xlkpi.udfs, which flattens the ranges; "
                             "chain or unpack: flatten so and call xlkpi.core.engine")
    parser.add_argument("--wall", action="store_true",
                        help="time by the wall clock (default: the process's CPU time, which "
                             "other programs on the machine disturb less)")
    parser.add_argument("--engine", metavar="FILE",
                        help="time this copy of xlkpi/engine.py instead (to try a change)")
    parser.add_argument("--seed", type=int, default=2026, help="of the generated data")
    args = parser.parse_args(argv)
    args.engine_module = _load_engine(args.engine) if args.engine else engine
    if args.flatten == "udf":
        from xlkpi import udfs

        udfs.engine = args.engine_module  # udfs looks engine.<function> up at each call
        args.udfs = udfs
    rows = 20_000 if args.quick else args.rows
    cases = CASES
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {case.function for case in CASES}
        if unknown:
            parser.error(f"unknown function(s): {', '.join(sorted(unknown))}")
        cases = tuple(case for case in CASES if case.function in wanted)
    kinds = (args.kind,) if args.kind else KINDS

    print(f"{rows:,} rows, period {PERIOD}, owner {OWNER}, best of {args.repeat}, "
          f"flatten={args.flatten}, {'wall' if args.wall else 'CPU'} time, "
          f"engine {args.engine_module.__file__}, Python {sys.version.split()[0]}", flush=True)
    results: dict[tuple[str, str], Result] = {}
    for group in GROUPS:
        group_cases = [case for case in cases if case.group == group]
        if not group_cases:
            continue
        values = _generate(group, rows, args.seed)
        for kind in kinds:
            columns = Columns(values, kind)
            for case in group_cases:
                results[case.function, kind] = measure(case, kind, columns, args)
            del columns
    print()
    _print_table([results[case.function, kind] for case in cases for kind in kinds])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Every Excel function of xlkpi.udfs under fuzzing (hypothesis; the profile from conftest.py,
200 examples in CI).

Whatever lands in the cells (None, blanks, text, error texts, bools, ints, floats, NaN, ±inf,
dates, datetimes with and without a time zone, serials, serials past 9999-12-31, numpy scalars)
and in whatever shape (columns, rows, flat lists, tuples, a scalar for a column, 2-D blocks,
empty ranges, ragged rows, columns of different lengths, ranges for single cells), a function
returns a finite number, "#DIV/0!", "#NUM!" (a result past the float range, as Excel shows
it), or "" (ATTAINMENT only), or raises InputError (a
ValueError, and an XlwingsError outside classic xlwings) whose one-line message starts with the
name of one of its arguments; in classic xlwings it returns "#VALUE! " and that message instead.
Nothing else: no other exception, no NaN, no infinity, no numpy type.

tests/test_udfs.py's fuzz test draws the plain cell types over a few shapes and checks the
kind of result; this one adds the hostile values and shapes above, checks the message names an
argument and the result is finite and of a plain type, runs the classic runtime too, and checks
the numbers: for valid input in every representation and shape, DEALS_WON, WON_REVENUE,
CLOSE_RATE, EMAILS_DELIVERED, NEW_OPPORTUNITIES, LEAD_TO_SQL_RATE, AVERAGE_DEAL_SIZE and
SALES_CYCLE_DAYS equal a reference computed here in plain Python from DESIGN.md's definitions.

Bugs found here once are pinned at the end (values past the float range, numpy periods and
owner columns, ragged ranges), kept out of the general fuzz so that it keeps finding new ones.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import os
import re
from unittest import mock

import numpy as np
import pytest
import xlwings
from hypothesis import given, settings
from hypothesis import strategies as st

from xlkpi import udfs
from xlkpi.core.errors import InputError

# The same examples on every CI run (deterministic); new ones on every local run.
FUZZ = settings(derandomize=bool(os.environ.get("CI")))

FUNCTIONS = sorted(udfs.__all__)
PARAMETERS = {name: [p for p in inspect.signature(getattr(udfs, name)).parameters
                     if p != "stage_map"]  # the optional stage map: tests/test_stages.py
              for name in FUNCTIONS}
DIV0 = "#DIV/0!"
NUM = "#NUM!"
EPOCH = dt.date(1899, 12, 30)
UTC_PLUS_14 = dt.timezone(dt.timedelta(hours=14))

# --- hostile cells ------------------------------------------------------------------------

TEXTS = st.sampled_from([
    "", " ", "\t", "Won", "Closed Won", "closed-won", "LOST", "Закрыто и не реализовано",
    "open", "Anna", "anna", "7", "2026-10", "2026-Q4", "2026q4", "2026", " 2026-10 ",
    "2026-13", "2026-Q5", "1899-12", "0001", "10000", "9999-12", "2026-10-15",
    "2026-10-15 13:45", "2026-02-30", "soon", "up", "down", "UP", "sideways", "#N/A",
    "#DIV/0!", "#VALUE!", "#REF!", "=1+1", "nan", "inf", "-inf", "1e309", "١٢", "\x00"])
NUMBERS = st.one_of(
    st.just(0), st.just(0.0), st.just(-0.0),
    st.integers(-10**15, 10**15),
    st.floats(1e-3, 1e15) | st.floats(-1e15, -1e-3),
    st.integers(1, 2958465),  # whole serials up to 9999-12-31
    st.floats(1, 2958465.999),  # serials with a time of day
    st.sampled_from([2958466, 2958466.0, 1e7, 1e15, 1e300, -1, 0.5, 1899, 1900, 9999,
                     10000, 2026, 2026.0, 2026.5]),  # serials past 9999-12-31, years
)
SPECIAL_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf, np.nan, np.float64("inf"),
                                  np.float64("-inf"), np.float64("nan")])
NUMPY = st.one_of(
    NUMBERS.map(np.float64), st.integers(-10**15, 10**15).map(np.int64),
    st.floats(-1e6, 1e6, width=32).map(np.float32), st.integers(-10**6, 10**6).map(np.int32),
    st.booleans().map(np.bool_), TEXTS.map(np.str_),
    st.sampled_from([np.datetime64("2026-10-15"), np.datetime64("2026-10-15T13:45"),
                     np.datetime64("NaT")]),
)
DATES = st.one_of(
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
    st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)),
    st.datetimes(dt.datetime(1900, 1, 2), dt.datetime(9999, 12, 30),
                 timezones=st.sampled_from([dt.timezone.utc, UTC_PLUS_14])),
    st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),  # often inside the periods drawn
)
CELLS = st.one_of(st.none(), st.booleans(), TEXTS, st.text(max_size=6), NUMBERS,
                  SPECIAL_FLOATS, NUMPY, DATES)


def shaped(cells: list, shape: str):
    """A column argument as a runtime may pass it."""
    if shape == "column":
        return [[cell] for cell in cells]
    if shape == "row":
        return [list(cells)]
    if shape == "flat":
        return list(cells)
    if shape == "tuples":
        return tuple((cell,) for cell in cells)
    raise AssertionError(shape)


# What each argument usually holds, valid: most cells of a column come from its kind, so
# that most calls get past the first cell and into every conversion and the KPI itself; the
# rest come from anywhere (CELLS), one hostile cell among good ones being the interesting case.
BLANKS = st.sampled_from([None, None, "", " "])
VALID_DATES = st.one_of(
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31, 23, 59)),
    st.dates(dt.date(2025, 10, 1), dt.date(2027, 3, 31)),
    st.integers(1, 2958465), st.floats(1, 2958465.999),
    st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 31)).map(dt.date.isoformat),
    st.integers(45000, 47000).map(np.float64), st.integers(45000, 47000).map(np.int64),
)
VALID_NUMBERS = st.one_of(st.integers(-10**6, 10**9), st.floats(-1e12, 1e12).filter(
    lambda x: x == 0 or abs(x) >= 1e-3), st.integers(0, 10**6).map(np.float64),
    st.integers(0, 10**6).map(np.int64))
NAMES = st.sampled_from(["Anna", "anna", "Boris", 7, 7.0, "7", "=Eve", "St*r?", np.str_("Anna")])
STAGE_TEXTS = st.sampled_from(["Won", "Closed Won", "closed-won", "Lost", "Closed_Lost",
                               "Negotiation", "Успешно реализовано", "w*n", 7])
VALID_PERIODS = st.sampled_from(["2026-10", "2026-Q4", "2026q1", "2026", 2026, 2026.0,
                                 dt.date(2026, 10, 15), dt.datetime(2026, 2, 28, 23, 0),
                                 46310.5, "2026-10-15", "9999-12", "1900-01", "1900", 1900,
                                 9999])
KINDS = {"date": st.one_of(BLANKS, VALID_DATES), "number": st.one_of(BLANKS, VALID_NUMBERS),
         "stage": st.one_of(BLANKS, STAGE_TEXTS), "owner": st.one_of(BLANKS, NAMES),
         "period": st.one_of(VALID_PERIODS, VALID_PERIODS, BLANKS),
         "direction": st.sampled_from([None, "", "up", "down", " Down "]),
         "attain": st.one_of(BLANKS, VALID_NUMBERS, st.sampled_from(["#N/A", "#DIV/0!"]))}


def kind_of(parameter: str) -> str:
    if "date" in parameter:
        return "date"
    if parameter == "stages":
        return "stage"
    if parameter in ("owners", "owner"):
        return "owner"
    if parameter in ("actual", "target"):
        return "attain"
    if parameter in ("period", "direction"):
        return parameter
    return "number"


def cell_strategy(draw, parameter: str):
    """Cells for one argument: its kind's, or from anywhere, in a mixture drawn per call."""
    anywhere = draw(st.sampled_from([0, 0, 1, 3, 10]))  # of 10 cells, about this many
    kind = KINDS[kind_of(parameter)]
    if anywhere == 0:
        return kind
    if anywhere == 10:
        return CELLS
    return st.integers(1, 10).flatmap(lambda n: CELLS if n <= anywhere else kind)


@st.composite
def column_argument(draw, parameter: str, length: int, well_formed: bool):
    shapes = ["column", "column", "row", "flat", "tuples"]
    if not well_formed:
        shapes += ["scalar", "block", "ragged", "empty", "empty-row"]
    shape = draw(st.sampled_from(shapes))
    cells = cell_strategy(draw, parameter)
    if shape == "scalar":
        return draw(cells)
    if shape == "block":
        width = draw(st.integers(2, 3))
        return [draw(st.lists(cells, min_size=width, max_size=width))
                for _ in range(draw(st.integers(2, 3)))]
    if shape == "ragged":
        return [[draw(cells)], [draw(cells), draw(cells)]]
    if shape == "empty":
        return []
    if shape == "empty-row":
        return [[]]
    return shaped(draw(st.lists(cells, min_size=length, max_size=length)), shape)


@st.composite
def scalar_argument(draw, parameter: str, well_formed: bool):
    shapes = ["cell", "cell", "one-cell-range", "one-cell-list"]
    shape = draw(st.sampled_from(shapes if well_formed else shapes + ["range", "empty"]))
    cells = cell_strategy(draw, parameter)
    if shape == "one-cell-range":
        return [[draw(cells)]]
    if shape == "one-cell-list":
        return [draw(cells)]
    if shape == "range":
        return [[draw(cells), draw(cells)]]
    if shape == "empty":
        return []
    return draw(cells)


@st.composite
def calls(draw):
    """A function and arguments for all of its parameters, or for the leading ones only
    (optional ones left out as Excel leaves them)."""
    name = draw(st.sampled_from(FUNCTIONS))
    parameters = PARAMETERS[name]
    required = sum(p.default is inspect.Parameter.empty
                   for p in inspect.signature(getattr(udfs, name)).parameters.values())
    given_count = draw(st.integers(required, len(parameters)))
    length = draw(st.integers(0, 6))
    # Two calls in three are well formed (columns of one length, single cells for single
    # cells), so that they reach the conversion of every cell and the KPI itself.
    well_formed = draw(st.sampled_from([True, True, False]))
    args = []
    for parameter in parameters[:given_count]:
        if parameter in udfs.SCALARS:
            args.append(draw(scalar_argument(parameter, well_formed)))
        else:
            mismatch = 0 if well_formed else draw(st.sampled_from([0, 0, 1, -1]))
            args.append(draw(column_argument(parameter, max(length + mismatch, 0),
                                             well_formed)))
    return name, args


def check_outcome(name: str, args: list, classic: bool) -> object:
    """Call the function; check its result or its error against the contract."""
    function = getattr(udfs, name)
    try:
        with mock.patch.object(udfs, "CLASSIC", classic):
            result = function(*args)
    except InputError as error:
        assert not classic, "classic xlwings must get the message as the cell's value"
        assert isinstance(error, ValueError) and isinstance(error, xlwings.XlwingsError)
        check_message(name, str(error))
        return error
    if classic and isinstance(result, str) and result.startswith("#VALUE! "):
        check_message(name, result[len("#VALUE! "):])
        return result
    if result == DIV0:
        assert name != "attainment"
    elif result == NUM:
        pass
    elif result == "":
        assert name == "attainment"
    else:
        assert type(result) in (int, float), (type(result), result)
        assert math.isfinite(result), result
        if name in ("sql_count", "new_opportunities", "deals_won"):
            assert type(result) is int and result >= 0
        if name in ("close_rate", "retention_rate", "churn_rate", "lead_to_sql_rate"):
            assert 0.0 <= result <= 1.0
    return result


def check_message(name: str, message: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message
    names = "|".join(map(re.escape, PARAMETERS[name]))
    assert re.match(rf"^({names})\b", message), (name, message)


@FUZZ
@given(calls(), st.booleans())
def test_any_cells_in_any_shape(call, classic):
    name, args = call
    check_outcome(name, args, classic)


@FUZZ
@given(st.sampled_from(FUNCTIONS), st.data())
def test_only_the_last_cell_is_bad(name, data):
    """A valid column with one bad cell at the end: the error names the argument and the row
    (row numbers count from 1 in the range), rather than the first good cell passing."""
    column = [p for p in PARAMETERS[name]
              if p not in udfs.SCALARS and p not in ("owners", "stages")]  # any stage is one
    if not column:
        return
    target = data.draw(st.sampled_from(column))
    length = data.draw(st.integers(1, 6))
    bad = data.draw(st.sampled_from(["soon", "#N/A", math.nan, math.inf, True, np.bool_(False),
                                     np.datetime64("NaT")]))
    args = []
    for parameter in PARAMETERS[name]:
        if parameter == "period":
            args.append("2026")
        elif parameter in udfs.SCALARS:
            args.append({"actual": 1.0, "target": 2.0, "direction": "up"}.get(parameter))
        elif parameter == "owners":
            args.append(None)
        elif parameter == "stages":
            args.append(shaped(["Won"] * length, "column"))
        else:
            good = dt.datetime(2026, 5, 1) if "date" in parameter else 3.0
            cells = [good] * length
            if parameter == target:
                cells[-1] = bad
            args.append(shaped(cells, "column"))
    outcome = check_outcome(name, args, classic=False)
    assert isinstance(outcome, InputError), (name, target, bad, outcome)
    assert str(outcome).startswith(f"{target} row {length}: "), str(outcome)


# --- valid input: the numbers agree with a reference --------------------------------------

WON = ["Won", "won", "Closed Won", "closed-won", "CLOSED_WON", " Won ", "Успешно реализовано"]
LOST = ["Lost", "Closed Lost", "closed_lost", "LOST", "Закрыто и не реализовано"]
OPEN = ["Negotiation", "Proposal", "Won?", "Closed", "", None, 7, 0.0, "#N/A"]
STAGES = [(stage, 1) for stage in WON] + [(stage, -1) for stage in LOST] + [
    (stage, 0) for stage in OPEN]
FIRST, LAST = dt.date(2025, 9, 1), dt.date(2027, 2, 28)
OWNERS = ["Anna", "anna", "ANNA", "Boris", None, "", 7, 7.0, "7", np.str_("Boris")]
WANTED = [None, "", "anna", "BORIS", 7, "7", "Zed", [["Anna"]]]
PERIODS = [None, "", "2026-10", "2026-1", "2026-Q4", "2026q1", "2026", 2026, 2026.0,
           np.float64(2026.0), dt.date(2026, 10, 15), dt.datetime(2026, 2, 28, 23, 59),
           46310.0, 46310.75, "2026-10-15", " 2026-10 ", [["2026-Q2"]]]


def serial_of(day: dt.date) -> int:
    return (day - EPOCH).days


@st.composite
def date_cell(draw):
    """(the day, or None for a blank; the cell as some runtime sends it; the serial with the
    time of day the cell carries, None for a blank)."""
    day = draw(st.one_of(st.dates(FIRST, LAST), st.none()))
    if day is None:
        return None, draw(st.sampled_from([None, "", " "])), None
    seconds = draw(st.integers(0, 86399))
    moment = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
    form = draw(st.sampled_from(["datetime", "date", "serial", "whole", "iso", "iso-time",
                                 "numpy", "numpy-int"]))
    cell = {"datetime": moment, "date": day, "serial": serial_of(day) + seconds / 86400,
            "whole": serial_of(day), "iso": day.isoformat(),
            "iso-time": f"{day.isoformat()} {moment:%H:%M}",
            "numpy": np.float64(serial_of(day) + seconds / 86400),
            "numpy-int": np.int64(serial_of(day))}[form]
    kept = {"datetime": seconds, "serial": seconds, "numpy": seconds,
            "iso-time": seconds - seconds % 60}.get(form, 0)  # the others hold the day only
    return day, cell, serial_of(day) + kept / 86400


@st.composite
def amount_cell(draw):
    """(the amount, blank as 0; the cell)."""
    value = draw(st.one_of(st.integers(-2000, 100_000).map(lambda n: n / 4), st.none()))
    if value is None:
        return 0.0, draw(st.sampled_from([None, "", "  "]))
    form = draw(st.sampled_from(["float", "int", "numpy"]))
    if form == "int" and value.is_integer():
        return value, int(value)
    return value, np.float64(value) if form == "numpy" else value


@st.composite
def valid_rows(draw, min_size=0):
    rows = draw(st.lists(st.tuples(date_cell(), date_cell(), st.sampled_from(STAGES),
                                   amount_cell(), amount_cell(), amount_cell(),
                                   st.sampled_from(OWNERS)),
                         min_size=min_size, max_size=25))
    return rows


def ref_period(period) -> tuple[dt.date, dt.date] | None:
    """[first day, day after the last) of a period as DESIGN.md words it."""
    if isinstance(period, list):
        period = period[0][0]
    if period is None or (isinstance(period, str) and not period.strip()):
        return None

    def month(year, number):
        after = dt.date(year + number // 12, number % 12 + 1, 1)
        return dt.date(year, number, 1), after

    if isinstance(period, dt.date):
        return month(period.year, period.month)
    if isinstance(period, float | int):
        if float(period).is_integer() and 1900 <= period <= 9999:
            return dt.date(int(period), 1, 1), dt.date(int(period) + 1, 1, 1)
        day = EPOCH + dt.timedelta(days=math.floor(period))
        return month(day.year, day.month)
    text = period.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        return month(int(m[1]), int(m[2]))
    if m := re.fullmatch(r"(\d{4})-?[qQ]([1-4])", text):
        first = dt.date(int(m[1]), 3 * int(m[2]) - 2, 1)
        return first, month(int(m[1]), 3 * int(m[2]))[1]
    if re.fullmatch(r"\d{4}", text):
        return dt.date(int(text), 1, 1), dt.date(int(text) + 1, 1, 1)
    day = dt.date.fromisoformat(text[:10])
    return month(day.year, day.month)


def ref_key(owner):
    """How owners compare (COUNTIFS): case-insensitively; the number 7 is the text "7"."""
    if isinstance(owner, list):
        owner = owner[0][0]
    if owner is None or (isinstance(owner, str) and not owner.strip()):
        return None
    if isinstance(owner, int | float) and float(owner).is_integer():
        return str(int(owner))
    return str(owner).lower()


def ref_rows(rows, day_index: int, period, wanted) -> list[tuple]:
    window = ref_period(period)
    key = ref_key(wanted)
    picked = []
    for row in rows:
        day = row[day_index][0]
        if day is None or (window and not window[0] <= day < window[1]):
            continue
        if key is not None and ref_key(row[6]) != key:
            continue
        picked.append(row)
    return picked


def as_int_if_whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def reference(name: str, rows, period, wanted):
    """The KPI from DESIGN.md's definition, in plain Python. Row: (created, close, (stage,
    class), amount, sent, bounced, owner); the first three are (value, cell) pairs."""
    if name == "new_opportunities":
        return len(ref_rows(rows, 0, period, wanted))
    if name == "deals_won":
        return sum(row[2][1] == 1 for row in ref_rows(rows, 1, period, wanted))
    if name == "won_revenue":
        return as_int_if_whole(math.fsum(row[3][0] for row in ref_rows(rows, 1, period, wanted)
                                         if row[2][1] == 1))
    if name == "close_rate":
        classes = [row[2][1] for row in ref_rows(rows, 1, period, wanted)]
        won, lost = classes.count(1), classes.count(-1)
        return DIV0 if won + lost == 0 else won / (won + lost)
    if name == "emails_delivered":
        picked = ref_rows(rows, 0, period, wanted)
        return as_int_if_whole(math.fsum(row[4][0] for row in picked)
                               - math.fsum(row[5][0] for row in picked))
    if name == "lead_to_sql_rate":  # created = lead date, close = SQL date (any, or blank)
        leads = ref_rows(rows, 0, period, wanted)
        qualified = sum(row[1][0] is not None for row in leads)
        return DIV0 if not leads else qualified / len(leads)
    won = [row for row in ref_rows(rows, 1, period, wanted) if row[2][1] == 1]
    if name == "average_deal_size":
        return DIV0 if not won else math.fsum(row[3][0] for row in won) / len(won)
    if name == "sales_cycle_days":  # won deals without a created date are left out
        days = [row[1][2] - row[0][2] for row in won if row[0][0] is not None]
        return DIV0 if not days else math.fsum(days) / len(days)
    raise AssertionError(name)


def udf_arguments(name: str, rows, period, owners, wanted, shapes):
    created = [row[0][1] for row in rows]
    close = [row[1][1] for row in rows]
    stages = [row[2][0] for row in rows]
    columns = {
        "new_opportunities": [created],
        "deals_won": [stages, close],
        "won_revenue": [[row[3][1] for row in rows], stages, close],
        "close_rate": [stages, close],
        "emails_delivered": [[row[4][1] for row in rows], [row[5][1] for row in rows],
                             created],
        "lead_to_sql_rate": [created, close],
        "average_deal_size": [[row[3][1] for row in rows], stages, close],
        "sales_cycle_days": [created, stages, close],
    }[name]
    return [shaped(column, shape) for column, shape in zip(columns, shapes, strict=False)] + [
        period, owners, wanted]


SHAPES = st.lists(st.sampled_from(["column", "row", "flat", "tuples"]), min_size=3,
                  max_size=3)


@FUZZ
@given(st.sampled_from(["new_opportunities", "deals_won", "won_revenue", "close_rate",
                        "emails_delivered", "lead_to_sql_rate", "average_deal_size",
                        "sales_cycle_days"]),
       valid_rows(), st.sampled_from(PERIODS), st.sampled_from(WANTED), SHAPES,
       st.sampled_from(["column", "flat", "omitted"]))
def test_valid_input_agrees_with_the_reference(name, rows, period, wanted, shapes, owners_as):
    if owners_as == "omitted" and ref_key(wanted) is not None:
        owners_as = "column"  # an owner needs the owner column
    owners = None if owners_as == "omitted" else shaped([row[6] for row in rows], owners_as)
    args = udf_arguments(name, rows, period, owners, wanted, shapes)
    if (ref_key(wanted) is not None and len(rows) == 1 and rows[0][6] is None
            and owners is not None):
        # One blank owner cell is how Office.js sends an omitted argument too (null): the
        # owner column counts as not given, and an owner without one is an error (udfs.py).
        with pytest.raises(InputError, match="^owners: give the owner column"):
            getattr(udfs, name)(*args)
        return
    result = getattr(udfs, name)(*args)
    expected = reference(name, rows, period, wanted)
    if isinstance(expected, str):
        assert result == expected
    elif isinstance(expected, int):
        assert type(result) is int and result == expected, (result, expected)
    else:
        # days between serials of about 46000, each a float within 2**-38 of the moment
        tolerance = 1e-9 if name == "sales_cycle_days" else 1e-12
        assert type(result) is float and result == pytest.approx(expected, rel=1e-12,
                                                                 abs=tolerance)


@FUZZ
@given(valid_rows(min_size=1), st.sampled_from(PERIODS))
def test_the_team_is_the_sum_of_its_owners(rows, period):
    """DEALS_WON and EMAILS_DELIVERED of the team = the sum over every owner (blank owners
    included as the rest); CLOSE_RATE of the team is pooled, never an average."""
    stages = shaped([row[2][0] for row in rows], "column")
    close = shaped([row[1][1] for row in rows], "column")
    owners = shaped([row[6] for row in rows], "column")
    keys = {ref_key(row[6]) for row in rows} - {None}
    blank_rows = [row for row in rows if ref_key(row[6]) is None]
    team = udfs.deals_won(stages, close, period)
    parts = sum(udfs.deals_won(stages, close, period, owners, key) for key in keys)
    assert team == parts + reference("deals_won", blank_rows, period, None)
    rate = udfs.close_rate(stages, close, period)
    assert rate == reference("close_rate", rows, period, None)


# --- numpy and runtime forms ---------------------------------------------------------------

@FUZZ
@given(st.sampled_from(FUNCTIONS), st.data())
def test_numpy_scalars_count_like_python_numbers(name, data):
    """A numpy float or int (from a Python caller, or pandas) counts as the plain number."""
    length = data.draw(st.integers(1, 4))
    args_plain, args_numpy = [], []
    for parameter in PARAMETERS[name]:
        if parameter in ("period",):
            value = data.draw(st.sampled_from(["2026", "2026-05", None]))
            if name in ("retention_rate", "churn_rate", "revenue_growth") and value is None:
                value = "2026"
            args_plain.append(value)
            args_numpy.append(value)
        elif parameter in ("owners", "owner", "direction"):
            args_plain.append(None)
            args_numpy.append(None)
        elif parameter in ("actual", "target"):
            value = data.draw(st.integers(0, 1000)) / 4
            args_plain.append(value)
            args_numpy.append(np.float64(value))
        elif parameter == "stages":
            column = data.draw(st.lists(st.sampled_from(["Won", "Lost", "Open"]),
                                        min_size=length, max_size=length))
            args_plain.append(shaped(column, "column"))
            args_numpy.append(shaped(list(map(np.str_, column)), "column"))
        elif "date" in parameter:
            column = data.draw(st.lists(st.integers(46023, 46387), min_size=length,
                                        max_size=length))  # 2026
            args_plain.append(shaped([float(v) for v in column], "column"))
            args_numpy.append(shaped(list(map(np.int64, column)), "column"))
        else:
            column = data.draw(st.lists(st.integers(0, 400), min_size=length, max_size=length))
            args_plain.append(shaped([v / 4 for v in column], "column"))
            args_numpy.append(shaped([np.float32(v / 4) for v in column], "column"))
    function = getattr(udfs, name)
    plain, numpy_ = function(*args_plain), function(*args_numpy)
    assert plain == numpy_ and type(plain) is type(numpy_), (plain, numpy_)


# --- bugs found once, pinned -----------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (("emails_delivered", ([[10**400]], [[0]], [[46000]])),
     "sent row 1: 1.000e+400 is too large a number"),
    (("emails_delivered", ([[1], [10**400]], [[0], [0]], [[46000], [46000]])),
     "sent row 2: 1.000e+400 is too large a number"),
    (("new_opportunities", ([[10**400]],)), "created_dates row 1: 1.000e+400 is not a date"),
    (("new_opportunities", ([[46000]], 10**400)),
     "period: 1.000e+400 is not a period; use 2026-10, 2026-Q4, 2026 or a date"),
    (("deals_won", ([["Won"]], [[46000]], None, [["Anna"]], 10**400)), None),
    (("attainment", (10**400, 5)), "actual: 1.000e+400 is too large a number"),
], ids=["number-column", "number-row-2", "date-column", "period", "owner", "attainment"])
def test_integers_beyond_float_range_are_input_errors(call, message):
    """A Python int past 1.8e308 (no float holds it) is an InputError naming the argument and
    the row, not an OverflowError; as an owner it is a name like any other (no match)."""
    name, args = call
    outcome = check_outcome(name, list(args), classic=False)
    if message is None:
        assert outcome == 0
    else:
        assert isinstance(outcome, InputError) and str(outcome) == message


@pytest.mark.parametrize("call", [
    ("emails_delivered", ([[1e308], [1e308]], [[0], [0]], [[46000], [46000]])),
    ("won_revenue", ([[1e308], [1e308]], [["Won"], ["Won"]], [[46000], [46000]])),
    ("cost_per_lead", ([[1e308], [1e308]], [[46000], [46000]], [[46000]])),
    ("email_open_rate", ([[1e308]], [[1e-300]], [[0]], [[46000]])),
    ("revenue_growth", ([[1e308], [-1e308]], [["Won"], ["Won"]], [[46000], [45965]], 46000)),
    ("attainment", (1e308, 1e-308)),
], ids=["sum", "won-revenue", "cost-per-lead", "ratio", "growth", "attainment"])
@pytest.mark.parametrize("classic", [False, True], ids=["officejs", "classic"])
def test_results_past_the_float_range_are_num_errors(call, classic):
    """Sums and ratios of finite cells that overflow are #NUM!, as Excel shows such a result
    (=SUM(1E308,1E308)), never an infinity."""
    name, args = call
    assert check_outcome(name, list(args), classic=classic) == NUM


@pytest.mark.parametrize("owners", [np.array([["Anna"]]), np.array([["Anna"], ["Boris"]]),
                                    np.array(["Anna", "Boris"], dtype=object)],
                         ids=["one-cell", "column", "flat-object"])
def test_a_numpy_array_as_the_owner_column(owners):
    """An ndarray (from a Python caller, or xlwings' np.array converter) is a range like the
    nested lists it holds."""
    rows = len(owners)
    result = check_outcome("deals_won", [[["Won"]] * rows, [[46300]] * rows, None, owners,
                                         "Anna"], classic=False)
    assert result == 1


@pytest.mark.parametrize("period", [np.int64(2026), np.float32(2026.0), np.int32(2026)],
                         ids=["int64", "float32", "int32"])
def test_a_numpy_year_is_a_year(period):
    """numpy's integers and float32 (from a Python caller, or pandas) are the year they hold,
    as a numpy float64 (a float) or the same number as a Python int is."""
    assert udfs.deals_won([["Won"]], [[46100]], 2026) == 1
    assert udfs.deals_won([["Won"]], [[46100]], period) == 1


@pytest.mark.parametrize("rows, message", [
    ([["Won"], ["Lost", "Won"]],
     "stages: give a single column or row, not 2 rows of different lengths (1 to 2 cells)"),
    ([["Won"], ["Lost", "Won"], ["Won"]],
     "stages: give a single column or row, not 3 rows of different lengths (1 to 2 cells)"),
    ([["Won", "Lost"], ["Won"]],
     "stages: give a single column or row, not 2 rows of different lengths (1 to 2 cells)"),
    ([["Won", "Lost"], ["Won", "Won"]], "stages: give a single column or row, not a 2×2 block"),
    ([["Won"], "Lost", ["Won"]],
     "stages: give a single column or row, not a mix of rows and single cells"),
], ids=["ragged-2", "ragged-middle", "ragged-first", "block", "mixed"])
def test_a_range_that_is_not_a_column_is_described_as_it_is(rows, message):
    dates = [[46300]] * len(rows)
    with pytest.raises(InputError) as error:
        udfs.deals_won(rows, dates, "2026-10")
    assert str(error.value) == message

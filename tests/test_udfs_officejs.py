"""xlkpi.udfs through xlwings' own Office.js call path (xlwings Server and xlwings Lite).

tests/conftest.py sets XLWINGS_ON_SERVER=true and a noncommercial license key before xlwings is
first imported, so ``from xlwings import func, arg`` in xlkpi.udfs are the Office.js decorators
and ``xlwings.server.custom_functions_call`` converts the arguments exactly as it does for
Excel. Should xlwings have been imported without them (another plugin, a preset environment),
this file runs itself again in a subprocess that has them.

Payloads are what the add-in posts: every argument a 2-D list, dates as serial numbers, empty
cells and omitted arguments null, JSON-encoded as JavaScript does it (whole numbers as ints).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import xlwings
from hypothesis import example, given
from hypothesis import strategies as st

from xlkpi import udfs
from xlkpi.core.errors import InputError
from xlkpi.udfs import NUM

from .kpi_cases import BAD, CASES, DIV0, SIGNATURES, Col, classic, officejs

ON_SERVER = bool(xlwings.on_server) and hasattr(udfs.close_rate, "__xlfunc__")
if ON_SERVER:
    import xlwings.server

DIV0_ERROR = {"type": "Error", "errorType": "Div0"}  # what xlwings sends for runtime >= 1.4
NUM_ERROR = {"type": "Error", "errorType": "Num"}


@pytest.fixture(autouse=True)
def _server_mode(request):
    if not ON_SERVER and request.node.originalname != "test_in_server_mode":
        pytest.skip("xlwings was imported outside server mode; see test_in_server_mode")


def test_in_server_mode():
    """Here xlwings runs in server mode; if it did not, rerun this file where it does."""
    if ON_SERVER:
        return
    env = {**os.environ, "XLWINGS_ON_SERVER": "true", "XLWINGS_LICENSE_KEY": "noncommercial"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           __file__], cwd=Path(__file__).parents[1], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _as_javascript_json(value):
    """JSON.stringify writes 46296.0 as 46296: whole numbers arrive in Python as int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_as_javascript_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_javascript_json(item) for key, item in value.items()}
    return value


def payload(function: str, args: list, runtime: str = "1.4", whole_as_int: bool = True) -> dict:
    """What the add-in posts; omitted optional arguments are sent as null, as Office.js does."""
    count = len(inspect.signature(getattr(udfs, function)).parameters)
    args = list(args) + [None] * (count - len(args))
    data = {"func_name": function, "args": args, "caller_address": "Sheet1!B2",
            "version": xlwings.__version__, "client": "Office.js", "runtime": runtime,
            "culture_info_name": "en-US", "date_format": "M/d/yyyy"}
    if whole_as_int:
        data = _as_javascript_json(data)
    return json.loads(json.dumps(data, allow_nan=False))


def run(function: str, args: list, **options):
    return asyncio.run(xlwings.server.custom_functions_call(payload(function, args, **options),
                                                            udfs))


def as_officejs_result(value):
    """A function's direct result as the Office.js path hands it back: one cell, errors typed."""
    return [[{DIV0: DIV0_ERROR, NUM: NUM_ERROR}.get(value, value) if isinstance(value, str)
             else value]]


# --- registration --------------------------------------------------------------------------

def test_registered_names_and_parameters_are_designs():
    meta = xlwings.server.custom_functions_meta(udfs)
    functions = {function["name"]: function for function in meta["functions"]}
    assert set(functions) == set(SIGNATURES)  # no namespace prefix from the module
    for name, arguments in SIGNATURES.items():
        function = functions[name]
        assert function["id"] == name
        assert function["description"] == getattr(udfs, name.lower()).__doc__
        shown = ", ".join(f"[{p['name']}]" if p.get("optional") else p["name"]
                          for p in function["parameters"])
        assert shown == arguments, name
        for parameter in function["parameters"]:
            assert parameter["dimensionality"] == "matrix" and parameter["type"] == "any"
            assert not parameter["description"].startswith("Positional argument"), parameter
            assert "repeating" not in parameter
    assert meta["allowErrorForDataTypeAny"] is True


def test_column_arguments_are_read_2d_and_cells_whole():
    for name in SIGNATURES:
        for argument in getattr(udfs, name.lower()).__xlfunc__["args"]:
            options = argument["options"]
            assert options.get("err_to_str") is True
            assert options.get("ndim") == (None if argument["name"] in udfs.SCALARS else 2)


# --- hand-worked values --------------------------------------------------------------------

def check(result, expected) -> None:
    assert isinstance(result, list) and len(result) == 1 and len(result[0]) == 1
    cell = result[0][0]
    if expected == DIV0:
        assert cell == DIV0_ERROR
    elif isinstance(expected, str):
        assert cell == expected
    elif isinstance(expected, int):
        assert cell == expected and type(cell) is int
    else:
        assert type(cell) is float and cell == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("whole_as_int", [True, False], ids=["js-json", "float-serials"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_hand_worked_values(case, whole_as_int):
    check(run(case.function, [officejs(arg) for arg in case.args], whole_as_int=whole_as_int),
          case.expected)


def test_div0_before_runtime_1_4_is_the_text():
    # runtime < 1.4 has no error values: xlwings hands back the text
    assert run("close_rate", [[["Won"]], [[46296]], [["2026-12"]]], runtime="1.3") == [[DIV0]]


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: bad.id)
def test_bad_input_raises_with_the_message(bad):
    """Raised out of custom_functions_call: the add-in shows it as #VALUE! with the message.

    xlwings Server, in production, shows the message only of an XlwingsError.
    """
    with pytest.raises(InputError) as raised:
        run(bad.function, [officejs(arg) for arg in bad.args])
    assert str(raised.value) == bad.message
    assert isinstance(raised.value, xlwings.XlwingsError)


def test_error_cell_as_period_is_reported():
    with pytest.raises(InputError, match=r"^period: '#N/A' is not a period"):
        run("deals_won", [[["Won"]], [[46296]],
                          [[{"type": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"}]]])


def test_blank_one_cell_arguments():
    # Office.js sends an empty one-cell argument as null: one blank row, or "no owner column"
    assert run("new_opportunities", [[[None]]]) == [[0]]
    assert run("deals_won", [[[""]], [[46296]], None, [[None]], [[""]]]) == [[0]]


# --- the two paths agree -------------------------------------------------------------------

STAGE = st.sampled_from(["Won", "closed won", "Lost", "Closed-Lost", "Open", "", None])
DAY = st.one_of(st.none(), st.datetimes(dt.datetime(2026, 6, 1), dt.datetime(2027, 1, 31)))
AMOUNT = st.one_of(st.none(), st.integers(0, 10_000).map(float),
                   st.floats(0, 1e6, allow_nan=False))
PERIOD = st.sampled_from([None, "2026-10", "2026-Q4", "2026", 2026.0, "2026-10-15",
                          dt.datetime(2026, 11, 20), "2026-13"])


def same_or_same_error(function: str, officejs_args: list, direct_args: list):
    """The Office.js path gives the direct call's result, or raises its InputError."""
    try:
        direct = getattr(udfs, function)(*direct_args)
    except InputError as error:
        with pytest.raises(InputError) as raised:
            run(function, officejs_args)
        assert str(raised.value) == str(error)
    else:
        assert run(function, officejs_args) == as_officejs_result(direct)


@given(stage=STAGE, day=DAY, amount=AMOUNT, period=PERIOD)
def test_one_cell_range_is_the_value_as_a_list(stage, day, amount, period):
    for function, cells in (("close_rate", [stage, day]), ("won_revenue", [amount, stage, day])):
        same_or_same_error(function,
                           [officejs(Col([cell])) for cell in cells] + [officejs(period)],
                           [[cell] for cell in cells] + [period])


def _columns_for(function, rows, period, owner, attain):
    """Arguments for any function from rows (stage, day, day2, number, number2, owner)."""
    stage, day, day2, number, number2, owners = (Col(row[i] for row in rows) for i in range(6))
    # a second date column where a function takes two (SQL dates of leads, the created dates
    # SALES_CYCLE_DAYS subtracts from the close dates)
    by_name = {"stages": stage, "end_dates": day2, "sql_dates": day2, "created_dates": day2,
               "bounced": number2, "owners": owners, "period": period, "owner": owner,
               **attain}
    args = []
    for name in inspect.signature(getattr(udfs, function)).parameters:
        if name in by_name:
            args.append(by_name[name])
        elif name.endswith("dates"):
            args.append(day)
        else:
            args.append(number)
    return args


ROW = st.tuples(STAGE, DAY, DAY, AMOUNT, AMOUNT, st.sampled_from(["Anna", "Boris", None]))


@given(function=st.sampled_from(sorted(name.lower() for name in SIGNATURES)),
       rows=st.lists(ROW, max_size=8), period=PERIOD,
       owner=st.sampled_from([None, "Anna", "boris"]),
       attain=st.fixed_dictionaries({"actual": AMOUNT, "target": AMOUNT,
                                     "direction": st.sampled_from([None, "up", "down",
                                                                  "growth"])}))
# A target past the range of numbers once divided by a tiny actual: "#NUM!", an error cell in
# Office.js (hypothesis found it; the comparison knew only #DIV/0!).
@example(function="attainment", rows=[], period=None, owner=None,
         attain={"actual": 2.225e-309, "target": 1.0, "direction": "down"})
def test_classic_datetimes_and_officejs_serials_agree(function, rows, period, owner, attain):
    args = _columns_for(function, rows, period, owner, attain)
    same_or_same_error(function, [officejs(arg) for arg in args], [classic(arg) for arg in args])

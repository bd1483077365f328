"""xlkpi.udfs called as plain Python with what classic desktop xlwings hands a function.

Column arguments are read with ndim=2, so classic xlwings passes a list of rows (datetimes for
dates, None for empty cells) even for a one-cell range; single cells come as they are.
Expected values are worked out by hand in tests/kpi_cases.py.
"""

from __future__ import annotations

import datetime as dt
import inspect
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlkpi import udfs
from xlkpi.core import cells as conversion
from xlkpi.core.errors import InputError

from .kpi_cases import BAD, CASES, DIV0, SIGNATURES, D, classic


def call(function: str, args: tuple):
    return getattr(udfs, function)(*map(classic, args))


def check(result, expected) -> None:
    if isinstance(expected, str):
        assert result == expected
    elif isinstance(expected, int):
        assert result == expected and type(result) is int  # a count reads 12, not 12.0
    else:
        assert type(result) is float and result == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_hand_worked_values(case):
    check(call(case.function, case.args), case.expected)


def test_every_function_has_a_case():
    assert {case.function.upper() for case in CASES} == set(SIGNATURES)


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: bad.id)
def test_bad_input_names_argument_and_row(bad):
    with pytest.raises(InputError) as raised:
        call(bad.function, bad.args)
    assert str(raised.value) == bad.message
    assert isinstance(raised.value, ValueError)  # Office.js shows a ValueError as #VALUE!


def test_signatures_are_designs():
    """Same names, same order, optional arguments default to None."""
    for name, arguments in SIGNATURES.items():
        parameters = inspect.signature(getattr(udfs, name.lower())).parameters.values()
        shown = ", ".join(f"[{p.name}]" if p.default is None else p.name for p in parameters)
        assert shown == arguments, name
        assert all(p.default in (None, inspect.Parameter.empty) for p in parameters)


# --- shapes --------------------------------------------------------------------------------

STAGES = ["Won", "Lost", "Won", None]
DATES = [D(2026, 10, 1), D(2026, 10, 2), D(2026, 11, 1), D(2026, 10, 3)]
# October: Won, Lost, (Nov), open -> 1 / 2


@pytest.mark.parametrize("shape", [
    lambda column: [[value] for value in column],  # a column range
    lambda column: [list(column)],  # a row range
    lambda column: list(column),  # a flat list, from Python
    lambda column: tuple((value,) for value in column),  # tuples of rows
], ids=["column", "row", "flat", "tuples"])
def test_column_or_row_give_the_same(shape):
    assert udfs.close_rate(shape(STAGES), shape(DATES), "2026-10") == 0.5


def test_one_cell_range_and_scalar_are_the_same():
    # one won deal closing in October: 1 / 1
    assert udfs.close_rate([["Won"]], [[D(2026, 10, 9)]], [["2026-10"]]) == 1.0
    assert udfs.close_rate("Won", D(2026, 10, 9), "2026-10") == 1.0
    assert udfs.won_revenue([[250.0]], [["Won"]], [[D(2026, 10, 9)]]) == 250
    assert udfs.won_revenue(250.0, "Won", D(2026, 10, 9)) == 250


def test_a_blank_one_cell_column_is_one_blank_row():
    # Office.js sends a blank one-cell argument as None: that is a column of one blank cell
    assert udfs.new_opportunities(None) == 0
    assert udfs.deals_won(None, [[D(2026, 10, 1)]]) == 0
    with pytest.raises(InputError, match="^stages and close_dates differ in length: 1 vs 2$"):
        udfs.deals_won(None, [[D(2026, 10, 1)], [D(2026, 10, 2)]])


def test_owners_omitted_or_blank_owner_is_the_team():
    team = udfs.deals_won([["Won"], ["Won"]], [[D(2026, 10, 1)], [D(2026, 10, 2)]])
    assert team == 2
    assert udfs.deals_won([["Won"], ["Won"]], [[D(2026, 10, 1)], [D(2026, 10, 2)]], None,
                          [["Anna"], ["Boris"]], "") == 2
    assert udfs.deals_won([["Won"], ["Won"]], [[D(2026, 10, 1)], [D(2026, 10, 2)]], None,
                          [["Anna"], ["Boris"]], [["Anna"]]) == 1


def test_iso_text_dates_and_serial_dates_count_like_datetimes():
    # 46296 is 2026-10-01 (=DATE(2026,10,1) in Excel); all three are October
    assert udfs.new_opportunities([["2026-10-05"], [46296.0], [D(2026, 10, 30)]], "2026-10") == 3


def test_error_text_in_a_column():
    with pytest.raises(InputError, match=r"^sent row 2: '#N/A' is not a number$"):
        udfs.emails_delivered([[10.0], ["#N/A"]], [[0.0], [0.0]], [[D(2026, 10, 1)]] * 2)


def test_help_text_fits_the_function_wizard():
    """Classic xlwings cuts descriptions at 255 characters (Application.MacroOptions)."""
    for name in SIGNATURES:
        function = getattr(udfs, name.lower())
        assert function.__doc__ and len(function.__doc__) <= 255, name
        assert "\n" not in function.__doc__
    assert all(len(doc) <= 255 for doc in udfs.ARG_DOCS.values())


# --- whatever lands in the cells: a result or an InputError, never anything else ------------

CELLS = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(-10**6, 3 * 10**6),
    st.floats(-1e12, 1e12, allow_nan=False),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31)),
    st.sampled_from(["Won", "Closed Lost", "open", "Anna", "2026-10", "2026-Q4", "2026",
                     "2026-10-15", "soon", "#N/A", "#DIV/0!", "up", "down", "growth", "  "]),
    st.text(max_size=6),
)


@st.composite
def arguments(draw):
    name = draw(st.sampled_from(sorted(SIGNATURES)))
    function = getattr(udfs, name.lower())
    rows = draw(st.integers(0, 4))
    args = []
    for parameter in inspect.signature(function).parameters:
        if parameter in udfs.SCALARS:
            args.append(draw(st.one_of(CELLS, st.lists(st.lists(CELLS, min_size=1,
                                                                 max_size=2), max_size=2))))
        else:
            length = draw(st.sampled_from([rows, rows, rows, rows + 1]))
            args.append(draw(st.one_of(
                st.lists(st.lists(CELLS, min_size=1, max_size=1), min_size=length,
                         max_size=length),
                CELLS,
                st.lists(st.lists(CELLS, min_size=2, max_size=2), min_size=2, max_size=3))))
    return function, args


@given(arguments())
def test_any_cells_give_a_result_or_an_input_error(drawn):
    function, args = drawn
    try:
        result = function(*args)
    except InputError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert result in (DIV0, "") or type(result) in (int, float)


# --- how bad input reaches the cell --------------------------------------------------------

def test_bad_input_is_an_xlwings_error_outside_classic():
    """xlwings Server shows only an XlwingsError's message in production ("An error ocurred."
    for anything else), so the InputError is raised as one."""
    import xlwings

    assert udfs.CLASSIC is False
    with pytest.raises(xlwings.XlwingsError, match="^stages and dates differ in length: 2 vs 1$"):
        udfs.close_rate([["Won"], ["Lost"]], [[D(2026, 10, 1)]])


def test_classic_shows_the_message_not_a_traceback(monkeypatch):
    """Classic xlwings writes a raised exception's traceback into the cell: return the text."""
    monkeypatch.setattr(udfs, "CLASSIC", True)
    assert udfs.close_rate([["Won"], ["Lost"]], [[D(2026, 10, 1)]]) == \
        "#VALUE! stages and dates differ in length: 2 vs 1"
    assert udfs.attainment(3.0, 4.0, "sideways") == \
        "#VALUE! direction: 'sideways' is not \"up\", \"down\" or \"growth\""
    assert udfs.close_rate([["Won"]], [[D(2026, 10, 1)]]) == 1.0


def test_classic_is_recognised_by_the_decorator_module():
    """On Windows, ``from xlwings import func`` is xlwings.udfs.xlfunc (not importable here)."""
    import xlwings

    package = Path(xlwings.__file__).parent
    assert "xlfunc as func" in (package / "__init__.py").read_text(encoding="utf-8")
    assert "\ndef xlfunc(" in (package / "udfs.py").read_text(encoding="utf-8")


def test_star_import_gives_the_functions_only():
    assert sorted(udfs.__all__) == sorted(name.lower() for name in SIGNATURES)


def test_a_column_range_of_dates_with_blanks_and_the_last_day():
    """Column ranges of datetimes convert in one pass (blanks marked as 9999-12-31 meanwhile):
    a real 9999-12-31 still counts as a date, a blank as a blank, a bad cell names its row."""
    last = D(9999, 12, 31)
    dates = [[D(2026, 10, 1)], [None], [last], [None], [D(9999, 12, 1)]]
    assert udfs.new_opportunities(dates, "9999-12") == 2
    assert udfs.new_opportunities(dates, None) == 3
    assert udfs.new_opportunities(dates, "2026-10") == 1
    with pytest.raises(InputError, match=r"^created_dates row 3: 0 is not a date$"):
        udfs.new_opportunities([[D(2026, 10, 1)], [None], [0]], None)
    assert udfs.new_opportunities([[D(2026, 10, 1)], [""], [None]], None) == 1  # "" is blank


# --- the quick paths of conversion.to_dates against the cell-by-cell one ------------------------

def _by_cell(cells: list) -> np.ndarray:
    """What conversion._date_serial makes of each cell: the reference for every quick path."""
    return np.array([conversion._date_serial(cell, "sql_dates", row)
                     for row, cell in enumerate(cells, 1)])


def _as_range(cells: list) -> conversion.OneCellRows:
    return conversion.OneCellRows([[cell] for cell in cells], "sql_dates")


def _mostly_blank(filled: list, every: int) -> list:
    """``filled`` with every - 1 blanks after each cell: with 4, 75 % blank, as SQL dates and
    customer end dates are, so that to_dates takes its path for mostly blank columns."""
    cells = []
    for cell in filled:
        cells += [cell] + [None] * (every - 1)
    return cells


DATETIMES = [dt.datetime(2026, 10, 1), dt.datetime(2026, 10, 1, 23, 59, 59),
             dt.datetime(2025, 1, 31, 6), dt.date(2026, 3, 1), dt.date(9999, 12, 31),
             dt.datetime(9999, 12, 31, 12)]
SERIALS = [46296.0, 46296.999, 45688.25, 1.0, 2958465.5, 45000, 60.0, 61.0]


@pytest.mark.parametrize("filled", [
    DATETIMES * 50, SERIALS * 50, ["2026-10-01"] * 10 + [dt.date(2026, 10, 2)] * 10,
    [dt.datetime(2026, 10, 1, 1)] * 400 + [46297.5], [""] * 3 + SERIALS * 50,
], ids=["datetimes", "serials", "texts", "mixed", "empty texts"])
@pytest.mark.parametrize("every", [1, 4], ids=["filled", "mostly blank"])
def test_quick_paths_give_the_serials_cell_by_cell(filled, every):
    """Mostly blank or filled, from a column range or a flat list: the same serials as cell by
    cell (timestamps, whole days, a real 9999-12-31 among blanks, ints among floats, and ISO
    texts, a mix or "" blanks, which fall back to the general path)."""
    cells = _mostly_blank(filled, every)
    expected = _by_cell(cells)
    for values in (_as_range(cells), cells):
        assert np.array_equal(conversion.to_dates(values, "sql_dates"), expected, equal_nan=True)


BAD_CELLS = [True, "45000", "soon", 0, -1.0, 2958466.0, float("nan"), float("inf"), 2 ** 1100,
             Decimal("45000"), dt.time(12)]


@pytest.mark.parametrize("bad", BAD_CELLS, ids=repr)
@pytest.mark.parametrize("filled", [DATETIMES, SERIALS], ids=["datetimes", "serials"])
@pytest.mark.parametrize("every", [1, 4], ids=["filled", "mostly blank"])
def test_a_bad_date_at_the_end_of_a_column_names_its_row(bad, filled, every):
    """One bad cell after thousands of good ones, in a mostly blank or a filled column range
    or list: still the InputError of the cell-by-cell path, naming the argument and the row."""
    cells = _mostly_blank(filled * 400, every) + [None, bad]
    with pytest.raises(InputError) as by_cell:
        _by_cell(cells)
    assert str(by_cell.value).startswith(f"sql_dates row {len(cells)}: ")
    for values in (_as_range(cells), cells):
        with pytest.raises(InputError) as quick:
            conversion.to_dates(values, "sql_dates")
        assert str(quick.value) == str(by_cell.value)


@pytest.mark.parametrize("every", [1, 4], ids=["filled", "mostly blank"])
def test_a_ragged_row_at_the_end_of_a_column_range_is_found(every):
    rows = [[cell] for cell in _mostly_blank(SERIALS * 400, every)] + [[46296.0, 1.0]]
    with pytest.raises(InputError, match=r"^sql_dates: give a single column or row, not "):
        conversion.to_dates(conversion.OneCellRows(rows, "sql_dates"), "sql_dates")


def test_a_nan_among_blanks_is_no_blank():
    """A NaN cell is a bad date even where most cells are None (numpy makes both NaN)."""
    for every in (1, 4):
        cells = _mostly_blank(SERIALS * 100, every)
        cells[-every] = float("nan")
        for values in (_as_range(cells), cells):
            with pytest.raises(InputError, match=rf"^sql_dates row {len(cells) - every + 1}: "
                                                 r"nan is not a date$"):
                conversion.to_dates(values, "sql_dates")


def test_none_rows_by_identity():
    """conversion._is_none finds the Nones by address, not what merely equals None."""
    class EqualsAll:
        def __eq__(self, other):
            return True

        __hash__ = object.__hash__

    cells = [None, 0, "", EqualsAll(), float("nan"), None, False]
    objects = np.fromiter(cells, object, count=len(cells))
    assert conversion._is_none(objects).tolist() == [True, False, False, False, False, True, False]


def test_numbers_within_are_the_rows_of_to_numbers():
    values = [1.5, None, 2.0, 3.25, None, 4.0] * 10
    for within in (np.arange(60) % 7 == 0, np.arange(60) % 3 != 0):
        assert np.array_equal(conversion.numbers_within(values, "spend", within),
                              conversion.to_numbers(values, "spend", within=within)[within])

"""The Excel functions inside a workbook, calculated by the ``formulas`` package.

A small workbook holds the rows of tests/kpi_cases.py and formulas such as
``=CLOSE_RATE(Data!B2:B9,Data!D2:D9,"2026-10")``; formulas calculates it with xlkpi.udfs
registered as its functions, and the cells must hold the hand-worked values.

``formulas`` hands a function ranges of numpy cells, its own empty-cell token and its own
error values; the adapter below turns them into what Excel sends (None, the error's text as with
err_to_str, plain numbers) and the results back into formulas' errors. That is the job of the
test, not of xlkpi.udfs.
"""

from __future__ import annotations

import functools

import numpy as np
import openpyxl
import pytest

formulas = pytest.importorskip("formulas")
sh = pytest.importorskip("schedula")
from formulas.ranges import Ranges  # noqa: E402
from formulas.tokens.operand import Error, XlError  # noqa: E402

from xlkpi import udfs  # noqa: E402
from xlkpi.core.errors import InputError  # noqa: E402

from .kpi_cases import (  # noqa: E402
    CASES,
    CUST_END,
    CUST_OWNER,
    CUST_START,
    DIV0,
    MAIL_BOUNCED,
    MAIL_DATE,
    MAIL_OPENED,
    MAIL_OWNER,
    MAIL_SENT,
    OPP_AMOUNT,
    OPP_CLOSE,
    OPP_CREATED,
    OPP_OWNER,
    OPP_STAGE,
    SIGNATURES,
)

EXPECTED = {case.id: case.expected for case in CASES}

# Data sheet: columns -> (header, values); rows start at 2
DATA = {
    "A": ("Owner", OPP_OWNER), "B": ("Stage", OPP_STAGE), "C": ("Created", OPP_CREATED),
    "D": ("Close", OPP_CLOSE), "E": ("Amount", OPP_AMOUNT),
    "G": ("Owner", CUST_OWNER), "H": ("Start", CUST_START), "I": ("End", CUST_END),
    "K": ("Owner", MAIL_OWNER), "L": ("Date", MAIL_DATE), "M": ("Sent", MAIL_SENT),
    "N": ("Bounced", MAIL_BOUNCED), "O": ("Opened", MAIL_OPENED),
}
OPPS, CUSTOMERS, MAILS = "2:D9", "2:H8", "2:L5"  # row spans, for reading the formulas below

# KPIs sheet: cell -> (formula, expected value)
FORMULAS = {
    "B2": ('=CLOSE_RATE(Data!B2:B9,Data!D2:D9,"2026-10")', EXPECTED["close-oct"]),
    "B3": ('=CLOSE_RATE(Data!B2:B9,Data!D2:D9,"2026-10",Data!A2:A9,"Anna")',
           EXPECTED["close-oct-anna"]),
    "B4": ('=CLOSE_RATE(Data!B2:B9,Data!C2:C9,"2026-10")', EXPECTED["close-cohort-oct"]),
    "B5": ('=CLOSE_RATE(Data!B2:B9,Data!D2:D9,"2026-12")', DIV0),
    "B6": ('=WON_REVENUE(Data!E2:E9,Data!B2:B9,Data!D2:D9,"2026-10")', EXPECTED["rev-oct"]),
    "B7": ("=WON_REVENUE(Data!E2:E9,Data!B2:B9,Data!D2:D9,2026)", EXPECTED["rev-2026"]),
    "B8": ('=RETENTION_RATE(Data!H2:H8,Data!I2:I8,"2026-10")', EXPECTED["ret-oct"]),
    "B9": ('=RETENTION_RATE(Data!H2:H8,Data!I2:I8,"2026-10",Data!G2:G8,"Anna")',
           EXPECTED["ret-oct-anna"]),
    "B10": ('=EMAIL_OPEN_RATE(Data!O2:O5,Data!M2:M5,Data!N2:N5,Data!L2:L5,"2026-10")',
            EXPECTED["open-oct"]),
    "B11": ('=EMAIL_OPEN_RATE(Data!O2:O5,Data!M2:M5,Data!N2:N5,Data!L2:L5,"2026-12")', DIV0),
    # ATTAINMENT of the close rate in B2 against a target of 0.6: 0.75 / 0.6
    "B12": ("=ATTAINMENT(B2,0.6)", EXPECTED["att-up"]),
    "B13": ('=ATTAINMENT(500,400,"down")', EXPECTED["att-down"]),  # 400 / 500
    # the #DIV/0! in B5 has no attainment: blank
    "B14": ("=ATTAINMENT(B5,0.5)", ""),
    "B15": ('=ATTAINMENT(B6,"")', EXPECTED["att-no-target"]),  # blank target
    # the functions compose with Excel's own: 0.75 * 100
    "B16": ('=ROUND(CLOSE_RATE(Data!B2:B9,Data!D2:D9,"2026-10")*100,0)', 75),
}
BAD_FORMULAS = {
    # stages has 8 rows, dates 7
    "B20": ("=CLOSE_RATE(Data!B2:B9,Data!D2:D8)", "stages and dates differ in length: 8 vs 7"),
    "B21": ('=ATTAINMENT(0.5,0.4,"sideways")',
            "direction: 'sideways' is not \"up\", \"down\" or \"growth\""),
}


def _cell(value):
    """One formulas cell as Excel sends it."""
    if value is sh.EMPTY:
        return None
    if isinstance(value, XlError):
        return str(value)  # "#DIV/0!": xlkpi.udfs reads error cells with err_to_str=True
    if isinstance(value, np.generic):
        return value.item()
    return value


def _argument(value):
    if isinstance(value, Ranges):
        value = value.value
    if isinstance(value, np.ndarray):
        return [[_cell(cell) for cell in row] for row in np.atleast_2d(value).tolist()]
    return _cell(value)


def _adapt(function, messages: list):
    @functools.wraps(function)
    def adapted(*args):
        try:
            result = function(*map(_argument, args))
        except InputError as error:
            messages.append(str(error))
            return Error.errors["#VALUE!"]
        return Error.errors[DIV0] if result == DIV0 else result
    return adapted


@pytest.fixture(scope="module")
def calculated(tmp_path_factory):
    """The workbook's cells after formulas calculated it, and the InputError messages raised."""
    path = tmp_path_factory.mktemp("formulas") / "kpis.xlsx"
    book = openpyxl.Workbook()
    data = book.active
    data.title = "Data"
    for column, (header, values) in DATA.items():
        data[f"{column}1"] = header
        for row, value in enumerate(values, 2):
            data[f"{column}{row}"] = value
    kpis = book.create_sheet("KPIs")
    for cell, (formula, _) in {**FORMULAS, **BAD_FORMULAS}.items():
        kpis[cell] = formula
    book.save(path)

    registry = formulas.get_functions()
    messages: list[str] = []
    saved = {name: registry.get(name) for name in SIGNATURES}
    try:
        for name in SIGNATURES:
            registry[name] = _adapt(getattr(udfs, name.lower()), messages)
        solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    finally:
        for name, previous in saved.items():
            if previous is None:
                registry.pop(name, None)
            else:
                registry[name] = previous
    cells = {key.split("]")[-1].upper(): value for key, value in solution.items()}
    return cells, messages


def _value(cells, address):
    value = cells[f"KPIS'!{address}"]
    value = getattr(value, "value", value)
    return _cell(np.asarray(value).ravel()[0])


@pytest.mark.parametrize("address", FORMULAS)
def test_formula_cells_hold_hand_worked_values(calculated, address):
    cells, _ = calculated
    formula, expected = FORMULAS[address]
    value = _value(cells, address)
    if isinstance(expected, str):
        assert value == expected, formula
    else:
        assert value == pytest.approx(expected, rel=1e-12), formula


def test_bad_input_is_value_error_with_the_message(calculated):
    cells, messages = calculated
    for address, (formula, message) in BAD_FORMULAS.items():
        assert _value(cells, address) == "#VALUE!", formula
        assert message in messages

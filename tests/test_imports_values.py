"""Column-wise value reading: one format decided per column, reported; bad cells named."""

import datetime as dt

import pytest

from xlkpi.imports.values import (
    looks_like_formula,
    read_date_column,
    read_number_column,
    read_text_column,
)

D = dt.date


def test_european_dotted_dates_with_and_without_time():
    read = read_date_column(["22.03.2022 13:32:57", "14.03.2026 10:22", "01.02.2026", "не закрыта",
                             "", None, "-", "—", "n/a"])
    assert read.decision == "dd.mm.yyyy" and not read.problems
    assert read.values == [D(2022, 3, 22), D(2026, 3, 14), D(2026, 2, 1)] + [None] * 6


def test_us_column_is_decided_by_a_day_above_12_in_the_second_place():
    read = read_date_column(["3/4/2026", "3/14/2026 5:30 PM", "12/1/2025"])
    assert read.decision == "m/d/yyyy"
    assert read.values == [D(2026, 3, 4), D(2026, 3, 14), D(2025, 12, 1)]


def test_european_slashed_column_is_decided_by_a_day_above_12_in_the_first_place():
    read = read_date_column(["3/4/2026", "14/3/2026", "01/12/2025"])
    assert read.decision == "dd/mm/yyyy"
    assert read.values == [D(2026, 4, 3), D(2026, 3, 14), D(2025, 12, 1)]


def test_ambiguous_column_defaults_to_us_and_says_so():
    read = read_date_column(["3/4/2026", "1/2/2026"])
    assert read.decision == "m/d/yyyy (no day above 12 in this column: US order assumed)"
    assert read.values == [D(2026, 3, 4), D(2026, 1, 2)]


def test_ambiguous_column_follows_the_files_other_dates():
    read = read_date_column(["3/4/2026"], order_hint="d/m")
    assert read.values == [D(2026, 4, 3)]
    assert read.decision == "dd/mm/yyyy (no day above 12 in this column: as the file's other dates)"


def test_a_column_with_both_orders_reports_the_cells_that_do_not_fit():
    read = read_date_column(["13/1/2026", "1/13/2026", "14/2/2026"])
    assert read.decision == "dd/mm/yyyy"
    assert read.problems == {1: "'1/13/2026' is not a date (no such day)"}


def test_iso_dates_with_time_zone_and_excel_serials():
    read = read_date_column(["2026-03-02T09:15:00.000Z", "2026-03-02 10:22", "2026/03/04"])
    assert read.decision == "yyyy-mm-dd"
    assert read.values == [D(2026, 3, 2), D(2026, 3, 2), D(2026, 3, 4)]
    serials = read_date_column(["46082", 46083.75])
    assert serials.decision == "Excel serial numbers"
    assert serials.values == [D(2026, 3, 1), D(2026, 3, 2)]


def test_typed_workbook_dates_and_month_names():
    assert read_date_column([dt.datetime(2026, 1, 5, 9), D(2026, 1, 6), 46000]).values == [
        D(2026, 1, 5), D(2026, 1, 6), D(2025, 12, 9)]
    named = read_date_column(["Mar 03, 2026 10:00 am", "Sep 1, 2025"])
    assert named.decision == "Mon d, yyyy"
    assert named.values == [D(2026, 3, 3), D(2025, 9, 1)]


def test_a_cell_in_another_format_or_not_a_date_is_a_problem_not_a_value():
    read = read_date_column(["14.03.2026", "2026-03-15", "soon", "31.02.2026", "01.01.1899"])
    assert read.values == [D(2026, 3, 14), None, None, None, None]
    assert read.problems == {1: "'2026-03-15' is not a dd.mm.yyyy date",
                             2: "'soon' is not a date",
                             3: "'31.02.2026' is not a date (no such day)",
                             4: "'01.01.1899' is before March 1900, which Excel cannot hold"}


@pytest.mark.parametrize("cells, decimal, expected", [
    (["1 234 567", "350\u00a0000", "75\u202f000,50"], ",", [1234567, 350000, 75000.5]),
    (["1 234,56", "25 000", "980,5"], ",", [1234.56, 25000, 980.5]),
    (["$48,000.00", "$12,500.50", "(1,000)"], ".", [48000, 12500.5, -1000]),
    (["1.234.567,89", "500"], ",", [1234567.89, 500]),
    (["12 500 ₽", "3 000 руб.", "RUB 100", "€ 7,5", "USD 9.99"], None, None),
])
def test_numbers_with_spaces_separators_and_currency(cells, decimal, expected):
    read = read_number_column(cells)
    if expected is None:  # mixed decimal marks: the column's majority wins, the rest named
        assert read.values[:4] == [12500, 3000, 100, 7.5] and 4 in read.problems
        return
    assert not read.problems
    assert read.values == expected
    assert read.decision == ("decimal comma" if decimal == "," else "decimal point")


def test_ambiguous_thousands_default_and_say_so():
    read = read_number_column(["1,234", "5"])
    assert read.values == [1234, 5]
    assert read.decision == "decimal point (assumed: no cell shows which)"
    assert read_number_column(["1,234"], default_decimal=",").values == [1.234]


def test_counts_are_whole_and_bad_numbers_are_problems():
    read = read_number_column(["12", "3.5", "abc", "", "−4"], whole=True)
    assert read.values == [12, None, None, None, -4]
    assert read.problems == {1: "'3.5' is not a whole number", 2: "'abc' is not a number"}
    assert isinstance(read.values[0], int)


def test_text_cells_and_formula_like_text():
    assert read_text_column([" Anna ", 7.0, None, "  ", "a\r\nb"]).values == [
        "Anna", "7", None, None, "a\nb"]
    assert [looks_like_formula(text) for text in ("=1+1", "+7", "-Anna", "@x", "Anna", None)] == [
        True, True, True, True, False, False]

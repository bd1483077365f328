"""Period parsing and the period before, against serials worked out by hand.

Excel serials (days since 1899-12-30), derived from 2026-01-01 = 46023:
2025-01-01 = 46023 - 365 = 45658; 2025-10-01 = 46023 - 92 = 45931; 2025-12-01 = 46023 - 31 = 45992;
2026-02-01 = 46023 + 31 = 46054; 2026-03-01 = 46054 + 28 = 46082;
2026-07-01 = 46023 + 181 = 46204; 2026-10-01 = 46204 + 92 = 46296;
2026-11-01 = 46296 + 31 = 46327; 2027-01-01 = 46023 + 365 = 46388;
2028-01-01 = 46388 + 365 = 46753; 2028-02-01 = 46784; 2028-03-01 = 46784 + 29 = 46813;
9999-12-31 = 2958465 (Excel's last date); 9999-12-01 = 2958435; 9999-11-01 = 2958405;
9999-01-01 = 2958465 - 364 = 2958101; 9998-11-01 = 2958405 - 365 = 2958040.
"""

from __future__ import annotations

import datetime as dt

import pytest

from xlkpi.core.errors import InputError
from xlkpi.core.periods import Period, parse_iso_date, parse_period

OCT_2026 = (46296, 46327, "2026-10", "month")
Q4_2026 = (46296, 46388, "2026-Q4", "quarter")
YEAR_2026 = (46023, 46388, "2026", "year")


def shape(period: Period) -> tuple[int, int, str, str]:
    return period.start, period.end, period.label, period.kind


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-10", OCT_2026),
    (" 2026-10 ", OCT_2026),
    ("2026-1", (46023, 46054, "2026-01", "month")),
    ("2026-02", (46054, 46082, "2026-02", "month")),
    ("2028-02", (46784, 46813, "2028-02", "month")),  # 29 days
    ("2026-Q4", Q4_2026),
    ("2026q4", Q4_2026),
    ("2026-q4", Q4_2026),
    ("2026Q4", Q4_2026),
    ("2026-Q3", (46204, 46296, "2026-Q3", "quarter")),
    ("2026", YEAR_2026),
    (2026, YEAR_2026),
    (2026.0, YEAR_2026),
    (" 2026 ", YEAR_2026),
    (dt.datetime(2026, 10, 31, 23, 59), OCT_2026),
    (dt.datetime(2026, 10, 1, 0, 0), OCT_2026),
    (dt.date(2026, 10, 5), OCT_2026),
    ("2026-10-15", OCT_2026),
    ("2026-10-31T23:59:00", OCT_2026),
    ("2026-10-01 08:30", OCT_2026),
    (46300.5, OCT_2026),  # 46300 = 2026-10-05, noon
    (46300, OCT_2026),  # a whole serial above 9999 is a date, not a year
    (46326.999, OCT_2026),  # 2026-10-31 23:58
    (46327, (46327, 46357, "2026-11", "month")),  # 2026-11-01; Nov has 30 days
    (dt.date(2028, 2, 29), (46784, 46813, "2028-02", "month")),
    ("2028-02-29", (46784, 46813, "2028-02", "month")),
    (46812, (46784, 46813, "2028-02", "month")),  # 2028-02-29
])
def test_parse_period(value, expected):
    assert shape(parse_period(value)) == expected


def test_years_at_both_ends():
    # 1900 is the first year: 1900-01-01 is serial 2 here (Python has no 1900-02-29),
    # 1901-01-01 = 2 + 365 = 367
    assert shape(parse_period(1900)) == (2, 367, "1900", "year")
    # 9999 is the last: it ends after 9999-12-31 = 2958465
    assert shape(parse_period(9999)) == (2958101, 2958466, "9999", "year")
    assert shape(parse_period("9999")) == (2958101, 2958466, "9999", "year")
    assert shape(parse_period("9999-12")) == (2958435, 2958466, "9999-12", "month")
    assert shape(parse_period("9999-Q4")) == (2958465 - 91, 2958466, "9999-Q4", "quarter")
    # Excel's last date serial is December 9999
    assert shape(parse_period(2958465)) == (2958435, 2958466, "9999-12", "month")
    assert shape(parse_period(2958465.9)) == (2958435, 2958466, "9999-12", "month")


def test_whole_numbers_outside_1900_9999_are_serials():
    # 1899 days after 1899-12-30: 1905-01-01 is serial 1828 (2 + 365*5 + 1 for 1904),
    # 1899 - 1828 = 71 days into 1905 = 31 (Jan) + 28 (Feb) + 12 -> 1905-03-13
    assert parse_period(1899).label == "1905-03"
    # 2026.5 is not whole: serial 2026 = 1828 + 198 -> 1905-07-18
    assert parse_period(2026.5).label == "1905-07"
    # serial 1 = 1899-12-31 in these serials (Excel's 1900 leap-year bug aside)
    assert parse_period(1).label == "1899-12"


@pytest.mark.parametrize("blank", [None, "", "   ", "\t"])
def test_blank_is_every_row(blank):
    assert parse_period(blank) is None


def test_a_period_passes_through():
    period = Period.quarter(2026, 4)
    assert parse_period(period) is period


@pytest.mark.parametrize("value", [
    "next month", "2026-13", "2026-00", "2026-Q0", "2026-Q5", "Q4 2026", "Q4", "1899", "0999",
    "26-10", "2026-02-30", "2026/10", "20261", "October", True, False, 0, -5, 0.5, 0.99,
    float("nan"), float("inf"), float("-inf"), 2958466, 3e6, 1e300, [], (2026, 10),
])
def test_not_a_period(value):
    with pytest.raises(InputError) as error:
        parse_period(value)
    assert str(error.value) == (
        f"period: {value!r} is not a period; use 2026-10, 2026-Q4, 2026 or a date")


def test_not_a_period_names_the_argument():
    with pytest.raises(InputError, match=r"^month: 'soon' is not a period; "):
        parse_period("soon", argument="month")


def test_first_and_last_day():
    october = parse_period("2026-10")
    # Oct 1 = 46296, Oct 31 = 46296 + 30 = 46326
    assert (october.first_day, october.last_day) == (46296, 46326)
    # 2028-02: Feb 1 = 46784, Feb 29 = 46812
    february = parse_period("2028-02")
    assert (february.first_day, february.last_day) == (46784, 46812)


@pytest.mark.parametrize(("period", "expected"), [
    ("2026-10", (46266, 46296, "2026-09", "month")),  # Sep 2026: 46296 - 30
    ("2026-01", (45992, 46023, "2025-12", "month")),  # across the year boundary
    ("2026-03", (46054, 46082, "2026-02", "month")),
    ("2028-03", (46784, 46813, "2028-02", "month")),
    ("2026-Q1", (45931, 46023, "2025-Q4", "quarter")),  # across the year boundary
    ("2026-Q4", (46204, 46296, "2026-Q3", "quarter")),
    ("2026-Q2", (46023, 46113, "2026-Q1", "quarter")),  # Q1 2026: 31 + 28 + 31 = 90 days
    ("2026", (45658, 46023, "2025", "year")),
    (2027, (46023, 46388, "2026", "year")),
    ("9999", (2957736, 2958101, "9998", "year")),
    ("1900-01", (-29, 2, "1899-12", "month")),  # 1899-12-01 = 2 - 31
])
def test_previous(period, expected):
    assert shape(parse_period(period).previous()) == expected


def test_previous_of_a_date_is_the_month_before():
    assert parse_period(dt.date(2026, 1, 20)).previous().label == "2025-12"
    assert parse_period(46300.5).previous().label == "2026-09"


def test_range_and_its_previous():
    # Nov 2026 .. Jan 2027: from 46327 to 2027-02-01 = 46388 + 31 = 46419
    months = Period.months(2026, 11, 3)
    assert shape(months) == (46327, 46419, "2026-11..2027-01", "range")
    # the range a year earlier: 2025-11-01 = 46327 - 365 = 45962 .. 2026-02-01 = 46054
    assert shape(months.previous()) == (45962, 46054, "2025-11..2026-01", "range")
    one = Period.months(2028, 2, 1)
    assert shape(one) == (46784, 46813, "2028-02..2028-02", "range")
    # Feb 2027: 46388 + 31 = 46419 .. + 28 = 46447
    assert shape(one.previous()) == (46419, 46447, "2027-02..2027-02", "range")


def test_range_at_the_end_of_time():
    last = Period.months(9999, 11, 2)
    assert shape(last) == (2958405, 2958466, "9999-11..9999-12", "range")
    # 9998-11-01 = 2958040 .. 9999-01-01 = 2958101
    assert shape(last.previous()) == (2958040, 2958101, "9998-11..9998-12", "range")


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-10-15", dt.date(2026, 10, 15)),
    (" 2026-1-5 ", dt.date(2026, 1, 5)),
    ("2026-10-15T08:30:00", dt.date(2026, 10, 15)),
    ("2026-10-15 08:30", dt.date(2026, 10, 15)),
    ("2028-02-29", dt.date(2028, 2, 29)),
    ("2026-02-29", None),
    ("2026-10", None),
    ("15.10.2026", None),
    ("soon", None),
    ("2026-10-15x", None),
])
def test_parse_iso_date(text, expected):
    assert parse_iso_date(text) == expected

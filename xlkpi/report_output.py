"""The report's rows as text: a table for reading (in the language in force: its words and its
numbers), CSV for a spreadsheet, JSON for scripts (both language-free)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path

from xlkpi.core import lang
from xlkpi.core.kpis import KPI_BY_ID, Kpi
from xlkpi.core.periods import Period, serial_to_date
from xlkpi.slices import current_month
from xlkpi.tracker.channels import MEASURES
from xlkpi.tracker.model import TEAM_NAME

KEYS = ("rep", "kpi", "period", "target", "actual", "attainment")
# `report --by channel`: one row per (channel, period), the Channels sheet's measures.
CHANNEL_KEYS = ("channel", "period", "spend", "leads", "cost_per_lead", "sqls",
                "lead_to_sql_rate")
# The as-of month's rows carry these too (core.pacing).
PACING_KEYS = ("expected", "projected", "pace")


def _clean(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


# One row as json.dumps(..., indent=2) lays it out inside the list, but by json's C encoder,
# which indent would turn off (five times slower on a report of 50 reps).
_ROW_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",\n    ", ": "))


def _keys(row: dict) -> tuple[str, ...]:
    return (*KEYS, *PACING_KEYS) if PACING_KEYS[0] in row else KEYS


def _row_json(row: dict) -> str:
    keys = _keys(row)
    try:
        return _ROW_JSON.encode(row if tuple(row) == keys else {key: row[key] for key in keys})
    except ValueError:  # NaN or an infinity, which JSON has not: null
        return _ROW_JSON.encode({key: _clean(row[key]) for key in keys})


def to_json(rows: list[dict]) -> str:
    """A JSON list of objects with the keys of KEYS (and PACING_KEYS on the as-of month's
    rows); no number is null. The same text as
    ``json.dumps(rows, indent=2, ensure_ascii=False)``."""
    if not rows:
        return "[]"
    return "[\n  " + ",\n  ".join(f"{{\n    {text[1:-1]}\n  }}"
                                    for text in map(_row_json, rows)) + "\n]"


def _csv_text(value: object) -> object:
    """Text that a spreadsheet would run as a formula (a rep named "=1+1") gets a leading "'"."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def to_csv(rows: list[dict]) -> str:
    """CSV with a header row; numbers unformatted (rates as fractions), blank for no number.
    When the as-of month is among the rows, the columns of PACING_KEYS follow (blank on the
    other rows)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    keys = (*KEYS, *PACING_KEYS) if any(PACING_KEYS[0] in row for row in rows) else KEYS
    writer.writerow(keys)
    for row in rows:
        writer.writerow(["" if _clean(row.get(key)) is None else _csv_text(row[key])
                         for key in keys])
    return out.getvalue()


class Numbers:
    """Numbers as the language in force writes them (its "report.numbers" texts): decimal mark,
    thousands separator, percent, money and days ("1,234.5" and "12.5%" in English, "1 234,5"
    and "12,5 %" with no-break spaces in Russian)."""

    def __init__(self, currency: str = ""):
        language = lang.active()
        self.language = language
        self._marks = str.maketrans({",": language.text("report.numbers.thousands"),
                                     ".": language.text("report.numbers.decimal_mark")})
        self.none = language.text("report.numbers.none")
        self._percent = language.texts["report.numbers.percent"]
        self._money = language.texts["report.numbers.money"]
        self._days = language.texts["report.numbers.days"]
        code = currency.strip()
        self.currency = language.texts.get(f"report.currencies.{code.upper()}", code)

    def number(self, value: float, decimals: int, strip: bool = False,
               grouped: bool = True) -> str:
        text = f"{value:,.{decimals}f}" if grouped else f"{value:.{decimals}f}"
        if strip and "." in text:
            text = text.rstrip("0").rstrip(".")
        return text.translate(self._marks)

    def percent(self, fraction: float | None, decimals: int = 0) -> str:
        if fraction is None or not math.isfinite(fraction):
            return self.none
        return self._percent.format(number=self.number(fraction * 100, decimals, grouped=False))

    def value(self, value: float | None, kpi: Kpi) -> str:
        """A KPI's number as a sales manager reads it: 12.5%, USD 1,250, USD 85.40, 1,250."""
        if value is None or not math.isfinite(value):
            return self.none
        if kpi.unit == "ratio":
            return self.percent(value, 1)
        if kpi.unit == "currency":  # cents only where the catalogue says so, as in the workbook
            number = self.number(value, kpi.decimals)
            return self._money.format(number=number, currency=self.currency).strip() \
                if self.currency else number
        if kpi.unit == "days":
            return self._days.format(number=self.number(value, kpi.decimals))
        return self.number(value, 2, strip=True)

    def kpi_name(self, kpi: Kpi) -> str:
        """The KPI's name in the language in force (the catalogue's for a KPI the files lack)."""
        return self.language.texts.get(f"kpis.{kpi.id}.name", kpi.name)

    def who(self, rep: str) -> str:
        return self.language.text("report.team") if rep == TEAM_NAME else rep

    def period(self, label: str) -> str:
        return self.language.text("report.ytd") if label == "YTD" else label


def format_value(value: float | None, kpi: Kpi, currency: str = "") -> str:
    """A number as a sales manager reads it, in the language in force: 12.5%, USD 1,250,
    USD 85.40, 1,250 ("12,5 %", "1 250 ₽" in Russian)."""
    return Numbers(currency).value(value, kpi)


def column_title(key: str) -> str:
    return lang.text(f"report.columns.{key}")


def aligned(header: tuple[str, ...], lines: list[tuple[str, ...]], left: int) -> str:
    """An aligned table: the first ``left`` columns to the left, the others (numbers) to the
    right; a rule of dashes under the header."""
    widths = [max(len(line[i]) for line in (header, *lines)) for i in range(len(header))]

    def render(line) -> str:
        return "  ".join(cell.ljust(width) if i < left else cell.rjust(width)
                         for i, (cell, width) in enumerate(zip(line, widths, strict=True))
                         ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(header), rule, *(render(line) for line in lines)])


def _figures(row: dict, kpi: Kpi, numbers: Numbers, paced: bool) -> tuple[str, ...]:
    """Target, Actual, Attainment, and when ``paced`` Expected, Projected and Pace (blank on a
    row of another month)."""
    line = (numbers.value(row["target"], kpi), numbers.value(row["actual"], kpi),
            numbers.percent(row["attainment"]))
    if paced:
        line += ((numbers.value(row["expected"], kpi), numbers.value(row["projected"], kpi),
                  numbers.percent(row["pace"])) if PACING_KEYS[0] in row else ("", "", ""))
    return line


_FIGURES = ("target", "actual", "attainment")


def to_table(rows: list[dict], currency: str = "") -> str:
    """An aligned table: Rep, KPI, Period, Target, Actual, Attainment; "-" where there is no
    number (no target, or a rate with nothing to divide by). When the as-of month is among the
    rows, three more columns: Expected (to date), Projected (month end) and Pace, filled on
    its rows only. Words and numbers in the language in force."""
    numbers = Numbers(currency)
    paced = any(PACING_KEYS[0] in row for row in rows)
    header = tuple(map(column_title, ("rep", "kpi", "period", *_FIGURES,
                                      *(PACING_KEYS if paced else ()))))
    lines = []
    for row in rows:
        kpi = KPI_BY_ID[row["kpi"]]
        lines.append((numbers.who(row["rep"]), numbers.kpi_name(kpi),
                      numbers.period(row["period"]), *_figures(row, kpi, numbers, paced)))
    return aligned(header, lines, left=3)


def month_table(rows: list[dict], currency: str = "") -> str:
    """The default report's table: one month of one rep or the team, a row per KPI: KPI,
    Target, Actual, Attainment, and Expected, Projected, Pace when it is the as-of month."""
    numbers = Numbers(currency)
    paced = any(PACING_KEYS[0] in row for row in rows)
    header = tuple(map(column_title, ("kpi", *_FIGURES, *(PACING_KEYS if paced else ()))))
    lines = [(numbers.kpi_name(KPI_BY_ID[row["kpi"]]),
              *_figures(row, KPI_BY_ID[row["kpi"]], numbers, paced)) for row in rows]
    return aligned(header, lines, left=1)


def month_name(month: Period) -> str:
    """"June 2025", "июнь 2025": a month as the language in force names it."""
    first = serial_to_date(month.start)
    return lang.text("report.month", name=lang.text(f"report.months.{first.month}"),
                     year=first.year)


def date_text(day: dt.date) -> str:
    return lang.text("report.numbers.date", year=day.year, month=day.month, day=day.day)


def month_header(file: str, shown: Period, status: str, as_of: dt.date, empty: Period,
                 currency: str) -> str:
    """The default report's first line: which month of the team it shows and why (``status``
    of slices.current_month)."""
    values = {"file": file, "month": month_name(shown), "currency": currency}
    if status == "as_of":
        return lang.text("report.month_header", as_of=date_text(as_of), **values)
    if status == "last":
        return lang.text("report.month_header_last", empty=month_name(empty), **values)
    return lang.text("report.month_header_none", **values)


def month_footer(command: str, shown: Period, quarter: str, rep: str | None) -> str:
    """How to see more than the default view, each option with what it shows."""
    options = [(f"{command} --rep {_quoted(rep or 'NAME')}", lang.text("report.footer.rep")),
               (f"{command} --period {shown.label}",
                lang.text("report.footer.period", month=month_name(shown), quarter=quarter)),
               (f"{command} --by channel", lang.text("report.footer.channel")),
               (f"{command} --format csv|json", lang.text("report.footer.format"))]
    width = max(len(option) for option, _what in options)
    return "\n".join([lang.text("report.footer.title"),
                      *(f"  {option.ljust(width)}  {what}" for option, what in options)])


def report_text(computed, file: str, period: str | None, rep: str | None, output: str,
                by: str) -> str:
    """`xlkpi report` as its options ask (``computed``: a report.Report; ``file``: the tracker's
    name): the rows (report.rows, or channel_rows with ``by`` "channel") as a table, CSV or
    JSON."""
    currency = computed.settings.currency
    if by == "channel":
        rows = computed.channel_rows(period)
        return {"json": lambda: channels_json(rows) + "\n",
                "csv": lambda: channels_csv(rows),
                "table": lambda: channels_table(rows, currency) + "\n"}[output]()
    rows = computed.rows(period, rep)
    if output == "json":
        return to_json(rows) + "\n"
    if output == "csv":
        return to_csv(rows)
    through = computed.months[computed.months_to_date - 1].label
    return (lang.text("report.header", file=file, year=computed.settings.year,
                      through=through, currency=Numbers(currency).currency) + "\n\n"
            + to_table(rows, currency) + "\n")


def month_view(computed, path: Path) -> str:
    """`xlkpi report PATH` with no option (``computed``: a report.Report): the team in the
    current month (slices.current_month), with a footer naming the options that show more."""
    settings = computed.settings
    as_of_month = Period.month(computed.as_of.year, computed.as_of.month)
    shown, status = current_month(computed.months, computed.months_to_date, as_of_month,
                                  computed.tracker)
    rows = computed.rows(shown.label, TEAM_NAME)
    quarter = computed.months.index(shown) // 3 + 1  # of the fiscal year
    head = month_header(path.name, shown, status, computed.as_of, as_of_month,
                        Numbers(settings.currency).currency)
    footer = month_footer(f"xlkpi report {_quoted(str(path))}", shown,
                          f"{settings.year}-Q{quarter}",
                          settings.reps[0] if settings.reps else None)
    return f"{head}\n\n{month_table(rows, settings.currency)}\n\n{footer}\n"


def _quoted(name: str) -> str:
    return f'"{name}"' if any(char.isspace() or char in "\"'$`&|;<>()" for char in name) \
        else name


def channels_table(rows: list[dict], currency: str = "") -> str:
    """`report --by channel` as an aligned table, in the language in force."""
    numbers = Numbers(currency)
    header = tuple(map(column_title, CHANNEL_KEYS))
    kpis = [KPI_BY_ID[measure.format_of] for measure in MEASURES]
    lines = [(row["channel"], numbers.period(row["period"]),
              *(numbers.value(row[key], kpi) for key, kpi in zip(CHANNEL_KEYS[2:], kpis,
                                                                 strict=True)))
             for row in rows]
    return aligned(header, lines, left=2)


def channels_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CHANNEL_KEYS)
    for row in rows:
        writer.writerow(["" if _clean(row[key]) is None else _csv_text(row[key])
                         for key in CHANNEL_KEYS])
    return out.getvalue()


def channels_json(rows: list[dict]) -> str:
    return json.dumps([{key: _clean(row[key]) for key in CHANNEL_KEYS} for row in rows],
                      indent=2, ensure_ascii=False)

"""The report's rows as text: a table for reading, CSV for a spreadsheet, JSON for scripts."""

from __future__ import annotations

import csv
import io
import json
import math

from xlkpi.core.kpis import KPI_BY_ID, Kpi
from xlkpi.tracker.channels import MEASURES

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


def _plain(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_value(value: float | None, kpi: Kpi, currency: str = "") -> str:
    """A number as a sales manager reads it: 12.5%, USD 1,250, USD 85.40, 1,250."""
    if value is None or not math.isfinite(value):
        return "-"
    if kpi.unit == "ratio":
        return f"{value * 100:.1f}%"
    if kpi.unit == "currency":  # cents only where the catalogue says so, as in the workbook
        return f"{currency} {value:,.{kpi.decimals}f}".strip()
    if kpi.unit == "days":
        return f"{value:,.{kpi.decimals}f} days"
    return _plain(value, 2)


def to_table(rows: list[dict], currency: str = "") -> str:
    """An aligned table: Rep, KPI, Period, Target, Actual, Attainment; "-" where there is no
    number (no target, or a rate with nothing to divide by). When the as-of month is among the
    rows, three more columns: Expected (to date), Projected (month end) and Pace, filled on
    its rows only."""
    paced = any(PACING_KEYS[0] in row for row in rows)
    header = ("Rep", "KPI", "Period", "Target", "Actual", "Attainment",
              *(("Expected", "Projected", "Pace") if paced else ()))
    lines = [header]

    def percent(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.0f}%"

    for row in rows:
        kpi = KPI_BY_ID[row["kpi"]]
        line = (row["rep"], kpi.name, row["period"],
                format_value(row["target"], kpi, currency),
                format_value(row["actual"], kpi, currency), percent(row["attainment"]))
        if paced:
            line += ((format_value(row["expected"], kpi, currency),
                      format_value(row["projected"], kpi, currency), percent(row["pace"]))
                     if PACING_KEYS[0] in row else ("", "", ""))
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = (False, False, False, *([True] * (len(header) - 3)))

    def render(line) -> str:
        cells = [cell.rjust(width) if align else cell.ljust(width)
                 for cell, width, align in zip(line, widths, right, strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(header), rule, *(render(line) for line in lines[1:])])


def channels_table(rows: list[dict], currency: str = "") -> str:
    """`report --by channel` as an aligned table."""
    header = ("Channel", "Period", "Spend", "Leads", "Cost per lead", "SQLs", "Lead-to-SQL rate")
    kpis = [KPI_BY_ID[measure.format_of] for measure in MEASURES]
    lines = [header, *((row["channel"], row["period"], *(
        format_value(row[key], kpi, currency) for key, kpi in zip(CHANNEL_KEYS[2:], kpis,
                                                                  strict=True)))
        for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def render(line) -> str:
        return "  ".join(cell.ljust(width) if i < 2 else cell.rjust(width)
                         for i, (cell, width) in enumerate(zip(line, widths, strict=True))).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(header), rule, *(render(line) for line in lines[1:])])


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

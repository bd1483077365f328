"""Data rows written straight into a sheet's XML from Python values (:class:`NewRows`), for
``xlkpi new`` with many rows.

openpyxl makes a Python object per cell: 250,000 data rows are 1.5 million objects, tens of
seconds and gigabytes. So a large new tracker's data sheets hold only their header row in
openpyxl and their rows are written as the file is saved (splice.SplitBook): as openpyxl would
write them (inline strings, numbers, dates as serials with openpyxl's own date styles).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence

from openpyxl.cell.cell import Cell
from openpyxl.utils.datetime import to_excel

from xlkpi.xlsx.parts import cell_text, column_letter, escape_text

# Measured at 50 reps (benchmarks/README.md): streaming is faster from a few thousand rows on;
# below this the difference is under 0.1 s and the plain openpyxl path, the reference the fast
# one is tested against, does it.
STREAM_FROM_ROWS = 5_000  # new: fewer data rows than this are ordinary openpyxl cells
CHUNK_ROWS = 2_000  # rows given to the zip file at a time
_PLAIN_TYPES = frozenset({str, int, float, bool, dt.datetime, dt.date, dt.time, type(None)})


def plain_values(rows: Sequence[Sequence[object]]) -> bool:
    """Whether every value is of a type NewRows writes (anything else goes through openpyxl)."""
    types = {type(value) for values in rows for value in values}
    return types <= _PLAIN_TYPES


def formula_parts(template: str) -> list[str]:
    """The escaped formula (without '=') split where its row number goes ("\\x00")."""
    return escape_text(template[1:]).split("\x00")


class NewRows:
    """Rows from Python values, written as openpyxl writes them: text always
    a string cell, a blank no cell, a date a serial number with openpyxl's date style."""

    def __init__(self, ws, rows: Sequence[Sequence[object]], sources: list[int | None],
                 styles: dict[type, int] | None = None):
        """``styles``: the style id of each kind of date (datetime, date, time) in the rows;
        by default openpyxl's own for each (added to the workbook's styles)."""
        self.rows = rows
        self.sources = sources
        self.width = len(sources)
        self.stage: tuple[int, list[str]] | None = None  # (column, formula parts)
        wb = ws.parent
        self.styles = dict(styles) if styles is not None else {}
        for kind, sample in ((dt.datetime, dt.datetime(2026, 1, 1)), (dt.date, dt.date(2026, 1, 1)),
                             (dt.time, dt.time(0, 0))):
            if styles is None:
                self.styles[kind] = wb._cell_styles.add(Cell(ws, value=sample)._style)
        self.epoch = wb.epoch

    def last_row(self, skip_col: int | None) -> int:
        """The last row holding a value (outside ``skip_col``), 1 for none."""
        for index in range(len(self.rows) - 1, -1, -1):
            values = self.rows[index]
            for col, source in enumerate(self.sources, 1):
                if col == skip_col or source is None or source >= len(values):
                    continue
                value = values[source]
                if value is not None and value != "":
                    return index + 2
        return 1

    def set_stage_class(self, col: int, template: str, last: int) -> None:
        self.stage = (col, formula_parts(template), last)

    def max_row(self) -> int:
        return max(len(self.rows) + 1, self.stage[2] if self.stage else 1)

    def chunks(self) -> Iterator[bytes]:
        letters = [column_letter(col) for col in range(1, self.width + 2)]
        strings: dict[str, str] = {}
        numbers: dict[object, str] = {}
        stage_col, parts, stage_last = self.stage if self.stage else (None, None, 0)
        stage_letter = letters[stage_col - 1] if stage_col else ""
        sources = self.sources
        out: list[str] = []
        for number, values in enumerate(self.rows, 2):
            out.append(f'<row r="{number}">')
            size = len(values)
            for col, source in enumerate(sources, 1):
                if col == stage_col and number <= stage_last:
                    out.append(f'<c r="{stage_letter}{number}"><f>{str(number).join(parts)}'
                               "</f><v></v></c>")
                    continue
                if source is None or source >= size:
                    continue
                value = values[source]
                if value is None:
                    continue
                kind = type(value)
                if kind is str:
                    body = strings.get(value)
                    if body is None:
                        body = strings[value] = _string_body(value)
                else:
                    body = numbers.get((kind, value))
                    if body is None:
                        body = numbers[(kind, value)] = self._other_body(value, kind)
                out.append(f'<c r="{letters[col - 1]}{number}"{body}')
            out.append("</row>")
            if number % CHUNK_ROWS == 0:
                yield "".join(out).encode("utf-8")
                out.clear()
        if stage_col:  # an empty sheet: the table's one row still has its formula
            for number in range(len(self.rows) + 2, stage_last + 1):
                out.append(f'<row r="{number}"><c r="{stage_letter}{number}"><f>'
                           f'{str(number).join(parts)}</f><v></v></c></row>')
        yield "".join(out).encode("utf-8")

    def _other_body(self, value, kind) -> str:
        if kind is bool:
            return f' t="b"><v>{int(value)}</v></c>'
        if kind in (int, float):
            if isinstance(value, float) and not math.isfinite(value):
                return ' t="n"><v></v></c>'  # as openpyxl's safe_string
            return f' t="n"><v>{value:.16g}</v></c>'
        if getattr(value, "tzinfo", None) is not None:
            raise TypeError("Excel does not support timezones in datetimes. The tzinfo in the "
                            "datetime/time object must be set to None.")
        style = self.styles[kind]
        return f' s="{style}" t="n"><v>{to_excel(value, self.epoch):.16g}</v></c>'


def _string_body(value: str) -> str:
    value = cell_text(value)
    if value == "":
        return ' t="inlineStr"/>'
    space = ' xml:space="preserve"' if value != value.strip() else ""
    return f' t="inlineStr"><is><t{space}>{escape_text(value)}</t></is></c>'


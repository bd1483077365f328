"""How far a sheet's data goes: formatted but empty cells are not data (issue 10, item 11).

openpyxl's ``max_row`` counts a formatted blank cell at row 1,048,576, and ``iter_rows`` on a
loaded worksheet makes a cell object for every coordinate up to it: a million rows, a minute
and gigabytes, and a file that grows by a million empty rows. Read up to :func:`last_value_row`
instead."""

from __future__ import annotations


def last_value_row(ws) -> int | None:
    """The last row of ``ws`` holding a value (1 for none); None for a read-only sheet (which
    reads only the rows the file holds)."""
    cells = getattr(ws, "_cells", None)
    if cells is None:
        return None
    last = 1
    for (row, _col), cell in cells.items():
        if row > last and cell._value is not None and cell._value != "":
            last = row
    return last

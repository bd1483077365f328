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


def values_up_to_last(ws) -> list[tuple]:
    """``ws.iter_rows(max_row=last_value_row(ws), values_only=True)`` as a list, read from the
    cells the sheet holds: iter_rows looks up (and makes) a cell at every coordinate of the
    rectangle, three times the work for a data sheet whose rows are narrower than its widest
    one, and cells that were never there."""
    last = last_value_row(ws)
    if last is None:  # a read-only sheet: its rows as the file holds them
        return list(ws.iter_rows(values_only=True))
    width = ws.max_column
    rows = [[None] * width for _ in range(last)]
    for (row, col), cell in ws._cells.items():  # noqa: SLF001 - openpyxl's cell store
        if row <= last:
            rows[row - 1][col - 1] = cell._value  # noqa: SLF001 - what cell.value returns
    return list(map(tuple, rows))

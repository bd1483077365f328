"""The very hidden ``_xlkpi`` sheet: the marker that makes a workbook a tracker, its format
version, and the list of sheets xlkpi generated (which ``refresh`` may throw away)."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from xlkpi import __version__
from xlkpi.core.errors import TrackerFileError
from xlkpi.tracker.cells import text_cell
from xlkpi.tracker.model import FORMAT_VERSION, MARKER, META, META_HEADER_ROW


def generated_sheets(wb: Workbook) -> dict[str, str]:
    """Title → kind ("start", "team", "rep", "leaderboard") of the sheets xlkpi generated, read
    from the hidden ``_xlkpi`` sheet; TrackerFileError when it is missing or not ours."""
    if META not in wb.sheetnames:
        raise TrackerFileError("not an xlkpi tracker: its hidden '_xlkpi' sheet is missing; "
                               "create a tracker with `xlkpi new`")
    rows = list(wb[META].iter_rows(values_only=True))
    if not rows or rows[0][:2] != ("generator", MARKER):
        raise TrackerFileError("not an xlkpi tracker: its '_xlkpi' sheet has no xlkpi marker; "
                               "create a tracker with `xlkpi new`")
    sheets: dict[str, str] = {}
    for row in rows[META_HEADER_ROW:]:
        if row and isinstance(row[0], str) and row[0] and len(row) > 1:
            sheets[row[0]] = str(row[1])
    return sheets


def write_meta(ws: Worksheet, sheets: list[tuple[str, str, str | None]]) -> None:
    """The marker, the versions and one row (title, kind, rep) per generated sheet."""
    text_cell(ws, 1, 1, "generator")
    text_cell(ws, 1, 2, MARKER)
    text_cell(ws, 2, 1, "format")
    ws.cell(2, 2, FORMAT_VERSION)
    text_cell(ws, 3, 1, "version")
    text_cell(ws, 3, 2, __version__)
    text_cell(ws, 4, 1, "note")
    text_cell(ws, 4, 2, "Written by xlkpi: the sheets listed below are generated and "
                        "`xlkpi refresh` rebuilds them. Do not edit.")
    text_cell(ws, META_HEADER_ROW, 1, "Sheet")
    text_cell(ws, META_HEADER_ROW, 2, "Kind")
    text_cell(ws, META_HEADER_ROW, 3, "Rep")
    for row, (title, kind, rep) in enumerate(sheets, META_HEADER_ROW + 1):
        text_cell(ws, row, 1, title)
        text_cell(ws, row, 2, kind)
        if rep is not None:
            text_cell(ws, row, 3, rep)

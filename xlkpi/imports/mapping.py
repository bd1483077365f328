"""An explicit column mapping for an export whose headers are not recognised:
``xlkpi import TRACKER EXPORT --map "Deal Stage=Stage,Owner Name=Owner" [--as opportunities]``.

Each pair names one of the export's headers and the data-sheet column it feeds; ``ID`` names
the export's record-ID column (what a later import merges on), and on Emails ``Event`` and
``Recipient`` name the columns of a per-event export (one row per e-mail event). Pairs are
separated by commas, or by semicolons when the text holds one (for headers with a comma in
them). Only the columns named are read: the mapping is the whole truth about the file.

A mapping is saved in the tracker (tracker.stages: the Stages sheet's "saved import mapping"
columns) keyed by the export's header :func:`signature`, so the next import of a file with the
same headers uses it without flags. The saved text is the same ``HEADER=COLUMN`` list.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlkpi.core import lang
from xlkpi.imports.read import ExportError
from xlkpi.imports.sources import (
    DATE_FIELDS,
    EMAILS,
    PROFILES,
    SHEET_COLUMNS,
    Match,
    Profile,
    header_key,
    sheet_name,
)

ID = "ID"  # the record-ID column
EVENT_FIELDS = ("Event", "Recipient")  # a per-event export's helpers (Emails only)
MAPPED = "mapped"  # profile names: "mapped-opportunities"


@dataclass(frozen=True)
class ColumnMap:
    sheet: str
    pairs: tuple[tuple[str, str], ...]  # (export header, field), in the order given

    def text(self) -> str:
        """The mapping as ``--map`` takes it (and as it is saved)."""
        separator = "; " if any("," in header for header, _field in self.pairs) else ", "
        return separator.join(f"{header}={name}" for header, name in self.pairs)


def signature(header: list[str]) -> str:
    """What identifies an export's headers: each header as headers compare (case, spaces and
    underscores aside), sorted, joined with " | " (the order of the columns does not matter)."""
    return " | ".join(sorted({header_key(str(name)) for name in header}))


def _title(sheet: str) -> str:
    """A data sheet (its English id) as the tracker in the language in force titles it."""
    return lang.text(f"sheets.{sheet}")


def _fields(sheet: str) -> dict[str, str]:
    names = [*SHEET_COLUMNS[sheet], ID, *(EVENT_FIELDS if sheet == EMAILS else ())]
    return {name.casefold(): name for name in names}


def parse_map(text: str, as_sheet: str | None = None, where: str = "--map") -> ColumnMap:
    """``text`` ("Deal Stage=Stage, Owner Name=Owner") as a ColumnMap for the data sheet
    ``as_sheet`` or, without it, the one sheet every named column belongs to; ExportError
    (one line, naming the bad pair) otherwise. ``where`` names the text in messages."""
    separator = ";" if ";" in text else ","
    pieces = [piece.strip() for piece in text.split(separator) if piece.strip()]
    if not pieces:
        raise ExportError(lang.text("messages.imports.map_empty", where=where))
    pairs = []
    for piece in pieces:
        header, equals, name = piece.rpartition("=")
        if not equals or not header.strip() or not name.strip():
            raise ExportError(lang.text("messages.imports.map_pair", where=where,
                                        piece=repr(piece)))
        pairs.append((piece, header.strip(), name.strip()))
    sheets = [sheet_name(as_sheet)] if as_sheet else list(SHEET_COLUMNS)
    for piece, _header, name in pairs:
        fitting = [sheet for sheet in sheets if name.casefold() in _fields(sheet)]
        if not fitting:
            within = (lang.text("messages.imports.map_within_sheet", sheet=_title(sheets[0]),
                                columns=", ".join(SHEET_COLUMNS[sheets[0]]))
                      if as_sheet else lang.text("messages.imports.map_within_any"))
            raise ExportError(lang.text("messages.imports.map_not_column", where=where,
                                        piece=repr(piece), name=repr(name), within=within))
        sheets = fitting
    if len(sheets) > 1:
        raise ExportError(lang.text("messages.imports.map_many_sheets", where=where,
                                    sheets=", ".join(map(_title, sheets))))
    sheet = sheets[0]
    fields = _fields(sheet)
    out, seen = [], {}
    for piece, header, name in pairs:
        name = fields[name.casefold()]
        if name in seen:
            raise ExportError(lang.text("messages.imports.map_twice", where=where,
                                        piece=repr(piece), name=name, other=repr(seen[name])))
        seen[name] = piece
        out.append((header, name))
    mapped = {name for _header, name in out}
    if not DATE_FIELDS & mapped:
        dates = [name for name in SHEET_COLUMNS[sheet] if name in DATE_FIELDS]
        raise ExportError(lang.text("messages.imports.map_no_date", where=where,
                                    sheet=_title(sheet), dates=", ".join(dates)))
    generic = next(profile for profile in PROFILES
                   if profile.name == f"generic-{sheet.lower()}")
    required = ("SendDate", "Event") if "Event" in mapped else generic.required
    for name in required:
        if name not in mapped:
            raise ExportError(lang.text("messages.imports.map_required", where=where, name=name,
                                        sheet=_title(sheet)))
    return ColumnMap(sheet, tuple(out))


def mapped_match(mapping: ColumnMap, header: list[str], where: str = "--map") -> Match:
    """The mapping applied to the export's ``header``: a Match records.py reads like a
    recognised source's; ExportError naming the pair whose header the export lacks."""
    by_key: dict[str, str] = {}
    for name in header:
        by_key.setdefault(header_key(str(name)), name)
    columns, record_id = {}, None
    for export_header, name in mapping.pairs:
        found = by_key.get(header_key(export_header))
        if found is None:
            shown = ", ".join(map(str, header[:8])) + (", …" if len(header) > 8 else "")
            raise ExportError(lang.text("messages.imports.map_no_header", where=where,
                                        header=export_header, name=name,
                                        quoted=repr(export_header), shown=shown))
        if name == ID:
            record_id = found
        else:
            columns[name] = found
    profile = Profile(f"{MAPPED}-{mapping.sheet.lower()}", "a column mapping", mapping.sheet,
                      {}, required=(),
                      record_id=record_id or "", events="Event" in columns)
    return Match(profile, columns, record_id, (0, len(columns)))

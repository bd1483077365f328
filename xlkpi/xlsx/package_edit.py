"""A package edited in place: the ORIGINAL package with only the generator's parts changed
(:func:`edit_package`), so that everything else in it is carried byte for byte.

The generator (openpyxl) saves a whole package G; from it this takes

- the sheets it generates (``plan.generated``), with the parts they bring along (drawings,
  charts and their relationships), under new part names: the original's generated sheets
  (``plan.replaced``) and whatever only they used are removed;
- for the sheets a person types into (``plan.typed``): only the cells, dimension and xlkpi's
  own data validations that differ (sheetpatch.patched_sheet), and their tables' ranges;
- the order and names of the sheets in xl/workbook.xml (the original's own ``<sheet>``
  elements kept, sheetIds of new ones unique), the defined names local to generated sheets
  (print areas and titles; a person's names kept, their sheet index brought up to date),
  fullCalcOnLoad, the active tab;

and style ids of the cells it takes point into the original styles.xml (stylemap.StyleMap:
appended to, never reordered), their text is inline (the original shared-string table is
kept, but for its optional count attribute, no longer true). xl/calcChain.xml is
dropped: it lists the formula cells of the old generated
sheets, and Excel repairs a workbook whose chain names a cell without a formula; with
fullCalcOnLoad Excel rebuilds it. Anything else the editor cannot do exactly raises
stylemap.Unsupported (the caller saves as before and says so).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from xlkpi.core import lang
from xlkpi.xlsx.cellxml import SHARED_STRING, attrs
from xlkpi.xlsx.package import (
    CONTENT_TYPES,
    WORKSHEET_TYPE,
    Package,
    edit_content_types,
    rels_path,
)
from xlkpi.xlsx.seal import seal
from xlkpi.xlsx.sheetpatch import CellMover, moved_sheet, patched_sheet
from xlkpi.xlsx.stylemap import StyleMap, Unsupported

_BOOK = "xl/workbook.xml"
_BOOK_RELS = "xl/_rels/workbook.xml.rels"
_SST = "xl/sharedStrings.xml"
_STYLES = "xl/styles.xml"
_SHEET = re.compile(rb"<sheet\b([^>]*?)/>|<sheet\b([^>]*?)>\s*</sheet>", re.S)
_SHEETS = re.compile(rb"<sheets\b[^>]*>.*?</sheets>|<sheets\s*/>", re.S)
_NAMES = re.compile(rb"<definedNames\b[^>]*>.*?</definedNames>|<definedNames\s*/>", re.S)
_NAME = re.compile(rb"<definedName\b([^>]*?)(?:/>|>(.*?)</definedName>)", re.S)
_REL_NS = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CALC_CHAIN = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
               "calcChain")
_TABLE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/table"
_AFTER_NAMES = (b"<calcPr", b"<oleSize", b"<customWorkbookViews", b"<pivotCaches",
                b"<smartTagPr", b"<smartTagTypes", b"<webPublishing", b"<fileRecoveryPr",
                b"<webPublishObjects", b"<extLst", b"</workbook")


@dataclass
class Plan:
    replaced: set[str]  # the original's generated sheets (taken out)
    generated: set[str]  # the generated package's sheets taken whole
    typed: set[str]  # sheets patched cell by cell


@dataclass
class _SheetEntry:
    title: str
    raw: bytes  # the <sheet> element
    attrs: dict
    part: str | None


def _sheets(package: Package) -> list[_SheetEntry]:
    book = package.read(_BOOK)
    targets = {rel.id: rel.target for rel in package.rels(_BOOK)}
    out = []
    block = _SHEETS.search(book)
    for match in _SHEET.finditer(block.group(0) if block else b""):
        found = attrs(match.group(1) or match.group(2))
        rel_id = next((v for k, v in found.items() if k.endswith(b":id")), b"").decode()
        out.append(_SheetEntry(found.get(b"name", b"").decode("utf-8"), match.group(0), found,
                               targets.get(rel_id)))
    return out


def _strings(package: Package) -> list[bytes]:
    if _SST not in package.infos:
        return []
    table = package.read(_SST)
    if re.search(rb"<\w+:si[\s>/]", table):
        raise Unsupported(lang.text("messages.unsupported.strings_prefix"))
    return [match.group(1) or b"" for match in SHARED_STRING.finditer(table)]


def _xml_unescape(raw: bytes) -> str:
    from xlkpi.xlsx.parts import xml_text

    return xml_text(raw)


def edit_package(original: bytes, generated: bytes, plan: Plan) -> bytes:
    """The original package with the generated package's parts ``plan`` names (module doc)."""
    buffer = io.BytesIO()
    write_edited(original, generated, plan, buffer)
    return buffer.getvalue()


def write_edited(original: bytes, generated: bytes | io.BytesIO, plan: Plan, handle,
                 sealed: str | None = None) -> None:
    """edit_package written to ``handle`` (a binary file), the parts it leaves as they were
    copied compressed as they are, and sealed with ``sealed`` (xlsx.seal; None: not).
    Unsupported is raised before anything is written. The generated package is best saved
    uncompressed (splice.save_stored): it is read once."""
    o, changed, removed, added = _edited(Package(original), Package(generated), plan)
    _write(o, changed, removed, added, handle, sealed)


def _edited(o: Package, g: Package, plan: Plan) -> tuple[Package, dict[str, bytes], set[str],
                                                          dict[str, bytes]]:
    """(the original package, its changed parts, the parts taken out, the parts added)."""
    o_sheets, g_sheets = _sheets(o), _sheets(g)
    o_by_title = {s.title: s for s in o_sheets}
    g_by_title = {s.title: s for s in g_sheets}
    for entry in g_sheets:
        if entry.title not in plan.generated and entry.title not in o_by_title:
            raise Unsupported(lang.text("messages.unsupported.new_not_generated",
                                        sheet=entry.title))
    for entry in o_sheets:
        if entry.title not in g_by_title and entry.title not in plan.replaced:
            raise Unsupported(lang.text("messages.unsupported.removed_own", sheet=entry.title))
        if entry.part is None or entry.part not in o.infos:
            raise Unsupported(lang.text("messages.unsupported.no_part", sheet=entry.title))
    for title in plan.typed:
        if title not in o_by_title or title not in g_by_title:
            raise Unsupported(lang.text("messages.unsupported.missing", sheet=title))
    styles = StyleMap(o.read(_STYLES), g.read(_STYLES))
    mover = CellMover(styles, _strings(g))
    o_strings = _strings(o)
    same_ids = (_strings(g)[:len(o_strings)] == o_strings and all(
        styles.same(i, i) for i in range(len(styles.o.xfs))))
    changed: dict[str, bytes] = {}
    # typed sheets: cells, validations, tables
    for title in plan.typed:
        o_part, g_part = o_by_title[title].part, g_by_title[title].part
        patched = patched_sheet(o.read(o_part), g.read(g_part), mover, o_strings, same_ids)
        if patched != o.read(o_part):  # else copied as it is stored (_write)
            changed[o_part] = patched
        del patched
        o.forget(o_part)
        g.forget(g_part)  # a data sheet is tens of megabytes: not held to the end
        changed.update(_patched_tables(o, g, o_part, g_part))
    # the original's generated sheets out, with what only they used
    removed = _removed_parts(o, [o_by_title[t].part for t in plan.replaced if t in o_by_title])
    book_rels = o.rels(_BOOK)
    removed |= {rel.target for rel in book_rels if rel.type == _CALC_CHAIN}
    # the generated sheets in, under new names
    taken = set(o.names) | removed
    added: dict[str, bytes] = {}
    added_types: dict[str, str] = {}
    new_part_of: dict[str, str] = {}
    for entry in g_sheets:
        if entry.title not in plan.generated:
            continue
        closure = g.closure(entry.part)
        renamed = {part: _fresh(part, taken) for part in closure}
        new_part_of[entry.title] = renamed[entry.part]
        for part in closure:
            data = g.read(part)
            if part == entry.part:
                data = moved_sheet(data, mover)
            added[renamed[part]] = data
            kind = g.content_type(part)
            if kind is None:
                raise Unsupported(lang.text("messages.unsupported.no_content_type", part=part))
            added_types[renamed[part]] = kind
            if g.rels(part):
                added[rels_path(renamed[part])] = _renamed_rels(g, part, renamed)
    if _SST in o.infos:
        # count (references in the whole workbook) is optional and no longer true once the old
        # generated tabs' references are gone: left out, as Excel allows
        table = o.read(_SST)
        head = re.search(rb"<sst\b[^>]*>", table)
        if head is not None and re.search(rb'\scount\s*=\s*"', head.group(0)):
            changed[_SST] = table[:head.start()] + re.sub(
                rb'\scount\s*=\s*"\d*"', b"", head.group(0)) + table[head.end():]
    styles_xml = styles.styles_xml()
    if styles_xml is not None:
        changed[_STYLES] = styles_xml
    # workbook.xml and its relationships
    rel_ids = {rel.id for rel in book_rels}
    new_rels: list[bytes] = []
    new_ids: dict[str, str] = {}
    number = 1
    for title in new_part_of:
        while f"rIdXlkpi{number}" in rel_ids:
            number += 1
        new_ids[title] = f"rIdXlkpi{number}"
        rel_ids.add(new_ids[title])
        new_rels.append(b'<Relationship Id="%s" Type="%s" Target="/%s"/>' % (
            new_ids[title].encode(), WORKSHEET_TYPE.encode(), new_part_of[title].encode()))
    changed[_BOOK] = _workbook_xml(o, g, o_sheets, g_sheets, plan, new_ids)
    rels_xml = o.read(rels_path(_BOOK))
    for rel in book_rels:
        if not rel.external and rel.target in removed:
            rels_xml = rels_xml.replace(rel.raw, b"", 1)
    at = rels_xml.rindex(b"</")
    changed[rels_path(_BOOK)] = rels_xml[:at] + b"".join(new_rels) + rels_xml[at:]
    changed[CONTENT_TYPES] = edit_content_types(o.read(CONTENT_TYPES), removed, added_types)
    return o, changed, removed, added


def _fresh(part: str, taken: set[str]) -> str:
    """A part name like ``part`` (xl/charts/chart3.xml) that no part has."""
    folder, _, name = part.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    base = re.sub(r"\d+$", "", stem) or stem
    number = 1
    while True:
        candidate = f"{folder}/{base}{number}{dot}{ext}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        number += 1


def _renamed_rels(g: Package, part: str, renamed: dict[str, str]) -> bytes:
    xml = g.read(rels_path(part))
    for rel in g.rels(part):
        if rel.external:
            continue
        if rel.target not in renamed:
            raise Unsupported(lang.text("messages.unsupported.outside", part=part,
                                        target=rel.target))
        new = re.sub(rb'Target\s*=\s*"[^"]*"', b'Target="/%s"' % renamed[rel.target].encode(),
                     rel.raw, count=1)
        xml = xml.replace(rel.raw, new, 1)
    return xml


def _removed_parts(o: Package, sheet_parts: list[str]) -> set[str]:
    """The parts of these sheets and what they lead to that no other part uses."""
    candidates: set[str] = set()
    for part in sheet_parts:
        candidates.update(o.closure(part))
    while True:
        used = set()
        for name in o.names:
            if name not in candidates and not name.endswith(".rels"):
                used.update(rel.target for rel in o.rels(name) if not rel.external)
        used.update(rel.target for rel in o.rels("") if not rel.external)
        keep = (candidates & used) - set(sheet_parts)
        if not keep:
            break
        candidates -= keep
        for part in keep:  # what a kept part leads to is kept too
            candidates -= set(o.closure(part))
    out = set(candidates)
    out |= {rels_path(part) for part in candidates if rels_path(part) in o.infos}
    return out


def _patched_tables(o: Package, g: Package, o_part: str, g_part: str) -> dict[str, bytes]:
    """The original sheet's tables with the generated sheet's range and columns."""
    def tables(package: Package, part: str) -> dict[str, str]:
        out = {}
        for rel in package.rels(part):
            if rel.type == _TABLE and not rel.external and rel.target in package.infos:
                head = re.search(rb"<table\b([^>]*)>", package.read(rel.target))
                name = attrs(head.group(1)).get(b"displayName", b"") if head else b""
                out[name.decode().lower()] = rel.target
        return out

    o_tables, g_tables = tables(o, o_part), tables(g, g_part)
    out = {}
    for name, g_table in g_tables.items():
        o_table = o_tables.get(name)
        if o_table is None:
            raise Unsupported(lang.text("messages.unsupported.new_table", name=name))
        out[o_table] = _patched_table(o.read(o_table), g.read(g_table))
    return out


def _patched_table(o_xml: bytes, g_xml: bytes) -> bytes:
    g_ref = attrs(re.search(rb"<table\b([^>]*)>", g_xml).group(1)).get(b"ref")
    columns = re.compile(rb"<tableColumns\b.*?</tableColumns>", re.S)
    names = re.compile(rb'<tableColumn\b[^>]*?\sname\s*=\s*"([^"]*)"')
    xml = o_xml
    if g_ref is not None:
        head = re.search(rb"<table\b([^>]*)>", xml)
        new_head = re.sub(rb'(\sref\s*=\s*")[^"]*(")', rb"\g<1>" + g_ref + rb"\g<2>",
                          head.group(0), count=1)
        xml = xml[:head.start()] + new_head + xml[head.end():]
        xml = re.sub(rb'(<autoFilter\b[^>]*?\sref\s*=\s*")[^"]*(")',
                     rb"\g<1>" + g_ref + rb"\g<2>", xml, count=1)
    o_cols, g_cols = columns.search(xml), columns.search(g_xml)
    if o_cols is None or g_cols is None:
        raise Unsupported(lang.text("messages.unsupported.table_no_columns"))
    if names.findall(o_cols.group(0)) != names.findall(g_cols.group(0)):
        if re.search(rb"<\w+:tableColumns", xml):
            raise Unsupported(lang.text("messages.unsupported.table_prefix"))
        xml = xml[:o_cols.start()] + g_cols.group(0) + xml[o_cols.end():]
    return xml


def _workbook_xml(o: Package, g: Package, o_sheets, g_sheets, plan: Plan,
                  new_ids: dict[str, str]) -> bytes:
    book = o.read(_BOOK)
    o_by_title = {s.title: s for s in o_sheets}
    ids = [int(s.attrs.get(b"sheetId", b"0") or 0) for s in o_sheets
           if s.title not in plan.replaced]
    next_id = max(ids, default=0) + 1
    elements = []
    for entry in g_sheets:
        if entry.title in new_ids:
            state = entry.attrs.get(b"state")
            elements.append(b'<sheet xmlns:r="%s" name="%s" sheetId="%d"%s r:id="%s"/>' % (
                _REL_NS, entry.attrs[b"name"], next_id,
                b' state="%s"' % state if state and state != b"visible" else b"",
                new_ids[entry.title].encode()))
            next_id += 1
        else:
            elements.append(o_by_title[entry.title].raw)
    block = _SHEETS.search(book)
    opened = re.match(rb"<sheets\b[^>]*?>", block.group(0)).group(0).rstrip(b"/>")
    book = book[:block.start()] + opened + b">" + b"".join(elements) + b"</sheets>" + \
        book[block.end():]
    book = _defined_names(book, g.read(_BOOK), o_sheets, g_sheets, plan)
    book = _calc_on_load(book)
    return _active_tab(book, g.read(_BOOK))


def _defined_names(book: bytes, g_book: bytes, o_sheets, g_sheets, plan: Plan) -> bytes:
    new_index = {s.title: i for i, s in enumerate(g_sheets)}
    names = []
    block = _NAMES.search(book)
    for match in _NAME.finditer(block.group(0) if block else b""):
        found = attrs(match.group(1))
        local = found.get(b"localSheetId")
        if local is None:
            names.append(match.group(0))
            continue
        title = o_sheets[int(local)].title if int(local) < len(o_sheets) else None
        if title is None or title in plan.replaced or title not in new_index:
            continue
        names.append(re.sub(rb'(\slocalSheetId\s*=\s*")\d+(")',
                            rb"\g<1>%d\g<2>" % new_index[title], match.group(0), count=1))
    g_block = _NAMES.search(g_book)
    for match in _NAME.finditer(g_block.group(0) if g_block else b""):
        local = attrs(match.group(1)).get(b"localSheetId")
        if local is not None and g_sheets[int(local)].title in plan.generated:
            names.append(match.group(0))
    element = b"<definedNames>" + b"".join(names) + b"</definedNames>" if names else b""
    if block is not None:
        return book[:block.start()] + element + book[block.end():]
    at = book.index(b"</sheets>") + len(b"</sheets>")
    return book[:at] + element + book[at:]


def _calc_on_load(book: bytes) -> bytes:
    calc = re.search(rb"<calcPr\b([^>]*?)(/?)>", book)
    if calc is None:
        at = min(i for i in (book.find(tag) for tag in _AFTER_NAMES[1:]) if i >= 0)
        return book[:at] + b'<calcPr fullCalcOnLoad="1"/>' + book[at:]
    head = re.sub(rb'\sfullCalcOnLoad\s*=\s*"[^"]*"', b"", calc.group(1))
    return book[:calc.start()] + b'<calcPr%s fullCalcOnLoad="1"%s>' % (
        head, calc.group(2)) + book[calc.end():]


def _active_tab(book: bytes, g_book: bytes) -> bytes:
    view = re.search(rb"<workbookView\b([^>]*?)/?>", book)
    g_view = re.search(rb"<workbookView\b([^>]*?)/?>", g_book)
    if view is None or g_view is None:
        return book
    head = view.group(0)
    for key in (b"activeTab", b"firstSheet"):
        value = attrs(g_view.group(1)).get(key, b"0")
        if re.search(rb"\s%s\s*=" % key, head):
            head = re.sub(rb'(\s%s\s*=\s*")\d*(")' % key, rb"\g<1>" + value + rb"\g<2>", head)
        elif value != b"0":
            head = head.replace(b"<workbookView", b'<workbookView %s="%s"' % (key, value), 1)
    return book[:view.start()] + head + book[view.end():]


def _write(o: Package, changed: dict[str, bytes], removed: set[str],
           added: dict[str, bytes], handle, sealed: str | None = None) -> None:
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as out:
        for name in o.names:
            if name in removed:
                continue
            info = o.infos[name]
            data = changed.get(name)
            if data is None and o.copy_raw(name, out):
                continue  # as it was: its compressed bytes copied
            if data is None:
                data = o.read(name)
            target = zipfile.ZipInfo(name, date_time=info.date_time)
            target.compress_type = zipfile.ZIP_DEFLATED
            target.external_attr = info.external_attr
            target._compresslevel = 1 if len(data) > 1 << 20 else 6
            with out.open(target, "w", force_zip64=len(data) > 1 << 30) as handle:
                handle.write(data)
        for name, data in added.items():
            out.writestr(name, data)
        seal(out, sealed)

"""Style ids of one package's cells made valid in another's stylesheet (:class:`StyleMap`).

A refresh generates its sheets with openpyxl (package G) and puts them into the ORIGINAL
package (O). A cell's ``s="N"`` points into G's cellXfs; :meth:`StyleMap.xf` gives the id of
an equal format in O's styles.xml, appending the format (and the font, fill, border and number
format it needs) to O's lists when O has none equal. Nothing in O's lists is ever reordered or
changed, so every id a person's cells hold stays right. Formats are compared as openpyxl reads
them (both stylesheets parsed the same way), so a format written by Excel and the same format
written by openpyxl are equal. ``dxf`` does the same for conditional formats' dxfId.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import tostring

from openpyxl.styles.borders import Border
from openpyxl.styles.cell_style import CellStyle
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.styles.fills import Fill
from openpyxl.styles.fonts import Font
from openpyxl.styles.numbers import BUILTIN_FORMATS

from xlkpi.core import lang

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_LISTS = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
          "dxfs", "tableStyles", "colors", "extLst")


class Unsupported(Exception):
    """Something the package editor cannot carry over exactly (the caller falls back)."""


def _key(obj) -> bytes:
    return tostring(obj.to_tree()) if obj is not None else b""


class _Sheet:
    """One styles.xml as openpyxl reads it: keys of its fonts, fills, borders, formats."""

    def __init__(self, xml: bytes):
        from defusedxml.ElementTree import fromstring

        root = fromstring(xml)
        if not root.tag.startswith(_MAIN) and root.tag != "styleSheet":
            raise Unsupported(lang.text("messages.unsupported.not_stylesheet"))

        def items(name: str, child: str):
            node = root.find(_MAIN + name)
            return [] if node is None else node.findall(_MAIN + child)

        self.formats = {int(n.get("numFmtId")): n.get("formatCode", "")
                        for n in items("numFmts", "numFmt")}
        self.fonts = [Font.from_tree(n) for n in items("fonts", "font")]
        self.fills = [Fill.from_tree(n) for n in items("fills", "fill")]
        self.borders = [Border.from_tree(n) for n in items("borders", "border")]
        self.xfs = [CellStyle.from_tree(n) for n in items("cellXfs", "xf")]
        self.dxfs = [DifferentialStyle.from_tree(n) for n in items("dxfs", "dxf")]
        self.font_keys = [_key(f) for f in self.fonts]
        self.fill_keys = [_key(f) for f in self.fills]
        self.border_keys = [_key(b) for b in self.borders]
        self.dxf_keys = [_key(d) for d in self.dxfs]

    def code(self, fmt_id: int) -> str:
        return self.formats.get(fmt_id, BUILTIN_FORMATS.get(fmt_id, str(fmt_id)))

    def xf_key(self, index: int) -> tuple:
        xf = self.xfs[index] if 0 <= index < len(self.xfs) else CellStyle()

        def pick(keys, at):
            return keys[at] if at is not None and 0 <= at < len(keys) else b""

        return (pick(self.font_keys, xf.fontId), pick(self.fill_keys, xf.fillId),
                pick(self.border_keys, xf.borderId), self.code(xf.numFmtId or 0),
                _key(xf.alignment), _key(xf.protection), bool(xf.quotePrefix),
                bool(xf.pivotButton))


class StyleMap:
    """G's style ids → O's, appending to O's stylesheet what it lacks (see module doc)."""

    def __init__(self, original: bytes, generated: bytes):
        self.xml = original
        if re.search(rb"<\w+:styleSheet", original[:500]):
            raise Unsupported(lang.text("messages.unsupported.styles_prefix"))
        self.o = _Sheet(original)
        self.g = _Sheet(generated)
        self._xf_index = {}
        for index in range(len(self.o.xfs)):
            self._xf_index.setdefault(self.o.xf_key(index), index)
        self._cache: dict[int, int] = {}
        self._dxf_cache: dict[int, int] = {}
        self.added: dict[str, list[bytes]] = {name: [] for name in _LISTS}
        self._counts = {"fonts": len(self.o.fonts), "fills": len(self.o.fills),
                        "borders": len(self.o.borders), "cellXfs": len(self.o.xfs),
                        "dxfs": len(self.o.dxfs)}
        self._formats_by_code = {code: fmt for fmt, code in self.o.formats.items()}

    def same(self, o_id: int, g_id: int) -> bool:
        """Whether O's format ``o_id`` looks as G's ``g_id``."""
        return self.o.xf_key(o_id) == self.g.xf_key(g_id)

    def xf(self, g_id: int) -> int:
        found = self._cache.get(g_id)
        if found is None:
            key = self.g.xf_key(g_id)
            found = self._xf_index.get(key)
            if found is None:
                found = self._append_xf(g_id)
                self._xf_index[key] = found
            self._cache[g_id] = found
        return found

    def dxf(self, g_id: int) -> int:
        found = self._dxf_cache.get(g_id)
        if found is None:
            key = self.g.dxf_keys[g_id] if 0 <= g_id < len(self.g.dxf_keys) else b""
            if key in self.o.dxf_keys:
                found = self.o.dxf_keys.index(key)
            else:
                found = self._counts["dxfs"]
                self._counts["dxfs"] += 1
                self.added["dxfs"].append(key)
                self.o.dxf_keys.append(key)
            self._dxf_cache[g_id] = found
        return found

    def _part(self, name: str, keys: list[bytes], key: bytes) -> int:
        if key in keys:
            return keys.index(key)
        keys.append(key)
        self.added[name].append(key)
        self._counts[name] += 1
        return len(keys) - 1

    def _append_xf(self, g_id: int) -> int:
        g = self.g
        xf = g.xfs[g_id] if 0 <= g_id < len(g.xfs) else CellStyle()
        font = self._part("fonts", self.o.font_keys, g.font_keys[xf.fontId or 0]
                          if g.font_keys else _key(Font()))
        fill = self._part("fills", self.o.fill_keys, g.fill_keys[xf.fillId or 0]
                          if g.fill_keys else b'<fill><patternFill patternType="none"/></fill>')
        border = self._part("borders", self.o.border_keys, g.border_keys[xf.borderId or 0]
                            if g.border_keys else _key(Border()))
        code = g.code(xf.numFmtId or 0)
        fmt = next((number for number, text in BUILTIN_FORMATS.items() if text == code
                    and number < 164), None)
        if fmt is None:
            fmt = self._formats_by_code.get(code)
        if fmt is None:
            fmt = max([163, *self.o.formats, *self._formats_by_code.values()]) + 1
            self._formats_by_code[code] = fmt
            self.added["numFmts"].append(tostring(_num_fmt(fmt, code)))
        out = CellStyle(numFmtId=fmt, fontId=font, fillId=fill, borderId=border, xfId=0,
                        quotePrefix=xf.quotePrefix, pivotButton=xf.pivotButton,
                        applyNumberFormat=True, applyFont=True, applyFill=True,
                        applyBorder=True, alignment=xf.alignment, protection=xf.protection,
                        applyAlignment=xf.alignment is not None or None,
                        applyProtection=xf.protection is not None or None)
        self.added["cellXfs"].append(tostring(out.to_tree()))
        index = self._counts["cellXfs"]
        self._counts["cellXfs"] += 1
        return index

    def styles_xml(self) -> bytes | None:
        """O's styles.xml with what was appended; None when nothing was."""
        if not any(self.added.values()):
            return None
        xml = self.xml
        for name in ("numFmts", "fonts", "fills", "borders", "cellXfs", "dxfs"):
            if self.added[name]:
                xml = _append(xml, name, self.added[name])
        return xml


def _num_fmt(fmt: int, code: str):
    from xml.etree.ElementTree import Element

    return Element("numFmt", numFmtId=str(fmt), formatCode=code)


def _append(xml: bytes, name: str, items: list[bytes]) -> bytes:
    """``items`` appended to the list element ``name`` of styles.xml, its count brought up."""
    body = b"".join(items)
    tag = name.encode()
    opened = re.search(rb"<" + tag + rb"(\s[^>]*?)?(/?)>", xml)
    if opened is None:
        later = [xml.find(b"<" + n.encode()) for n in _LISTS[_LISTS.index(name) + 1:]]
        later = [at for at in later if at >= 0]
        at = min(later) if later else xml.rindex(b"</")
        element = b"<%s count=\"%d\">%s</%s>" % (tag, len(items), body, tag)
        return xml[:at] + element + xml[at:]
    head = opened.group(1) or b""
    count = re.search(rb'count\s*=\s*"(\d+)"', head)
    if opened.group(2):  # <dxfs count="0"/>
        old = 0
        close_at = opened.end()
        rest = xml[opened.end():]
        inner_end = b""
    else:
        close_at = xml.index(b"</" + tag + b">", opened.end())
        old = len(re.findall(rb"<" + {"numFmts": b"numFmt", "fonts": b"font",
                                      "fills": b"fill", "borders": b"border",
                                      "cellXfs": b"xf", "dxfs": b"dxf"}[name] + rb"[\s/>]",
                             xml[opened.end():close_at]))
        rest = xml[close_at:]
        inner_end = xml[opened.end():close_at]
    new_count = old + len(items)
    if count is not None:
        head = head[:count.start()] + b'count="%d"' % new_count + head[count.end():]
    else:
        head += b' count="%d"' % new_count
    start = xml[:opened.start()] + b"<" + tag + head + b">"
    if opened.group(2):
        return start + body + b"</" + tag + b">" + rest
    return start + inner_end + body + rest

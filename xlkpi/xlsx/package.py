"""An xlsx package as parts and relationships, edited at the byte level (:class:`Package`):
which part a relationship points to, the parts a sheet brings along (its drawings, charts,
tables...), content types added and removed, and a structural check of the result
(:func:`check_package`: every relationship's target exists, every part has a content type, no
duplicate ids)."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass

from xlkpi.xlsx.cellxml import attrs

_REL = re.compile(rb"<Relationship\b([^>]*?)/?>(?:</Relationship>)?", re.S)
_OVERRIDE = re.compile(rb"<Override\b([^>]*?)/>|<Override\b([^>]*?)>\s*</Override>", re.S)
_DEFAULT = re.compile(rb"<Default\b([^>]*?)/>", re.S)
CONTENT_TYPES = "[Content_Types].xml"
WORKSHEET_TYPE = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                  "worksheet")


@dataclass
class Rel:
    id: str
    type: str
    target: str  # the part's path in the zip ("xl/drawings/drawing1.xml"); or the raw target
    external: bool
    raw: bytes  # the <Relationship .../> element as the file held it


def rels_path(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def resolve(source: str, target: str) -> str:
    """A relationship target (relative to ``source``'s folder, or absolute) as a zip path."""
    if target.startswith("/"):
        return target.lstrip("/")
    folder = source.rpartition("/")[0]
    return posixpath.normpath(posixpath.join(folder, target))


class Package:
    """The parts of a zip package, by name, in their order; read from bytes."""

    def __init__(self, data: bytes):
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.infos = {info.filename: info for info in self.zip.infolist()}
        self.names = list(self.infos)
        self._cache: dict[str, bytes] = {}

    def read(self, part: str) -> bytes:
        data = self._cache.get(part)
        if data is None:
            data = self._cache[part] = self.zip.read(part)
        return data

    def rels(self, part: str) -> list[Rel]:
        path = rels_path(part)
        if path not in self.infos:
            return []
        out = []
        for match in _REL.finditer(self.read(path)):
            found = attrs(match.group(1))
            external = found.get(b"TargetMode", b"").lower() == b"external"
            target = found.get(b"Target", b"").decode("utf-8")
            out.append(Rel(found.get(b"Id", b"").decode(), found.get(b"Type", b"").decode(),
                           target if external else resolve(part, _unescape(target)),
                           external, match.group(0)))
        return out

    def closure(self, part: str) -> list[str]:
        """``part`` and every part its relationships lead to, recursively (internal only)."""
        seen = [part]
        at = 0
        while at < len(seen):
            for rel in self.rels(seen[at]):
                if not rel.external and rel.target in self.infos and rel.target not in seen:
                    seen.append(rel.target)
            at += 1
        return seen

    def content_type(self, part: str) -> str | None:
        types = self.read(CONTENT_TYPES)
        for match in _OVERRIDE.finditer(types):
            found = attrs(match.group(1) or match.group(2))
            if found.get(b"PartName", b"").decode().lstrip("/").lower() == part.lower():
                return found.get(b"ContentType", b"").decode()
        extension = part.rpartition(".")[2].lower()
        for match in _DEFAULT.finditer(types):
            found = attrs(match.group(1))
            if found.get(b"Extension", b"").decode().lower() == extension:
                return found.get(b"ContentType", b"").decode()
        return None


def _unescape(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text.replace("&amp;", "&"))


def edit_content_types(xml: bytes, removed: set[str], added: dict[str, str]) -> bytes:
    """[Content_Types].xml without the overrides of ``removed`` parts, with an override for
    each ``added`` part (part → content type)."""
    removed_names = {"/" + part.lower() for part in removed}

    def drop(match: re.Match) -> bytes:
        found = attrs(match.group(1) or match.group(2))
        name = found.get(b"PartName", b"").decode().lower()
        return b"" if name in removed_names else match.group(0)

    xml = _OVERRIDE.sub(drop, xml)
    extra = b"".join(b'<Override PartName="/%s" ContentType="%s"/>' % (
        part.encode(), kind.encode()) for part, kind in added.items())
    at = xml.rindex(b"</")
    return xml[:at] + extra + xml[at:]


def check_package(data: bytes) -> list[str]:
    """What is structurally wrong with a package: relationships to missing parts, parts
    without a content type, duplicate relationship ids or sheet ids/names. Empty: sound."""
    package = Package(data)
    problems = []
    for name in package.names:
        if name.endswith("/") or name == CONTENT_TYPES:
            continue
        if not name.endswith(".rels") and package.content_type(name) is None:
            problems.append(f"{name} has no content type")
        if not name.endswith(".rels"):
            ids = set()
            for rel in package.rels(name):
                if rel.id in ids:
                    problems.append(f"{name}: relationship id {rel.id} twice")
                ids.add(rel.id)
                if not rel.external and rel.target not in package.infos:
                    problems.append(f"{name}: {rel.id} points to missing {rel.target}")
    for rel in package.rels(""):
        if not rel.external and rel.target not in package.infos:
            problems.append(f"package relationship {rel.id} points to missing {rel.target}")
    book = package.read("xl/workbook.xml")
    sheets = [attrs(m.group(1)) for m in re.finditer(rb"<sheet\b([^>]*?)/?>", book)]
    for key in (b"sheetId", b"name"):
        values = [s.get(key, b"").lower() for s in sheets]
        if len(values) != len(set(values)):
            problems.append(f"workbook.xml: duplicate sheet {key.decode()}")
    return problems

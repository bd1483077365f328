"""An xlsx package as parts and relationships, edited at the byte level (:class:`Package`):
which part a relationship points to, the parts a sheet brings along (its drawings, charts,
tables...), content types added and removed, and a structural check of the result
(:func:`check_package`: every relationship's target exists, every part has a content type, no
duplicate ids)."""

from __future__ import annotations

import io
import posixpath
import re
import struct
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

    def __init__(self, data: bytes | io.BytesIO):
        self.zip = zipfile.ZipFile(data if isinstance(data, io.BytesIO) else io.BytesIO(data))
        self.infos = {info.filename: info for info in self.zip.infolist()}
        self.names = list(self.infos)
        self._cache: dict[str, bytes] = {}
        self._types: tuple[dict[str, str], dict[str, str]] | None = None

    def read(self, part: str) -> bytes:
        data = self._cache.get(part)
        if data is None:
            data = self._cache[part] = self.zip.read(part)
        return data

    def forget(self, part: str) -> None:
        """Let go of the bytes of ``part`` read so far (read again if asked for)."""
        self._cache.pop(part, None)

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
        if self._types is None:  # read once: a package has hundreds of parts
            overrides: dict[str, str] = {}
            defaults: dict[str, str] = {}
            types = self.read(CONTENT_TYPES)
            for match in _OVERRIDE.finditer(types):
                found = attrs(match.group(1) or match.group(2))
                overrides.setdefault(found.get(b"PartName", b"").decode().lstrip("/").lower(),
                                     found.get(b"ContentType", b"").decode())
            for match in _DEFAULT.finditer(types):
                found = attrs(match.group(1))
                defaults.setdefault(found.get(b"Extension", b"").decode().lower(),
                                    found.get(b"ContentType", b"").decode())
            self._types = overrides, defaults
        overrides, defaults = self._types
        found = overrides.get(part.lower())
        return found if found is not None else defaults.get(part.rpartition(".")[2].lower())

    def copy_raw(self, part: str, out: zipfile.ZipFile) -> bool:
        """Write ``part`` into ``out`` as this package stores it: its compressed bytes copied,
        not inflated and deflated again (most of a large tracker is parts a refresh leaves
        alone). False, and nothing written, where the entry is not a plain one to copy so (the
        caller writes it the usual way). zipfile has no public call for this: the entry is
        written as ZipFile.open(..., "w") writes one, header, bytes, then its directory entry."""
        info = self.infos[part]
        source = self.zip.fp
        if info.flag_bits & 0x01 or source is None or getattr(out, "_writing", True) or \
                info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return False
        source.seek(info.header_offset)
        header = source.read(zipfile.sizeFileHeader)
        if len(header) != zipfile.sizeFileHeader or header[:4] != zipfile.stringFileHeader:
            return False
        fields = struct.unpack(zipfile.structFileHeader, header)
        source.seek(info.header_offset + zipfile.sizeFileHeader + fields[10] + fields[11])
        raw = source.read(info.compress_size)  # fields 10, 11: name and extra lengths
        if len(raw) != info.compress_size:
            return False
        entry = zipfile.ZipInfo(info.filename, info.date_time)
        entry.compress_type = info.compress_type
        entry.external_attr = info.external_attr
        entry.create_system = info.create_system
        entry.flag_bits = info.flag_bits & ~0x08  # sizes in the header, no data descriptor
        entry.CRC, entry.compress_size, entry.file_size = (info.CRC, info.compress_size,
                                                           info.file_size)
        zip64 = max(entry.file_size, entry.compress_size) > zipfile.ZIP64_LIMIT
        entry.header_offset = out.fp.tell()
        out.fp.write(entry.FileHeader(zip64))
        out.fp.write(raw)
        out.start_dir = out.fp.tell()
        out.filelist.append(entry)
        out.NameToInfo[entry.filename] = entry
        out._didModify = True  # noqa: SLF001 - as ZipFile.open(..., "w") sets it
        return True


def deflated(data: bytes, handle) -> None:
    """The package ``data`` (saved uncompressed) written to ``handle`` compressed, as
    openpyxl saves a workbook."""
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            entry.external_attr = info.external_attr
            body = source.read(info)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry._compresslevel = 1 if len(body) > 1 << 20 else 6  # noqa: SLF001 - as splice
            out.writestr(entry, body)


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

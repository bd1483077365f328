"""Opening and saving tracker files safely, with one-line messages for everything that goes wrong.

- :func:`open_tracker` checks the file before openpyxl reads it (:func:`check_archive`): that it
  exists, is a file, is an xlsx (or an xlsm, whose macros are kept), is not damaged or
  truncated, is not a zip bomb (a part, or all of them together, inflating more than MAX_RATIO
  fold, or more than MAX_UNCOMPRESSED bytes of XML), declares no DTD or entities (an XML bomb),
  and has at most MAX_SHEETS sheets, each its own part. Before a full load (refresh) it also
  checks that merged cells and hyperlinks cover at most MAX_EXPANDED_CELLS cells, since openpyxl
  makes a cell object for each of them: a 20 kB file merging A1:XFD1048576 would take hours
  and all memory. XML is parsed with defusedxml (a dependency of xlkpi), which refuses entity
  declarations wherever they are; openpyxl uses it too.
- In read-only mode (``xlkpi report``) openpyxl trusts each sheet's stored dimension (its
  ``<dimension ref=...>``): a stale "A1:F50" would cut the data at row 50 and a forged
  "A1:XFD1048576" would pad every row to 16,384 cells. :func:`open_tracker` resets them, so
  that the rows are those the sheet really holds.
- :func:`save_atomic` writes a temporary file (``.~xlkpi-XXXXXXXX.xlsx``) beside the tracker,
  flushes it to disk, keeps the previous file as ``<name>.bak.xlsx`` and only then replaces the
  tracker, so that the tracker is always either the old file or the new one, never a half-written
  one. A failure removes the temporary file; one left by a killed process (power cut, kill -9)
  is removed by the next save in that folder once it is STALE_TEMP_SECONDS old.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
import stat
import tempfile
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import openpyxl
import openpyxl.xml
from openpyxl import Workbook
from openpyxl.utils.cell import range_boundaries

from xlkpi.core.errors import TrackerFileError
from xlkpi.tracker.model import DATA_SHEETS
from xlkpi.xlsx import rows as xlsx_stream

MAX_UNCOMPRESSED = 1 << 30  # 1 GiB of XML is far beyond any tracker: refuse it
MAX_RATIO = 200  # a part (or a whole file) that inflates more than this is a zip bomb
RATIO_CHECKED_FROM = 10 * 1024 * 1024  # ... once it unpacks to more than this
MAX_PARTS = 10_000
MAX_SHEETS = 1_000  # a tracker has a dozen plus one per rep; openpyxl takes ~4 ms a sheet
MAX_EXPANDED_CELLS = 100_000  # merged and hyperlinked cells openpyxl would make one by one
MAX_WORKBOOK_PART = 16 * 1024 * 1024  # xl/workbook.xml and its relationships, read whole
STALE_TEMP_SECONDS = 3600  # a temporary file this old was left by a process that died
TEMP_PREFIX = ".~xlkpi-"
_TEMP_NAME = re.compile(r"\.~xlkpi-[a-z0-9_]{8}\.xls[xm]", re.IGNORECASE)  # mkstemp's names
_PROLOG_BYTES = 64 * 1024  # where a DOCTYPE would have to be
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, or an xlsx encrypted with a password
_ZIP_MAGIC = b"PK\x03\x04"
_MAX_COL, _MAX_ROW = 16_384, 1_048_576
EXTENSIONS = (".xlsx", ".xlsm")


def lock_files(path: Path) -> list[Path]:
    """Lock files that Excel (``~$name``) and LibreOffice (``.~lock.name#``) keep beside a
    workbook while it is open."""
    candidates = [path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")]
    return [lock for lock in candidates if lock.exists()]


def check_not_open(path: Path) -> None:
    """A TrackerFileError when the workbook is open in Excel or LibreOffice."""
    locks = lock_files(path)
    if locks:
        raise TrackerFileError(
            f"{path.name} is open in Excel or LibreOffice ({locks[0].name} is beside it); "
            f"close it there first (if it is not open, delete {locks[0].name})")


def backup_path(path: Path) -> Path:
    """Where the previous version is kept: tracker.xlsx -> tracker.bak.xlsx."""
    return path.with_name(f"{path.stem}.bak{path.suffix}")


def _restore_hint(path: Path) -> str:
    backup = backup_path(path)
    if backup.exists() and backup != path:
        return f"restore the previous version from {backup.name}"
    return "restore it from a backup or export it again"


def _damaged(path: Path) -> TrackerFileError:
    return TrackerFileError(f"{path.name} is damaged (truncated or incomplete); "
                            f"{_restore_hint(path)}")


def _xml_bomb(name: str, part: str) -> TrackerFileError:
    return TrackerFileError(f"{name}: {part} declares XML entities, which no Excel workbook "
                            "does; refusing to open it (an XML bomb?)")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _prolog_text(prolog: bytes) -> bytes:
    """The prolog lower-cased, as ASCII-compatible bytes also when the part is UTF-16."""
    if prolog[:2] in (b"\xff\xfe", b"\xfe\xff") or prolog[:2] in (b"<\0", b"\0<"):
        encoding = "utf-16-be" if prolog[:2] in (b"\xfe\xff", b"\0<") else "utf-16-le"
        prolog = prolog.decode(encoding, "ignore").encode("ascii", "ignore")
    return prolog.lower()


def _declares_dtd(prolog: bytes, complete: bool) -> bool:
    """Whether the XML before the part's first element declares a DTD (<!DOCTYPE ...>, where
    entities are declared), or goes on past ``prolog`` (``complete``: it is the whole part),
    which no workbook's does: 64 kB of comments in front of a DTD must not hide it."""
    if b"<!doctype" in prolog or b"<!entity" in prolog:
        return True
    at, end = 0, len(prolog)
    while True:
        while at < end and prolog[at] in b" \t\r\n":
            at += 1
        if prolog.startswith(b"\xef\xbb\xbf", at):
            at += 3
            continue
        if at >= end:
            return not complete
        if prolog.startswith(b"<?", at) or prolog.startswith(b"<!--", at):
            close = prolog.find(b"?>" if prolog[at + 1] == ord("?") else b"-->", at + 2)
            if close < 0:
                return not complete
            at = close + 2 + (prolog[at + 1] != ord("?"))
            continue
        return prolog.startswith(b"<!", at)  # a declaration; otherwise the first element


def check_archive(path: str | os.PathLike) -> None:
    """The checks of the file itself, before any reader parses it: a TrackerFileError (one line:
    what is wrong and what to do) when it is not an xlsx, damaged, a zip or XML bomb, or has
    more sheets than a tracker could. ``path`` must be an existing file."""
    _check_archive(Path(path))


def _check_archive(path: Path, expansions: bool = False) -> None:
    """check_archive; with ``expansions``, also the merged and hyperlinked cells that a full
    openpyxl load would make one by one."""
    name = path.name
    try:
        with open(path, "rb") as handle:
            magic = handle.read(8)
    except PermissionError:
        raise TrackerFileError(f"{name}: permission denied; you may not read this file (check "
                               "its permissions, or copy it somewhere you may)") from None
    if magic.startswith(_OLE_MAGIC):
        raise TrackerFileError(
            f"{name} is an old-style .xls workbook or is protected with a password; open it in "
            "Excel and save it as an Excel Workbook (.xlsx) without a password")
    if not magic.startswith(_ZIP_MAGIC):
        what = "empty" if not magic else "not an Excel workbook (.xlsx)"
        raise TrackerFileError(f"{name} is {what}; give the tracker's .xlsx file, or create "
                               f"one with `xlkpi new {name}`")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise TrackerFileError(f"{name} is a zip file but not an Excel workbook; give "
                                       "the tracker's .xlsx file")
            if len(infos) > MAX_PARTS:
                raise TrackerFileError(f"{name} has {len(infos)} parts, far more than a "
                                       "workbook has; refusing to open it")
            total = sum(info.file_size for info in infos)
            if total > MAX_UNCOMPRESSED:
                raise TrackerFileError(
                    f"{name} unpacks to {total / (1 << 30):.1f} GiB, over the "
                    f"{MAX_UNCOMPRESSED >> 30} GiB limit; refusing to open it (a zip bomb?)")
            packed = sum(info.compress_size for info in infos)
            if total > RATIO_CHECKED_FROM and total / max(packed, 1) > MAX_RATIO:
                raise TrackerFileError(
                    f"{name} inflates {total / max(packed, 1):.0f}-fold, to "
                    f"{total / (1 << 20):,.0f} MiB; refusing to open it (a zip bomb?)")
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > RATIO_CHECKED_FROM and ratio > MAX_RATIO:
                    raise TrackerFileError(f"{name}: {info.filename} inflates {ratio:.0f}-fold; "
                                           "refusing to open it (a zip bomb?)")
                if info.filename.endswith((".xml", ".rels", ".vml")):
                    with archive.open(info) as part:
                        head = part.read(_PROLOG_BYTES)
                    if _declares_dtd(_prolog_text(head), complete=len(head) < _PROLOG_BYTES):
                        raise _xml_bomb(name, info.filename)
            sheets = _sheet_parts(archive, path)
            if expansions:
                _check_expansions(archive, name, sheets)
    except (zipfile.BadZipFile, zlib.error, EOFError, zipfile.LargeZipFile,
            NotImplementedError):
        raise _damaged(path) from None


def _parse_whole(archive: zipfile.ZipFile, path: Path, part: str):
    """A small part (xl/workbook.xml, its relationships) parsed with defusedxml."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    size = archive.getinfo(part).file_size
    if size > MAX_WORKBOOK_PART:
        raise TrackerFileError(f"{path.name}: {part} is {size:,} bytes, far more than a "
                               "workbook needs; refusing to open it")
    try:
        return fromstring(archive.read(part))
    except DefusedXmlException:
        raise _xml_bomb(path.name, part) from None
    except ParseError as error:
        raise TrackerFileError(f"{path.name} could not be read as a workbook ({part}: "
                               f"{error}); {_restore_hint(path)}") from None


def _sheet_parts(archive: zipfile.ZipFile, path: Path) -> dict[str, str]:
    """Sheet name → its part, from xl/workbook.xml; a TrackerFileError for more than MAX_SHEETS
    sheets, or two sheets on one part (openpyxl would read it once for each)."""
    name = path.name
    book = _parse_whole(archive, path, "xl/workbook.xml")
    sheets = [element for element in book.iter() if _local(element.tag) == "sheet"]
    if len(sheets) > MAX_SHEETS:
        raise TrackerFileError(
            f"{name} has {len(sheets):,} sheets, more than xlkpi reads ({MAX_SHEETS:,}); move "
            "the sheets you added to another workbook, or delete them, and try again")
    rels_part = "xl/_rels/workbook.xml.rels"
    if rels_part not in archive.namelist():
        return {}
    rels = _parse_whole(archive, path, rels_part)
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter()
               if _local(rel.tag) == "Relationship"}
    parts: dict[str, str] = {}
    owners: dict[str, str] = {}
    for sheet in sheets:
        rel_id = next((value for key, value in sheet.attrib.items() if _local(key) == "id"), None)
        target = targets.get(rel_id)
        if not target:
            continue
        part = (target.lstrip("/") if target.startswith("/")
                else posixpath.normpath(posixpath.join("xl", target)))
        title = sheet.get("name", "")
        if part in owners:
            raise TrackerFileError(
                f"{name} is damaged: the sheets '{owners[part]}' and '{title}' are one and the "
                f"same part ({part}); {_restore_hint(path)}")
        owners[part] = title
        parts[title] = part
    return parts


def _area(ref: str) -> int:
    """Cells in a reference such as "A1:C3", "A:A" or "2:5" (several, space-separated)."""
    cells = 0
    for one in ref.split():
        try:
            min_col, min_row, max_col, max_row = range_boundaries(one.replace("$", ""))
        except (ValueError, TypeError):
            continue  # not a reference: openpyxl says so when it loads the sheet
        cols = (max_col or _MAX_COL) - (min_col or 1) + 1
        rows = (max_row or _MAX_ROW) - (min_row or 1) + 1
        cells += max(cols, 0) * max(rows, 0)
    return cells


_EXPANDING = (b"mergeCell", b"hyperlink")
_BYTE_ENCODINGS = re.compile(rb"""^(?:<\?xml[^>]*?encoding\s*=\s*["'](?:utf-?8|us-ascii|ascii|"""
                             rb"""iso-8859-1|latin-?1|windows-1252|cp1252)["'][^>]*\?>|"""
                             rb"""<\?xml(?:(?!encoding)[^>])*\?>|(?!<\?xml))""", re.IGNORECASE)
_CHUNK = 1 << 20


def _may_expand(archive: zipfile.ZipFile, part: str) -> bool:
    """Whether a sheet's XML may hold merged cells or hyperlinks: it names one of them, or it is
    in an encoding where those names are not these bytes (UTF-16...). A quick search of the
    bytes, so that only such sheets are parsed."""
    overlap = max(map(len, _EXPANDING)) - 1
    with archive.open(part) as source:
        head = source.read(_CHUNK)
        text = head.lstrip(b"\xef\xbb\xbf")
        if b"\0" in text[:256] or not _BYTE_ENCODINGS.match(text.lstrip()):
            return True
        tail = b""
        while head:
            chunk = tail + head
            if any(marker in chunk for marker in _EXPANDING):
                return True
            tail = chunk[-overlap:]
            head = source.read(_CHUNK)
    return False


def _check_expansions(archive: zipfile.ZipFile, name: str, sheets: dict[str, str]) -> None:
    """A TrackerFileError when a sheet merges or hyperlinks more than MAX_EXPANDED_CELLS cells
    (openpyxl's full load makes a cell object for each one)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, iterparse

    available = set(archive.namelist())
    for title, part in sheets.items():
        if part not in available or not _may_expand(archive, part):
            continue
        total, largest = 0, ""
        open_elements = []
        try:
            with archive.open(part) as source:
                for event, element in iterparse(source, events=("start", "end")):
                    if event == "start":
                        open_elements.append(element)
                        continue
                    open_elements.pop()
                    if open_elements:  # done with it: the tree never grows
                        open_elements[-1].remove(element)
                    kind = _local(element.tag)
                    if kind in ("mergeCell", "hyperlink"):
                        ref = element.get("ref", "")
                        total += _area(ref)
                        largest = max(largest, ref, key=_area)
                        if total > MAX_EXPANDED_CELLS:
                            raise TrackerFileError(
                                f"{name}: the sheet '{title}' has merged or hyperlinked cells "
                                f"over {largest} (more than {MAX_EXPANDED_CELLS:,} cells in "
                                "all, more than xlkpi can read); unmerge them (Home > Merge & "
                                "Center) or remove the hyperlinks in Excel, then try again")
        except DefusedXmlException:
            raise _xml_bomb(name, part) from None
        except ParseError:
            continue  # openpyxl's load gives the message for broken XML


def _check_parser() -> None:
    # openpyxl parses worksheets and shared strings with iterparse, which is protected only
    # through defusedxml (lxml, when installed, protects only its fromstring).
    if not openpyxl.xml.DEFUSEDXML:
        raise TrackerFileError("openpyxl would parse XML without protection against XML bombs; "
                               "install defusedxml (pip install defusedxml) and try again")


def _defused_cause(exc: BaseException) -> bool:
    """Whether defusedxml refused something on the way to ``exc`` (openpyxl wraps errors)."""
    from defusedxml import DefusedXmlException

    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, DefusedXmlException):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def open_tracker(path: str | os.PathLike, *, writing: bool = False, values: bool = False
                 ) -> Workbook:
    """The workbook at ``path``, checked; a TrackerFileError (one line: what is wrong and what to
    do) when it is missing, not an xlsx, damaged, too large or, when ``writing``, open in Excel.

    ``values``: for reading only (``xlkpi report``): openpyxl's read-only mode, and each formula
    cell as the value it last showed (a date a person typed as =DATE(2026,1,5) is a date, not
    formula text); the sheets' stored dimensions are reset (rows are what the sheet holds); close
    the workbook after use. Otherwise formulas stay formulas, so that a refresh writes them back,
    and an .xlsm is opened with its macros kept (keep_vba), so that saving it keeps them."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise TrackerFileError(f"{name}: no such file; create one with `xlkpi new {name}`")
    if path.is_dir():
        raise TrackerFileError(f"{name} is a folder; give the tracker's .xlsx file")
    if not path.is_file():
        raise TrackerFileError(f"{name} is not a file (a device or a pipe?); give the tracker's "
                               ".xlsx file")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise TrackerFileError(f"{name} is an old-style .xls workbook; open it in Excel and "
                               "save it as an Excel Workbook (.xlsx)")
    if suffix in (".csv", ".ods", ".numbers", ".xlsb"):
        raise TrackerFileError(f"{name} is not an .xlsx workbook; open it in Excel and save it "
                               "as an Excel Workbook (.xlsx)")
    if writing:
        check_not_open(path)
    _check_parser()
    _check_archive(path, expansions=not values)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (data validation extensions, ...)
            warnings.simplefilter("ignore", UserWarning)
            if values:
                wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
                for ws in wb.worksheets:
                    if hasattr(ws, "reset_dimensions"):
                        ws.reset_dimensions()
                    if hasattr(ws, "_cells_by_row"):  # read lazily: errors come later
                        ws._cells_by_row = _guarded_rows(ws._cells_by_row, path)
                return wb
            def load(source):
                return openpyxl.load_workbook(source, keep_vba=suffix == ".xlsm")

            # A large tracker's data rows stay sheet XML (xlsx_stream): no cell objects.
            return xlsx_stream.load_split(path, DATA_SHEETS, load) or load(path)
    except TrackerFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise _damaged(path) from None
    except OSError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged part
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> TrackerFileError:
    if _defused_cause(exc):
        return TrackerFileError(f"{path.name}: a part of it declares XML entities, which no "
                                "Excel workbook does; refusing to open it (an XML bomb?)")
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return TrackerFileError(f"{path.name} could not be read as a workbook ({detail}); "
                            f"{_restore_hint(path)}")


def _guarded_rows(cells_by_row, path: Path):
    """A read-only sheet's row reader whose damaged-file errors (raised as the rows are read,
    long after open_tracker returned) are one-line TrackerFileErrors too."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException

    def rows(*args, **kwargs):
        try:
            yield from cells_by_row(*args, **kwargs)
        except (zipfile.BadZipFile, zlib.error, EOFError):
            raise _damaged(path) from None
        except (ParseError, DefusedXmlException) as exc:
            raise _unreadable(path, exc) from None
    return rows


# --- saving --------------------------------------------------------------------------------

def _fsync_dir(folder: Path) -> None:
    """Flush the folder's entry of the replaced file, where the system can: best effort (some
    network and FUSE file systems refuse to fsync a folder; the file is saved all the same)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temps(folder: Path, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove the temporary files (``.~xlkpi-XXXXXXXX.xlsx``) that a save killed half-way left in
    ``folder``, once they are ``older_than`` seconds old (a live save finishes in seconds).
    Returns what was removed; a file that cannot be removed is left alone."""
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _TEMP_NAME.fullmatch(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime > older_than:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _about_the_tracker(exc: OSError, path: Path) -> OSError:
    """``exc`` naming the file the person knows rather than a temporary one: an error while
    writing tracker.xlsx's temporary file, or replacing tracker.xlsx with it, is about
    tracker.xlsx (or tracker.bak.xlsx, for the backup)."""
    if exc.errno is None:
        return exc
    named = [Path(str(f)) for f in (exc.filename, exc.filename2) if f is not None]
    if named and not named[0].name.startswith(TEMP_PREFIX):
        return exc
    target = next((f for f in named if not f.name.startswith(TEMP_PREFIX)), path)
    return type(exc)(exc.errno, exc.strerror, str(target))


def save_atomic(wb: Workbook, path: str | os.PathLike, backup: bool = True) -> Path | None:
    """Save ``wb`` to ``path`` without ever leaving a half-written file there.

    The workbook goes to a temporary file in the same folder, which is flushed to disk; the
    previous file (if any, and ``backup``) is copied to ``<name>.bak<suffix>``; then the
    temporary file replaces ``path`` in one step (os.replace). Returns the backup's path.
    A ``path`` that is a symbolic link saves to the file it points to (the link stays). A
    read-only file is not replaced (as on Windows). An error names ``path`` (or the backup),
    never the temporary file, and leaves no temporary file behind.
    """
    path = Path(path)
    link = path
    if path.is_symlink():
        try:
            path = path.resolve()
        except (OSError, RuntimeError):  # a loop of links
            raise TrackerFileError(f"{path.name} is a symbolic link that leads round in a "
                                   "circle; replace it with the file, or give another "
                                   "name") from None
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise TrackerFileError(f"{path}: the folder {folder} does not exist; create it or give "
                               "another path")
    if path.is_dir():
        raise TrackerFileError(f"{path} is a folder; give a file name such as tracker.xlsx")
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        raise TrackerFileError(f"{path.name}: a tracker is saved as .xlsx; give a name such as "
                               f"{path.stem or 'tracker'}.xlsx")
    if getattr(wb, "vba_archive", None) is not None and suffix != ".xlsm":
        raise TrackerFileError(f"{path.name}: this workbook has macros, which an .xlsx cannot "
                               f"hold; save it as {path.stem}.xlsm")
    check_not_open(link)
    if link != path:
        check_not_open(path)
    if path.exists() and not path.stat().st_mode & stat.S_IWUSR:
        raise TrackerFileError(f"{path.name} is read-only; make it writable (chmod u+w, or "
                               "uncheck Read-only in its properties) and try again")
    remove_stale_temps(folder)
    saved_backup = None
    temp = None
    try:
        fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix, dir=folder)
        temp = Path(temp_name)
        with os.fdopen(fd, "wb") as handle:
            wb.save(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            shutil.copymode(path, temp)  # keep the tracker's permissions
            if backup:
                saved_backup = backup_path(path)
                _copy_atomic(path, saved_backup)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
        temp = None
    except OSError as exc:
        _remove(temp)
        mapped = _about_the_tracker(exc, path)
        if mapped is exc:
            raise
        raise mapped from exc
    except BaseException:
        _remove(temp)
        raise
    _fsync_dir(folder)
    return saved_backup


def _remove(temp: Path | None) -> None:
    """Remove a temporary file after a failure; never raise over the failure itself."""
    if temp is not None:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def _copy_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` so that ``target`` is never half-written either."""
    fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=target.suffix, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle, open(source, "rb") as original:
            shutil.copyfileobj(original, handle)
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copystat(source, temp_name)
        os.replace(temp_name, target)
    except BaseException:
        _remove(Path(temp_name))
        raise

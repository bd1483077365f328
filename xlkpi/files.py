"""Opening and saving tracker files safely, with one-line messages for everything that goes wrong.

- :func:`open_tracker` checks the file before openpyxl reads it: that it exists, is an xlsx (or an
  xlsm, whose macros are kept), is not damaged or truncated, is not a zip bomb (more than
  MAX_UNCOMPRESSED bytes of XML) and declares no DTD or entities (an XML bomb). openpyxl itself
  parses with defusedxml (installed with xlkpi) or lxml without entity resolution.
- :func:`save_atomic` writes a temporary file beside the tracker, flushes it to disk, keeps the
  previous file as ``<name>.bak.xlsx`` and only then replaces the tracker, so that the tracker is
  always either the old file or the new one, never a half-written one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import openpyxl
import openpyxl.xml
from openpyxl import Workbook

from .errors import TrackerFileError

MAX_UNCOMPRESSED = 1 << 30  # 1 GiB of XML is far beyond any tracker: refuse it
MAX_RATIO = 200  # a part that inflates more than this is a zip bomb, not a spreadsheet
MAX_PARTS = 10_000
_PROLOG_BYTES = 64 * 1024  # where a DOCTYPE would have to be
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, or an xlsx encrypted with a password
_ZIP_MAGIC = b"PK\x03\x04"
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


def _check_archive(path: Path) -> None:
    name = path.name
    with open(path, "rb") as handle:
        magic = handle.read(8)
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
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > 10 * 1024 * 1024 and ratio > MAX_RATIO:
                    raise TrackerFileError(f"{name}: {info.filename} inflates {ratio:.0f}-fold; "
                                           "refusing to open it (a zip bomb?)")
                if info.filename.endswith((".xml", ".rels", ".vml")):
                    with archive.open(info) as part:
                        prolog = part.read(_PROLOG_BYTES).lower()
                    if b"<!doctype" in prolog or b"<!entity" in prolog:
                        raise TrackerFileError(
                            f"{name}: {info.filename} declares XML entities, which no Excel "
                            "workbook does; refusing to open it (an XML bomb?)")
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, NotImplementedError):
        raise TrackerFileError(f"{name} is damaged (truncated or incomplete); "
                               f"{_restore_hint(path)}") from None


def _check_parser() -> None:
    if not (openpyxl.xml.DEFUSEDXML or openpyxl.xml.LXML):
        raise TrackerFileError("openpyxl would parse XML without protection against XML bombs; "
                               "install defusedxml (pip install defusedxml) and try again")


def open_tracker(path: str | os.PathLike, *, writing: bool = False, values: bool = False
                 ) -> Workbook:
    """The workbook at ``path``, checked; a TrackerFileError (one line: what is wrong and what to
    do) when it is missing, not an xlsx, damaged, too large or, when ``writing``, open in Excel.

    ``values``: for reading only (``xlkpi report``): openpyxl's read-only mode, and each formula
    cell as the value it last showed (a date a person typed as =DATE(2026,1,5) is a date, not
    formula text); close the workbook after use. Otherwise formulas stay formulas, so that a
    refresh writes them back, and an .xlsm is opened with its macros kept (keep_vba), so that
    saving it keeps them."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise TrackerFileError(f"{name}: no such file; create one with `xlkpi new {name}`")
    if path.is_dir():
        raise TrackerFileError(f"{name} is a folder; give the tracker's .xlsx file")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise TrackerFileError(f"{name} is an old-style .xls workbook; open it in Excel and "
                               "save it as an Excel Workbook (.xlsx)")
    if suffix in (".csv", ".ods", ".numbers", ".xlsb"):
        raise TrackerFileError(f"{name} is not an .xlsx workbook; open it in Excel and save it "
                               "as an Excel Workbook (.xlsx)")
    if writing:
        check_not_open(path)
    _check_archive(path)
    _check_parser()
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (data validation extensions, ...)
            warnings.simplefilter("ignore", UserWarning)
            if values:
                return openpyxl.load_workbook(path, read_only=True, data_only=True)
            return openpyxl.load_workbook(path, keep_vba=suffix == ".xlsm")
    except TrackerFileError:
        raise
    except (zipfile.BadZipFile, EOFError):
        raise TrackerFileError(f"{name} is damaged (truncated or incomplete); "
                               f"{_restore_hint(path)}") from None
    except OSError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged part
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise TrackerFileError(f"{name} could not be read as a workbook ({detail}); "
                               f"{_restore_hint(path)}") from None


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_atomic(wb: Workbook, path: str | os.PathLike, backup: bool = True) -> Path | None:
    """Save ``wb`` to ``path`` without ever leaving a half-written file there.

    The workbook goes to a temporary file in the same folder, which is flushed to disk; the
    previous file (if any, and ``backup``) is copied to ``<name>.bak<suffix>``; then the
    temporary file replaces ``path`` in one step (os.replace). Returns the backup's path.
    """
    path = Path(path)
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
    check_not_open(path)
    fd, temp_name = tempfile.mkstemp(prefix=".~xlkpi-", suffix=path.suffix, dir=folder)
    temp = Path(temp_name)
    saved_backup = None
    try:
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
        _fsync_dir(folder)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return saved_backup


def _copy_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` so that ``target`` is never half-written either."""
    fd, temp_name = tempfile.mkstemp(prefix=".~xlkpi-", suffix=target.suffix, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle, open(source, "rb") as original:
            shutil.copyfileobj(original, handle)
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copystat(source, temp_name)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise

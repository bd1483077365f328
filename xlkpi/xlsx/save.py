"""Saving a workbook without ever leaving a half-written file, and the files kept beside it.

:func:`save_atomic` writes a temporary file (``.~xlkpi-XXXXXXXX.xlsx``) beside the target,
flushes it to disk, keeps the previous file as ``<name>.bak.xlsx`` and only then replaces the
target, so that it is always either the old file or the new one, never a half-written one. A
failure removes the temporary file; one left by a killed process (power cut, kill -9) is removed
by the next save in that folder once it is STALE_TEMP_SECONDS old. :func:`lock_files` finds the
lock files Excel and LibreOffice keep beside a workbook they have open.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from xlkpi.core import lang
from xlkpi.core.errors import TrackerFileError

STALE_TEMP_SECONDS = 3600  # a temporary file this old was left by a process that died
TEMP_PREFIX = ".~xlkpi-"
_TEMP_NAME = re.compile(r"\.~xlkpi-[a-z0-9_]{8}\.xls[xm]", re.IGNORECASE)  # mkstemp's names
EXTENSIONS = (".xlsx", ".xlsm")


def stamp(path: str | os.PathLike) -> tuple[int, int] | None:
    """A file's size and modification time (None when it cannot be seen): what tells it has
    been saved again since it was read."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def lock_files(path: Path) -> list[Path]:
    """Lock files that Excel (``~$name``) and LibreOffice (``.~lock.name#``) keep beside a
    workbook while it is open."""
    candidates = [path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")]
    return [lock for lock in candidates if lock.exists()]


def check_not_open(path: Path) -> None:
    """A TrackerFileError when the workbook is open in Excel or LibreOffice."""
    locks = lock_files(path)
    if locks:
        raise TrackerFileError(lang.text("messages.errors.open_elsewhere", name=path.name,
                                         lock=locks[0].name))


def backup_path(path: Path) -> Path:
    """Where the previous version is kept: tracker.xlsx -> tracker.bak.xlsx."""
    return path.with_name(f"{path.stem}.bak{path.suffix}")


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


def refreshed_path(path: Path) -> Path:
    """Where a save that must not replace ``path`` goes: tracker.xlsx -> tracker.refreshed.xlsx."""
    return path.with_name(f"{path.stem}.refreshed{path.suffix}")


def save_atomic(wb, path: str | os.PathLike, backup: bool = True,
                unchanged: Callable[[], bool] | None = None) -> Path | None:
    """Save ``wb`` (an openpyxl Workbook or a splice.SplitBook: anything with ``save(file)``)
    to ``path`` without ever leaving a half-written file there.

    The workbook goes to a temporary file in the same folder, which is flushed to disk; the
    previous file (if any, and ``backup``) is copied to ``<name>.bak<suffix>``; then the
    temporary file replaces ``path`` in one step (os.replace). Returns the backup's path.
    A ``path`` that is a symbolic link saves to the file it points to (the link stays). A
    read-only file is not replaced (as on Windows). An error names ``path`` (or the backup),
    never the temporary file, and leaves no temporary file behind.

    ``unchanged``: asked just before ``path`` is replaced whether it still is the file that was
    read; when not (saved by someone else meanwhile), ``path`` and its backup are left alone,
    the new file is saved as refreshed_path(path) and a TrackerFileError says so.
    """
    path = Path(path)
    link = path
    if path.is_symlink():
        try:
            path = path.resolve()
        except (OSError, RuntimeError):  # a loop of links
            raise TrackerFileError(lang.text("messages.errors.save.link_loop",
                                             name=path.name)) from None
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise TrackerFileError(lang.text("messages.errors.save.no_folder", path=path,
                                         folder=folder))
    if path.is_dir():
        raise TrackerFileError(lang.text("messages.errors.save.folder", path=path))
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        raise TrackerFileError(lang.text("messages.errors.save.suffix", name=path.name,
                                         stem=path.stem or "tracker"))
    if getattr(wb, "vba_archive", None) is not None and suffix != ".xlsm":
        raise TrackerFileError(lang.text("messages.errors.save.macros", name=path.name,
                                         stem=path.stem))
    check_not_open(link)
    if link != path:
        check_not_open(path)
    if path.exists() and not path.stat().st_mode & stat.S_IWUSR:
        raise TrackerFileError(lang.text("messages.errors.save.read_only", name=path.name))
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
        if unchanged is not None and path.exists() and not unchanged():
            aside = refreshed_path(path)
            os.replace(temp, aside)
            temp = None
            raise TrackerFileError(lang.text("messages.errors.save.changed", name=path.name,
                                             aside=aside.name))
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

"""About half of a large tracker's data sheets read by python-calamine in a thread of their own
(:class:`ReadAhead`), from a workbook opened a second time, while the main thread reads the
rest and the reader converts them: python-calamine parses without holding the GIL, so on two
cores the cells are read in little more than half the time.

``xlkpi report`` starts it first thing (:func:`read_ahead`), so that the parsing also overlaps
the loading of the report's modules (numpy, openpyxl, the reader: a fifth of a second on one
core while the other is idle); tracker.values starts it itself when nobody did. Light on
purpose: no numpy, no openpyxl."""

from __future__ import annotations

import os
import threading
import zipfile
from concurrent.futures import Future
from pathlib import Path

from xlkpi.tracker.model import data_sheet_titles
from xlkpi.xlsx.archive import check_archive
from xlkpi.xlsx.parts import sheet_parts
from xlkpi.xlsx.save import stamp

AHEAD_FROM_BYTES = 2 << 20  # smaller files: a thread would cost more than it saves
# Of the data sheets' XML, the share read ahead: more than half, since the main thread, besides
# parsing the rest, converts every sheet's cells (about a third of the parsing time). At 50 reps
# x 250,000 rows, 0.55 left the thread idle for half a second; 0.7 ends both together.
AHEAD_SHARE = 0.7


def worth_a_thread(path: Path) -> bool:
    """Whether reading ``path`` gains from a second thread: a large file, two cores or more."""
    try:
        return (os.cpu_count() or 1) > 1 and path.is_file() and \
            path.stat().st_size >= AHEAD_FROM_BYTES
    except OSError:
        return False


def read_ahead(path: str | os.PathLike) -> ReadAhead | None:
    """The reading ahead of ``path``'s largest data sheets, started; None for a small file, on
    one core, or without python-calamine."""
    path = Path(path)
    if not worth_a_thread(path):
        return None
    try:
        import python_calamine  # noqa: F401 - only whether it is there
    except ImportError:
        return None
    return ReadAhead(path)


def ahead_titles(path: Path) -> list[str]:
    """The largest data sheets, about AHEAD_SHARE of the data sheets' XML, largest first."""
    with zipfile.ZipFile(path) as archive:
        parts = sheet_parts(archive, path)
        sizes = {shown: archive.getinfo(parts[shown]).file_size
                 for shown in data_sheet_titles() if shown in parts}
    titles, share = [], 0
    for shown in sorted(sizes, key=sizes.get, reverse=True):
        if share + sizes[shown] <= AHEAD_SHARE * sum(sizes.values()):
            titles.append(shown)
            share += sizes[shown]
    return titles


class ReadAhead:
    """A thread that checks the file at ``path`` (xlsx.archive: nothing is parsed before), picks
    the sheets to read (:func:`ahead_titles`) and reads each
    (``to_python(skip_empty_area=False)``) into a Future, from a workbook of its own.
    :meth:`sheets` gives them to a reader of the same file; :meth:`close` stops after the sheet
    in hand and waits. A file the checks refuse, or that cannot be read so, gets no sheet: the
    reader meets what is wrong itself and says so."""

    def __init__(self, path: Path):
        self.path = path
        self.identity = stamp(path)
        self._futures: Future = Future()  # of {title: Future of its cells}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="xlkpi-read-ahead")
        self._thread.start()

    def sheets(self, path: Path) -> dict[str, Future]:
        """Title → Future of its cells, for a reader of ``path``; {} when that is not the file
        read ahead, or it changed since."""
        if path.resolve() != self.path.resolve() or stamp(path) != self.identity:
            return {}
        return self._futures.result()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def _read(self) -> None:
        try:
            check_archive(self.path)
            futures = {title: Future() for title in ahead_titles(self.path)}
        except Exception:  # noqa: BLE001 - the reader's own checks say what is wrong
            futures = {}
        self._futures.set_result(futures)
        if not futures:
            return
        from python_calamine import CalamineWorkbook

        book = None
        try:
            book = CalamineWorkbook.from_path(str(self.path))
            for title, future in futures.items():
                if self._stop.is_set() or not future.set_running_or_notify_cancel():
                    future.cancel()
                    continue
                try:
                    future.set_result(book.get_sheet_by_name(title).to_python(
                        skip_empty_area=False))
                except BaseException as exc:  # noqa: BLE001 - the reader raises it
                    future.set_exception(exc)
        except BaseException as exc:  # noqa: BLE001 - not opened: each sheet raises it
            for future in futures.values():
                if not future.done() and future.set_running_or_notify_cancel():
                    future.set_exception(exc)
        finally:
            close = getattr(book, "close", None)  # python-calamine 0.3 and later
            if close is not None:
                close()

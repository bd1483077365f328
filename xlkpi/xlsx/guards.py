"""Opening an xlsx safely, with one-line messages for everything that goes wrong.

- :func:`check_archive` (xlsx.archive) checks the file before any reader parses it: not an
  xlsx, damaged, a zip or XML bomb, too many sheets or merged cells.
- :func:`open_workbook` checks the path and the file, then loads it with openpyxl. In
  read-only mode openpyxl trusts each sheet's stored dimension (its ``<dimension ref=...>``): a
  stale "A1:F50" would cut the data at row 50 and a forged "A1:XFD1048576" would pad every row
  to 16,384 cells; they are reset, so that the rows are those the sheet really holds.
"""

from __future__ import annotations

import os
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import openpyxl
import openpyxl.xml
from openpyxl import Workbook

from xlkpi.core import lang
from xlkpi.core.errors import TrackerFileError
from xlkpi.xlsx.archive import check_archive
from xlkpi.xlsx.parts import damaged, restore_hint
from xlkpi.xlsx.save import check_not_open
from xlkpi.xlsx.splice import SplitBook


def _check_parser() -> None:
    # openpyxl parses worksheets and shared strings with iterparse, which is protected only
    # through defusedxml (lxml, when installed, protects only its fromstring).
    if not openpyxl.xml.DEFUSEDXML:
        raise TrackerFileError(lang.text("messages.errors.file.no_defusedxml"))


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


def open_workbook(path: str | os.PathLike, *, writing: bool = False, values: bool = False,
                  split: Callable[[Path, Callable], SplitBook | None] | None = None
                  ) -> Workbook | SplitBook:
    """The workbook at ``path``, checked; a TrackerFileError (one line: what is wrong and what to
    do) when it is missing, not an xlsx, damaged, too large or, when ``writing``, open in Excel.

    ``split`` (not with ``values``): ``split(path, load)`` gives the file loaded with some of
    its rows held outside openpyxl (a splice.SplitBook, e.g. by splice.load_split), or None to
    load it whole (an openpyxl Workbook) with ``load(path)``.

    ``values``: for reading only (``xlkpi report``): openpyxl's read-only mode, and each formula
    cell as the value it last showed (a date a person typed as =DATE(2026,1,5) is a date, not
    formula text); the sheets' stored dimensions are reset (rows are what the sheet holds); close
    the workbook after use. Otherwise formulas stay formulas, so that a refresh writes them back,
    and an .xlsm is opened with its macros kept (keep_vba), so that saving it keeps them."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise TrackerFileError(lang.text("messages.errors.no_file", name=name))
    if path.is_dir():
        raise TrackerFileError(lang.text("messages.errors.file.folder", name=name))
    if not path.is_file():
        raise TrackerFileError(lang.text("messages.errors.file.not_a_file", name=name))
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise TrackerFileError(lang.text("messages.errors.file.old_xls", name=name))
    if suffix in (".csv", ".ods", ".numbers", ".xlsb"):
        raise TrackerFileError(lang.text("messages.errors.file.other_format", name=name))
    if writing:
        check_not_open(path)
    _check_parser()
    check_archive(path, expansions=not values)
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
                return _macros_for_reading(
                    openpyxl.load_workbook(source, keep_vba=suffix == ".xlsm"))

            # Large sheets' rows stay sheet XML (splice): no cell objects.
            book = split(path, load) if split is not None else None
            return load(path) if book is None else book
    except TrackerFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise damaged(path) from None
    except OSError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged part
        raise _unreadable(path, exc) from None


def _macros_for_reading(wb):
    """``wb`` with its macros (an .xlsm's parts openpyxl keeps in ``vba_archive``, a zip open
    for appending on a BytesIO) closed and opened again for reading, all the writer does with
    them: a zip left open for appending writes its directory when the garbage collector
    finalizes it, which may be after its buffer, and Python then prints "Exception ignored …
    I/O operation on closed file" under the command's output."""
    archive = getattr(wb, "vba_archive", None)
    if archive is not None:
        buffer = archive.fp
        archive.close()  # the directory written into the buffer, which stays open
        wb.vba_archive = zipfile.ZipFile(buffer)
    return wb


def _unreadable(path: Path, exc: Exception) -> TrackerFileError:
    if _defused_cause(exc):
        return TrackerFileError(lang.text("messages.errors.file.xml_entities", name=path.name))
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return TrackerFileError(lang.text("messages.errors.file.unreadable", name=path.name,
                                      detail=detail, hint=restore_hint(path)))


def _guarded_rows(cells_by_row, path: Path):
    """A read-only sheet's row reader whose damaged-file errors (raised as the rows are read,
    long after open_tracker returned) are one-line TrackerFileErrors too."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException

    def rows(*args, **kwargs):
        try:
            yield from cells_by_row(*args, **kwargs)
        except (zipfile.BadZipFile, zlib.error, EOFError):
            raise damaged(path) from None
        except (ParseError, DefusedXmlException) as exc:
            raise _unreadable(path, exc) from None
    return rows



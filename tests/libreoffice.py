"""Recalculate a workbook with headless LibreOffice, as a check on the tracker's formulas.

LibreOffice keeps the cached values of an .xlsx by default ("Recalculation on file load" for
Excel 2007+ files is "never" out of the box), so soffice runs with a private profile whose
registrymodifications.xcu sets

    /org.openoffice.Office.Calc/Formula/Load  OOXMLRecalcMode = 0   (always recalculate)

(and ODFRecalcMode = 0 alike). tests/test_workbook_libreoffice.py checks that a stale cached
value really is replaced. Read the result with ``openpyxl.load_workbook(path, data_only=True)``.

One LibreOffice per test process: starting soffice costs ~2 CPU-seconds, more than converting
most test workbooks. So ``convert()`` starts tests/lo_server.py under the system python
(/usr/bin/python3, which has ``uno``: Debian's python3-uno; the venv has not) on first use; that
child starts soffice with a profile of its own (made here, recalculating always) and converts
each file through it as ``soffice --convert-to`` would (load hidden and read-only, store with
the export filter, close). Each pytest-xdist worker has its own. A conversion that overruns its
timeout kills the child and its soffice (the next call starts new ones) and raises
``subprocess.TimeoutExpired``, as before; if soffice dies, the next call starts a new one; at
exit the child is told to stop and soffice exits.

Without python3-uno (or when the resident soffice cannot start) each conversion runs its own
``soffice --headless --convert-to`` instead, with a warning, and so does every conversion with
XLKPI_LO_SERVER=0 in the environment: the same results, slower.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

from tests.lo_server import process_start, process_tree, stat_fields

RECALC_ALWAYS_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""

UNO_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).with_name("lo_server.py")
# The export filter soffice --convert-to guesses from the extension, for the ones tests use
# (``convert(..., "xlsx:<filter>")`` names one); any other conversion runs soffice on its own.
FILTERS = {"xlsx": "Calc MS Excel 2007 XML", "pdf": "calc_pdf_Export", "ods": "calc8"}


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _new_profile(prefix: str) -> Path:
    """A LibreOffice profile folder that always recalculates on load."""
    profile = Path(tempfile.mkdtemp(prefix=prefix))
    user = profile / "user"
    user.mkdir()
    (user / "registrymodifications.xcu").write_text(RECALC_ALWAYS_XCU, encoding="utf-8")
    return profile


_PROFILE: Path | None = None


def _profile() -> Path:
    """The profile of the one-shot conversions: one per process (two soffice instances must
    not share one, and the resident soffice has its own), made on first use, removed at exit."""
    global _PROFILE
    if _PROFILE is None:
        _PROFILE = _new_profile("xlkpi-lo-profile-")
        atexit.register(shutil.rmtree, _PROFILE, ignore_errors=True)
    xcu = _PROFILE / "user" / "registrymodifications.xcu"
    if not xcu.exists():
        xcu.parent.mkdir(parents=True, exist_ok=True)
        xcu.write_text(RECALC_ALWAYS_XCU, encoding="utf-8")
    return _PROFILE


class ServerUnavailable(RuntimeError):
    """The resident LibreOffice could not start (no python3-uno, or soffice failed)."""


class ServerGone(RuntimeError):
    """The resident LibreOffice (the child or its soffice) died during a request."""


class _Server:
    """tests/lo_server.py under /usr/bin/python3 and its soffice, in a session of their own."""

    def __init__(self, binary: str, timeout: float):
        self.profile = _new_profile("xlkpi-lo-server-")
        self.buffer = b""
        self.soffice: list[tuple[int, str]] = []  # oosplash, soffice.bin: (pid, start time)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (the child's stderr, kept open)
        try:
            self.process = subprocess.Popen(
                [UNO_PYTHON, str(SERVER), binary, str(self.profile), str(timeout)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, bufsize=0,
                start_new_session=True, cwd=tempfile.gettempdir())
        except OSError as error:
            self.close()
            raise ServerUnavailable(f"{UNO_PYTHON}: {error}") from None
        try:
            ready = self._read(time.monotonic() + timeout)
        except (TimeoutError, ServerGone) as error:
            ready = {"error": f"LibreOffice server did not start: {error}"}
        except BaseException:
            self.kill()
            raise
        if not ready.get("ready"):
            message = f"{ready.get('error')}{self._log_tail()}"
            self.kill()
            raise ServerUnavailable(message)
        self.soffice = [(pid, start) for pid, start in ready["soffice"]]

    def alive(self) -> bool:
        return (self.process.poll() is None and bool(self.soffice)
                and all(process_start(pid) == start for pid, start in self.soffice))

    def convert(self, request: dict, timeout: float) -> str | None:
        """Send one request; None when converted, else LibreOffice's error. ServerGone if
        the child or soffice died, TimeoutError (everything killed) if it overran."""
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
        except (BrokenPipeError, OSError) as error:
            self.kill()
            raise ServerGone(str(error)) from None
        try:
            answer = self._read(time.monotonic() + timeout)
        except BaseException:  # overran, died, or interrupted: its answer would come late
            self.kill()
            raise
        if answer.get("fatal"):
            self.kill()
            raise ServerGone(answer.get("error", ""))
        return None if answer.get("ok") else answer.get("error", "no answer")

    def _read(self, deadline: float) -> dict:
        """The child's next JSON line, waiting until ``deadline`` (time.monotonic)."""
        out = self.process.stdout.fileno()
        while True:
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no answer in time")
                ready, _, _ = select.select([out], [], [], left)
                if ready:
                    chunk = os.read(out, 65536)
                    if not chunk:
                        raise ServerGone(f"the LibreOffice server exited{self._log_tail()}")
                    self.buffer += chunk
            line, _, self.buffer = self.buffer.partition(b"\n")
            with contextlib.suppress(ValueError):
                answer = json.loads(line)
                if isinstance(answer, dict):
                    return answer
            # not an answer (something else wrote to the child's stdout): the next line

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self.log.seek(0)
            text = self.log.read().decode(errors="replace").strip()
            return f" ({text[-2000:]})" if text else ""
        return ""

    def stop(self, wait: float = 30) -> None:
        """Ask the child to stop (end of its stdin): it terminates soffice and exits; kill
        them if they take longer than ``wait`` seconds."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=wait)
        self.kill()

    def kill(self) -> None:
        """Kill soffice.bin (by id: its parent oosplash reaps it and exits, the child reaps
        that and exits, so nothing is left to init) and, should the child not exit by itself
        then, the child's process group; reap the child, remove the profile."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()  # an idle child exits at the end of its stdin
        self._kill_soffice(self.soffice[1:] or self.soffice)  # soffice.bin; oosplash exits
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._kill_soffice(self.soffice)  # should any be left (out of the group)
        self.soffice = []
        self.close()

    @staticmethod
    def _kill_soffice(processes: list[tuple[int, str]]) -> None:
        for pid, start in reversed(processes):
            if process_start(pid) == start:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        for stream in (getattr(self, "process", None) and self.process.stdin,
                       getattr(self, "process", None) and self.process.stdout, self.log):
            if stream:
                with contextlib.suppress(OSError):
                    stream.close()
        shutil.rmtree(self.profile, ignore_errors=True)


_SERVER: _Server | None = None
_NO_SERVER: str | None = None  # why this process converts with one soffice a file


def _server(binary: str, timeout: float) -> _Server | None:
    """The running resident LibreOffice, started if there is none or it died; None (after a
    warning, once) when it cannot start: the caller converts with soffice on its own."""
    global _SERVER, _NO_SERVER
    if _NO_SERVER is None and os.environ.get("XLKPI_LO_SERVER", "1") == "0":
        _NO_SERVER = "XLKPI_LO_SERVER=0"
    if _NO_SERVER is not None:
        return None
    if _SERVER is not None and not _SERVER.alive():
        _SERVER.kill()
        _SERVER = None
    if _SERVER is None:
        try:
            _SERVER = _Server(binary, timeout)
        except ServerUnavailable as error:
            _NO_SERVER = str(error)
            warnings.warn(f"LibreOffice: no resident soffice ({error}); each conversion starts "
                          "soffice on its own (slower). Install python3-uno.", stacklevel=3)
            return None
    return _SERVER


def _stop_server() -> None:
    global _SERVER
    if _SERVER is not None:
        _SERVER.stop()
        _SERVER = None


atexit.register(_stop_server)


def resident_cpu() -> float:
    """CPU seconds spent so far by the resident LibreOffice (the child, soffice and their
    descendants, reaped or living); 0 with none. tests/conftest.py adds it to a test's CPU
    time: the resident soffice is reaped only at exit, so os.times() alone misses it."""
    if _SERVER is None or _SERVER.process.poll() is not None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for number, pid in enumerate(process_tree(_SERVER.process.pid)):
        if (fields := stat_fields(pid)) is None:
            continue
        # utime, stime; and for the child (whose descendants are all in the tree), cutime and
        # cstime: what its soffice used before it exited and was reaped
        total += int(fields[11]) + int(fields[12])
        if number == 0:
            total += int(fields[13]) + int(fields[14])
    return total / ticks


def convert(path: Path | str, out_dir: Path | str, to: str = "xlsx",
            timeout: float = 600) -> Path:
    """``path`` converted as by ``soffice --headless --convert-to <to>`` into ``out_dir``
    (recalculating on load), through this process's resident LibreOffice when there is one;
    the path of the converted file."""
    binary, source, out, target = _prepared(path, out_dir, to)
    extension, _, export = to.partition(":")
    export, _, options = export.partition(":")
    export = export or FILTERS.get(extension)
    server = _server(binary, timeout) if export else None
    if server is None:
        return convert_once(source, out, to, timeout)
    request = {"source": str(source), "target": str(target), "filter": export,
               "options": options}
    for attempt in (1, 2):
        try:
            error = server.convert(request, timeout)
            break
        except TimeoutError:
            raise subprocess.TimeoutExpired(["lo_server", to, str(source)], timeout) from None
        except ServerGone as gone:
            if attempt == 2:
                raise RuntimeError(f"LibreOffice did not convert {source.name}: soffice died "
                                   f"({gone})") from None
            # once more with a new soffice (the last one may have died before this request)
            server = _server(binary, timeout)
            if server is None:
                return convert_once(source, out, to, timeout)
    if error is not None or not target.exists():
        raise RuntimeError(f"LibreOffice did not convert {source.name}: {error or 'no file'}")
    return target


def _prepared(path: Path | str, out_dir: Path | str, to: str) -> tuple[str, Path, Path, Path]:
    """(soffice, the source, the output folder made, the target path, no file there) for
    converting ``path`` into ``out_dir`` as ``to``."""
    binary = soffice()
    if binary is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    source = Path(path).resolve()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if out == source.parent:
        raise ValueError("out_dir must differ from the source's folder (same file name)")
    target = out / f"{source.stem}.{to.split(':', 1)[0]}"
    if target.exists():
        target.unlink()
    return binary, source, out, target


def convert_once(path: Path | str, out_dir: Path | str, to: str = "xlsx",
                 timeout: float = 600) -> Path:
    """``soffice --headless --convert-to <to>`` of ``path`` into ``out_dir`` in a soffice of
    its own (start, load and recalculate, write, exit); the path of the converted file."""
    binary, source, out, target = _prepared(path, out_dir, to)
    command = [binary, f"-env:UserInstallation={_profile().as_uri()}", "--headless",
               "--norestore", "--nologo", "--convert-to", to, "--outdir", str(out),
               str(source)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "SAL_USE_VCLPLUGIN": "svp"})
    if not target.exists():
        raise RuntimeError(f"LibreOffice did not convert {source.name}: "
                           f"{result.stdout.strip()} {result.stderr.strip()}")
    return target


def recalculate(xlsx_path: Path | str, out_dir: Path | str) -> Path:
    """A recalculated copy of ``xlsx_path`` in ``out_dir`` (same file name)."""
    return convert(xlsx_path, out_dir, "xlsx:Calc MS Excel 2007 XML")

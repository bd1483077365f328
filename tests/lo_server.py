"""A resident LibreOffice for the tests: converts workbook after workbook, started once.

tests/libreoffice.py runs this file under the system python (/usr/bin/python3: the package
python3-uno; the project's venv has no ``uno``) as a child process, one per test process:

    /usr/bin/python3 tests/lo_server.py SOFFICE PROFILE_DIR START_TIMEOUT

It imports nothing but the standard library and ``uno``. It starts ``soffice --headless`` with
the private profile PROFILE_DIR (made by the parent: recalculation on load always) and
``--accept=pipe,name=…;urp;``, connects, and answers one JSON line on stdout for each JSON line
read from stdin:

    {"ready": true, "soffice": [[PID, START], …]}  once connected (or {"error": …})
    {"source": …, "target": …, "filter": …, "options": …}  →  {"ok": true} or {"error": …}

Each request loads ``source`` as ``soffice --convert-to`` does (hidden, read-only, silent, in a
new frame; LibreOffice's desktop/source/app/dispatchwatcher.cxx), stores it to ``target`` with
the export filter (storeToURL, overwrite) and closes it, so no document stays open between
requests. An answer with ``"fatal": true`` means soffice is gone: the child has exited. At the end
of stdin (the parent closed it, or died) the child terminates soffice, kills what is left of the
processes it started (by id) and exits. "soffice" lists soffice's processes (oosplash and
soffice.bin) with their start times (/proc/PID/stat), so the parent can tell whether they still
run and kill them by id.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _answer(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (the state first: field 3 is
    [0]); None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_tree(root: int) -> list[int]:
    """``root`` first, then its living descendants (from /proc). tests/libreoffice.py uses it
    too: this file imports nothing the project's venv lacks until it runs as the child."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := stat_fields(entry)) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def process_start(pid: int) -> str | None:
    """A living process's start time (field 22 of /proc/PID/stat): with the pid, its
    identity. None once it has exited (a zombie too)."""
    fields = stat_fields(pid)
    return None if fields is None or fields[0] in "ZX" else fields[19]


def start_soffice(binary: str, profile: Path, pipe: str) -> subprocess.Popen:
    """soffice, headless, with the profile folder ``profile``, accepting UNO on ``pipe``."""
    command = [binary, f"-env:UserInstallation={profile.as_uri()}", "--headless",
               "--invisible", "--nologo", "--norestore", "--nodefault", "--nolockcheck",
               f"--accept=pipe,name={pipe};urp;"]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env={**os.environ, "SAL_USE_VCLPLUGIN": "svp"})


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def props(**values) -> tuple:
    """UNO PropertyValues, one per keyword, for loadComponentFromURL and storeToURL."""
    import uno  # noqa: F401  (loads the com.sun.star types)
    from com.sun.star.beans import PropertyValue

    out = []
    for name, value in values.items():
        prop = PropertyValue()
        prop.Name, prop.Value = name, value
        out.append(prop)
    return tuple(out)


def connect(name: str, process: subprocess.Popen, timeout: float):
    """LibreOffice's Desktop over the pipe ``name``, once the soffice ``process`` accepts."""
    import uno
    from com.sun.star.connection import NoConnectException

    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            context = resolver.resolve(
                f"uno:pipe,name={name};urp;StarOffice.ComponentContext")
            return context.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.Desktop", context)
        except NoConnectException:
            if process.poll() is not None:
                raise RuntimeError(f"soffice exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"soffice did not accept a connection in {timeout} s"
                                   ) from None
            time.sleep(0.05)


def stop(process: subprocess.Popen, desktop, started: dict[int, str | None] | None = None
         ) -> None:
    """Terminate soffice politely (it exits and is reaped, so its CPU time is counted), then
    kill what is left of the processes it started: ``started`` (soffice.bin, recorded once
    connected) and soffice's descendants now."""
    started = {**(started or {}),
               **{pid: process_start(pid) for pid in process_tree(process.pid)}}
    if desktop is not None:
        with contextlib.suppress(Exception):  # the bridge may close while terminate returns
            desktop.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    for pid, start in started.items():  # only those still the processes we started
        if start is not None and process_start(pid) == start:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=10)


def _convert(desktop, request: dict) -> None:
    import uno

    source = uno.systemPathToFileUrl(request["source"])
    # as soffice --convert-to loads a document to convert (dispatchwatcher.cxx)
    doc = desktop.loadComponentFromURL(source, "_blank", 0, props(
        Referer="private:OpenEvent", ReadOnly=True, OpenNewView=True, Hidden=True,
        Silent=True))
    if doc is None:
        raise RuntimeError("LibreOffice could not load the file")
    try:
        store = {"FilterName": request["filter"], "Overwrite": True}
        if request.get("options"):
            store["FilterOptions"] = request["options"]
        doc.storeToURL(uno.systemPathToFileUrl(request["target"]), props(**store))
    finally:
        try:
            doc.close(True)
        except Exception:  # a close veto: dispose of it anyway
            with contextlib.suppress(Exception):
                doc.dispose()


def serve(binary: str, profile: Path, start_timeout: float) -> int:
    try:
        import uno  # noqa: F401
        from com.sun.star.lang import DisposedException
    except ImportError as error:
        _answer({"error": f"{sys.executable} cannot import uno: {error}"})
        return 3
    pipe = f"xlkpi_lo_{os.getpid()}_{time.monotonic_ns()}"
    process = start_soffice(binary, profile, pipe)
    desktop, started = None, {}
    try:
        try:
            desktop = connect(pipe, process, start_timeout)
        except Exception as error:
            _answer({"error": f"{type(error).__name__}: {error}"})
            return 4
        # oosplash and soffice.bin (which would outlive a killed oosplash), with start times;
        # not the short-lived helpers soffice runs (gpg…)
        started = {pid: process_start(pid) for pid in process_tree(process.pid)
                   if pid == process.pid or _name(pid) == "soffice.bin"}
        _answer({"ready": True, "soffice": [[pid, start] for pid, start in started.items()
                                            if start is not None]})
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                _convert(desktop, json.loads(line))
            except Exception as error:
                fatal = process.poll() is not None or isinstance(error, DisposedException)
                _answer({"error": f"{type(error).__name__}: {error}".strip(), "fatal": fatal})
                if fatal:
                    return 5
            else:
                _answer({"ok": True})
        return 0
    finally:
        stop(process, desktop, started)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])))

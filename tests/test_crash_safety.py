"""A refresh that dies half-way never costs the tracker.

Two ways of dying:

- a real process, ``python -m xlkpi.cli refresh tracker.xlsx``, killed with SIGKILL (what a
  power cut or the task manager does: no cleanup runs) at several moments: while it loads,
  as soon as its temporary file appears, half-way through writing it, as its backup appears,
  and near the end. Each time the tracker is byte-identical to what it was, or (only when the
  kill came after the one-step replace) a complete new tracker holding the same typed data; the
  backup, if any, is a byte-identical copy of the old tracker; the next refresh works even with
  the dead process's temporary file beside it, and the next save removes that file once it is
  an hour old (saving.STALE_TEMP_SECONDS).
- a failure injected into each step of saving.save_atomic (writing the temporary file, flushing
  it, copying the mode, copying, flushing and replacing the backup, replacing the tracker, a
  Ctrl+C): the tracker is byte-identical and loadable, the backup is the previous backup or a
  copy of the tracker, no temporary file is left, and the error names the tracker (or its
  backup), never a temporary file; a folder that refuses fsync after the replace is no
  failure.

And saving through a symbolic link (the file it points to is saved), a read-only tracker (left
alone, as on Windows), a loop of links.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import xlkpi
from tests.test_workbook import sample_tracker
from xlkpi.cli import cli
from xlkpi.tracker import build as workbook
from xlkpi.tracker import reader
from xlkpi.tracker.file import open_tracker
from xlkpi.xlsx import save as saving

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and fsync of folders: POSIX")

ROOT = Path(xlkpi.__file__).resolve().parent.parent
YEAR, AS_OF = "2025", "2025-06-15"


def run(*args) -> object:
    return CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)


def temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(saving.TEMP_PREFIX + "*"))


def typed(path: Path):
    """What a person typed into the tracker at ``path`` (open_tracker's checks included)."""
    wb = open_tracker(path)
    return reader.read_tracker(wb, path.name)


_LOADED: dict[bytes, object] = {}


def typed_cached(path: Path):
    """typed(path), loading each distinct content once: a file byte-identical to one that
    loaded is as loadable."""
    data = path.read_bytes()
    if data not in _LOADED:
        _LOADED[data] = typed(path)
    return _LOADED[data]


def same_typed(a, b) -> bool:
    """The same settings, targets and data rows (in any order: refresh groups rows by owner)."""
    def rows(data):
        return {name: (sheet.header, sorted(map(repr, sheet.rows)))
                for name, sheet in data.items()}
    return a.settings == b.settings and rows(a.data) == rows(b.data) and (
        [(t.who, t.kpi_id, t.months) for t in a.targets]
        == [(t.who, t.kpi_id, t.months) for t in b.targets])


# --- SIGKILL of a real refresh -------------------------------------------------------------

@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Path, object]:
    """A demo tracker of five reps and ~6,700 data rows: saving it takes about a second."""
    path = tmp_path_factory.mktemp("big") / "tracker.xlsx"
    result = run("new", path, "--demo", "--year", YEAR, "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    return path, typed(path)


def start_refresh(path: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return subprocess.Popen([sys.executable, "-m", "xlkpi.cli", "refresh", str(path)],
                            cwd=path.parent, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until(process: subprocess.Popen, condition, timeout: float = 120.0) -> bool:
    """Poll (every millisecond) until ``condition()`` holds; False if the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return condition()
        time.sleep(0.001)
    raise AssertionError("the refresh neither reached the moment nor ended")


@pytest.fixture(scope="module")
def timing(big, tmp_path_factory) -> dict:
    """One undisturbed refresh, to know when its temporary file appears and how long it runs,
    and that a refresh of this tracker succeeds at all."""
    source, _ = big
    folder = tmp_path_factory.mktemp("calibrate")
    path = folder / "tracker.xlsx"
    shutil.copy(source, path)
    started = time.monotonic()
    process = start_refresh(path)
    assert wait_until(process, lambda: bool(temps(folder)))
    temp_seen = time.monotonic() - started
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert not temps(folder)
    return {"temp": temp_seen, "end": time.monotonic() - started,
            "size": path.stat().st_size}


def _kill_moments(timing):
    return {
        "loading": lambda folder, started: time.monotonic() - started > timing["temp"] / 2,
        "temp-appears": lambda folder, started: bool(temps(folder)),
        "half-written": lambda folder, started: any(
            temp.stat().st_size > timing["size"] // 2 for temp in temps(folder)
            if temp.exists()),
        "backup-appears": lambda folder, started: (folder / "tracker.bak.xlsx").exists(),
        "near-the-end": lambda folder, started: time.monotonic() - started > (
            timing["temp"] + 0.9 * (timing["end"] - timing["temp"])),
    }


MOMENTS = ["loading", "temp-appears", "half-written", "backup-appears", "near-the-end"]


@pytest.fixture(scope="module")
def kills(big, timing, tmp_path_factory) -> dict:
    """Kill a refresh at each moment; what was on disk afterwards."""
    source, _ = big
    original = source.read_bytes()
    moments = _kill_moments(timing)
    outcomes = {}
    for moment in MOMENTS:
        folder = tmp_path_factory.mktemp(moment)
        path = folder / "tracker.xlsx"
        path.write_bytes(original)
        started = time.monotonic()
        process = start_refresh(path)
        reached = wait_until(process, functools.partial(_safe, moments[moment], folder, started))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
        left = temps(folder)
        # A temporary file outlives the process only if it died before the replace: the
        # tracker's own (written, then moved onto the tracker) or the backup's (made first).
        outcomes[moment] = {"folder": folder, "path": path, "reached": reached,
                            "killed": process.returncode == -signal.SIGKILL,
                            "writing": bool(left), "temps": left}
    return outcomes


def _safe(condition, folder, started) -> bool:
    try:
        return condition(folder, started)
    except FileNotFoundError:  # a temporary file renamed between glob and stat
        return False


@pytest.mark.slow  # six refreshes of a 6,700-row demo in a subprocess
@pytest.mark.parametrize("moment", MOMENTS)
def test_sigkill_leaves_the_old_or_the_new_tracker(big, kills, moment):
    source, before = big
    outcome = kills[moment]
    path, folder = outcome["path"], outcome["folder"]
    original = source.read_bytes()
    data = path.read_bytes()
    if outcome["writing"] and outcome["killed"]:
        # killed before the replace: the tracker is exactly the old file
        assert data == original
    if data != original:
        # killed after the replace: a complete tracker with everything typed
        assert same_typed(typed(path), before)
    backup = folder / "tracker.bak.xlsx"
    if backup.exists():
        assert backup.read_bytes() == original  # and so loadable: the original is
    for temp in outcome["temps"]:
        assert saving._TEMP_NAME.fullmatch(temp.name), temp  # only the tool's own names


@pytest.mark.slow
def test_the_kills_hit_the_write(kills):
    """The moments are not all missed: at least two kills landed while the temporary file was
    being written (when the tracker must be untouched), and the first one before it."""
    during = [moment for moment, outcome in kills.items()
              if outcome["writing"] and outcome["killed"]]
    assert len(during) >= 2, {m: (o["writing"], o["killed"]) for m, o in kills.items()}
    assert kills["loading"]["killed"]


@pytest.mark.slow
def test_next_refresh_works_and_stale_temps_are_removed(small, kills, tmp_path):
    """After a kill mid-write, a temporary file stays (nothing can remove it as the process
    dies). The next refresh works beside it; the save removes it once it is an hour old, and
    leaves younger ones (a refresh running right now) and anything not named as xlkpi names its
    temporary files."""
    source, _, before = small
    folder = tmp_path
    path = folder / "tracker.xlsx"
    path.write_bytes(source.read_bytes())
    strays = [o["temps"] for o in kills.values() if o["temps"]]
    assert strays, "no kill left a temporary file behind"
    dead = folder / strays[0][0].name
    shutil.copy(strays[0][0], dead)  # what a killed refresh left: a half-written file
    hour = saving.STALE_TEMP_SECONDS
    os.utime(dead, (time.time() - hour - 60,) * 2)
    young = folder / ".~xlkpi-abcd1234.xlsx"  # as if another refresh were writing it
    young.write_bytes(b"PK\x03\x04 being written")
    old_but_not_ours = [folder / ".~xlkpi-notes.txt", folder / "~$tracker.xlsm.~xlkpi-x",
                        folder / ".~xlkpi-abcd1234.xlsx.keep"]
    for other in old_but_not_ours:
        other.write_bytes(b"x")
        os.utime(other, (time.time() - 10 * hour,) * 2)

    result = run("refresh", path)
    assert result.exit_code == 0, result.stderr
    assert not dead.exists()
    assert young.exists()
    assert all(other.exists() for other in old_but_not_ours)
    assert same_typed(typed(path), before)
    assert (folder / "tracker.bak.xlsx").read_bytes() == source.read_bytes()


def test_stale_temps_of_every_suffix_and_case(tmp_path):
    hour = saving.STALE_TEMP_SECONDS
    names = [".~xlkpi-a1b2c3d4.xlsx", ".~xlkpi-zz__yy00.xlsm", ".~xlkpi-A1B2C3D4.XLSX"]
    for name in names:
        (tmp_path / name).write_bytes(b"half")
        os.utime(tmp_path / name, (time.time() - hour - 1,) * 2)
    os.mkdir(tmp_path / ".~xlkpi-folder01.xlsx")  # a folder of that name is no file of ours
    os.utime(tmp_path / ".~xlkpi-folder01.xlsx", (time.time() - 2 * hour,) * 2)
    removed = saving.remove_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == sorted(names)
    assert [p.name for p in tmp_path.iterdir()] == [".~xlkpi-folder01.xlsx"]


# --- a failure injected into each step of save_atomic -------------------------------------

@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, openpyxl.Workbook, object]:
    """A small tracker (two reps, messy data: tests.test_workbook's sample), the workbook a
    refresh would save over it, and what a person typed into it."""
    path = tmp_path_factory.mktemp("small") / "tracker.xlsx"
    saving.save_atomic(workbook.new_workbook(sample_tracker(seed=11, rows=60,
                                                           reps=["Anna", "Boris"])), path)
    return path, open_tracker(path), typed_cached(path)


@pytest.fixture(scope="module")
def older(small, tmp_path_factory) -> Path:
    """An older version of the small tracker, as a backup from an earlier refresh."""
    path = tmp_path_factory.mktemp("older") / "tracker.bak.xlsx"
    book = openpyxl.load_workbook(small[0])
    book["Settings"]["D1"] = "an older version"
    book.save(path)
    return path


class Boom(OSError):
    pass


def fail_on_call(monkeypatch, target, attribute, number, error, partial=None):
    """Make the ``number``-th call of target.attribute raise ``error`` (or ``error(*args)``,
    for an error naming the files as the real one would), after doing ``partial(*args)``, such
    as writing half of the data."""
    original = getattr(target, attribute)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == number:
            if partial is not None:
                partial(*args)
            raise error(*args) if callable(error) and not isinstance(error, BaseException) \
                else error
        return original(*args, **kwargs)

    monkeypatch.setattr(target, attribute, wrapper)
    return calls


def _half_copy(source, target, *rest):
    target.write(source.read(1000))  # part of the backup, then the disk is full


ENOSPC = OSError(errno.ENOSPC, "No space left on device")
EIO = OSError(errno.EIO, "Input/output error")


def replace_refused(source, target, *rest):
    """What os.replace raises on Windows when the target is open in another program."""
    return PermissionError(errno.EACCES, "Permission denied", str(source), None, str(target))

# step: (object, attribute, which call fails, error, what happens before, backup made?)
STEPS = {
    "write-temp": (openpyxl.Workbook, "save", 1, ENOSPC,
                   lambda wb, handle: handle.write(b"PK\x03\x04 half a workbook"), False),
    "ctrl-c-while-writing": (openpyxl.Workbook, "save", 1, KeyboardInterrupt(), None, False),
    "fsync-temp": (os, "fsync", 1, EIO, None, False),
    "copymode": (shutil, "copymode", 1, PermissionError(errno.EPERM, "Operation not permitted"),
                 None, False),
    "copy-backup": (shutil, "copyfileobj", 1, ENOSPC, _half_copy, False),
    "fsync-backup": (os, "fsync", 2, EIO, None, False),
    "copystat-backup": (shutil, "copystat", 1, PermissionError(errno.EPERM, "not permitted"),
                        None, False),
    "replace-backup": (os, "replace", 1, replace_refused, None, False),
    "replace-tracker": (os, "replace", 2, replace_refused, None, True),
}


@pytest.mark.parametrize("had_backup", [False, True], ids=["no-backup-yet", "old-backup"])
@pytest.mark.parametrize("step", list(STEPS))
def test_a_failure_at_each_step_leaves_the_tracker(small, older, tmp_path, monkeypatch, step,
                                                    had_backup):
    source, wb, before = small
    path = tmp_path / "tracker.xlsx"
    shutil.copy(source, path)
    original = path.read_bytes()
    backup = saving.backup_path(path)
    old_backup = b""
    if had_backup:
        shutil.copy(older, backup)
        old_backup = backup.read_bytes()
    target, attribute, number, error, partial, backup_made = STEPS[step]
    calls = fail_on_call(monkeypatch, target, attribute, number, error, partial)

    expected = PermissionError if error is replace_refused else type(error)
    with pytest.raises(expected) as raised:
        saving.save_atomic(wb, path, backup=True)
    monkeypatch.undo()

    assert calls["n"] == number  # the failure happened where it was meant to
    assert path.read_bytes() == original
    assert same_typed(typed_cached(path), before)
    assert not temps(tmp_path), temps(tmp_path)
    if backup_made:
        assert backup.read_bytes() == original
    elif had_backup:
        assert backup.read_bytes() == old_backup
    else:
        assert not backup.exists()
    if backup.exists():
        typed_cached(backup)  # loadable as a tracker
    if isinstance(raised.value, OSError):
        named = {raised.value.filename, raised.value.filename2} - {None}
        assert named and all(not Path(str(f)).name.startswith(saving.TEMP_PREFIX)
                             for f in named), named
        assert Path(str(raised.value.filename)).name in ("tracker.xlsx", "tracker.bak.xlsx")


def test_a_failure_after_the_replace_is_no_failure(small, tmp_path, monkeypatch):
    """Flushing the folder after the replace is best effort: some network and FUSE file
    systems refuse fsync on a folder (EINVAL). The tracker is saved; that is no error."""
    source, wb, before = small
    path = tmp_path / "tracker.xlsx"
    shutil.copy(source, path)
    original = path.read_bytes()
    fail_on_call(monkeypatch, os, "fsync", 3, OSError(errno.EINVAL, "Invalid argument"))
    assert saving.save_atomic(wb, path) == saving.backup_path(path)
    monkeypatch.undo()
    assert saving.backup_path(path).read_bytes() == original
    assert same_typed(typed(path), before)
    assert not temps(tmp_path)


@pytest.mark.parametrize("step, expected", [
    ("write-temp", "Error: tracker.xlsx: No space left on device; check the path and the disk"),
    ("replace-tracker", "Error: tracker.xlsx: permission denied; close it in Excel"),
    ("replace-backup", "Error: tracker.bak.xlsx: permission denied; close it in Excel"),
])
def test_the_refresh_command_names_the_tracker(small, tmp_path, monkeypatch, step, expected):
    """Through `xlkpi refresh`: one line that names the file the person knows."""
    source, _, _ = small
    path = tmp_path / "tracker.xlsx"
    shutil.copy(source, path)
    original = path.read_bytes()
    target, attribute, number, error, partial, _ = STEPS[step]
    fail_on_call(monkeypatch, target, attribute, number, error, partial)
    result = run("refresh", path)
    monkeypatch.undo()
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
    assert saving.TEMP_PREFIX not in result.stderr
    assert path.read_bytes() == original
    assert not temps(tmp_path)


def test_no_folder_permission_names_the_folder_not_a_temp(small, tmp_path, monkeypatch):
    """mkstemp failing (a folder one may not write to) is about the tracker too."""
    source, wb, _ = small
    path = tmp_path / "tracker.xlsx"
    shutil.copy(source, path)

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied",
                              str(tmp_path / ".~xlkpi-k3j4h5g6.xlsx"))

    monkeypatch.setattr(saving.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as raised:
        saving.save_atomic(wb, path)
    assert Path(raised.value.filename).name == "tracker.xlsx"


def test_a_symlinked_tracker_is_saved_through_the_link(small, tmp_path):
    """Saving through a symbolic link writes the file it points to; the link stays a link,
    and the temporary file and the backup are made beside the real file."""
    source, wb, before = small
    real_folder = tmp_path / "real"
    real_folder.mkdir()
    real = real_folder / "tracker.xlsx"
    shutil.copy(source, real)
    original = real.read_bytes()
    link = tmp_path / "link.xlsx"
    link.symlink_to(real)
    backup = saving.save_atomic(wb, link)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert backup == real_folder / "tracker.bak.xlsx"
    assert backup.read_bytes() == original
    assert same_typed(typed(link), before)
    assert not temps(tmp_path) and not temps(real_folder)


@pytest.mark.slow
def test_a_read_only_tracker_is_not_replaced(small, tmp_path):
    """As on Windows, where replacing a read-only file fails: a tracker marked read-only
    (chmod a-w) is left alone, with a one-line message, even for root."""
    source, _, _ = small
    path = tmp_path / "tracker.xlsx"
    shutil.copy(source, path)
    original = path.read_bytes()
    path.chmod(0o444)
    try:
        result = run("refresh", path)
        assert result.exit_code == 1
        assert result.stderr.strip() == (
            "Error: tracker.xlsx is read-only; make it writable (chmod u+w, or uncheck "
            "Read-only in its properties) and try again")
        assert path.read_bytes() == original
        assert not temps(tmp_path) and not saving.backup_path(path).exists()
    finally:
        path.chmod(0o644)


def test_a_symlink_loop_is_one_line(tmp_path):
    loop = tmp_path / "tracker.xlsx"
    loop.symlink_to(tmp_path / "other.xlsx")
    (tmp_path / "other.xlsx").symlink_to(loop)
    result = run("new", loop, "--force")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
    assert loop.is_symlink() and not temps(tmp_path)

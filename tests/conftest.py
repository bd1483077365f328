"""Test-wide setup.

xlwings reads these variables when it is first imported: with them, its Office.js call path
(xlwings Server and Lite) runs on Linux, so tests drive the same conversion code users hit.
"""

import os
import shutil

import pytest

os.environ.setdefault("XLWINGS_ON_SERVER", "true")
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

from hypothesis import settings  # noqa: E402

# CI runs every property 200 times (the lossless-refresh property found a bug at that count):
# the thorough search, on every push. A person at a terminal, 25 times, so that the whole suite
# stays near three minutes on two cores (the refresh round trip costs ~0.8 s an example); each
# property's @example cases run in both, and hypothesis replays a failure it saved locally.
settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_report_header(config):
    return (f"hypothesis: {settings.default.max_examples} examples per property. A test file "
            "to a worker, the slowest first: the dots pick up speed after them.")


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by fixture scope
def pytest_collection_modifyitems(config, items):
    """The longest test files first. pytest-xdist's `--dist loadfile` (addopts) hands each file
    whole to one worker, so a module-scoped fixture (a recalculated tracker) is built once, and
    `--no-loadscope-reorder` keeps this order: each worker starts on a long file and the short
    ones fill in around them, instead of one worker running a long file alone at the end. The
    sort is stable, keeps each file's tests together and in order, and is the same in every
    worker.

    LibreOffice tests skip on a machine without soffice, and fail in CI instead."""
    weight: dict[str, float] = {}
    for item in items:
        weight[item.path] = weight.get(item.path, 0.0) + expected_seconds(item)
    items.sort(key=lambda item: -weight[item.path])
    if shutil.which("soffice"):
        return
    if os.environ.get("CI"):
        return  # let them run and fail loudly: CI must have LibreOffice
    skip = pytest.mark.skip(reason="LibreOffice (soffice) is not installed")
    for item in items:
        if item.get_closest_marker("libreoffice"):
            item.add_marker(skip)


def expected_seconds(item) -> float:
    """A rough guess of a test's CPU seconds: a test marked slow about 10, a slow property half
    a second an example (the refresh round trips: 200 examples in CI, the longest tests of the
    run, so they start first), one that runs LibreOffice about 3, the rest a tenth of a
    second."""
    if item.get_closest_marker("slow"):
        return max(10.0, 0.5 * _max_examples(item))
    return 3.0 if item.get_closest_marker("libreoffice") else 0.1


def _max_examples(item) -> int:
    """How many examples hypothesis runs for ``item`` (0: not a property)."""
    test = getattr(item, "obj", None)
    if not getattr(test, "is_hypothesis_test", False):
        return 0
    # the test's own @settings (hypothesis keeps them here), else the profile in force
    own = getattr(test, "_hypothesis_internal_use_settings", None)
    return getattr(own, "max_examples", settings.default.max_examples)


def require(program: str, what: str) -> str:
    """The path of ``program``; without it, a skip on a person's machine and a failure in CI
    (CI installs every program the tests use, so a missing one there is a broken setup)."""
    found = shutil.which(program)
    if found is None:
        message = f"{what} ({program}) is not installed"
        if os.environ.get("CI"):
            pytest.fail(message + ": .ci/run must install it", pytrace=False)
        pytest.skip(message)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """With XLKPI_TEST_CPU=<file>, append "<cpu seconds>\t<test id>" per test: the user+sys
    time of the worker and the programs it ran (soffice, ssconvert), setup and teardown
    included; and what the worker's resident LibreOffice spent meanwhile (it is reaped only at
    exit, so os.times() misses it: tests/libreoffice.py). CPU time, unlike wall time, does not
    grow when the machine is busy."""
    record = os.environ.get("XLKPI_TEST_CPU")
    if not record:
        yield
        return
    from tests.libreoffice import resident_cpu

    before, resident = os.times(), resident_cpu()
    yield
    after = os.times()
    spent = resident_cpu() - resident + sum(
        getattr(after, field) - getattr(before, field)
        for field in ("user", "system", "children_user", "children_system"))
    with open(record, "a", encoding="utf-8") as out:
        out.write(f"{spent:.3f}\t{item.nodeid}\n")

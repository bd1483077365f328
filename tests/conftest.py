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

# CI runs every property 200 times (the lossless-refresh property found a bug at that count);
# a person at a terminal, 50 times.
settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_report_header(config):
    return (f"hypothesis: {settings.default.max_examples} examples per property. The slowest "
            "tests start first: the dots pick up speed after them.")


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by fixture scope
def pytest_collection_modifyitems(config, items):
    """The longest tests first. pytest-xdist's `--dist loadgroup` (addopts) hands the tests
    out one at a time, in this order, to whichever worker is free: so each worker starts on a
    long one and the short ones fill in around them, instead of one worker running a long
    property alone at the end. The sort is stable and the same in every worker.

    LibreOffice tests skip on a machine without soffice, and fail in CI instead."""
    items.sort(key=expected_length)
    if shutil.which("soffice"):
        return
    if os.environ.get("CI"):
        return  # let them run and fail loudly: CI must have LibreOffice
    skip = pytest.mark.skip(reason="LibreOffice (soffice) is not installed")
    for item in items:
        if item.get_closest_marker("libreoffice"):
            item.add_marker(skip)


def expected_length(item) -> int:
    """0 for a test marked slow, 1 for one that runs LibreOffice, 2 for the rest."""
    if item.get_closest_marker("slow"):
        return 0
    return 1 if item.get_closest_marker("libreoffice") else 2


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

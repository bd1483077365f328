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

settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_collection_modifyitems(config, items):
    """LibreOffice tests skip on a machine without soffice, and fail in CI instead."""
    if shutil.which("soffice"):
        return
    if os.environ.get("CI"):
        return  # let them run and fail loudly: CI must have LibreOffice
    skip = pytest.mark.skip(reason="LibreOffice (soffice) is not installed")
    for item in items:
        if "libreoffice" in item.keywords:
            item.add_marker(skip)

"""`xlkpi refresh` of a large tracker (its data rows kept as sheet XML, xlsx.splice) keeps
everything a person typed: tests/test_refresh_roundtrip.py's property, in a file of its own so
that pytest-xdist (a file to a worker) runs it beside the property's other half there."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings

from tests.test_refresh_roundtrip import (
    BLANK_ROW_BETWEEN,
    check_refresh_keeps_what_a_person_typed,
    edits,
)


@pytest.mark.slow
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change=edits())
@example(change=BLANK_ROW_BETWEEN)
def test_refresh_keeps_what_a_person_typed_split(change):
    check_refresh_keeps_what_a_person_typed("split", change)

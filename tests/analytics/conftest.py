"""Fixtures of the analytics tests: the world of tests/analytics/world.py, and the servicing
stories' sandbox gateway and 6-month loan (Fineract C3154)."""
from __future__ import annotations

import pytest

from tests.analytics.world import build
from tests.loans import test_servicing_stories as stories

sandbox = stories.sandbox
loan = stories.loan


@pytest.fixture
def world(db, sandbox):
    return build(db)

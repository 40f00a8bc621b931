"""Shared fixtures; the helpers they use live in ``tests/helpers.py``."""

import pytest

from tests.helpers import planted_problem


@pytest.fixture
def problem():
    return planted_problem()

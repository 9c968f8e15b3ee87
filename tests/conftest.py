"""Shared fixtures. Helpers live in tests/helpers.py (import them: `from tests.helpers import ...`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import helpers


@pytest.fixture(scope="session")
def require() -> Callable[..., str]:
    """`require(name, install=...)`: skip the test when a program or module is missing (fail under CI)."""
    return helpers.require


@pytest.fixture
def free_port() -> int:
    """A free TCP port on 127.0.0.1, for servers that need a port number up front."""
    return helpers.free_port()

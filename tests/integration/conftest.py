"""Fixtures shared by the integration modules that need them (the session's PostgreSQL and
Redis are tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from launcher.embedded import Anvil


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    """A fresh local chain per module (anvil, instant mining)."""
    node = Anvil()
    node.start()
    try:
        yield node
    finally:
        node.stop()

"""Shared fixtures: real PostgreSQL and Redis for the whole session.

BETMESH_TEST_DATABASE_URL (an admin URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres)
and BETMESH_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) name machine services; when unset,
embedded ones are started. Each session gets a database of its own, dropped at the end, and a
Redis database that is flushed first.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from launcher.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    create_database,
    drop_database,
    unique_name,
)
from tests.support import ast_guard

# CPython 3.11.7 (CI's) can fail a parse that a garbage collection interrupts (gh-106905): every
# test module's assertion rewriting, and every traceback formatted, parses. See ast_guard.
ast_guard.install()

# Property tests check what holds, never how fast: hypothesis's default 200 ms deadline per
# example and its too-slow health check are timing assertions, which a loaded CI machine fails.
settings.register_profile(
    "betmesh", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("betmesh")


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    configured = os.environ.get("BETMESH_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="betmesh-pg-") as tmp:
        server = EmbeddedPostgres(Path(tmp))
        server.start()
        try:
            yield server.url()
        finally:
            server.stop()


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database for this test session; services each create their own schema in it."""
    name = unique_name("betmesh_test")
    url = create_database(postgres_admin_url, name)
    try:
        yield url
    finally:
        drop_database(postgres_admin_url, name)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    import redis

    configured = os.environ.get("BETMESH_TEST_REDIS_URL")
    if configured:
        client = redis.Redis.from_url(configured)
        client.flushdb()
        client.close()
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="betmesh-redis-") as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        try:
            yield server.url
        finally:
            server.stop()


@pytest.fixture(scope="module")
def private_database_url(postgres_admin_url: str) -> Iterator[str]:
    """A database of this test module's own, for tests that leave state other tests would see
    (a newer model snapshot, say, which every replica would then price from)."""
    name = unique_name("betmesh_private")
    url = create_database(postgres_admin_url, name)
    try:
        yield url
    finally:
        drop_database(postgres_admin_url, name)

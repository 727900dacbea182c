"""The test infrastructure itself talks to real servers."""

from __future__ import annotations

import redis
import sqlalchemy as sa


def test_postgres_is_real(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        version = conn.execute(sa.text("select version()")).scalar_one()
    engine.dispose()
    assert "PostgreSQL" in version


def test_redis_is_real(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("betmesh:test:infra", "1")
    assert client.get("betmesh:test:infra") == b"1"
    assert client.delete("betmesh:test:infra") == 1

"""Several processes of one service migrating its schema at once (replicas start together)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from service_runtime.postgres import migrate

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "bets" / "migrations"


def _migrate(url: str, schema: str, barrier: Any) -> None:
    barrier.wait(30)  # all at once, as replicas do at a mesh start
    migrate(url, MIGRATIONS, schema)


def test_concurrent_migrations_of_one_schema_all_succeed(private_database_url: str) -> None:
    database_url = private_database_url
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS bets CASCADE"))
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    workers = [
        context.Process(target=_migrate, args=(database_url, "bets", barrier)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    with engine.connect() as conn:
        query = sa.text("SELECT version_num FROM bets.alembic_version")
        versions = conn.execute(query).scalars().all()
    engine.dispose()
    assert len(versions) == 1

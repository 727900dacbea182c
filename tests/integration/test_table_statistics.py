"""The runtime's planner-statistics pass (service_runtime/table_statistics.py), on the real server.

bets declares it as a background step: on a server with autovacuum off, place_bet's cached plans
were made on an empty book and never again, and each bet scanned the player's whole history."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from service_runtime.table_statistics import analyze_stale_tables, autovacuum_on

SCHEMA = "stats_pass"


@pytest.fixture
def engine(private_database_url: str) -> Iterator[sa.Engine]:
    url = sa.make_url(private_database_url).set(drivername="postgresql+psycopg2")
    made = sa.create_engine(url)
    with made.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        connection.execute(sa.text(f"CREATE TABLE {SCHEMA}.busy (id int PRIMARY KEY, v text)"))
        connection.execute(sa.text(f"CREATE TABLE {SCHEMA}.quiet (id int PRIMARY KEY)"))
    try:
        yield made
    finally:
        made.dispose()


def _insert(engine: sa.Engine, table: str, rows: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"INSERT INTO {SCHEMA}.{table} SELECT g, 'x' FROM generate_series(1, :n) g")
            if table == "busy"
            else sa.text(f"INSERT INTO {SCHEMA}.{table} SELECT g FROM generate_series(1, :n) g"),
            {"n": rows},
        )


def _changed_since_analyze(engine: sa.Engine, table: str) -> int:
    """n_mod_since_analyze once the server's statistics show the writes (they are flushed
    by each backend within a second or so)."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT coalesce(max(n_mod_since_analyze), 0) FROM pg_stat_user_tables"
                    " WHERE schemaname = :s AND relname = :t"
                ),
                {"s": SCHEMA, "t": table},
            ).scalar_one()
        )


def _wait_for_counts(engine: sa.Engine, table: str, at_least: int) -> None:
    deadline = time.monotonic() + 30
    while _changed_since_analyze(engine, table) < at_least:
        assert time.monotonic() < deadline, "the server never counted the writes"
        time.sleep(0.2)


def test_tables_past_the_threshold_are_analyzed_and_then_left(engine: sa.Engine) -> None:
    _insert(engine, "busy", 2_000)  # past 50 rows + 10 %
    _insert(engine, "quiet", 20)  # under it
    _wait_for_counts(engine, "busy", 2_000)
    _wait_for_counts(engine, "quiet", 20)

    assert analyze_stale_tables(engine, SCHEMA, beside_autovacuum=True) == [f"{SCHEMA}.busy"]
    with engine.connect() as connection:
        tuples = connection.execute(
            sa.text(
                "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = :s AND c.relname = 'busy'"
            ),
            {"s": SCHEMA},
        ).scalar_one()
    # ANALYZE wrote the table's size where the planner reads it (-1 before: never analyzed).
    assert tuples == 2_000
    # Renewed: nothing is stale until the table changes by 10 % again.
    deadline = time.monotonic() + 30
    while _changed_since_analyze(engine, "busy") != 0:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert analyze_stale_tables(engine, SCHEMA, beside_autovacuum=True) == []
    more = 300  # past 50 + 10 % of 2,000
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"INSERT INTO {SCHEMA}.busy SELECT g, 'y' FROM generate_series(3001, :n) g"),
            {"n": 3_000 + more},
        )
    _wait_for_counts(engine, "busy", more)
    assert analyze_stale_tables(engine, SCHEMA, beside_autovacuum=True) == [f"{SCHEMA}.busy"]


def test_the_pass_leaves_the_work_to_the_servers_autovacuum_when_it_runs(
    engine: sa.Engine,
) -> None:
    _insert(engine, "busy", 2_000)
    _wait_for_counts(engine, "busy", 2_000)
    expected = [] if autovacuum_on(engine) else [f"{SCHEMA}.busy"]
    assert analyze_stale_tables(engine, SCHEMA) == expected

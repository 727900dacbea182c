"""PostgreSQL access shared by the services that own a schema (bets, identity, oracle, gateway).

Each service owns one schema and migrates it with its own Alembic scripts; the version table
lives in that schema, so services never touch each other's tables, even on one database.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine


def create_engine(url: str, *, pool_size: int = 10) -> Engine:
    return sa.create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)


def migrate(url: str, migrations_dir: Path, schema: str) -> None:
    """Brings the service's schema to the newest revision (idempotent; safe at every start)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["schema"] = schema
    command.upgrade(config, "head")


def run_alembic_env() -> None:
    """Body of every service's migrations/env.py: online migrations inside the service schema."""
    from alembic import context

    config = context.config
    schema = config.attributes["schema"]
    engine = sa.create_engine(
        config.get_main_option("sqlalchemy.url") or "", poolclass=sa.pool.NullPool
    )
    with engine.connect() as connection:
        # Replicas of one service start together: one migrates, the others wait, then find
        # nothing to do. The lock is per schema and released when the connection closes.
        connection.execute(
            sa.text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": f"migrate:{schema}"}
        )
        connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.execute(sa.text(f'SET search_path TO "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            version_table_schema=schema,
            include_schemas=False,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()

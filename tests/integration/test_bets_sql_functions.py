"""The placement rules' functions and views in the database are exactly what their source files
define.

services/bets/sql/*.sql is the one home of bets.place_bet, bets.note_stake_change and the
worst-case views place_bet limits and the exposure report reads; a migration installs a file
only while it has the digest the migration pinned (services/bets/sql/__init__.py). An edit of a
file without a migration that reloads it would leave every existing database on the old rule:
here a fresh database migrated to head must hold exactly what the files define, and the newest
migration naming a file must pin its digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from service_runtime.postgres import migrate
from services.bets import sql

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "bets" / "migrations"
FILES = sorted(p.name for p in sql.HERE.glob("*.sql"))


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["schema"] = "bets"
    return config


@pytest.fixture(scope="module")
def engine(private_database_url: str) -> Iterator[sa.Engine]:
    url = sa.make_url(private_database_url).set(drivername="postgresql+psycopg2")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS bets CASCADE"))
    migrate(url.render_as_string(hide_password=False), MIGRATIONS, "bets")
    yield engine
    engine.dispose()


def _functions(conn: sa.Connection) -> dict[str, str]:
    """Every function and view of the bets schema as PostgreSQL prints it back (a function's
    signature, result, language and body; a view's query), by its identity: a changed
    signature shows as a function added."""
    rows = conn.execute(
        sa.text(
            "SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid) FROM pg_proc p"
            " WHERE p.pronamespace = 'bets'::regnamespace"
            " UNION ALL SELECT 'view ' || c.oid::regclass::text, pg_get_viewdef(c.oid)"
            " FROM pg_class c WHERE c.relnamespace = 'bets'::regnamespace AND c.relkind = 'v'"
        )
    )
    return {name: definition for name, definition in rows}


def _drift(conn: sa.Connection) -> dict[str, tuple[str | None, str | None]]:
    """What running the files would change in the installed functions (rolled back)."""
    # A savepoint inside a caller's transaction, else a transaction of its own.
    transaction = conn.begin_nested() if conn.in_transaction() else conn.begin()
    with transaction:
        before = _functions(conn)
        for name in FILES:
            conn.exec_driver_sql(sql.statement(name), execution_options={"no_parameters": True})
        after = _functions(conn)
        transaction.rollback()
    return {
        key: (before.get(key), after.get(key))
        for key in before.keys() | after.keys()
        if before.get(key) != after.get(key)
    }


def test_the_installed_functions_are_the_files(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        installed = _functions(conn)
        drift = _drift(conn)
    assert any(name.startswith("bets.place_bet(") for name in installed)
    assert "bets.note_stake_change()" in installed
    assert "view bets.market_worst_case" in installed
    assert drift == {}, (
        f"the database's functions differ from services/bets/sql for {sorted(drift)}: an edited"
        " file needs a migration that reloads it (docs/conventions.md, 'Rules in SQL')"
    )


def test_a_function_changed_in_the_database_is_caught(engine: sa.Engine) -> None:
    """The check above can fail: a body that differs by one comment is drift."""
    with engine.connect() as conn:
        with conn.begin() as transaction:
            changed = sql.statement("place_bet.sql").replace("BEGIN\n", "BEGIN\n    -- edited\n", 1)
            conn.exec_driver_sql(changed, execution_options={"no_parameters": True})
            assert list(_drift(conn)) != []
            transaction.rollback()
        assert _drift(conn) == {}
        # And a view: the fixture's sum counting the markets the house wins.
        with conn.begin() as transaction:
            conn.exec_driver_sql(
                sql.statement("worst_case.sql").replace(
                    "greatest(max(s.liability_minor), 0)", "max(s.liability_minor)"
                )
            )
            assert list(_drift(conn)) == ["view bets.market_worst_case"]
            transaction.rollback()


def test_every_file_is_pinned_by_the_newest_migration_that_names_it() -> None:
    script = ScriptDirectory.from_config(_config("postgresql://unused"))
    pinned: dict[str, str] = {}
    # Newest first: the first revision naming a file is the one that last installs it.
    for revision in script.walk_revisions():
        for name, sha256 in getattr(revision.module, "SQL_FILES", {}).items():
            pinned.setdefault(name, sha256)
    expected = {name: sql.digest(name) for name in FILES}
    assert pinned == expected, (
        "an edited services/bets/sql file needs a new migration with"
        f" SQL_FILES = {{name: sha256}} for it; the files' digests now: {expected}"
    )


def test_a_migration_skips_a_file_edited_since_it_was_written(engine: sa.Engine) -> None:
    with engine.connect() as conn, conn.begin() as transaction:
        conn.exec_driver_sql("DROP FUNCTION bets.note_stake_change() CASCADE")
        assert not sql.install(conn, "note_stake_change.sql", "0" * 64)
        assert "bets.note_stake_change()" not in _functions(conn)
        assert sql.install(conn, "note_stake_change.sql", sql.digest("note_stake_change.sql"))
        assert "bets.note_stake_change()" in _functions(conn)
        transaction.rollback()


def test_moving_the_functions_to_files_changed_none_of_them(engine: sa.Engine) -> None:
    """0010 installs from the files the text 0007 installed: a database at 0009 keeps its
    functions through the upgrade, and the downgrade restores 0007's."""
    config = _config(engine.url.render_as_string(hide_password=False))
    try:
        command.downgrade(config, "0009_chain_results")
        with engine.connect() as conn:
            at_0009 = _functions(conn)
        command.upgrade(config, "0010_rules_from_sql_files")
        with engine.connect() as conn:
            assert _functions(conn) == at_0009
        command.downgrade(config, "0009_chain_results")
        with engine.connect() as conn:
            assert _functions(conn) == at_0009
    finally:
        command.upgrade(config, "head")


def test_the_worst_case_view_comes_and_goes_with_0012(engine: sa.Engine) -> None:
    """0012's downgrade puts back 0011's place_bet exactly (its file's pinned digest, with the
    signature place_bet.sql still has) and drops the view; the upgrade brings back head's."""
    config = _config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        at_head = _functions(conn)
    try:
        command.downgrade(config, "0011_place_bet_fewer_statements")
        with engine.connect() as conn:
            at_0011 = _functions(conn)
            body = conn.execute(
                sa.text("SELECT prosrc FROM pg_proc WHERE oid = 'bets.place_bet'::regproc")
            ).scalar_one()
        assert not any(name.startswith("view ") for name in at_0011)
        assert at_0011.keys() == at_head.keys() - {"view bets.market_worst_case"}
        statement = sql.statement("place_bet.sql")
        restored = (
            statement[: statement.index("$$") + 2] + body + statement[statement.rindex("$$") :]
        )
        script = ScriptDirectory.from_config(config)
        pinned = script.get_revision("0011_place_bet_fewer_statements").module.SQL_FILES
        assert hashlib.sha256(restored.encode("utf-8")).hexdigest() == pinned["place_bet.sql"]
        command.upgrade(config, "head")
        with engine.connect() as conn:
            assert _functions(conn) == at_head
    finally:
        command.upgrade(config, "head")

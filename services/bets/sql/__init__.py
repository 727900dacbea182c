"""The bets schema's PL/pgSQL functions and the views they read, one source file each: the
placement rules' one home (place_bet.sql, note_stake_change.sql) and the worst-case measure's
(worst_case.sql, read by place_bet and by the exposure report).

Why files loaded by migrations, and not the functions pasted into migration bodies: a rule
change then meant a third copy of a 250-line function, and a reader could not tell which copy
was in force. Why not alembic_utils' replaceable entities: its autogenerate writes the whole
definition into each new migration again (the copies we are removing), and it would be one more
dependency for what is one statement.

How it works: a migration that (re)installs a function names the file and the sha256 of the
statement it was written for (`SQL_FILES` in the migration; the file less its leading comment,
which the database never sees). `install` runs the file only while it still has that digest;
once the file is edited, an older migration leaves the function to the newer migration that
pins the new digest. So a fresh database gets, revision by revision, no body newer than its
revision; and a file edited without a migration is installed by no revision, which
tests/integration/test_bets_sql_functions.py reports (the newest pin is not the file's digest,
and a fresh database's function differs from the file), instead of production keeping the old
body while the tests pass on the new.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent


def source(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def statement(name: str) -> str:
    """The file without its leading comment: what the database is given and keeps."""
    return without_header(source(name))


def without_header(text: str) -> str:
    """A file's text less its leading comment (and blank lines)."""
    lines = text.splitlines(keepends=True)
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "".join(lines)


def digest(name: str) -> str:
    """sha256 of the statement: the header comment can be reworded without a migration."""
    return hashlib.sha256(statement(name).encode("utf-8")).hexdigest()


def install(connection: sa.Connection, name: str, sha256: str) -> bool:
    """Runs `name` (CREATE OR REPLACE ...) if it still is the text whose digest is `sha256`;
    False when it has been edited since (a later migration installs it)."""
    if digest(name) != sha256:
        return False
    # At the driver, without parameters: the text is plain SQL (':' and '%' are its own),
    # not a SQLAlchemy text() with bind parameters nor a pyformat string.
    connection.exec_driver_sql(statement(name), execution_options={"no_parameters": True})
    return True

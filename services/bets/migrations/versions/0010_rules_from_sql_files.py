"""The placement rules' functions from their source files (services/bets/sql/).

bets.place_bet and bets.note_stake_change were pasted into migrations (0005, then 0007 again).
From here on their one home is services/bets/sql/*.sql; this revision installs them from there,
with the text 0007 installed (so on a database at 0009 it changes nothing), and every later
change of a rule is an edit of the file plus a migration like this one, pinning the file's new
digest (docs/conventions.md, "Rules in SQL"; services/bets/sql/__init__.py says why).

Revision ID: 0010_rules_from_sql_files
Revises: 0009_chain_results
Create Date: 2026-12-06
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

from services.bets import sql

revision: str = "0010_rules_from_sql_files"
down_revision: str | None = "0009_chain_results"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# File -> sha256 of the text this revision was written for; a later edit of a file is
# installed by the revision that pins its new digest, not here.
SQL_FILES = {
    "note_stake_change.sql": "768ecbdfbb703711d24c33a32ff1c19da6c37eb3094f8318893b422c1c2e25c9",
    "place_bet.sql": "e07ec329144c602ff3331976775edce7d7142e52b6204ced55ae110630729b20",
}


def upgrade() -> None:
    connection = op.get_bind()
    for name, sha256 in SQL_FILES.items():
        sql.install(connection, name, sha256)


def downgrade() -> None:
    # Back to the bodies 0007 installed (the same text, unless a file was edited since).
    path = Path(__file__).with_name("0007_stake_totals.py")
    spec = importlib.util.spec_from_file_location("_betmesh_bets_0007_stake_totals", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    op.execute(module.NOTE_STAKE_CHANGE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute(module.PLACE_BET)

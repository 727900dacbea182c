"""bets.place_bet in fewer statements: the same rules, in the same order, for less PostgreSQL CPU.

Every statement of the function costs PostgreSQL about as much as a small transaction of its own
(executor start and end, locks, a snapshot), so the new body reads together what it can: the
idempotency check, the folded-changes check, the 7-day sum and both account ids in one
statement after the player's lock; the fixture rows locked by one INSERT; both liability limits
in one query; the stake's ledger transaction with its entries, and the bet with its legs and the
running totals, in one statement each (docs/benchmarks/bets.md, session 6). The signature is
unchanged, so a process still running the previous release calls it as before.

Revision ID: 0011_place_bet_fewer_statements
Revises: 0010_rules_from_sql_files
Create Date: 2026-12-06
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

from services.bets import sql

revision: str = "0011_place_bet_fewer_statements"
down_revision: str | None = "0010_rules_from_sql_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# File -> sha256 of the text this revision was written for (services/bets/sql/__init__.py).
SQL_FILES = {
    "place_bet.sql": "8a53e7b0d208b5984e94675785dc85fc36a8e2e5c4d44dd69d7bf2e380fcc8b2",
}


def upgrade() -> None:
    connection = op.get_bind()
    for name, sha256 in SQL_FILES.items():
        sql.install(connection, name, sha256)


def downgrade() -> None:
    # Back to the body 0010 installed, which is the one 0007 wrote (0010 pins its digest).
    path = Path(__file__).with_name("0007_stake_totals.py")
    spec = importlib.util.spec_from_file_location("_betmesh_bets_0007_stake_totals", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    op.execute(module.PLACE_BET)

"""The house's worst-case loss in one home: a view that bets.place_bet and the report both read.

The measure (a market's worst selection; a fixture's positive market worst cases summed) was
written twice: in place_bet's liability check and in Python for GetExposureReport. Now it is
bets.market_worst_case (services/bets/sql/worst_case.sql); this revision installs it and
place_bet's body that limits it (the same rules, the same order, the same signature). The legs'
fixtures reach the view as an array, so a bet reads its fixtures' rows by the primary key:
0011's query hashed the whole selection_exposure table (with 5 000 fixtures of 10 markets of 3
selections in the book, a sequential scan of 150 000 rows: about 17 ms of CPU a bet).

Revision ID: 0012_worst_case_view
Revises: 0011_place_bet_fewer_statements
Create Date: 2026-12-06
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.bets import sql

revision: str = "0012_worst_case_view"
down_revision: str | None = "0011_place_bet_fewer_statements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# File -> sha256 of the text this revision was written for (services/bets/sql/__init__.py).
# The view first: place_bet's body reads it.
SQL_FILES = {
    "worst_case.sql": "190f45ff16cb53851f1fc197138f35307664184fe4690d3172e775bbf9db9e20",
    "place_bet.sql": "8bb1149db60939ddf9f438c8fa3be3c9e1d11adc1c0ff013df395a1d80b14979",
}

# What the downgrade puts back: 0011's liability check, which read bets.selection_exposure
# itself, in place of the query this revision wrote between the same two lines of the body.
# Only this part changed, so the rest of 0011's body is the installed body's; the result must
# be 0011's body exactly (its sha256 below), or the downgrade stops.
_FROM = "        IF p_liability > 0 THEN\n"
_TO = "            IF v_market IS NOT NULL THEN\n"
_LIMITS_0011 = """\
            -- Both limits in one reading of the legs' fixtures: the first market (in id order)
            -- whose worst selection is over its limit, else the first fixture whose markets'
            -- worst selections sum over its limit.
            WITH worst AS (
                SELECT s.fixture_id, s.market_id, max(s.liability_minor) AS worst
                FROM bets.selection_exposure s
                WHERE s.fixture_id IN (SELECT l->>'f' FROM jsonb_array_elements(p_legs) l)
                GROUP BY s.fixture_id, s.market_id
            )
            SELECT (
                SELECT w.market_id FROM worst w
                WHERE w.worst > p_max_market
                    AND (w.fixture_id, w.market_id) IN (
                        SELECT l->>'f', l->>'m' FROM jsonb_array_elements(p_legs) l)
                ORDER BY w.fixture_id, w.market_id LIMIT 1
            ), (
                SELECT w.fixture_id FROM worst w
                GROUP BY w.fixture_id
                HAVING sum(greatest(w.worst, 0)) > p_max_fixture
                ORDER BY w.fixture_id LIMIT 1
            ) INTO v_market, v_fixture;
"""
# sha256 of the body (between the $$) 0011 installed; its whole file is 0011's pin.
BODY_0011_SHA256 = "fde46e6137a84c4a070deef59b7f5e10259f184ba5c1106e8ca4591d09e2301b"
VIEW = "bets.market_worst_case"


def upgrade() -> None:
    connection = op.get_bind()
    for name, sha256 in SQL_FILES.items():
        sql.install(connection, name, sha256)


def body_0011(body: str) -> str:
    """0011's body of place_bet from the one this revision installed; ValueError otherwise."""
    start = body.find(_FROM)
    end = body.find(_TO, start)
    if start < 0 or end < 0:
        raise ValueError("place_bet's body has not the liability check's two lines")
    restored = body[: start + len(_FROM)] + _LIMITS_0011 + body[end:]
    if hashlib.sha256(restored.encode("utf-8")).hexdigest() != BODY_0011_SHA256:
        raise ValueError(
            "place_bet's body is not the one 0012 installed (downgrade the revision that"
            " changed it since first): 0011's cannot be restored from it"
        )
    return restored


def downgrade() -> None:
    connection = op.get_bind()
    definition, body = connection.execute(
        sa.text(
            "SELECT pg_get_functiondef(p.oid), p.prosrc FROM pg_proc p"
            " WHERE p.oid = 'bets.place_bet'::regproc"
        )
    ).one()
    # A database whose upgrade skipped the file (edited since 0012) keeps an older body, which
    # reads no view: nothing to restore.
    if VIEW in body:
        connection.exec_driver_sql(
            definition.replace(body, body_0011(body), 1),
            execution_options={"no_parameters": True},
        )
    op.execute(f"DROP VIEW IF EXISTS {VIEW}")

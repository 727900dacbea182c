"""The planner's statistics for a service's tables when the server's autovacuum does not keep them.

PL/pgSQL caches each statement's plan; a cached plan is made again only when its tables'
statistics change, which on a server running with `autovacuum = off` (CI's and our development
machines' PostgreSQL) never happens: bets.place_bet kept the plans it made when bets.bets was
empty, which read a player's bets through the wrong index (the idempotency probe through
(player_id, placed_at) filtering every bet of the player on the key; the 7-day sum through
(player_id, idempotency_key) filtering them on placed_at). Each bet then cost PostgreSQL a scan of
the player's whole history: 0.55 ms a call on a fresh book, 1.0 ms after 20,000 bets, and
growing. With statistics the same statements read 3 buffers each, whatever the history.

So a service whose hot path is planned once and cached asks for this pass (a background step):
while the server's autovacuum is off, it analyzes the tables of its schema that changed by more
than autovacuum's own analyze threshold (50 rows + 10 %). With autovacuum on it does nothing:
the server keeps them, as it should.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

log = logging.getLogger(__name__)

# autovacuum_analyze_threshold and autovacuum_analyze_scale_factor's defaults.
THRESHOLD_ROWS = 50
SCALE = 0.1

_STALE = sa.text(
    "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables"
    " WHERE schemaname = :schema"
    " AND n_mod_since_analyze > :threshold + :scale * greatest(n_live_tup, 0)"
    " ORDER BY relname"
)


def autovacuum_on(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT current_setting('autovacuum')")).scalar() == "on"


def analyze_stale_tables(
    engine: sa.Engine, schema: str, *, beside_autovacuum: bool = False
) -> list[str]:
    """Analyzes the schema's tables whose statistics autovacuum would have renewed by now, if
    the server's autovacuum is off (or `beside_autovacuum`); returns their names (none while
    autovacuum is on)."""
    if not beside_autovacuum and autovacuum_on(engine):
        return []
    with engine.connect() as connection:
        stale = [
            str(name)
            for name in connection.execute(
                _STALE, {"schema": schema, "threshold": THRESHOLD_ROWS, "scale": SCALE}
            ).scalars()
        ]
    for name in stale:
        # One table a transaction: ANALYZE holds a lock that only other ANALYZE, VACUUM and
        # DDL wait for, so the service's own reads and writes go on meanwhile.
        with engine.begin() as connection:
            connection.execute(sa.text(f"ANALYZE {name}"))
    if stale:
        log.info("planner statistics renewed", extra={"tables": stale})
    return stale

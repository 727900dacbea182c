"""bets.chain_results on PostgreSQL: each announced result version and what the chain said of
it. Synchronous (callers run it in a worker thread); each method is one transaction."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.bets.domain.chain_results import (
    CheckState,
    ClaimedResult,
    HoldRow,
    OnChain,
    Verdict,
)

_CLAIM = (
    "fixture_id, version, claimed_status, claimed_home, claimed_away, claimed_sources_hash,"
    " set_games, transaction_hash, created_at"
)


def _claimed(row: sa.Row[tuple[object, ...]]) -> ClaimedResult:
    m = row._mapping
    return ClaimedResult(
        fixture_id=m["fixture_id"],
        version=int(m["version"]),
        status=m["claimed_status"],
        home=int(m["claimed_home"]),
        away=int(m["claimed_away"]),
        sources_hash=m["claimed_sources_hash"],
        set_games=tuple(m["set_games"]),
        transaction_hash=m["transaction_hash"],
    )


class ChainResultStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, claimed: ClaimedResult) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO bets.chain_results (fixture_id, version, state, claimed_status,"
                    " claimed_home, claimed_away, claimed_sources_hash, set_games,"
                    " transaction_hash) VALUES (:f, :v, 'WAITING', :s, :h, :a, :sh, :g, :tx)"
                    " ON CONFLICT DO NOTHING"
                ),
                {
                    "f": claimed.fixture_id,
                    "v": claimed.version,
                    "s": claimed.status,
                    "h": claimed.home,
                    "a": claimed.away,
                    "sh": claimed.sources_hash,
                    "g": list(claimed.set_games),
                    "tx": claimed.transaction_hash,
                },
            )

    def waiting(self, limit: int) -> list[tuple[ClaimedResult, datetime]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    f"SELECT {_CLAIM} FROM bets.chain_results WHERE state = 'WAITING'"
                    " ORDER BY updated_at, fixture_id, version LIMIT :n"
                ),
                {"n": limit},
            )
            return [(_claimed(r), r._mapping["created_at"]) for r in rows]

    def waiting_one(self, fixture_id: str, version: int) -> tuple[ClaimedResult, datetime] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    f"SELECT {_CLAIM} FROM bets.chain_results WHERE fixture_id = :f"
                    " AND version = :v AND state = 'WAITING'"
                ),
                {"f": fixture_id, "v": version},
            ).first()
            return None if row is None else (_claimed(row), row._mapping["created_at"])

    def newer_claimed(self, fixture_id: str, version: int) -> bool:
        with self.engine.connect() as conn:
            return bool(
                conn.execute(
                    sa.text(
                        "SELECT EXISTS (SELECT 1 FROM bets.chain_results WHERE fixture_id = :f"
                        " AND version >= :v)"
                    ),
                    {"f": fixture_id, "v": version},
                ).scalar()
            )

    def resolve(
        self,
        claimed: ClaimedResult,
        verdict: Verdict,
        chain: OnChain | None,
        signers: tuple[str, ...] = (),
        config_version: int | None = None,
    ) -> None:
        """Records the verdict with what the chain held; a settled version supersedes every
        older one of the fixture still waiting or held."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE bets.chain_results SET state = :state, reason = :reason,"
                    " chain_status = :cs, chain_home = :ch, chain_away = :ca, chain_version = :cv,"
                    " chain_sources_hash = :csh, block_number = :b, signers = :signers,"
                    " config_version = :config, updated_at = now()"
                    " WHERE fixture_id = :f AND version = :v AND state = 'WAITING'"
                ),
                {
                    "state": verdict.state.value,
                    "reason": verdict.reason,
                    "cs": chain.status if chain else "",
                    "ch": chain.home if chain else None,
                    "ca": chain.away if chain else None,
                    "cv": chain.version if chain else None,
                    "csh": chain.sources_hash if chain else "",
                    "b": chain.block_number if chain else None,
                    "signers": list(signers),
                    "config": config_version,
                    "f": claimed.fixture_id,
                    "v": claimed.version,
                },
            )
            if verdict.state is CheckState.SETTLED:
                conn.execute(
                    sa.text(
                        "UPDATE bets.chain_results SET state = 'SUPERSEDED',"
                        " reason = 'NEWER_VERSION_SETTLED', updated_at = now()"
                        " WHERE fixture_id = :f AND version < :v"
                        " AND state IN ('WAITING', 'HELD')"
                    ),
                    {"f": claimed.fixture_id, "v": claimed.version},
                )

    def touch(self, claimed: ClaimedResult, reason: str) -> None:
        """Still waiting: to the back of the re-check queue, with why."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE bets.chain_results SET reason = :r, updated_at = now()"
                    " WHERE fixture_id = :f AND version = :v AND state = 'WAITING'"
                ),
                {"r": reason, "f": claimed.fixture_id, "v": claimed.version},
            )

    def holds(self, after: tuple[str, int], limit: int) -> list[HoldRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    f"SELECT {_CLAIM}, reason, chain_status, chain_home, chain_away,"
                    " chain_version, chain_sources_hash, block_number, signers, config_version,"
                    " updated_at FROM bets.chain_results WHERE state = 'HELD'"
                    " AND (fixture_id, version) > (:f, :v)"
                    " ORDER BY fixture_id, version LIMIT :n"
                ),
                {"f": after[0], "v": after[1], "n": limit},
            )
            found = []
            for row in rows:
                m = row._mapping
                chain = (
                    OnChain(
                        status=m["chain_status"],
                        home=int(m["chain_home"]),
                        away=int(m["chain_away"]),
                        version=int(m["chain_version"]),
                        sources_hash=m["chain_sources_hash"],
                        block_number=int(m["block_number"] or 0),
                    )
                    if m["chain_version"] is not None
                    else None
                )
                found.append(
                    HoldRow(
                        claimed=_claimed(row),
                        reason=m["reason"],
                        chain=chain,
                        signers=tuple(m["signers"]),
                        config_version=int(m["config_version"] or 0),
                        held_at=m["updated_at"],
                    )
                )
            return found

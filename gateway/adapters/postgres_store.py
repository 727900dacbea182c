"""The gateway schema on PostgreSQL: fixtures, accepted quote sets with evidence, dissents, and
the unit of work over quote sets and holds."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from sqlalchemy.engine import Connection, Engine

from gateway.adapters.guard_store import PostgresHolds
from gateway.adapters.transactions import Statements, Transaction, UnitOfWorkBlock
from gateway.domain.model import Accepted, DissentRecord, PricedState, UpsertCounts, fixture_digest
from service_runtime.digest import canonical_bytes

SCHEMA = "gateway"


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class PostgresFixtures:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def upsert(self, fixtures: Sequence[sport_pb2.Fixture]) -> UpsertCounts:
        return await asyncio.to_thread(self._upsert, list(fixtures))

    def _upsert(self, fixtures: list[sport_pb2.Fixture]) -> UpsertCounts:
        created = updated = unchanged = 0
        with self.engine.begin() as conn:
            for fixture in fixtures:
                digest = fixture_digest(fixture)
                row = conn.execute(
                    sa.text(
                        """
                        INSERT INTO gateway.fixtures
                            (fixture_id, sport, start_time, status, fixture, fixture_digest)
                        VALUES (:id, :sport, :start, :status, :fixture, :digest)
                        ON CONFLICT (fixture_id) DO UPDATE SET
                            sport = EXCLUDED.sport, start_time = EXCLUDED.start_time,
                            status = EXCLUDED.status, fixture = EXCLUDED.fixture,
                            fixture_digest = EXCLUDED.fixture_digest, updated_at = now()
                        WHERE gateway.fixtures.fixture_digest <> EXCLUDED.fixture_digest
                        RETURNING (xmax = 0) AS inserted
                        """
                    ),
                    {
                        "id": fixture.fixture_id,
                        "sport": fixture.sport,
                        "start": fixture.start_time.ToDatetime(UTC),
                        "status": fixture.status,
                        "fixture": canonical_bytes(fixture),
                        "digest": digest,
                    },
                ).first()
                if row is None:
                    unchanged += 1
                elif row.inserted:
                    created += 1
                else:
                    updated += 1
        return UpsertCounts(created, updated, unchanged)

    async def get(self, fixture_id: str) -> sport_pb2.Fixture | None:
        def read() -> sport_pb2.Fixture | None:
            with self.engine.connect() as conn:
                data = conn.execute(
                    sa.text("SELECT fixture FROM gateway.fixtures WHERE fixture_id = :id"),
                    {"id": fixture_id},
                ).scalar_one_or_none()
            return None if data is None else sport_pb2.Fixture.FromString(bytes(data))

        return await asyncio.to_thread(read)

    async def list(
        self,
        sports: Sequence[sport_pb2.Sport.ValueType],
        starts_after: datetime | None,
        starts_before: datetime | None,
        limit: int,
        offset: int,
    ) -> list[sport_pb2.Fixture]:
        def read() -> list[sport_pb2.Fixture]:
            query = sa.text(
                """
                SELECT fixture FROM gateway.fixtures
                WHERE (cardinality(CAST(:sports AS smallint[])) = 0 OR sport = ANY(:sports))
                  AND (CAST(:after AS timestamptz) IS NULL OR start_time >= :after)
                  AND (CAST(:before AS timestamptz) IS NULL OR start_time < :before)
                ORDER BY start_time, fixture_id
                LIMIT :limit OFFSET :offset
                """
            )
            with self.engine.connect() as conn:
                rows = conn.execute(
                    query,
                    {
                        "sports": [int(s) for s in sports],
                        "after": starts_after,
                        "before": starts_before,
                        "limit": limit,
                        "offset": offset,
                    },
                ).scalars()
                return [sport_pb2.Fixture.FromString(bytes(r)) for r in rows]

        return await asyncio.to_thread(read)


class PostgresQuoteSets:
    def __init__(self, engine: Engine, transaction: Transaction | None = None) -> None:
        self.engine = engine
        self._sql = Statements(engine, transaction)

    async def save(self, accepted: Accepted) -> None:
        quote_set = accepted.quote_set

        def write(conn: Connection) -> None:
            conn.execute(
                sa.text(
                    """
                    INSERT INTO gateway.quote_sets (fixture_id, sport, phase, digest,
                        snapshot_hash, fixture_digest, quote_set, evidence, accepted_at,
                        game_state, margin_scale_e4)
                    VALUES (:fixture_id, :sport, :phase, :digest, :snapshot, :fixture_digest,
                        :quote_set, :evidence, :accepted_at, :game_state, :margin_scale)
                    """
                ),
                {
                    "fixture_id": quote_set.fixture_id,
                    "sport": quote_set.sport,
                    "phase": quote_set.phase,
                    "digest": accepted.digest,
                    "snapshot": quote_set.snapshot_hash,
                    "fixture_digest": accepted.fixture_digest,
                    "quote_set": accepted.data,
                    "evidence": canonical_bytes(accepted.evidence),
                    "accepted_at": _at(accepted.accepted_at),
                    "game_state": accepted.game_state,
                    "margin_scale": quote_set.margin_scale_e4,
                },
            )

        await self._sql.write_later(write)

    async def latest(
        self, fixture_id: str, phase: market_pb2.PricingPhase.ValueType
    ) -> Accepted | None:
        def read(conn: Connection) -> Accepted | None:
            row = conn.execute(
                sa.text(
                    """
                    SELECT digest, fixture_digest, quote_set, evidence, accepted_at,
                        game_state
                    FROM gateway.quote_sets
                    WHERE fixture_id = :id AND (:phase = 0 OR phase = :phase)
                    ORDER BY accepted_at DESC, id DESC LIMIT 1
                    """
                ),
                {"id": fixture_id, "phase": int(phase)},
            ).first()
            if row is None:
                return None
            data = bytes(row.quote_set)
            return Accepted(
                data=data,
                digest=row.digest,
                evidence=pb.QuorumEvidence.FromString(bytes(row.evidence)),
                accepted_at=row.accepted_at.timestamp(),
                fixture_digest=row.fixture_digest,
                game_state=bytes(row.game_state),
            )

        return await self._sql.read(read)

    async def priced_states(self, fixture_ids: Sequence[str]) -> dict[str, PricedState]:
        def read(conn: Connection) -> dict[str, PricedState]:
            rows = conn.execute(
                sa.text(
                    """
                    SELECT DISTINCT ON (fixture_id) fixture_id, snapshot_hash, fixture_digest,
                        margin_scale_e4
                    FROM gateway.quote_sets
                    WHERE fixture_id = ANY(:ids) AND phase = :phase
                    ORDER BY fixture_id, accepted_at DESC, id DESC
                    """
                ),
                {"ids": list(fixture_ids), "phase": market_pb2.PRICING_PHASE_PRE_MATCH},
            )
            return {
                r.fixture_id: PricedState(r.snapshot_hash, r.fixture_digest, r.margin_scale_e4)
                for r in rows
            }

        return await self._sql.read(read)


class PostgresUnitOfWork(UnitOfWorkBlock):
    """The gateway's unit of work on PostgreSQL (service_layer/ports.py, UnitOfWork): the holds
    and quote sets written through it are one transaction, committed by `commit()` only; leaving
    the block without it, or on an exception, rolls back. One per use, never shared."""

    def __init__(self, engine: Engine) -> None:
        self._transaction = Transaction(engine)
        self.holds = PostgresHolds(engine, self._transaction)
        self.quote_sets = PostgresQuoteSets(engine, self._transaction)

    async def commit(self) -> None:
        await asyncio.to_thread(self._transaction.end, True)

    async def rollback(self) -> None:
        if self._transaction.ended:
            return  # committed, or rolled back already: no thread to wake
        # Shielded: a rollback reached through a cancellation still gives the connection back.
        await asyncio.shield(asyncio.to_thread(self._transaction.end, False))


class PostgresDissents:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def record(self, dissents: Sequence[DissentRecord]) -> None:
        rows = [
            {
                "fixture_id": d.fixture_id,
                "sport": d.sport,
                "replica_id": d.vote.replica_id,
                "address": d.vote.address,
                "outcome": pb.VoteOutcome.Name(d.vote.outcome),
                "digest": d.vote.digest,
                "majority": d.majority_digest,
                "difference": d.vote.first_difference,
                "latency": d.vote.latency_micros,
                "at": _at(d.recorded_at),
                "verdict": d.verdict,
                "outvoted_by": list(d.outvoted_by),
                "decision_id": d.decision_id,
                "decision": d.decision,
                "engine": d.vote.engine,
                "error": d.vote.error,
            }
            for d in dissents
        ]

        def write() -> None:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        """
                        INSERT INTO gateway.dissents (fixture_id, sport, replica_id, address,
                            outcome, digest, majority_digest, first_difference, latency_micros,
                            recorded_at, verdict, outvoted_by, decision_id, decision, engine,
                            error)
                        VALUES (:fixture_id, :sport, :replica_id, :address, :outcome, :digest,
                            :majority, :difference, :latency, :at, :verdict, :outvoted_by,
                            :decision_id, :decision, :engine, :error)
                        """
                    ),
                    rows,
                )

        await asyncio.to_thread(write)

    async def list(
        self, sport: sport_pb2.Sport.ValueType, limit: int, offset: int
    ) -> list[DissentRecord]:
        def read() -> list[DissentRecord]:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        """
                        SELECT * FROM gateway.dissents WHERE (:sport = 0 OR sport = :sport)
                        ORDER BY recorded_at DESC, id DESC LIMIT :limit OFFSET :offset
                        """
                    ),
                    {"sport": int(sport), "limit": limit, "offset": offset},
                )
                return [
                    DissentRecord(
                        r.fixture_id,
                        r.sport,
                        pb.ReplicaVote(
                            replica_id=r.replica_id,
                            address=r.address,
                            outcome=pb.VoteOutcome.Value(r.outcome),
                            digest=r.digest,
                            latency_micros=r.latency_micros,
                            first_difference=r.first_difference,
                            engine=r.engine,
                            error=r.error,
                        ),
                        r.majority_digest,
                        r.recorded_at.timestamp(),
                        verdict=r.verdict,
                        outvoted_by=tuple(r.outvoted_by),
                        decision_id=r.decision_id,
                        decision=r.decision,
                    )
                    for r in rows
                ]

        return await asyncio.to_thread(read)

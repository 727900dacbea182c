"""The integrity guard's holds and the snapshot canary's reviews: in PostgreSQL (schema
"gateway") and in memory (a gateway run without a database, and unit tests)."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

import sqlalchemy as sa
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from sqlalchemy.engine import Connection, Engine

from gateway.adapters.transactions import Statements, Transaction
from gateway.domain.holds import HoldStatus, PriceHold
from gateway.domain.integrity import Violation
from service_runtime.digest import canonical_bytes


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _violations(evidence: object) -> tuple[Violation, ...]:
    items = json.loads(evidence) if isinstance(evidence, str) else evidence
    assert isinstance(items, list)
    return tuple(Violation(v["market_id"], v["rule"], v["detail"], v["values"]) for v in items)


def _evidence(hold: PriceHold) -> str:
    return json.dumps(
        [
            {"market_id": v.market_id, "rule": v.rule, "detail": v.detail, "values": v.values}
            for v in hold.violations
        ],
        sort_keys=True,
    )


class PostgresHolds:
    def __init__(self, engine: Engine, transaction: Transaction | None = None) -> None:
        self.engine = engine
        self._sql = Statements(engine, transaction)

    async def add(self, holds: Sequence[PriceHold]) -> list[PriceHold]:
        def write(conn: Connection) -> list[PriceHold]:
            stored = []
            for hold in holds:
                hold_id = conn.execute(
                    sa.text(
                        """
                        INSERT INTO gateway.price_holds (fixture_id, sport, phase, market_id,
                            rules, evidence, snapshot_hash, event_sequence, quote_set_digest,
                            held_market, published_market, status, held_at)
                        VALUES (:fixture_id, :sport, :phase, :market_id, :rules,
                            CAST(:evidence AS jsonb), :snapshot, :sequence, :digest, :held,
                            :published, 'OPEN', :at)
                        ON CONFLICT (fixture_id, phase, market_id) WHERE status = 'OPEN'
                            DO NOTHING
                        RETURNING id
                        """
                    ),
                    {
                        "fixture_id": hold.fixture_id,
                        "sport": int(hold.sport),
                        "phase": int(hold.phase),
                        "market_id": hold.market_id,
                        "rules": ",".join(hold.rules),
                        "evidence": _evidence(hold),
                        "snapshot": hold.snapshot_hash,
                        "sequence": hold.event_sequence,
                        "digest": hold.quote_set_digest,
                        "held": hold.held_market,
                        "published": hold.published_market,
                        "at": _at(hold.held_at),
                    },
                ).scalar_one_or_none()
                # Another gateway process held it first: that hold stands.
                if hold_id is not None:
                    stored.append(_with_id(hold, str(hold_id)))
            return stored

        return await self._sql.write(write)

    async def open_markets(
        self, fixture_id: str, phase: market_pb2.PricingPhase.ValueType
    ) -> set[str]:
        def read(conn: Connection) -> set[str]:
            return set(
                conn.execute(
                    sa.text(
                        """
                        SELECT market_id FROM gateway.price_holds
                        WHERE fixture_id = :id AND phase = :phase AND status = 'OPEN'
                        """
                    ),
                    {"id": fixture_id, "phase": int(phase)},
                ).scalars()
            )

        return await self._sql.read(read)

    async def holding(
        self, fixture_id: str, phase: market_pb2.PricingPhase.ValueType, released_since: float
    ) -> tuple[set[str], set[str]]:
        def read(conn: Connection) -> tuple[set[str], set[str]]:
            rows = conn.execute(
                sa.text(
                    """
                    SELECT market_id, status FROM gateway.price_holds
                    WHERE fixture_id = :id AND phase = :phase
                      AND (status = 'OPEN' OR (status = 'RELEASED' AND decided_at > :since))
                    """
                ),
                {"id": fixture_id, "phase": int(phase), "since": _at(released_since)},
            ).all()
            return (
                {r.market_id for r in rows if r.status == "OPEN"},
                {r.market_id for r in rows if r.status == "RELEASED"},
            )

        return await self._sql.read(read)

    async def get(self, hold_id: str) -> PriceHold | None:
        def read(conn: Connection) -> PriceHold | None:
            row = conn.execute(
                sa.text("SELECT * FROM gateway.price_holds WHERE id = :id"),
                {"id": int(hold_id)},
            ).first()
            return None if row is None else _hold(row)

        return await self._sql.read(read)

    async def decide(
        self, hold_id: str, status: HoldStatus, by: str, note: str, at: float
    ) -> PriceHold | None:
        def write(conn: Connection) -> PriceHold | None:
            row = conn.execute(
                sa.text(
                    """
                    UPDATE gateway.price_holds
                    SET status = :status, decided_at = :at, decided_by = :by, note = :note
                    WHERE id = :id AND status = 'OPEN'
                    RETURNING *
                    """
                ),
                {
                    "id": int(hold_id),
                    "status": status.value,
                    "at": _at(at),
                    "by": by,
                    "note": note,
                },
            ).first()
            return None if row is None else _hold(row)

        return await self._sql.write(write)

    async def list(
        self, status: HoldStatus | None, fixture_id: str, limit: int, offset: int
    ) -> list[PriceHold]:
        def read(conn: Connection) -> list[PriceHold]:
            rows = conn.execute(
                sa.text(
                    """
                    SELECT * FROM gateway.price_holds
                    WHERE (CAST(:status AS text) IS NULL OR status = :status)
                      AND (:fixture_id = '' OR fixture_id = :fixture_id)
                    ORDER BY held_at DESC, id DESC LIMIT :limit OFFSET :offset
                    """
                ),
                {
                    "status": status.value if status else None,
                    "fixture_id": fixture_id,
                    "limit": limit,
                    "offset": offset,
                },
            )
            return [_hold(r) for r in rows]

        return await self._sql.read(read)

    async def total(self, status: HoldStatus | None) -> int:
        def read(conn: Connection) -> int:
            return int(
                conn.execute(
                    sa.text(
                        """
                        SELECT count(*) FROM gateway.price_holds
                        WHERE CAST(:status AS text) IS NULL OR status = :status
                        """
                    ),
                    {"status": status.value if status else None},
                ).scalar_one()
            )

        return await self._sql.read(read)

    async def counts(self) -> dict[tuple[str, str], int]:
        def read(conn: Connection) -> dict[tuple[str, str], int]:
            rows = conn.execute(
                sa.text(
                    """
                    SELECT rule, status, count(*) AS n FROM gateway.price_holds,
                        unnest(string_to_array(rules, ',')) AS rule
                    GROUP BY rule, status
                    """
                )
            )
            return {(r.rule, r.status): int(r.n) for r in rows}

        return await self._sql.read(read)


def _with_id(hold: PriceHold, hold_id: str) -> PriceHold:
    return replace(hold, hold_id=hold_id)


def _hold(row: sa.Row) -> PriceHold:  # type: ignore[type-arg]
    return PriceHold(
        fixture_id=row.fixture_id,
        sport=row.sport,
        phase=row.phase,
        market_id=row.market_id,
        violations=_violations(row.evidence),
        snapshot_hash=row.snapshot_hash,
        event_sequence=row.event_sequence,
        quote_set_digest=row.quote_set_digest,
        held_market=bytes(row.held_market),
        published_market=bytes(row.published_market),
        held_at=row.held_at.timestamp(),
        status=HoldStatus(row.status),
        hold_id=str(row.id),
        decided_at=row.decided_at.timestamp() if row.decided_at else None,
        decided_by=row.decided_by,
        note=row.note,
        rules=tuple(row.rules.split(",")),
    )


class MemoryHolds:
    def __init__(self) -> None:
        self._holds: dict[str, PriceHold] = {}
        self._ids = itertools.count(1)
        # Set on a unit of work's view (journaled): how to undo each write, oldest first.
        self._undo: list[Callable[[], object]] | None = None

    def journaled(self, undo: list[Callable[[], object]]) -> MemoryHolds:
        """The same holds, every write through this view noting its undo in `undo`
        (memory.MemoryUnitOfWork)."""
        view = copy.copy(self)  # shares the holds and the ids
        view._undo = undo
        return view

    async def add(self, holds: Sequence[PriceHold]) -> list[PriceHold]:
        stored = []
        for hold in holds:
            if hold.market_id in await self.open_markets(hold.fixture_id, hold.phase):
                continue
            hold_id = str(next(self._ids))
            stored.append(_with_id(hold, hold_id))
            self._holds[hold_id] = stored[-1]
            if self._undo is not None:
                self._undo.append(partial(self._holds.pop, hold_id, None))
        return stored

    async def open_markets(
        self, fixture_id: str, phase: market_pb2.PricingPhase.ValueType
    ) -> set[str]:
        return {
            h.market_id
            for h in self._holds.values()
            if h.fixture_id == fixture_id and h.phase == phase and h.status == HoldStatus.OPEN
        }

    async def holding(
        self, fixture_id: str, phase: market_pb2.PricingPhase.ValueType, released_since: float
    ) -> tuple[set[str], set[str]]:
        mine = [h for h in self._holds.values() if h.fixture_id == fixture_id and h.phase == phase]
        return (
            {h.market_id for h in mine if h.status == HoldStatus.OPEN},
            {
                h.market_id
                for h in mine
                if h.status == HoldStatus.RELEASED and (h.decided_at or 0) > released_since
            },
        )

    async def get(self, hold_id: str) -> PriceHold | None:
        return self._holds.get(hold_id)

    async def decide(
        self, hold_id: str, status: HoldStatus, by: str, note: str, at: float
    ) -> PriceHold | None:
        hold = self._holds.get(hold_id)
        if hold is None or hold.status != HoldStatus.OPEN:
            return None
        decided = replace(hold, status=status, decided_by=by, note=note, decided_at=at)
        self._holds[hold_id] = decided
        if self._undo is not None:
            self._undo.append(partial(self._holds.__setitem__, hold_id, hold))
        return decided

    async def list(
        self, status: HoldStatus | None, fixture_id: str, limit: int, offset: int
    ) -> list[PriceHold]:
        found = [
            h
            for h in sorted(self._holds.values(), key=lambda h: -int(h.hold_id))
            if (status is None or h.status == status) and fixture_id in ("", h.fixture_id)
        ]
        return found[offset : offset + limit]

    async def total(self, status: HoldStatus | None) -> int:
        return sum(1 for h in self._holds.values() if status is None or h.status == status)

    async def counts(self) -> dict[tuple[str, str], int]:
        counted: Counter[tuple[str, str]] = Counter()
        for hold in self._holds.values():
            for rule in hold.rules:
                counted[(rule, hold.status.value)] += 1
        return dict(counted)


# ---- the canary's reviews -------------------------------------------------------------------


class PostgresReviews:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def get(self, snapshot_hash: str) -> pb.SnapshotReview | None:
        def read() -> pb.SnapshotReview | None:
            with self.engine.connect() as conn:
                data = conn.execute(
                    sa.text("SELECT review FROM gateway.snapshot_reviews WHERE snapshot_hash = :h"),
                    {"h": snapshot_hash},
                ).scalar_one_or_none()
            return None if data is None else pb.SnapshotReview.FromString(bytes(data))

        return await asyncio.to_thread(read)

    async def save(self, review: pb.SnapshotReview) -> None:
        def write() -> None:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        """
                        INSERT INTO gateway.snapshot_reviews
                            (snapshot_hash, sport, verdict, review, reviewed_at)
                        VALUES (:h, :sport, :verdict, :review, :at)
                        ON CONFLICT (snapshot_hash) DO UPDATE SET verdict = EXCLUDED.verdict,
                            review = EXCLUDED.review, reviewed_at = EXCLUDED.reviewed_at
                        """
                    ),
                    {
                        "h": review.snapshot_hash,
                        "sport": int(review.sport),
                        "verdict": pb.SnapshotVerdict.Name(review.verdict).removeprefix(
                            "SNAPSHOT_VERDICT_"
                        ),
                        "review": canonical_bytes(review),
                        "at": review.reviewed_at.ToDatetime(UTC),
                    },
                )

        await asyncio.to_thread(write)

    async def list(
        self, sport: sport_pb2.Sport.ValueType, limit: int, offset: int
    ) -> list[pb.SnapshotReview]:
        def read() -> list[pb.SnapshotReview]:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        """
                        SELECT review FROM gateway.snapshot_reviews
                        WHERE (:sport = 0 OR sport = :sport)
                        ORDER BY reviewed_at DESC, snapshot_hash LIMIT :limit OFFSET :offset
                        """
                    ),
                    {"sport": int(sport), "limit": limit, "offset": offset},
                ).scalars()
                return [pb.SnapshotReview.FromString(bytes(r)) for r in rows]

        return await asyncio.to_thread(read)


class MemoryReviews:
    def __init__(self) -> None:
        self._reviews: dict[str, pb.SnapshotReview] = {}

    async def get(self, snapshot_hash: str) -> pb.SnapshotReview | None:
        return self._reviews.get(snapshot_hash)

    async def save(self, review: pb.SnapshotReview) -> None:
        self._reviews[review.snapshot_hash] = review

    async def list(
        self, sport: sport_pb2.Sport.ValueType, limit: int, offset: int
    ) -> list[pb.SnapshotReview]:
        found = sorted(
            (r for r in self._reviews.values() if sport in (0, r.sport)),
            key=lambda r: (-r.reviewed_at.ToNanoseconds(), r.snapshot_hash),
        )
        return found[offset : offset + limit]

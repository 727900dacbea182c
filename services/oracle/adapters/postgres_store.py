"""ResultStore on PostgreSQL (SQLAlchemy Core, psycopg2), off the event loop via to_thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC

import sqlalchemy as sa
from betmesh.common.v1 import sport_pb2
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine, RowMapping

from service_runtime.digest import canonical_bytes
from services.oracle.adapters.outbox import PostgresOutbox, queue_first_publication
from services.oracle.adapters.tables import corrections, observations, publications, results
from services.oracle.domain.agreement import outcome_key
from services.oracle.domain.ports import Change
from services.oracle.domain.results import VALIDATED as VALIDATED_STATES
from services.oracle.domain.results import PublicationView, ResultRecord

_STATE_PREFIX = "VALIDATION_STATE_"


def _state_name(state: pb.ValidationState.ValueType) -> str:
    return pb.ValidationState.Name(state).removeprefix(_STATE_PREFIX)


def _state_value(name: str) -> pb.ValidationState.ValueType:
    return pb.ValidationState.Value(_STATE_PREFIX + name)


class PostgresResultStore:
    def __init__(self, engine: Engine, publishing: bool = False) -> None:
        self.engine = engine
        # When results go on chain, validation and its PENDING publication commit together.
        self.publishing = publishing

    async def apply(self, fixture_id: str, change: Change) -> ResultRecord:
        return await asyncio.to_thread(self._apply, fixture_id, change)

    async def get(self, fixture_id: str) -> ResultRecord | None:
        return await asyncio.to_thread(self._get, fixture_id)

    async def list_held(self, after_fixture_id: str, limit: int) -> list[ResultRecord]:
        return await asyncio.to_thread(
            self._list, results.c.state == "HELD", after_fixture_id, limit
        )

    async def pending_events(self) -> list[ResultRecord]:
        return await asyncio.to_thread(self._list, results.c.event_pending, "", 1000)

    async def mark_event_published(self, fixture_id: str, sources_hash: str) -> None:
        await asyncio.to_thread(self._mark_published, fixture_id, sources_hash)

    async def correct(
        self, fixture_id: str, change: Callable[[ResultRecord | None], tuple[ResultRecord, int]]
    ) -> ResultRecord:
        return await asyncio.to_thread(self._correct, fixture_id, change)

    async def retry_publication(self, fixture_id: str) -> ResultRecord | None:
        retried = await asyncio.to_thread(PostgresOutbox(self.engine).retry, fixture_id)
        return await self.get(fixture_id) if retried else None

    def _correct(
        self, fixture_id: str, change: Callable[[ResultRecord | None], tuple[ResultRecord, int]]
    ) -> ResultRecord:
        with self.engine.begin() as conn:
            self._lock(conn, fixture_id)
            current = self._load(conn, [fixture_id]).get(fixture_id)
            record, version = change(current)
            if current is None or record == current:
                return record
            self._save(conn, current, record)
            self._queue_correction(conn, fixture_id, current, record, version)
            return self._load(conn, [fixture_id])[fixture_id]

    @staticmethod
    def _queue_correction(
        conn: Connection, fixture_id: str, current: ResultRecord, record: ResultRecord, version: int
    ) -> None:
        """Audit row, and the publication queued at `version` (next on chain, or the same one
        when the current never got there)."""
        assert current.result is not None and record.result is not None
        row = {
            "fixture_id": fixture_id,
            "version": version,
            "previous": canonical_bytes(current.result),
            "result": canonical_bytes(record.result),
            "note": record.resolution_note,
            "corrected_by": record.resolved_by,
        }
        # A version never sent may be corrected again: the last word for it is kept.
        conn.execute(
            pg_insert(corrections)
            .values(**row)
            .on_conflict_do_update(
                constraint="corrections_once_per_version",
                set_={k: row[k] for k in ("previous", "result", "note", "corrected_by")},
            )
        )
        conn.execute(
            publications.update()
            .where(publications.c.fixture_id == fixture_id)
            .values(
                version=version,
                status="PENDING",
                submit_tx_id=None,
                finalise_tx_id=None,
                transaction_hash="",
                block_number=None,
                block_hash="",
                failure="",
                attempts=0,
                # An announcement of the superseded version not yet made never will be.
                final_event_pending=False,
                ready_at=sa.func.now(),
                updated_at=sa.func.now(),
            )
        )

    @staticmethod
    def _lock(conn: Connection, fixture_id: str) -> None:
        # Serialises everything about one fixture, including its first observation,
        # when there is no row yet to lock.
        conn.execute(
            sa.select(
                sa.func.pg_advisory_xact_lock(sa.func.hashtextextended("oracle:" + fixture_id, 0))
            )
        )

    def _apply(self, fixture_id: str, change: Change) -> ResultRecord:
        with self.engine.begin() as conn:
            self._lock(conn, fixture_id)
            current = self._load(conn, [fixture_id]).get(fixture_id)
            record = change(current)
            if record != current:
                self._save(conn, current, record)
            publication = current.publication if current is not None else None
            if (
                current is not None
                and publication is not None
                and current.result is not None
                and record.result is not None
                and current.state in VALIDATED_STATES
                and outcome_key(current.result) != outcome_key(record.result)
            ):
                # A new agreement of sources: published as a correction.
                version = (
                    publication.version + 1
                    if publication.status == "CONFIRMED"
                    else publication.version
                )
                self._queue_correction(conn, fixture_id, current, record, version)
                return self._load(conn, [fixture_id])[fixture_id]
            if (
                self.publishing
                and publication is None
                and record.state in (pb.VALIDATION_STATE_AGREED, pb.VALIDATION_STATE_RESOLVED)
            ):
                queue_first_publication(conn, fixture_id)
                publication = PublicationView(status="PENDING", version=1)
            return replace(
                record,
                stored_sources=frozenset(o.source_id for o in record.observations),
                publication=publication,
            )

    def load_many(self, fixture_ids: Sequence[str]) -> dict[str, ResultRecord]:
        """Synchronous, for the chain publisher's worker thread."""
        with self.engine.connect() as conn:
            return self._load(conn, fixture_ids)

    def _get(self, fixture_id: str) -> ResultRecord | None:
        with self.engine.connect() as conn:
            return self._load(conn, [fixture_id]).get(fixture_id)

    def _list(
        self, condition: sa.ColumnElement[bool], after: str, limit: int
    ) -> list[ResultRecord]:
        with self.engine.connect() as conn:
            ids = list(
                conn.execute(
                    sa.select(results.c.fixture_id)
                    .where(condition, results.c.fixture_id > after)
                    .order_by(results.c.fixture_id)
                    .limit(limit)
                ).scalars()
            )
            loaded = self._load(conn, ids)
        return [loaded[i] for i in ids if i in loaded]

    def _mark_published(self, fixture_id: str, sources_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                results.update()
                .where(results.c.fixture_id == fixture_id, results.c.sources_hash == sources_hash)
                .values(event_pending=False, updated_at=sa.func.now())
            )

    @staticmethod
    def _load(conn: Connection, fixture_ids: Sequence[str]) -> dict[str, ResultRecord]:
        if not fixture_ids:
            return {}
        rows = conn.execute(
            sa.select(results).where(results.c.fixture_id.in_(fixture_ids))
        ).mappings()
        by_fixture: dict[str, list[pb.Observation]] = {i: [] for i in fixture_ids}
        for data, fixture_id in conn.execute(
            sa.select(observations.c.observation, observations.c.fixture_id)
            .where(observations.c.fixture_id.in_(fixture_ids))
            .order_by(observations.c.fixture_id, observations.c.source_id)
        ):
            by_fixture[fixture_id].append(pb.Observation.FromString(data))
        views = {
            p["fixture_id"]: PublicationView(
                status=p["status"],
                version=p["version"],
                transaction_hash=p["transaction_hash"],
                block_number=p["block_number"] or 0,
                final_at=p["final_at"],
                failure=p["failure"],
                finalising=p["finalise_tx_id"] is not None,
            )
            for p in conn.execute(
                sa.select(publications).where(publications.c.fixture_id.in_(fixture_ids))
            ).mappings()
        }
        return {
            row["fixture_id"]: replace(
                _record(row, by_fixture[row["fixture_id"]]),
                publication=views.get(row["fixture_id"]),
            )
            for row in rows
        }

    @staticmethod
    def _save(conn: Connection, current: ResultRecord | None, record: ResultRecord) -> None:
        result = record.result
        values = {
            "state": _state_name(record.state),
            "result": canonical_bytes(result) if result is not None else None,
            "result_status": pb.ResultStatus.Name(result.status) if result is not None else None,
            "home_score": result.home_score if result is not None else None,
            "away_score": result.away_score if result is not None else None,
            "sources_hash": record.sources_hash,
            "resolution_note": record.resolution_note,
            "resolved_by": record.resolved_by,
            "event_pending": record.event_pending,
            "updated_at": sa.func.now(),
        }
        if record.state == pb.VALIDATION_STATE_RESOLVED:
            values["resolved_at"] = sa.func.now()
        if current is None:
            conn.execute(results.insert().values(fixture_id=record.fixture_id, **values))
        else:
            conn.execute(
                results.update().where(results.c.fixture_id == record.fixture_id).values(**values)
            )
        new = [o for o in record.observations if o.source_id not in record.stored_sources]
        if new:
            conn.execute(
                observations.insert(), [_observation_row(record.fixture_id, o) for o in new]
            )


def _record(row: RowMapping, found: list[pb.Observation]) -> ResultRecord:
    return ResultRecord(
        fixture_id=row["fixture_id"],
        state=_state_value(row["state"]),
        observations=tuple(found),
        result=pb.MatchResult.FromString(row["result"]) if row["result"] is not None else None,
        sources_hash=row["sources_hash"],
        resolution_note=row["resolution_note"],
        resolved_by=row["resolved_by"],
        event_pending=row["event_pending"],
        stored_sources=frozenset(o.source_id for o in found),
    )


def _observation_row(fixture_id: str, observation: pb.Observation) -> dict[str, object]:
    result = observation.result
    return {
        "fixture_id": fixture_id,
        "source_id": observation.source_id,
        "observation": canonical_bytes(observation),
        "sport": sport_pb2.Sport.Name(result.sport),
        "status": pb.ResultStatus.Name(result.status),
        "home_score": result.home_score,
        "away_score": result.away_score,
        "set_games": list(result.set_games),
        "home_half_time_score": result.home_half_time_score,
        "away_half_time_score": result.away_half_time_score,
        "observed_at": observation.observed_at.ToDatetime(tzinfo=UTC),
        "source_reference": observation.source_reference,
    }

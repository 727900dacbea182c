"""bets.outbox on PostgreSQL: the events a unit of work queued (BetSettled, BetsVoided),
claimed by one relay at a time (adapters/feeds.py, `relay_outbox`) and forgotten once published.
The units of work queue them (`PostgresBetSession.notify_settled`, `notify_voided`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from betmesh.events.v1 import events_pb2
from google.protobuf import timestamp_pb2
from sqlalchemy.engine import Connection, Engine

from service_runtime.events import Topic
from services.bets.domain.model import BetStatus
from services.bets.domain.settling import SettledNotice
from services.bets.domain.voiding import VoidedNotice


@dataclass(frozen=True)
class OutboxEntry:
    """One queued event: a settlement notice (its columns), or any topic's encoded envelope."""

    event_id: str
    topic: Topic
    envelope: bytes | None
    settled: SettledNotice | None
    # traceparent/tracestate of the span that queued it, so the event stays in its trace.
    trace_context: dict[str, str]


# How long a relay may sit on a claimed batch between statements (publishing 200 events to
# Redis takes milliseconds): past it PostgreSQL ends the claim and another relay takes over.
OUTBOX_CLAIM_IDLE_MS = 5_000


class OutboxBatch:
    """Claimed outbox entries: the claim (a transaction holding the relay's lock) ends with
    `done` (forgotten: published) or `abandon` (left queued for the next relay)."""

    def __init__(
        self, entries: list[OutboxEntry], connection: Connection, transaction: Any
    ) -> None:
        self.entries = entries
        self._connection = connection
        self._transaction = transaction

    def done(self) -> None:
        try:
            if self.entries:
                self._connection.execute(
                    sa.text("DELETE FROM bets.outbox WHERE event_id = ANY(:e)"),
                    {"e": [e.event_id for e in self.entries]},
                )
            self._transaction.commit()
        finally:
            self._connection.close()

    def abandon(self) -> None:
        try:
            self._transaction.rollback()
        finally:
            self._connection.close()


def _stamp(when: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(when)
    return out


def voided_envelope(notice: VoidedNotice) -> events_pb2.EventEnvelope:
    """Id and time fixed when queued: every publication of it is the same event."""
    voided = events_pb2.BetsVoided(
        fixture_id=notice.fixture_id, market_ids=notice.market_ids, reason=notice.reason
    )
    if notice.placed_after is not None:
        voided.placed_after.CopyFrom(_stamp(notice.placed_after))
    if notice.placed_before is not None:
        voided.placed_before.CopyFrom(_stamp(notice.placed_before))
    return events_pb2.EventEnvelope(
        event_id=notice.event_id, occurred_at=_stamp(notice.voided_at), bets_voided=voided
    )


class PostgresOutbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, limit: int) -> OutboxBatch | None:
        """The oldest queued events, in the order they were queued, claimed by this relay alone
        until the batch is done or abandoned; None while another bets process relays. One relay
        at a time keeps the queue's order on the bus and publishes nothing twice unless a relay
        dies between publishing and forgetting (consumers de-duplicate by event id)."""
        connection = self.engine.connect()
        try:
            transaction = connection.begin()
            # A relay that freezes (a stopped process, a loop that died mid-batch) must not hold
            # the outbox for ever: PostgreSQL ends a claim left idle this long, and its lock.
            connection.execute(
                sa.text(
                    f"SET LOCAL idle_in_transaction_session_timeout = '{OUTBOX_CLAIM_IDLE_MS}ms'"
                )
            )
            if not connection.execute(
                sa.text("SELECT pg_try_advisory_xact_lock(hashtext('bets.outbox'))")
            ).scalar_one():
                transaction.rollback()
                connection.close()
                return None
            rows = connection.execute(
                sa.text("SELECT * FROM bets.outbox ORDER BY id LIMIT :n"), {"n": limit}
            ).all()
        except BaseException:
            connection.close()
            raise
        entries = [
            OutboxEntry(
                event_id=r.event_id,
                topic=Topic(r.topic),
                envelope=None if r.envelope is None else bytes(r.envelope),
                settled=None
                if r.envelope is not None
                else SettledNotice(
                    r.event_id,
                    r.bet_id,
                    r.player_id,
                    BetStatus(r.status),
                    r.payout_minor,
                    r.currency,
                ),
                trace_context=dict(r.trace_context or {}),
            )
            for r in rows
        ]
        return OutboxBatch(entries, connection, transaction)

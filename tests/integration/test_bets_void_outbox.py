"""An operator's void is announced on bets.voided through the outbox: queued in the transaction
that records the void done, published by the relay (at least once, one stable event id), once
per idempotency key, and still published when the bus was unreachable at void time.

The session's database (bets caches ledger account ids per process, not per database): other
modules' bets hosts are stopped by the time these run, so only the hosts started here relay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.events.v1 import events_pb2

from service_runtime.events import Topic, stream_key
from service_runtime.postgres import migrate
from services.bets.adapters.postgres_outbox import (
    OUTBOX_CLAIM_IDLE_MS,
    OutboxBatch,
    PostgresOutbox,
)
from tests.integration.test_bets_harness import (
    OPERATOR,
    Mesh,
    eventually,
    running,
    stamp,
    uid,
)

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "bets" / "migrations"
# Nothing listens there: the bus is down for the process that voids.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def home(f: str) -> list[tuple[str, str, str, int]]:
    return [(f, f"{f}/MATCH_RESULT", "home", 20_000)]


def void_request(key: str, fixture_id: str, **fields: Any) -> pb.VoidBetsRequest:
    return pb.VoidBetsRequest(idempotency_key=key, fixture_id=fixture_id, **fields)


async def announcements(mesh: Mesh, event_id: str) -> list[events_pb2.EventEnvelope]:
    entries: Any = await mesh.bus.client.xrange(stream_key(Topic.BETS_VOIDED))
    return [
        envelope
        for envelope in (events_pb2.EventEnvelope.FromString(f[b"envelope"]) for _, f in entries)
        if envelope.event_id == event_id
    ]


async def announced(mesh: Mesh, event_id: str) -> events_pb2.EventEnvelope:
    async def published() -> bool:
        return bool(await announcements(mesh, event_id))

    await eventually(published)
    (envelope,) = await announcements(mesh, event_id)
    return envelope


@pytest.fixture(scope="module")
async def mesh(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with running(database_url, redis_url, uid("bets-void")) as m:
        yield m


async def test_a_void_is_announced_with_its_markets_window_and_a_stable_id(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=2_000), await mesh.fixture()
    after = datetime.now(UTC) - timedelta(minutes=5)
    bet = await mesh.place(p, home(f), 1_000)
    before = datetime.now(UTC) + timedelta(seconds=1)
    key = uid("void")
    answer = await mesh.stub.VoidBets(
        void_request(
            key,
            f,
            market_ids=[f"{f}/MATCH_RESULT", f"{f}/TOTAL_GOALS/225"],
            placed_after=stamp(after),
            placed_before=stamp(before),
            reason="wrong price",
        ),
        metadata=OPERATOR,
    )
    assert answer.voided_bet_count == 1
    assert (await mesh.bet(bet.bet_id)).status == pb.BET_STATUS_VOID
    envelope = await announced(mesh, f"bets:voided:{key}")
    assert envelope.producer == "betmesh.bets"
    assert envelope.HasField("occurred_at")
    voided = envelope.bets_voided
    assert voided.fixture_id == f
    assert list(voided.market_ids) == [f"{f}/MATCH_RESULT", f"{f}/TOTAL_GOALS/225"]
    assert voided.placed_after == stamp(after)
    assert voided.placed_before == stamp(before)
    assert voided.reason == "wrong price"


async def test_a_void_of_no_bets_is_still_announced_without_a_window(mesh: Mesh) -> None:
    """Partners may hold bets in the window that bets never saw: the count does not matter."""
    f = await mesh.fixture()
    key = uid("void")
    answer = await mesh.stub.VoidBets(void_request(key, f), metadata=OPERATOR)
    assert answer.voided_bet_count == 0
    voided = (await announced(mesh, f"bets:voided:{key}")).bets_voided
    assert voided.fixture_id == f
    assert not voided.market_ids
    assert not voided.HasField("placed_after") and not voided.HasField("placed_before")


async def test_a_retried_void_replays_its_answer_and_queues_nothing_more(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=2_000), await mesh.fixture()
    await mesh.place(p, home(f), 1_000)
    key = uid("void")
    request = void_request(key, f, reason="retried")
    first = await mesh.stub.VoidBets(request, metadata=OPERATOR)
    await announced(mesh, f"bets:voided:{key}")
    again = await mesh.stub.VoidBets(request, metadata=OPERATOR)
    assert again.voided_bet_count == first.voided_bet_count == 1
    # The relay publishes in the order things were queued: once a later void is on the bus,
    # anything the retry had queued would be too.
    later = uid("void")
    await mesh.stub.VoidBets(void_request(later, await mesh.fixture()), metadata=OPERATOR)
    await announced(mesh, f"bets:voided:{later}")
    assert len(await announcements(mesh, f"bets:voided:{key}")) == 1


async def claimed(outbox: PostgresOutbox, timeout: float = 15.0) -> OutboxBatch:
    """A claim, once any other relay's (a live process's) is over."""
    deadline = time.monotonic() + timeout
    while True:
        batch = await asyncio.to_thread(outbox.claim, 10)
        if batch is not None:
            return batch
        assert time.monotonic() < deadline, "the outbox stayed claimed"
        await asyncio.sleep(0.1)


async def test_one_bets_process_at_a_time_relays_the_outbox(mesh: Mesh, database_url: str) -> None:
    # `mesh`: a bets host has migrated the schema (the test also runs alone). Two bets
    # processes relaying at once would both publish every queued event (and out of order): a
    # relay claims the outbox for its batch, the other finds it claimed.
    engine = sa.create_engine(database_url)
    outbox = PostgresOutbox(engine)
    try:
        first = await claimed(outbox)
        try:
            assert await asyncio.to_thread(outbox.claim, 10) is None
        finally:
            first.abandon()
        # An abandoned claim (a relay that failed or stopped mid-batch) frees the outbox.
        (await claimed(outbox, timeout=1.0)).abandon()
        # A relay that freezes holding its claim (never done, never abandoned) loses it:
        # PostgreSQL ends the idle claim, and another relay takes over.
        frozen = await claimed(outbox)
        assert await asyncio.to_thread(outbox.claim, 10) is None
        (await claimed(outbox, timeout=OUTBOX_CLAIM_IDLE_MS / 1000 + 10)).abandon()
        with pytest.raises(sa.exc.DBAPIError):
            frozen.done()
    finally:
        engine.dispose()


async def test_a_void_made_while_the_bus_is_down_is_announced_once_the_relay_runs(
    mesh: Mesh, database_url: str, redis_url: str
) -> None:
    p, f = await mesh.player(balance=2_000), await mesh.fixture()
    bet = await mesh.place(p, home(f), 1_000)
    # No relay with a bus may run meanwhile: this module's host stops for good (this test comes
    # last), and a process whose Redis is unreachable takes the void.
    await mesh.host.stop(0)
    key = uid("void")
    async with running(database_url, UNREACHABLE_REDIS, uid("bets-down")) as down:
        answer = await down.stub.VoidBets(
            void_request(key, f, reason="bus down"), metadata=OPERATOR
        )
        assert answer.voided_bet_count == 1
        assert (await down.bet(bet.bet_id)).status == pb.BET_STATUS_VOID
    assert await announcements(mesh, f"bets:voided:{key}") == []
    # A bets process with the bus comes up: its relay publishes what the void queued.
    async with running(database_url, redis_url, uid("bets-up")) as up:
        envelope = await announced(up, f"bets:voided:{key}")
        assert (envelope.bets_voided.fixture_id, envelope.bets_voided.reason) == (f, "bus down")


def test_downgrade_to_0007_keeps_settled_notices_and_upgrade_restores_the_outbox(
    private_database_url: str,
) -> None:
    migrate(private_database_url, MIGRATIONS, "bets")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", private_database_url.replace("%", "%%"))
    config.attributes["schema"] = "bets"
    settled = sa.text(
        "INSERT INTO bets.outbox (event_id, bet_id, player_id, status, payout_minor, currency)"
        " VALUES (:e, 'b', 'p', 'WON', 2000, 'EUR')"
    )
    engine = sa.create_engine(private_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(settled, {"e": "settled-1"})
            conn.execute(
                sa.text(
                    "INSERT INTO bets.outbox (event_id, topic, envelope)"
                    " VALUES ('voided-1', 'bets.voided', '\\x00')"
                )
            )
            # A row that is neither a notice nor an envelope is refused.
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                conn.execute(
                    sa.text("INSERT INTO bets.outbox (event_id, topic) VALUES ('x', 'bets.voided')")
                )
        command.downgrade(config, "0007_stake_totals")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT event_id, status FROM bets.outbox")).all()
            assert [tuple(r) for r in rows] == [("settled-1", "WON")]
            with pytest.raises(sa.exc.IntegrityError):
                conn.execute(sa.text("INSERT INTO bets.outbox (event_id) VALUES ('y')"))
        command.upgrade(config, "head")
        with engine.begin() as conn:
            conn.execute(settled, {"e": "settled-2"})
            topics = conn.execute(sa.text("SELECT topic FROM bets.outbox ORDER BY id")).scalars()
            assert list(topics) == ["bets.settled", "bets.settled"]
    finally:
        engine.dispose()

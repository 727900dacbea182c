"""The identity sweep against real PostgreSQL and Redis, with an injected clock: a player newly
listed on the exclusion register, provisional accounts lapsing, each announced once."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from betmesh.events.v1 import events_pb2

from service_runtime import postgres
from service_runtime.events import EventPublisher, Topic, stream_key
from services.identity.adapters.announcer import EventAnnouncer
from services.identity.adapters.exclusion_file import FileExclusionRegister
from services.identity.adapters.postgres_store import SCHEMA, PostgresIdentityStore
from services.identity.app import MIGRATIONS
from services.identity.domain.players import VerifiedIdentity
from services.identity.service_layer.sweep import Sweeper

START = datetime(2026, 1, 31, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def parts(
    database_url: str, redis_url: str
) -> AsyncIterator[tuple[PostgresIdentityStore, EventAnnouncer, aioredis.Redis]]:
    postgres.migrate(database_url, MIGRATIONS, SCHEMA)
    engine = postgres.create_engine(database_url, pool_size=2)
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield (
            PostgresIdentityStore(engine),
            EventAnnouncer(EventPublisher(client, "test")),
            client,
        )
    finally:
        await client.aclose()
        engine.dispose()


async def _announced(client: aioredis.Redis, player_id: str) -> list[events_pb2.KycStatusChanged]:
    found = []
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrange(
        stream_key(Topic.KYC_STATUS_CHANGED)
    )  # type: ignore[assignment]
    for _, fields in entries:
        envelope = events_pb2.EventEnvelope.FromString(fields[b"envelope"])
        if envelope.kyc_status_changed.player_id == player_id:
            found.append(envelope.kyc_status_changed)
    return found


async def test_lapses_are_announced_once_each(
    parts: tuple[PostgresIdentityStore, EventAnnouncer, aioredis.Redis], tmp_path: Path
) -> None:
    store, announcer, client = parts
    register_file = tmp_path / "register.json"
    register_file.write_text("[]")
    clock = Clock()
    sweeper = Sweeper(store, FileExclusionRegister(register_file), announcer, clock)
    player = await store.create_provisional("Provisoire", START)
    await sweeper.sweep()
    assert await _announced(client, player.player_id) == []
    # 31 Jan + one month is 28 Feb (the month's last day).
    clock.now = datetime(2026, 2, 28, 12, tzinfo=UTC)
    await sweeper.sweep()
    await sweeper.sweep()
    assert [e.kyc_status for e in await _announced(client, player.player_id)] == [
        "KYC_STATUS_DEACTIVATED"
    ]
    clock.now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    await sweeper.sweep()
    await sweeper.sweep()
    assert [e.kyc_status for e in await _announced(client, player.player_id)] == [
        "KYC_STATUS_DEACTIVATED",
        "KYC_STATUS_CLOSED",
    ]


async def test_a_newly_listed_player_is_excluded_and_announced_once(
    parts: tuple[PostgresIdentityStore, EventAnnouncer, aioredis.Redis], tmp_path: Path
) -> None:
    store, announcer, client = parts
    register_file = tmp_path / "register.json"
    register_file.write_text("[]")
    clock = Clock()
    sweeper = Sweeper(store, FileExclusionRegister(register_file), announcer, clock, page_size=1)
    subject = f"sub-{tmp_path.name}"
    identity = VerifiedIdentity(
        subject, "Zoé Marie", f"Sweep{tmp_path.name[-8:]}", date(1990, 5, 4), "female", "", "99100"
    )
    player, _ = await store.upsert_verified(identity, "FRANCECONNECT", START)
    await sweeper.sweep()
    assert await _announced(client, player.player_id) == []
    register_file.write_text(
        json.dumps(
            [
                {
                    "family_name": identity.family_name,
                    "given_name": "Zoe",
                    "birthdate": "1990-05-04",
                }
            ]
        )
    )
    # A different mtime even on coarse-grained file systems.
    stat = register_file.stat()
    os.utime(register_file, (stat.st_atime, stat.st_mtime + 5))
    clock.now = START + timedelta(hours=1)
    report = await sweeper.sweep()
    assert report.newly_excluded >= 1
    await sweeper.sweep()
    events = await _announced(client, player.player_id)
    assert [(e.excluded, e.kyc_status) for e in events] == [(True, "KYC_STATUS_VERIFIED")]
    marked = await store.get(player.player_id)
    assert marked is not None and marked.register_excluded_at == clock.now

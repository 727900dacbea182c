"""What only the service layer's orchestration needs besides the domain's ports: the journal,
the stream registry and the producers' liveness (streams.py), feeds' and fixtures' liveness and
the repricer (handlers.py), as ports (services/live/adapters/redis_journal.py and
redis_liveness.py implement them on Redis; app.py plugs them in)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from services.live.domain.liveness import FixtureProgress, ProgressPlan
from services.live.domain.stream.book import Entry
from services.live.domain.stream.hub import Hub
from services.live.domain.stream.owner import Owner
from services.live.domain.stream.resume import Position


class JournalReader(Protocol):
    async def bootstrap(self, hub: Hub) -> None:
        """Fills the hub's book from the stored fixture states."""
        ...

    async def tail(self, hub: Hub, stopping: asyncio.Event) -> None:
        """Feeds every new journal entry to the hub until `stopping`."""
        ...

    async def last_position(self) -> Position: ...

    async def read_range(self, start: Position, end: Position) -> list[Entry]: ...

    async def never_trimmed(self) -> bool: ...


class JournalWriter(Protocol):
    async def open(self) -> bool:
        """Fixes where a new journal starts on the bus (once per journal; every process calls
        it at start). True when this call set it."""
        ...

    async def run(self, stopping: asyncio.Event) -> None:
        """Turns the bus into journal entries while this process holds the writer's lease."""
        ...

    async def resign(self) -> None: ...


class StreamRegistry(Protocol):
    """Which connection of which process holds each stream, and the way to tell it."""

    @property
    def ttl_seconds(self) -> float: ...

    @property
    def process_id(self) -> str: ...

    def owner_for(self, partner: str, connection_id: str) -> Owner: ...

    async def claim(self, stream_id: str, owner: Owner, limit: int) -> Owner | bool | None:
        """False: the partner holds `limit` streams already."""
        ...

    async def refresh(self, streams: dict[str, Owner]) -> list[str]:
        """Keeps these streams held; returns those another connection took over."""
        ...

    async def release(self, stream_id: str, owner: Owner) -> None: ...

    async def owner(self, stream_id: str) -> Owner | None: ...

    async def send_control(self, owner: Owner, stream_id: str, filter_: bytes) -> int: ...

    async def listen(
        self, on_control: Callable[[str, str, str, bytes], None], stopping: asyncio.Event
    ) -> None: ...


class StreamJournal(Protocol):
    @property
    def reader(self) -> JournalReader: ...

    @property
    def writer(self) -> JournalWriter: ...

    @property
    def registry(self) -> StreamRegistry: ...

    @property
    def unreachable(self) -> tuple[type[BaseException], ...]:
        """Failures of the store that background loops ride out (log, try again)."""
        ...

    async def epoch(self) -> str:
        """The journal's epoch, the same on every process (resume tokens name it)."""
        ...

    async def token_key(self) -> str:
        """The resume tokens' signing key when none is configured, the same on every process."""
        ...


class ProducerSeen(Protocol):
    @property
    def source(self) -> str: ...

    @property
    def last_seen_at(self) -> float: ...

    @property
    def alive(self) -> bool: ...


class Producers(Protocol):
    async def producers(self) -> Sequence[ProducerSeen]: ...


class FeedLiveness(Protocol):
    """Feeds' and fixtures' liveness (services/live/adapters/redis_liveness.py)."""

    deadline_seconds: float

    async def touch(self, source: str, fixture_ids: list[str], *, recover: bool) -> list[str]:
        """Marks the feed and fixtures heard from now; with `recover` (the domain's word: an
        event applied in sequence) ends their feed losses. Returns the fixtures it brings
        back."""
        ...

    async def progress(self, fixtures: Sequence[FixtureProgress]) -> list[ProgressPlan]:
        """Writes what the feed's last sequence for each fixture means (the domain's
        progress_plan, atomic with the fixture's state) and returns the plans, in order."""
        ...

    async def hold(self, fixture_id: str, held: bool) -> bool:
        """Sets or clears the operator's stop; True if that changed anything."""
        ...


class Reprices(Protocol):
    """The in-play repricer (services/live/service_layer/repricing.py): told a fixture moved."""

    def poke(self, fixture_id: str) -> None: ...

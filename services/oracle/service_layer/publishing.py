"""The chain publishing pass (a background task: app.py declares it): send what is due through
the chain publisher, then announce on the bus every result the chain has made final. The
publisher, its outbox and the wallet's lease are ports here (services/oracle/adapters/chain/
publisher.py, adapters/outbox.py, adapters/wallet_lease.py implement them)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.oracle.domain.results import ResultRecord, ResultStore


class FinalNotice(Protocol):
    """A result the chain reader found final, whose ResultFinalised is not on the bus yet."""

    @property
    def fixture_id(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def transaction_hash(self) -> str: ...

    @property
    def block_number(self) -> int: ...


class FinalOutbox(Protocol):
    def final_events(self) -> Sequence[FinalNotice]: ...

    def final_event_sent(self, fixture_id: str, version: int) -> None: ...


class Chain(Protocol):
    """Synchronous (web3 and psycopg2): run in a worker thread."""

    @property
    def outbox(self) -> FinalOutbox: ...

    def publish_pass(self) -> None:
        """One step: reconcile with the chain, send what is due, finalise what may be."""
        ...


class Lease(Protocol):
    def try_hold(self) -> bool:
        """True while this instance is the wallet's one sender."""
        ...


FinalEvents = Callable[[ResultRecord, FinalNotice], Awaitable[None]]


@dataclass
class Publishing:
    chain: Chain
    store: ResultStore
    # None: results are not announced on the bus.
    final_events: FinalEvents | None
    lease: Lease | None = None

    async def publish_once(self) -> None:
        """One publishing pass. A failed pass is retried by the runtime."""
        if self.lease is not None and not await asyncio.to_thread(self.lease.try_hold):
            return  # another instance is this wallet's sender
        await asyncio.to_thread(self.chain.publish_pass)
        await self.announce_final()

    async def announce_final(self) -> int:
        """ResultFinalised on the bus for every result the chain reader found final (outbox)."""
        if self.final_events is None:
            return 0
        notices = await asyncio.to_thread(self.chain.outbox.final_events)
        for notice in notices:
            record = await self.store.get(notice.fixture_id)
            if record is None:
                continue
            await self.final_events(record, notice)
            await asyncio.to_thread(
                self.chain.outbox.final_event_sent, notice.fixture_id, notice.version
            )
        return len(notices)

"""The chain publishing pass (a background task: app.py declares it): send what is due through
the chain publisher, then announce on the bus every result the chain has made final. The
publisher, its outbox and the wallet's lease are ports (service_layer/ports.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.oracle.domain.ports import ResultStore
from services.oracle.service_layer.ports import Chain, FinalEvents, Lease


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

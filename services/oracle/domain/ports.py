"""What the oracle's use cases read and write through: ports only (typing.Protocol and the
callables they are handed), implemented in adapters/ and plugged in by app.py. The ports only
the publishing pass needs are services/oracle/service_layer/ports.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from services.oracle.domain.results import ResultRecord

Change = Callable[[ResultRecord | None], ResultRecord]


class ResultStore(Protocol):
    async def apply(self, fixture_id: str, change: Change) -> ResultRecord:
        """Runs `change` on the current record under a per-fixture lock and stores its result."""
        ...

    async def get(self, fixture_id: str) -> ResultRecord | None: ...

    async def list_held(self, after_fixture_id: str, limit: int) -> list[ResultRecord]: ...

    async def pending_events(self) -> list[ResultRecord]: ...

    async def mark_event_published(self, fixture_id: str, sources_hash: str) -> None:
        """Clears the pending event only if the record still holds that result: a correction
        stored meanwhile stays pending and is announced too."""

    async def correct(
        self, fixture_id: str, change: Callable[[ResultRecord | None], tuple[ResultRecord, int]]
    ) -> ResultRecord:
        """Runs `change` under the fixture's lock; stores the corrected record and queues its
        publication at the version it returns (with an audit row)."""
        ...

    async def retry_publication(self, fixture_id: str) -> ResultRecord | None:
        """FAILED back to PENDING; None when it was not FAILED."""
        ...


ResultEvents = Callable[[ResultRecord], Awaitable[None]]

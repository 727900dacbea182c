"""What only the oracle's chain publishing pass needs (service_layer/publishing.py): the
publisher, its outbox and the wallet's lease (adapters/chain/publisher.py, adapters/outbox.py,
adapters/wallet_lease.py implement them). The store's ports: services/oracle/domain/ports.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from services.oracle.domain.results import ResultRecord


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

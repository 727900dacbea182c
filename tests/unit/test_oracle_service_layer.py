"""The oracle's service layer on an in-memory fake of its store and bus: who is told when a
result is validated (once), what a failed announcement leaves for the relay, operators' choices
and refusals, paging of held results. The same paths on real PostgreSQL, Redis and a chain:
tests/integration/test_oracle_service.py, test_oracle_publication.py, test_results_from_chain.py.
The publishing pass on an in-memory chain: its lease, and final results announced once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest
from betmesh.common.v1 import sport_pb2
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from service_runtime.auth import Principal
from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.oracle.domain.ports import Change
from services.oracle.domain.results import PublicationView, ResultRecord
from services.oracle.service_layer.commands import (
    CorrectResult,
    GetResult,
    ListHeldResults,
    ResolveHeldResult,
    RetryPublication,
    SubmitObservation,
)
from services.oracle.service_layer.handlers import OracleHandlers
from services.oracle.service_layer.ports import FinalNotice
from services.oracle.service_layer.publishing import Publishing

OPERATOR = Principal("ops", "operator")
PARTNER = Principal("partner", "partner")


@dataclass
class MemoryStore:
    """The ResultStore port in memory, applying changes the way the PostgreSQL store does."""

    records: dict[str, ResultRecord] = field(default_factory=dict)
    # Set: every stored result gets a publication view at version 1 with this status.
    publishing: str = ""

    async def apply(self, fixture_id: str, change: Change) -> ResultRecord:
        record = change(self.records.get(fixture_id))
        if self.publishing and record.result is not None and record.publication is None:
            record = replace(record, publication=PublicationView(self.publishing, 1))
        self.records[fixture_id] = record
        return record

    async def get(self, fixture_id: str) -> ResultRecord | None:
        return self.records.get(fixture_id)

    async def list_held(self, after_fixture_id: str, limit: int) -> list[ResultRecord]:
        held = sorted(
            (r for r in self.records.values() if r.state == pb.VALIDATION_STATE_HELD),
            key=lambda r: r.fixture_id,
        )
        return [r for r in held if r.fixture_id > after_fixture_id][:limit]

    async def pending_events(self) -> list[ResultRecord]:
        return [r for r in self.records.values() if r.event_pending]

    async def mark_event_published(self, fixture_id: str, sources_hash: str) -> None:
        record = self.records[fixture_id]
        if record.sources_hash == sources_hash:
            self.records[fixture_id] = replace(record, event_pending=False)

    async def correct(
        self, fixture_id: str, change: Callable[[ResultRecord | None], tuple[ResultRecord, int]]
    ) -> ResultRecord:
        record, version = change(self.records.get(fixture_id))
        record = replace(record, publication=PublicationView("PENDING", version))
        self.records[fixture_id] = record
        return record

    async def retry_publication(self, fixture_id: str) -> ResultRecord | None:
        record = self.records.get(fixture_id)
        if record is None or record.publication is None or record.publication.status != "FAILED":
            return None
        record = replace(record, publication=replace(record.publication, status="PENDING"))
        self.records[fixture_id] = record
        return record


@dataclass
class Bus:
    sent: list[str] = field(default_factory=list)
    down: bool = False

    async def __call__(self, record: ResultRecord) -> None:
        if self.down:
            raise ConnectionError("bus down")
        self.sent.append(record.fixture_id)


def result(fixture_id: str, home: int = 2, away: int = 1) -> pb.MatchResult:
    return pb.MatchResult(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_FOOTBALL,
        status=pb.RESULT_STATUS_COMPLETED,
        home_score=home,
        away_score=away,
    )


def observe(source: str, fixture_id: str, home: int = 2) -> SubmitObservation:
    return SubmitObservation(pb.Observation(source_id=source, result=result(fixture_id, home)))


def oracle(store: MemoryStore | None = None, bus: Bus | None = None) -> OracleHandlers:
    return OracleHandlers(store or MemoryStore(), 2, bus, clock=lambda: Timestamp(seconds=1_000))


async def held(handlers: OracleHandlers, fixture_id: str) -> None:
    await handlers.submit_observation(observe("feed-a", fixture_id, home=2))
    await handlers.submit_observation(observe("feed-b", fixture_id, home=3))


async def test_the_report_that_validates_a_result_announces_it_once() -> None:
    bus = Bus()
    handlers = oracle(bus=bus)
    first = await handlers.submit_observation(observe("feed-a", "fx-1"))
    assert first.record.state == pb.VALIDATION_STATE_AWAITING_SOURCES and bus.sent == []
    # Stamped with the receipt time when the source gave none.
    assert first.record.observations[0].observed_at.seconds == 1_000
    second = await handlers.submit_observation(observe("feed-b", "fx-1"))
    assert second.record.state == pb.VALIDATION_STATE_AGREED and not second.duplicate
    again = await handlers.submit_observation(observe("feed-b", "fx-1"))
    assert again.duplicate
    assert bus.sent == ["fx-1"]
    assert not (await handlers.get_result(GetResult("fx-1"))).event_pending
    assert await handlers.announce_pending() == 0


async def test_an_announcement_the_bus_refused_is_left_to_the_relay() -> None:
    bus = Bus(down=True)
    handlers = oracle(bus=bus)
    await handlers.submit_observation(observe("feed-a", "fx-1"))
    agreed = await handlers.submit_observation(observe("feed-b", "fx-1"))
    assert agreed.record.event_pending and bus.sent == []
    bus.down = False
    assert await handlers.announce_pending() == 1
    assert bus.sent == ["fx-1"]
    assert not (await handlers.get_result(GetResult("fx-1"))).event_pending


@dataclass
class SlowBus(Bus):
    """A bus whose publications wait until `opened` is set; `asked` is set by the first."""

    opened: asyncio.Event = field(default_factory=asyncio.Event)
    asked: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, record: ResultRecord) -> None:
        self.asked.set()
        await self.opened.wait()
        await super().__call__(record)


@dataclass
class StaleListStore(MemoryStore):
    """The relay's pending list is read, then the relay waits until `go` is set."""

    go: asyncio.Event = field(default_factory=asyncio.Event)

    async def pending_events(self) -> list[ResultRecord]:
        found = await super().pending_events()
        await self.go.wait()
        return found


@pytest.mark.parametrize("stale_list", [False, True])
async def test_a_relay_pass_during_the_handlers_announcement_does_not_publish_it_again(
    stale_list: bool,
) -> None:
    # The relay pass runs while the validating handler is still publishing; its list of
    # pending events is read either then and used at once, or then and used after the handler
    # has published and marked the event (stale_list).
    bus, store = SlowBus(), StaleListStore()
    handlers = oracle(store, bus)
    await handlers.submit_observation(observe("feed-a", "fx-1"))
    validating = asyncio.create_task(handlers.submit_observation(observe("feed-b", "fx-1")))
    await bus.asked.wait()  # the handler is publishing
    if not stale_list:
        store.go.set()
    relay = asyncio.create_task(handlers.announce_pending())
    for _ in range(10):
        await asyncio.sleep(0)  # the relay reads its list (and, not stale, tries to publish)
    bus.opened.set()
    await validating
    store.go.set()
    assert await relay == 0
    assert bus.sent == ["fx-1"]
    assert not (await handlers.get_result(GetResult("fx-1"))).event_pending
    assert await handlers.announce_pending() == 0


async def test_only_an_operator_resolves_a_held_result_with_an_observed_outcome() -> None:
    bus = Bus()
    handlers = oracle(bus=bus)
    await held(handlers, "fx-1")
    ask = ResolveHeldResult("fx-1", result("fx-1", 3), " feed-a misread ", PARTNER)
    with pytest.raises(PermissionDenied) as denied:
        await handlers.resolve_held_result(ask)
    assert denied.value.reason == "OPERATOR_REQUIRED"
    with pytest.raises(InvalidArgument) as unseen:
        await handlers.resolve_held_result(replace(ask, result=result("fx-1", 9), caller=OPERATOR))
    assert unseen.value.reason == "RESOLUTION_NOT_OBSERVED"
    with pytest.raises(InvalidArgument) as no_note:
        await handlers.resolve_held_result(replace(ask, note=" ", caller=OPERATOR))
    assert no_note.value.reason == "NOTE_REQUIRED"
    assert bus.sent == []
    record = await handlers.resolve_held_result(replace(ask, caller=OPERATOR))
    assert record.state == pb.VALIDATION_STATE_RESOLVED
    assert (record.resolved_by, record.resolution_note) == ("ops", "feed-a misread")
    assert record.result is not None and record.result.home_score == 3
    assert bus.sent == ["fx-1"]


async def test_held_results_page_by_fixture_id() -> None:
    handlers = oracle()
    for fixture_id in ("fx-c", "fx-a", "fx-b"):
        await held(handlers, fixture_id)
    await handlers.submit_observation(observe("feed-a", "fx-0"))  # awaiting, not held
    first = await handlers.list_held(ListHeldResults(2, ""))
    assert [r.fixture_id for r in first.records] == ["fx-a", "fx-b"]
    assert first.next_page_token
    rest = await handlers.list_held(ListHeldResults(2, first.next_page_token))
    assert [r.fixture_id for r in rest.records] == ["fx-c"] and rest.next_page_token == ""


async def test_a_missing_or_unnamed_result_is_refused() -> None:
    handlers = oracle()
    with pytest.raises(NotFound) as missing:
        await handlers.get_result(GetResult("fx-none"))
    assert missing.value.reason == "RESULT_NOT_FOUND"
    with pytest.raises(InvalidArgument) as unnamed:
        await handlers.get_result(GetResult(""))
    assert unnamed.value.reason == "FIXTURE_ID_REQUIRED"


async def test_a_correction_of_a_confirmed_result_is_the_next_version_and_is_announced() -> None:
    bus = Bus()
    handlers = oracle(MemoryStore(publishing="CONFIRMED"), bus)
    await handlers.submit_observation(observe("feed-a", "fx-1"))
    await handlers.submit_observation(observe("feed-b", "fx-1"))
    ask = CorrectResult("fx-1", result("fx-1", 0, 0), "abandoned at 0-0", OPERATOR)
    with pytest.raises(InvalidArgument) as too_long:
        await handlers.correct_result(replace(ask, note="x" * 501))
    assert too_long.value.reason == "NOTE_TOO_LONG"
    record = await handlers.correct_result(ask)
    assert record.state == pb.VALIDATION_STATE_RESOLVED
    assert record.publication is not None and record.publication.version == 2
    assert record.result is not None and record.result.home_score == 0
    assert bus.sent == ["fx-1", "fx-1"]


async def test_only_a_failed_publication_is_retried_by_an_operator() -> None:
    store = MemoryStore(publishing="FAILED")
    handlers = oracle(store)
    await handlers.submit_observation(observe("feed-a", "fx-1"))
    await handlers.submit_observation(observe("feed-b", "fx-1"))
    with pytest.raises(PermissionDenied):
        await handlers.retry_publication(RetryPublication("fx-1", "refused once", PARTNER))
    with pytest.raises(InvalidArgument) as no_note:
        await handlers.retry_publication(RetryPublication("fx-1", "", OPERATOR))
    assert no_note.value.reason == "NOTE_REQUIRED"
    retried = await handlers.retry_publication(RetryPublication("fx-1", "refused once", OPERATOR))
    assert retried.publication is not None and retried.publication.status == "PENDING"
    with pytest.raises(FailedPrecondition) as not_failed:
        await handlers.retry_publication(RetryPublication("fx-1", "again", OPERATOR))
    assert not_failed.value.reason == "PUBLICATION_NOT_FAILED"


@dataclass(frozen=True)
class Notice:
    fixture_id: str
    version: int
    transaction_hash: str = "0xabc"
    block_number: int = 7


@dataclass
class Chain:
    """The chain publisher and its outbox in memory."""

    finals: list[Notice] = field(default_factory=list)
    passes: int = 0
    sent: list[tuple[str, int]] = field(default_factory=list)

    @property
    def outbox(self) -> Chain:
        return self

    def publish_pass(self) -> None:
        self.passes += 1

    def final_events(self) -> list[Notice]:
        return [n for n in self.finals if (n.fixture_id, n.version) not in self.sent]

    def final_event_sent(self, fixture_id: str, version: int) -> None:
        self.sent.append((fixture_id, version))


@dataclass
class Lease:
    held: bool

    def try_hold(self) -> bool:
        return self.held


async def test_a_publishing_pass_announces_each_final_result_once_and_only_with_the_lease() -> None:
    store = MemoryStore(publishing="CONFIRMED")
    handlers = oracle(store)
    await handlers.submit_observation(observe("feed-a", "fx-1"))
    await handlers.submit_observation(observe("feed-b", "fx-1"))
    chain = Chain([Notice("fx-1", 1), Notice("fx-gone", 1)])
    announced: list[tuple[str, int]] = []

    async def final_events(record: ResultRecord, notice: FinalNotice) -> None:
        announced.append((record.fixture_id, notice.version))

    lease = Lease(held=False)
    publishing = Publishing(chain, store, final_events, lease)
    await publishing.publish_once()
    assert (chain.passes, announced) == (0, [])  # another instance is the sender
    lease.held = True
    await publishing.publish_once()
    await publishing.publish_once()
    assert chain.passes == 2
    # A notice for a result this store does not hold is skipped, and stays pending.
    assert announced == [("fx-1", 1)] and chain.sent == [("fx-1", 1)]

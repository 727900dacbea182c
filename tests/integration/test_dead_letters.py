"""Dead letters against real Redis and a real gRPC server: a poison event is retried with back-off,
lands in the dead-letter stream after N attempts (acknowledged, so it stops looping), and an
operator lists it, requeues it once the cause is fixed (it is then handled), or discards it."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import grpc
import pytest
import redis.asyncio as aioredis
from betmesh.bets.v1 import dead_letter_service_pb2 as pb
from betmesh.bets.v1 import dead_letter_service_pb2_grpc
from betmesh.events.v1 import events_pb2

from service_runtime.dead_letters import DeadLetterPolicy, DeadLetterStore
from service_runtime.events import EventConsumer, EventPublisher, Topic, stream_key
from service_runtime.server import Registration, ServiceHost
from services.bets.dead_letter_servicer import DeadLetterServicer
from tests.support.grpc_helpers import local_server_settings, rpc_error

TOPIC = Topic.RESULT_FINALISED
MAX_ATTEMPTS = 3


class Handler:
    """Fails on fixture ids it is told are poison (until fixed); records what it handled."""

    def __init__(self) -> None:
        self.poison: set[str] = set()
        self.attempts: dict[str, int] = {}
        self.handled: list[str] = []

    async def __call__(self, envelope: events_pb2.EventEnvelope) -> None:
        fixture_id = envelope.result_finalised.fixture_id
        self.attempts[fixture_id] = self.attempts.get(fixture_id, 0) + 1
        if fixture_id in self.poison:
            raise ValueError(f"A string literal cannot contain NUL: {fixture_id!r}" * 100)
        self.handled.append(fixture_id)


@dataclass
class Bus:
    client: aioredis.Redis
    publisher: EventPublisher
    consumer: EventConsumer
    handler: Handler
    stub: dead_letter_service_pb2_grpc.DeadLetterServiceStub
    store: DeadLetterStore


@pytest.fixture
async def bus(redis_url: str) -> AsyncIterator[Bus]:
    client = aioredis.Redis.from_url(redis_url)
    await client.delete(stream_key(TOPIC), DeadLetterStore(client).stream)
    handler = Handler()
    consumer = EventConsumer(
        client,
        TOPIC,
        f"test-dead-{uuid.uuid4().hex[:8]}",
        "c1",
        handler,
        block_ms=50,
        start_from="$",
        policy=DeadLetterPolicy(
            max_attempts=MAX_ATTEMPTS, backoff_base_seconds=0.05, backoff_max_seconds=0.2
        ),
    )
    await consumer.ensure_group()
    store = DeadLetterStore(client)
    servicer = DeadLetterServicer(store)
    host = ServiceHost(
        "betmesh.test",
        local_server_settings(),
        [
            Registration(
                "betmesh.bets.v1.DeadLetterService",
                lambda s: dead_letter_service_pb2_grpc.add_DeadLetterServiceServicer_to_server(
                    servicer, s
                ),
            )
        ],
    )
    await host.start()
    running = asyncio.create_task(consumer.run())
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{host.port}")
    try:
        yield Bus(
            client,
            EventPublisher(client, "betmesh.test"),
            consumer,
            handler,
            dead_letter_service_pb2_grpc.DeadLetterServiceStub(channel),
            store,
        )
    finally:
        consumer.stop()
        await asyncio.wait_for(running, 5)
        await channel.close()
        await host.stop(0)
        await client.delete(stream_key(TOPIC), store.stream)
        await client.aclose()


def result(fixture_id: str) -> events_pb2.EventEnvelope:
    return events_pb2.EventEnvelope(
        result_finalised=events_pb2.ResultFinalised(
            fixture_id=fixture_id, home_score=2, away_score=1, version=1
        )
    )


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def dead_letters(bus: Bus) -> pb.ListDeadLettersResponse:
    response: pb.ListDeadLettersResponse = await bus.stub.ListDeadLetters(
        pb.ListDeadLettersRequest(), timeout=5
    )
    return response


async def test_a_poison_event_is_dead_lettered_after_n_attempts_then_requeued_once_fixed(
    bus: Bus,
) -> None:
    bus.handler.poison.add("fx\0nul")
    event_id = await bus.publisher.publish(TOPIC, result("fx\0nul"))
    await bus.publisher.publish(TOPIC, result("fx-healthy"))

    async def buried() -> bool:
        return (await dead_letters(bus)).total_count == 1

    await eventually(buried)
    listed = await dead_letters(bus)
    (letter,) = listed.dead_letters
    assert letter.event_id == event_id and letter.topic == TOPIC.value
    assert letter.consumer_group == bus.consumer.group
    assert letter.attempts == MAX_ATTEMPTS and letter.reason == "HANDLER_FAILED"
    assert letter.error.startswith("ValueError: A string literal cannot contain NUL")
    assert len(letter.error) <= 512  # the handler's 5 KB message, bounded
    assert letter.payload_type == "result_finalised"
    assert events_pb2.EventEnvelope.FromString(letter.envelope).event_id == event_id
    # Exactly N attempts, then no more: it no longer loops. The healthy event passed it by.
    await asyncio.sleep(0.5)
    assert bus.handler.attempts["fx\0nul"] == MAX_ATTEMPTS
    assert bus.handler.handled == ["fx-healthy"]
    pending = await bus.client.xpending(stream_key(TOPIC), bus.consumer.group)
    assert pending["pending"] == 0
    assert not await bus.client.hlen(bus.consumer.attempts_key)

    # The fix ships; the operator requeues: the group that failed handles it, once.
    bus.handler.poison.clear()
    requeued = await bus.stub.RequeueDeadLetter(
        pb.RequeueDeadLetterRequest(dead_letter_id=letter.dead_letter_id), timeout=5
    )
    assert requeued.stream_entry_id

    async def handled() -> bool:
        return "fx\0nul" in bus.handler.handled

    await eventually(handled)
    assert (await dead_letters(bus)).total_count == 0
    # Requeued once: a second requeue of the same dead letter finds nothing.
    code, info, _ = await rpc_error(
        lambda: bus.stub.RequeueDeadLetter(
            pb.RequeueDeadLetterRequest(dead_letter_id=letter.dead_letter_id), timeout=5
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert info is not None and info.reason == "DEAD_LETTER_NOT_FOUND"


async def test_a_dead_letter_can_be_discarded_and_undecodable_entries_go_at_once(
    bus: Bus,
) -> None:
    bus.handler.poison.add("fx-poison")
    await bus.publisher.publish(TOPIC, result("fx-poison"))
    # An entry no consumer can decode: retrying cannot help, so it is not retried.
    await bus.client.xadd(stream_key(TOPIC), {"envelope": b"\xff\xff\xff", "type": "junk"})

    async def both() -> bool:
        return (await dead_letters(bus)).total_count == 2

    await eventually(both)
    letters = {d.reason: d for d in (await dead_letters(bus)).dead_letters}
    assert letters["EVENT_UNDECODABLE"].attempts == 1
    assert letters["HANDLER_FAILED"].attempts == MAX_ATTEMPTS

    # Pages: one at a time, in order, the token carrying on.
    first = await bus.stub.ListDeadLetters(pb.ListDeadLettersRequest(page_size=1), timeout=5)
    assert len(first.dead_letters) == 1 and first.next_page_token
    second = await bus.stub.ListDeadLetters(
        pb.ListDeadLettersRequest(page_size=1, page_token=first.next_page_token), timeout=5
    )
    assert len(second.dead_letters) == 1 and not second.next_page_token
    only = await bus.stub.ListDeadLetters(pb.ListDeadLettersRequest(topic=TOPIC.value), timeout=5)
    assert len(only.dead_letters) == 2
    none = await bus.stub.ListDeadLetters(
        pb.ListDeadLettersRequest(topic=Topic.KYC_STATUS_CHANGED.value), timeout=5
    )
    assert not none.dead_letters

    for letter in letters.values():
        await bus.stub.DiscardDeadLetter(
            pb.DiscardDeadLetterRequest(dead_letter_id=letter.dead_letter_id), timeout=5
        )
    assert (await dead_letters(bus)).total_count == 0
    await asyncio.sleep(0.3)
    assert bus.handler.attempts["fx-poison"] == MAX_ATTEMPTS  # discarded: never handled again


async def test_operator_mistakes_are_invalid_argument_or_not_found(bus: Bus) -> None:
    for request in (
        pb.ListDeadLettersRequest(page_token="9223372036854775808"),
        pb.ListDeadLettersRequest(page_token="1-0\0"),
        pb.ListDeadLettersRequest(page_token="1-0\n"),
        pb.ListDeadLettersRequest(page_token="99999999999999999999-0"),
        pb.ListDeadLettersRequest(page_size=501),
        pb.ListDeadLettersRequest(topic="no.such.topic" * 1000),
    ):
        code, info, status = await rpc_error(functools.partial(bus.stub.ListDeadLetters, request))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, request
        assert status is not None and len(status.message) <= 512
    for bad in ("", "x" * 1_000, "1-0-0", "-", "0-99999999999999999999"):
        discard = pb.DiscardDeadLetterRequest(dead_letter_id=bad)
        code, _, _ = await rpc_error(functools.partial(bus.stub.DiscardDeadLetter, discard))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
    code, info, _ = await rpc_error(
        lambda: bus.stub.DiscardDeadLetter(pb.DiscardDeadLetterRequest(dead_letter_id="1-0"))
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert info is not None and info.reason == "DEAD_LETTER_NOT_FOUND"

"""The poison event of the hostile-input report, against the real bets host (PostgreSQL, Redis):
a result for a fixture id with a NUL byte (no PostgreSQL string can hold it) is retried a
bounded number of times, dead-lettered, and no longer holds up the stream; the operator sees it
through the DeadLetterService that bets hosts, and discards it."""

from __future__ import annotations

import grpc
from betmesh.bets.v1 import dead_letter_service_pb2 as dl
from betmesh.bets.v1 import dead_letter_service_pb2_grpc

from tests.integration.test_bets_harness import GROUP, OPERATOR, eventually, running, uid

ATTEMPTS = "3"


async def find(
    stub: dead_letter_service_pb2_grpc.DeadLetterServiceStub, event_id: str
) -> dl.DeadLetter | None:
    token = ""
    while True:
        page = await stub.ListDeadLetters(
            dl.ListDeadLettersRequest(topic="results.finalised", page_size=500, page_token=token),
            metadata=OPERATOR,
            timeout=10,
        )
        letter: dl.DeadLetter
        for letter in page.dead_letters:
            if letter.event_id == event_id:
                return letter
        if not page.next_page_token:
            return None
        token = page.next_page_token


async def test_a_result_no_database_accepts_is_dead_lettered_not_retried_for_ever(
    database_url: str, redis_url: str
) -> None:
    async with running(
        database_url,
        redis_url,
        uid("dead"),
        BETMESH_EVENT_MAX_ATTEMPTS=ATTEMPTS,
        BETMESH_EVENT_RETRY_BACKOFF_SECONDS="0.05",
    ) as mesh:
        stub = dead_letter_service_pb2_grpc.DeadLetterServiceStub(mesh.channel)
        poison = uid("ev")
        await mesh.bus.result("fx\0nul", 2, 1, event_id=poison, wait=False)
        found: list[dl.DeadLetter] = []

        async def buried() -> bool:
            letter = await find(stub, poison)
            if letter is not None:
                found.append(letter)
            return letter is not None

        await eventually(buried, timeout=30)
        letter = found[0]
        assert letter.attempts == int(ATTEMPTS) and letter.reason == "HANDLER_FAILED"
        assert letter.consumer_group == GROUP and letter.payload_type == "result_finalised"
        assert "NUL" in letter.error and len(letter.error) <= 512

        # The stream is not held up: a later result is handled, and nothing stays pending
        # (Bus.publish waits until the group has delivered it with no entry pending).
        player, fixture = await mesh.player(balance=1_000), await mesh.fixture()
        assert player and fixture
        await mesh.bus.result(fixture, 1, 0)

        await stub.DiscardDeadLetter(
            dl.DiscardDeadLetterRequest(dead_letter_id=letter.dead_letter_id),
            metadata=OPERATOR,
            timeout=10,
        )
        assert await find(stub, poison) is None
        try:
            await stub.DiscardDeadLetter(
                dl.DiscardDeadLetterRequest(dead_letter_id=letter.dead_letter_id),
                metadata=OPERATOR,
                timeout=10,
            )
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.NOT_FOUND
        else:
            raise AssertionError("a discarded dead letter was discarded again")

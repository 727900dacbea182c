"""OracleService through gRPC on real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass

import grpc
import pytest
import redis.asyncio as aioredis
from betmesh.common.v1 import sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from betmesh.oracle.v1 import oracle_service_pb2_grpc
from grpc_status import rpc_status

from service_runtime.auth import Principal
from service_runtime.errors import error_info
from service_runtime.events import Topic, stream_key
from service_runtime.server import ServiceHost
from services.identity.domain.clients import Client, ClientRegistry, ClientRole
from services.identity.domain.keys import KeyRing, SigningKey
from services.identity.domain.tokens import TokenIssuer, TokenRequest
from services.identity.domain.verifier import TokenVerifier
from services.oracle.app import build
from services.oracle.settings import OracleSettings

Stub = oracle_service_pb2_grpc.OracleServiceStub
AUDIENCE = "betmesh.oracle"


class BearerAuthenticator:
    """Stands in for the shared authenticating interceptor: the identity verifier on the
    Authorization header, no header -> anonymous."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier

    async def authenticate(self, method: str, metadata: Mapping[str, str]) -> Principal | None:
        header = metadata.get("authorization", "")
        return self.verifier.verify(header.removeprefix("Bearer ")) if header else None


@dataclass
class Mesh:
    stub: Stub
    tokens: TokenIssuer
    redis: aioredis.Redis

    def bearer(self, client_id: str) -> tuple[tuple[str, str]]:
        token = self.tokens.issue(TokenRequest(client_id, client_id + "-secret", AUDIENCE)).token
        return (("authorization", f"Bearer {token}"),)


def _clients() -> ClientRegistry:
    return ClientRegistry(
        [
            Client(
                name,
                hashlib.sha256(f"{name}-secret".encode()).digest(),
                role,
                frozenset({AUDIENCE}),
            )
            for name, role in (("ops", ClientRole.OPERATOR), ("partner", ClientRole.PARTNER))
        ]
    )


def _settings(database_url: str, redis_url: str | None) -> OracleSettings:
    env = {
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_PORT": "0",
        "BETMESH_DATABASE_URL": database_url,
        "BETMESH_ORACLE_RPC_URLS": "http://127.0.0.1:8545",
        # The relay's first pass runs at start; later passes are not needed by these tests.
        "BETMESH_ORACLE_EVENT_RELAY_INTERVAL_SECONDS": "3600",
    }
    if redis_url:
        env["BETMESH_REDIS_URL"] = redis_url
    return OracleSettings.from_env(env)


async def _serve(
    settings: OracleSettings, keys: KeyRing
) -> tuple[ServiceHost, grpc.aio.Channel, Stub]:
    verifier = TokenVerifier(keys.public_jwks(), issuer="test-issuer", audience=AUDIENCE)
    host = await build(settings, authenticator=BearerAuthenticator(verifier))
    port = await host.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    return host, channel, oracle_service_pb2_grpc.OracleServiceStub(channel)


@pytest.fixture(scope="module")
async def mesh(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    keys = KeyRing(SigningKey.generate())
    host, channel, stub = await _serve(_settings(database_url, redis_url), keys)
    client = aioredis.from_url(redis_url)
    try:
        yield Mesh(stub, TokenIssuer(_clients(), keys, "test-issuer", 300), client)
    finally:
        await client.aclose()
        await channel.close()
        await host.stop(0)


def fixture_id() -> str:
    return f"fx-{uuid.uuid4().hex[:12]}"


def match(fixture: str, home: int = 2, away: int = 1, **extra: object) -> pb.MatchResult:
    fields: dict[str, object] = {
        "fixture_id": fixture,
        "sport": sport_pb2.SPORT_FOOTBALL,
        "status": pb.RESULT_STATUS_COMPLETED,
        "home_score": home,
        "away_score": away,
        "home_half_time_score": 1,
        "away_half_time_score": 1,
        **extra,
    }
    return pb.MatchResult(**fields)  # type: ignore[arg-type]


async def observe(stub: Stub, source: str, result: pb.MatchResult) -> pb.SubmitObservationResponse:
    response: pb.SubmitObservationResponse = await stub.SubmitObservation(
        pb.SubmitObservationRequest(
            observation=pb.Observation(
                source_id=source, result=result, source_reference=f"{source}/1"
            )
        )
    )
    return response


async def refusal(call: Awaitable[object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    info = error_info(rpc_status.from_call(caught.value))  # type: ignore[arg-type]
    assert info is not None, caught.value
    return caught.value.code(), info.reason


async def validated_events(client: aioredis.Redis, fixture: str) -> list[events_pb2.EventEnvelope]:
    found = []
    for _, fields in await client.xrange(stream_key(Topic.RESULT_VALIDATED)) or []:
        assert fields is not None
        data = fields[b"envelope"]
        assert isinstance(data, bytes)
        envelope = events_pb2.EventEnvelope.FromString(data)
        if envelope.result_validated.fixture_id == fixture:
            found.append(envelope)
    return found


async def test_two_agreeing_sources_validate_and_announce(mesh: Mesh) -> None:
    fixture = fixture_id()
    first = await observe(mesh.stub, "stats-feed", match(fixture))
    assert first.result.state == pb.VALIDATION_STATE_AWAITING_SOURCES
    assert not first.duplicate
    assert first.result.sources_hash == ""
    assert first.result.observations[0].HasField("observed_at")  # stamped on receipt
    assert await validated_events(mesh.redis, fixture) == []

    second = await observe(mesh.stub, "simulator", match(fixture))
    result = second.result
    assert result.state == pb.VALIDATION_STATE_AGREED
    assert result.result == match(fixture)
    assert [o.source_id for o in result.observations] == ["simulator", "stats-feed"]
    assert result.publication.status == pb.PUBLICATION_STATUS_NOT_PUBLISHED
    recomputed = hashlib.sha256(
        pb.ValidatedResult(observations=result.observations).SerializeToString(deterministic=True)
    ).hexdigest()
    assert result.sources_hash == "sha256:" + recomputed

    stored = await mesh.stub.GetResult(pb.GetResultRequest(fixture_id=fixture))
    assert stored.result == result

    (event,) = await validated_events(mesh.redis, fixture)
    assert event.producer == "betmesh.oracle"
    assert event.result_validated == events_pb2.ResultValidated(
        fixture_id=fixture,
        home_score=2,
        away_score=1,
        status="RESULT_STATUS_COMPLETED",
        sources_hash=result.sources_hash,
    )


async def test_resubmission_is_a_duplicate_and_changes_nothing(mesh: Mesh) -> None:
    fixture = fixture_id()
    await observe(mesh.stub, "a", match(fixture))
    agreed = await observe(mesh.stub, "b", match(fixture))
    again = await observe(mesh.stub, "a", match(fixture))
    assert again.duplicate
    assert again.result == agreed.result
    assert len(await validated_events(mesh.redis, fixture)) == 1


async def test_a_source_changing_its_result_is_a_conflict(mesh: Mesh) -> None:
    fixture = fixture_id()
    await observe(mesh.stub, "a", match(fixture))
    code_reason = await refusal(observe(mesh.stub, "a", match(fixture, home=3)))
    assert code_reason == (grpc.StatusCode.FAILED_PRECONDITION, "OBSERVATION_CONFLICT")
    stored = await mesh.stub.GetResult(pb.GetResultRequest(fixture_id=fixture))
    assert [o.result.home_score for o in stored.result.observations] == [2]


async def test_disagreement_is_held_then_resolved_by_an_operator(mesh: Mesh) -> None:
    fixture = fixture_id()
    await observe(mesh.stub, "a", match(fixture))
    held = await observe(mesh.stub, "b", match(fixture, home=3))
    assert held.result.state == pb.VALIDATION_STATE_HELD
    assert not held.result.HasField("result")
    assert len(held.result.observations) == 2
    assert await validated_events(mesh.redis, fixture) == []

    request = pb.ResolveHeldResultRequest(
        fixture_id=fixture, result=match(fixture), note="video review"
    )
    assert await refusal(mesh.stub.ResolveHeldResult(request)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "OPERATOR_REQUIRED",
    )
    assert await refusal(mesh.stub.ResolveHeldResult(request, metadata=mesh.bearer("partner"))) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "OPERATOR_REQUIRED",
    )
    assert await refusal(
        mesh.stub.ResolveHeldResult(request, metadata=(("authorization", "Bearer x.y.z"),))
    ) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MALFORMED")

    ops = mesh.bearer("ops")
    unobserved = pb.ResolveHeldResultRequest(
        fixture_id=fixture, result=match(fixture, home=4), note="n"
    )
    assert await refusal(mesh.stub.ResolveHeldResult(unobserved, metadata=ops)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "RESOLUTION_NOT_OBSERVED",
    )
    no_note = pb.ResolveHeldResultRequest(fixture_id=fixture, result=match(fixture), note="  ")
    assert await refusal(mesh.stub.ResolveHeldResult(no_note, metadata=ops)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "NOTE_REQUIRED",
    )
    no_result = pb.ResolveHeldResultRequest(fixture_id=fixture, note="n")
    assert await refusal(mesh.stub.ResolveHeldResult(no_result, metadata=ops)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "RESULT_REQUIRED",
    )
    other = pb.ResolveHeldResultRequest(fixture_id=fixture, result=match("fx-other"), note="n")
    assert await refusal(mesh.stub.ResolveHeldResult(other, metadata=ops)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "FIXTURE_MISMATCH",
    )

    # The operator may leave result.fixture_id empty: it is the request's.
    chosen = match(fixture)
    chosen.fixture_id = ""
    resolved = await mesh.stub.ResolveHeldResult(
        pb.ResolveHeldResultRequest(fixture_id=fixture, result=chosen, note="video review"),
        metadata=ops,
    )
    assert resolved.result.state == pb.VALIDATION_STATE_RESOLVED
    assert resolved.result.result == match(fixture)
    backing = [o for o in held.result.observations if o.source_id == "a"]
    assert (
        resolved.result.sources_hash
        == "sha256:"
        + hashlib.sha256(
            pb.ValidatedResult(observations=backing).SerializeToString(deterministic=True)
        ).hexdigest()
    )
    (event,) = await validated_events(mesh.redis, fixture)
    assert event.result_validated.sources_hash == resolved.result.sources_hash

    again = pb.ResolveHeldResultRequest(fixture_id=fixture, result=match(fixture), note="again")
    assert await refusal(mesh.stub.ResolveHeldResult(again, metadata=ops)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "RESULT_NOT_HELD",
    )
    unknown = pb.ResolveHeldResultRequest(fixture_id=fixture_id(), result=match("x"), note="n")
    unknown.result.fixture_id = unknown.fixture_id
    assert await refusal(mesh.stub.ResolveHeldResult(unknown, metadata=ops)) == (
        grpc.StatusCode.NOT_FOUND,
        "RESULT_NOT_FOUND",
    )


async def test_held_results_are_listed_in_pages(mesh: Mesh) -> None:
    mine = sorted(f"held-{uuid.uuid4().hex[:8]}-{i}" for i in range(3))
    for fixture in mine:
        await observe(mesh.stub, "a", match(fixture))
        await observe(mesh.stub, "b", match(fixture, status=pb.RESULT_STATUS_ABANDONED))
    agreed = fixture_id()
    await observe(mesh.stub, "a", match(agreed))
    await observe(mesh.stub, "b", match(agreed))

    listed: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await mesh.stub.ListHeldResults(
            pb.ListHeldResultsRequest(page_size=2, page_token=token)
        )
        assert len(page.results) <= 2
        assert all(r.state == pb.VALIDATION_STATE_HELD for r in page.results)
        listed.extend(r.fixture_id for r in page.results)
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages >= 2
    assert listed == sorted(listed)
    assert set(mine) <= set(listed)
    assert agreed not in listed
    assert await refusal(
        mesh.stub.ListHeldResults(pb.ListHeldResultsRequest(page_token="%%%"))
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST_FIELDS")
    assert await refusal(
        mesh.stub.ListHeldResults(pb.ListHeldResultsRequest(page_token="bm9wZQ"))
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID")


@pytest.mark.parametrize(
    ("observation", "reason"),
    [
        (None, "OBSERVATION_REQUIRED"),
        (pb.Observation(result=match("fx-bad")), "SOURCE_ID_REQUIRED"),
        (pb.Observation(source_id="a", result=match("")), "FIXTURE_ID_REQUIRED"),
        (pb.Observation(source_id="a", result=match("fx-bad", status=0)), "STATUS_REQUIRED"),
        (pb.Observation(source_id="a", result=match("fx-bad", sport=0)), "SPORT_REQUIRED"),
        (
            pb.Observation(source_id="a", result=match("fx-bad", set_games=[6, 4, 6])),
            "SET_GAMES_INVALID",
        ),
        (
            pb.Observation(source_id="a", result=match("fx-bad", home=4_000_000_000)),
            "INVALID_REQUEST_FIELDS",  # the contract bounds scores (buf.validate)
        ),
    ],
)
async def test_bad_observations(
    mesh: Mesh, observation: pb.Observation | None, reason: str
) -> None:
    request = pb.SubmitObservationRequest(observation=observation)
    assert await refusal(mesh.stub.SubmitObservation(request)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        reason,
    )


async def test_unknown_fixture(mesh: Mesh) -> None:
    assert await refusal(mesh.stub.GetResult(pb.GetResultRequest(fixture_id=fixture_id()))) == (
        grpc.StatusCode.NOT_FOUND,
        "RESULT_NOT_FOUND",
    )
    assert await refusal(mesh.stub.GetResult(pb.GetResultRequest())) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "FIXTURE_ID_REQUIRED",
    )


async def test_results_survive_a_restart_and_unsent_events_go_out(
    database_url: str, redis_url: str
) -> None:
    """Without Redis the result is still validated and its event waits in the outbox; the next
    instance with a bus announces it at start."""
    keys = KeyRing(SigningKey.generate())
    fixture = fixture_id()
    host, channel, stub = await _serve(_settings(database_url, None), keys)
    try:
        await observe(stub, "a", match(fixture, home=0, away=0))
        agreed = await observe(stub, "b", match(fixture, home=0, away=0))
        assert agreed.result.state == pb.VALIDATION_STATE_AGREED
    finally:
        await channel.close()
        await host.stop(0)

    client = aioredis.from_url(redis_url)
    host, channel, stub = await _serve(_settings(database_url, redis_url), keys)
    try:
        stored = await stub.GetResult(pb.GetResultRequest(fixture_id=fixture))
        assert stored.result == agreed.result
        events: list[events_pb2.EventEnvelope] = []
        for _ in range(100):
            events = await validated_events(client, fixture)
            if events:
                break
            await asyncio.sleep(0.05)
        assert [e.result_validated.sources_hash for e in events] == [agreed.result.sources_hash]
    finally:
        await client.aclose()
        await channel.close()
        await host.stop(0)


async def test_simultaneous_reports_are_evaluated_one_after_the_other(mesh: Mesh) -> None:
    fixtures = [fixture_id() for _ in range(4)]
    responses = await asyncio.gather(
        *(observe(mesh.stub, source, match(f)) for f in fixtures for source in ("a", "b", "c"))
    )
    for fixture in fixtures:
        states = sorted(r.result.state for r in responses if r.result.fixture_id == fixture)
        # Exactly one of the three saw the first report alone; the others saw agreement.
        assert states.count(pb.VALIDATION_STATE_AWAITING_SOURCES) == 1
        stored = await mesh.stub.GetResult(pb.GetResultRequest(fixture_id=fixture))
        assert stored.result.state == pb.VALIDATION_STATE_AGREED
        assert len(stored.result.observations) == 3
        assert len(await validated_events(mesh.redis, fixture)) == 1

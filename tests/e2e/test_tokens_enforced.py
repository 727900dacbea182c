"""Tokens enforced across the mesh the launcher runs (its default): every kind of service refuses
a call without a token, with an expired one, one signed by another key or one for another
service; a player cannot call operator RPCs; health and reflection stay open; and the gateway's
calls to the replicas carry its own service token, which the replicas see."""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from betmesh.bets.v1 import bet_service_pb2, bet_service_pb2_grpc
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gateway_grpc
from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc
from betmesh.live.v1 import live_odds_service_pb2, live_odds_service_pb2_grpc
from betmesh.oracle.v1 import oracle_service_pb2, oracle_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from joserfc import jwt
from joserfc.jwk import ECKey

from service_runtime.errors import error_info, status_from_metadata

from .auth import Operator
from .launcher_process import Launcher, processes_of, wait_gone
from .otlp_receiver import OtlpReceiver, ReceivedSpan

pytestmark = pytest.mark.e2e

ISSUER = "betmesh-identity"  # the launcher's (and the services') default


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[ECKey, Path]:
    """Identity's key, made by the test, so that it can forge tokens identity would sign."""
    key = ECKey.generate_key("P-256")
    path = tmp_path_factory.mktemp("identity-key") / "signing.pem"
    path.write_bytes(key.as_pem(private=True))
    os.chmod(path, 0o600)
    return key, path


@pytest.fixture(scope="module")
def mesh(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    redis_url: str,
    otlp_receiver: OtlpReceiver,
    signing_key: tuple[ECKey, Path],
) -> Iterator[Launcher]:
    launcher = Launcher(
        tmp_path_factory.mktemp("tokens-mesh"),
        [
            "up",
            "--quiet",
            "--replicas",
            "1",
            "--database-url",
            database_url,
            "--redis-url",
            redis_url,
            "--otlp-endpoint",
            otlp_receiver.endpoint,
        ],
        env={"BETMESH_IDENTITY_SIGNING_KEY_FILE": str(signing_key[1])},
    )
    launcher.start()
    yield launcher
    launcher.stop()
    left = wait_gone(processes_of(launcher.pid), 15)
    for pid in left:
        os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class Target:
    """One RPC of one kind of service, callable with any metadata."""

    instance: str
    audience: str
    call: Callable[[grpc.Channel, list[tuple[str, str]]], Any]


def _quotes(channel: grpc.Channel, metadata: list[tuple[str, str]]) -> Any:
    return quote_service_pb2_grpc.QuoteServiceStub(channel).ListModelSnapshots(
        quote_service_pb2.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_FOOTBALL),
        timeout=10,
        metadata=metadata,
    )


def _gateway(channel: grpc.Channel, metadata: list[tuple[str, str]]) -> Any:
    return gateway_grpc.ConsensusGatewayServiceStub(channel).ListReplicaSets(
        gateway_pb2.ListReplicaSetsRequest(), timeout=10, metadata=metadata
    )


def _bets(channel: grpc.Channel, metadata: list[tuple[str, str]]) -> Any:
    return bet_service_pb2_grpc.BetServiceStub(channel).GetWallet(
        bet_service_pb2.GetWalletRequest(player_id="tokens-e2e-player"),
        timeout=10,
        metadata=metadata,
    )


def _live(channel: grpc.Channel, metadata: list[tuple[str, str]]) -> Any:
    return live_odds_service_pb2_grpc.LiveOddsServiceStub(channel).GetGameState(
        live_odds_service_pb2.GetGameStateRequest(fixture_id="tokens-e2e-fixture"),
        timeout=10,
        metadata=metadata,
    )


def _oracle(channel: grpc.Channel, metadata: list[tuple[str, str]]) -> Any:
    return oracle_service_pb2_grpc.OracleServiceStub(channel).ListHeldResults(
        oracle_service_pb2.ListHeldResultsRequest(), timeout=10, metadata=metadata
    )


TARGETS = [
    Target("quotes-football-1", "betmesh.quotes", _quotes),
    Target("gateway", "betmesh.gateway", _gateway),
    Target("bets", "betmesh.bets", _bets),
    Target("live", "betmesh.live", _live),
    Target("oracle", "betmesh.oracle", _oracle),
]


def outcome(
    address: str, call: Callable[[grpc.Channel, list[tuple[str, str]]], Any], token: str | None
) -> tuple[grpc.StatusCode, str]:
    """The call's status code and ErrorInfo reason ("" when none)."""
    metadata = [("authorization", f"Bearer {token}")] if token is not None else []
    with grpc.insecure_channel(address) as channel:
        try:
            call(channel, metadata)
        except grpc.RpcError as exc:
            assert isinstance(exc, grpc.Call)
            info = error_info(status_from_metadata(exc.trailing_metadata()))
            return exc.code(), info.reason if info is not None else ""
    return grpc.StatusCode.OK, ""


def forged(key: ECKey, audience: str, kid: str, **changes: Any) -> str:
    """An access token as identity would make it, signed with `key` under `kid`."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": audience,
        "sub": "forger",
        "role": "operator",
        "scope": "",
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_hex(8),
    }
    claims.update(changes)
    header = {"typ": "at+jwt", "alg": "ES256", "kid": kid}
    return jwt.encode(header, claims, key)


@pytest.mark.parametrize("target", TARGETS, ids=[t.instance for t in TARGETS])
def test_every_kind_of_service_refuses_bad_tokens_and_admits_a_good_one(
    mesh: Launcher, operator: Operator, signing_key: tuple[ECKey, Path], target: Target
) -> None:
    key, _ = signing_key
    kid = key.thumbprint()
    address = mesh.addresses[target.instance]
    past = int(time.time()) - 3600
    other = "betmesh.oracle" if target.audience != "betmesh.oracle" else "betmesh.bets"
    refusals = {
        "missing": (None, "TOKEN_MISSING"),
        "expired": (
            forged(key, target.audience, kid=kid, iat=past, exp=past + 300),
            "TOKEN_EXPIRED",
        ),
        "another key": (
            forged(ECKey.generate_key("P-256"), target.audience, kid=kid),
            "TOKEN_SIGNATURE_INVALID",
        ),
        "another audience": (operator.token(other), "TOKEN_AUDIENCE_INVALID"),
    }
    for case, (token, reason) in refusals.items():
        assert outcome(address, target.call, token) == (
            grpc.StatusCode.UNAUTHENTICATED,
            reason,
        ), case
    # The real key's own token, and identity's, both pass authentication.
    for token in (forged(key, target.audience, kid=kid), operator.token(target.audience)):
        code, _ = outcome(address, target.call, token)
        assert code not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


def test_a_player_token_is_refused_on_operator_rpcs(mesh: Launcher) -> None:
    with grpc.insecure_channel(mesh.addresses["identity"]) as channel:
        registered = identity_service_pb2_grpc.IdentityServiceStub(channel).RegisterPlayer(
            identity_service_pb2.RegisterPlayerRequest(display_name="Token test"), timeout=10
        )
    player = registered.access_token.token

    def ingest(channel: grpc.Channel, metadata: list[tuple[str, str]]) -> Any:
        return live_odds_service_pb2_grpc.LiveOddsServiceStub(channel).IngestMatchEvent(
            live_odds_service_pb2.IngestMatchEventRequest(), timeout=10, metadata=metadata
        )

    def settle(channel: grpc.Channel, metadata: list[tuple[str, str]]) -> Any:
        return bet_service_pb2_grpc.BetServiceStub(channel).SettleMarket(
            bet_service_pb2.SettleMarketRequest(), timeout=10, metadata=metadata
        )

    denied = (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    assert outcome(mesh.addresses["live"], ingest, player) == denied
    assert outcome(mesh.addresses["bets"], settle, player) == denied
    # The same token is good for what a player may do: reading their own wallet.
    player_id = registered.player.player_id

    def own_wallet(channel: grpc.Channel, metadata: list[tuple[str, str]]) -> Any:
        return bet_service_pb2_grpc.BetServiceStub(channel).GetWallet(
            bet_service_pb2.GetWalletRequest(player_id=player_id), timeout=10, metadata=metadata
        )

    assert outcome(mesh.addresses["bets"], own_wallet, player)[0] == grpc.StatusCode.OK


def test_accounts_open_without_a_paid_provider_but_cannot_verify_with_one(
    mesh: Launcher, operator: Operator
) -> None:
    with grpc.insecure_channel(mesh.addresses["identity"]) as channel:
        stub = identity_service_pb2_grpc.IdentityServiceStub(channel)
        registered = stub.RegisterPlayer(identity_service_pb2.RegisterPlayerRequest(), timeout=10)
        assert registered.player.kyc_status == identity_service_pb2.KYC_STATUS_PROVISIONAL

        def start_kyc(channel: grpc.Channel, metadata: list[tuple[str, str]]) -> Any:
            return identity_service_pb2_grpc.IdentityServiceStub(channel).StartKycVerification(
                identity_service_pb2.StartKycVerificationRequest(
                    player_id=registered.player.player_id
                ),
                timeout=10,
                metadata=metadata,
            )

    assert outcome(mesh.addresses["identity"], start_kyc, operator.token("betmesh.identity")) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "KYC_NOT_CONFIGURED",
    )


def test_health_and_reflection_stay_open(mesh: Launcher) -> None:
    for name, address in mesh.addresses.items():
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING, name
            listed = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
            )
            names = [s.name for r in listed for s in r.list_services_response.service]
            assert any(n.startswith("betmesh.") for n in names), name


def test_the_gateway_calls_the_replicas_with_its_own_service_token(
    mesh: Launcher, operator: Operator, otlp_receiver: OtlpReceiver
) -> None:
    trace_id = secrets.token_hex(16)
    with operator.channel(mesh.addresses["quotes-football-1"]) as channel:
        snapshot_hash = _quotes(channel, []).snapshots[0].snapshot_hash
    with operator.channel(mesh.addresses["gateway"]) as channel:
        response = gateway_grpc.ConsensusGatewayServiceStub(channel).GetConsensusQuote(
            gateway_pb2.GetConsensusQuoteRequest(
                fixture=sport_pb2.Fixture(
                    fixture_id=f"tokens-{trace_id[:8]}",
                    sport=sport_pb2.SPORT_FOOTBALL,
                    home=sport_pb2.Participant(participant_id="fb:arsenal", name="Arsenal"),
                    away=sport_pb2.Participant(participant_id="fb:chelsea", name="Chelsea"),
                ),
                snapshot_hash=snapshot_hash,
                market_types=[market_pb2.MARKET_TYPE_MATCH_RESULT],
            ),
            timeout=20,
            metadata=[("traceparent", f"00-{trace_id}-{secrets.token_hex(8)}-01")],
        )
    assert [v.outcome for v in response.accepted.evidence.votes] == [
        gateway_pb2.VOTE_OUTCOME_AGREED
    ]

    def callers(span: ReceivedSpan) -> dict[str, str]:
        return {
            a.key: a.value.string_value
            for a in span.span.attributes
            if a.key.startswith("betmesh.caller.")
        }

    def both_saw_a_caller(spans: Sequence[ReceivedSpan]) -> bool:
        return all(
            any(s.service_name == service and callers(s) for s in spans)
            for service in ("betmesh.gateway", "betmesh.quotes")
        )

    spans = otlp_receiver.wait_for(both_saw_a_caller, trace_id=trace_id, timeout=30)
    gateway_seen = [callers(s) for s in spans if s.service_name == "betmesh.gateway" and callers(s)]
    replica_seen = [callers(s) for s in spans if s.service_name == "betmesh.quotes" and callers(s)]
    # The gateway saw the operator; the replica saw the gateway's own identity, not the operator's.
    assert gateway_seen == [
        {"betmesh.caller.subject": operator.client_id, "betmesh.caller.role": "operator"}
    ]
    assert replica_seen == [
        {"betmesh.caller.subject": "svc-gateway", "betmesh.caller.role": "service"}
    ]

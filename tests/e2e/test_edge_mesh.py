"""The edge in the launched mesh: ready by its HTTP health; a player signing up, setting the
ANJ caps, depositing and betting through it, the bet one trace from the browser's traceparent
through the edge into bets (the token checked at both, the caller on both spans) and on to the
gateway and the quote replicas that price it; a match event
reaching a browser's odds stream through it, its ingestion one trace down to the quote replicas
that reprice the match.

Traces are read from the module's OTLP receiver (tests/e2e/otlp_receiver.py).
"""

from __future__ import annotations

import asyncio
import secrets
import urllib.request
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import aiohttp
import grpc
import httpx
import pytest
from betmesh.bets.v1 import bet_service_pb2 as bpb
from betmesh.common.v1 import market_pb2, money_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gpb
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gpb_grpc
from betmesh.gateway.v1 import fixture_service_pb2, fixture_service_pb2_grpc
from betmesh.identity.v1 import identity_service_pb2 as ipb
from betmesh.live.v1 import live_odds_service_pb2 as lpb
from betmesh.live.v1 import live_odds_service_pb2_grpc
from betmesh.live.v1 import match_event_pb2 as me
from google.protobuf.timestamp_pb2 import Timestamp

from tests.support.grpc_web import GrpcWebClient

from .auth import Operator
from .launcher_process import Launcher
from .otlp_receiver import OtlpReceiver, ReceivedSpan

pytestmark = pytest.mark.e2e

BETS = "/betmesh.bets.v1.BetService"
REGISTER = "/betmesh.identity.v1.IdentityService/RegisterPlayer"
STREAM_ODDS = "/betmesh.live.v1.LiveOddsService/StreamOdds"
SERVER, CLIENT = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind


def edge_url(mesh: Launcher) -> str:
    url = str(mesh.record["edge_url"])
    assert url.startswith("http://127.0.0.1:"), mesh.record
    return url


def attribute(span: ReceivedSpan, key: str) -> str | None:
    for item in span.span.attributes:
        if item.key == key:
            kind = item.value.WhichOneof("value")
            return None if kind is None else str(getattr(item.value, kind))
    return None


def traceparent() -> tuple[str, str, str]:
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, parent, f"00-{trace_id}-{parent}-01"


def load_fixture(operator: Operator, mesh: Launcher, days_ahead: int) -> str:
    """A football fixture in the gateway's store (the operator, natively)."""
    fixture_id = f"e2e-edge-{uuid.uuid4().hex[:8]}"
    start = Timestamp()
    start.FromDatetime(datetime.now(UTC) + timedelta(days=days_ahead))
    fixture = sport_pb2.Fixture(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_FOOTBALL,
        competition_id="epl",
        competition_name="Premier League",
        home=sport_pb2.Participant(participant_id="fb:arsenal", name="Arsenal"),
        away=sport_pb2.Participant(participant_id="fb:chelsea", name="Chelsea"),
        status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
        start_time=start,
    )
    with operator.channel(mesh.addresses["gateway"]) as channel:
        fixture_service_pb2_grpc.FixtureServiceStub(channel).UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(fixtures=[fixture]), timeout=30
        )
    return fixture_id


def accepted_quote_set(operator: Operator, mesh: Launcher, fixture_id: str) -> gpb.AcceptedQuoteSet:
    with operator.channel(mesh.addresses["gateway"]) as channel:
        answer = gpb_grpc.ConsensusGatewayServiceStub(channel).GetAcceptedQuoteSet(
            gpb.GetAcceptedQuoteSetRequest(fixture_id=fixture_id), timeout=10
        )
    accepted: gpb.AcceptedQuoteSet = answer.accepted
    return accepted


def priced_fixture(operator: Operator, mesh: Launcher) -> gpb.AcceptedQuoteSet:
    """A football fixture tomorrow, priced through consensus by a scheduler pass."""
    fixture_id = load_fixture(operator, mesh, days_ahead=1)
    with operator.channel(mesh.addresses["gateway"]) as channel:
        gateway = gpb_grpc.ConsensusGatewayServiceStub(channel)
        gateway.RunPreMatchPricing(gpb.RunPreMatchPricingRequest(), timeout=120)
        answer = gateway.GetAcceptedQuoteSet(
            gpb.GetAcceptedQuoteSetRequest(fixture_id=fixture_id), timeout=10
        )
    accepted: gpb.AcceptedQuoteSet = answer.accepted
    return accepted


def test_the_edge_is_started_last_and_ready_on_http(mesh: Launcher) -> None:
    with urllib.request.urlopen(edge_url(mesh) + "/healthz", timeout=10) as answer:
        assert answer.status == 200
    # The edge is HTTP: not among the gRPC services of the mesh file, but in the process tree.
    assert "edge" not in mesh.record["services"]
    # Its HTTP routes reach identity, which has no FranceConnect client here: the app is told.
    login = httpx.get(f"{edge_url(mesh)}/auth/franceconnect/login?return_to=/", timeout=10)
    assert login.status_code == 303
    assert login.headers["location"] == "/#login_error=FRANCECONNECT_NOT_CONFIGURED"


def test_a_bet_placed_through_the_edge_is_one_trace_from_the_browser_to_the_quote_replicas(
    mesh: Launcher, operator: Operator, otlp_receiver: OtlpReceiver
) -> None:
    # Beyond the scheduler's 7-day horizon, so nothing has priced it yet: bets asks the gateway,
    # which prices it on demand through the replicas, all in the bet's trace.
    fixture_id = load_fixture(operator, mesh, days_ahead=10)
    market_id, selection_id = f"{fixture_id}/MATCH_RESULT", "home"
    trace_id, browser_span, header = traceparent()

    async def place() -> bpb.PlaceBetResponse:
        async with aiohttp.ClientSession() as session:
            web = GrpcWebClient(session, edge_url(mesh))
            signed_up = await web.unary(REGISTER, ipb.RegisterPlayerRequest(display_name="Web"))
            assert signed_up.code == 0, signed_up.trailers
            (player,) = signed_up.parsed(ipb.RegisterPlayerResponse)
            token, player_id = player.access_token.token, player.player.player_id
            # The ANJ's rule: 7-day deposit and stake caps before the first deposit and bet.
            limits = await web.unary(
                "/betmesh.identity.v1.IdentityService/SetResponsibleGamblingLimits",
                ipb.SetResponsibleGamblingLimitsRequest(
                    player_id=player_id,
                    deposit_cap_7d=money_pb2.Money(amount_minor=20_000, currency="EUR"),
                    stake_cap_7d=money_pb2.Money(amount_minor=10_000, currency="EUR"),
                ),
                token=token,
            )
            assert limits.code == 0, (limits.message, limits.reason)
            deposit_request = bpb.DepositRequest(
                idempotency_key=uuid.uuid4().hex,
                player_id=player_id,
                amount=money_pb2.Money(amount_minor=5_000, currency="EUR"),
                payment_method_id="pm-e2e",
            )
            # Bets hears of the cap by an event: until then it refuses with that reason.
            for _ in range(100):
                deposit = await web.unary(f"{BETS}/Deposit", deposit_request, token=token)
                if deposit.code == 0 or deposit.reason != "DEPOSIT_CAP_NOT_SET":
                    break
                await asyncio.sleep(0.1)
            assert deposit.code == 0, (deposit.message, deposit.reason)
            placed = await web.unary(
                f"{BETS}/PlaceBet",
                bpb.PlaceBetRequest(
                    idempotency_key=uuid.uuid4().hex,
                    player_id=player_id,
                    legs=[
                        bpb.BetLeg(
                            fixture_id=fixture_id,
                            market_id=market_id,
                            selection_id=selection_id,
                            # Whatever the player saw: ANY accepts the current price.
                            odds_e4=20_000,
                        )
                    ],
                    stake=money_pb2.Money(amount_minor=1_000, currency="EUR"),
                    odds_acceptance=bpb.ODDS_ACCEPTANCE_ANY,
                ),
                token=token,
                headers={"traceparent": header},
            )
            assert placed.code == 0, (placed.message, placed.reason)
            (response,) = placed.parsed(bpb.PlaceBetResponse)
            # Read back as stored: the names are kept with the bet.
            read = await web.unary(
                f"{BETS}/GetBet", bpb.GetBetRequest(bet_id=response.bet.bet_id), token=token
            )
            assert read.code == 0, (read.message, read.reason)
            (stored,) = read.parsed(bpb.GetBetResponse)
            assert stored.bet.legs[0].fixture_name == "Arsenal v Chelsea"
            return response

    bet = asyncio.run(place()).bet
    assert bet.status == bpb.BET_STATUS_ACCEPTED, (bet.rejection_reason, bet.rejection_message)
    accepted = accepted_quote_set(operator, mesh, fixture_id)
    assert bet.legs[0].quote_set_digest == accepted.digest
    # Bets asked the gateway's fixture store for the names, and keeps them with the bet.
    assert bet.legs[0].fixture_name == "Arsenal v Chelsea"
    assert bet.legs[0].market_name and bet.legs[0].selection_name
    home = next(
        sel
        for m in accepted.quote_set.markets
        if m.market_id == market_id
        for sel in m.selections
        if sel.selection_id == selection_id
    )
    assert bet.legs[0].accepted_odds_e4 == home.odds_e4

    def edge_bets_and_replicas(spans: Sequence[ReceivedSpan]) -> bool:
        # Every span the assertions below walk: processes export on their own schedules, and a
        # server span ends (and is exported) after the calls it made.
        ids = {s.span.span_id for s in spans}
        price_reads = [
            s
            for s in spans
            if s.service_name == "betmesh.gateway"
            and s.span.kind == SERVER
            and s.span.name.endswith("GetAcceptedQuoteSet")
        ]
        return (
            any(
                s.service_name == "betmesh.bets"
                and s.span.kind == SERVER
                and s.span.name.endswith("PlaceBet")
                for s in spans
            )
            and any(s.service_name == "betmesh.edge" and s.span.kind == SERVER for s in spans)
            and any(r.span.parent_span_id in ids for r in price_reads)
            and len(replicas_pricing(spans)) >= 2
        )

    spans = otlp_receiver.wait_for(edge_bets_and_replicas, trace_id=trace_id, timeout=30)
    by_id = {s.span.span_id: s for s in spans}
    edge = next(s for s in spans if s.service_name == "betmesh.edge" and s.span.kind == SERVER)
    # The browser's span is the edge's parent: the trace starts in the browser.
    assert edge.span.parent_span_id.hex() == browser_span
    assert edge.span.name == "betmesh.bets.v1.BetService/PlaceBet"
    # The token was checked at the edge and again in bets; both spans name the player.
    assert attribute(edge, "betmesh.caller.role") == "player"
    bets = next(
        s
        for s in spans
        if s.service_name == "betmesh.bets"
        and s.span.kind == SERVER
        and s.span.name.endswith("PlaceBet")
    )
    assert attribute(bets, "betmesh.caller.role") == "player"
    assert attribute(bets, "betmesh.caller.subject") == attribute(edge, "betmesh.caller.subject")
    # bets' server span hangs under the edge's client call, which hangs under the edge's span.
    upstream_call = by_id[bets.span.parent_span_id]
    assert upstream_call.service_name == "betmesh.edge" and upstream_call.span.kind == CLIENT
    assert upstream_call.span.parent_span_id == edge.span.span_id
    # bets -> gateway (its price read) -> the replicas that priced it, under the same bet.
    gateway = next(
        s
        for s in spans
        if s.service_name == "betmesh.gateway"
        and s.span.kind == SERVER
        and s.span.name.endswith("GetAcceptedQuoteSet")
    )
    price_read = by_id[gateway.span.parent_span_id]
    assert price_read.service_name == "betmesh.bets" and price_read.span.kind == CLIENT
    ancestor = price_read
    while ancestor.span.span_id != bets.span.span_id:
        ancestor = by_id[ancestor.span.parent_span_id]
    assert len(replicas_pricing(spans)) >= 2


def test_a_match_event_reaches_a_browsers_odds_stream_through_the_edge(
    mesh: Launcher, operator: Operator, otlp_receiver: OtlpReceiver
) -> None:
    accepted = priced_fixture(operator, mesh)
    fixture_id = accepted.quote_set.fixture_id
    trace_id, feed_span, header = traceparent()

    async def watch() -> list[lpb.OddsUpdate]:
        async with aiohttp.ClientSession() as session:
            web = GrpcWebClient(session, edge_url(mesh))
            signed_up = await web.unary(REGISTER, ipb.RegisterPlayerRequest(display_name="Fan"))
            (player,) = signed_up.parsed(ipb.RegisterPlayerResponse)
            request = lpb.StreamOddsRequest(filter=lpb.SubscriptionFilter(fixture_ids=[fixture_id]))
            updates: list[lpb.OddsUpdate] = []
            sent = False
            stream = web.stream(STREAM_ODDS, request, token=player.access_token.token)
            async for result, raw in stream:
                assert raw is not None, result.trailers
                message = lpb.StreamOddsResponse.FromString(raw)
                if not sent and message.WhichOneof("payload") == "full_image":
                    if not message.full_image.complete:
                        continue
                    await asyncio.to_thread(kick_off, operator, mesh, fixture_id, header)
                    sent = True
                updates += message.deltas.updates
                # Kick-off hands the pre-match markets over to in-play: a bet stop.
                if any(u.bet_stop.event_sequence == 1 for u in updates):
                    await stream.aclose()
                    return updates
            raise AssertionError("the stream ended before the kick-off's bet stop")

    updates = asyncio.run(asyncio.wait_for(watch(), 120))
    stop = next(u.bet_stop for u in updates if u.bet_stop.event_sequence == 1)
    assert stop.status == market_pb2.MARKET_STATUS_HANDED_OVER
    assert stop.fixture_id == fixture_id and stop.market_ids

    def fanned_out(spans: Sequence[ReceivedSpan], after: bytes) -> bool:
        return any(
            s.service_name == "betmesh.live"
            and s.span.name == "fan out odds update"
            and s.span.parent_span_id == after
            for s in spans
        )

    def repriced(spans: Sequence[ReceivedSpan]) -> bool:
        gateway_spans = {s.span.span_id for s in spans if s.service_name == "betmesh.gateway"}
        published = {
            s.span.span_id for s in spans if s.span.name == "publish quotes.accepted"
        } & gateway_spans
        return (
            len(replicas_pricing(spans)) >= 2
            and any(
                s.service_name == "betmesh.bets" and s.span.name == "process markets.status"
                for s in spans
            )
            and any(fanned_out(spans, p) for p in published)
        )

    # One trace from the feed's call: ingestion, the bet stop announced and heard by bets, the
    # in-play repricing through the gateway down to the quote replicas, and both the bet stop
    # and the new prices handed to the live process's streams.
    spans = otlp_receiver.wait_for(repriced, trace_id=trace_id, timeout=60)
    by_id = {s.span.span_id: s for s in spans}
    ingest = next(
        s
        for s in spans
        if s.service_name == "betmesh.live"
        and s.span.name.endswith("IngestMatchEvent")
        and s.span.kind == SERVER
    )
    assert ingest.span.parent_span_id.hex() == feed_span
    announced = next(
        s
        for s in spans
        if s.service_name == "betmesh.bets" and s.span.name == "process markets.status"
    )
    publish = by_id[announced.span.parent_span_id]
    assert (publish.service_name, publish.span.name) == ("betmesh.live", "publish markets.status")
    assert fanned_out(spans, publish.span.span_id)
    assert len(replicas_pricing(spans)) >= 2


def test_an_anonymous_browser_sees_the_odds_and_nothing_more(
    mesh: Launcher, operator: Operator, otlp_receiver: OtlpReceiver
) -> None:
    """No token: the edge streams the public odds with its own credential (svc-edge, role
    public); a bet still needs the player's token; live refuses that role on anything but
    StreamOdds; a partner on the native port still needs its own token."""
    accepted = priced_fixture(operator, mesh)
    fixture_id = accepted.quote_set.fixture_id
    trace_id, _, header = traceparent()

    async def browse() -> tuple[lpb.FixtureOdds, int, str | None]:
        async with aiohttp.ClientSession() as session:
            web = GrpcWebClient(session, edge_url(mesh))
            request = lpb.StreamOddsRequest(filter=lpb.SubscriptionFilter(fixture_ids=[fixture_id]))
            stream = web.stream(STREAM_ODDS, request, headers={"traceparent": header})
            odds: lpb.FixtureOdds | None = None
            async for result, raw in stream:
                assert raw is not None, result.trailers
                message = lpb.StreamOddsResponse.FromString(raw)
                image = message.full_image
                odds = next((f for f in image.fixtures if f.fixture.fixture_id == fixture_id), None)
                if odds is not None or image.complete:
                    await stream.aclose()
                    break
            assert odds is not None, "the priced fixture is not on the anonymous board"
            bet = await web.unary(f"{BETS}/PlaceBet", bpb.PlaceBetRequest())
            return odds, bet.code, bet.reason

    odds, bet_code, bet_reason = asyncio.run(asyncio.wait_for(browse(), 60))
    assert any(s.odds_e4 > 0 for m in odds.markets for s in m.selections)
    assert (bet_code, bet_reason) == (16, "TOKEN_MISSING")  # UNAUTHENTICATED, as before
    # Live saw the edge's public credential, not an anonymous caller.
    spans = otlp_receiver.wait_for(
        lambda spans: any(
            s.service_name == "betmesh.live" and s.span.name.endswith("StreamOdds") for s in spans
        ),
        trace_id=trace_id,
        timeout=30,
    )
    served = next(
        s for s in spans if s.service_name == "betmesh.live" and s.span.name.endswith("StreamOdds")
    )
    assert attribute(served, "betmesh.caller.role") == "public"
    assert attribute(served, "betmesh.caller.subject") == "svc-edge"

    secret = (mesh.state_dir / "clients" / "svc-edge.secret").read_text().strip()
    edge_client = Operator(mesh.addresses["identity"], "svc-edge", secret)
    with grpc.insecure_channel(mesh.addresses["live"]) as channel:
        live = live_odds_service_pb2_grpc.LiveOddsServiceStub(channel)
        public = edge_client.metadata("betmesh.live")
        with pytest.raises(grpc.RpcError) as ingest:
            live.IngestMatchEvent(
                lpb.IngestMatchEventRequest(event=me.MatchEvent(fixture_id=fixture_id)),
                metadata=public,
                timeout=10,
            )
        assert ingest.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as update:
            live.UpdateSubscription(
                lpb.UpdateSubscriptionRequest(stream_id="any"), metadata=public, timeout=10
            )
        assert update.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as anonymous:
            next(live.StreamOdds(lpb.StreamOddsRequest(), timeout=10))
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


def replicas_pricing(spans: Sequence[ReceivedSpan]) -> set[str]:
    """Quote replicas whose pricing hangs under a gateway span of the trace."""
    gateway = {s.span.span_id for s in spans if s.service_name == "betmesh.gateway"}
    return {
        s.instance_id
        for s in spans
        if s.service_name == "betmesh.quotes"
        and s.span.kind == SERVER
        and s.span.parent_span_id in gateway
    }


def kick_off(operator: Operator, mesh: Launcher, fixture_id: str, header: str) -> None:
    """The match feed (an operator's client, natively, as feeds are): kick-off."""
    events = [
        me.MatchEvent(
            fixture_id=fixture_id,
            sport=sport_pb2.SPORT_FOOTBALL,
            sequence=1,
            type=me.MATCH_EVENT_TYPE_MATCH_STARTED,
            source="e2e",
        ),
    ]
    with operator.channel(mesh.addresses["live"]) as channel:
        stub = live_odds_service_pb2_grpc.LiveOddsServiceStub(channel)
        for event in events:
            stub.IngestMatchEvent(
                lpb.IngestMatchEventRequest(event=event),
                timeout=10,
                metadata=[("traceparent", header)],
            )

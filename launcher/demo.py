"""The scripted demo: a short story told only through the mesh's public gRPC APIs.

Each step prints what it asked and what the mesh answered. A step whose RPC answers
UNIMPLEMENTED (or whose service is not built yet) says so and the story goes on; any other
error fails the step, and the demo then exits non-zero.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from betmesh.bets.v1 import bet_service_pb2, bet_service_pb2_grpc
from betmesh.common.v1 import market_pb2, money_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gateway_grpc
from betmesh.gateway.v1 import fixture_service_pb2, fixture_service_pb2_grpc
from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc
from betmesh.live.v1 import live_odds_service_pb2, live_odds_service_pb2_grpc, match_event_pb2
from betmesh.oracle.v1 import oracle_service_pb2, oracle_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_status import rpc_status

from launcher.mesh import DEMO_CLIENT_ID, MESH_FILE, SECRET_FILE, Mesh
from service_runtime.errors import error_info

RPC_TIMEOUT = 10.0
# Timeline seconds per second for the match-day replay: a 110-minute match in about 6 s.
DEMO_MATCH_SPEED = 1200.0
# Canonical quote sets sort selections by id; people read 1X2 as home, draw, away.
_DISPLAY_ORDER = {"home": 0, "draw": 1, "away": 2}
Say = Callable[[str], None]


@dataclass
class Target:
    """Where the demo's services are: instance name -> address, and the operator's secret."""

    addresses: dict[str, str]
    client_id: str
    client_secret: str

    @classmethod
    def from_mesh(cls, mesh: Mesh) -> Target:
        return cls(dict(mesh.addresses), mesh.demo_client_id, mesh.demo_secret)

    def address(self, name: str) -> str | None:
        return self.addresses.get(name)


def attach(state_dir: Path) -> Target:
    """The mesh `betmesh up` is running from state_dir (it wrote mesh.json and the secret)."""
    record = json.loads((state_dir / MESH_FILE).read_text())
    secret = (state_dir / SECRET_FILE).read_text().strip()
    addresses = {name: entry["address"] for name, entry in record["services"].items()}
    return Target(addresses, record.get("demo_client_id", DEMO_CLIENT_ID), secret)


class NotBuilt(Exception):
    """The step needs something the mesh does not have yet."""


class Skipped(Exception):
    """An earlier step this one needs did not produce what it needs."""


@dataclass
class Story:
    target: Target
    say: Say
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    channels: dict[str, grpc.Channel] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    snapshot_hash: str = ""
    failures: int = 0
    # The consensus price of the home side (step 3) and who funded a wallet (step 4).
    home_odds_e4: int = 0
    bettor: tuple[str, list[tuple[str, str]]] | None = None
    bet_id: str = ""

    @property
    def fixture_id(self) -> str:
        return f"demo-{self.run_id}-ars-che"

    def channel(self, name: str) -> grpc.Channel:
        address = self.target.address(name)
        if address is None:
            raise NotBuilt(f"no {name} service in this mesh")
        if name not in self.channels:
            self.channels[name] = grpc.insecure_channel(address)
        return self.channels[name]

    def metadata(self, audience: str) -> list[tuple[str, str]]:
        """The operator's token for `audience` (a mesh without identity runs anonymous)."""
        token = self.tokens.get(audience)
        if token is None and self.target.address("identity") is not None:
            token = self._issue(audience).access_token.token
            self.tokens[audience] = token
        return [("authorization", f"Bearer {token}")] if token else []

    def player(self) -> tuple[str, list[tuple[str, str]]]:
        """A new player's id and token (RegisterPlayer opens a provisional account); without
        player accounts in this mesh, the operator acts for a made-up player."""
        if self.target.address("identity") is not None:
            stub = identity_service_pb2_grpc.IdentityServiceStub(self.channel("identity"))
            try:
                registered = stub.RegisterPlayer(
                    identity_service_pb2.RegisterPlayerRequest(
                        display_name=f"Demo player {self.run_id}"
                    ),
                    timeout=RPC_TIMEOUT,
                )
            except grpc.RpcError as exc:
                if not isinstance(exc, grpc.Call) or (
                    exc.code() != grpc.StatusCode.FAILED_PRECONDITION
                ):
                    raise
                self.say(f"    no player accounts here ({_reason(exc).lstrip('/')}): as operator")
            else:
                player_id = registered.player.player_id
                status = identity_service_pb2.KycStatus.Name(registered.player.kyc_status)
                self.say(
                    f"    IdentityService.RegisterPlayer: player {player_id} "
                    f"({status.removeprefix('KYC_STATUS_').lower()}), signed in with a player token"
                )
                token = registered.access_token.token
                return player_id, [("authorization", f"Bearer {token}")]
        return f"demo-player-{self.run_id}", self.metadata("betmesh.bets")

    def _issue(self, audience: str) -> identity_service_pb2.IssueTokenResponse:
        stub = identity_service_pb2_grpc.IdentityServiceStub(self.channel("identity"))
        response: identity_service_pb2.IssueTokenResponse = stub.IssueToken(
            identity_service_pb2.IssueTokenRequest(
                client_id=self.target.client_id,
                client_secret=self.target.client_secret,
                audience=audience,
            ),
            timeout=RPC_TIMEOUT,
        )
        return response

    def step(self, number: int, title: str, action: Callable[[], None]) -> None:
        self.say(f"[{number}] {title}")
        try:
            action()
        except NotBuilt as exc:
            self.say(f"    not built yet: {exc}")
        except Skipped as exc:
            self.say(f"    skipped: {exc}")
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            if code == grpc.StatusCode.UNIMPLEMENTED:
                self.say(f"    not built yet: {details}")
            else:
                self.failures += 1
                self.say(f"    FAILED: {code.name if code else 'error'}{_reason(exc)}: {details}")
        except Exception as exc:
            self.failures += 1
            self.say(f"    FAILED: {exc!r}")
        self.say("")

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()

    # ---- the scenario -------------------------------------------------------------------

    def operator_signs_in(self) -> None:
        response = self._issue("betmesh.bets")
        self.tokens["betmesh.bets"] = response.access_token.token
        role = identity_service_pb2.Role.Name(response.role)
        expires = response.access_token.expires_at.ToDatetime().strftime("%H:%M:%S UTC")
        self.say(
            f"    IdentityService.IssueToken: client {self.target.client_id} -> {role}, "
            f"audience betmesh.bets, expires {expires}"
        )
        self.say(
            f"    token: {response.access_token.token[:24]}... "
            f"({len(response.access_token.token)} characters, a signed JWT)"
        )
        stub = identity_service_pb2_grpc.IdentityServiceStub(self.channel("identity"))
        jwks = stub.GetJwks(identity_service_pb2.GetJwksRequest(), timeout=RPC_TIMEOUT)
        for key in jwks.keys:
            self.say(
                f"    IdentityService.GetJwks: key id {key.kid} ({key.kty} {key.crv} {key.alg})"
            )

    def football_snapshot(self) -> None:
        stub = quote_service_pb2_grpc.QuoteServiceStub(self.channel("quotes-football-1"))
        response = stub.ListModelSnapshots(
            quote_service_pb2.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_FOOTBALL),
            timeout=RPC_TIMEOUT,
            metadata=self.metadata("betmesh.quotes"),
        )
        if not response.snapshots:
            raise RuntimeError("quotes-football-1 knows no football snapshot")
        latest = response.snapshots[0]
        self.snapshot_hash = latest.snapshot_hash
        teams = len(latest.snapshot.football.teams)
        self.say(
            f"    QuoteService.ListModelSnapshots on quotes-football-1: model {latest.model}, "
            f"{teams} teams"
        )
        self.say(f"    snapshot hash {latest.snapshot_hash}")

    def consensus_quote(self) -> None:
        if not self.snapshot_hash:
            raise Skipped("no football snapshot hash from step 2")
        stub = gateway_grpc.ConsensusGatewayServiceStub(self.channel("gateway"))
        response = stub.GetConsensusQuote(
            gateway_pb2.GetConsensusQuoteRequest(
                fixture=self.fixture(),
                snapshot_hash=self.snapshot_hash,
                market_types=[market_pb2.MARKET_TYPE_MATCH_RESULT],
            ),
            timeout=RPC_TIMEOUT,
            metadata=self.metadata("betmesh.gateway"),
        )
        accepted = response.accepted
        self.say(
            f"    ConsensusGatewayService.GetConsensusQuote for {self.fixture_id} "
            "(Arsenal v Chelsea), 1X2:"
        )
        for market in accepted.quote_set.markets:
            self.home_odds_e4 = next(
                (s.odds_e4 for s in market.selections if s.selection_id == "home"),
                self.home_odds_e4,
            )
            selections = sorted(
                market.selections, key=lambda s: _DISPLAY_ORDER.get(s.selection_id, 9)
            )
            prices = ", ".join(f"{s.name or s.selection_id} {_odds(s.odds_e4)}" for s in selections)
            self.say(
                f"      {market.name or market.market_id}: {prices} "
                f"(payout {market.payout_e4 / 100:.2f}%)"
            )
        evidence = accepted.evidence
        self.say(
            f"    quorum {evidence.quorum} of {evidence.replica_count} on digest {evidence.digest}"
        )
        for vote in evidence.votes:
            outcome = gateway_pb2.VoteOutcome.Name(vote.outcome).removeprefix("VOTE_OUTCOME_")
            digest = f" {vote.digest[:19]}..." if vote.digest else ""
            self.say(
                f"      {vote.replica_id or vote.address}: {outcome}{digest} "
                f"in {vote.latency_micros / 1000:.1f} ms"
            )

    def deposit(self) -> None:
        stub = bet_service_pb2_grpc.BetServiceStub(self.channel("bets"))
        player, metadata = self.player()
        self.bettor = (player, metadata)
        response = stub.Deposit(
            bet_service_pb2.DepositRequest(
                idempotency_key=f"demo-{self.run_id}-deposit-1",
                player_id=player,
                amount=money_pb2.Money(amount_minor=5_000, currency="EUR"),
                payment_method_id="sandbox-card",
            ),
            timeout=RPC_TIMEOUT,
            metadata=metadata,
        )
        self.say(
            f"    BetService.Deposit 50.00 EUR to {player}: transaction {response.transaction_id}"
        )
        wallet = stub.GetWallet(
            bet_service_pb2.GetWalletRequest(player_id=player),
            timeout=RPC_TIMEOUT,
            metadata=metadata,
        ).wallet
        self.say(
            f"    BetService.GetWallet: balance {_money(wallet.balance)}, "
            f"held {_money(wallet.held)}"
        )

    def place_bet(self) -> None:
        if self.bettor is None or not self.home_odds_e4:
            raise Skipped("needs the consensus price (step 3) and a funded wallet (step 4)")
        player, metadata = self.bettor
        self._stake_cap(player)
        stub = bet_service_pb2_grpc.BetServiceStub(self.channel("bets"))
        bet: Any = None
        # Bets learns the cap from identity's event: a first try may come before it.
        deadline = time.monotonic() + 15
        for attempt in range(1, 100):
            bet = stub.PlaceBet(
                bet_service_pb2.PlaceBetRequest(
                    idempotency_key=f"demo-{self.run_id}-bet-{attempt}",
                    player_id=player,
                    legs=[
                        bet_service_pb2.BetLeg(
                            fixture_id=self.fixture_id,
                            market_id=f"{self.fixture_id}/MATCH_RESULT",
                            selection_id="home",
                            odds_e4=self.home_odds_e4,
                        )
                    ],
                    stake=money_pb2.Money(amount_minor=1_000, currency="EUR"),
                    odds_acceptance=bet_service_pb2.ODDS_ACCEPTANCE_HIGHER,
                ),
                timeout=RPC_TIMEOUT,
                metadata=metadata,
            ).bet
            waiting = bet.rejection_reason == bet_service_pb2.REJECTION_REASON_STAKE_CAP_NOT_SET
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        status = bet_service_pb2.BetStatus.Name(bet.status).removeprefix("BET_STATUS_")
        self.say(
            f"    BetService.PlaceBet 10.00 EUR on Arsenal at {_odds(self.home_odds_e4)}: "
            f"{status.lower()} {bet.bet_id}".rstrip()
        )
        if bet.status == bet_service_pb2.BET_STATUS_REJECTED:
            reason = bet_service_pb2.RejectionReason.Name(bet.rejection_reason)
            self.say(f"      {reason.removeprefix('REJECTION_REASON_')}: {bet.rejection_message}")
        else:
            self.bet_id = bet.bet_id
            self.say(f"      potential payout {_money(bet.potential_payout)}")

    def _stake_cap(self, player: str) -> None:
        """The French rules: a 7-day stake cap before the first bet (set here by the operator)."""
        if self.target.address("identity") is None:
            return
        stub = identity_service_pb2_grpc.IdentityServiceStub(self.channel("identity"))
        try:
            limits = stub.SetResponsibleGamblingLimits(
                identity_service_pb2.SetResponsibleGamblingLimitsRequest(
                    player_id=player,
                    deposit_cap_7d=money_pb2.Money(amount_minor=50_000, currency="EUR"),
                    stake_cap_7d=money_pb2.Money(amount_minor=20_000, currency="EUR"),
                ),
                timeout=RPC_TIMEOUT,
                metadata=self.metadata("betmesh.identity"),
            ).limits
        except grpc.RpcError as exc:
            self.say(
                f"    no stake cap set ({_reason(exc).lstrip('/') or exc}): the bet may be refused"
            )
            return
        self.say(
            f"    IdentityService.SetResponsibleGamblingLimits: 7-day stake cap "
            f"{_money(limits.stake_cap_7d)}, deposit cap {_money(limits.deposit_cap_7d)}"
        )

    def settlement(self) -> None:
        if not self.bet_id or self.bettor is None:
            raise Skipped("needs an accepted bet (step 6)")
        player, metadata = self.bettor
        stub = bet_service_pb2_grpc.BetServiceStub(self.channel("bets"))
        deadline = time.monotonic() + 30
        open_states = (bet_service_pb2.BET_STATUS_ACCEPTED, bet_service_pb2.BET_STATUS_PENDING)
        bet: Any = None
        while time.monotonic() < deadline:
            bet = stub.GetBet(
                bet_service_pb2.GetBetRequest(bet_id=self.bet_id),
                timeout=RPC_TIMEOUT,
                metadata=metadata,
            ).bet
            if bet.status not in open_states:
                break
            time.sleep(0.25)
        status = bet_service_pb2.BetStatus.Name(bet.status).removeprefix("BET_STATUS_")
        self.say(f"    BetService.GetBet {self.bet_id}: {status} (from the result final on chain)")
        if bet.status in open_states:
            raise NotBuilt("the bet was not settled within 30 s")
        self.say(f"      payout {_money(bet.payout)}")
        wallet = stub.GetWallet(
            bet_service_pb2.GetWalletRequest(player_id=player),
            timeout=RPC_TIMEOUT,
            metadata=metadata,
        ).wallet
        balance, held = _money(wallet.balance), _money(wallet.held)
        self.say(f"    BetService.GetWallet: balance {balance}, held {held}")

    def fixtures_ahead(self) -> None:
        """A match day across the three sports loaded into the fixtures store and priced
        through consensus by the pre-match scheduler."""
        day = [
            (sport_pb2.SPORT_FOOTBALL, "fb:liverpool", "fb:man-city", 1),
            (sport_pb2.SPORT_FOOTBALL, "fb:newcastle", "fb:tottenham", 1),
            (sport_pb2.SPORT_FOOTBALL, "fb:aston-villa", "fb:man-united", 2),
            (sport_pb2.SPORT_TENNIS, "tn:sinner", "tn:alcaraz", 1),
            (sport_pb2.SPORT_TENNIS, "tn:djokovic", "tn:zverev", 2),
            (sport_pb2.SPORT_BASKETBALL, "bb:celtics", "bb:thunder", 1),
            (sport_pb2.SPORT_BASKETBALL, "bb:nuggets", "bb:celtics", 3),
        ]
        fixtures = []
        for n, (sport, home, away, days) in enumerate(day):
            start = Timestamp()
            start.FromSeconds(int(time.time()) + days * 86_400 + n * 3_600)
            fixtures.append(
                sport_pb2.Fixture(
                    fixture_id=f"demo-{self.run_id}-day-{n}",
                    sport=sport,
                    start_time=start,
                    status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
                    best_of_sets=3 if sport == sport_pb2.SPORT_TENNIS else 0,
                    home=sport_pb2.Participant(
                        participant_id=home, name=home.split(":")[1].title()
                    ),
                    away=sport_pb2.Participant(
                        participant_id=away, name=away.split(":")[1].title()
                    ),
                )
            )
        metadata = self.metadata("betmesh.gateway")
        loaded = fixture_service_pb2_grpc.FixtureServiceStub(
            self.channel("gateway")
        ).UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(fixtures=fixtures),
            timeout=RPC_TIMEOUT,
            metadata=metadata,
        )
        self.say(
            f"    FixtureService.UpsertFixtures: {loaded.created_count} fixtures of the coming "
            "days (football, tennis, basketball)"
        )
        report = gateway_grpc.ConsensusGatewayServiceStub(
            self.channel("gateway")
        ).RunPreMatchPricing(
            gateway_pb2.RunPreMatchPricingRequest(), timeout=120, metadata=metadata
        )
        self.say(
            f"    ConsensusGatewayService.RunPreMatchPricing: {report.fixture_count} fixtures in "
            f"the next 7 days, {report.priced_count} priced through consensus now, "
            f"{report.unchanged_count} already priced (the scheduler wakes on new fixtures), "
            f"{report.failed_count} failed"
        )
        for sport, snapshot in sorted(report.snapshot_hashes.items()):
            self.say(f"      {sport}: snapshot {snapshot[:19]}...")
        for failure in report.failures:
            self.say(f"      failed: {failure.reason} x{failure.count}")

    def match_events(self) -> None:
        stub = live_odds_service_pb2_grpc.LiveOddsServiceStub(self.channel("live"))
        metadata = self.metadata("betmesh.live")
        home, away = sport_pb2.SIDE_HOME, sport_pb2.SIDE_AWAY
        events = [
            (match_event_pb2.MATCH_EVENT_TYPE_MATCH_STARTED, 0, 1, sport_pb2.SIDE_UNSPECIFIED),
            (match_event_pb2.MATCH_EVENT_TYPE_GOAL, 23 * 60, 1, home),
            (match_event_pb2.MATCH_EVENT_TYPE_YELLOW_CARD, 31 * 60, 1, away),
            (match_event_pb2.MATCH_EVENT_TYPE_PERIOD_ENDED, 45 * 60, 1, sport_pb2.SIDE_UNSPECIFIED),
            (
                match_event_pb2.MATCH_EVENT_TYPE_PERIOD_STARTED,
                45 * 60,
                2,
                sport_pb2.SIDE_UNSPECIFIED,
            ),
            (match_event_pb2.MATCH_EVENT_TYPE_GOAL, 57 * 60, 2, away),
            (match_event_pb2.MATCH_EVENT_TYPE_GOAL, 78 * 60, 2, home),
            (match_event_pb2.MATCH_EVENT_TYPE_MATCH_ENDED, 94 * 60, 2, sport_pb2.SIDE_UNSPECIFIED),
        ]
        for sequence, (kind, elapsed, period, side) in enumerate(events, start=1):
            response = stub.IngestMatchEvent(
                live_odds_service_pb2.IngestMatchEventRequest(
                    event=match_event_pb2.MatchEvent(
                        fixture_id=self.fixture_id,
                        sport=sport_pb2.SPORT_FOOTBALL,
                        sequence=sequence,
                        type=kind,
                        occurred_at=_now(),
                        elapsed_seconds=elapsed,
                        period=period,
                        side=side,
                        source="demo",
                    )
                ),
                timeout=RPC_TIMEOUT,
                metadata=metadata,
            )
            name = match_event_pb2.MatchEventType.Name(kind).removeprefix("MATCH_EVENT_TYPE_")
            outcome = live_odds_service_pb2.IngestOutcome.Name(response.outcome)
            self.say(
                f"    LiveOddsService.IngestMatchEvent #{sequence} {name} "
                f"({elapsed // 60}'): {outcome.removeprefix('INGEST_OUTCOME_')}"
            )
        state = stub.GetGameState(
            live_odds_service_pb2.GetGameStateRequest(fixture_id=self.fixture_id),
            timeout=RPC_TIMEOUT,
            metadata=metadata,
        ).state
        football = state.football
        self.say(
            f"    LiveOddsService.GetGameState: {football.home_goals}-{football.away_goals} "
            f"after {state.elapsed_seconds // 60}' (period {state.period}, "
            f"red cards {football.home_red_cards}-{football.away_red_cards}, "
            f"event sequence {state.event_sequence})"
        )

    def match_day(self) -> None:
        """A short football match replayed by the feed simulator at high speed: each goal or
        red card suspends the markets at once, the gateway reprices them through consensus."""
        if not self.snapshot_hash:
            raise Skipped("no football snapshot hash from step 2")
        from services.live.simulator import load_file

        fixture_id = f"demo-{self.run_id}-live"
        timeline = load_file("football.json", fixture_id=fixture_id)
        gateway = gateway_grpc.ConsensusGatewayServiceStub(self.channel("gateway"))
        gateway_metadata = self.metadata("betmesh.gateway")
        live = live_odds_service_pb2_grpc.LiveOddsServiceStub(self.channel("live"))
        live_metadata = self.metadata("betmesh.live")
        fixture = timeline[0].event.fixture
        gateway.GetConsensusQuote(
            gateway_pb2.GetConsensusQuoteRequest(fixture=fixture, snapshot_hash=self.snapshot_hash),
            timeout=RPC_TIMEOUT,
            metadata=gateway_metadata,
        )
        self.say(
            f"    {fixture.home.name} v {fixture.away.name} ({fixture_id}) priced pre-match; "
            f"replaying services/live/scripts/football.json at {DEMO_MATCH_SPEED:g}x"
        )
        dangerous = {
            match_event_pb2.MATCH_EVENT_TYPE_GOAL,
            match_event_pb2.MATCH_EVENT_TYPE_RED_CARD,
            match_event_pb2.MATCH_EVENT_TYPE_PENALTY_AWARDED,
        }
        started = time.monotonic()
        for timed in timeline:
            wait = timed.at / DEMO_MATCH_SPEED - (time.monotonic() - started)
            if wait > 0:
                time.sleep(wait)
            event = timed.event
            event.occurred_at.CopyFrom(_now())
            live.IngestMatchEvent(
                live_odds_service_pb2.IngestMatchEventRequest(event=event),
                timeout=RPC_TIMEOUT,
                metadata=live_metadata,
            )
            state = live.GetGameState(
                live_odds_service_pb2.GetGameStateRequest(fixture_id=fixture_id),
                timeout=RPC_TIMEOUT,
                metadata=live_metadata,
            ).state
            name = match_event_pb2.MatchEventType.Name(event.type).removeprefix("MATCH_EVENT_TYPE_")
            score = f"{state.football.home_goals}-{state.football.away_goals}"
            line = f"    #{event.sequence} {state.elapsed_seconds // 60}' {name} -> {score}"
            if event.type in dangerous:
                line += ": markets SUSPENDED at once"
            if event.type == match_event_pb2.MATCH_EVENT_TYPE_MATCH_STARTED:
                line += ": pre-match markets HANDED_OVER to live"
            if event.type == match_event_pb2.MATCH_EVENT_TYPE_MATCH_ENDED:
                self.say(line + ": markets DEACTIVATED")
                continue
            self.say(line)
            accepted = self._live_price(gateway, gateway_metadata, fixture_id, event.sequence)
            if accepted is None:
                self.say("      no live price agreed yet (markets stay suspended)")
                continue
            result = next(
                (m for m in accepted.quote_set.markets if m.market_id.endswith("/MATCH_RESULT")),
                None,
            )
            if result is not None:
                selections = sorted(
                    result.selections, key=lambda s: _DISPLAY_ORDER.get(s.selection_id, 9)
                )
                prices = ", ".join(
                    f"{s.name} {_odds(s.odds_e4) if s.odds_e4 else '-'}" for s in selections
                )
                self.say(
                    f"      repriced through consensus ({accepted.evidence.quorum} of "
                    f"{accepted.evidence.replica_count}), live 1X2: {prices}"
                )

    def _live_price(
        self, gateway: Any, metadata: Any, fixture_id: str, sequence: int
    ) -> gateway_pb2.AcceptedQuoteSet | None:
        """The live quote set once it reflects `sequence` (repricing runs in the background)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                accepted: gateway_pb2.AcceptedQuoteSet = gateway.GetAcceptedQuoteSet(
                    gateway_pb2.GetAcceptedQuoteSetRequest(
                        fixture_id=fixture_id, phase=market_pb2.PRICING_PHASE_LIVE
                    ),
                    timeout=RPC_TIMEOUT,
                    metadata=metadata,
                ).accepted
            except grpc.RpcError as exc:
                if not isinstance(exc, grpc.Call) or exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
            else:
                if accepted.quote_set.event_sequence >= sequence:
                    return accepted
            time.sleep(0.05)
        return None

    def result_observations(self) -> None:
        stub = oracle_service_pb2_grpc.OracleServiceStub(self.channel("oracle"))
        metadata = self.metadata("betmesh.oracle")
        result = oracle_service_pb2.MatchResult(
            fixture_id=self.fixture_id,
            sport=sport_pb2.SPORT_FOOTBALL,
            status=oracle_service_pb2.RESULT_STATUS_COMPLETED,
            home_score=2,
            away_score=1,
            home_half_time_score=1,
            away_half_time_score=0,
        )
        response: Any = None
        for source in ("simulator", "stats-feed"):
            response = stub.SubmitObservation(
                oracle_service_pb2.SubmitObservationRequest(
                    observation=oracle_service_pb2.Observation(
                        source_id=source,
                        result=result,
                        observed_at=_now(),
                        source_reference=f"{source}:{self.fixture_id}",
                    )
                ),
                timeout=RPC_TIMEOUT,
                metadata=metadata,
            )
            state = oracle_service_pb2.ValidationState.Name(response.result.state)
            self.say(
                f"    OracleService.SubmitObservation from {source}: 2-1 (HT 1-0) -> "
                f"{state.removeprefix('VALIDATION_STATE_')}"
            )
        validated = stub.GetResult(
            oracle_service_pb2.GetResultRequest(fixture_id=self.fixture_id),
            timeout=RPC_TIMEOUT,
            metadata=metadata,
        ).result
        state = oracle_service_pb2.ValidationState.Name(validated.state)
        publication = oracle_service_pb2.PublicationStatus.Name(validated.publication.status)
        self.say(
            f"    OracleService.GetResult: {state.removeprefix('VALIDATION_STATE_')} "
            f"{validated.result.home_score}-{validated.result.away_score} from "
            f"{len(validated.observations)} sources, sources hash "
            f"{validated.sources_hash or '-'}, publication "
            f"{publication.removeprefix('PUBLICATION_STATUS_')}"
        )
        self.publication(stub, metadata)

    def publication(self, stub: Any, metadata: Any) -> None:
        """Follows the result onto the chain until final (or the wait runs out)."""
        deadline = time.monotonic() + 30
        seen = ""
        while True:
            published = stub.GetResult(
                oracle_service_pb2.GetResultRequest(fixture_id=self.fixture_id),
                timeout=RPC_TIMEOUT,
                metadata=metadata,
            ).result.publication
            status = oracle_service_pb2.PublicationStatus.Name(published.status)
            status = status.removeprefix("PUBLICATION_STATUS_")
            if status != seen:
                seen = status
                where = (
                    f" tx {published.transaction_hash} in block {published.block_number}"
                    if published.transaction_hash
                    else ""
                )
                self.say(f"    on chain {published.chain_id or '-'}: {status}{where}")
            if status in ("FINAL", "NOT_PUBLISHED") or time.monotonic() > deadline:
                return
            time.sleep(0.3)

    def fixture(self) -> sport_pb2.Fixture:
        start = Timestamp()
        start.FromSeconds(int(time.time()) + 86_400)
        return sport_pb2.Fixture(
            fixture_id=self.fixture_id,
            sport=sport_pb2.SPORT_FOOTBALL,
            competition_id="epl",
            competition_name="Premier League",
            home=sport_pb2.Participant(participant_id="fb:arsenal", name="Arsenal"),
            away=sport_pb2.Participant(participant_id="fb:chelsea", name="Chelsea"),
            start_time=start,
            status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
        )


def play(target: Target, say: Say) -> bool:
    """Plays the scenario; True unless a step that should work failed."""
    story = Story(target, say)
    say(f"betmesh demo (run {story.run_id}): Arsenal v Chelsea, fixture {story.fixture_id}")
    say("")
    steps: list[tuple[str, Callable[[], None]]] = [
        ("the operator signs in (identity)", story.operator_signs_in),
        ("the football model snapshot (quotes replica)", story.football_snapshot),
        ("a consensus 1X2 price (gateway -> quotes replicas)", story.consensus_quote),
        ("the coming days priced ahead (fixtures -> pre-match scheduler)", story.fixtures_ahead),
        ("a player funds a wallet (bets)", story.deposit),
        ("the player bets on the consensus price (bets)", story.place_bet),
        ("the match is played (live odds)", story.match_events),
        ("match day: a simulated match repriced in play (live -> gateway)", story.match_day),
        ("the result is observed and validated (oracle)", story.result_observations),
        ("the bet settles from the result read back from the chain (bets)", story.settlement),
    ]
    try:
        for number, (title, action) in enumerate(steps, start=1):
            story.step(number, title, action)
    finally:
        story.close()
    if story.failures:
        say(f"demo finished with {story.failures} failed step(s)")
        return False
    say("demo finished: every step that is built worked")
    return True


def _reason(exc: grpc.RpcError) -> str:
    try:
        status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    except Exception:
        return ""
    info = error_info(status)
    return f"/{info.reason}" if info is not None else ""


def _odds(odds_e4: int) -> str:
    return f"{odds_e4 // 10_000}.{odds_e4 % 10_000 // 100:02d}"


def _money(money: money_pb2.Money) -> str:
    sign = "-" if money.amount_minor < 0 else ""
    amount = abs(money.amount_minor)
    return f"{sign}{amount // 100}.{amount % 100:02d} {money.currency or 'EUR'}"


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp

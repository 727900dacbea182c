"""Today's matches played live by the feed simulator, side by side, and what the odds stream
says about them (suspensions at dangerous events, repricing through consensus)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc
from betmesh.common.v1 import market_pb2
from betmesh.live.v1 import live_odds_service_pb2 as live_pb2
from betmesh.live.v1 import live_odds_service_pb2_grpc as live_grpc
from betmesh.live.v1 import match_event_pb2 as me

from launcher.demo.client import RPC_TIMEOUT, Clients, reason
from launcher.demo.state import DayState, Match
from launcher.demo.text import now
from services.live.simulator import HEARTBEAT_SECONDS

ET = me.MatchEventType
DANGEROUS = {
    ET.MATCH_EVENT_TYPE_GOAL,
    ET.MATCH_EVENT_TYPE_RED_CARD,
    ET.MATCH_EVENT_TYPE_PENALTY_AWARDED,
}


def _event_name(kind: int) -> str:
    return me.MatchEventType.Name(kind).removeprefix("MATCH_EVENT_TYPE_")  # type: ignore[arg-type]


class MatchFeed(threading.Thread):
    """Replays one match's script through LiveOddsService.IngestMatchEvent at `speed`, then
    hands the final state to `on_ended` (the results' sources)."""

    def __init__(
        self,
        clients: Clients,
        state: DayState,
        match: Match,
        speed: float,
        say: Callable[[str], None],
        on_ended: Callable[[Match], None],
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"feed-{match.short}", daemon=True)
        self.clients = clients
        self.state = state
        self.match = match
        self.speed = speed
        self.say = say
        self.on_ended = on_ended
        self.stopping = stop
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._play()
            if not self.stopping.is_set():
                self.on_ended(self.match)
        except BaseException as exc:  # reported by the day, which then fails
            self.error = exc

    def _play(self) -> None:
        match = self.match
        stub = live_grpc.LiveOddsServiceStub(self.clients.channel("live"))
        started = time.monotonic()
        with self.state.lock:
            match.kicked_off_at = started
        first = match.timeline[0].at if match.timeline else 0.0
        sets_seen = 0
        sent = 0  # the last sequence live answered: what the heartbeats say the feed is up to
        for timed in match.timeline:
            wait = (timed.at - first) / self.speed - (time.monotonic() - started)
            while wait > 0:
                if self.stopping.wait(min(wait, HEARTBEAT_SECONDS)):
                    return
                wait = (timed.at - first) / self.speed - (time.monotonic() - started)
                if wait > 0:
                    # A quiet spell is not a dead feed: live suspends a match it stops hearing
                    # from (FEED_LOST), so the feed says it is alive, and which event it is up
                    # to (after a loss, only that word reopens the match).
                    stub.SendFeedHeartbeat(
                        live_pb2.SendFeedHeartbeatRequest(
                            source=timed.event.source,
                            fixtures=[
                                live_pb2.FixtureProgress(
                                    fixture_id=match.fixture_id, last_sequence=sent
                                )
                            ],
                        ),
                        timeout=RPC_TIMEOUT,
                        metadata=self.clients.operator("betmesh.live"),
                    )
            event = timed.event
            event.occurred_at.CopyFrom(now())
            metadata = self.clients.operator("betmesh.live")
            stub.IngestMatchEvent(
                live_pb2.IngestMatchEventRequest(event=event),
                timeout=RPC_TIMEOUT,
                metadata=metadata,
            )
            sent = event.sequence
            game = stub.GetGameState(
                live_pb2.GetGameStateRequest(fixture_id=match.fixture_id),
                timeout=RPC_TIMEOUT,
                metadata=metadata,
            ).state
            with self.state.lock:
                match.state = game
                match.events_sent += 1
                if event.type == ET.MATCH_EVENT_TYPE_MATCH_ENDED:
                    match.status = "ended"
                elif match.status == "scheduled":
                    match.status = "live"
            score = match.score()
            kind = event.type
            if kind == ET.MATCH_EVENT_TYPE_MATCH_STARTED:
                self.say(f"    {match.name} kicks off: pre-match markets handed over to live")
            elif kind in DANGEROUS:
                self.say(
                    f"    {match.name} {match.clock()} {_event_name(kind)} -> {score}: "
                    "markets suspended at once, repriced through consensus"
                )
            elif kind == ET.MATCH_EVENT_TYPE_MATCH_ENDED:
                self.say(f"    {match.name} ends {score}: markets deactivated")
            elif kind == ET.MATCH_EVENT_TYPE_PERIOD_ENDED and match.sport != "tennis":
                self.say(f"    {match.name} end of period {game.period}: {score}")
            elif match.sport == "tennis" and len(game.tennis.sets) > max(sets_seen, 1):
                self.say(f"    {match.name}: set {len(game.tennis.sets) - 1} done, {score}")
            sets_seen = max(sets_seen, len(game.tennis.sets))


class OddsWatcher(threading.Thread):
    """Counts, per live match, what StreamOdds delivers: bet stops, live odds changes,
    settlements (provisional, then on chain), rollbacks and bet cancels."""

    def __init__(self, clients: Clients, state: DayState, matches: list[Match]) -> None:
        super().__init__(name="odds-stream", daemon=True)
        self.clients = clients
        self.state = state
        self.by_id = {m.fixture_id: m for m in matches}
        self.call: grpc.Future | None = None
        self.problem = ""
        self._cancelled = False

    def run(self) -> None:
        stub = live_grpc.LiveOddsServiceStub(self.clients.channel("live"))
        try:
            call = stub.StreamOdds(
                live_pb2.StreamOddsRequest(
                    filter=live_pb2.SubscriptionFilter(fixture_ids=list(self.by_id))
                ),
                metadata=self.clients.operator("betmesh.live"),
            )
            self.call = call
            for response in call:
                if response.WhichOneof("payload") != "deltas":
                    continue
                for update in response.deltas.updates:
                    self._count(update)
        except grpc.RpcError as exc:
            if not self._cancelled:
                self.problem = reason(exc)

    def _count(self, update: live_pb2.OddsUpdate) -> None:
        which = update.WhichOneof("update")
        with self.state.lock:
            if which == "bet_stop":
                match = self.by_id.get(update.bet_stop.fixture_id)
                if (
                    match is not None
                    and update.bet_stop.status == market_pb2.MARKET_STATUS_SUSPENDED
                ):
                    match.suspensions += 1
            elif which == "bet_settlement":
                match = self.by_id.get(update.bet_settlement.fixture_id)
                if match is not None:
                    if update.bet_settlement.certainty == live_pb2.SETTLEMENT_CERTAINTY_ON_CHAIN:
                        match.on_chain_settlements += 1
                    else:
                        match.provisional_settlements += 1
            elif which == "rollback_bet_settlement":
                match = self.by_id.get(update.rollback_bet_settlement.fixture_id)
                if match is not None:
                    match.rollbacks += 1
            elif which == "bet_cancel":
                match = self.by_id.get(update.bet_cancel.fixture_id)
                if match is not None:
                    match.cancels += 1
            elif which == "odds_change":
                match = self.by_id.get(update.odds_change.fixture.fixture_id)
                if match is not None and update.odds_change.phase == market_pb2.PRICING_PHASE_LIVE:
                    match.repricings += 1
                    # Exact and in wall time (the feed speed applied), as bets holds a bet.
                    match.bet_delay_seconds = update.odds_change.bet_delay_ms / 1000

    def stop(self) -> None:
        self._cancelled = True
        if self.call is not None:
            self.call.cancel()
        self.join(5)

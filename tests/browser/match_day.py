"""What the feeds and the operator do while the browser plays the player: fixtures priced
through consensus, a match replayed from the live simulator's script, results observed by two
sources and published on the local chain. Only public gRPC APIs, with the demo operator's tokens."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gateway_grpc
from betmesh.gateway.v1 import fixture_service_pb2, fixture_service_pb2_grpc
from betmesh.live.v1 import live_odds_service_pb2 as live_pb2
from betmesh.live.v1 import live_odds_service_pb2_grpc as live_grpc
from betmesh.live.v1 import match_event_pb2
from betmesh.oracle.v1 import oracle_service_pb2 as oracle_pb2
from betmesh.oracle.v1 import oracle_service_pb2_grpc as oracle_grpc
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from services.live.simulator import HEARTBEAT_SECONDS, TimedEvent, load_file
from tests.e2e.auth import Operator

TIMEOUT = 15.0
# The events that suspend the markets at once (then the reprice reopens them).
DANGEROUS = {
    match_event_pb2.MATCH_EVENT_TYPE_GOAL,
    match_event_pb2.MATCH_EVENT_TYPE_RED_CARD,
    match_event_pb2.MATCH_EVENT_TYPE_PENALTY_AWARDED,
}


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


def wait_for(what: str, check: Callable[[], Any], seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {seconds:.0f} s")
        time.sleep(0.2)


class MatchDay:
    def __init__(self, addresses: dict[str, str], operator: Operator) -> None:
        self.run = secrets.token_hex(3)
        self.operator = operator
        self._channels = {name: operator.channel(address) for name, address in addresses.items()}
        self.gateway = gateway_grpc.ConsensusGatewayServiceStub(self._channels["gateway"])
        self.fixtures = fixture_service_pb2_grpc.FixtureServiceStub(self._channels["gateway"])
        self.live = live_grpc.LiveOddsServiceStub(self._channels["live"])
        self.oracle = oracle_grpc.OracleServiceStub(self._channels["oracle"])
        self.quotes = quote_service_pb2_grpc.QuoteServiceStub(self._channels["quotes-football-1"])
        self.pre_match_id = f"web-{self.run}-liv-mci"
        self.live_id = f"web-{self.run}-ars-che"
        self.timeline: list[TimedEvent] = load_file("football.json", fixture_id=self.live_id)
        self._next_event = 0
        self._answered = 0  # the last sequence live answered, for the heartbeats
        self._snapshot = ""
        self._feed_alive = threading.Event()
        self._beating: threading.Thread | None = None

    def close(self) -> None:
        self._stop_heartbeats()
        for channel in self._channels.values():
            channel.close()

    def _heartbeats(self) -> None:
        """The feed says it is alive while the browser takes its time between events (live
        suspends a match it stops hearing from: FEED_LOST)."""
        source = self.timeline[0].event.source
        while not self._feed_alive.wait(HEARTBEAT_SECONDS):
            try:
                # The last sequence live answered (a beat overtaken by the next event is
                # refused LAST_SEQUENCE_BEHIND_APPLIED: the next beat says it right).
                progress = live_pb2.FixtureProgress(
                    fixture_id=self.live_id, last_sequence=self._answered
                )
                self.live.SendFeedHeartbeat(
                    live_pb2.SendFeedHeartbeatRequest(source=source, fixtures=[progress]),
                    timeout=TIMEOUT,
                )
            except grpc.RpcError:
                continue  # the next beat is within the deadline too

    def _stop_heartbeats(self) -> None:
        self._feed_alive.set()
        if self._beating is not None:
            self._beating.join(timeout=TIMEOUT)
            self._beating = None

    def snapshot(self) -> str:
        if not self._snapshot:
            listed = self.quotes.ListModelSnapshots(
                quote_service_pb2.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_FOOTBALL),
                timeout=TIMEOUT,
            )
            self._snapshot = listed.snapshots[0].snapshot_hash
        return self._snapshot

    def price(self, fixture: sport_pb2.Fixture) -> None:
        # In the fixtures store first: the stream and the bets carry its names from there.
        self.fixtures.UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(fixtures=[fixture]), timeout=TIMEOUT
        )
        self.gateway.GetConsensusQuote(
            gateway_pb2.GetConsensusQuoteRequest(fixture=fixture, snapshot_hash=self.snapshot()),
            timeout=60,
        )

    def pre_match(self) -> dict[str, str]:
        """Two fixtures priced through consensus: one stays pre-match, the other goes live."""
        start = Timestamp()
        start.FromSeconds(int(time.time()) + 86_400)
        self.price(
            sport_pb2.Fixture(
                fixture_id=self.pre_match_id,
                sport=sport_pb2.SPORT_FOOTBALL,
                competition_id="epl",
                competition_name="Premier League",
                home=sport_pb2.Participant(participant_id="fb:liverpool", name="Liverpool"),
                away=sport_pb2.Participant(participant_id="fb:man-city", name="Man City"),
                start_time=start,
                status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
            )
        )
        live_fixture = sport_pb2.Fixture()
        live_fixture.CopyFrom(self.timeline[0].event.fixture)
        live_fixture.start_time.FromSeconds(int(time.time()) + 600)
        live_fixture.status = sport_pb2.FIXTURE_STATUS_SCHEDULED
        self.price(live_fixture)
        return {"pre_match": self.pre_match_id, "live": self.live_id}

    def _send_next(self) -> match_event_pb2.MatchEvent:
        event = self.timeline[self._next_event].event
        self._next_event += 1
        event.occurred_at.CopyFrom(_now())
        self.live.IngestMatchEvent(live_pb2.IngestMatchEventRequest(event=event), timeout=TIMEOUT)
        self._answered = event.sequence
        return event

    def _live_priced(self, sequence: int) -> bool:
        try:
            accepted = self.gateway.GetAcceptedQuoteSet(
                gateway_pb2.GetAcceptedQuoteSetRequest(
                    fixture_id=self.live_id, phase=market_pb2.PRICING_PHASE_LIVE
                ),
                timeout=TIMEOUT,
            ).accepted
        except grpc.RpcError as exc:
            if isinstance(exc, grpc.Call) and exc.code() == grpc.StatusCode.NOT_FOUND:
                return False
            raise
        return bool(accepted.quote_set.event_sequence >= sequence)

    def kick_off(self) -> dict[str, int]:
        event = self._send_next()
        assert event.type == match_event_pb2.MATCH_EVENT_TYPE_MATCH_STARTED
        self._beating = threading.Thread(target=self._heartbeats, daemon=True)
        self._beating.start()
        wait_for("live prices after kick-off", lambda: self._live_priced(event.sequence))
        return {"sequence": event.sequence}

    def until_dangerous(self) -> dict[str, int]:
        """Replays the script up to and including its next dangerous event (a goal, a red card,
        a penalty): it suspends the markets at once, the reprice reopens them at new prices."""
        while self._next_event < len(self.timeline) - 1:
            event = self._send_next()
            if event.type in DANGEROUS:
                return self._repriced(event.sequence)
        raise AssertionError("no dangerous event left before the final whistle")

    def _repriced(self, sequence: int) -> dict[str, int]:
        wait_for(f"live prices after event {sequence}", lambda: self._live_priced(sequence))
        return {"sequence": sequence}

    def final_whistle(self) -> None:
        while self._next_event < len(self.timeline):
            self._send_next()
        self._stop_heartbeats()

    def results(self) -> dict[str, str]:
        """Both fixtures' results from two agreeing sources; waits until final on chain."""
        self.final_whistle()
        scores = {self.pre_match_id: (1, 0, 1, 0), self.live_id: (2, 1, 1, 0)}
        hashes: dict[str, str] = {}
        for fixture_id, (home, away, home_ht, away_ht) in scores.items():
            result = oracle_pb2.MatchResult(
                fixture_id=fixture_id,
                sport=sport_pb2.SPORT_FOOTBALL,
                status=oracle_pb2.RESULT_STATUS_COMPLETED,
                home_score=home,
                away_score=away,
                home_half_time_score=home_ht,
                away_half_time_score=away_ht,
            )
            for source in ("simulator", "stats-feed"):
                self.oracle.SubmitObservation(
                    oracle_pb2.SubmitObservationRequest(
                        observation=oracle_pb2.Observation(
                            source_id=source,
                            result=result,
                            observed_at=_now(),
                            source_reference=f"{source}:{fixture_id}",
                        )
                    ),
                    timeout=TIMEOUT,
                )
        for fixture_id in scores:
            hashes[fixture_id] = self._final_hash(fixture_id)
        return hashes

    def _final_hash(self, fixture_id: str) -> str:
        publication = wait_for(
            f"{fixture_id} final on chain", lambda: self._final(fixture_id), seconds=120
        )
        return str(publication.transaction_hash)

    def _final(self, fixture_id: str) -> oracle_pb2.Publication | None:
        published = self.oracle.GetResult(
            oracle_pb2.GetResultRequest(fixture_id=fixture_id), timeout=TIMEOUT
        ).result.publication
        return published if published.status == oracle_pb2.PUBLICATION_STATUS_FINAL else None

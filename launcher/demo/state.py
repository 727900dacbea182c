"""What the match day has done so far: read by the progress line and the closing report."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from betmesh.common.v1 import game_state_pb2, sport_pb2

from launcher.demo.progress import bar
from launcher.demo.text import money
from services.live.simulator import TimedEvent

OPEN_STATUSES = frozenset({"ACCEPTED", "PENDING"})


def sport_name(sport: int) -> str:
    return sport_pb2.Sport.Name(sport).removeprefix("SPORT_").lower()  # type: ignore[arg-type]


@dataclass
class Match:
    """One of the day's matches played live by the feed simulator."""

    fixture: sport_pb2.Fixture
    script: str
    events_total: int
    short: str
    timeline: list[TimedEvent] = field(default_factory=list)
    status: str = "scheduled"  # scheduled, live, ended, validated, final
    events_sent: int = 0
    state: game_state_pb2.GameState = field(default_factory=game_state_pb2.GameState)
    # When the feed sent MATCH_STARTED (time.monotonic()), and the sport's live bet delay as
    # the odds stream announces it (bet_delay_ms, in wall seconds: the feed speed applied).
    kicked_off_at: float = 0.0
    bet_delay_seconds: float = 0.0
    suspensions: int = 0
    repricings: int = 0
    # Results on the partner stream: settlements by certainty, rollbacks, bet cancels.
    provisional_settlements: int = 0
    on_chain_settlements: int = 0
    rollbacks: int = 0
    cancels: int = 0
    result_text: str = ""
    tx_hash: str = ""
    block: int = 0
    chain_id: int = 0
    publication: str = ""

    @property
    def fixture_id(self) -> str:
        return str(self.fixture.fixture_id)

    @property
    def sport(self) -> str:
        return sport_name(self.fixture.sport)

    @property
    def name(self) -> str:
        return f"{self.fixture.home.name} v {self.fixture.away.name}"

    def score(self) -> str:
        state = self.state
        which = state.WhichOneof("sport_state")
        if which == "football":
            return f"{state.football.home_goals}-{state.football.away_goals}"
        if which == "basketball":
            return f"{state.basketball.home_points}-{state.basketball.away_points}"
        if which == "tennis":
            sets = " ".join(f"{s.home_games}-{s.away_games}" for s in state.tennis.sets)
            return sets or "0-0"
        return "0-0"

    def clock(self) -> str:
        state = self.state
        if self.status not in ("live",):
            return self.status
        which = state.WhichOneof("sport_state")
        if which == "football":
            return f"{state.elapsed_seconds // 60}'"
        if which == "basketball":
            return f"Q{max(1, state.period)} {state.elapsed_seconds // 60}'"
        if which == "tennis":
            return f"set {max(1, state.period)}"
        return "live"


@dataclass
class PlacedBet:
    """One bet as the bets service answered it (refreshed at the end)."""

    bet_id: str
    player_id: str
    group: str  # a sport, or "multi-sport" for an accumulator across sports
    stake_minor: int
    legs: int
    live: bool
    fixture_ids: tuple[str, ...]
    status: str
    reason: str = ""
    message: str = ""
    payout_minor: int = 0
    note: str = ""


@dataclass
class DayState:
    run_id: str
    speed: float
    phase: str = "starting"
    started_at: float = field(default_factory=time.time)
    matches: list[Match] = field(default_factory=list)
    bets: list[PlacedBet] = field(default_factory=list)
    players: int = 0
    deposits_minor: int = 0
    fixtures_loaded: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # One sequence for every bet of the run, whoever places it: two placers counting on their
    # own would hand a player the same idempotency key twice (bets answers DUPLICATED_REQUEST).
    bet_numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def record(self, bet: PlacedBet) -> None:
        with self.lock:
            self.bets.append(bet)

    def rejections(self) -> Counter[str]:
        with self.lock:
            return Counter(b.reason for b in self.bets if b.status == "REJECTED")

    def _played(self, matches: list[Match]) -> float:
        """How far through the longest match's timeline the day is."""
        if all(m.status not in ("scheduled", "live") for m in matches):
            return 1.0
        kicked = [m.kicked_off_at for m in matches if m.kicked_off_at]
        longest = max((m.timeline[-1].at for m in matches if m.timeline), default=0.0)
        if not kicked or not longest:
            done = sum(m.events_sent for m in matches)
            return done / (sum(m.events_total for m in matches) or 1)
        return min(1.0, (time.monotonic() - min(kicked)) * self.speed / longest)

    def status_line(self) -> str:
        with self.lock:
            bets = list(self.bets)
            matches = list(self.matches)
            phase = self.phase
        taken = [b for b in bets if b.status != "REJECTED"]
        settled = [b for b in taken if b.status not in OPEN_STATUSES]
        stake = sum(b.stake_minor for b in taken)
        parts = [phase]
        playing = [m for m in matches if m.status != "scheduled"]
        if playing:
            parts.append(bar(self._played(matches), 10))
            parts += [f"{m.short} {m.score()} {m.clock()}" for m in playing]
        if bets:
            parts.append(
                f"bets {len(taken)} taken/{len(bets) - len(taken)} refused, {len(settled)} settled"
            )
            parts.append(f"stake {money(stake)}")
        elif self.players:
            parts.append(f"{self.players} players, deposits {money(self.deposits_minor)}")
        return " | ".join(parts)

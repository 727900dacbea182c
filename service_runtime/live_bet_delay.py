"""The live-bet delay per sport: the one definition the bets service applies (it holds an
in-play bet this long, then refuses it if the score or price moved) and the live stream
announces to partners (FixtureOdds.bet_delay_ms). Both processes read it from the same two
variables, so an operator changes the delay in one place (the launcher passes both to every
process; deploy puts them in the common ConfigMap) and what partners are told is what bets does.

The delay is a rule of the book, not of the runtime; it lives here only because services never
import each other and both must read it the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service_runtime.env import Env

SPORTS = ("FOOTBALL", "TENNIS", "BASKETBALL")
DEFAULT_DELAYS = "football=6,tennis=3,basketball=4"
MAX_FEED_SPEED = 100_000.0
MAX_DELAY_SECONDS = 60.0


@dataclass(frozen=True)
class LiveBetDelays:
    """Delays in wall milliseconds (the feed's seconds divided by the feed speed, rounded to
    the millisecond once here, so the delay applied and the delay announced are one number)."""

    ms_by_sport: Mapping[str, int]
    # A sport not named: the longest named (else 6 s).
    default_ms: int
    feed_speed: float = 1.0

    @classmethod
    def standard(cls) -> LiveBetDelays:
        """The defaults (DEFAULT_DELAYS at real-time speed), as an empty environment reads."""
        return cls.read(Env({}))

    def seconds_by_sport(self) -> dict[str, float]:
        return {sport: ms / 1000 for sport, ms in self.ms_by_sport.items()}

    def ms(self, sport: str) -> int:
        """The delay for a sport named as the contract's Sport enum without its prefix."""
        return self.ms_by_sport.get(sport.upper(), self.default_ms)

    def seconds(self, sport: str) -> float:
        return self.ms(sport) / 1000

    @classmethod
    def read(cls, env: Env) -> LiveBetDelays:
        """BETMESH_BETS_LIVE_DELAY_SECONDS="football=6,tennis=3,basketball=4" (Betfair: 1-12 s),
        in the feeds' time: divided by BETMESH_BETS_FEED_SPEED.

        A live bet's delay covers a real feed's latency (the seconds between something
        happening on the pitch and the feed saying so), so it is measured in match time. A feed
        whose timeline runs faster than real time (a simulator replaying a match at 150x, as the
        demo does) has that latency shrunk by the same factor; an unscaled 4 s delay would span
        ten minutes of its play and refuse nearly every in-play bet for a score change the
        player could not have seen coming. Production feeds run at 1 (the default)."""
        # How much faster than real time the feeds run (the demo's replay speed; 1 in production).
        speed = env.float("BETS_FEED_SPEED", 1.0)
        if not 0 < speed <= MAX_FEED_SPEED:
            env.problems.append(f"BETMESH_BETS_FEED_SPEED must be in (0, {MAX_FEED_SPEED:.0f}]")
            speed = 1.0
        # Per sport, in the feeds' seconds (0-60): bets holds an in-play bet this long and live
        # announces it to partners (FixtureOdds.bet_delay_ms); both processes read this one setting.
        raw = env.str("BETS_LIVE_DELAY_SECONDS", DEFAULT_DELAYS)
        delays: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in raw.split(","))):
            sport, _, value = part.partition("=")
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1.0
            if sport.strip().upper() not in SPORTS or not 0 <= seconds <= MAX_DELAY_SECONDS:
                env.problems.append(
                    f"BETMESH_BETS_LIVE_DELAY_SECONDS: {part[:40]!r} is not "
                    f"<sport>=<0-{MAX_DELAY_SECONDS:.0f} seconds>"
                )
                continue
            delays[sport.strip().upper()] = round(seconds * 1000 / speed)
        return cls(delays, max(delays.values(), default=round(6000 / speed)), speed)

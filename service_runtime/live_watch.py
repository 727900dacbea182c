"""How often live vouches for the in-play fixtures it watches, and how long bets trusts a live
price without that word: the pair live and bets must agree on. Live publishes a LiveHeartbeat
every `heartbeat_seconds`; bets refuses an in-play bet on a fixture no live process vouched for
within `silence_seconds` (a frozen or dead live suspends nothing itself: its silence must).
Both processes read both variables here and refuse to start unless the silence outlasts a
heartbeat period, so a misconfigured pair fails at start, not as every live bet refused.

A rule of the book, not of the runtime; it lives here only because services never import each
other and both must read it the same way (as live_bet_delay.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from service_runtime.env import Env

DEFAULT_HEARTBEAT_SECONDS = 1.0
DEFAULT_SILENCE_SECONDS = 5.0


@dataclass(frozen=True)
class LiveWatch:
    # How often each live process vouches (LiveHeartbeat) for the in-play fixtures it watches,
    # their feeds alive. Read by live and bets: bets checks its silence outlasts it.
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    # How long after live last vouched for an in-play fixture bets still takes bets on it
    # (BETTING_SUSPENDED after). Must be over the heartbeat period; read by live and bets.
    silence_seconds: float = DEFAULT_SILENCE_SECONDS

    @classmethod
    def read(cls, env: Env) -> LiveWatch:
        """BETMESH_LIVE_HEARTBEAT_SECONDS (1 s) and BETMESH_BETS_LIVE_SILENCE_SECONDS (5 s)."""
        watch = cls(
            heartbeat_seconds=env.float("LIVE_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS),
            silence_seconds=env.float("BETS_LIVE_SILENCE_SECONDS", DEFAULT_SILENCE_SECONDS),
        )
        env.require_positive(
            ("LIVE_HEARTBEAT_SECONDS", watch.heartbeat_seconds),
            ("BETS_LIVE_SILENCE_SECONDS", watch.silence_seconds),
        )
        if watch.silence_seconds <= watch.heartbeat_seconds:
            # One late heartbeat would refuse every live bet until the next.
            env.problems.append(
                "BETMESH_BETS_LIVE_SILENCE_SECONDS must be over BETMESH_LIVE_HEARTBEAT_SECONDS "
                f"({watch.silence_seconds!r} <= {watch.heartbeat_seconds!r})"
            )
        return watch

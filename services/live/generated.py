"""Football match scripts generated from a model's expected goals, in the simulator's format.

The demo's (and any benchmark's) live football match is no fixed script: each side's goals are
drawn from the fitted model's expected goals for that very fixture (Poisson, the model's
marginals; the Dixon-Coles low-score correction is left out, it moves a 0-0 by ~1 point), split
between the halves as the shipped leagues split them, at uniform times within each half.
Cards and stoppage time follow the shipped data's averages. The result is a plain script dict
(`simulator.load` reads it), so a generated match replays exactly like a hand-written one, and
the same seed gives the same match.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

HALF = 45 * 60
BREAK = 15 * 60
# Shares and rates measured on data/football/results.csv (1,826 matches of five league-seasons):
# 41-47% of the goals come before half-time; yellow cards per match 1.5-2.1 home, 1.9-2.4 away
# (EPL 2023/24: 1.91 and 2.26); red cards 0.07-0.26 a match (EPL 2023/24: 0.15).
FIRST_HALF_GOAL_SHARE = 0.45
YELLOWS = {"home": 1.91, "away": 2.26}
REDS_PER_SIDE = 0.075
# A goal follows a dangerous attack (the feed's warning, on which live suspends) this early.
WARNING_SECONDS = 40
CLOCK_EVERY = 10 * 60


def poisson(rate: float, rng: random.Random) -> int:
    """A Poisson draw by inversion (rates here are below ~5, so a few steps)."""
    u, k = rng.random(), 0
    p = cumulative = math.exp(-rate)
    while u > cumulative and k < 50:
        k += 1
        p *= rate / k
        cumulative += p
    return k


def football_script(
    fixture: Mapping[str, Any], home_rate: float, away_rate: float, rng: random.Random
) -> dict[str, Any]:
    """A full match (both halves, stoppage time, the break) for `fixture` (the script's fixture
    dict), whose sides are expected to score `home_rate` and `away_rate` goals."""
    if not (home_rate > 0 and away_rate > 0 and math.isfinite(home_rate + away_rate)):
        raise ValueError("expected goals must be positive and finite")
    stoppage = (rng.randint(1, 4) * 60, rng.randint(2, 7) * 60)
    second_start = HALF + stoppage[0] + BREAK  # timeline seconds at the second kick-off
    # (elapsed play-clock seconds, kind, side) per half
    halves: list[list[tuple[int, str, str]]] = [[], []]
    for side, rate in (("home", home_rate), ("away", away_rate)):
        for half, share in enumerate((FIRST_HALF_GOAL_SHARE, 1 - FIRST_HALF_GOAL_SHARE)):
            start = half * HALF
            for _ in range(poisson(rate * share, rng)):
                at = start + rng.randint(WARNING_SECONDS + 1, HALF + stoppage[half] - 1)
                halves[half].append((at - WARNING_SECONDS, "DANGEROUS_ATTACK", side))
                halves[half].append((at, "GOAL", side))
            for _ in range(poisson(YELLOWS[side] / 2, rng)):
                halves[half].append((start + rng.randint(1, HALF - 1), "YELLOW_CARD", side))
            for _ in range(poisson(REDS_PER_SIDE / 2, rng)):
                halves[half].append((start + rng.randint(1, HALF - 1), "RED_CARD", side))
    for half in (0, 1):
        # The clock every ten minutes of play: prices drift with time between events.
        clocks = range(half * HALF + CLOCK_EVERY, (half + 1) * HALF, CLOCK_EVERY)
        halves[half] += [(elapsed, "CLOCK", "") for elapsed in clocks]

    events: list[dict[str, Any]] = [{"at": 0, "type": "MATCH_STARTED", "period": 1}]

    def add(at: int, elapsed: int, kind: str, period: int, side: str = "") -> None:
        event: dict[str, Any] = {"at": at, "type": kind, "period": period, "elapsed": elapsed}
        if side:
            event["side"] = side
        events.append(event)

    for elapsed, kind, side in sorted(halves[0]):
        add(elapsed, elapsed, kind, 1, side)
    add(HALF + stoppage[0], HALF + stoppage[0], "PERIOD_ENDED", 1)
    add(second_start, HALF, "PERIOD_STARTED", 2)
    for elapsed, kind, side in sorted(halves[1]):
        add(second_start + elapsed - HALF, elapsed, kind, 2, side)
    end = 2 * HALF + stoppage[1]
    add(second_start + end - HALF, end, "MATCH_ENDED", 2)
    return {"fixture": dict(fixture), "events": events}

"""Match scripts generated from a model, in the simulator's format: football from its expected
goals, tennis from each player's serve-point win.

Football: the demo's (and any benchmark's) live football match is no fixed script: each side's
goals are drawn from the fitted model's expected goals for that very fixture (Poisson, the
model's marginals; the Dixon-Coles low-score correction is left out, it moves a 0-0 by ~1
point), split between the halves as the shipped leagues split them, at uniform times within
each half. Cards and stoppage time follow the shipped data's averages.

Tennis: a match is played point by point with the priced model's own structure (Barnett &
Clarke's Markov chain, `services/quotes/domain/tennis.py`): the server wins each point with their
serve-point win against this opponent, independently; games to four points, two clear (deuce);
a seven-point tie-break (two clear) at 6-6 in every set, the first server serving one point and
then two each; the serve alternating by game; the player who received first in a tie-break
serving first in the next set; who serves first in the match a coin toss. These are the live
service's rules (`services/live/domain/tennis.py`), so a drawn match replays there to its end.
Its timeline: a point every `POINT_SECONDS`, a changeover after every odd game of a set and a
break between sets.

Either result is a plain script dict (`simulator.load` reads it), so a generated match replays
exactly like a hand-written one, and the same seed gives the same match.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
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


# Tennis timeline (ATP: 25 s between points plus the point itself; 90 s at a changeover, 120 s
# at a set break).
POINT_SECONDS = 35
CHANGEOVER_SECONDS = 90
SET_BREAK_SECONDS = 120
GAME_POINTS = 4
TIEBREAK_POINTS = 7
SET_GAMES = 6


@dataclass(frozen=True)
class TennisMatch:
    """A match drawn point by point: who served first, each game's points ("H"/"A" letters, a
    tie-break being one game) grouped by set, and the sets' final games."""

    home_served_first: bool
    sets: tuple[tuple[str, ...], ...]
    set_games: tuple[tuple[int, int], ...]

    @property
    def home_won(self) -> bool:
        home = sum(1 for h, a in self.set_games if h > a)
        return home > len(self.set_games) - home


def _race(
    home_first: bool, tiebreak: bool, p_home: float, p_away: float, rng: random.Random
) -> str:
    """A game (or a tie-break) point by point, until one side has four (seven) points and two
    clear; `home_first`: home serves its first point. In a tie-break the first server serves
    point 0, then each serves two: the first server's are 0, 3, 4, 7, 8, ..."""
    target = TIEBREAK_POINTS if tiebreak else GAME_POINTS
    points: list[str] = []
    home = away = 0
    while max(home, away) < target or abs(home - away) < 2:
        k = len(points)
        home_serving = home_first if not tiebreak or ((k + 1) // 2) % 2 == 0 else not home_first
        p = p_home if home_serving else 1.0 - p_away  # P(home wins the point)
        if rng.random() < p:
            home += 1
            points.append("H")
        else:
            away += 1
            points.append("A")
    return "".join(points)


def draw_tennis_match(
    p_home: float, p_away: float, best_of_sets: int, rng: random.Random
) -> TennisMatch:
    """One match: p_home (p_away) is the chance the home (away) player wins a point on serve."""
    if not (0.0 < p_home < 1.0 and 0.0 < p_away < 1.0):
        raise ValueError("serve-point win probabilities must lie in (0, 1)")
    if best_of_sets not in (3, 5):
        raise ValueError("best_of_sets must be 3 or 5")
    need = best_of_sets // 2 + 1
    home_first = rng.random() < 0.5
    home_serving = home_first
    sets: list[tuple[str, ...]] = []
    set_games: list[tuple[int, int]] = []
    while max(sum(h > a for h, a in set_games), sum(a > h for h, a in set_games)) < need:
        games: list[str] = []
        home = away = 0
        while not (max(home, away) >= SET_GAMES and abs(home - away) >= 2) and not (
            max(home, away) == SET_GAMES + 1 and min(home, away) == SET_GAMES
        ):
            tiebreak = home == away == SET_GAMES
            played = _race(home_serving, tiebreak, p_home, p_away, rng)
            # The serve alternates by game; the receiver of a tie-break's first point serves
            # the next set first (the same alternation, the tie-break counting as one game).
            home_serving = not home_serving
            games.append(played)
            if played.count("H") > played.count("A"):
                home += 1
            else:
                away += 1
        sets.append(tuple(games))
        set_games.append((home, away))
    return TennisMatch(home_first, tuple(sets), tuple(set_games))


def tennis_script(
    fixture: Mapping[str, Any],
    p_home: float,
    p_away: float,
    rng: random.Random,
    best_of_sets: int = 3,
) -> dict[str, Any]:
    """A whole match for `fixture` (the script's fixture dict, which gets `best_of_sets`), the
    home (away) player winning a point on serve with p_home (p_away)."""
    match = draw_tennis_match(p_home, p_away, best_of_sets, rng)
    events: list[dict[str, Any]] = [
        {"at": 0, "type": "MATCH_STARTED", "side": "home" if match.home_served_first else "away"}
    ]
    at = POINT_SECONDS
    for number, games in enumerate(match.sets):
        if number:
            at += SET_BREAK_SECONDS
        for k, points in enumerate(games):
            events.append({"at": at, "points": points, "every": POINT_SECONDS})
            at += len(points) * POINT_SECONDS
            if k % 2 == 0 and k + 1 < len(games):
                at += CHANGEOVER_SECONDS  # after the set's 1st, 3rd, 5th ... game
    events.append({"at": at, "type": "MATCH_ENDED"})
    return {"fixture": {**fixture, "best_of_sets": best_of_sets}, "events": events}

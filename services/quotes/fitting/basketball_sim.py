"""Live basketball match scripts drawn from the fitted model, for the feed simulator.

    python -m services.quotes.fitting.basketball_sim --home BOS --away LAL --seed 7 \
        --out services/live/scripts/basketball.json

A game is drawn the way the priced model sees it, so that live markets settle on games of the
model's own distribution rather than on a toy:
- the regulation margin and total from the fit's normals (its expectation for the matchup,
  home advantage included; `margin_sigma`, `total_sigma`), giving each side's points;
- each side's points split into made baskets of 1, 2 and 3 points in the NBA's proportions
  (2022-23 per team and game: ~18 free throws, ~30 twos, ~12 threes made), at uniformly random
  seconds of the 48-minute play clock (a Poisson process given its count);
- a regulation tie plays five-minute overtimes, each a short game of 5/48 of the expectation
  and variance (the priced model's overtime), until one is not tied.

The script's `at` is the match timeline: play-clock seconds stretched by the clock's stoppages
(timeouts, fouls, reviews) plus the quarter breaks and half-time, about 1 h 45 for regulation;
`elapsed` is the play clock the feed reports (quarters of 720 s, overtimes of 300 s).
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.quotes.fitting.basketball import (
    NBA_TEAMS,
    BasketballFit,
    participant_id,
    shipped_fit,
    team_name,
)

QUARTER_SECONDS = 12 * 60
QUARTERS = 4
REGULATION_SECONDS = QUARTERS * QUARTER_SECONDS
OVERTIME_SECONDS = 5 * 60
OVERTIME_FRACTION = OVERTIME_SECONDS / REGULATION_SECONDS
# Timeline seconds per play-clock second (an NBA quarter's 12 minutes take about 20 to play).
STOPPAGE_FACTOR = 1.75
QUARTER_BREAK_SECONDS = 130
HALF_TIME_SECONDS = 15 * 60
# Shares of made baskets by value (2022-23 NBA per team and game: 18.4 free throws, 29.9 twos,
# 12.3 threes made).
BASKET_SHARES = ((1, 18.4), (2, 29.9), (3, 12.3))
# No NBA side has scored under 60 or over 180 in regulation in decades; the normal's far tails
# are cut there rather than scripting a game no one would believe.
MIN_POINTS, MAX_POINTS = 60, 180


def _baskets(points: int, rng: random.Random) -> list[int]:
    """Made baskets of 1, 2 or 3 summing to `points`."""
    values = [v for v, _ in BASKET_SHARES]
    weights = [w for _, w in BASKET_SHARES]
    out: list[int] = []
    left = points
    while left > 0:
        value = rng.choices(values, weights)[0]
        value = min(value, left)
        out.append(value)
        left -= value
    return out


def _sides(
    margin_mu: float, margin_sigma: float, total_mu: float, total_sigma: float, rng: random.Random
) -> tuple[int, int]:
    margin = rng.gauss(margin_mu, margin_sigma)
    total = rng.gauss(total_mu, total_sigma)
    return max(0, round((total + margin) / 2)), max(0, round((total - margin) / 2))


def _spread(
    baskets: list[int], start: int, length: int, rng: random.Random
) -> list[tuple[int, int]]:
    """(play-clock second, points) at distinct whole seconds strictly inside the stretch, none
    on a quarter's first or last second (those carry the period's own events)."""
    seconds = [s for s in range(start + 1, start + length) if (s - start) % QUARTER_SECONDS]
    chosen = sorted(rng.sample(seconds, len(baskets)))
    return list(zip(chosen, baskets, strict=True))


def _timeline_at(second: int, starting: bool = False) -> int:
    """Timeline seconds at a play-clock second: stoppages stretch play; breaks come between
    periods (after Q1 and Q3 a short break, at half-time a long one, before each overtime a
    short one). A period starting at `second` is after the break before it."""
    at = second * STOPPAGE_FACTOR
    ends = [k * QUARTER_SECONDS for k in range(1, QUARTERS)]
    ends += [REGULATION_SECONDS + k * OVERTIME_SECONDS for k in range(second // OVERTIME_SECONDS)]
    for end in ends:
        if second > end or (starting and second == end):
            at += HALF_TIME_SECONDS if end == 2 * QUARTER_SECONDS else QUARTER_BREAK_SECONDS
    return round(at)


def _period_of(second: int) -> int:
    if second <= REGULATION_SECONDS:
        return min(QUARTERS, (second - 1) // QUARTER_SECONDS + 1)
    return QUARTERS + (second - REGULATION_SECONDS - 1) // OVERTIME_SECONDS + 1


def simulate(
    model: BasketballFit, home: str, away: str, rng: random.Random, neutral: bool = False
) -> tuple[list[tuple[int, str, int]], int]:
    """Scoring events (play-clock second, "home"/"away", points) in order, and the periods
    played (4, or more after overtimes)."""
    home_mu, away_mu = model.expected_points(home, away, neutral)
    margin_mu, total_mu = home_mu - away_mu, home_mu + away_mu
    while True:
        home_points, away_points = _sides(
            margin_mu, model.margin_sigma, total_mu, model.total_sigma, rng
        )
        low, high = sorted((home_points, away_points))
        if low >= MIN_POINTS and high <= MAX_POINTS:
            break
    events = [
        (s, "home", p) for s, p in _spread(_baskets(home_points, rng), 0, REGULATION_SECONDS, rng)
    ]
    events += [
        (s, "away", p) for s, p in _spread(_baskets(away_points, rng), 0, REGULATION_SECONDS, rng)
    ]
    periods = QUARTERS
    lead = home_points - away_points
    while lead == 0:
        start = REGULATION_SECONDS + (periods - QUARTERS) * OVERTIME_SECONDS
        periods += 1
        extra_home, extra_away = _sides(
            margin_mu * OVERTIME_FRACTION,
            model.margin_sigma * math.sqrt(OVERTIME_FRACTION),
            total_mu * OVERTIME_FRACTION,
            model.total_sigma * math.sqrt(OVERTIME_FRACTION),
            rng,
        )
        events += [
            (s, "home", p)
            for s, p in _spread(_baskets(extra_home, rng), start, OVERTIME_SECONDS, rng)
        ]
        events += [
            (s, "away", p)
            for s, p in _spread(_baskets(extra_away, rng), start, OVERTIME_SECONDS, rng)
        ]
        lead = extra_home - extra_away
    # Two baskets never share a second: ties between the sides are broken by side.
    events.sort(key=lambda e: (e[0], e[1]))
    return events, periods


def script(
    model: BasketballFit,
    home: str,
    away: str,
    seed: int,
    fixture_id: str | None = None,
) -> dict[str, Any]:
    """A whole match script (services/live/simulator.py's format) for `home` v `away`."""
    rng = random.Random(seed)
    scoring, periods = simulate(model, home, away, rng)
    home_id, away_id = participant_id(home), participant_id(away)
    events: list[dict[str, Any]] = [{"at": 0, "type": "MATCH_STARTED", "period": 1}]
    by_period: dict[int, list[tuple[int, str, int]]] = {}
    for second, side, points in scoring:
        by_period.setdefault(_period_of(second), []).append((second, side, points))
    for period in range(1, periods + 1):
        if period <= QUARTERS:
            start, end = (period - 1) * QUARTER_SECONDS, period * QUARTER_SECONDS
        else:
            start = REGULATION_SECONDS + (period - QUARTERS - 1) * OVERTIME_SECONDS
            end = start + OVERTIME_SECONDS
        if period > 1:
            events.append(
                {
                    "at": _timeline_at(start, starting=True),
                    "type": "PERIOD_STARTED",
                    "period": period,
                    "elapsed": start,
                }
            )
        for second, side, points in by_period.get(period, []):
            events.append(
                {
                    "at": _timeline_at(second),
                    "type": "POINTS_SCORED",
                    "side": side,
                    "points": points,
                    "period": period,
                    "elapsed": second,
                }
            )
        last = period == periods
        events.append(
            {
                "at": _timeline_at(end),
                "type": "MATCH_ENDED" if last else "PERIOD_ENDED",
                "period": period,
                "elapsed": end,
            }
        )
    return {
        "fixture": {
            "fixture_id": fixture_id or f"sim-{home_id[3:]}-{away_id[3:]}",
            "sport": "basketball",
            "competition_id": "nba",
            "competitionName": "NBA",
            "home": {"participantId": home_id, "name": team_name(home)},
            "away": {"participantId": away_id, "name": team_name(away)},
        },
        "events": events,
    }


def dumps(value: dict[str, Any]) -> str:
    """One event a line: a script stays readable and its diffs small."""
    lines = ",\n    ".join(json.dumps(e) for e in value["events"])
    fixture = json.dumps(value["fixture"], indent=2).replace("\n", "\n  ")
    return f'{{\n  "fixture": {fixture},\n  "events": [\n    {lines}\n  ]\n}}\n'


def write_script(value: dict[str, Any], out: Path | None) -> int:
    """A generator's --out: the script written to `out`, or to standard output without one."""
    text = dumps(value)
    if out:
        out.write_text(text)
    else:
        print(text, end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.quotes.fitting.basketball_sim")
    parser.add_argument("--home", default="BOS", choices=sorted(NBA_TEAMS))
    parser.add_argument("--away", default="LAL", choices=sorted(NBA_TEAMS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fixture-id")
    parser.add_argument("--out", type=Path, help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    model, _, _ = shipped_fit()
    return write_script(script(model, args.home, args.away, args.seed, args.fixture_id), args.out)


if __name__ == "__main__":
    raise SystemExit(main())

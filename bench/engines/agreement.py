"""Benign cross-engine disagreement over a week of fixtures, no fault injected.

    .venv/bin/python bench/engines/agreement.py [--fixtures 2100] [--states 6] [--noise 1e-12]

Prices a week of fixtures (the same week as bench/gateway/consensus.py: --fixtures split over
the three sports, pairs of the demo snapshots' participants) pre-match and at --states in-play
states each (a match's course: football minute and score, tennis sets/games/points, basketball
period and score), with both engines of each sport, and applies the gateway's own agreement
rule (gateway/domain/agreement.py) to the answers of a 2 + 1 replica set (k = 2, two engines):
- markets whose canonical bytes differ between the engines;
- markets the rule withholds (the target: under 0.1%).
A second pass perturbs the independent engine's fair probabilities by a relative --noise
(a different float evaluation order) to show how the tolerance absorbs rounding straddles.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.gateway.consensus import pairings
from gateway.domain.agreement import Answer, agree
from services.quotes.domain import pricing
from services.quotes.domain.engines import ENGINES
from services.quotes.domain.independent import basketball_cdf, football_direct, tennis_closed_form
from services.quotes.domain.snapshots import snapshot_hash
from tests.support.demo_snapshots import demo_snapshots

NAMES = {
    sport_pb2.SPORT_FOOTBALL: "football",
    sport_pb2.SPORT_TENNIS: "tennis",
    sport_pb2.SPORT_BASKETBALL: "basketball",
}


def week(snapshot: Any, count: int) -> list[sport_pb2.Fixture]:
    which = snapshot.WhichOneof("parameters")
    params = getattr(snapshot, which)
    ids = [p.participant_id for p in (params.players if which == "tennis" else params.teams)]
    fixtures = []
    for n, (home, away) in enumerate(pairings(ids, count)):
        fixtures.append(
            sport_pb2.Fixture(
                fixture_id=f"week-{which}-{n}",
                sport=snapshot.sport,
                best_of_sets=(5 if n % 4 == 0 else 3) if which == "tennis" else 0,
                neutral_venue=n % 10 == 0,
                home=sport_pb2.Participant(participant_id=home),
                away=sport_pb2.Participant(participant_id=away),
            )
        )
    return fixtures


def course(
    sport: sport_pb2.Sport.ValueType, states: int, rng: random.Random
) -> Iterator[game_state_pb2.GameState]:
    """In-play states along one simulated match."""
    if sport == sport_pb2.SPORT_FOOTBALL:
        home = away = red_h = red_a = 0
        for i in range(states):
            minute = (i + 1) * 90 // (states + 1)
            if rng.random() < 0.3:
                home += 1
            if rng.random() < 0.25:
                away += 1
            red_h += rng.random() < 0.03
            red_a += rng.random() < 0.03
            state = game_state_pb2.GameState(
                period=1 if minute < 45 else 2, elapsed_seconds=minute * 60, event_sequence=i + 1
            )
            f = state.football
            f.home_goals, f.away_goals, f.home_red_cards, f.away_red_cards = (
                home,
                away,
                red_h,
                red_a,
            )
            yield state
    elif sport == sport_pb2.SPORT_BASKETBALL:
        home = away = 0
        for i in range(states):
            elapsed = (i + 1) * 2_880 // (states + 1)
            home += rng.randint(10, 30)
            away += rng.randint(10, 30)
            state = game_state_pb2.GameState(
                period=min(4, elapsed // 720 + 1), elapsed_seconds=elapsed, event_sequence=i + 1
            )
            state.basketball.home_points, state.basketball.away_points = home, away
            yield state
    else:
        sets: list[tuple[int, int]] = []
        for i in range(states):
            state = game_state_pb2.GameState(period=1, event_sequence=i + 1)
            if i % 3 == 2 and len(sets) < 2:
                sets.append(rng.choice([(6, 3), (4, 6), (7, 6), (6, 7), (7, 5), (2, 6)]))
            for a, b in sets:
                done = state.tennis.sets.add()
                done.home_games, done.away_games = a, b
            current = state.tennis.sets.add()
            current.home_games, current.away_games = rng.randint(0, 5), rng.randint(0, 5)
            state.tennis.home_points, state.tennis.away_points = (
                rng.randint(0, 3),
                rng.randint(0, 3),
            )
            state.tennis.home_serving = rng.random() < 0.5
            yield state


def noisy(model: Callable[..., Any], noise: float, rng: random.Random) -> Callable[..., Any]:
    def perturbed(*args: Any, **kwargs: Any) -> Any:
        markets = model(*args, **kwargs)
        for market in markets:
            for selection in market.selections:
                selection.probability *= 1.0 + noise * rng.uniform(-1.0, 1.0)
        return markets

    return perturbed


def run(fixtures_per_sport: int, states: int, seed: int) -> dict[str, list[int]]:
    rng = random.Random(seed)
    totals: dict[str, list[int]] = {}
    for snapshot in demo_snapshots():
        sport = snapshot.sport
        name = NAMES[sport]
        reference, independent = ENGINES[sport]
        digest = snapshot_hash(snapshot)
        counts = totals.setdefault(name, [0, 0, 0, 0])  # sets, markets, differing, withheld
        for fixture in week(snapshot, fixtures_per_sport):
            for state in (None, *course(sport, states, rng)):
                a = pricing.price_fixture(fixture, snapshot, digest, [], state, sport, reference)
                b = pricing.price_fixture(fixture, snapshot, digest, [], state, sport, independent)
                data_a, data_b = pricing.canonicalise(a), pricing.canonicalise(b)
                counts[0] += 1
                counts[1] += len(a.markets)
                if data_a == data_b:
                    continue  # the fast path: identical digests
                differing = {m.market_id: m for m in b.markets}
                counts[2] += sum(
                    1
                    for m in a.markets
                    if m.market_id not in differing
                    or m.SerializeToString(deterministic=True)
                    != differing[m.market_id].SerializeToString(deterministic=True)
                )
                result = agree(
                    [
                        Answer("a1", reference, market_pb2.QuoteSet.FromString(data_a)),
                        Answer("a2", reference, market_pb2.QuoteSet.FromString(data_a)),
                        Answer("b1", independent, market_pb2.QuoteSet.FromString(data_b)),
                    ],
                    quorum=2,
                    min_engines=2,
                )
                counts[3] += (
                    len(result.withheld) if result.quote_set is not None else len(a.markets)
                )
    return totals


def report(title: str, totals: dict[str, list[int]]) -> None:
    print(title)
    header = ("quote sets", 11), ("markets", 10), ("differing", 11), ("withheld", 10)
    print(f"  {'sport':<11}" + "".join(f"{h:>{w}}" for h, w in header) + f"{'rate':>10}")
    all_markets = all_withheld = 0
    for name, (sets, markets, differing, withheld) in totals.items():
        all_markets += markets
        all_withheld += withheld
        print(
            f"  {name:<11}{sets:>11}{markets:>10}{differing:>11}{withheld:>10}"
            f"{withheld / markets:>10.5%}"
        )
    rate = all_withheld / all_markets
    print(f"  all markets withheld: {all_withheld} of {all_markets} ({rate:.5%})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fixtures", type=int, default=2100)
    parser.add_argument("--states", type=int, default=6)
    parser.add_argument("--noise", type=float, default=1e-12)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    per_sport = args.fixtures // 3
    started = time.perf_counter()
    report(
        f"no fault, {per_sport} fixtures per sport, pre-match + {args.states} in-play states each",
        run(per_sport, args.states, args.seed),
    )
    rng = random.Random(args.seed)
    football_direct.model = noisy(football_direct.model, args.noise, rng)  # type: ignore[method-assign]
    tennis_closed_form.model = noisy(tennis_closed_form.model, args.noise, rng)  # type: ignore[method-assign]
    basketball_cdf.model = noisy(basketball_cdf.model, args.noise, rng)  # type: ignore[method-assign]
    report(
        f"independent engine's probabilities perturbed by a relative {args.noise:g}",
        run(per_sport, args.states, args.seed),
    )
    print(f"elapsed {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

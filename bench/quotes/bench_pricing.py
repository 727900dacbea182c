"""Tennis and basketball pricing speed, and the cost of margin + ladder per market.

    .venv/bin/python -m bench.quotes.bench_pricing

Full market sets through the same `price_fixture` + canonical serialisation + digest the
replica runs. The baseline measured in the same run is the football 1X2-only pipeline (one
Dixon-Coles grid, one market), so figures are also given as a ratio to it. Margin + ladder is
timed per market on a 3-way market for each method, beside the model-free baseline of only
converting the probabilities to e9.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable

from betmesh.common.v1 import market_pb2, sport_pb2

from services.quotes.domain import margin
from services.quotes.domain.pricing import canonicalise, price_fixture, quote_digest
from services.quotes.domain.snapshots import snapshot_hash
from tests.support.demo_snapshots import (
    demo_basketball_snapshot,
    demo_football_snapshot,
    demo_tennis_snapshot,
)


def per_call(fn: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Median seconds per call over `repeats` runs of n calls."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - start) / n)
    return statistics.median(runs)


def fixtures(
    snapshot_ids: list[str], sport: sport_pb2.Sport.ValueType, best_of: int
) -> list[sport_pb2.Fixture]:
    return [
        sport_pb2.Fixture(
            fixture_id=f"f{i}",
            sport=sport,
            home=sport_pb2.Participant(participant_id=h),
            away=sport_pb2.Participant(participant_id=a),
            best_of_sets=best_of,
        )
        for i, (h, a) in enumerate(itertools.permutations(snapshot_ids, 2))
    ]


def pipeline(snapshot, fixture_list, types) -> Callable[[], object]:  # type: ignore[no-untyped-def]
    key = snapshot_hash(snapshot)
    cycle = itertools.cycle(fixture_list)

    def run() -> object:
        quote_set = price_fixture(next(cycle), snapshot, key, types, None, snapshot.sport)
        return quote_digest(canonicalise(quote_set))

    return run


def main() -> None:
    football = demo_football_snapshot()
    tennis = demo_tennis_snapshot()
    basketball = demo_basketball_snapshot()
    fb = fixtures([t.participant_id for t in football.football.teams], sport_pb2.SPORT_FOOTBALL, 0)
    tn_ids = [p.participant_id for p in tennis.tennis.players]
    bb = fixtures(
        [t.participant_id for t in basketball.basketball.teams], sport_pb2.SPORT_BASKETBALL, 0
    )
    base = per_call(pipeline(football, fb, [market_pb2.MARKET_TYPE_MATCH_RESULT]), 300)
    rows = [("football 1X2 only (baseline)", base, 1)]
    for label, snap, fx in [
        ("tennis best of 3, full set", tennis, fixtures(tn_ids, sport_pb2.SPORT_TENNIS, 3)),
        ("tennis best of 5, full set", tennis, fixtures(tn_ids, sport_pb2.SPORT_TENNIS, 5)),
        ("basketball, full set", basketball, bb),
    ]:
        markets = len(price_fixture(fx[0], snap, snapshot_hash(snap), [], None, snap.sport).markets)
        rows.append((label, per_call(pipeline(snap, fx, []), 100), markets))
    print("| pipeline | markets | per fixture | fixtures/s | x baseline time |")
    print("|---|---|---|---|---|")
    for label, seconds, markets in rows:
        print(
            f"| {label} | {markets} | {seconds * 1e6:,.0f} us | {1 / seconds:,.0f} | "
            f"{seconds / base:.1f} |"
        )

    probabilities = [0.55, 0.27, 0.18]
    e9 = [margin.to_probability_e9(p) for p in probabilities]
    floor = per_call(lambda: [margin.to_probability_e9(p) for p in probabilities], 20_000)
    print()
    print("| margin + ladder, 3-way market | per market | x e9 conversion only |")
    print("|---|---|---|")
    print(f"| e9 conversion only (baseline) | {floor * 1e6:.2f} us | 1.0 |")
    for method in margin.Method:

        def run(m: margin.Method = method) -> object:
            return margin.price(e9, m, 8_500, 10_100)

        t = per_call(run, 2_000)
        print(f"| {method.value} | {t * 1e6:.2f} us | {t / floor:.0f} |")


if __name__ == "__main__":
    main()

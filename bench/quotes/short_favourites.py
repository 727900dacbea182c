"""Short favourites on offer: the retired per-market 85% cap against the one policy.

    .venv/bin/python -m bench.quotes.short_favourites

Prices real fixtures from the shipped fits, pre-match, twice in the same run:
- baseline: the policy as it was (multiplicative margin at an 85% payout per market, minimum
  1.01, a selection under it withdrawn), the retired per-market cap;
- policy: the default pricing policy (odds-ratio at 85%, short prices floored at 1.01 where the
  floor is not above fair).
Counts, per market type, the markets left one-sided (a selection withdrawn while its fair odds
were at least 1.01, i.e. withdrawn by the margin and not by the model), the selections so
withdrawn, and the median pricing time per fixture. Football: every Premier League 2023/24
match from the shipped fit; basketball: every NBA 2022-23 game from the shipped fit; tennis:
every ordered pair of the demo snapshot's players, best of 3 and of 5.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from services.quotes.domain.pricing import price_fixture
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.fitting import basketball as basketball_fit
from services.quotes.fitting import football as football_fit
from services.quotes.fitting.data import participant_id
from tests.support.demo_snapshots import demo_tennis_snapshot

FLOOR = 10_100


def retired_policy() -> snapshot_pb2.PricingPolicy:
    return snapshot_pb2.PricingPolicy(
        default_margin=snapshot_pb2.MarketMargin(
            method=snapshot_pb2.MARGIN_METHOD_MULTIPLICATIVE, target_payout_e4=8_500
        ),
        min_odds_e4=FLOOR,
    )


def fixture(sport: int, home: str, away: str, best_of: int = 0) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id="bench",
        sport=sport,  # type: ignore[arg-type]
        home=sport_pb2.Participant(participant_id=home),
        away=sport_pb2.Participant(participant_id=away),
        best_of_sets=best_of,
    )


@dataclass
class Tally:
    one_sided: Counter[str] = field(default_factory=Counter)
    withdrawn: Counter[str] = field(default_factory=Counter)
    markets: Counter[str] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    payouts: list[int] = field(default_factory=list)

    def add(self, quote_set: market_pb2.QuoteSet, seconds: float) -> None:
        self.seconds.append(seconds)
        for m in quote_set.markets:
            name = market_pb2.MarketType.Name(m.type).removeprefix("MARKET_TYPE_")
            self.markets[name] += 1
            self.payouts.append(m.payout_e4)
            # Withdrawn by the margin, not by the model: its fair odds were at least 1.01.
            lost = [
                s
                for s in m.selections
                if s.odds_e4 == 0 and s.probability_e9 and s.probability_e9 * FLOOR <= 10**13
            ]
            self.withdrawn[name] += len(lost)
            self.one_sided[name] += bool(lost)


def report(
    title: str, snapshot: snapshot_pb2.ModelSnapshot, fixtures: list[sport_pb2.Fixture]
) -> None:
    old = snapshot_pb2.ModelSnapshot()
    old.CopyFrom(snapshot)
    old.pricing_policy.CopyFrom(retired_policy())
    runs = [(old, snapshot_hash(old), Tally()), (snapshot, snapshot_hash(snapshot), Tally())]
    for fx in fixtures:
        # Interleaved, fixture by fixture, so the shared machine's noise hits both alike.
        for snap, key, tally in runs:
            start = time.perf_counter()
            quote_set = price_fixture(fx, snap, key, [], None, snap.sport)
            tally.add(quote_set, time.perf_counter() - start)
    before, after = runs[0][2], runs[1][2]
    print(f"\n{title}: {len(fixtures)} fixtures")
    print(
        "| market type | markets | one-sided: retired cap | one-sided: policy "
        "| selections withdrawn by the margin: retired cap / policy |"
    )
    print("|---|---|---|---|---|")
    for name in sorted(after.markets):
        print(
            f"| {name} | {after.markets[name]} | {before.one_sided[name]} | "
            f"{after.one_sided[name]} | {before.withdrawn[name]} / {after.withdrawn[name]} |"
        )
    print(
        f"median per fixture: retired cap {statistics.median(before.seconds) * 1e3:.2f} ms, "
        f"policy {statistics.median(after.seconds) * 1e3:.2f} ms; mean stated market payout: "
        f"{statistics.mean(before.payouts) / 100:.2f}% / "
        f"{statistics.mean(after.payouts) / 100:.2f}%"
    )


def pairs(ids: Iterable[str]) -> list[tuple[str, str]]:
    return list(itertools.permutations(sorted(ids), 2))


def main() -> None:
    rows, _ = football_fit.football_rows()
    epl = [r for r in rows if r.competition == "Premier League" and r.season == "2023-24"]
    football = football_fit.fit_shipped()
    report(
        "Football, Premier League 2023/24 (shipped fit)",
        football,
        [
            fixture(sport_pb2.SPORT_FOOTBALL, participant_id(r.home), participant_id(r.away))
            for r in epl
        ],
    )
    games, _ = basketball_fit.read_games()
    basketball = basketball_fit.fit_shipped()
    known = {t.participant_id for t in basketball.basketball.teams}
    report(
        "Basketball, NBA 2022-23 (shipped fit)",
        basketball,
        [
            fixture(
                sport_pb2.SPORT_BASKETBALL,
                basketball_fit.participant_id(g.home),
                basketball_fit.participant_id(g.away),
            )
            for g in games
            if {basketball_fit.participant_id(g.home), basketball_fit.participant_id(g.away)}
            <= known
        ],
    )
    tennis = demo_tennis_snapshot()
    players = [p.participant_id for p in tennis.tennis.players]
    for best_of in (3, 5):
        report(
            f"Tennis best of {best_of} (demo snapshot, every ordered pair)",
            tennis,
            [fixture(sport_pb2.SPORT_TENNIS, a, b, best_of) for a, b in pairs(players)],
        )


if __name__ == "__main__":
    main()

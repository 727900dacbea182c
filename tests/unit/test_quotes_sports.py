"""The pricing pipeline for the three sports: every market at its target payout, on the
ladder, short prices floored at the minimum (withdrawn only where even the floor would pay more
than fair), and the requests that must be refused."""

from __future__ import annotations

import pytest
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from service_runtime.errors import FailedPrecondition, InvalidArgument
from services.quotes.domain import ladder
from services.quotes.domain.pricing import canonicalise, price_fixture
from services.quotes.domain.snapshots import snapshot_hash
from tests.support.demo_snapshots import (
    demo_basketball_snapshot,
    demo_football_snapshot,
    demo_tennis_snapshot,
)

# (snapshot, home, away, best of)
CASES = [
    (demo_football_snapshot, "fb:man-city", "fb:man-united", 0),
    (demo_tennis_snapshot, "tn:sinner", "tn:de-minaur", 3),
    (demo_tennis_snapshot, "tn:alcaraz", "tn:fritz", 5),
    (demo_basketball_snapshot, "bb:celtics", "bb:spurs", 0),
]


def fixture(
    sport: sport_pb2.Sport.ValueType, home: str, away: str, best_of: int = 0
) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id="fx",
        sport=sport,
        home=sport_pb2.Participant(participant_id=home),
        away=sport_pb2.Participant(participant_id=away),
        best_of_sets=best_of,
    )


def price(
    snapshot: snapshot_pb2.ModelSnapshot,
    fx: sport_pb2.Fixture,
    types: list[market_pb2.MarketType.ValueType] | None = None,
) -> market_pb2.QuoteSet:
    return price_fixture(fx, snapshot, snapshot_hash(snapshot), types or [], None, snapshot.sport)


@pytest.mark.parametrize(("make", "home", "away", "best_of"), CASES)
def test_every_market_is_at_its_target_on_the_ladder_and_floors_short_prices(
    make: object, home: str, away: str, best_of: int
) -> None:
    snapshot = make()  # type: ignore[operator]
    quote_set = price(snapshot, fixture(snapshot.sport, home, away, best_of))
    types = {m.type for m in quote_set.markets}
    assert len(types) >= 3
    floored = 0
    for market in quote_set.markets:
        at_floor = any(s.odds_e4 == ladder.MIN_ODDS_E4 for s in market.selections)
        floored += at_floor
        # Only a floored short price lifts a market above its target (85%), never to 100%.
        assert 0 < market.payout_e4 <= (9_999 if at_floor else 8_500), market.market_id
        for s in market.selections:
            # Withdrawn exactly when even 1.01 would pay more than the fair odds.
            below_floor = s.probability_e9 * ladder.MIN_ODDS_E4 > 10**13
            if s.status == market_pb2.SELECTION_STATUS_WITHDRAWN:
                assert s.odds_e4 == 0
                assert below_floor, (market.market_id, s.selection_id, s.probability_e9)
            else:
                assert not below_floor, (market.market_id, s.selection_id)
                assert s.odds_e4 in ladder.LADDER
                assert s.odds_e4 * s.probability_e9 <= 10**13
    assert canonicalise(quote_set) == canonicalise(
        price(snapshot, fixture(snapshot.sport, home, away, best_of))
    )


def test_the_policy_picks_method_and_target_per_market_type() -> None:
    snapshot = demo_tennis_snapshot()
    snapshot.pricing_policy.margins.append(
        snapshot_pb2.MarketMargin(
            market_type=market_pb2.MARKET_TYPE_MATCH_WINNER,
            method=snapshot_pb2.MARGIN_METHOD_POWER,
            target_payout_e4=8_000,
        )
    )
    snapshot.pricing_policy.margins.append(
        snapshot_pb2.MarketMargin(
            market_type=market_pb2.MARKET_TYPE_SET_BETTING,
            method=snapshot_pb2.MARGIN_METHOD_SHIN,
            target_payout_e4=9_300,  # no per-market cap any more: 93% is priced as asked
        )
    )
    quote_set = price(snapshot, fixture(sport_pb2.SPORT_TENNIS, "tn:sinner", "tn:rune", 3))
    by_type = {m.type: m for m in quote_set.markets}
    assert 7_900 < by_type[market_pb2.MARKET_TYPE_MATCH_WINNER].payout_e4 <= 8_000
    assert 9_150 < by_type[market_pb2.MARKET_TYPE_SET_BETTING].payout_e4 <= 9_300


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        (snapshot_pb2.PricingPolicy(payout_cap_e4=8_500), "payout_cap_e4 is retired"),
        (
            snapshot_pb2.PricingPolicy(
                live_default_margin=snapshot_pb2.MarketMargin(
                    method=snapshot_pb2.MARGIN_METHOD_ADDITIVE
                )
            ),
            "live_margins and live_default_margin are retired",
        ),
        (
            snapshot_pb2.PricingPolicy(
                live_margins=[snapshot_pb2.MarketMargin(target_payout_e4=9_000)]
            ),
            "are retired",
        ),
        (
            snapshot_pb2.PricingPolicy(min_odds_e4=10_150, floor_short_prices=True),
            "not a ladder price",
        ),
        (snapshot_pb2.PricingPolicy(min_odds_e4=10_000), "below the ladder"),
        (
            snapshot_pb2.PricingPolicy(
                default_margin=snapshot_pb2.MarketMargin(
                    method=snapshot_pb2.MarginMethod.Value("MARGIN_METHOD_SHIN"),
                    target_payout_e4=12_000,
                )
            ),
            "target payout",
        ),
    ],
)
def test_an_impossible_policy_is_a_failed_precondition(
    policy: snapshot_pb2.PricingPolicy, fragment: str
) -> None:
    snapshot = demo_basketball_snapshot()
    snapshot.pricing_policy.CopyFrom(policy)
    with pytest.raises(FailedPrecondition) as raised:
        price(snapshot, fixture(sport_pb2.SPORT_BASKETBALL, "bb:heat", "bb:lakers"))
    assert raised.value.reason == "INVALID_PRICING_POLICY"
    assert fragment in raised.value.message


def test_tennis_needs_best_of_three_or_five() -> None:
    with pytest.raises(InvalidArgument) as raised:
        price(demo_tennis_snapshot(), fixture(sport_pb2.SPORT_TENNIS, "tn:sinner", "tn:rune", 4))
    assert raised.value.reason == "INVALID_BEST_OF_SETS"


def test_unknown_players_are_named() -> None:
    with pytest.raises(InvalidArgument) as raised:
        price(demo_tennis_snapshot(), fixture(sport_pb2.SPORT_TENNIS, "tn:nobody", "tn:rune", 3))
    assert raised.value.reason == "UNKNOWN_PARTICIPANT"
    assert raised.value.metadata == {"participant_ids": "tn:nobody"}


def test_impossible_snapshot_parameters_are_refused() -> None:
    snapshot = demo_basketball_snapshot()
    snapshot.basketball.margin_sigma = 0.0
    with pytest.raises(FailedPrecondition) as raised:
        price(snapshot, fixture(sport_pb2.SPORT_BASKETBALL, "bb:heat", "bb:lakers"))
    assert raised.value.reason == "INVALID_SNAPSHOT_PARAMETERS"
    tennis = demo_tennis_snapshot()
    tennis.tennis.final_set_tiebreak_points = 8
    with pytest.raises(FailedPrecondition) as raised:
        price(tennis, fixture(sport_pb2.SPORT_TENNIS, "tn:sinner", "tn:rune", 5))
    assert raised.value.reason == "INVALID_SNAPSHOT_PARAMETERS"


def test_a_snapshot_of_another_sport_is_refused() -> None:
    snapshot = demo_football_snapshot()
    with pytest.raises(FailedPrecondition) as raised:
        price_fixture(
            fixture(sport_pb2.SPORT_TENNIS, "tn:sinner", "tn:rune", 3),
            snapshot,
            snapshot_hash(snapshot),
            [],
            None,
            sport_pb2.SPORT_TENNIS,
        )
    assert raised.value.reason == "SNAPSHOT_SPORT_MISMATCH"

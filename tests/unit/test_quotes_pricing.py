"""Pricing core: ladder, margin, Dixon-Coles grid, canonical output."""

from __future__ import annotations

import math

import pytest
from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2

from service_runtime.errors import InvalidArgument
from services.quotes.domain import football, ladder
from services.quotes.domain.pricing import canonicalise, price_fixture
from services.quotes.domain.snapshots import snapshot_hash
from tests.support.demo_snapshots import demo_football_snapshot


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (10_099, 0),
        (10_100, 10_100),
        (10_199, 10_100),
        (19_999, 19_900),
        (20_000, 20_000),
        (20_199, 20_000),
        (34_999, 34_500),
        (35_000, 35_000),
        (99_999, 98_000),
        (10_000_000, 10_000_000),
        (99_000_000, 10_000_000),
    ],
)
def test_round_down_to_ladder(raw: int, expected: int) -> None:
    assert ladder.round_down(raw) == expected


def test_ladder_is_strictly_increasing_and_starts_at_1_01() -> None:
    assert ladder.LADDER[0] == 10_100
    assert all(a < b for a, b in zip(ladder.LADDER, ladder.LADDER[1:], strict=False))


def test_dixon_coles_grid_matches_hand_computation() -> None:
    lam, mu, rho = 1.4, 1.1, -0.1
    grid = football.dixon_coles_grid(lam, mu, rho, 12).probabilities

    def pois(k: int, rate: float) -> float:
        return rate**k * math.exp(-rate) / math.factorial(k)

    raw00 = pois(0, lam) * pois(0, mu) * (1 - lam * mu * rho)
    raw21 = pois(2, lam) * pois(1, mu)
    # Ratios are free of the normalisation constant.
    assert grid[0, 0] / grid[2, 1] == pytest.approx(raw00 / raw21, rel=1e-12)
    assert grid.sum() == pytest.approx(1.0, abs=1e-12)


def _fixture(home: str = "fb:arsenal", away: str = "fb:chelsea") -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id="f1",
        sport=sport_pb2.SPORT_FOOTBALL,
        home=sport_pb2.Participant(participant_id=home, name="Home"),
        away=sport_pb2.Participant(participant_id=away, name="Away"),
    )


def test_match_result_probabilities_sum_to_one_and_canonical_bytes_are_stable() -> None:
    snapshot = demo_football_snapshot()
    key = snapshot_hash(snapshot)
    first = price_fixture(
        _fixture(),
        snapshot,
        key,
        [market_pb2.MARKET_TYPE_MATCH_RESULT],
        None,
        sport_pb2.SPORT_FOOTBALL,
    )
    second = price_fixture(
        _fixture(),
        snapshot,
        key,
        [market_pb2.MARKET_TYPE_MATCH_RESULT],
        None,
        sport_pb2.SPORT_FOOTBALL,
    )
    assert canonicalise(first) == canonicalise(second)
    (market,) = first.markets
    assert market.market_id == "f1/MATCH_RESULT"
    assert [s.selection_id for s in market.selections] == ["away", "draw", "home"]
    assert abs(sum(s.probability_e9 for s in market.selections) - 1_000_000_000) <= 2
    assert 0 < market.payout_e4 <= 8_500


def test_unknown_team_is_invalid_argument() -> None:
    snapshot = demo_football_snapshot()
    with pytest.raises(InvalidArgument) as raised:
        price_fixture(
            _fixture(away="fb:nobody"),
            snapshot,
            snapshot_hash(snapshot),
            [],
            None,
            sport_pb2.SPORT_FOOTBALL,
        )
    assert raised.value.reason == "UNKNOWN_PARTICIPANT"


def test_a_market_type_of_another_sport_is_invalid_argument() -> None:
    snapshot = demo_football_snapshot()
    with pytest.raises(InvalidArgument) as raised:
        price_fixture(
            _fixture(),
            snapshot,
            snapshot_hash(snapshot),
            [market_pb2.MARKET_TYPE_MONEYLINE],
            None,
            sport_pb2.SPORT_FOOTBALL,
        )
    assert raised.value.reason == "MARKET_TYPE_NOT_FOR_SPORT"


def test_in_play_pricing_needs_the_sports_game_state() -> None:
    # In-play pricing itself is tested in test_inplay_models.py.
    snapshot = demo_football_snapshot()
    with pytest.raises(InvalidArgument) as raised:
        price_fixture(
            _fixture(),
            snapshot,
            snapshot_hash(snapshot),
            [],
            game_state_pb2.GameState(event_sequence=1),
            sport_pb2.SPORT_FOOTBALL,
        )
    assert raised.value.reason == "GAME_STATE_SPORT_MISMATCH"


def test_snapshot_hash_ignores_team_order() -> None:
    snapshot = demo_football_snapshot()
    shuffled = demo_football_snapshot()
    teams = list(shuffled.football.teams)
    del shuffled.football.teams[:]
    shuffled.football.teams.extend(reversed(teams))
    assert snapshot_hash(snapshot) == snapshot_hash(shuffled)

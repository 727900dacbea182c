"""The integrity guard's rules (gateway/domain/integrity.py) on quote sets the real pricing code
produces, and on the same sets with one mistake made in them."""

from __future__ import annotations

import math

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from gateway.domain.integrity import (
    GuardPolicy,
    MoveBound,
    check_coherence,
    check_moves,
    live_bound,
    pre_match_bound,
)
from services.quotes.domain.pricing import price_fixture
from services.quotes.domain.snapshots import snapshot_hash
from tests.support.demo_snapshots import (
    demo_basketball_snapshot,
    demo_football_snapshot,
    demo_tennis_snapshot,
)

POLICY = GuardPolicy()


def fixture(sport: int, home: str, away: str) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id="f1",
        sport=sport,  # type: ignore[arg-type]
        home=sport_pb2.Participant(participant_id=home),
        away=sport_pb2.Participant(participant_id=away),
        best_of_sets=3 if sport == sport_pb2.SPORT_TENNIS else 0,
    )


def priced(
    snapshot: snapshot_pb2.ModelSnapshot | None = None,
    state: game_state_pb2.GameState | None = None,
    home: str = "fb:arsenal",
    away: str = "fb:chelsea",
) -> market_pb2.QuoteSet:
    snapshot = snapshot or demo_football_snapshot()
    return price_fixture(
        fixture(snapshot.sport, home, away),
        snapshot,
        snapshot_hash(snapshot),
        [],
        state,
        snapshot.sport,
    )


def market(quote_set: market_pb2.QuoteSet, market_id: str) -> market_pb2.Market:
    return next(m for m in quote_set.markets if m.market_id == market_id)


def selection(m: market_pb2.Market, selection_id: str) -> market_pb2.Selection:
    return next(s for s in m.selections if s.selection_id == selection_id)


def rules(quote_set: market_pb2.QuoteSet) -> set[tuple[str, str]]:
    return {(v.market_id, v.rule) for v in check_coherence(quote_set, POLICY)}


def football_state(minute: int, home: int = 0, away: int = 0) -> game_state_pb2.GameState:
    state = game_state_pb2.GameState(
        event_sequence=5, elapsed_seconds=minute * 60, period=1 if minute < 45 else 2
    )
    state.football.home_goals = home
    state.football.away_goals = away
    state.football.regulation_seconds = 5400
    return state


def test_sets_the_pricing_code_produces_break_no_rule() -> None:
    sets = [
        priced(),
        priced(state=football_state(30, 1, 0)),
        priced(state=football_state(88, 0, 2)),
        priced(demo_tennis_snapshot(), home="tn:sinner", away="tn:rune"),
        priced(demo_basketball_snapshot(), home="bb:celtics", away="bb:spurs"),
    ]
    for quote_set in sets:
        assert check_coherence(quote_set, POLICY) == []


def test_probabilities_that_do_not_sum_to_one_are_held() -> None:
    quote_set = priced()
    selection(market(quote_set, "f1/BOTH_TEAMS_TO_SCORE"), "yes").probability_e9 += 50_000_000
    assert ("f1/BOTH_TEAMS_TO_SCORE", "PROBABILITY_SUM") in rules(quote_set)


def test_a_price_above_its_fair_odds_or_a_payout_over_the_bound_is_held() -> None:
    quote_set = priced()
    total = market(quote_set, "f1/TOTAL_GOALS/250")
    over = selection(total, "over")
    over.odds_e4 = 10**13 // over.probability_e9 + 500  # better than fair
    found = rules(quote_set)
    assert ("f1/TOTAL_GOALS/250", "PRICE_ABOVE_FAIR") in found
    # Both sides better than fair: the offered prices pay out more than 100%.
    under = selection(total, "under")
    under.odds_e4 = 10**13 // under.probability_e9 + 500
    assert ("f1/TOTAL_GOALS/250", "PAYOUT_OUT_OF_BOUNDS") in rules(quote_set)


def test_a_total_line_out_of_order_is_held_with_its_neighbour() -> None:
    quote_set = priced()
    # A wrong line: the 3.5 market carries the 1.5 market's probabilities.
    low, high = market(quote_set, "f1/TOTAL_GOALS/150"), market(quote_set, "f1/TOTAL_GOALS/350")
    for s in high.selections:
        s.probability_e9 = selection(low, s.selection_id).probability_e9
    found = rules(quote_set)
    assert ("f1/TOTAL_GOALS/350", "LINES_NOT_MONOTONE") in found
    assert ("f1/TOTAL_GOALS/325", "LINES_NOT_MONOTONE") in found


def test_a_handicap_line_out_of_order_is_held() -> None:
    quote_set = priced()
    home = selection(market(quote_set, "f1/ASIAN_HANDICAP/-100"), "home")
    away = selection(market(quote_set, "f1/ASIAN_HANDICAP/-100"), "away")
    home.probability_e9, away.probability_e9 = away.probability_e9, home.probability_e9
    assert ("f1/ASIAN_HANDICAP/-100", "LINES_NOT_MONOTONE") in rules(quote_set)


def test_double_chance_and_draw_no_bet_must_follow_the_1x2() -> None:
    quote_set = priced()
    dc = market(quote_set, "f1/DOUBLE_CHANCE")
    # Swapped selections in one market's code path: X2 gets 12's probability.
    selection(dc, "X2").probability_e9, selection(dc, "12").probability_e9 = (
        selection(dc, "12").probability_e9,
        selection(dc, "X2").probability_e9,
    )
    dnb = market(quote_set, "f1/DRAW_NO_BET")
    home, away = selection(dnb, "home"), selection(dnb, "away")
    home.probability_e9, away.probability_e9 = away.probability_e9, home.probability_e9
    found = rules(quote_set)
    assert ("f1/DOUBLE_CHANCE", "RELATED_MARKETS_INCONSISTENT") in found
    assert ("f1/DRAW_NO_BET", "RELATED_MARKETS_INCONSISTENT") in found
    assert ("f1/MATCH_RESULT", "RELATED_MARKETS_INCONSISTENT") in found


def test_offered_prices_that_make_an_arbitrage_across_markets_are_held() -> None:
    quote_set = priced()
    dc = market(quote_set, "f1/DOUBLE_CHANCE")
    # 12 at 1.50 with the draw at 4.00 (1X2): 1/1.5 + 1/4 < 1 pays whatever happens.
    selection(dc, "12").odds_e4 = 15_000
    assert ("f1/DOUBLE_CHANCE", "ARBITRAGE") in rules(quote_set)


def swapped_and_doubled() -> list[snapshot_pb2.ModelSnapshot]:
    swapped = demo_football_snapshot()
    swapped.football.home_advantage = -swapped.football.home_advantage
    doubled = demo_football_snapshot()
    for team in doubled.football.teams:
        team.attack += math.log(2)
    return [swapped, doubled]


def test_a_swapped_or_doubled_snapshot_moves_prices_past_even_the_new_snapshot_bound() -> None:
    before = {m.market_id: m for m in priced().markets}
    vetted = pre_match_bound(POLICY, "sha256:old", "sha256:new", True, False)
    assert vetted == MoveBound(POLICY.snapshot_max_move_e9, "NEW_SNAPSHOT")
    for bad in swapped_and_doubled():
        after = priced(bad)
        # Coherent: only the move against the last published price gives it away.
        assert check_coherence(after, POLICY) == []
        moved = {v.market_id for v in check_moves(after, before, vetted)}
        assert "f1/MATCH_RESULT" in moved or "f1/TOTAL_GOALS/250" in moved


def test_pre_match_moves_are_explained_by_a_fixture_change_or_a_vetted_snapshot_only() -> None:
    assert pre_match_bound(POLICY, "a", "a", True, True).bound_e9 is None
    assert pre_match_bound(POLICY, "a", "b", False, False) == MoveBound(
        POLICY.pre_match_max_move_e9, "UNVETTED_SNAPSHOT"
    )
    assert pre_match_bound(POLICY, "a", "a", True, False).cause == "NO_CHANGE"


def test_a_live_move_without_a_scoring_event_is_bounded_by_the_clock() -> None:
    early = football_state(5)
    late = football_state(88)
    before = {m.market_id: m for m in priced(state=early).markets}
    # The clock jumped 83 minutes: it explains at most the capped minutes' worth.
    bound = live_bound(POLICY, early, late)
    assert bound.cause == "CLOCK"
    assert bound.bound_e9 == (
        POLICY.live_max_move_e9 + POLICY.live_move_per_minute_e9 * POLICY.live_clock_cap_minutes
    )
    moved = {v.market_id for v in check_moves(priced(state=late), before, bound)}
    assert "f1/MATCH_RESULT" in moved
    # One minute of play moves nothing past its bound.
    minute = football_state(6)
    assert check_moves(priced(state=minute), before, live_bound(POLICY, early, minute)) == []


def test_a_goal_explains_a_live_move() -> None:
    early = football_state(80)
    goal = football_state(80, home=1)
    assert live_bound(POLICY, early, goal) == MoveBound(None, "SCORING_EVENT")

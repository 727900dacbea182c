"""In-play models: football (time-remaining Poisson), tennis (conditioned Markov chain),
basketball (Brownian motion), through the pricing entry point the replicas run."""

from __future__ import annotations

import pytest
from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2

from service_runtime.errors import InvalidArgument
from services.quotes.domain import inplay_tennis, tennis
from services.quotes.domain.engines import ENGINES
from services.quotes.domain.pricing import price_fixture
from services.quotes.domain.snapshots import snapshot_hash
from tests.support.demo_snapshots import (
    demo_basketball_snapshot,
    demo_football_snapshot,
    demo_tennis_snapshot,
)

GS = game_state_pb2
FOOTBALL, TENNIS, BASKETBALL = (
    sport_pb2.SPORT_FOOTBALL,
    sport_pb2.SPORT_TENNIS,
    sport_pb2.SPORT_BASKETBALL,
)
SNAPSHOTS = {
    FOOTBALL: demo_football_snapshot(),
    TENNIS: demo_tennis_snapshot(),
    BASKETBALL: demo_basketball_snapshot(),
}
PARTICIPANTS = {
    FOOTBALL: ("fb:arsenal", "fb:chelsea"),
    TENNIS: ("tn:sinner", "tn:alcaraz"),
    BASKETBALL: ("bb:celtics", "bb:lakers"),
}


def fixture(sport: sport_pb2.Sport.ValueType, home: str = "", away: str = "") -> sport_pb2.Fixture:
    default_home, default_away = PARTICIPANTS[sport]
    return sport_pb2.Fixture(
        fixture_id="f1",
        sport=sport,
        home=sport_pb2.Participant(participant_id=home or default_home, name="Home"),
        away=sport_pb2.Participant(participant_id=away or default_away, name="Away"),
        best_of_sets=3 if sport == TENNIS else 0,
    )


def price(
    sport: sport_pb2.Sport.ValueType,
    state: game_state_pb2.GameState | None,
    fix: sport_pb2.Fixture | None = None,
) -> market_pb2.QuoteSet:
    snapshot = SNAPSHOTS[sport]
    return price_fixture(fix or fixture(sport), snapshot, snapshot_hash(snapshot), [], state, sport)


def market(quote_set: market_pb2.QuoteSet, market_id: str) -> market_pb2.Market:
    return next(m for m in quote_set.markets if m.market_id == market_id)


def probabilities(quote_set: market_pb2.QuoteSet, market_id: str) -> dict[str, int]:
    return {s.selection_id: s.probability_e9 for s in market(quote_set, market_id).selections}


def football_state(
    elapsed: int, period: int, home: int = 0, away: int = 0, **cards: int
) -> game_state_pb2.GameState:
    return GS.GameState(
        event_sequence=7,
        elapsed_seconds=elapsed,
        period=period,
        football=GS.FootballState(
            home_goals=home, away_goals=away, regulation_seconds=5400, **cards
        ),
    )


def same_prices(live: market_pb2.QuoteSet, pre: market_pb2.QuoteSet) -> None:
    """The same markets to the byte: probabilities, offered prices, statuses and payouts. One
    pricing policy pre-match and in play, so nothing moves at kick-off without an event."""
    assert live.phase == market_pb2.PRICING_PHASE_LIVE
    assert pre.phase == market_pb2.PRICING_PHASE_PRE_MATCH

    def markets(quote_set: market_pb2.QuoteSet) -> dict[str, bytes]:
        return {m.market_id: m.SerializeToString(deterministic=True) for m in quote_set.markets}

    assert markets(live) == markets(pre)
    assert any(s.odds_e4 for m in pre.markets for s in m.selections)


def test_in_play_margin_keeps_a_strong_favourite_on_offer() -> None:
    # 1-0 at 70': the home side is far above 85%. A multiplicative margin at an 85% payout would
    # price it under 1.01 (withdrawn); the one policy's odds-ratio method loads the outsiders.
    state = football_state(4200, 2, 1, 0)
    live = price(FOOTBALL, state)
    result = market(live, "f1/MATCH_RESULT")
    home = next(s for s in result.selections if s.selection_id == "home")
    assert home.probability_e9 > 850_000_000
    assert home.status == market_pb2.SELECTION_STATUS_ACTIVE and home.odds_e4 >= 10_100
    assert home.odds_e4 * home.probability_e9 <= 10**13


def test_football_at_kick_off_prices_as_pre_match() -> None:
    same_prices(price(FOOTBALL, football_state(0, 1)), price(FOOTBALL, None))


def test_live_quote_set_carries_phase_and_event_sequence() -> None:
    live = price(FOOTBALL, football_state(600, 1))
    assert (live.phase, live.event_sequence) == (market_pb2.PRICING_PHASE_LIVE, 7)


def test_a_goal_moves_1x2_towards_the_scorer() -> None:
    before = probabilities(price(FOOTBALL, football_state(1800, 1)), "f1/MATCH_RESULT")
    home_goal = probabilities(price(FOOTBALL, football_state(1800, 1, 1, 0)), "f1/MATCH_RESULT")
    away_goal = probabilities(price(FOOTBALL, football_state(1800, 1, 0, 1)), "f1/MATCH_RESULT")
    assert home_goal["home"] > before["home"] > away_goal["home"]
    assert away_goal["away"] > before["away"] > home_goal["away"]


def test_time_running_out_favours_the_side_ahead_and_the_draw_at_level() -> None:
    early = probabilities(price(FOOTBALL, football_state(1200, 1, 1, 0)), "f1/MATCH_RESULT")
    late = probabilities(price(FOOTBALL, football_state(5000, 2, 1, 0)), "f1/MATCH_RESULT")
    assert late["home"] > early["home"]
    level_early = probabilities(price(FOOTBALL, football_state(1200, 1)), "f1/MATCH_RESULT")
    level_late = probabilities(price(FOOTBALL, football_state(5000, 2)), "f1/MATCH_RESULT")
    assert level_late["draw"] > level_early["draw"]


def test_a_red_card_hurts_the_carded_side() -> None:
    before = probabilities(price(FOOTBALL, football_state(1800, 1)), "f1/MATCH_RESULT")
    sent_off = probabilities(
        price(FOOTBALL, football_state(1800, 1, home_red_cards=1)), "f1/MATCH_RESULT"
    )
    assert sent_off["home"] < before["home"]
    assert sent_off["away"] > before["away"]


def test_at_full_time_every_football_market_is_decided_and_withdrawn() -> None:
    final = price(FOOTBALL, football_state(5400, 2, 2, 1))
    assert final.markets
    for m in final.markets:
        assert m.status == market_pb2.MARKET_STATUS_DEACTIVATED, m.market_id
        assert all(s.odds_e4 == 0 for s in m.selections)
    result = probabilities(final, "f1/MATCH_RESULT")
    assert result == {"home": 1_000_000_000, "draw": 0, "away": 0}
    assert probabilities(final, "f1/CORRECT_SCORE")["2-1"] == 1_000_000_000


def test_first_half_stoppage_time_leaves_the_second_half_to_play() -> None:
    at_45 = price(FOOTBALL, football_state(2700, 1))
    at_47 = price(FOOTBALL, football_state(2820, 1))
    assert probabilities(at_45, "f1/MATCH_RESULT") == probabilities(at_47, "f1/MATCH_RESULT")


def test_the_score_grid_grows_with_a_high_score() -> None:
    rout = price(FOOTBALL, football_state(4000, 2, 6, 0))
    scores = probabilities(rout, "f1/CORRECT_SCORE")
    assert scores["other"] == 1_000_000_000  # 6-0 already: beyond the correct-score cap
    assert probabilities(rout, "f1/MATCH_RESULT")["home"] > 999_000_000


def test_game_state_of_another_sport_is_refused() -> None:
    with pytest.raises(InvalidArgument) as raised:
        price(FOOTBALL, GS.GameState(basketball=GS.BasketballState()))
    assert raised.value.reason == "GAME_STATE_SPORT_MISMATCH"


# ---- tennis ---------------------------------------------------------------------------------


def tennis_state(
    sets: list[tuple[int, int]],
    points: tuple[int, int] = (0, 0),
    home_serving: bool = True,
    in_tiebreak: bool = False,
) -> game_state_pb2.GameState:
    return GS.GameState(
        event_sequence=3,
        period=len(sets),
        tennis=GS.TennisState(
            sets=[GS.TennisSetScore(home_games=h, away_games=a) for h, a in sets],
            home_points=points[0],
            away_points=points[1],
            in_tiebreak=in_tiebreak,
            home_serving=home_serving,
        ),
    )


def test_tennis_before_the_first_point_prices_as_pre_match() -> None:
    same_prices(price(TENNIS, tennis_state([])), price(TENNIS, None))


def test_tennis_at_0_0_averaged_over_the_first_server_is_the_pre_match_chain() -> None:
    rules = tennis.TennisRules(3, 6, True, 7)
    pa, pb = 0.66, 0.62
    pre = tennis.match_distribution(pa, pb, rules)
    serving = [
        inplay_tennis.live_distribution(
            pa, pb, rules, tennis_state([(0, 0)], home_serving=first).tennis
        )
        for first in (True, False)
    ]
    assert all(d is not None for d in serving)
    win = sum(d.win for d in serving if d is not None) / 2
    assert win == pytest.approx(pre.win, abs=1e-12)
    for score, mass in pre.set_scores.items():
        assert sum(d.set_scores.get(score, 0.0) for d in serving if d) / 2 == pytest.approx(
            mass, abs=1e-12
        )


def test_conditioned_game_and_tiebreak_agree_with_the_closed_forms() -> None:
    assert inplay_tennis.game_from(0.63, 0, 0) == pytest.approx(tennis.game_win(0.63), abs=1e-12)
    assert inplay_tennis.tiebreak_from(0.66, 0.6, 0, 0, True, 7) == pytest.approx(
        tennis.tiebreak_win(0.66, 0.6, 7), abs=1e-12
    )
    # Deuce is deuce whatever the count.
    assert inplay_tennis.game_from(0.6, 3, 3) == inplay_tennis.game_from(0.6, 5, 5)


def test_symmetric_players_at_40_40_are_even_across_the_serve() -> None:
    rules = tennis.TennisRules(3, 6, True, 7)
    p = 0.64
    home_serves = inplay_tennis.live_distribution(
        p, p, rules, tennis_state([(3, 3)], (3, 3), home_serving=True).tennis
    )
    away_serves = inplay_tennis.live_distribution(
        p, p, rules, tennis_state([(3, 3)], (3, 3), home_serving=False).tennis
    )
    assert home_serves is not None and away_serves is not None
    # Mirror images: the server's edge in one is the receiver's in the other.
    assert home_serves.win == pytest.approx(1.0 - away_serves.win, abs=1e-12)
    # Deuce on serve is slightly worse than 0-0 on serve (0.760 vs 0.770 to hold at p=0.64).
    fresh = inplay_tennis.live_distribution(
        p, p, rules, tennis_state([(3, 3)], (0, 0), home_serving=True).tennis
    )
    advantage = inplay_tennis.live_distribution(
        p, p, rules, tennis_state([(3, 3)], (4, 3), home_serving=True).tennis
    )
    assert fresh is not None and advantage is not None
    assert advantage.win > fresh.win > home_serves.win
    level = inplay_tennis.live_distribution(
        p, p, rules, tennis_state([(6, 6)], (0, 0), home_serving=True, in_tiebreak=True).tennis
    )
    assert level is not None and level.win == pytest.approx(0.5, abs=1e-12)


def test_a_break_point_moves_the_match_towards_the_receiver() -> None:
    serving = probabilities(price(TENNIS, tennis_state([(2, 2)], (0, 0))), "f1/MATCH_WINNER")
    break_point = probabilities(price(TENNIS, tennis_state([(2, 2)], (0, 3))), "f1/MATCH_WINNER")
    assert break_point["away"] > serving["away"]


def test_a_won_tennis_match_is_decided() -> None:
    final = price(TENNIS, tennis_state([(6, 3), (7, 6)]))
    assert probabilities(final, "f1/MATCH_WINNER") == {"home": 1_000_000_000, "away": 0}
    assert probabilities(final, "f1/SET_BETTING")["2-0"] == 1_000_000_000
    assert all(m.status == market_pb2.MARKET_STATUS_DEACTIVATED for m in final.markets)


def test_completed_sets_count_in_total_games() -> None:
    rules = tennis.TennisRules(3, 6, True, 7)
    dist = inplay_tennis.live_distribution(0.65, 0.65, rules, tennis_state([(6, 4), (0, 0)]).tennis)
    assert dist is not None
    assert sum(dist.total_games[:16]) == 0.0  # 10 played, at least 6 more to come
    assert sum(dist.total_games) == pytest.approx(1.0, abs=1e-9)


# ---- basketball -----------------------------------------------------------------------------


def basketball_state(elapsed: int, period: int, home: int, away: int) -> game_state_pb2.GameState:
    return GS.GameState(
        event_sequence=9,
        elapsed_seconds=elapsed,
        period=period,
        basketball=GS.BasketballState(home_points=home, away_points=away, regulation_seconds=2400),
    )


def rules_fixture(rules: sport_pb2.BasketballRules.ValueType) -> sport_pb2.Fixture:
    fix = fixture(BASKETBALL)
    fix.basketball_rules = rules
    return fix


def rules_state(
    regulation: int, elapsed: int, period: int, home: int, away: int
) -> game_state_pb2.GameState:
    state = basketball_state(elapsed, period, home, away)
    state.basketball.regulation_seconds = regulation
    return state


NBA_RULES, FIBA_RULES = sport_pb2.BASKETBALL_RULES_NBA, sport_pb2.BASKETBALL_RULES_FIBA
RULES = [(NBA_RULES, 48 * 60), (FIBA_RULES, 40 * 60)]


@pytest.mark.parametrize(("rules", "regulation"), RULES)
def test_basketball_at_tip_off_prices_as_pre_match(
    rules: sport_pb2.BasketballRules.ValueType, regulation: int
) -> None:
    # Live puts the regulation of the fixture's rules in the state; the overtime to come is
    # priced alike in both phases (5/48 or 5/40 of the game).
    fix = rules_fixture(rules)
    for engine in ENGINES[BASKETBALL]:
        snapshot = SNAPSHOTS[BASKETBALL]
        pre, live = (
            price_fixture(fix, snapshot, snapshot_hash(snapshot), [], state, BASKETBALL, engine)
            for state in (None, rules_state(regulation, 0, 1, 0, 0))
        )
        same_prices(live, pre)


@pytest.mark.parametrize(("rules", "regulation"), RULES)
def test_a_fixture_s_rules_shut_its_markets_at_the_end_of_its_regulation(
    rules: sport_pb2.BasketballRules.ValueType, regulation: int
) -> None:
    fix, snapshot = rules_fixture(rules), SNAPSHOTS[BASKETBALL]

    def at(engine: str, elapsed: int) -> market_pb2.QuoteSet:
        state = rules_state(regulation, elapsed, 4, 90, 87)
        return price_fixture(fix, snapshot, snapshot_hash(snapshot), [], state, BASKETBALL, engine)

    def still_open(quotes: market_pb2.QuoteSet) -> bool:
        return any(m.status != market_pb2.MARKET_STATUS_DEACTIVATED for m in quotes.markets)

    for engine in ENGINES[BASKETBALL]:
        # 40:00 shuts a FIBA game; an NBA one is still open there, and shuts at 48:00.
        assert still_open(at(engine, 40 * 60)) == (regulation == 48 * 60), engine
        assert still_open(at(engine, regulation - 60))
        assert not still_open(at(engine, regulation))


def test_the_fiba_clock_scales_the_game_to_40_minutes() -> None:
    # Half-time is 20:00 of FIBA's 40 and 24:00 of the NBA's 48: the same share of the game is
    # left, so the same score prices the same remaining points, lines and winner.
    for engine in ENGINES[BASKETBALL]:
        snapshot = SNAPSHOTS[BASKETBALL]
        fiba, nba = (
            price_fixture(
                rules_fixture(rules),
                snapshot,
                snapshot_hash(snapshot),
                [],
                rules_state(regulation, regulation // 2, 2, 50, 44),
                BASKETBALL,
                engine,
            )
            for rules, regulation in ((FIBA_RULES, 40 * 60), (NBA_RULES, 48 * 60))
        )
        # Regulation-time markets match; only the overtime's share (5/40 vs 5/48) may move
        # the moneyline, and only by what a tie is worth.
        totals = {
            m.market_id: m.SerializeToString() for m in fiba.markets if "TOTAL" in m.market_id
        }
        assert totals and totals == {
            m.market_id: m.SerializeToString() for m in nba.markets if "TOTAL" in m.market_id
        }
        fiba_home = probabilities(fiba, "f1/MONEYLINE")["home"]
        assert abs(fiba_home - probabilities(nba, "f1/MONEYLINE")["home"]) < 1_000_000

    # At 20:00 of a FIBA game half of it is left, of an NBA one 28 of 48 minutes: the same
    # expectation spread over 40 minutes leaves fewer points to come, and the lines follow.
    def centre(rules: sport_pb2.BasketballRules.ValueType, regulation: int) -> int:
        quotes = price(BASKETBALL, rules_state(regulation, 1200, 2, 50, 44), rules_fixture(rules))
        lines = sorted(m.line_e2 for m in quotes.markets if "TOTAL" in m.market_id)
        return lines[len(lines) // 2]

    # The league's mean total (the teams' ratings move it by a few points, within the
    # tolerance with the lines' rounding to the nearest x.5).
    expected_total = SNAPSHOTS[BASKETBALL].basketball.mean_total_points
    fiba_line, nba_line = centre(FIBA_RULES, 2400), centre(NBA_RULES, 2880)
    assert nba_line - fiba_line == pytest.approx(100 * expected_total * (28 / 48 - 1 / 2), abs=150)


def test_a_fiba_fixture_priced_with_fiba_overtime_pre_match() -> None:
    # A tie's overtime is 5/40 of a FIBA game, 5/48 of an NBA one: the favourite's edge in it
    # is larger, so its moneyline is (slightly) higher; the totals are regulation's alike.
    nba = price(BASKETBALL, None, rules_fixture(NBA_RULES))
    fiba = price(BASKETBALL, None, rules_fixture(FIBA_RULES))
    nba_p, fiba_p = probabilities(nba, "f1/MONEYLINE"), probabilities(fiba, "f1/MONEYLINE")
    favourite = max(nba_p, key=lambda k: nba_p[k])
    assert fiba_p[favourite] > nba_p[favourite]
    assert price(BASKETBALL, None) == nba  # no rules named: the NBA's


def test_a_state_whose_clock_contradicts_the_fixture_s_rules_is_refused() -> None:
    with pytest.raises(InvalidArgument) as raised:
        price(BASKETBALL, rules_state(2880, 600, 1, 10, 8), rules_fixture(FIBA_RULES))
    assert raised.value.reason == "GAME_STATE_RULES_MISMATCH"


def test_a_lead_late_is_worth_more_than_early() -> None:
    early = probabilities(price(BASKETBALL, basketball_state(600, 1, 10, 0)), "f1/MONEYLINE")
    late = probabilities(price(BASKETBALL, basketball_state(2300, 4, 70, 60)), "f1/MONEYLINE")
    assert late["home"] > early["home"] > 500_000_000


def test_basketball_at_the_buzzer_is_decided_and_a_tie_goes_to_overtime() -> None:
    final = price(BASKETBALL, basketball_state(2400, 4, 80, 77))
    assert probabilities(final, "f1/MONEYLINE") == {"home": 1_000_000_000, "away": 0}
    assert all(m.status == market_pb2.MARKET_STATUS_DEACTIVATED for m in final.markets)
    tied = probabilities(price(BASKETBALL, basketball_state(2400, 4, 80, 80)), "f1/MONEYLINE")
    assert 0 < tied["home"] < 1_000_000_000


@pytest.mark.parametrize(
    "state",
    [
        GS.GameState(event_sequence=1, period=1, football=GS.FootballState(home_goals=2000)),
        GS.GameState(
            event_sequence=1, period=1, football=GS.FootballState(away_red_cards=2**32 - 1)
        ),
    ],
)
def test_football_states_beyond_the_sport_are_refused_before_any_grid(
    state: game_state_pb2.GameState,
) -> None:
    # The domain's own check (the runtime refuses these first): nothing sized from the score.
    with pytest.raises(InvalidArgument) as raised:
        price(FOOTBALL, state)
    assert raised.value.reason == "GAME_STATE_OUT_OF_RANGE"


@pytest.mark.parametrize(
    "state",
    [
        tennis_state([(6, 4)], points=(2**32 - 1, 0)),
        tennis_state([(2**32 - 1, 0)]),
        tennis_state([(6, 4)] * 4),  # more sets than the match's best of 3
    ],
)
def test_tennis_states_beyond_the_sport_are_refused_before_any_distribution(
    state: game_state_pb2.GameState,
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        price(TENNIS, state)
    assert raised.value.reason == "GAME_STATE_OUT_OF_RANGE"


def nba_state(elapsed: int, period: int, home: int, away: int) -> game_state_pb2.GameState:
    # No regulation_seconds: the default clock is the NBA's 4 x 12 minutes.
    return GS.GameState(
        event_sequence=9,
        elapsed_seconds=elapsed,
        period=period,
        basketball=GS.BasketballState(home_points=home, away_points=away),
    )


def test_nba_clock_is_48_minutes_and_fiba_40() -> None:
    from services.live.domain import basketball as live_basketball
    from services.quotes.domain import inplay_basketball
    from services.quotes.domain.independent import basketball_cdf

    assert live_basketball.initial().regulation_seconds == 48 * 60
    for left in (inplay_basketball.remaining_fraction, basketball_cdf.time_left):
        assert left(nba_state(44 * 60, 4, 90, 88)) == pytest.approx(4 / 48)
        assert left(nba_state(48 * 60, 4, 90, 88)) == 0.0
        assert left(nba_state(50 * 60, 5, 100, 100)) == pytest.approx(3 / 48)
        assert left(basketball_state(2400, 4, 90, 88)) == 0.0  # FIBA's own 40 minutes


def test_nba_markets_stay_open_at_44_minutes() -> None:
    quotes = price(BASKETBALL, nba_state(44 * 60, 4, 100, 98))
    assert quotes.markets
    assert any(m.status != market_pb2.MARKET_STATUS_DEACTIVATED for m in quotes.markets)
    home = probabilities(quotes, "f1/MONEYLINE")["home"]
    assert 500_000_000 < home < 1_000_000_000


def test_a_tie_at_the_end_of_nba_regulation_prices_overtime_in_totals_and_moneyline() -> None:
    tied = price(BASKETBALL, nba_state(48 * 60, 4, 100, 100))
    home = probabilities(tied, "f1/MONEYLINE")["home"]
    assert 0 < home < 1_000_000_000
    totals = [m for m in tied.markets if "TOTAL" in m.market_id]
    assert totals
    assert any(m.status != market_pb2.MARKET_STATUS_DEACTIVATED for m in totals)


def kick_off_state(sport: sport_pb2.Sport.ValueType) -> game_state_pb2.GameState:
    if sport == FOOTBALL:
        return football_state(0, 1)
    if sport == TENNIS:
        return tennis_state([])
    return nba_state(0, 1, 0, 0)  # a fixture naming no rules is an NBA one


# Lopsided pairings, where short favourites used to be withdrawn pre-match and priced by a
# different (additive) rule in play, so the same market jumped at kick-off.
LOPSIDED = {
    FOOTBALL: ("fb:man-city", "fb:man-united"),
    TENNIS: ("tn:sinner", "tn:de-minaur"),
    BASKETBALL: ("bb:celtics", "bb:spurs"),
}


@pytest.mark.parametrize("sport", [FOOTBALL, TENNIS, BASKETBALL])
@pytest.mark.parametrize("margin_scale_e4", [0, 10_000, 14_000])
def test_every_engine_prices_kick_off_exactly_as_pre_match(
    sport: sport_pb2.Sport.ValueType, margin_scale_e4: int
) -> None:
    snapshot = SNAPSHOTS[sport]
    fix = fixture(sport, *LOPSIDED[sport])
    for engine in ENGINES[sport]:
        pre, live = (
            price_fixture(
                fix, snapshot, snapshot_hash(snapshot), [], state, sport, engine, margin_scale_e4
            )
            for state in (None, kick_off_state(sport))
        )
        same_prices(live, pre)
    # The controller's steer is applied in both phases alike: it moves both, not one.
    if margin_scale_e4 > 10_000:
        plain = price_fixture(fix, snapshot, snapshot_hash(snapshot), [], None, sport)
        assert {m.payout_e4 for m in plain.markets} != {m.payout_e4 for m in pre.markets}


def test_a_margin_scale_below_one_is_refused() -> None:
    snapshot = SNAPSHOTS[FOOTBALL]
    with pytest.raises(InvalidArgument) as raised:
        price_fixture(
            fixture(FOOTBALL), snapshot, snapshot_hash(snapshot), [], None, FOOTBALL, "", 9_000
        )
    assert raised.value.reason == "MARGIN_SCALE_OUT_OF_RANGE"

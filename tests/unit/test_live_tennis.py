"""Tennis scoring in the live core: games, deuce, tie-breaks, sets, the match, the serve."""

from __future__ import annotations

import pytest
from betmesh.common.v1 import sport_pb2
from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.errors import FailedPrecondition, InvalidArgument
from services.live.domain.game import LiveGame, MatchStatus, apply_event, new_game
from services.live.domain.tennis import match_winner


class Match:
    """Feeds a tennis match point by point, numbering the events."""

    def __init__(self, best_of_sets: int = 3, first_server: int = sport_pb2.SIDE_HOME) -> None:
        self.game: LiveGame = new_game("tn-1", sport_pb2.SPORT_TENNIS, best_of_sets)
        self.send(me.MATCH_EVENT_TYPE_MATCH_STARTED, first_server)

    def send(self, event_type: int, side: int = sport_pb2.SIDE_UNSPECIFIED) -> LiveGame:
        event = me.MatchEvent(
            fixture_id="tn-1",
            sport=sport_pb2.SPORT_TENNIS,
            sequence=self.game.applied_sequence + 1,
            type=event_type,  # type: ignore[arg-type]
            side=side,  # type: ignore[arg-type]
        )
        self.game = apply_event(self.game, event)
        return self.game

    def points(self, winners: str) -> None:
        """'H' for a point to home, 'A' for away."""
        for winner in winners:
            side = sport_pb2.SIDE_HOME if winner == "H" else sport_pb2.SIDE_AWAY
            self.send(me.MATCH_EVENT_TYPE_POINT_WON, side)

    def games(self, winners: str) -> None:
        for winner in winners:
            self.points(winner * 4)

    @property
    def score(self) -> tuple[int, int]:
        t = self.game.state.tennis
        return t.home_points, t.away_points

    @property
    def sets(self) -> list[tuple[int, int]]:
        return [(s.home_games, s.away_games) for s in self.game.state.tennis.sets]


def test_match_start_opens_the_first_set_with_the_named_server() -> None:
    match = Match(first_server=sport_pb2.SIDE_AWAY)
    assert match.sets == [(0, 0)]
    assert match.game.status == MatchStatus.LIVE
    assert match.game.state.period == 1
    assert match.game.state.tennis.home_serving is False
    assert Match().game.state.tennis.home_serving is True


def test_points_count_up_and_four_to_love_wins_the_game() -> None:
    match = Match()
    match.points("HHH")
    assert match.score == (3, 0)
    match.points("H")
    assert match.score == (0, 0)
    assert match.sets == [(1, 0)]


def test_deuce_advantage_and_back_to_deuce() -> None:
    match = Match()
    match.points("HHHAAA")
    assert match.score == (3, 3)  # deuce
    match.points("H")
    assert match.score == (4, 3)  # advantage home
    match.points("A")
    assert match.score == (3, 3)  # back to deuce
    match.points("A")
    assert match.score == (3, 4)  # advantage away
    match.points("H")
    assert match.score == (3, 3)
    match.points("AA")
    assert match.score == (0, 0)
    assert match.sets == [(0, 1)]


def test_advantage_converted_wins_the_game() -> None:
    match = Match()
    match.points("AAAHHHHH")
    assert match.sets == [(1, 0)]
    assert match.score == (0, 0)


def test_serve_alternates_every_game() -> None:
    match = Match()
    serving = []
    for winner in "HAHAH":
        serving.append(match.game.state.tennis.home_serving)
        match.games(winner)
    assert serving == [True, False, True, False, True]
    assert match.game.state.tennis.home_serving is False


def test_set_won_six_four_opens_the_next_set() -> None:
    match = Match()
    match.games("HHHHAAAAHH")
    assert match.sets == [(6, 4), (0, 0)]
    assert match.game.state.period == 2
    assert not match.game.state.tennis.in_tiebreak


def test_five_all_needs_two_clear_games() -> None:
    match = Match()
    match.games("HAHAHAHAHA")  # 5-5
    match.games("H")
    assert match.sets == [(6, 5)]
    match.games("H")
    assert match.sets == [(7, 5), (0, 0)]


def test_six_all_starts_a_tiebreak() -> None:
    match = Match()
    match.games("HAHAHAHAHAHA")
    assert match.sets == [(6, 6)]
    tennis = match.game.state.tennis
    assert tennis.in_tiebreak
    assert (tennis.home_points, tennis.away_points) == (0, 0)
    # Twelve games, the serve changed after each: home serves the tie-break's first point.
    assert tennis.home_serving is True


def test_tiebreak_serve_one_point_then_two_each() -> None:
    match = Match()
    match.games("HAHAHAHAHAHA")
    servers = []
    for winner in "HAHAHAHAHA":  # 5-5 in the tie-break, nobody two clear
        servers.append("H" if match.game.state.tennis.home_serving else "A")
        match.points(winner)
    assert "".join(servers) == "HAAHHAAHHA"
    assert match.score == (5, 5)
    assert match.sets == [(6, 6)]


def test_tiebreak_needs_seven_points_and_two_clear() -> None:
    match = Match()
    match.games("HAHAHAHAHAHA")
    match.points("HHHHHHAAAAAA")  # 6-6 in the tie-break
    assert match.score == (6, 6)
    match.points("H")
    assert match.score == (7, 6)
    assert match.game.state.tennis.in_tiebreak
    match.points("A")
    match.points("AA")  # 7-9
    assert match.sets == [(6, 7), (0, 0)]
    assert not match.game.state.tennis.in_tiebreak
    assert match.score == (0, 0)


def test_tiebreak_seven_love_and_next_set_served_by_first_receiver() -> None:
    match = Match()
    match.games("HAHAHAHAHAHA")
    first_server_home = match.game.state.tennis.home_serving
    match.points("HHHHHHH")
    assert match.sets == [(7, 6), (0, 0)]
    assert match.game.state.tennis.home_serving is (not first_server_home)


def test_tiebreak_first_receiver_serves_next_set_whoever_served_last() -> None:
    # An odd tie-break length (7-4: 11 points) and an even one (7-5: 12 points) both hand the
    # next set's first game to the player who received first in the tie-break.
    for points in ("HHHHAAAAHHH", "HHHHHAAAAAHH"):
        match = Match(first_server=sport_pb2.SIDE_AWAY)
        match.games("HAHAHAHAHAHA")
        first_server_home = match.game.state.tennis.home_serving
        assert first_server_home is False
        match.points(points)
        assert match.sets[0] == (7, 6)
        assert match.game.state.tennis.home_serving is True


def test_straight_sets_win_ends_scoring_and_match_ended_closes_it() -> None:
    match = Match()
    match.games("HHHHHH")
    match.games("HHHHHH")
    assert match.sets == [(6, 0), (6, 0)]
    assert match_winner(match.game.state.tennis, 3) == sport_pb2.SIDE_HOME
    assert match.game.state.period == 2
    with pytest.raises(InvalidArgument) as refused:
        match.points("H")
    assert refused.value.reason == "MATCH_DECIDED"
    match.send(me.MATCH_EVENT_TYPE_MATCH_ENDED)
    assert match.game.status == MatchStatus.ENDED
    with pytest.raises(FailedPrecondition) as ended:
        match.points("A")
    assert ended.value.reason == "MATCH_ENDED"


def test_three_set_match_goes_the_distance() -> None:
    match = Match()
    match.games("HHHHHH")
    match.games("AAAAAA")
    assert match.sets == [(6, 0), (0, 6), (0, 0)]
    assert match.game.state.period == 3
    assert match_winner(match.game.state.tennis, 3) is None
    match.games("HAHAHAHAHAHA")
    match.points("AAAAAAA")
    assert match.sets == [(6, 0), (0, 6), (6, 7)]
    assert match_winner(match.game.state.tennis, 3) == sport_pb2.SIDE_AWAY


def test_best_of_five_needs_three_sets() -> None:
    match = Match(best_of_sets=5)
    match.games("HHHHHH")
    match.games("HHHHHH")
    assert match.sets == [(6, 0), (6, 0), (0, 0)]
    assert match_winner(match.game.state.tennis, 5) is None
    match.games("HHHHHH")
    assert match_winner(match.game.state.tennis, 5) == sport_pb2.SIDE_HOME
    assert len(match.sets) == 3


def test_point_before_the_match_starts_is_refused() -> None:
    game = new_game("tn-2", sport_pb2.SPORT_TENNIS)
    event = me.MatchEvent(
        fixture_id="tn-2",
        sport=sport_pb2.SPORT_TENNIS,
        sequence=1,
        type=me.MATCH_EVENT_TYPE_POINT_WON,
        side=sport_pb2.SIDE_HOME,
    )
    with pytest.raises(InvalidArgument) as refused:
        apply_event(game, event)
    assert refused.value.reason == "MATCH_NOT_STARTED"


def test_elapsed_stays_zero_and_sequence_follows_events() -> None:
    match = Match()
    match.points("HAH")
    assert match.game.state.elapsed_seconds == 0
    assert match.game.state.event_sequence == 4

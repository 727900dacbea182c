"""The demo's week: football fixtures pair real teams of one shipped league, as rated by the
model fitted on the shipped data."""

from __future__ import annotations

from betmesh.common.v1 import sport_pb2

from launcher.demo.fixtures import leagues
from services.quotes.fitting.football import fit_shipped


def test_football_fixtures_are_drawn_from_one_shipped_league_at_a_time() -> None:
    pool = [
        sport_pb2.Participant(participant_id=t.participant_id, name=t.name)
        for t in fit_shipped().football.teams
    ]
    found = {
        name: (code, members) for code, name, members in leagues(sport_pb2.SPORT_FOOTBALL, pool)
    }
    assert set(found) == {"Bundesliga", "Ligue 1", "Premier League", "Serie A"}
    code, epl = found["Premier League"]
    names = {p.name for p in epl}
    # The 2023/24 season's teams: its promoted sides in, the 2022-23 relegated out.
    assert code == "premier-league" and len(epl) == 20
    assert {"Luton", "Burnley", "Sheffield United", "Arsenal"} <= names
    assert not names & {"Leeds", "Leicester", "Southampton", "Bayern Munich"}
    assert len(found["Bundesliga"][1]) == 18
    every = [p.participant_id for _, members in found.values() for p in members]
    assert len(every) == len(set(every))  # no team in two leagues


def test_other_sports_keep_their_one_competition() -> None:
    pool = [
        sport_pb2.Participant(participant_id="tn:a"),
        sport_pb2.Participant(participant_id="tn:b"),
    ]
    assert leagues(sport_pb2.SPORT_TENNIS, pool) == [("atp-finals", "ATP Finals", pool)]


def test_the_live_football_match_is_generated_from_the_fitted_model() -> None:
    import random

    from betmesh.live.v1 import match_event_pb2 as me

    from launcher.demo.fixtures import generated_football
    from services.quotes.fitting.football import teams_by_competition

    snapshot = fit_shipped()
    timeline, label = generated_football(snapshot, "md-test-football-live", random.Random(7))
    started = timeline[0].event
    assert started.type == me.MATCH_EVENT_TYPE_MATCH_STARTED
    fixture = started.fixture
    epl = {pid for pid, _ in teams_by_competition()["Premier League"]}
    assert fixture.fixture_id == "md-test-football-live"
    assert {fixture.home.participant_id, fixture.away.participant_id} <= epl
    assert fixture.competition_name == "Premier League"
    assert timeline[-1].event.type == me.MATCH_EVENT_TYPE_MATCH_ENDED
    assert "expected goals" in label and snapshot.model in label
    again, _ = generated_football(snapshot, "md-test-football-live", random.Random(7))
    assert [t.event for t in again] == [t.event for t in timeline]


def test_the_live_tennis_match_is_drawn_from_the_fitted_model() -> None:
    import random

    from betmesh.live.v1 import match_event_pb2 as me

    from launcher.demo.fixtures import FINALS_PLAYERS, generated_tennis
    from services.live.domain.game import apply_event, new_game
    from services.quotes.fitting.tennis import fit_shipped_surfaces

    snapshot = fit_shipped_surfaces()["hard"]
    best = sorted(snapshot.tennis.players, key=lambda p: -(p.serve_point_win + p.return_point_win))[
        :FINALS_PLAYERS
    ]
    timeline, label = generated_tennis(snapshot, "md-test-tennis-live", random.Random(7))
    fixture = timeline[0].event.fixture
    assert fixture.fixture_id == "md-test-tennis-live" and fixture.best_of_sets == 3
    assert {fixture.home.participant_id, fixture.away.participant_id} <= {
        p.participant_id for p in best
    }
    assert "Novak Djokovic" in {p.name for p in best}
    assert timeline[-1].event.type == me.MATCH_EVENT_TYPE_MATCH_ENDED
    game = new_game(fixture.fixture_id, fixture.sport, fixture.best_of_sets)
    for timed in timeline:
        game = apply_event(game, timed.event)
    assert game.finished
    assert "serve points" in label and snapshot.model in label
    again, _ = generated_tennis(snapshot, "md-test-tennis-live", random.Random(7))
    assert [t.event for t in again] == [t.event for t in timeline]

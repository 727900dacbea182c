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

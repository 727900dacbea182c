"""The two pricing engines of each sport price every market of every fixture and in-play state
identically through the shared canonical encoder (pre-match and live), and a replica declares
which one it runs."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import pytest
from betmesh.common.v1 import game_state_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from service_runtime.settings import SettingsError
from services.quotes.domain import inplay_tennis
from services.quotes.domain.engines import ENGINES
from services.quotes.domain.independent import tennis_closed_form
from services.quotes.domain.pricing import canonicalise, price_fixture
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.settings import QuotesSettings
from tests.support.demo_snapshots import demo_snapshots


def participants(snapshot: snapshot_pb2.ModelSnapshot) -> list[str]:
    which = snapshot.WhichOneof("parameters")
    ratings = snapshot.tennis.players if which == "tennis" else getattr(snapshot, str(which)).teams
    return [r.participant_id for r in ratings]


# Basketball fixtures name the NBA's rules, FIBA's or none (the NBA's); live's state carries the
# regulation of the fixture's rules (0 when the feed did not say: the fixture's rules decide).
RULES = (
    (sport_pb2.BASKETBALL_RULES_UNSPECIFIED, 0),
    (sport_pb2.BASKETBALL_RULES_NBA, 2_880),
    (sport_pb2.BASKETBALL_RULES_FIBA, 2_400),
)


def states(
    sport: sport_pb2.Sport.ValueType, rng: random.Random, regulation: int = 0
) -> Iterator[game_state_pb2.GameState | None]:
    yield None
    for _ in range(5):
        state = game_state_pb2.GameState(event_sequence=rng.randint(1, 50))
        if sport == sport_pb2.SPORT_FOOTBALL:
            state.period = rng.choice((1, 2, 3))
            state.elapsed_seconds = rng.randint(0, 5_400)
            score = state.football
            score.home_goals, score.away_goals = rng.randint(0, 4), rng.randint(0, 4)
            score.home_red_cards, score.away_red_cards = rng.choice((0, 0, 1)), rng.choice((0, 1))
        elif sport == sport_pb2.SPORT_BASKETBALL:
            state.period = rng.randint(1, 5)
            state.elapsed_seconds = rng.randint(0, 2_700)
            state.basketball.home_points = rng.randint(0, 110)
            state.basketball.away_points = rng.randint(0, 110)
            state.basketball.regulation_seconds = regulation
        else:
            state.period = 1
            tennis = state.tennis
            played = rng.randint(1, 3)
            for index in range(played):
                current = tennis.sets.add()
                if index < played - 1:
                    current.home_games, current.away_games = rng.choice(
                        [(6, 3), (4, 6), (7, 6), (6, 7), (7, 5)]
                    )
                else:
                    current.home_games, current.away_games = rng.randint(0, 6), rng.randint(0, 6)
            last = tennis.sets[-1]
            if last.home_games == last.away_games == 6 and rng.random() < 0.7:
                tennis.in_tiebreak = True
                tennis.home_points, tennis.away_points = rng.randint(0, 8), rng.randint(0, 8)
            else:
                tennis.home_points, tennis.away_points = rng.randint(0, 4), rng.randint(0, 4)
            tennis.home_serving = rng.random() < 0.5
        yield state
    if sport == sport_pb2.SPORT_BASKETBALL:
        # The clock's edges on the fixture's regulation (the NBA's when none is named): 4:00
        # before the end, a tie at the buzzer, inside an overtime, 40:00; both engines must
        # agree or the gateway withholds the market.
        end = regulation or 2_880
        for period, elapsed, home, away in (
            (4, end - 240, 100, 98),
            (4, end, 100, 100),
            (5, end + 120, 105, 103),
            (4, 2_400, 80, 80),
        ):
            yield game_state_pb2.GameState(
                event_sequence=9,
                period=period,
                elapsed_seconds=elapsed,
                basketball=game_state_pb2.BasketballState(
                    home_points=home, away_points=away, regulation_seconds=regulation
                ),
            )


@pytest.mark.parametrize("snapshot", demo_snapshots(), ids=lambda s: s.WhichOneof("parameters"))
def test_both_engines_publish_the_same_canonical_bytes(
    snapshot: snapshot_pb2.ModelSnapshot,
) -> None:
    rng = random.Random(15)
    sport = snapshot.sport
    reference, independent = ENGINES[sport]
    ids = participants(snapshot)
    compared = 0
    for n in range(12):
        home, away = rng.sample(ids, 2)
        rules, regulation = RULES[n % 3] if sport == sport_pb2.SPORT_BASKETBALL else RULES[0]
        fixture = sport_pb2.Fixture(
            fixture_id=f"f{n}",
            sport=sport,
            best_of_sets=rng.choice((3, 5)) if sport == sport_pb2.SPORT_TENNIS else 0,
            neutral_venue=rng.random() < 0.2,
            basketball_rules=rules,
            home=sport_pb2.Participant(participant_id=home),
            away=sport_pb2.Participant(participant_id=away),
        )
        for state in states(sport, rng, regulation):
            a = price_fixture(
                fixture, snapshot, snapshot_hash(snapshot), [], state, sport, reference
            )
            b = price_fixture(
                fixture, snapshot, snapshot_hash(snapshot), [], state, sport, independent
            )
            assert canonicalise(a) == canonicalise(b), (fixture, state)
            compared += len(a.markets)
    assert compared > 100


@pytest.mark.parametrize("p", [0.01, 0.5, 0.5 + 1e-12, 0.63, 0.99])
def test_tennis_engines_agree_from_every_point_score(p: float) -> None:
    """Every game and tiebreak score, deuce, advantage and the tiebreak's ties included, where
    the sampled states of the test above seldom go: the closed forms and gambler's ruin of the
    second engine against the reference's recursions."""
    for i, j in itertools.product(range(9), repeat=2):
        assert tennis_closed_form.game_from_score(p, i, j) == pytest.approx(
            inplay_tennis.game_from(p, i, j), abs=1e-12
        )
    for i, j in itertools.product(range(14), repeat=2):
        for a_first, points in itertools.product((True, False), (7, 10)):
            assert tennis_closed_form.tiebreak_from_score(
                p, 0.62, i, j, a_first, points
            ) == pytest.approx(
                inplay_tennis.tiebreak_from(p, 0.62, i, j, a_first, points), abs=1e-12
            )


def test_a_replica_declares_a_known_engine_of_its_sport() -> None:
    default = QuotesSettings.from_env({"BETMESH_QUOTES_SPORT": "tennis"})
    assert default.engine == "markov-dp"
    chosen = QuotesSettings.from_env(
        {"BETMESH_QUOTES_SPORT": "tennis", "BETMESH_QUOTES_ENGINE": "closed-form"}
    )
    assert chosen.engine == "closed-form"
    with pytest.raises(SettingsError, match="BETMESH_QUOTES_ENGINE"):
        QuotesSettings.from_env(
            {"BETMESH_QUOTES_SPORT": "tennis", "BETMESH_QUOTES_ENGINE": "dc-direct"}
        )


def test_a_stateful_set_pod_takes_its_engine_from_its_ordinal() -> None:
    engines = [
        QuotesSettings.from_env(
            {
                "BETMESH_QUOTES_SPORT": "basketball",
                "BETMESH_QUOTES_REPLICA_ID": f"quotes-basketball-{ordinal}",
                "BETMESH_QUOTES_ENGINE": "by-ordinal",
            }
        ).engine
        for ordinal in range(3)
    ]
    assert engines == ["normal-pmf", "normal-cdf", "normal-pmf"]

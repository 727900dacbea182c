"""Tennis fitting: time decay, shrinkage, the surface split, no look-ahead, the snapshot through
the real pricing, and the walk-forward quality gate."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from services.quotes import fit as fit_cli
from services.quotes.domain import ladder
from services.quotes.domain.pricing import price_fixture, tennis_model
from services.quotes.domain.snapshots import snapshot_bytes, snapshot_hash, verify
from services.quotes.fitting import tennis as fitting
from services.quotes.fitting import tennis_quality as quality
from services.quotes.fitting.tennis import TennisFit, TennisMatch, fit_rates

AS_OF = datetime(2022, 12, 1, tzinfo=UTC)
FIELD = [f"Field Player {i}" for i in range(12)]


def match(
    winner: str,
    loser: str,
    w: tuple[int, int],
    lose: tuple[int, int],
    end: date,
    surface: str = "hard",
) -> TennisMatch:
    """w and lose: (service points, service points won) of the winner and the loser."""
    return TennisMatch(
        tourney_id="t",
        tourney_name="T",
        tourney_type="ATP 250",
        surface=surface,
        start=end - timedelta(days=6),
        end=end,
        round="Round of 32",
        best_of=3,
        winner_id=winner[:4],
        winner_name=winner,
        loser_id=loser[:4],
        loser_name=loser,
        outcome="completed",
        w_svpt=w[0],
        w_svpt_won=w[1],
        l_svpt=lose[0],
        l_svpt_won=lose[1],
    )


def field_matches(end: date, surface: str = "hard", rounds: int = 6) -> list[TennisMatch]:
    """The field plays itself, every server at 63%: the tour mean."""
    out = []
    for r in range(rounds):
        for i in range(0, len(FIELD), 2):
            a, b = FIELD[(i + r) % len(FIELD)], FIELD[(i + r + 1) % len(FIELD)]
            out.append(match(a, b, (80, 50), (80, 50), end, surface))
    return out


def versus_field(
    player: str, serve_won: int, n: int, end: date, surface: str = "hard"
) -> list[TennisMatch]:
    """n matches of `player` against the field, winning serve_won of 80 service points and
    returning like the tour (the field wins 50 of 80)."""
    return [
        match(player, FIELD[i % len(FIELD)], (80, serve_won), (80, 50), end, surface)
        for i in range(n)
    ]


def rate(fit: TennisFit, player: str, surface: str = "hard") -> tuple[float, float]:
    i = fit.index()[fitting.participant_id(player)]
    return float(fit.serve[surface][i]), float(fit.return_[surface][i])


# ---- time decay, shrinkage, surfaces ----------------------------------------------------------


def test_decay_halves_a_match_at_ln2_over_xi_days() -> None:
    xi = 0.005
    known = AS_OF - timedelta(days=math.log(2) / xi)
    assert fitting.decay(known, AS_OF, xi) == pytest.approx(0.5)
    assert fitting.decay(AS_OF, AS_OF, xi) == 1.0


def test_time_decay_follows_a_players_recent_form() -> None:
    old, recent = date(2022, 1, 10), date(2022, 11, 20)
    matches = (
        field_matches(old)
        + field_matches(recent)
        + versus_field("Changer", 60, 15, old)  # 75% on serve in January
        + versus_field("Changer", 44, 15, recent)  # 55% in November
    )
    flat = rate(fit_rates(matches, AS_OF, xi=0.0), "Changer")[0]
    decayed = rate(fit_rates(matches, AS_OF, xi=0.02), "Changer")[0]
    # Without decay the two halves weigh the same; with it November dominates.
    assert abs(flat - 0.65) < 0.02
    assert decayed < flat - 0.05
    assert abs(decayed - 0.55) < abs(flat - 0.55)


def test_a_player_with_few_points_is_shrunk_towards_the_tour() -> None:
    end = date(2022, 11, 20)
    matches = (
        field_matches(end)
        + versus_field("Lucky", 72, 1, end)  # one match at 90%
        + versus_field("Steady", 60, 30, end)  # thirty at 75%
    )
    fit = fit_rates(matches, AS_OF)
    mean = fit.serve_mean["hard"]
    lucky, steady = rate(fit, "Lucky")[0], rate(fit, "Steady")[0]
    assert 0.62 < mean < 0.66
    assert lucky - mean < 0.05  # 80 points of 90% barely move the tour's prior
    assert steady > 0.72  # 2,400 points of 75% do
    weaker_prior = rate(fit_rates(matches, AS_OF, player_prior_points=100.0), "Lucky")[0]
    stronger_prior = rate(fit_rates(matches, AS_OF, player_prior_points=5000.0), "Lucky")[0]
    assert stronger_prior < lucky < weaker_prior


def test_rates_are_opponent_adjusted() -> None:
    """Holding serve 70% against the tour's best returner says more than against its worst."""
    end = date(2022, 11, 20)
    matches = field_matches(end)
    # The Wall returns 50% against the field (the field serves 40 of 80 against it).
    matches += [match("The Wall", f, (80, 50), (80, 40), end) for f in FIELD for _ in range(3)]
    matches += [match("A", "The Wall", (80, 56), (80, 50), end) for _ in range(5)]
    matches += [match("B", FIELD[0], (80, 56), (80, 50), end) for _ in range(5)]
    fit = fit_rates(matches, AS_OF)
    assert rate(fit, "A")[0] > rate(fit, "B")[0] + 0.02
    assert rate(fit, "The Wall")[1] > rate(fit, FIELD[0])[1] + 0.05


def test_surface_rates_split_from_the_players_overall_rate() -> None:
    end = date(2022, 11, 20)
    matches = (
        field_matches(end, "hard")
        + field_matches(end, "clay")
        + field_matches(end, "grass")
        + versus_field("Grassy", 62, 25, end, "grass")  # 78% on grass
        + versus_field("Grassy", 48, 25, end, "clay")  # 60% on clay
        + versus_field("Solid", 56, 25, end, "hard")  # 70%, hard courts only
    )
    fit = fit_rates(matches, AS_OF)
    grassy = {s: rate(fit, "Grassy", s)[0] for s in fitting.SURFACES}
    assert grassy["grass"] > grassy["clay"] + 0.05
    assert grassy["clay"] < grassy["hard"] < grassy["grass"]  # hard: the overall rate
    # With no clay or grass matches, Solid's clay and grass rates are his overall rate on
    # the same footing: the same distance from each surface's mean.
    solid = {s: rate(fit, "Solid", s)[0] - fit.serve_mean[s] for s in fitting.SURFACES}
    assert solid["clay"] == pytest.approx(solid["grass"], abs=1e-9)
    assert solid["hard"] > solid["clay"] > 0.0
    # A weaker surface prior lets the 2,000 points on each surface speak louder.
    loose = fit_rates(matches, AS_OF, surface_prior_points=500.0)
    assert rate(loose, "Grassy", "grass")[0] - rate(loose, "Grassy", "clay")[0] > 0.12


def test_the_snapshot_reference_is_the_mean_of_its_players() -> None:
    """The pricing takes r_avg as the plain mean of the snapshot's return rates; the fit's
    surface mean is the serve rate of two average players under that reference."""
    matches, _ = fitting.read_matches()
    fit = fit_rates(matches, datetime(2022, 6, 1, tzinfo=UTC))
    for surface in fitting.SURFACES:
        assert float(np.mean(fit.return_[surface])) == pytest.approx(
            1.0 - fit.serve_mean[surface], abs=1e-12
        )


# ---- no look-ahead ----------------------------------------------------------------------------


def scrambled(matches: Sequence[TennisMatch], after: datetime, seed: int = 3) -> list[TennisMatch]:
    """Every match not known by `after` gets its winner swapped and its statistics redrawn, and
    new matches of made-up players are added after it."""
    rng = random.Random(seed)
    out = []
    for m in matches:
        if m.known_at <= after:
            out.append(m)
            continue
        w, lose = (rng.randint(40, 120), 0), (rng.randint(40, 120), 0)
        out.append(
            dataclasses.replace(
                m,
                winner_name=m.loser_name,
                loser_name=m.winner_name,
                w_svpt=w[0],
                w_svpt_won=rng.randint(0, w[0]),
                l_svpt=lose[0],
                l_svpt_won=rng.randint(0, lose[0]),
            )
        )
    out += versus_field("Time Traveller", 80, 20, (after + timedelta(days=1)).date())
    return out


def test_matches_not_finished_by_as_of_change_nothing() -> None:
    matches, _ = fitting.read_matches()
    # Madrid's last day is 2022-05-08: its matches are known from midnight after it.
    madrid = next(m for m in matches if "Madrid" in m.tourney_name)
    as_of = madrid.known_at
    assert as_of == datetime(2022, 5, 9, tzinfo=UTC)
    before = fit_rates(matches, as_of)
    after = fit_rates(scrambled(matches, as_of), as_of)
    assert after.players == before.players
    for surface in fitting.SURFACES:
        assert np.array_equal(after.serve[surface], before.serve[surface])
        assert np.array_equal(after.return_[surface], before.return_[surface])
    # ... and the same scrambling one day earlier does change the fit (the test can fail).
    changed = fit_rates(scrambled(matches, as_of - timedelta(days=1)), as_of)
    assert not np.array_equal(changed.serve["clay"], before.serve["clay"])


def test_a_tournament_counts_only_once_it_is_over() -> None:
    end = date(2022, 11, 20)
    matches = field_matches(date(2022, 11, 6)) + versus_field("Late", 72, 5, end)
    on_the_last_day = datetime(2022, 11, 20, 23, 59, tzinfo=UTC)
    assert fitting.participant_id("Late") not in fit_rates(matches, on_the_last_day).players
    assert (
        fitting.participant_id("Late")
        in fit_rates(matches, on_the_last_day + timedelta(minutes=1)).players
    )


def test_walk_forward_predictions_read_nothing_of_their_block_or_later() -> None:
    matches, _ = fitting.read_matches()
    block = date(2022, 6, 6)
    as_of = datetime(2022, 6, 6, tzinfo=UTC)
    factories = {quality.MODEL: quality.markov_factory(), quality.ELO: quality.elo_factory}
    plain = quality.walk_forward(matches, factories, block, block)
    # Redraw the block's own statistics and scramble everything later; the recorded winners of
    # the block stay, so that P(recorded winner) is comparable.
    rng = random.Random(5)
    changed = [
        dataclasses.replace(m, w_svpt_won=rng.randint(0, m.w_svpt or 0) if m.w_svpt else None)
        if m.start == block
        else m
        for m in scrambled(
            [m for m in matches if m.start <= block], datetime(2022, 6, 13, tzinfo=UTC)
        )
        + [m for m in matches if m.start > block]
    ]
    other = quality.walk_forward(changed, factories, block, block)
    assert len(plain.matches) > 20
    assert other.predictions == plain.predictions
    assert all(m.known_at > as_of for m in plain.matches)


# ---- the snapshot through the real pricing ----------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> dict[str, snapshot_pb2.ModelSnapshot]:
    return fitting.fit_shipped_surfaces()


def tennis_fixture(home: str, away: str, best_of: int) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id="wimbledon-final",
        sport=sport_pb2.SPORT_TENNIS,
        home=sport_pb2.Participant(participant_id=fitting.participant_id(home)),
        away=sport_pb2.Participant(participant_id=fitting.participant_id(away)),
        best_of_sets=best_of,
    )


def test_the_shipped_snapshots_are_valid_and_named_by_their_data(
    shipped: dict[str, snapshot_pb2.ModelSnapshot],
) -> None:
    digest = "sha256:" + hashlib.sha256(fitting.SHIPPED_MATCHES.read_bytes()).hexdigest()
    for surface, snapshot in shipped.items():
        assert snapshot.sport == sport_pb2.SPORT_TENNIS
        assert snapshot.tennis.surface == fitting.SURFACE_ENUM[surface]
        assert snapshot.training_data_digest == digest
        assert snapshot.fitted_at.ToDatetime(UTC) == datetime(2022, 11, 21, tzinfo=UTC)
        assert len(snapshot.tennis.players) > 500
        for p in snapshot.tennis.players:
            assert 0.4 < p.serve_point_win < 0.85 and 0.2 < p.return_point_win < 0.6
        assert verify(snapshot_hash(snapshot), snapshot_bytes(snapshot)) == snapshot
    assert snapshot_hash(fitting.fit_shipped()) == snapshot_hash(shipped["hard"])


def test_a_real_match_prices_through_the_tennis_pricing(
    shipped: dict[str, snapshot_pb2.ModelSnapshot],
) -> None:
    """The 2022 Wimbledon final (played before the fit's as-of: a sanity check of the prices,
    not a forecast), then a top player against a qualifier on hard courts."""
    grass = shipped["grass"]
    fixture = tennis_fixture("Novak Djokovic", "Nick Kyrgios", 5)
    quote_set = price_fixture(
        fixture, grass, snapshot_hash(grass), [], None, sport_pb2.SPORT_TENNIS
    )
    winner = next(m for m in quote_set.markets if m.type == market_pb2.MARKET_TYPE_MATCH_WINNER)
    home, away = (s.probability_e9 / 1e9 for s in winner.selections)
    assert home + away == pytest.approx(1.0, abs=1e-8)
    assert 0.6 < home < 0.9
    assert all(s.odds_e4 in ladder.LADDER for s in winner.selections)
    sets = next(m for m in quote_set.markets if m.type == market_pb2.MARKET_TYPE_SET_BETTING)
    assert sum(s.probability_e9 for s in sets.selections) / 1e9 == pytest.approx(1.0, abs=1e-8)
    assert sum(
        s.probability_e9 for s in sets.selections if s.selection_id in ("3-0", "3-1", "3-2")
    ) / 1e9 == pytest.approx(home, abs=1e-8)

    hard = shipped["hard"]
    favourite = tennis_model(
        tennis_fixture("Carlos Alcaraz", "XXXXXX De Jong", 3),
        hard,
        [market_pb2.MARKET_TYPE_MATCH_WINNER],
    )[0]
    assert favourite.selections[0].probability > 0.8


def test_the_bench_combines_the_fit_exactly_as_the_pricing_does() -> None:
    matches, _ = fitting.read_matches()
    fit = fit_rates(matches, fitting.shipped_as_of(matches))
    snapshot = fitting.fit_snapshot(fit, "clay")
    m = next(
        m
        for m in matches
        if m.surface == "clay" and m.best_of == 3 and m.tourney_type != "Grand Slam"
    )
    priced = tennis_model(
        tennis_fixture(m.winner_name, m.loser_name, 3),
        snapshot,
        [market_pb2.MARKET_TYPE_MATCH_WINNER],
    )[0]
    assert quality.markov_probability(fit, m) == pytest.approx(
        priced.selections[0].probability, abs=1e-12
    )


def test_the_cli_writes_the_surface_snapshot(
    shipped: dict[str, snapshot_pb2.ModelSnapshot],
    tmp_path: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pathlib import Path

    out = Path(str(tmp_path)) / "clay.snapshot"
    assert fit_cli.main(["--sport", "tennis", "--surface", "clay", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == snapshot_hash(shipped["clay"])
    assert out.read_bytes() == snapshot_bytes(shipped["clay"])
    assert fit_cli.main(["--sport", "tennis", "--as-of", "2021-01-01", "--out", str(out)]) == 2
    assert "no match with statistics" in capsys.readouterr().err


def test_a_file_with_an_unknown_surface_is_refused() -> None:
    row = {c: "" for c in fitting.REQUIRED_COLUMNS} | {
        "surface": "Carpet",
        "tourney_start": "2022-01-03",
        "tourney_end": "2022-01-09",
        "best_of": "3",
    }
    with pytest.raises(fitting.MatchesFormatError, match="surface"):
        fitting.parse_matches([row])


# ---- the quality gate -------------------------------------------------------------------------


def random_factory(as_of: datetime, known: Sequence[TennisMatch]) -> quality.Predictor:
    rng = random.Random(as_of.toordinal())
    return lambda match: rng.random()


def shuffled_factory(as_of: datetime, known: Sequence[TennisMatch]) -> quality.Predictor:
    """The real fit with its players' rates dealt to the wrong players."""
    fit = fit_rates(known, as_of)
    order = np.random.default_rng(as_of.toordinal()).permutation(len(fit.players))
    wrong = dataclasses.replace(
        fit,
        serve={s: v[order] for s, v in fit.serve.items()},
        return_={s: v[order] for s, v in fit.return_.items()},
    )
    return lambda match: quality.markov_probability(wrong, match)


@pytest.fixture(scope="module")
def autumn() -> list[TennisMatch]:
    matches, _ = fitting.read_matches()
    return matches


@pytest.mark.parametrize(
    ("factory", "passes"),
    [(quality.markov_factory(), True), (random_factory, False), (shuffled_factory, False)],
    ids=["fitted", "random", "shuffled"],
)
def test_the_quality_gate_fails_a_random_model(
    autumn: list[TennisMatch], factory: quality.PredictorFactory, passes: bool
) -> None:
    result = quality.walk_forward(
        autumn,
        {quality.MODEL: factory, quality.BASE_RATE: quality.base_rate_factory},
        date(2022, 8, 15),
        date(2022, 10, 31),
    )
    assert result.blocks >= 8 and len(result.matches) > 500
    assert (quality.quality_failures(result) == []) is passes


def test_the_demo_live_match_is_between_players_of_the_shipped_snapshot(
    shipped: dict[str, snapshot_pb2.ModelSnapshot],
) -> None:
    """The mesh prices tennis from fit_shipped(): the bundled live script's players must be
    rated in it (a player it does not know cannot be priced)."""
    from services.live.simulator import load_file

    fixture = load_file("tennis.json", fixture_id="demo")[0].event.fixture
    rated = {p.participant_id for p in fitting.fit_shipped().tennis.players}
    assert {fixture.home.participant_id, fixture.away.participant_id} <= rated
    quote_set = price_fixture(
        fixture, shipped["hard"], snapshot_hash(shipped["hard"]), [], None, sport_pb2.SPORT_TENNIS
    )
    assert quote_set.markets

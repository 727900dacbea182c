"""Basketball fitting from results: home advantage, recovery of a known truth, no look-ahead,
the shipped snapshot prices, and the quality check tells a real model from a random one."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from bench.quotes.basketball_quality import failures, score, walk_forward
from services.quotes import refit
from services.quotes.domain.pricing import price_fixture
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.fitting.basketball import (
    NBA_TEAMS,
    BasketballFit,
    Game,
    GamesFormatError,
    NoTrainingData,
    fit,
    fit_basketball,
    fit_shipped,
    participant_id,
    read_games,
)

START = date(2022, 10, 18)


@dataclasses.dataclass(frozen=True)
class Truth:
    teams: list[str]
    attack: np.ndarray
    defence: np.ndarray
    advantage: float
    mean_total: float


def truth(seed: int = 1, advantage: float = 3.0) -> Truth:
    rng = np.random.default_rng(seed)
    teams = [f"T{i:02d}" for i in range(20)]
    return Truth(teams, rng.normal(0, 4, 20), rng.normal(0, 3, 20), advantage, mean_total=224.0)


def season(t: Truth, games: int, seed: int = 2) -> list[Game]:
    """Games from the truth: each side's points its expectation plus a shared pace shock and
    its own noise (NBA-like: margin sigma ~12.7, total sigma ~18.5)."""
    rng = np.random.default_rng(seed)
    out = []
    n = len(t.teams)
    for k in range(games):
        h, a = rng.choice(n, 2, replace=False)
        pace = rng.normal(0, 7)
        home = t.mean_total / 2 + t.attack[h] + t.defence[a] + t.advantage / 2 + pace
        away = t.mean_total / 2 + t.attack[a] + t.defence[h] - t.advantage / 2 + pace
        hp, ap = round(home + rng.normal(0, 9)), round(away + rng.normal(0, 9))
        if hp == ap:
            hp += 1
        out.append(Game(START + timedelta(days=k // 8), t.teams[h], t.teams[a], hp, ap))
    return out


def test_ratings_recover_a_synthetic_truth() -> None:
    t = truth()
    games = season(t, 3000)
    result = fit(games, games[-1].day + timedelta(days=1), xi=0.0, ridge=1.0)
    order = [result.teams.index(team) for team in t.teams]
    # The truth is centred the way the fit is (each family sums to 0; the level is the mean).
    attack = t.attack - t.attack.mean()
    defence = t.defence - t.defence.mean()
    # About 300 games a team with 11.4 points of noise a score: a rating's standard error is
    # ~0.7 points, against a spread of 3-4 points between teams.
    for fitted, true in ((result.attack[order], attack), (result.defence[order], defence)):
        assert np.sqrt(np.mean((fitted - true) ** 2)) < 0.9
        assert np.corrcoef(fitted, true)[0, 1] > 0.95
    assert result.home_advantage == pytest.approx(t.advantage, abs=0.6)
    assert result.mean_total == pytest.approx(
        t.mean_total + 2 * (t.attack.mean() + t.defence.mean()), abs=1.0
    )
    # Noise per side 9 plus a shared 7: margin sigma sqrt(2 * 81) = 12.7, total sqrt(162 + 196).
    assert result.margin_sigma == pytest.approx(12.73, abs=0.6)
    assert result.total_sigma == pytest.approx(18.92, abs=0.9)
    pace = result.team_pace(t.teams[0])
    assert pace == pytest.approx(attack[0] + defence[0], abs=1.5)


@pytest.mark.parametrize("advantage", [3.0, -3.0])
def test_home_advantage_has_the_sign_of_the_data(advantage: float) -> None:
    games = season(truth(advantage=advantage), 1500)
    result = fit(games, games[-1].day + timedelta(days=1))
    assert np.sign(result.home_advantage) == np.sign(advantage)


def test_the_shipped_season_has_a_home_advantage_and_nba_scale() -> None:
    games, _ = read_games()
    result = fit(games, games[-1].day + timedelta(days=1))
    assert len(games) == 1315
    assert 1.0 < result.home_advantage < 4.5
    assert 215.0 < result.mean_total < 240.0
    assert 10.0 < result.margin_sigma < 16.0
    assert 15.0 < result.total_sigma < 23.0
    # Neutral sites: the fit reads them, a neutral game's advantage is 0.
    home, away = result.expected_points("BOS", "LAL", neutral=True)
    home_h, away_h = result.expected_points("BOS", "LAL")
    assert home_h - away_h == pytest.approx(home - away + result.home_advantage)


def test_no_look_ahead_later_results_change_nothing() -> None:
    games, _ = read_games()
    as_of = date(2023, 1, 15)
    rng = random.Random(3)
    scrambled = [
        g
        if g.day < as_of
        else dataclasses.replace(
            g, home_points=rng.randint(80, 150), away_points=rng.randint(80, 150) | 1
        )
        for g in games
    ]
    scrambled = [g for g in scrambled if g.home_points != g.away_points]
    before, after = fit(games, as_of), fit(scrambled, as_of)
    assert before.teams == after.teams
    assert np.array_equal(before.attack, after.attack)
    assert np.array_equal(before.defence, after.defence)
    assert (before.home_advantage, before.margin_sigma, before.total_sigma) == (
        after.home_advantage,
        after.margin_sigma,
        after.total_sigma,
    )
    # And the as-of day's own games are not training data.
    same_day = fit(games, as_of + timedelta(days=1))
    assert same_day.games > before.games
    with pytest.raises(NoTrainingData):
        fit(games, games[0].day)


def test_walk_forward_hands_the_fitter_only_earlier_days() -> None:
    games, _ = read_games()
    seen: list[tuple[date, date]] = []

    def spy(past: Sequence[Game], day: date) -> BasketballFit:
        seen.append((max(g.day for g in past), day))
        return fit(past, day)

    predictions = walk_forward(games[:300], spy, start_games=200)
    assert predictions and seen
    assert all(last < day for last, day in seen)


def test_the_shipped_snapshot_prices_nba_teams() -> None:
    snapshot = fit_shipped()
    assert snapshot.sport == sport_pb2.SPORT_BASKETBALL
    assert snapshot.training_data_digest.startswith("sha256:")
    ids = {t.participant_id for t in snapshot.basketball.teams}
    assert ids == {participant_id(code) for code in NBA_TEAMS}
    assert {"bb:celtics", "bb:lakers"} <= ids
    # Deterministic: the same data gives the same content address.
    assert snapshot_hash(fit_shipped()) == snapshot_hash(snapshot)
    fixture = sport_pb2.Fixture(
        fixture_id="fit-1",
        sport=sport_pb2.SPORT_BASKETBALL,
        home=sport_pb2.Participant(participant_id="bb:celtics", name="Boston Celtics"),
        away=sport_pb2.Participant(participant_id="bb:spurs", name="San Antonio Spurs"),
    )
    quote_set = price_fixture(
        fixture,
        snapshot,
        snapshot_hash(snapshot),
        [market_pb2.MARKET_TYPE_MONEYLINE, market_pb2.MARKET_TYPE_TOTAL_POINTS],
        None,
        sport_pb2.SPORT_BASKETBALL,
    )
    moneyline = next(m for m in quote_set.markets if m.type == market_pb2.MARKET_TYPE_MONEYLINE)
    odds = {s.selection_id: s.odds_e4 for s in moneyline.selections}
    # 2022-23 Celtics at home to the Spurs: a heavy favourite.
    assert odds.get("away", 0) > 40_000
    totals = [m.line_e2 for m in quote_set.markets if m.type == market_pb2.MARKET_TYPE_TOTAL_POINTS]
    assert all(20_000 < line < 26_000 for line in totals)


def test_the_quality_check_passes_the_model_and_fails_a_random_one() -> None:
    games, _ = read_games()
    real = score(walk_forward(games, fit, start_games=700))
    assert failures(real) == []
    assert real.moneyline["model"][0] < real.moneyline["538 Elo"][0] + 0.02

    rng = np.random.default_rng(5)

    def random_model(past: Sequence[Game], day: date) -> BasketballFit:
        teams = sorted({g.home for g in past} | {g.away for g in past})
        return BasketballFit(
            teams,
            rng.normal(0, 6, len(teams)),
            rng.normal(0, 6, len(teams)),
            home_advantage=float(rng.normal(0, 5)),
            mean_total=float(rng.uniform(200, 250)),
            margin_sigma=float(rng.uniform(5, 20)),
            total_sigma=float(rng.uniform(5, 30)),
            games=len(past),
        )

    noise = score(walk_forward(games, random_model, start_games=700))
    assert failures(noise)


def _rating(snapshot: snapshot_pb2.ModelSnapshot, pid: str) -> float:
    team = next(t for t in snapshot.basketball.teams if t.participant_id == pid)
    return team.attack - team.defence


def test_an_operators_results_refit_the_shipped_season(tmp_path: Path) -> None:
    extra = tmp_path / "nba_2023_24.csv"
    lines = ["date,home_team,away_team,home_pts,away_pts,neutral_site"]
    # A new season in which the Spurs beat the Celtics by 30 every other day.
    for k in range(20):
        day = date(2023, 10, 24) + timedelta(days=2 * k)
        home, away = ("SAS", "BOS") if k % 2 else ("BOS", "SAS")
        spurs, celtics = 130, 100
        lines.append(
            f"{day},{home},{away},"
            f"{spurs if home == 'SAS' else celtics},{celtics if home == 'SAS' else spurs},0"
        )
    extra.write_text("\n".join(lines) + "\n")
    shipped = fit_shipped()
    refitted = fit_basketball(extra=[extra])
    assert refitted.fitted_at.ToDatetime().date() == date(2023, 12, 2)  # the day after its last
    assert refitted.training_data_digest != shipped.training_data_digest
    assert _rating(refitted, "bb:spurs") > _rating(shipped, "bb:spurs") + 3
    assert _rating(refitted, "bb:celtics") < _rating(shipped, "bb:celtics") - 3
    # The refit job's path: with files, the operator's fit; without, the shipped one.
    via_job = refit.fit_sport(sport_pb2.SPORT_BASKETBALL, (), [extra])
    assert via_job is not None and snapshot_hash(via_job) == snapshot_hash(refitted)
    plain = refit.fit_sport(sport_pb2.SPORT_BASKETBALL, ())
    assert plain is not None and snapshot_hash(plain) == snapshot_hash(shipped)
    broken = tmp_path / "broken.csv"
    broken.write_text("date,home_team,away_team\n2023-10-24,BOS,SAS\n")
    with pytest.raises(GamesFormatError):
        fit_basketball(extra=[broken])

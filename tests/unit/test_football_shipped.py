"""Football from the shipped data (data/football/): every league read once, one deterministic
fit, the operator's own results and closing odds taken in, and the start-up snapshot cache."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from betmesh.common.v1 import sport_pb2

from services.quotes.domain.snapshots import snapshot_bytes, snapshot_hash
from services.quotes.fitting.data import participant_id, read_results
from services.quotes.fitting.football import (
    DATA_DIR,
    fit_football,
    fit_shipped,
    football_rows,
    teams_by_competition,
)
from services.quotes.shipped import cache_bytes, fitter, shipped_snapshot
from tests.support.demo_snapshots import demo_snapshots

LEAGUES = {
    ("Bundesliga", "2022-23"): 306,
    ("Serie A", "2022-23"): 380,
    ("Ligue 1", "2022-23"): 380,
    ("Premier League", "2022-23"): 380,
    ("Premier League", "2023-24"): 380,
}


def test_every_shipped_league_is_read_once_and_the_epl_keeps_its_closing_odds() -> None:
    rows, digest = football_rows()
    assert Counter((r.competition, r.season) for r in rows) == LEAGUES
    matches = Counter(
        (r.kickoff.date(), participant_id(r.home), participant_id(r.away)) for r in rows
    )
    assert max(matches.values()) == 1
    with_odds = [r for r in rows if r.odds_1x2 is not None]
    assert len(with_odds) == 380
    assert {(r.competition, r.season) for r in with_odds} == {("Premier League", "2023-24")}
    assert digest.startswith("sha256:") and digest == football_rows()[1]


def test_the_football_data_shape_is_read() -> None:
    rows, _ = read_results(DATA_DIR / "results.csv")
    first = rows[0]
    assert (first.home, first.away, first.home_goals, first.away_goals) == (
        "Ein Frankfurt",
        "Bayern Munich",
        1,
        6,
    )
    assert first.kickoff == datetime(2022, 8, 5, tzinfo=UTC)
    assert first.competition == "Bundesliga" and first.odds_1x2 is None


def test_fit_shipped_rates_every_team_of_every_league_deterministically() -> None:
    snapshot = fit_shipped()
    assert snapshot.sport == sport_pb2.SPORT_FOOTBALL
    assert snapshot.model == "dixon-coles-market-xg/2"
    rated = {t.participant_id for t in snapshot.football.teams}
    for competition, teams in teams_by_competition().items():
        assert {pid for pid, _ in teams} <= rated, competition
    assert {len(t) for t in teams_by_competition().values()} == {18, 20}
    assert snapshot.fitted_at.ToDatetime(UTC) == datetime(2024, 5, 20, tzinfo=UTC)
    assert snapshot.training_data_digest == football_rows()[1]
    assert snapshot_bytes(fit_shipped()) == snapshot_bytes(snapshot)
    ratings = {t.participant_id: t for t in snapshot.football.teams}
    # The champions outrate the relegated, in each league.
    for top, bottom in [
        ("fb:man-city", "fb:sheffield-united"),
        ("fb:bayern-munich", "fb:schalke-04"),
        ("fb:napoli", "fb:sampdoria"),
        ("fb:paris-sg", "fb:angers"),
    ]:
        strong, weak = ratings[top], ratings[bottom]
        assert strong.attack - strong.defence > weak.attack - weak.defence + 0.5, top


def test_the_operators_results_and_closing_odds_extend_and_replace_the_shipped_ones(
    tmp_path: Path,
) -> None:
    extra = tmp_path / "operator.csv"
    columns = ["kickoff_utc", "home", "away", "ft_home", "ft_away", "avg_home", "avg_draw"]
    columns += ["avg_away", "avg_over_2_5", "avg_under_2_5"]
    with extra.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        # A new match after the shipped data, and a shipped EPL 2022-23 result now with odds.
        writer.writerow(
            ["2024-08-16T19:00:00Z", "Man United", "Fulham", 1, 0, 1.6, 4.2, 5.5, 1.8, 2]
        )
        writer.writerow(["2022-08-05T19:00:00Z", "Crystal Palace", "Arsenal", 0, 2, 4.5, 3.6, 1.8])
        writer.writerow(
            ["2022-08-05T19:00:00Z", "Crystal Palace", "Arsenal", 0, 2, 4.5, 3.6, 1.8, 1.9, 1.9]
        )
    rows, digest = football_rows(extra=[extra])
    assert len(rows) == 1826 + 1 and digest != football_rows()[1]
    (palace,) = [
        r
        for r in rows
        if r.home == "Crystal Palace" and r.season == "2022-23" and r.away == "Arsenal"
    ]
    assert palace.odds_1x2 == (4.5, 3.6, 1.8) and palace.competition == "Premier League"
    snapshot = fit_football(extra=[extra])
    assert snapshot.fitted_at.ToDatetime(UTC) == datetime(2024, 8, 17, tzinfo=UTC)
    assert snapshot_hash(snapshot) != snapshot_hash(fit_shipped())


def test_the_start_up_snapshot_is_fitted_once_then_read_from_the_cache(tmp_path: Path) -> None:
    first = shipped_snapshot(sport_pb2.SPORT_FOOTBALL, tmp_path)
    assert snapshot_bytes(first) == snapshot_bytes(fit_shipped())
    (cached,) = tmp_path.glob("football-*.snapshot")
    assert cached.read_bytes() == cache_bytes([first])
    # The cache is what is read: a (valid) snapshot planted under the name is returned as is...
    planted = demo_snapshots()[0]
    cached.write_bytes(cache_bytes([planted]))
    assert snapshot_hash(shipped_snapshot(sport_pb2.SPORT_FOOTBALL, tmp_path)) == snapshot_hash(
        planted
    )
    # ... and bytes that are no snapshot (or not canonical, or cut short) are refitted and
    # replaced.
    for bad in (
        b"\x00garbage",
        snapshot_bytes(first),
        cache_bytes([first])[:-1],
        cache_bytes([first]) + b"\x00",
    ):
        cached.write_bytes(bad)
        again = shipped_snapshot(sport_pb2.SPORT_FOOTBALL, tmp_path)
        assert snapshot_bytes(again) == snapshot_bytes(first)
        assert cached.read_bytes() == cache_bytes([first])
    assert snapshot_hash(shipped_snapshot(sport_pb2.SPORT_FOOTBALL, None)) == snapshot_hash(first)


def test_every_sport_starts_on_a_model_fitted_from_its_shipped_data(tmp_path: Path) -> None:
    demos = {snapshot_hash(s) for s in demo_snapshots()}
    for sport in (sport_pb2.SPORT_FOOTBALL, sport_pb2.SPORT_TENNIS, sport_pb2.SPORT_BASKETBALL):
        assert fitter(sport) is not None
        snapshot = shipped_snapshot(sport, tmp_path)
        assert snapshot.sport == sport and snapshot_hash(snapshot) not in demos
        assert not snapshot.model.endswith("/demo-fixed") and snapshot.training_data_digest


def test_every_tennis_surface_is_stored_at_start_from_one_cached_fit(tmp_path: Path) -> None:
    """Clay and grass fixtures price from their own surface's fit: a replica's start stores
    every surface's snapshot, the hard-court one last (the newest, for a fixture naming none)."""
    from services.quotes.fitting.tennis import fit_shipped_surfaces
    from services.quotes.shipped import shipped_snapshots, shipped_snapshots_of

    fitted = fit_shipped_surfaces()
    stored = shipped_snapshots_of(sport_pb2.SPORT_TENNIS, tmp_path)
    assert [s.tennis.surface for s in stored] == [
        sport_pb2.TENNIS_SURFACE_CLAY,
        sport_pb2.TENNIS_SURFACE_GRASS,
        sport_pb2.TENNIS_SURFACE_HARD,
    ]
    assert [snapshot_hash(s) for s in stored] == [
        snapshot_hash(fitted[surface]) for surface in ("clay", "grass", "hard")
    ]
    assert snapshot_hash(shipped_snapshot(sport_pb2.SPORT_TENNIS, tmp_path)) == snapshot_hash(
        fitted["hard"]
    )
    (cached,) = tmp_path.glob("tennis-*.snapshot")
    assert cached.read_bytes() == cache_bytes(stored)
    # Read back from the cache, not refitted, and the same without a cache.
    again = shipped_snapshots_of(sport_pb2.SPORT_TENNIS, tmp_path)
    assert [snapshot_bytes(s) for s in again] == [snapshot_bytes(s) for s in stored]
    plain = shipped_snapshots_of(sport_pb2.SPORT_TENNIS, None)
    assert [snapshot_hash(s) for s in plain] == [snapshot_hash(s) for s in stored]
    # The refit job publishes every surface too, the hard-court one last.
    from services.quotes.refit import fit_sport, fit_sport_all

    refitted = fit_sport_all(sport_pb2.SPORT_TENNIS, ())
    assert [snapshot_hash(s) for s in refitted] == [snapshot_hash(s) for s in stored]
    main = fit_sport(sport_pb2.SPORT_TENNIS, ())
    assert main is not None and snapshot_hash(main) == snapshot_hash(fitted["hard"])
    every = shipped_snapshots(tmp_path)
    assert [s.sport for s in every].count(sport_pb2.SPORT_TENNIS) == 3
    assert len(every) == 5


def test_shots_on_target_sharpen_the_ratings_of_a_league_without_odds() -> None:
    from datetime import timedelta

    from services.quotes.fitting.data import MatchRow
    from services.quotes.fitting.snapshot import fit_football_snapshot

    teams = ["Shooter", "Even A", "Even B", "Even C"]
    start = datetime(2023, 8, 1, 15, tzinfo=UTC)
    rows = []
    day = 0
    for _ in range(3):
        for home in teams:
            for away in teams:
                if home == away:
                    continue
                shots = (8 if home == "Shooter" else 3, 8 if away == "Shooter" else 3)
                rows.append(
                    MatchRow(
                        start + timedelta(days=day),
                        home,
                        away,
                        1,
                        1,
                        competition="L",
                        shots_on_target=shots,
                    )
                )
                day += 1
    as_of = start + timedelta(days=day)

    def strength(snapshot_weight: float) -> dict[str, float]:
        fitted = fit_football_snapshot(rows, as_of, shots_weight=snapshot_weight).football
        return {t.name: t.attack for t in fitted.teams}

    goals_only = strength(0.0)
    assert max(goals_only.values()) - min(goals_only.values()) < 1e-6  # every match 1-1
    with_shots = strength(0.7)
    assert with_shots["Shooter"] > max(v for k, v in with_shots.items() if k != "Shooter") + 0.3


def test_the_launchers_warm_up_fills_the_cache_for_every_sport(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from services.quotes import shipped

    assert shipped.main(["--cache", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["football", "tennis", "basketball"]
    football = shipped_snapshot(sport_pb2.SPORT_FOOTBALL, None)
    assert f"football: {snapshot_hash(football)} " in lines[0]
    fitted = {p.name.split("-")[0] for p in tmp_path.glob("*.snapshot")}
    assert "football" in fitted
    # A fit of other inputs (an older version's) is removed when the new one is written.
    stale = tmp_path / "football-0000.snapshot"
    stale.write_bytes(b"old")
    for cached in tmp_path.glob("football-*.snapshot"):
        if cached != stale:
            cached.unlink()
    shipped_snapshot(sport_pb2.SPORT_FOOTBALL, tmp_path)
    assert not stale.exists() and len(list(tmp_path.glob("football-*.snapshot"))) == 1


def test_a_snapshot_file_that_is_no_snapshot_is_refused(tmp_path: Path) -> None:
    from services.quotes.shipped import read_snapshot_file

    for name, data in (("garbage", b"\xff\xff\xff"), ("empty", b"")):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError):
            read_snapshot_file(path)
    good = tmp_path / "demo"
    good.write_bytes(snapshot_bytes(demo_snapshots()[0]))
    assert snapshot_hash(read_snapshot_file(good)) == snapshot_hash(demo_snapshots()[0])

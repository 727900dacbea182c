"""Football fitting: Dixon-Coles likelihood and fit, market-implied goals, snapshots, the CLI."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from service_runtime.digest import digest_bytes
from services.quotes import fit as fit_cli
from services.quotes.domain import football
from services.quotes.domain.snapshots import snapshot_bytes, snapshot_hash
from services.quotes.fitting.data import MatchRow, participant_id, read_results
from services.quotes.fitting.dixon_coles import (
    MatchData,
    _low_score_masks,
    _objective,
    fit_dixon_coles,
    fit_poisson_ratings,
    log_likelihood,
)
from services.quotes.fitting.market_implied import implied_expected_goals, remove_margin
from services.quotes.fitting.snapshot import (
    METHOD_DIXON_COLES,
    METHOD_MARKET_XG,
    NoTrainingData,
    fit_football_snapshot,
)

REPO = Path(__file__).resolve().parents[2]
TEAMS = ["Man City", "Nott'm Forest", "Luton", "West Ham", "Brighton", "Wolves"]
STRENGTH = {  # attack, defence (log scale), used to simulate a season
    "Man City": (0.5, -0.5),
    "Nott'm Forest": (-0.2, 0.2),
    "Luton": (-0.3, 0.4),
    "West Ham": (0.1, 0.1),
    "Brighton": (0.2, 0.0),
    "Wolves": (-0.3, 0.0),
}


def simulate(rounds: int = 4, seed: int = 7) -> list[MatchRow]:
    """A few double round robins with goals drawn from known strengths, plus fair-ish odds."""
    rng = np.random.default_rng(seed)
    rows = []
    kickoff = datetime(2023, 8, 12, 14, tzinfo=UTC)
    for _ in range(rounds):
        for home in TEAMS:
            for away in TEAMS:
                if home == away:
                    continue
                lam, mu = football.expected_goals(*STRENGTH[home], *STRENGTH[away], 0.25, False)
                grid = football.dixon_coles_grid(lam, mu, -0.05, 10)
                h, d, a = grid.match_result()
                over = float(
                    sum(grid.probabilities[i, j] for i in range(11) for j in range(11) if i + j > 2)
                )
                rows.append(
                    MatchRow(
                        kickoff=kickoff,
                        home=home,
                        away=away,
                        home_goals=int(rng.poisson(lam)),
                        away_goals=int(rng.poisson(mu)),
                        odds_1x2=(0.95 / h, 0.95 / d, 0.95 / a),
                        odds_total_2_5=(0.95 / over, 0.95 / (1 - over)),
                    )
                )
                kickoff += timedelta(hours=30)
    return rows


def write_csv(path: Path, rows: list[MatchRow]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "kickoff_utc",
                "home",
                "away",
                "ht_home",
                "ht_away",
                "ft_home",
                "ft_away",
                "avg_home",
                "avg_draw",
                "avg_away",
                "avg_over_2_5",
                "avg_under_2_5",
            ]
        )
        for r in rows:
            assert r.odds_1x2 and r.odds_total_2_5
            writer.writerow(
                [
                    r.kickoff.strftime("%Y-%m-%dT%H:%MZ"),
                    r.home,
                    r.away,
                    0,
                    0,
                    r.home_goals,
                    r.away_goals,
                    *(f"{o:.2f}" for o in r.odds_1x2),
                    *(f"{o:.2f}" for o in r.odds_total_2_5),
                ]
            )


def test_log_likelihood_matches_a_hand_computation() -> None:
    data = MatchData.build(["A", "B"], ["B", "A"], [0, 2], [1, 1])
    attack, defence = np.array([0.2, -0.2]), np.array([-0.1, 0.1])
    advantage, rho = 0.3, -0.1
    lam1, mu1 = math.exp(0.2 + 0.1 + 0.3), math.exp(-0.2 - 0.1)  # A (home) v B: 0-1
    lam2, mu2 = math.exp(-0.2 - 0.1 + 0.3), math.exp(0.2 + 0.1)  # B (home) v A: 2-1

    def log_poisson(k: int, rate: float) -> float:
        return k * math.log(rate) - rate - math.lgamma(k + 1)

    expected = (
        log_poisson(0, lam1)
        + log_poisson(1, mu1)
        + math.log(1 + lam1 * rho)
        + log_poisson(2, lam2)
        + log_poisson(1, mu2)
    )
    assert log_likelihood(data, attack, defence, advantage, rho) == pytest.approx(expected, 1e-13)


def test_gradient_matches_finite_differences() -> None:
    rows = simulate(rounds=1)
    data = MatchData.build(
        [r.home for r in rows],
        [r.away for r in rows],
        [r.home_goals for r in rows],
        [r.away_goals for r in rows],
        np.linspace(0.5, 1.0, len(rows)),
    )
    rng = np.random.default_rng(1)
    params = np.concatenate([rng.normal(0, 0.3, 12), [0.2, -0.08]])
    masks = _low_score_masks(data)
    _, grad = _objective(params, data, True, 0.01, masks, 0.0)
    step = 1e-6
    numeric = [
        (
            _objective(params + e * step, data, True, 0.01, masks, 0.0)[0]
            - _objective(params - e * step, data, True, 0.01, masks, 0.0)[0]
        )
        / (2 * step)
        for e in np.eye(len(params))
    ]
    assert np.allclose(grad, numeric, atol=1e-6, rtol=0)


def test_fit_is_centred_recovers_strengths_and_is_a_maximum() -> None:
    rows = simulate(rounds=12)
    data = MatchData.build(
        [r.home for r in rows],
        [r.away for r in rows],
        [r.home_goals for r in rows],
        [r.away_goals for r in rows],
    )
    ratings = fit_dixon_coles(data)
    assert abs(float(ratings.attack.sum())) < 1e-12
    city = ratings.teams.index("Man City")
    luton = ratings.teams.index("Luton")
    assert ratings.attack[city] > ratings.attack[luton]
    assert ratings.defence[city] < ratings.defence[luton]
    assert 0.0 < ratings.home_advantage < 0.6
    best = ratings.log_likelihood
    for shift in (1e-3, -1e-3):
        nudged = ratings.attack.copy()
        nudged[city] += shift
        worse = log_likelihood(data, nudged, ratings.defence, ratings.home_advantage, ratings.rho)
        assert worse < best
    assert log_likelihood(
        data, ratings.attack, ratings.defence, ratings.home_advantage, ratings.rho
    ) == pytest.approx(best, abs=1e-9)


def test_quasi_poisson_ratings_reproduce_consistent_targets() -> None:
    # Targets generated exactly by a rating model are reproduced exactly.
    home = ["A", "A", "B", "B", "C", "C"]
    away = ["B", "C", "A", "C", "A", "B"]
    attack = {"A": 0.3, "B": 0.0, "C": -0.3}
    defence = {"A": -0.2, "B": 0.1, "C": 0.1}
    th = [math.exp(attack[h] + defence[a] + 0.2) for h, a in zip(home, away, strict=True)]
    ta = [math.exp(attack[a] + defence[h]) for h, a in zip(home, away, strict=True)]
    ratings = fit_poisson_ratings(MatchData.build(home, away, th, ta))
    assert ratings.home_advantage == pytest.approx(0.2, abs=1e-6)
    assert ratings.attack == pytest.approx([0.3, 0.0, -0.3], abs=1e-6)
    assert ratings.defence == pytest.approx([-0.2, 0.1, 0.1], abs=1e-6)


def test_implied_expected_goals_round_trip() -> None:
    rates = [(1.9, 0.8), (0.7, 2.2), (1.3, 1.3)]
    odds_1x2, odds_totals = [], []
    for lam, mu in rates:
        grid = football.dixon_coles_grid(lam, mu, 0.0, 10)
        h, d, a = grid.match_result()
        i, j = np.indices(grid.probabilities.shape)
        over = float(grid.probabilities[i + j > 2].sum())
        odds_1x2.append([1 / (1.06 * h), 1 / (1.06 * d), 1 / (1.06 * a)])  # 6% margin
        odds_totals.append([1 / (1.05 * over), 1 / (1.05 * (1 - over))])
    home, away = implied_expected_goals(np.array(odds_1x2), np.array(odds_totals))
    assert home == pytest.approx([r[0] for r in rates], abs=1e-6)
    assert away == pytest.approx([r[1] for r in rates], abs=1e-6)
    assert remove_margin(np.array([2.0, 4.0, 4.0])) == pytest.approx([0.5, 0.25, 0.25])


def test_snapshot_fields_and_determinism() -> None:
    rows = simulate()
    as_of = datetime(2024, 1, 1, tzinfo=UTC)
    snapshot = fit_football_snapshot(rows, as_of, 0.005, training_data_digest="sha256:abc")
    assert snapshot.sport == sport_pb2.SPORT_FOOTBALL
    assert snapshot.model == "dixon-coles-market-xg/2"
    assert snapshot.fitted_at.ToDatetime(tzinfo=UTC) == as_of
    assert snapshot.training_data_digest == "sha256:abc"
    params = snapshot.football
    assert params.time_decay_xi == 0.005 and params.max_goals == 10
    ids = sorted(t.participant_id for t in params.teams)
    assert "fb:man-city" in ids and "fb:nottm-forest" in ids and len(ids) == 6
    assert -0.5 <= params.rho <= 0.5
    assert snapshot.pricing_policy.floor_short_prices and not snapshot.pricing_policy.payout_cap_e4
    again = fit_football_snapshot(rows, as_of, 0.005, training_data_digest="sha256:abc")
    assert snapshot_bytes(again) == snapshot_bytes(snapshot)
    plain = fit_football_snapshot(rows, as_of, 0.0, method=METHOD_DIXON_COLES)
    assert plain.model == "dixon-coles/1"


def test_only_matches_before_as_of_are_used() -> None:
    rows = simulate()
    as_of = rows[40].kickoff
    before = fit_football_snapshot(rows, as_of, 0.01)
    # Changing a match at or after as_of (its result and its odds) changes nothing.
    tampered = list(rows)
    late = rows[40]
    tampered[40] = MatchRow(late.kickoff, late.home, late.away, 9, 0, (1.01, 30.0, 50.0), None)
    assert snapshot_bytes(fit_football_snapshot(tampered, as_of, 0.01)) == snapshot_bytes(before)
    with pytest.raises(NoTrainingData):
        fit_football_snapshot(rows, rows[0].kickoff, 0.01)
    with pytest.raises(ValueError, match="unknown method"):
        fit_football_snapshot(rows, as_of, 0.01, method="elo")


def test_market_xg_needs_no_odds_to_run() -> None:
    rows = [MatchRow(r.kickoff, r.home, r.away, r.home_goals, r.away_goals) for r in simulate()]
    snapshot = fit_football_snapshot(
        rows, datetime(2025, 1, 1, tzinfo=UTC), 0.0, method=METHOD_MARKET_XG
    )
    assert len(snapshot.football.teams) == 6


def test_participant_ids() -> None:
    assert participant_id("Nott'm Forest") == "fb:nottm-forest"
    assert participant_id("Man United") == "fb:man-united"
    assert participant_id("  Brighton & Hove Albion ") == "fb:brighton-hove-albion"


def test_cli_writes_canonical_bytes_and_prints_their_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.csv"
    write_csv(results, simulate(rounds=2))
    out = tmp_path / "snapshot.bin"
    assert fit_cli.main(["--results", str(results), "--out", str(out), "--xi", "0.01"]) == 0
    printed = capsys.readouterr().out.strip()
    data = out.read_bytes()
    assert printed == digest_bytes(data)
    snapshot = snapshot_pb2.ModelSnapshot()
    snapshot.ParseFromString(data)
    assert snapshot_hash(snapshot) == printed
    rows, digest = read_results(results)
    assert snapshot.training_data_digest == digest == digest_bytes(results.read_bytes())
    # Default as-of: midnight UTC after the last match.
    last = rows[-1].kickoff
    assert snapshot.fitted_at.ToDatetime(tzinfo=UTC) == datetime(
        last.year, last.month, last.day, tzinfo=UTC
    ) + timedelta(days=1)

    # Another process fitting the same file produces the same bytes.
    other = tmp_path / "other.bin"
    command = [
        sys.executable,
        "-m",
        "services.quotes.fit",
        "--results",
        str(results),
        "--out",
        str(other),
        "--xi",
        "0.01",
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == printed and other.read_bytes() == data


def test_cli_rejects_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,home,away\n2024-01-01,A,B\n")
    assert fit_cli.main(["--results", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert "missing columns" in capsys.readouterr().err
    results = tmp_path / "results.csv"
    write_csv(results, simulate(rounds=1))
    code = fit_cli.main(
        ["--results", str(results), "--out", str(tmp_path / "x"), "--as-of", "2000-01-01"]
    )
    assert code == 2 and "no match before" in capsys.readouterr().err

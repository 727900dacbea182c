"""The results-only tuning set (bench/football/results_only.py) is EPL 2023/24 as a first season
without odds, and nothing else changes: what is tuned there never reads an evaluation league."""

from __future__ import annotations

from bench.football.results_only import BEFORE_TUNING, TUNING, tuning_rows
from services.quotes.fitting.football import football_rows


def test_the_tuning_set_hides_its_odds_and_its_past_season() -> None:
    rows, _ = football_rows()
    tuning = tuning_rows(rows)
    leagues = {(r.competition, r.season) for r in tuning}
    assert BEFORE_TUNING not in leagues and TUNING in leagues
    epl = [r for r in tuning if (r.competition, r.season) == TUNING]
    assert len(epl) == 380
    assert all(r.odds_1x2 is None and r.odds_total_2_5 is None for r in epl)
    # The shipped EPL 2023/24 file has no shots on target (the results-only leagues have them).
    assert all(r.shots_on_target is None for r in epl)
    others = [r for r in rows if (r.competition, r.season) not in (TUNING, BEFORE_TUNING)]
    assert [r for r in tuning if (r.competition, r.season) != TUNING] == others

"""The football fitting CLI stores its snapshot where replicas fetch it (real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service_runtime import postgres
from services.quotes import fit as fit_cli
from services.quotes.adapters.postgres_store import PostgresSnapshotStore
from tests.unit.test_football_fitting import simulate, write_csv


def test_fit_cli_stores_the_snapshot_under_its_hash(
    tmp_path: Path, private_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.csv"
    write_csv(results, simulate(rounds=2))
    out = tmp_path / "snapshot.bin"
    argv = ["--results", str(results), "--out", str(out), "--database-url", private_database_url]
    assert fit_cli.main(argv) == 0
    key = capsys.readouterr().out.strip()
    engine = postgres.create_engine(private_database_url, pool_size=1)
    try:
        assert PostgresSnapshotStore(engine).load(key) == out.read_bytes()
    finally:
        engine.dispose()


def test_the_refit_job_publishes_the_shipped_fit_and_the_operators_data(
    tmp_path: Path, private_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from betmesh.common.v1 import sport_pb2

    from services.quotes import refit
    from services.quotes.domain.snapshots import snapshot_hash
    from services.quotes.fitting.football import fit_football, fit_shipped

    argv = ["--sport", "football", "--database-url", private_database_url]
    assert refit.main(argv) == 0
    shipped = snapshot_hash(fit_shipped())
    assert shipped in capsys.readouterr().out
    # The operator's closing odds for a match after the shipped data: a new snapshot.
    operator = tmp_path / "operator"
    operator.mkdir()
    (operator / "week.csv").write_text(
        "kickoff_utc,home,away,ft_home,ft_away,avg_home,avg_draw,avg_away,avg_over_2_5,"
        "avg_under_2_5\n2024-08-16T19:00:00Z,Man United,Fulham,1,0,1.6,4.2,5.5,1.8,2.0\n"
    )
    assert refit.main([*argv, "--football-extra-dir", str(operator)]) == 0
    refitted = snapshot_hash(fit_football(extra=[operator / "week.csv"]))
    assert refitted != shipped and refitted in capsys.readouterr().out
    engine = postgres.create_engine(private_database_url, pool_size=1)
    try:
        newest = PostgresSnapshotStore(engine).newest(sport_pb2.SPORT_FOOTBALL, 5, 0)
    finally:
        engine.dispose()
    assert [s.snapshot_hash for s in newest][:2] == [refitted, shipped]
    # A file that is no results file fails the job (exit 1), and publishes nothing.
    (operator / "broken.csv").write_text("nothing,useful\n1,2\n")
    assert refit.main([*argv, "--football-extra-dir", str(operator)]) == 1


def test_the_launchers_scheduled_refit_publishes_when_due(
    tmp_path: Path, private_database_url: str
) -> None:
    from betmesh.common.v1 import sport_pb2

    from launcher.refit import RefitJob
    from services.quotes.domain.snapshots import snapshot_hash
    from services.quotes.fitting.football import fit_football

    operator = tmp_path / "operator"
    operator.mkdir()
    (operator / "week.csv").write_text(
        "kickoff_utc,home,away,ft_home,ft_away\n2024-08-17T14:00:00Z,Arsenal,Wolves,2,0\n"
    )
    clock = [1000.0]
    said: list[str] = []
    job = RefitJob(
        private_database_url, 3600, tmp_path / "refit.log", said.append, operator, lambda: clock[0]
    )

    def run_once() -> None:
        job.poll()  # due: starts
        assert job.process is not None
        job.process.wait(300)
        job.poll()  # reaps

    run_once()
    assert said == [f"refit published: {tmp_path / 'refit.log'}"], (
        tmp_path / "refit.log"
    ).read_text()
    job.poll()
    assert job.process is None  # not due again for an hour
    engine = postgres.create_engine(private_database_url, pool_size=1)
    try:
        newest = PostgresSnapshotStore(engine).newest(sport_pb2.SPORT_FOOTBALL, 1, 0)
    finally:
        engine.dispose()
    assert newest[0].snapshot_hash == snapshot_hash(fit_football(extra=[operator / "week.csv"]))
    # An hour later it runs again; a broken operator file is reported, not fatal.
    (operator / "broken.csv").write_text("nothing,useful\n1,2\n")
    clock[0] += 3600
    run_once()
    assert said[-1].startswith("refit failed (exit 1)")
    assert job.runs == 2 and job.failures == 1
    job.stop()

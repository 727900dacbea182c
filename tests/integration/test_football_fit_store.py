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

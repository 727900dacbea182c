"""Snapshots in PostgreSQL (schema "quotes"), shared by every replica of the mesh."""

from __future__ import annotations

import sqlalchemy as sa
from betmesh.common.v1 import sport_pb2
from sqlalchemy.engine import Engine

from services.quotes.domain.snapshots import StoredSnapshot

SCHEMA = "quotes"


class PostgresSnapshotStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, snapshot: StoredSnapshot) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sa.text(
                    """
                    INSERT INTO quotes.model_snapshots (snapshot_hash, sport, model, snapshot)
                    VALUES (:hash, :sport, :model, :data)
                    ON CONFLICT (snapshot_hash) DO NOTHING
                    """
                ),
                {
                    "hash": snapshot.snapshot_hash,
                    "sport": int(snapshot.sport),
                    "model": snapshot.model,
                    "data": snapshot.data,
                },
            )

    def load(self, snapshot_hash: str) -> bytes | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT snapshot FROM quotes.model_snapshots WHERE snapshot_hash = :hash"),
                {"hash": snapshot_hash},
            ).first()
        return bytes(row.snapshot) if row is not None else None

    def newest(
        self, sport: sport_pb2.Sport.ValueType, limit: int, offset: int
    ) -> list[StoredSnapshot]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    """
                    SELECT snapshot_hash, sport, model, snapshot FROM quotes.model_snapshots
                    WHERE :sport = 0 OR sport = :sport
                    ORDER BY created_at DESC, snapshot_hash
                    LIMIT :limit OFFSET :offset
                    """
                ),
                {"sport": int(sport), "limit": limit, "offset": offset},
            ).all()
        return [StoredSnapshot(r.snapshot_hash, r.sport, r.model, bytes(r.snapshot)) for r in rows]

"""The oracle schema as SQLAlchemy Core tables (created by the Alembic migrations)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

SCHEMA = "oracle"
metadata = sa.MetaData(schema=SCHEMA)

results = sa.Table(
    "results",
    metadata,
    sa.Column("fixture_id", sa.Text, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("result", sa.LargeBinary),
    sa.Column("result_status", sa.Text),
    sa.Column("home_score", sa.Integer),
    sa.Column("away_score", sa.Integer),
    sa.Column("sources_hash", sa.Text, nullable=False),
    sa.Column("resolution_note", sa.Text, nullable=False),
    sa.Column("resolved_by", sa.Text, nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("event_pending", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

observations = sa.Table(
    "observations",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("fixture_id", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text, nullable=False),
    sa.Column("observation", sa.LargeBinary, nullable=False),
    sa.Column("sport", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("home_score", sa.Integer, nullable=False),
    sa.Column("away_score", sa.Integer, nullable=False),
    sa.Column("set_games", postgresql.ARRAY(sa.Integer), nullable=False),
    sa.Column("home_half_time_score", sa.Integer, nullable=False),
    sa.Column("away_half_time_score", sa.Integer, nullable=False),
    sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source_reference", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True)),
)

publications = sa.Table(
    "publications",
    metadata,
    sa.Column("fixture_id", sa.Text, primary_key=True),
    sa.Column("fixture_key", sa.LargeBinary, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("submit_tx_id", sa.BigInteger),
    sa.Column("finalise_tx_id", sa.BigInteger),
    sa.Column("transaction_hash", sa.Text, nullable=False),
    sa.Column("block_number", sa.BigInteger),
    sa.Column("block_hash", sa.Text, nullable=False),
    sa.Column("final_at", sa.DateTime(timezone=True)),
    sa.Column("final_event_pending", sa.Boolean, nullable=False),
    sa.Column("failure", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_accepted_at", sa.BigInteger),
    sa.Column("announced_version", sa.BigInteger, nullable=False),
    sa.Column("ready_at", sa.DateTime(timezone=True)),
)

corrections = sa.Table(
    "corrections",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("fixture_id", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("previous", sa.LargeBinary, nullable=False),
    sa.Column("result", sa.LargeBinary, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("corrected_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

chain_transactions = sa.Table(
    "chain_transactions",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("wallet", sa.Text, nullable=False),
    sa.Column("nonce", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("tx_hash", sa.Text, nullable=False),
    sa.Column("report_digest", sa.LargeBinary, nullable=False),
    sa.Column("fixture_ids", postgresql.ARRAY(sa.Text), nullable=False),
    sa.Column("max_fee_per_gas", sa.Numeric(78, 0), nullable=False),
    sa.Column("max_priority_fee_per_gas", sa.Numeric(78, 0), nullable=False),
    sa.Column("gas", sa.BigInteger, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("block_number", sa.BigInteger),
    sa.Column("block_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

chain_cursors = sa.Table(
    "chain_cursors",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("block_number", sa.BigInteger, nullable=False),
    sa.Column("block_hash", sa.Text, nullable=False),
)

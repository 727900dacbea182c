"""One outbox for every event bets announces: a topic per row, and an encoded envelope.

bets.outbox held only BetSettled notices, as columns. A void's BetsVoided was published after
the void committed, so a process dying in between lost it (and partners their BetCancel). Now
any row may carry its topic and its `betmesh.events.v1.EventEnvelope`, encoded (event id and
time set when it was written, so a relay that publishes it twice publishes the same event),
with the W3C trace context of the span that wrote it. Settlement rows are unchanged: topic
`bets.settled`, no envelope, the notice's columns (now NULL on enveloped rows).

Downgrade deletes the enveloped rows (0007's relay cannot read them): voids not yet relayed
are then never announced.

Revision ID: 0008_outbox_topics
Revises: 0007_stake_totals
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_outbox_topics"
down_revision: str | None = "0007_stake_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOTICE_COLUMNS = ("bet_id", "player_id", "status", "payout_minor", "currency")


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE bets.outbox
            ADD COLUMN topic TEXT NOT NULL DEFAULT 'bets.settled',
            ADD COLUMN envelope BYTEA,
            ADD COLUMN trace_context JSONB NOT NULL DEFAULT '{{}}'::jsonb,
            {", ".join(f"ALTER COLUMN {c} DROP NOT NULL" for c in _NOTICE_COLUMNS)},
            ADD CONSTRAINT outbox_row_readable CHECK (
                envelope IS NOT NULL
                OR (topic = 'bets.settled'
                    AND {" AND ".join(f"{c} IS NOT NULL" for c in _NOTICE_COLUMNS)})
            )
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM bets.outbox WHERE envelope IS NOT NULL")
    op.execute(
        f"""
        ALTER TABLE bets.outbox
            DROP CONSTRAINT outbox_row_readable,
            {", ".join(f"ALTER COLUMN {c} SET NOT NULL" for c in _NOTICE_COLUMNS)},
            DROP COLUMN trace_context,
            DROP COLUMN envelope,
            DROP COLUMN topic
        """
    )

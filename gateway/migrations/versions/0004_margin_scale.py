"""The margin scale each accepted quote set was priced with (the return-to-player controller's
steer), so the scheduler reprices a fixture whose steer has changed.

Revision ID: 0004_margin_scale
Revises: 0003_dissent_verdicts
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004_margin_scale"
down_revision: str | None = "0003_dissent_verdicts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE gateway.quote_sets ADD COLUMN margin_scale_e4 INTEGER NOT NULL DEFAULT 0"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE gateway.quote_sets DROP COLUMN margin_scale_e4")

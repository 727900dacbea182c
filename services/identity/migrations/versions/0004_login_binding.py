"""Sign-in bound to its browser: each login attempt keeps the SHA-256 of the secret the edge
put in the browser's cookie when the sign-in started; the callback must present it.

Revision ID: 0004_login_binding
Revises: 0003_sweep
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004_login_binding"
down_revision: str | None = "0003_sweep"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Attempts live ten minutes: older rows (no binding) can only be refused, which is right.
    op.execute(
        "ALTER TABLE identity.login_attempts"
        " ADD COLUMN browser_binding_sha256 TEXT NOT NULL DEFAULT ''"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE identity.login_attempts DROP COLUMN browser_binding_sha256")

"""The identity schema on PostgreSQL: players, verified identities, limits, login state.

Blocking SQLAlchemy work runs in worker threads (asyncio.to_thread); each public method is one
transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from services.identity.domain.franceconnect import FranceConnectSession, LoginAttempt
from services.identity.domain.players import (
    Cap,
    KycMethod,
    KycStatus,
    Limits,
    Player,
    VerifiedIdentity,
)

SCHEMA = "identity"

_PLAYER_COLUMNS = (
    "player_id, kyc_status, kyc_method, display_name, created_at, verified_at,"
    " self_excluded_until, register_excluded_at"
)


def _player(row: Any) -> Player:
    return Player(
        player_id=str(row.player_id),
        kyc_status=KycStatus(row.kyc_status),
        kyc_method=KycMethod(row.kyc_method),
        display_name=row.display_name,
        created_at=row.created_at,
        verified_at=row.verified_at,
        self_excluded_until=row.self_excluded_until,
        register_excluded_at=row.register_excluded_at,
    )


def _identity_fields(identity: VerifiedIdentity, method: str, now: datetime) -> dict[str, Any]:
    """The bind parameters of a verified identity's row."""
    return {
        "method": method,
        "subject": identity.subject,
        "given_name": identity.given_name,
        "family_name": identity.family_name,
        "birthdate": identity.birthdate,
        "gender": identity.gender,
        "birthplace": identity.birthplace,
        "birthcountry": identity.birthcountry,
        "now": now,
    }


def _display_name(identity: VerifiedIdentity) -> str:
    # The first given name only: enough to greet, not enough to identify.
    return identity.given_name.split(" ")[0]


class PostgresIdentityStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- login attempts, sessions ----------------------------------------------------------

    async def save_attempt(self, attempt: LoginAttempt) -> None:
        await self._execute(
            "INSERT INTO identity.login_attempts"
            " (state, attempt_id, nonce, acr, return_to, expires_at, browser_binding_sha256)"
            " VALUES (:state, :attempt_id, :nonce, :acr, :return_to, :expires_at, :binding)",
            {
                "state": attempt.state,
                "attempt_id": attempt.attempt_id,
                "nonce": attempt.nonce,
                "acr": attempt.acr,
                "return_to": attempt.return_to,
                "expires_at": attempt.expires_at,
                "binding": attempt.browser_binding_sha256,
            },
        )

    async def take_attempt(self, state: str, now: datetime) -> LoginAttempt | None:
        def take() -> LoginAttempt | None:
            with self.engine.begin() as conn:
                # Expired attempts go with any take; DELETE ... RETURNING makes the take atomic.
                conn.execute(
                    sa.text("DELETE FROM identity.login_attempts WHERE expires_at <= :now"),
                    {"now": now},
                )
                row = conn.execute(
                    sa.text(
                        "DELETE FROM identity.login_attempts WHERE state = :state"
                        " RETURNING attempt_id, state, nonce, acr, return_to, expires_at,"
                        " browser_binding_sha256"
                    ),
                    {"state": state},
                ).one_or_none()
            if row is None:
                return None
            return LoginAttempt(
                str(row.attempt_id),
                row.state,
                row.nonce,
                row.acr,
                row.return_to,
                row.expires_at,
                row.browser_binding_sha256,
            )

        return await asyncio.to_thread(take)

    async def save_session(self, session: FranceConnectSession) -> None:
        await self._execute(
            "INSERT INTO identity.franceconnect_sessions (session_id, player_id, id_token)"
            " VALUES (:session_id, :player_id, :id_token)",
            {
                "session_id": session.session_id,
                "player_id": session.player_id,
                "id_token": session.id_token,
            },
        )

    async def get_session(self, session_id: str) -> FranceConnectSession | None:
        if not _is_uuid(session_id):
            return None
        row = await self._one(
            "SELECT session_id, player_id, id_token"
            " FROM identity.franceconnect_sessions WHERE session_id = :id",
            {"id": session_id},
        )
        if row is None:
            return None
        return FranceConnectSession(str(row.session_id), str(row.player_id), row.id_token)

    async def save_logout(self, state: str, session_id: str, expires_at: datetime) -> None:
        await self._execute(
            "INSERT INTO identity.logout_states (state, session_id, expires_at)"
            " VALUES (:state, :session_id, :expires_at)",
            {"state": state, "session_id": session_id, "expires_at": expires_at},
        )

    async def take_logout(self, state: str, now: datetime) -> str | None:
        def take() -> str | None:
            with self.engine.begin() as conn:
                row = conn.execute(
                    sa.text(
                        "DELETE FROM identity.logout_states"
                        " WHERE state = :state AND expires_at > :now RETURNING session_id"
                    ),
                    {"state": state, "now": now},
                ).one_or_none()
                if row is None:
                    return None
                conn.execute(
                    sa.text("DELETE FROM identity.franceconnect_sessions WHERE session_id = :id"),
                    {"id": row.session_id},
                )
                return str(row.session_id)

        return await asyncio.to_thread(take)

    # ---- players --------------------------------------------------------------------------

    async def upsert_verified(
        self, identity: VerifiedIdentity, method: str, now: datetime
    ) -> tuple[Player, bool]:
        return await asyncio.to_thread(self._upsert_verified, identity, method, now)

    def _upsert_verified(
        self, identity: VerifiedIdentity, method: str, now: datetime
    ) -> tuple[Player, bool]:
        fields = _identity_fields(identity, method, now)
        with self.engine.begin() as conn:
            # One login at a time per identity: two concurrent first logins make one player.
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"identity:{method}:{identity.subject}"},
            )
            existing = conn.execute(
                sa.text(
                    "SELECT player_id FROM identity.verified_identities"
                    " WHERE method = :method AND subject = :subject"
                ),
                fields,
            ).one_or_none()
            if existing is None:
                player_id = str(uuid.uuid4())
                conn.execute(
                    sa.text(
                        "INSERT INTO identity.players (player_id, kyc_status, kyc_method,"
                        " display_name, created_at, verified_at)"
                        " VALUES (:player_id, 'VERIFIED', :method, :display_name, :now, :now)"
                    ),
                    {**fields, "player_id": player_id, "display_name": _display_name(identity)},
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO identity.verified_identities (player_id, method, subject,"
                        " given_name, family_name, birthdate, gender, birthplace, birthcountry,"
                        " verified_at) VALUES (:player_id, :method, :subject, :given_name,"
                        " :family_name, :birthdate, :gender, :birthplace, :birthcountry, :now)"
                    ),
                    {**fields, "player_id": player_id},
                )
                return self._get(conn, player_id), True
            player_id = str(existing.player_id)
            # The provider's current pivot is the truth (e.g. a corrected birthplace).
            conn.execute(
                sa.text(
                    "UPDATE identity.verified_identities SET given_name = :given_name,"
                    " family_name = :family_name, birthdate = :birthdate, gender = :gender,"
                    " birthplace = :birthplace, birthcountry = :birthcountry"
                    " WHERE player_id = :player_id"
                ),
                {**fields, "player_id": player_id},
            )
            changed = conn.execute(
                sa.text(
                    "UPDATE identity.players SET kyc_status = 'VERIFIED', kyc_method = :method,"
                    " verified_at = :now WHERE player_id = :player_id"
                    " AND kyc_status <> 'VERIFIED' RETURNING player_id"
                ),
                {**fields, "player_id": player_id},
            ).one_or_none()
            return self._get(conn, player_id), changed is not None

    async def get(self, player_id: str) -> Player | None:
        if not _is_uuid(player_id):
            return None

        def get() -> Player | None:
            with self.engine.connect() as conn:
                return self._find(conn, player_id)

        return await asyncio.to_thread(get)

    async def set_self_excluded_until(self, player_id: str, until: datetime) -> Player:
        return await self._update_player(
            "UPDATE identity.players SET self_excluded_until = :until WHERE player_id = :id",
            {"until": until, "id": player_id},
        )

    async def get_limits(self, player_id: str) -> Limits:
        def get() -> Limits:
            with self.engine.connect() as conn:
                return self._read_limits(conn, player_id)

        return await asyncio.to_thread(get)

    async def update_limits(
        self, player_id: str, change: Callable[[Limits], Limits]
    ) -> Limits | None:
        def update() -> Limits | None:
            with self.engine.begin() as conn:
                # The player row is the lock: a cap row may not exist yet, and two changes that
                # both read the old caps would let one silently undo the other (a lost cut).
                locked = conn.execute(
                    sa.text(
                        "SELECT player_id FROM identity.players WHERE player_id = :id FOR UPDATE"
                    ),
                    {"id": player_id},
                ).one_or_none()
                if locked is None:
                    return None
                updated = change(self._read_limits(conn, player_id))
                self._write_limits(conn, player_id, updated)
                return updated

        if not _is_uuid(player_id):
            return None
        return await asyncio.to_thread(update)

    async def save_limits(self, player_id: str, limits: Limits) -> None:
        def save() -> None:
            with self.engine.begin() as conn:
                self._write_limits(conn, player_id, limits)

        await asyncio.to_thread(save)

    @staticmethod
    def _read_limits(conn: Connection, player_id: str) -> Limits:
        rows = conn.execute(
            sa.text(
                "SELECT kind, amount_minor, currency, pending_minor, pending_effective_at"
                " FROM identity.limits WHERE player_id = :id"
            ),
            {"id": player_id},
        ).all()
        caps = {
            r.kind: Cap(r.amount_minor, r.currency, r.pending_minor, r.pending_effective_at)
            for r in rows
        }
        return Limits(caps.get("deposit_7d"), caps.get("stake_7d"))

    @staticmethod
    def _write_limits(conn: Connection, player_id: str, limits: Limits) -> None:
        for kind, cap in (("deposit_7d", limits.deposit), ("stake_7d", limits.stake)):
            if cap is None:
                continue
            conn.execute(
                sa.text(
                    "INSERT INTO identity.limits (player_id, kind, amount_minor, currency,"
                    " pending_minor, pending_effective_at) VALUES (:id, :kind, :amount,"
                    " :currency, :pending, :effective_at) ON CONFLICT (player_id, kind)"
                    " DO UPDATE SET amount_minor = EXCLUDED.amount_minor,"
                    " currency = EXCLUDED.currency,"
                    " pending_minor = EXCLUDED.pending_minor,"
                    " pending_effective_at = EXCLUDED.pending_effective_at"
                ),
                {
                    "id": player_id,
                    "kind": kind,
                    "amount": cap.amount_minor,
                    "currency": cap.currency,
                    "pending": cap.pending_minor,
                    "effective_at": cap.pending_effective_at,
                },
            )

    # ---- paid KYC -----------------------------------------------------------------------

    async def create_provisional(self, display_name: str, now: datetime) -> Player:
        def create() -> Player:
            player_id = str(uuid.uuid4())
            with self.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO identity.players (player_id, kyc_status, kyc_method,"
                        " display_name, created_at)"
                        " VALUES (:id, 'PROVISIONAL', 'NONE', :name, :now)"
                    ),
                    {"id": player_id, "name": display_name, "now": now},
                )
                return self._get(conn, player_id)

        return await asyncio.to_thread(create)

    async def save_verification(self, player_id: str, provider: str, session_id: str) -> None:
        await self._execute(
            "INSERT INTO identity.kyc_verifications (provider, session_id, player_id)"
            " VALUES (:provider, :session_id, :player_id)",
            {"provider": provider, "session_id": session_id, "player_id": player_id},
        )

    async def player_for_session(self, provider: str, session_id: str) -> str | None:
        row = await self._one(
            "SELECT player_id FROM identity.kyc_verifications"
            " WHERE provider = :provider AND session_id = :session_id",
            {"provider": provider, "session_id": session_id},
        )
        return str(row.player_id) if row is not None else None

    async def first_delivery(self, provider: str, event_id: str, now: datetime) -> bool:
        inserted = await self._one(
            "INSERT INTO identity.kyc_webhook_events (provider, event_id, received_at)"
            " VALUES (:provider, :event_id, :now) ON CONFLICT DO NOTHING RETURNING event_id",
            {"provider": provider, "event_id": event_id, "now": now},
            write=True,
        )
        return inserted is not None

    async def forget_delivery(self, provider: str, event_id: str) -> None:
        await self._execute(
            "DELETE FROM identity.kyc_webhook_events"
            " WHERE provider = :provider AND event_id = :event_id",
            {"provider": provider, "event_id": event_id},
        )

    async def set_status(self, player_id: str, status: KycStatus, now: datetime) -> Player:
        return await self._update_player(
            "UPDATE identity.players SET kyc_status = :status WHERE player_id = :id",
            {"status": status.value, "id": player_id},
        )

    async def verify_player(
        self, player_id: str, identity: VerifiedIdentity, method: str, now: datetime
    ) -> Player:
        def verify() -> Player:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO identity.verified_identities (player_id, method, subject,"
                        " given_name, family_name, birthdate, gender, birthplace, birthcountry,"
                        " verified_at) VALUES (:id, :method, :subject, :given_name, :family_name,"
                        " :birthdate, :gender, :birthplace, :birthcountry, :now)"
                        " ON CONFLICT (player_id) DO UPDATE SET method = EXCLUDED.method,"
                        " subject = EXCLUDED.subject, given_name = EXCLUDED.given_name,"
                        " family_name = EXCLUDED.family_name, birthdate = EXCLUDED.birthdate,"
                        " gender = EXCLUDED.gender, birthplace = EXCLUDED.birthplace,"
                        " birthcountry = EXCLUDED.birthcountry, verified_at = EXCLUDED.verified_at"
                    ),
                    {**_identity_fields(identity, method, now), "id": player_id},
                )
                conn.execute(
                    sa.text(
                        "UPDATE identity.players SET kyc_status = 'VERIFIED', kyc_method = :method,"
                        " verified_at = :now WHERE player_id = :id"
                    ),
                    {"id": player_id, "method": method, "now": now},
                )
                return self._get(conn, player_id)

        return await asyncio.to_thread(verify)

    # ---- the periodic sweep ---------------------------------------------------------------

    async def verified_players(
        self, after: str | None, limit: int
    ) -> list[tuple[Player, VerifiedIdentity]]:
        def page() -> list[tuple[Player, VerifiedIdentity]]:
            columns = ", ".join(f"p.{c.strip()}" for c in _PLAYER_COLUMNS.split(","))
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        f"SELECT {columns}, v.subject, v.given_name, v.family_name, v.birthdate,"
                        " v.gender, v.birthplace, v.birthcountry"
                        " FROM identity.players p JOIN identity.verified_identities v"
                        " USING (player_id) WHERE p.register_excluded_at IS NULL"
                        " AND (CAST(:after AS UUID) IS NULL OR p.player_id > CAST(:after AS UUID))"
                        " ORDER BY p.player_id LIMIT :limit"
                    ),
                    {"after": after, "limit": limit},
                ).all()
            return [
                (
                    _player(r),
                    VerifiedIdentity(
                        r.subject,
                        r.given_name,
                        r.family_name,
                        r.birthdate,
                        r.gender,
                        r.birthplace,
                        r.birthcountry,
                    ),
                )
                for r in rows
            ]

        return await asyncio.to_thread(page)

    async def mark_register_excluded(self, player_id: str, now: datetime) -> Player | None:
        def mark() -> Player | None:
            with self.engine.begin() as conn:
                marked = conn.execute(
                    sa.text(
                        "UPDATE identity.players SET register_excluded_at = :now"
                        " WHERE player_id = :id AND register_excluded_at IS NULL"
                        " RETURNING player_id"
                    ),
                    {"id": player_id, "now": now},
                ).one_or_none()
                return self._get(conn, player_id) if marked is not None else None

        return await asyncio.to_thread(mark)

    async def lapse_candidates(self, created_before: datetime) -> list[Player]:
        def find() -> list[Player]:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        f"SELECT {_PLAYER_COLUMNS} FROM identity.players"
                        " WHERE kyc_status IN ('PROVISIONAL', 'PENDING')"
                        " AND created_at <= :before"
                        " AND lapse_announced IS DISTINCT FROM 'CLOSED'"
                    ),
                    {"before": created_before},
                ).all()
            return [_player(r) for r in rows]

        return await asyncio.to_thread(find)

    async def claim_lapse(self, player_id: str, status: KycStatus) -> bool:
        # Only forward (none -> DEACTIVATED -> CLOSED): a lapse is announced once.
        claimed = await self._one(
            "UPDATE identity.players SET lapse_announced = :status"
            " WHERE player_id = :id AND (lapse_announced IS NULL"
            " OR (lapse_announced = 'DEACTIVATED' AND :status = 'CLOSED'))"
            " RETURNING player_id",
            {"id": player_id, "status": status.value},
            write=True,
        )
        return claimed is not None

    async def release_lapse(self, player_id: str, status: KycStatus) -> None:
        previous = "DEACTIVATED" if status is KycStatus.CLOSED else None
        await self._execute(
            "UPDATE identity.players SET lapse_announced = :previous"
            " WHERE player_id = :id AND lapse_announced = :status",
            {"id": player_id, "status": status.value, "previous": previous},
        )

    async def count_players(self) -> int:
        def count() -> int:
            with self.engine.connect() as conn:
                result = conn.execute(sa.text("SELECT count(*) FROM identity.players"))
                return int(result.scalar_one())

        return await asyncio.to_thread(count)

    # ---- helpers --------------------------------------------------------------------------

    async def _execute(self, sql: str, params: dict[str, Any]) -> None:
        """One statement in a transaction of its own."""

        def run() -> None:
            with self.engine.begin() as conn:
                conn.execute(sa.text(sql), params)

        await asyncio.to_thread(run)

    async def _one(self, sql: str, params: dict[str, Any], *, write: bool = False) -> Any:
        """The row one statement returns, or None; in a transaction of its own when it writes."""

        def run() -> Any:
            with self.engine.begin() if write else self.engine.connect() as conn:
                return conn.execute(sa.text(sql), params).one_or_none()

        return await asyncio.to_thread(run)

    async def _update_player(self, sql: str, params: dict[str, Any]) -> Player:
        """An UPDATE of the player `params["id"]`, and the player as it then stands, in one
        transaction."""

        def update() -> Player:
            with self.engine.begin() as conn:
                conn.execute(sa.text(sql), params)
                return self._get(conn, params["id"])

        return await asyncio.to_thread(update)

    @staticmethod
    def _find(conn: Connection, player_id: str) -> Player | None:
        row = conn.execute(
            sa.text(f"SELECT {_PLAYER_COLUMNS} FROM identity.players WHERE player_id = :id"),
            {"id": player_id},
        ).one_or_none()
        return _player(row) if row is not None else None

    def _get(self, conn: Connection, player_id: str) -> Player:
        player = self._find(conn, player_id)
        if player is None:
            raise LookupError(f"player {player_id} vanished inside its own transaction")
        return player


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True

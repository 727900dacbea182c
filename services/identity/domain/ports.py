"""What the identity core needs from the outside world; adapters implement these."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.identity.domain.players import Limits, Player, VerifiedIdentity


@dataclass(frozen=True)
class LoginAttempt:
    attempt_id: str
    state: str
    nonce: str
    acr: str
    return_to: str
    expires_at: datetime
    # SHA-256 (hex) of the secret in the browser's sign-in cookie: only that browser completes.
    browser_binding_sha256: str = ""


@dataclass(frozen=True)
class FranceConnectSession:
    session_id: str
    player_id: str
    id_token: str  # kept only as the id_token_hint logout requires


class ProviderRefused(Exception):
    """The provider answered with an OAuth error (e.g. invalid_grant for a used code)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class OidcTransport(Protocol):
    async def get_json(self, url: str) -> Mapping[str, Any]: ...

    async def post_form(self, url: str, form: Mapping[str, str]) -> Mapping[str, Any]:
        """The JSON answer; ProviderRefused on an OAuth error answer."""
        ...

    async def get_with_bearer(self, url: str, token: str) -> tuple[str, str]:
        """(content type, body)."""
        ...


class LoginStore(Protocol):
    async def save_attempt(self, attempt: LoginAttempt) -> None: ...

    async def take_attempt(self, state: str, now: datetime) -> LoginAttempt | None:
        """The unexpired attempt with this state, removed so that it can never be used again."""
        ...

    async def save_session(self, session: FranceConnectSession) -> None: ...

    async def get_session(self, session_id: str) -> FranceConnectSession | None: ...

    async def save_logout(self, state: str, session_id: str, expires_at: datetime) -> None: ...

    async def take_logout(self, state: str, now: datetime) -> str | None:
        """The session id a logout state was issued for (single use); the session ends."""
        ...


class PlayerStore(Protocol):
    async def upsert_verified(
        self, identity: VerifiedIdentity, method: str, now: datetime
    ) -> tuple[Player, bool]:
        """The player for this identity, verified; True when the KYC state changed."""
        ...

    async def get(self, player_id: str) -> Player | None: ...

    async def set_self_excluded_until(self, player_id: str, until: datetime) -> Player: ...

    async def get_limits(self, player_id: str) -> Limits: ...

    async def save_limits(self, player_id: str, limits: Limits) -> None: ...

    async def update_limits(
        self, player_id: str, change: Callable[[Limits], Limits]
    ) -> Limits | None:
        """`change` applied to the current caps and saved in one locked transaction (None: no
        such player). `change` may raise; nothing is saved then."""
        ...


class Announcer(Protocol):
    """The internal event path (bets acts on these)."""

    async def kyc_status_changed(self, player: Player, now: datetime) -> None: ...

    async def limits_changed(self, player_id: str, limits: Limits, now: datetime) -> None: ...

"""What identity's rules and use cases need from the outside world: ports only (typing.Protocol;
the values they carry are the rules' own), implemented in adapters/ and plugged in by app.py.
The port only the sweep needs: services/identity/service_layer/ports.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from services.identity.domain.franceconnect import FranceConnectSession, LoginAttempt
from services.identity.domain.kyc import Outcome, VerificationSession, WebhookEvent
from services.identity.domain.players import KycStatus, Limits, Player, VerifiedIdentity


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


class ExclusionRegister(Protocol):
    """The national register of excluded players (ANJ), or a stand-in."""

    def is_excluded(self, identity: VerifiedIdentity) -> bool: ...


class Counter(Protocol):
    async def count(self, key: str, window_seconds: int) -> tuple[int, float]:
        """Calls counted under `key` in the current window (this one included) and the seconds
        until that window ends."""
        ...


class KycProvider(Protocol):
    name: str

    async def create_session(self, player_id: str) -> VerificationSession: ...

    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, now: datetime
    ) -> WebhookEvent:
        """The event, once its signature and timestamp check out; Unauthenticated otherwise."""
        ...

    async def fetch_outcome(self, session_id: str) -> Outcome: ...


class KycStore(Protocol):
    async def create_provisional(self, display_name: str, now: datetime) -> Player: ...

    async def save_verification(self, player_id: str, provider: str, session_id: str) -> None: ...

    async def player_for_session(self, provider: str, session_id: str) -> str | None: ...

    async def first_delivery(self, provider: str, event_id: str, now: datetime) -> bool:
        """True the first time this event id is recorded; False for a redelivery."""
        ...

    async def forget_delivery(self, provider: str, event_id: str) -> None:
        """Lets a redelivery be handled again (we could not act on this one)."""
        ...

    async def set_status(self, player_id: str, status: KycStatus, now: datetime) -> Player: ...

    async def verify_player(
        self, player_id: str, identity: VerifiedIdentity, method: str, now: datetime
    ) -> Player: ...

    async def get(self, player_id: str) -> Player | None: ...

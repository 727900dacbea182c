"""The paid KYC provider path: for players who do not (or cannot) use FranceConnect.

The pattern every provider shares: a verification session created server-side with our player
reference; the player captures document and selfie in the provider's UI; a signed webhook
arrives; we re-fetch the outcome by API before acting (a webhook is a hint, the API is the
truth, so a leaked webhook secret alone cannot verify anyone). Webhooks are verified over the
raw body bytes, inside a timestamp window, and de-duplicated by event id (providers retry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from service_runtime.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from services.identity.domain.players import (
    ExclusionRegister,
    KycMethod,
    KycStatus,
    Player,
    VerifiedIdentity,
    admit,
)
from services.identity.domain.ports import Announcer


class Verdict(StrEnum):
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    PENDING = "PENDING"


@dataclass(frozen=True)
class VerificationSession:
    session_id: str
    url: str


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    session_id: str
    # Whether the provider says the session reached an outcome worth fetching.
    final: bool


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    identity: VerifiedIdentity | None = None


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


class WebhookResult(StrEnum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    IGNORED = "IGNORED"


_OPEN = (KycStatus.PROVISIONAL, KycStatus.PENDING)
MAX_DISPLAY_NAME = 64


MAX_WEBHOOK_HEADERS = 100
MAX_WEBHOOK_HEADER_BYTES = 8 * 1024


def webhook_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased headers, each valid UTF-8 of a bounded size: a header a server could not
    decode (it arrives with surrogate escapes) is the sender's mistake, never our crash."""
    if len(headers) > MAX_WEBHOOK_HEADERS:
        raise InvalidArgument("WEBHOOK_HEADER_INVALID", "too many headers")
    found: dict[str, str] = {}
    for name, value in headers.items():
        try:
            size = len(name.encode("utf-8")) + len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidArgument("WEBHOOK_HEADER_INVALID", "a header is not UTF-8") from None
        if size > MAX_WEBHOOK_HEADER_BYTES:
            raise InvalidArgument("WEBHOOK_HEADER_INVALID", "a header is too large")
        found[name.lower()] = value
    return found


class PaidKyc:
    def __init__(
        self,
        providers: Mapping[str, KycProvider],
        default_provider: str,
        store: KycStore,
        register: ExclusionRegister,
        announcer: Announcer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.providers = dict(providers)
        self.default_provider = default_provider
        self.store = store
        self.register = register
        self.announcer = announcer
        self.clock = clock

    def _provider(self, name: str) -> KycProvider:
        if not self.providers:
            # Accounts open (provisional) without one; verifying them needs a provider.
            raise FailedPrecondition("KYC_NOT_CONFIGURED", "no paid KYC provider is configured")
        provider = self.providers.get(name or self.default_provider)
        if provider is None:
            raise InvalidArgument("KYC_PROVIDER_UNKNOWN", f"no KYC provider named {name!r}")
        return provider

    async def register_player(self, display_name: str) -> Player:
        name = display_name.strip()
        if len(name) > MAX_DISPLAY_NAME:
            raise InvalidArgument("DISPLAY_NAME_TOO_LONG", f"at most {MAX_DISPLAY_NAME} characters")
        now = self.clock()
        player = await self.store.create_provisional(name, now)
        await self.announcer.kyc_status_changed(player, now)
        return player

    async def start(self, player_id: str, provider_name: str) -> VerificationSession:
        provider = self._provider(provider_name)
        if not player_id:
            raise InvalidArgument("PLAYER_ID_REQUIRED", "player_id is required")
        player = await self.store.get(player_id)
        if player is None:
            raise NotFound("PLAYER_NOT_FOUND", "no such player")
        status = player.status_at(self.clock())
        if status not in _OPEN:
            raise FailedPrecondition(
                "KYC_NOT_OPEN", f"identity verification is not open for a {status.value} account"
            )
        session = await provider.create_session(player_id)
        await self.store.save_verification(player_id, provider.name, session.session_id)
        if player.kyc_status != KycStatus.PENDING:
            now = self.clock()
            updated = await self.store.set_status(player_id, KycStatus.PENDING, now)
            await self.announcer.kyc_status_changed(updated, now)
        return session

    async def handle_webhook(
        self, provider_name: str, headers: Mapping[str, str], raw_body: bytes
    ) -> WebhookResult:
        provider = self._provider(provider_name)
        now = self.clock()
        event = provider.verify_webhook(webhook_headers(headers), raw_body, now)
        if not await self.store.first_delivery(provider.name, event.event_id, now):
            return WebhookResult.DUPLICATE
        if not event.final:
            return WebhookResult.IGNORED
        player_id = await self.store.player_for_session(provider.name, event.session_id)
        if player_id is None:
            return WebhookResult.IGNORED  # not a session of ours (or of another environment)
        player = await self.store.get(player_id)
        if player is None or player.kyc_status not in _OPEN:
            return WebhookResult.IGNORED
        try:
            outcome = await provider.fetch_outcome(event.session_id)
        except Unavailable:
            # The provider retries; that retry must not be taken for a duplicate.
            await self.store.forget_delivery(provider.name, event.event_id)
            raise
        if outcome.verdict == Verdict.PENDING:
            # The API does not confirm what the webhook says (yet): act on nothing.
            await self.store.forget_delivery(provider.name, event.event_id)
            return WebhookResult.IGNORED
        if outcome.verdict == Verdict.APPROVED and outcome.identity is not None:
            try:
                admit(outcome.identity, self.register, now)
            except DomainError:
                # Real person, but the rules refuse them (under 18, excluded): no account.
                updated = await self.store.set_status(player_id, KycStatus.REJECTED, now)
            else:
                updated = await self.store.verify_player(
                    player_id, outcome.identity, KycMethod.PAID_PROVIDER.value, now
                )
        else:
            updated = await self.store.set_status(player_id, KycStatus.REJECTED, now)
        await self.announcer.kyc_status_changed(updated, now)
        return WebhookResult.APPLIED

"""The paid KYC flow (services/identity/domain/kyc.py holds its rules and ports): a provisional
account opens; a verification session starts with the provider; the provider's signed webhook
is checked, de-duplicated and confirmed against its API before the player is verified or
rejected, and every status change is announced."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from service_runtime.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.identity.domain.kyc import (
    Verdict,
    VerificationSession,
    WebhookResult,
    awaits_outcome,
    check_verification_open,
    display_name,
    identity_to_verify,
    webhook_headers,
)
from services.identity.domain.players import (
    KycMethod,
    KycStatus,
    Player,
    check_player_id,
)
from services.identity.domain.ports import Announcer, ExclusionRegister, KycProvider, KycStore


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

    async def register_player(self, asked_name: str) -> Player:
        name = display_name(asked_name)
        now = self.clock()
        player = await self.store.create_provisional(name, now)
        await self.announcer.kyc_status_changed(player, now)
        return player

    async def start(self, player_id: str, provider_name: str) -> VerificationSession:
        provider = self._provider(provider_name)
        check_player_id(player_id)
        player = check_verification_open(await self.store.get(player_id), self.clock())
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
        if not awaits_outcome(await self.store.get(player_id)):
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
        identity = identity_to_verify(outcome, self.register, now)
        if identity is None:
            updated = await self.store.set_status(player_id, KycStatus.REJECTED, now)
        else:
            updated = await self.store.verify_player(
                player_id, identity, KycMethod.PAID_PROVIDER.value, now
            )
        await self.announcer.kyc_status_changed(updated, now)
        return WebhookResult.APPLIED

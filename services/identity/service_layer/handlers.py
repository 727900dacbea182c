"""Identity's use cases: one handler per command (commands.py). The servicer calls these, never
the adapters. A handler refuses what is not configured here, counts the call against its
client's quota, runs the sign-in, KYC or account flow, and issues the player's token; the rules
are the domain's (services/identity/domain/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from service_runtime.errors import FailedPrecondition
from services.identity.domain.clients import ClientRole
from services.identity.domain.keys import KeyRing
from services.identity.domain.kyc import VerificationSession, WebhookResult
from services.identity.domain.players import Limits, Player
from services.identity.domain.throttle import Quota, Throttle
from services.identity.domain.tokens import (
    IssuedToken,
    PlayerToken,
    TokenIssuer,
    issue_player_token,
)
from services.identity.service_layer.accounts import Accounts
from services.identity.service_layer.commands import (
    CompleteFranceConnectLogin,
    CompleteFranceConnectLogout,
    GetLimits,
    GetPlayer,
    HandleKycWebhook,
    IssueToken,
    RegisterPlayer,
    SelfExclude,
    SetLimits,
    StartFranceConnectLogin,
    StartFranceConnectLogout,
    StartKycVerification,
)
from services.identity.service_layer.franceconnect import FranceConnect
from services.identity.service_layer.kyc import PaidKyc

UNLIMITED_SIGNIN = Quota("signin", 0, 60)
UNLIMITED_REGISTER = Quota("register", 0, 3600)


@dataclass(frozen=True)
class SignedIn:
    """A player with a fresh token; `now` is when their status was read (what the response
    shows)."""

    player: Player
    now: datetime
    token: PlayerToken
    return_to: str = ""
    session_id: str = ""


@dataclass(frozen=True)
class Seen:
    player: Player
    now: datetime


@dataclass
class IdentityHandlers:
    issuer: TokenIssuer
    keys: KeyRing
    franceconnect: FranceConnect | None = None
    accounts: Accounts | None = None
    kyc: PaidKyc | None = None
    player_audiences: tuple[str, ...] = ()
    throttle: Throttle | None = None
    signin_quota: Quota = UNLIMITED_SIGNIN
    register_quota: Quota = UNLIMITED_REGISTER

    def issue_token(self, command: IssueToken) -> IssuedToken:
        return self.issuer.issue(command.request)

    def jwks(self) -> list[dict[str, str]]:
        return self.keys.public_jwks()

    async def start_franceconnect_login(self, command: StartFranceConnectLogin) -> tuple[str, str]:
        """The provider's authorisation URL and the attempt's id."""
        fc = self._franceconnect()
        await self._spend(self.signin_quota, command.client)
        return await fc.start_login(command.return_to, command.assurance_level, command.binding)

    async def complete_franceconnect_login(self, command: CompleteFranceConnectLogin) -> SignedIn:
        done = await self._franceconnect().complete_login(command.callback, command.binding)
        return SignedIn(
            done.player,
            self._now(),
            self._player_token(done.player),
            done.return_to,
            done.session_id,
        )

    async def start_franceconnect_logout(self, command: StartFranceConnectLogout) -> str:
        return await self._franceconnect().start_logout(command.session_id)

    async def complete_franceconnect_logout(self, command: CompleteFranceConnectLogout) -> None:
        await self._franceconnect().complete_logout(command.state)

    async def register_player(self, command: RegisterPlayer) -> SignedIn:
        kyc = self._kyc()
        # The quota holds back anonymous sign-ups (a script opening accounts from one address);
        # an operator opening accounts (the demo's crowd, a back office) is known and accountable.
        if command.caller_role != ClientRole.OPERATOR:
            await self._spend(self.register_quota, command.client)
        player = await kyc.register_player(command.display_name)
        return SignedIn(player, self._now(), self._player_token(player))

    async def start_kyc_verification(self, command: StartKycVerification) -> VerificationSession:
        await self._accounts().get(command.player_id)  # exists, and is the caller's own
        return await self._kyc().start(command.player_id, command.provider)

    async def handle_kyc_webhook(self, command: HandleKycWebhook) -> WebhookResult:
        return await self._kyc().handle_webhook(command.provider, command.headers, command.raw_body)

    async def get_player(self, command: GetPlayer) -> Seen:
        player = await self._accounts().get(command.player_id)
        return Seen(player, self._now())

    async def set_limits(self, command: SetLimits) -> Limits:
        return await self._accounts().set_limits(command.player_id, command.deposit, command.stake)

    async def limits(self, command: GetLimits) -> Limits:
        return await self._accounts().limits(command.player_id)

    async def self_exclude(self, command: SelfExclude) -> Seen:
        player = await self._accounts().self_exclude(command.player_id, command.duration)
        return Seen(player, self._now())

    async def _spend(self, quota: Quota, client: str) -> None:
        """Counts the call against its client's quota (RESOURCE_EXHAUSTED beyond it)."""
        if self.throttle is not None:
            await self.throttle.spend(quota, client)

    def _player_token(self, player: Player) -> PlayerToken:
        return issue_player_token(
            self.issuer,
            player.player_id,
            player.status_at(self._now()).value,
            self.player_audiences,
        )

    def _now(self) -> datetime:
        return self.accounts.clock() if self.accounts else datetime.now(UTC)

    def _franceconnect(self) -> FranceConnect:
        if self.franceconnect is None:
            raise FailedPrecondition(
                "FRANCECONNECT_NOT_CONFIGURED", "FranceConnect is not configured here"
            )
        return self.franceconnect

    def _accounts(self) -> Accounts:
        if self.accounts is None:
            raise FailedPrecondition(
                "PLAYERS_NOT_CONFIGURED", "player accounts need BETMESH_DATABASE_URL"
            )
        return self.accounts

    def _kyc(self) -> PaidKyc:
        if self.kyc is None:
            raise FailedPrecondition("KYC_NOT_CONFIGURED", "no paid KYC provider is configured")
        return self.kyc

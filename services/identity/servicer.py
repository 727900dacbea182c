"""IdentityService over gRPC: translation only; the rules live in domain/."""

# The generated base class fixes the RPC method names.

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from betmesh.common.v1 import money_pb2
from betmesh.identity.v1 import identity_service_pb2 as pb
from betmesh.identity.v1 import identity_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from service_runtime.auth import LOGIN_BINDING_HEADER, client_address, current_principal
from service_runtime.errors import FailedPrecondition
from service_runtime.server import ServicerContext
from services.identity.domain.accounts import Accounts
from services.identity.domain.clients import ClientRole
from services.identity.domain.franceconnect import Callback, FranceConnect
from services.identity.domain.keys import KeyRing
from services.identity.domain.kyc import PaidKyc, WebhookResult
from services.identity.domain.players import Limits, Player
from services.identity.domain.throttle import Quota, Throttle
from services.identity.domain.tokens import TokenIssuer, TokenRequest, issue_player_token

_ROLES: dict[ClientRole, int] = {
    ClientRole.OPERATOR: pb.ROLE_OPERATOR,
    ClientRole.PARTNER: pb.ROLE_PARTNER,
    ClientRole.SERVICE: pb.ROLE_SERVICE,
    ClientRole.PUBLIC: pb.ROLE_PUBLIC,
}
_OUTCOMES = {
    WebhookResult.APPLIED: pb.WEBHOOK_OUTCOME_APPLIED,
    WebhookResult.DUPLICATE: pb.WEBHOOK_OUTCOME_DUPLICATE,
    WebhookResult.IGNORED: pb.WEBHOOK_OUTCOME_IGNORED,
}
_LEVELS = {
    pb.ASSURANCE_LEVEL_UNSPECIFIED: None,
    pb.ASSURANCE_LEVEL_EIDAS1: "eidas1",
    pb.ASSURANCE_LEVEL_EIDAS2: "eidas2",
    pb.ASSURANCE_LEVEL_EIDAS3: "eidas3",
}


UNLIMITED_SIGNIN = Quota("signin", 0, 60)
UNLIMITED_REGISTER = Quota("register", 0, 3600)


def _metadata(context: ServicerContext) -> dict[str, str]:
    return {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}


def _timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _player(player: Player, now: datetime) -> pb.Player:
    restrictions = [pb.ACCOUNT_RESTRICTION_SELF_EXCLUDED] if player.self_excluded_at(now) else []
    if player.register_excluded_at is not None:
        restrictions.append(pb.ACCOUNT_RESTRICTION_EXCLUSION_REGISTER)
    return pb.Player(
        player_id=player.player_id,
        kyc_status=pb.KycStatus.Value(f"KYC_STATUS_{player.status_at(now).value}"),
        kyc_method=pb.KycMethod.Value(f"KYC_METHOD_{player.kyc_method.value}")
        if player.kyc_method.value != "NONE"
        else pb.KYC_METHOD_UNSPECIFIED,
        display_name=player.display_name,
        created_at=_timestamp(player.created_at),
        verified_at=_timestamp(player.verified_at),
        restrictions=restrictions,
        self_excluded_until=_timestamp(player.self_excluded_until)
        if player.self_excluded_at(now)
        else None,
    )


def _money(amount: int | None, currency: str) -> money_pb2.Money | None:
    return None if amount is None else money_pb2.Money(amount_minor=amount, currency=currency)


def _limits(limits: Limits) -> pb.ResponsibleGamblingLimits:
    out = pb.ResponsibleGamblingLimits()
    for cap, kind in ((limits.deposit, "deposit"), (limits.stake, "stake")):
        if cap is None:
            continue
        _set(out, f"{kind}_cap_7d", _money(cap.amount_minor, cap.currency))
        _set(out, f"pending_{kind}_cap_7d", _money(cap.pending_minor, cap.currency))
        _set(out, f"pending_{kind}_cap_effective_at", _timestamp(cap.pending_effective_at))
    return out


def _set(message: pb.ResponsibleGamblingLimits, field: str, value: object) -> None:
    if value is not None:
        getattr(message, field).CopyFrom(value)


def _cap(request: pb.SetResponsibleGamblingLimitsRequest, field: str) -> tuple[int, str] | None:
    if not request.HasField(field):  # type: ignore[arg-type]
        return None
    money: money_pb2.Money = getattr(request, field)
    return money.amount_minor, money.currency


class IdentityServicer(identity_service_pb2_grpc.IdentityServiceServicer):
    def __init__(
        self,
        issuer: TokenIssuer,
        keys: KeyRing,
        *,
        franceconnect: FranceConnect | None = None,
        accounts: Accounts | None = None,
        kyc: PaidKyc | None = None,
        player_audiences: tuple[str, ...] = (),
        throttle: Throttle | None = None,
        signin_quota: Quota = UNLIMITED_SIGNIN,
        register_quota: Quota = UNLIMITED_REGISTER,
    ) -> None:
        self._kyc = kyc
        self.throttle = throttle
        self.signin_quota = signin_quota
        self.register_quota = register_quota
        self.issuer = issuer
        self.keys = keys
        self.franceconnect = franceconnect
        self._accounts = accounts
        self.player_audiences = player_audiences

    async def _spend(self, quota: Quota, context: ServicerContext) -> None:
        """Counts the call against its client's quota (RESOURCE_EXHAUSTED beyond it)."""
        if self.throttle is not None:
            client = client_address(current_principal.get(), _metadata(context), context.peer())
            await self.throttle.spend(quota, client)

    @property
    def fc(self) -> FranceConnect:
        if self.franceconnect is None:
            raise FailedPrecondition(
                "FRANCECONNECT_NOT_CONFIGURED", "FranceConnect is not configured here"
            )
        return self.franceconnect

    @property
    def accounts(self) -> Accounts:
        if self._accounts is None:
            raise FailedPrecondition(
                "PLAYERS_NOT_CONFIGURED", "player accounts need BETMESH_DATABASE_URL"
            )
        return self._accounts

    @property
    def kyc(self) -> PaidKyc:
        if self._kyc is None:
            raise FailedPrecondition("KYC_NOT_CONFIGURED", "no paid KYC provider is configured")
        return self._kyc

    def _player_token(self, player: Player) -> pb.AccessToken:
        token = issue_player_token(
            self.issuer,
            player.player_id,
            player.status_at(self._now()).value,
            self.player_audiences,
        )
        return pb.AccessToken(token=token.token, expires_at=Timestamp(seconds=token.expires_at))

    def _now(self) -> datetime:
        return self._accounts.clock() if self._accounts else datetime.now(UTC)

    async def IssueToken(
        self, request: pb.IssueTokenRequest, context: ServicerContext
    ) -> pb.IssueTokenResponse:
        issued = self.issuer.issue(
            TokenRequest(
                client_id=request.client_id,
                client_secret=request.client_secret,
                audience=request.audience,
                scopes=list(request.scopes),
            )
        )
        return pb.IssueTokenResponse(
            access_token=pb.AccessToken(
                token=issued.token, expires_at=Timestamp(seconds=issued.expires_at)
            ),
            role=_ROLES[issued.role],  # type: ignore[arg-type]
        )

    async def GetJwks(
        self, request: pb.GetJwksRequest, context: ServicerContext
    ) -> pb.GetJwksResponse:
        return pb.GetJwksResponse(keys=[pb.JsonWebKey(**jwk) for jwk in self.keys.public_jwks()])

    async def StartFranceConnectLogin(
        self, request: pb.StartFranceConnectLoginRequest, context: ServicerContext
    ) -> pb.StartFranceConnectLoginResponse:
        fc = self.fc
        await self._spend(self.signin_quota, context)
        url, attempt_id = await fc.start_login(
            request.return_to,
            _LEVELS.get(request.assurance_level),
            _metadata(context).get(LOGIN_BINDING_HEADER, ""),
        )
        return pb.StartFranceConnectLoginResponse(
            authorization_url=url, login_attempt_id=attempt_id
        )

    async def CompleteFranceConnectLogin(
        self, request: pb.CompleteFranceConnectLoginRequest, context: ServicerContext
    ) -> pb.CompleteFranceConnectLoginResponse:
        done = await self.fc.complete_login(
            Callback(
                code=request.code,
                state=request.state,
                iss=request.iss,
                error=request.error,
                error_description=request.error_description,
            ),
            _metadata(context).get(LOGIN_BINDING_HEADER, ""),
        )
        return pb.CompleteFranceConnectLoginResponse(
            player=_player(done.player, self._now()),
            access_token=self._player_token(done.player),
            return_to=done.return_to,
            session_id=done.session_id,
        )

    async def StartFranceConnectLogout(
        self, request: pb.StartFranceConnectLogoutRequest, context: ServicerContext
    ) -> pb.StartFranceConnectLogoutResponse:
        return pb.StartFranceConnectLogoutResponse(
            logout_url=await self.fc.start_logout(request.session_id)
        )

    async def CompleteFranceConnectLogout(
        self, request: pb.CompleteFranceConnectLogoutRequest, context: ServicerContext
    ) -> pb.CompleteFranceConnectLogoutResponse:
        await self.fc.complete_logout(request.state)
        return pb.CompleteFranceConnectLogoutResponse()

    async def RegisterPlayer(
        self, request: pb.RegisterPlayerRequest, context: ServicerContext
    ) -> pb.RegisterPlayerResponse:
        kyc = self.kyc
        await self._spend(self.register_quota, context)
        player = await kyc.register_player(request.display_name)
        return pb.RegisterPlayerResponse(
            player=_player(player, self._now()), access_token=self._player_token(player)
        )

    async def StartKycVerification(
        self, request: pb.StartKycVerificationRequest, context: ServicerContext
    ) -> pb.StartKycVerificationResponse:
        await self.accounts.get(request.player_id)  # exists, and is the caller's own
        session = await self.kyc.start(request.player_id, request.provider)
        return pb.StartKycVerificationResponse(
            verification_session_id=session.session_id, verification_url=session.url
        )

    async def HandleKycWebhook(
        self, request: pb.HandleKycWebhookRequest, context: ServicerContext
    ) -> pb.HandleKycWebhookResponse:
        headers = {h.name: h.value for h in request.headers}
        result = await self.kyc.handle_webhook(request.provider, headers, request.raw_body)
        return pb.HandleKycWebhookResponse(outcome=_OUTCOMES[result])  # type: ignore[arg-type]

    async def GetPlayer(
        self, request: pb.GetPlayerRequest, context: ServicerContext
    ) -> pb.GetPlayerResponse:
        player = await self.accounts.get(request.player_id)
        return pb.GetPlayerResponse(player=_player(player, self._now()))

    async def SetResponsibleGamblingLimits(
        self, request: pb.SetResponsibleGamblingLimitsRequest, context: ServicerContext
    ) -> pb.SetResponsibleGamblingLimitsResponse:
        limits = await self.accounts.set_limits(
            request.player_id, _cap(request, "deposit_cap_7d"), _cap(request, "stake_cap_7d")
        )
        return pb.SetResponsibleGamblingLimitsResponse(limits=_limits(limits))

    async def GetResponsibleGamblingLimits(
        self, request: pb.GetResponsibleGamblingLimitsRequest, context: ServicerContext
    ) -> pb.GetResponsibleGamblingLimitsResponse:
        limits = await self.accounts.limits(request.player_id)
        return pb.GetResponsibleGamblingLimitsResponse(limits=_limits(limits))

    async def SelfExclude(
        self, request: pb.SelfExcludeRequest, context: ServicerContext
    ) -> pb.SelfExcludeResponse:
        duration = timedelta(
            seconds=request.duration.seconds, microseconds=request.duration.nanos // 1000
        )
        player = await self.accounts.self_exclude(request.player_id, duration)
        return pb.SelfExcludeResponse(player=_player(player, self._now()))

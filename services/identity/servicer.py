"""IdentityService over gRPC: translates requests to the service layer (services/identity/
service_layer/) and back; the rules live in domain/."""

# The generated base class fixes the RPC method names.

from __future__ import annotations

from datetime import datetime, timedelta

from betmesh.common.v1 import money_pb2
from betmesh.identity.v1 import identity_service_pb2 as pb
from betmesh.identity.v1 import identity_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from service_runtime.auth import LOGIN_BINDING_HEADER, client_address, current_principal
from service_runtime.server import ServicerContext
from services.identity.domain.clients import ClientRole
from services.identity.domain.franceconnect import Callback
from services.identity.domain.kyc import WebhookResult
from services.identity.domain.players import Limits, Player
from services.identity.domain.tokens import PlayerToken, TokenRequest
from services.identity.service_layer import commands
from services.identity.service_layer.handlers import IdentityHandlers, SignedIn

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


def _token(token: PlayerToken) -> pb.AccessToken:
    return pb.AccessToken(token=token.token, expires_at=Timestamp(seconds=token.expires_at))


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
    def __init__(self, handlers: IdentityHandlers) -> None:
        self.handlers = handlers

    async def IssueToken(
        self, request: pb.IssueTokenRequest, context: ServicerContext
    ) -> pb.IssueTokenResponse:
        issued = self.handlers.issue_token(
            commands.IssueToken(
                TokenRequest(
                    client_id=request.client_id,
                    client_secret=request.client_secret,
                    audience=request.audience,
                    scopes=list(request.scopes),
                )
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
        return pb.GetJwksResponse(keys=[pb.JsonWebKey(**jwk) for jwk in self.handlers.jwks()])

    async def StartFranceConnectLogin(
        self, request: pb.StartFranceConnectLoginRequest, context: ServicerContext
    ) -> pb.StartFranceConnectLoginResponse:
        metadata = _metadata(context)
        url, attempt_id = await self.handlers.start_franceconnect_login(
            commands.StartFranceConnectLogin(
                request.return_to,
                _LEVELS.get(request.assurance_level),
                metadata.get(LOGIN_BINDING_HEADER, ""),
                client_address(current_principal.get(), metadata, context.peer()),
            )
        )
        return pb.StartFranceConnectLoginResponse(
            authorization_url=url, login_attempt_id=attempt_id
        )

    async def CompleteFranceConnectLogin(
        self, request: pb.CompleteFranceConnectLoginRequest, context: ServicerContext
    ) -> pb.CompleteFranceConnectLoginResponse:
        done = await self.handlers.complete_franceconnect_login(
            commands.CompleteFranceConnectLogin(
                Callback(
                    code=request.code,
                    state=request.state,
                    iss=request.iss,
                    error=request.error,
                    error_description=request.error_description,
                ),
                _metadata(context).get(LOGIN_BINDING_HEADER, ""),
            )
        )
        return pb.CompleteFranceConnectLoginResponse(
            player=_player(done.player, done.now),
            access_token=_token(done.token),
            return_to=done.return_to,
            session_id=done.session_id,
        )

    async def StartFranceConnectLogout(
        self, request: pb.StartFranceConnectLogoutRequest, context: ServicerContext
    ) -> pb.StartFranceConnectLogoutResponse:
        url = await self.handlers.start_franceconnect_logout(
            commands.StartFranceConnectLogout(request.session_id)
        )
        return pb.StartFranceConnectLogoutResponse(logout_url=url)

    async def CompleteFranceConnectLogout(
        self, request: pb.CompleteFranceConnectLogoutRequest, context: ServicerContext
    ) -> pb.CompleteFranceConnectLogoutResponse:
        await self.handlers.complete_franceconnect_logout(
            commands.CompleteFranceConnectLogout(request.state)
        )
        return pb.CompleteFranceConnectLogoutResponse()

    async def RegisterPlayer(
        self, request: pb.RegisterPlayerRequest, context: ServicerContext
    ) -> pb.RegisterPlayerResponse:
        principal = current_principal.get()
        client = client_address(principal, _metadata(context), context.peer())
        done = await self.handlers.register_player(
            commands.RegisterPlayer(
                request.display_name, client, principal.role if principal else None
            )
        )
        return _registered(done)

    async def StartKycVerification(
        self, request: pb.StartKycVerificationRequest, context: ServicerContext
    ) -> pb.StartKycVerificationResponse:
        session = await self.handlers.start_kyc_verification(
            commands.StartKycVerification(request.player_id, request.provider)
        )
        return pb.StartKycVerificationResponse(
            verification_session_id=session.session_id, verification_url=session.url
        )

    async def HandleKycWebhook(
        self, request: pb.HandleKycWebhookRequest, context: ServicerContext
    ) -> pb.HandleKycWebhookResponse:
        headers = {h.name: h.value for h in request.headers}
        result = await self.handlers.handle_kyc_webhook(
            commands.HandleKycWebhook(request.provider, headers, request.raw_body)
        )
        return pb.HandleKycWebhookResponse(outcome=_OUTCOMES[result])  # type: ignore[arg-type]

    async def GetPlayer(
        self, request: pb.GetPlayerRequest, context: ServicerContext
    ) -> pb.GetPlayerResponse:
        seen = await self.handlers.get_player(commands.GetPlayer(request.player_id))
        return pb.GetPlayerResponse(player=_player(seen.player, seen.now))

    async def SetResponsibleGamblingLimits(
        self, request: pb.SetResponsibleGamblingLimitsRequest, context: ServicerContext
    ) -> pb.SetResponsibleGamblingLimitsResponse:
        limits = await self.handlers.set_limits(
            commands.SetLimits(
                request.player_id, _cap(request, "deposit_cap_7d"), _cap(request, "stake_cap_7d")
            )
        )
        return pb.SetResponsibleGamblingLimitsResponse(limits=_limits(limits))

    async def GetResponsibleGamblingLimits(
        self, request: pb.GetResponsibleGamblingLimitsRequest, context: ServicerContext
    ) -> pb.GetResponsibleGamblingLimitsResponse:
        limits = await self.handlers.limits(commands.GetLimits(request.player_id))
        return pb.GetResponsibleGamblingLimitsResponse(limits=_limits(limits))

    async def SelfExclude(
        self, request: pb.SelfExcludeRequest, context: ServicerContext
    ) -> pb.SelfExcludeResponse:
        duration = timedelta(
            seconds=request.duration.seconds, microseconds=request.duration.nanos // 1000
        )
        seen = await self.handlers.self_exclude(commands.SelfExclude(request.player_id, duration))
        return pb.SelfExcludeResponse(player=_player(seen.player, seen.now))


def _registered(done: SignedIn) -> pb.RegisterPlayerResponse:
    return pb.RegisterPlayerResponse(
        player=_player(done.player, done.now), access_token=_token(done.token)
    )

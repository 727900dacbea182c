"""IdentityService over gRPC: token issuance and the JWKS; the player side is not built yet."""

# The generated base class fixes the RPC method names.

from __future__ import annotations

from typing import Any, NoReturn, TypeAlias

import grpc
from betmesh.identity.v1 import identity_service_pb2 as pb
from betmesh.identity.v1 import identity_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from service_runtime.errors import Unimplemented
from services.identity.domain.clients import ClientRole
from services.identity.domain.keys import KeyRing
from services.identity.domain.tokens import TokenIssuer, TokenRequest

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]

_ROLES: dict[ClientRole, int] = {
    ClientRole.OPERATOR: pb.ROLE_OPERATOR,
    ClientRole.PARTNER: pb.ROLE_PARTNER,
    ClientRole.SERVICE: pb.ROLE_SERVICE,
}


def _not_built(what: str) -> NoReturn:
    raise Unimplemented("NOT_IMPLEMENTED", f"{what} is not implemented yet")


class IdentityServicer(identity_service_pb2_grpc.IdentityServiceServicer):
    def __init__(self, issuer: TokenIssuer, keys: KeyRing) -> None:
        self.issuer = issuer
        self.keys = keys

    async def IssueToken(
        self, request: pb.IssueTokenRequest, context: Context
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

    async def GetJwks(self, request: pb.GetJwksRequest, context: Context) -> pb.GetJwksResponse:
        return pb.GetJwksResponse(keys=[pb.JsonWebKey(**jwk) for jwk in self.keys.public_jwks()])

    async def StartFranceConnectLogin(
        self, request: pb.StartFranceConnectLoginRequest, context: Context
    ) -> pb.StartFranceConnectLoginResponse:
        _not_built("FranceConnect login")

    async def CompleteFranceConnectLogin(
        self, request: pb.CompleteFranceConnectLoginRequest, context: Context
    ) -> pb.CompleteFranceConnectLoginResponse:
        _not_built("FranceConnect login")

    async def StartFranceConnectLogout(
        self, request: pb.StartFranceConnectLogoutRequest, context: Context
    ) -> pb.StartFranceConnectLogoutResponse:
        _not_built("FranceConnect logout")

    async def CompleteFranceConnectLogout(
        self, request: pb.CompleteFranceConnectLogoutRequest, context: Context
    ) -> pb.CompleteFranceConnectLogoutResponse:
        _not_built("FranceConnect logout")

    async def StartKycVerification(
        self, request: pb.StartKycVerificationRequest, context: Context
    ) -> pb.StartKycVerificationResponse:
        _not_built("KYC verification")

    async def HandleKycWebhook(
        self, request: pb.HandleKycWebhookRequest, context: Context
    ) -> pb.HandleKycWebhookResponse:
        _not_built("KYC webhooks")

    async def GetPlayer(
        self, request: pb.GetPlayerRequest, context: Context
    ) -> pb.GetPlayerResponse:
        _not_built("players")

    async def SetResponsibleGamblingLimits(
        self, request: pb.SetResponsibleGamblingLimitsRequest, context: Context
    ) -> pb.SetResponsibleGamblingLimitsResponse:
        _not_built("responsible-gambling limits")

    async def GetResponsibleGamblingLimits(
        self, request: pb.GetResponsibleGamblingLimitsRequest, context: Context
    ) -> pb.GetResponsibleGamblingLimitsResponse:
        _not_built("responsible-gambling limits")

    async def SelfExclude(
        self, request: pb.SelfExcludeRequest, context: Context
    ) -> pb.SelfExcludeResponse:
        _not_built("self-exclusion")

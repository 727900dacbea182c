"""What callers ask the identity service, free of gRPC: the servicer builds these from requests.
`client` is whom per-client quotas count the call against (service_runtime.auth.client_address);
`binding` is the browser's login binding (service_runtime.auth.LOGIN_BINDING_HEADER)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.identity.domain.franceconnect import Callback
from services.identity.domain.tokens import TokenRequest


@dataclass(frozen=True)
class IssueToken:
    request: TokenRequest


@dataclass(frozen=True)
class StartFranceConnectLogin:
    return_to: str
    # "eidas1".."eidas3", or None for the configured default.
    assurance_level: str | None
    binding: str
    client: str


@dataclass(frozen=True)
class CompleteFranceConnectLogin:
    callback: Callback
    binding: str


@dataclass(frozen=True)
class StartFranceConnectLogout:
    session_id: str


@dataclass(frozen=True)
class CompleteFranceConnectLogout:
    state: str


@dataclass(frozen=True)
class RegisterPlayer:
    display_name: str
    client: str
    # The caller's token's role, None without a token.
    caller_role: str | None = None


@dataclass(frozen=True)
class StartKycVerification:
    player_id: str
    provider: str


@dataclass(frozen=True)
class HandleKycWebhook:
    provider: str
    headers: dict[str, str]
    raw_body: bytes


@dataclass(frozen=True)
class GetPlayer:
    player_id: str


@dataclass(frozen=True)
class SetLimits:
    """Seven-day caps, (amount in minor units, currency); None leaves that cap as it is."""

    player_id: str
    deposit: tuple[int, str] | None
    stake: tuple[int, str] | None


@dataclass(frozen=True)
class GetLimits:
    player_id: str


@dataclass(frozen=True)
class SelfExclude:
    player_id: str
    duration: timedelta

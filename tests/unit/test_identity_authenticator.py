"""The shared TokenAuthenticator: key rotation as the identity service performs it, the
rate-limited JWKS refresh, role policies."""

from __future__ import annotations

import hashlib

import pytest

from service_runtime.errors import PermissionDenied, Unauthenticated
from service_runtime.tokens import (
    KNOWN_ROLES,
    METHOD_ROLES,
    PUBLIC_METHODS,
    PUBLIC_ROLE,
    SERVICE_ROLES,
    TokenAuthenticator,
)
from services.identity.domain.clients import Client, ClientRegistry, ClientRole
from services.identity.domain.keys import KeyRing, SigningKey
from services.identity.domain.tokens import TokenIssuer, TokenRequest, issue_player_token

METHOD = "/betmesh.bets.v1.BetService/PlaceBet"
STREAM_ODDS = "/betmesh.live.v1.LiveOddsService/StreamOdds"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _issuer(keys: KeyRing) -> TokenIssuer:
    clients = ClientRegistry(
        [
            Client(
                "ops",
                hashlib.sha256(b"s").digest(),
                ClientRole.OPERATOR,
                frozenset({"betmesh.bets"}),
            )
        ]
    )
    return TokenIssuer(clients, keys, "iss", 300)


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_rotation_publish_then_activate_is_followed_with_one_refresh() -> None:
    keys = KeyRing(SigningKey.generate())
    issuer = _issuer(keys)
    fetches: list[int] = []

    async def fetch() -> list[dict[str, str]]:
        fetches.append(1)
        return keys.public_jwks()

    clock = Clock()
    auth = TokenAuthenticator(
        audience="betmesh.bets", issuer="iss", fetch_jwks=fetch, monotonic=clock
    )
    request = TokenRequest("ops", "s", "betmesh.bets")
    principal = await auth.authenticate(METHOD, _bearer(issuer.issue(request).token))
    assert principal is not None and principal.role == "operator"
    assert len(fetches) == 1

    new = SigningKey.generate()
    keys.publish(new)
    keys.activate(new.kid)
    clock.now = 60
    # A kid the cache has not seen: one refresh, then accepted.
    await auth.authenticate(METHOD, _bearer(issuer.issue(request).token))
    assert len(fetches) == 2
    # Unknown kids inside the refresh interval cost no extra fetch.
    stranger = KeyRing(SigningKey.generate())
    for _ in range(3):
        with pytest.raises(Unauthenticated) as refused:
            await auth.authenticate(METHOD, _bearer(_issuer(stranger).issue(request).token))
        assert refused.value.reason == "TOKEN_KEY_UNKNOWN"
    assert len(fetches) == 2


async def test_roles_and_open_methods() -> None:
    keys = KeyRing(SigningKey.generate())

    async def fetch() -> list[dict[str, str]]:
        return keys.public_jwks()

    auth = TokenAuthenticator(
        audience="betmesh.bets",
        issuer="iss",
        fetch_jwks=fetch,
        roles={METHOD: {"player"}},
        open_methods={"/betmesh.bets.v1.BetService/Open"},
    )
    player = issue_player_token(_issuer(keys), "p-1", "VERIFIED", ["betmesh.bets", "betmesh.live"])
    principal = await auth.authenticate(METHOD, _bearer(player.token))
    assert principal is not None
    assert (principal.subject, principal.role) == ("p-1", "player")
    assert principal.claims["kyc_status"] == "VERIFIED"
    operator = _issuer(keys).issue(TokenRequest("ops", "s", "betmesh.bets")).token
    with pytest.raises(PermissionDenied) as denied:
        await auth.authenticate(METHOD, _bearer(operator))
    assert denied.value.reason == "ROLE_NOT_ALLOWED"
    assert await auth.authenticate("/betmesh.bets.v1.BetService/Open", {}) is None


async def test_the_public_role_reads_the_odds_stream_and_nothing_else() -> None:
    """The edge's credential for anonymous visitors: live's StreamOdds only, whichever service
    and whatever that service's defaults (least privilege, service_runtime.tokens)."""
    keys = KeyRing(SigningKey.generate())
    audiences = frozenset(SERVICE_ROLES)
    issuer = TokenIssuer(
        ClientRegistry(
            [Client("edge", hashlib.sha256(b"e").digest(), ClientRole.PUBLIC, audiences)]
        ),
        keys,
        "iss",
        300,
    )

    async def fetch() -> list[dict[str, str]]:
        return keys.public_jwks()

    def authenticator(service: str, **kwargs: object) -> TokenAuthenticator:
        return TokenAuthenticator(
            audience=service,
            issuer="iss",
            fetch_jwks=fetch,
            roles=METHOD_ROLES,
            default_roles=SERVICE_ROLES[service],
            **kwargs,  # type: ignore[arg-type]
        )

    assert ClientRole.PUBLIC.value == PUBLIC_ROLE
    assert {STREAM_ODDS} == PUBLIC_METHODS
    live_token = issuer.issue(TokenRequest("edge", "e", "betmesh.live")).token
    live = authenticator("betmesh.live")
    principal = await live.authenticate(STREAM_ODDS, _bearer(live_token))
    assert principal is not None and principal.role == "public"
    for method in ("IngestMatchEvent", "UpdateSubscription", "GetGameState"):
        with pytest.raises(PermissionDenied) as denied:
            await live.authenticate(
                f"/betmesh.live.v1.LiveOddsService/{method}", _bearer(live_token)
            )
        assert denied.value.reason == "ROLE_NOT_ALLOWED"
    # Even a service whose policy would name every role refuses it outside PUBLIC_METHODS.
    lax = authenticator("betmesh.live")
    lax.default_roles = KNOWN_ROLES
    with pytest.raises(PermissionDenied):
        await lax.authenticate("/betmesh.live.v1.LiveOddsService/GetGameState", _bearer(live_token))
    for service in SERVICE_ROLES:
        token = issuer.issue(TokenRequest("edge", "e", service)).token
        area = service.split(".")[1]
        with pytest.raises(PermissionDenied):
            await authenticator(service).authenticate(
                f"/betmesh.{area}.v1.Any/Method", _bearer(token)
            )
    # A service that states no policy of its own does not let it in by default either.
    bare = TokenAuthenticator(audience="betmesh.bets", issuer="iss", fetch_jwks=fetch)
    bets_token = issuer.issue(TokenRequest("edge", "e", "betmesh.bets")).token
    with pytest.raises(PermissionDenied):
        await bare.authenticate(METHOD, _bearer(bets_token))

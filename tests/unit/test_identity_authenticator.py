"""The shared TokenAuthenticator: key rotation as the identity service performs it, the
rate-limited JWKS refresh, role policies."""

from __future__ import annotations

import hashlib

import pytest

from service_runtime.errors import PermissionDenied, Unauthenticated
from service_runtime.method_rules import MethodRule, UndeclaredMethod, rule_for
from service_runtime.tokens import PUBLIC_ROLE, TokenAuthenticator
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


async def test_roles_and_anonymous_methods() -> None:
    keys = KeyRing(SigningKey.generate())

    async def fetch() -> list[dict[str, str]]:
        return keys.public_jwks()

    declared = {
        METHOD: MethodRule(frozenset({"player"})),
        "/betmesh.bets.v1.BetService/Open": MethodRule(frozenset(), allow_anonymous=True),
    }

    def rules(method: str) -> MethodRule:
        if method not in declared:
            raise UndeclaredMethod(method)
        return declared[method]

    auth = TokenAuthenticator(audience="betmesh.bets", issuer="iss", fetch_jwks=fetch, rules=rules)
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
    # A method that declares nothing is nobody's, whatever the token.
    with pytest.raises(PermissionDenied) as denied:
        await auth.authenticate("/betmesh.bets.v1.BetService/Ghost", _bearer(operator))
    assert denied.value.reason == "METHOD_ROLE_UNDECLARED"


async def test_the_public_role_reads_the_odds_stream_and_nothing_else() -> None:
    """The edge's credential for anonymous visitors: live's StreamOdds only, as the contracts
    declare it (least privilege)."""
    keys = KeyRing(SigningKey.generate())
    audiences = frozenset(
        {"betmesh.bets", "betmesh.live", "betmesh.identity", "betmesh.gateway", "betmesh.oracle"}
    )
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

    def authenticator(service: str) -> TokenAuthenticator:
        return TokenAuthenticator(audience=service, issuer="iss", fetch_jwks=fetch)

    assert ClientRole.PUBLIC.value == PUBLIC_ROLE
    assert rule_for(STREAM_ODDS).admits(PUBLIC_ROLE)
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
    bets_token = issuer.issue(TokenRequest("edge", "e", "betmesh.bets")).token
    with pytest.raises(PermissionDenied):
        await authenticator("betmesh.bets").authenticate(METHOD, _bearer(bets_token))


async def test_a_key_replaced_under_the_same_kid_is_picked_up_and_retired_keys_age_out() -> None:
    """The services' own verifier: a bad signature under a known kid re-fetches the key set
    (rate-limited), and a key set older than its maximum age is fetched again before use."""
    first = SigningKey(kid="k", key=SigningKey.generate().key)
    second = SigningKey(kid="k", key=SigningKey.generate().key)
    published = [first]
    fetches: list[int] = []

    async def fetch() -> list[dict[str, str]]:
        fetches.append(1)
        return [key.public_jwk() for key in published]

    clock = Clock()
    auth = TokenAuthenticator(
        audience="betmesh.bets",
        issuer="iss",
        fetch_jwks=fetch,
        monotonic=clock,
        max_key_age_seconds=300,
    )
    request = TokenRequest("ops", "s", "betmesh.bets")
    await auth.authenticate(METHOD, _bearer(_issuer(KeyRing(first)).issue(request).token))
    published[:] = [second]  # identity replaced the key, same kid
    clock.now = 11
    await auth.authenticate(METHOD, _bearer(_issuer(KeyRing(second)).issue(request).token))
    assert len(fetches) == 2
    # Forged signatures under the kid cost no further fetch inside the refresh interval.
    forger = SigningKey(kid="k", key=SigningKey.generate().key)
    with pytest.raises(Unauthenticated) as refused:
        await auth.authenticate(METHOD, _bearer(_issuer(KeyRing(forger)).issue(request).token))
    assert refused.value.reason == "TOKEN_SIGNATURE_INVALID"
    assert len(fetches) == 2
    # The first key is gone from the published set: once the cached set is older than its
    # maximum age, it is fetched again and the retired key no longer verifies anything.
    old_token = _issuer(KeyRing(first)).issue(request).token
    clock.now = 11 + 300
    with pytest.raises(Unauthenticated):
        await auth.authenticate(METHOD, _bearer(old_token))
    assert len(fetches) == 3

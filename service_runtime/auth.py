"""Where authentication plugs in.

Every RPC of ours passes through an `Authenticator`, which turns the call's metadata into a
`Principal` (or raises Unauthenticated / PermissionDenied) according to the role its contract
declares (service_runtime.method_rules). Servicers read the caller from `current_principal`.
Services run with tokens (service_runtime.tokens) unless BETMESH_AUTH_MODE=anonymous is asked for
explicitly; then `AnonymousAuthenticator` admits every caller as unknown (None), and domain code
refuses an unknown caller wherever it acts on a player's money or account: None is never an
operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

# Health and reflection stay open: probes and tooling carry no tokens.
OPEN_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    scopes: frozenset[str] = frozenset()
    claims: Mapping[str, object] = field(default_factory=dict)


current_principal: ContextVar[Principal | None] = ContextVar("current_principal", default=None)


class Authenticator(Protocol):
    async def authenticate(self, method: str, metadata: Mapping[str, str]) -> Principal | None: ...


class AnonymousAuthenticator:
    async def authenticate(self, method: str, metadata: Mapping[str, str]) -> Principal | None:
        return None


# Set by the edge on the FranceConnect login RPCs: the secret in the browser's sign-in cookie,
# which binds a sign-in to the browser that started it (services/identity/domain/franceconnect.py).
LOGIN_BINDING_HEADER = "x-betmesh-login-binding"
# Set by the edge on calls it makes for a browser, with its own (public-role) token: the
# visitor's address as the edge saw it (services/edge/domain/client_address.py). Believed only
# from a caller whose token says it is the edge or an internal service (`client_address`).
VISITOR_HEADER = "x-betmesh-public-client"
_VOUCHING_ROLES = frozenset({"public", "service"})


def client_address(principal: Principal | None, metadata: Mapping[str, str], peer: str) -> str:
    """Whom per-client limits count a call against: the visitor the edge vouches for, else the
    TCP peer's host ("ipv4:10.0.0.7:5123" -> "10.0.0.7")."""
    if principal is not None and principal.role in _VOUCHING_ROLES:
        visitor = metadata.get(VISITOR_HEADER, "")
        if visitor:
            return f"visitor:{visitor[:64]}"
    peer = peer or "unknown"
    if peer.startswith(("ipv4:", "ipv6:")):
        peer = peer.split(":", 1)[1].rsplit(":", 1)[0].strip("[]")
    return f"peer:{peer[:64]}"

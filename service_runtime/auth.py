"""Where authentication plugs in.

Every non-open RPC passes through an `Authenticator`, which turns the call's metadata into a
`Principal` (or raises Unauthenticated / PermissionDenied). Servicers read the caller from
`current_principal`. Until the identity service issues tokens, services run with
`AnonymousAuthenticator`, which admits every caller as anonymous: authorization decisions in
domain code must treat `None` as "unknown caller", never as an operator.
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

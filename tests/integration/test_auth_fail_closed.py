"""Fail closed, through real gRPC servers: every service's every RPC, hosted by the runtime in
tokens mode, refuses a caller with no token (UNAUTHENTICATED) unless its contract declares it
anonymous, and refuses a token whose role the contract does not name (PERMISSION_DENIED). The
domain paths that act on a player's money or account refuse an unknown caller themselves too."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest

from service_runtime.auth import Principal, current_principal
from service_runtime.errors import Unauthenticated
from service_runtime.method_rules import KNOWN_ROLES, rule_for
from service_runtime.server import Registration, ServiceHost
from service_runtime.tokens import TokenAuthenticator
from services.bets.domain.wallet import Caller, authorize
from services.identity.domain.clients import Client, ClientRegistry, ClientRole
from services.identity.domain.keys import KeyRing, SigningKey
from services.identity.domain.tokens import TokenIssuer, TokenRequest
from services.identity.service_layer.accounts import Accounts
from tests.support.grpc_helpers import local_server_settings, rpc_error
from tests.unit.test_method_rules import contract_modules

# (messages module, stubs module, service) for every service of protos/, hosted with the
# generated base servicer, whose methods all answer UNIMPLEMENTED: whatever reaches a method
# body got past authentication.
SERVICES: list[tuple[Any, Any, str]] = [
    (module, importlib.import_module(module.__name__ + "_grpc"), name)
    for module in contract_modules()
    for name in module.DESCRIPTOR.services_by_name
]
ISSUER = "betmesh-fail-closed-test"
# What a call admitted by authentication meets next: the request's field rules (an empty
# request breaks most of them) or the base servicer's UNIMPLEMENTED.
PAST_AUTHENTICATION = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED})


@dataclasses.dataclass
class Mesh:
    port: int
    keys: KeyRing
    methods: list[tuple[str, bool]]  # (path, server streaming)

    def token(self, role: ClientRole, audience: str) -> str:
        client = Client("c", hashlib.sha256(b"s").digest(), role, frozenset({audience}))
        issuer = TokenIssuer(ClientRegistry([client]), self.keys, ISSUER, 300)
        return issuer.issue(TokenRequest("c", "s", audience)).token


@pytest.fixture(scope="module")
async def mesh() -> AsyncIterator[Mesh]:
    keys = KeyRing(SigningKey.generate())

    async def fetch() -> list[dict[str, str]]:
        return keys.public_jwks()

    registrations: list[Registration] = []
    methods: list[tuple[str, bool]] = []
    for messages, stubs, name in SERVICES:
        service = messages.DESCRIPTOR.services_by_name[name]
        servicer = getattr(stubs, f"{name}Servicer")()
        add = getattr(stubs, f"add_{name}Servicer_to_server")
        registrations.append(
            Registration(service.full_name, functools.partial(_add, add, servicer))
        )
        methods += [(f"/{service.full_name}/{m.name}", m.server_streaming) for m in service.methods]
    host = ServiceHost(
        "betmesh.test",
        dataclasses.replace(local_server_settings(), auth_mode="tokens"),
        registrations,
        # One host serves every contract here; each call's audience is its own service's.
        authenticator=_PerAudience(fetch),
    )
    await host.start()
    try:
        yield Mesh(host.port, keys, methods)
    finally:
        await host.stop(0)


def _add(add: Any, servicer: Any, server: Any) -> None:
    add(servicer, server)


class _PerAudience:
    def __init__(self, fetch: Any) -> None:
        self.fetch = fetch
        self.by_audience: dict[str, TokenAuthenticator] = {}

    async def authenticate(self, method: str, metadata: Any) -> Principal | None:
        audience = method.lstrip("/").split(".v1.", 1)[0]
        if audience not in self.by_audience:
            self.by_audience[audience] = TokenAuthenticator(
                audience=audience, issuer=ISSUER, fetch_jwks=self.fetch
            )
        return await self.by_audience[audience].authenticate(method, metadata)


async def _call(
    channel: grpc.aio.Channel, path: str, streaming: bool, token: str | None
) -> grpc.StatusCode:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    if streaming:
        stream = channel.unary_stream(path)(b"", metadata=metadata, timeout=5)

        async def read() -> None:
            async for _ in stream:
                pass

        code, _, _ = await rpc_error(read)
    else:
        code, _, _ = await rpc_error(
            lambda: channel.unary_unary(path)(b"", metadata=metadata, timeout=5)
        )
    return code


async def test_an_unknown_caller_is_refused_on_every_non_anonymous_rpc(mesh: Mesh) -> None:
    assert len(mesh.methods) >= 56
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.port}") as channel:
        for path, streaming in mesh.methods:
            code = await _call(channel, path, streaming, None)
            if rule_for(path).allow_anonymous:
                # Past authentication: the request's rules or the base servicer answer.
                assert code in PAST_AUTHENTICATION, path
            else:
                assert code == grpc.StatusCode.UNAUTHENTICATED, path


async def test_a_role_the_contract_does_not_name_is_refused(mesh: Mesh) -> None:
    roles = {r.value: r for r in ClientRole}
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.port}") as channel:
        for path, streaming in mesh.methods:
            rule = rule_for(path)
            audience = path.lstrip("/").split(".v1.", 1)[0]
            for role in sorted((KNOWN_ROLES - {"player"}) & roles.keys()):
                code = await _call(channel, path, streaming, mesh.token(roles[role], audience))
                if rule.allow_anonymous or rule.admits(role):
                    assert code in PAST_AUTHENTICATION, (path, role)
                else:
                    assert code == grpc.StatusCode.PERMISSION_DENIED, (path, role)


def test_the_wallet_refuses_an_unknown_caller() -> None:
    with pytest.raises(Unauthenticated) as refused:
        authorize(None, "p-1")
    assert refused.value.reason == "CALLER_UNKNOWN"
    authorize(Caller("p-1", "player"), "p-1")
    authorize(Caller("svc-x", "service"), "p-1")


async def test_accounts_refuse_an_unknown_caller() -> None:
    class Players:
        async def get(self, player_id: str) -> None:
            raise AssertionError("an unknown caller must not reach the store")

    accounts = Accounts(Players(), None, lambda: datetime.now(UTC))  # type: ignore[arg-type]
    token = current_principal.set(None)
    try:
        with pytest.raises(Unauthenticated) as refused:
            await accounts.get("p-1")
        assert refused.value.reason == "CALLER_UNKNOWN"
    finally:
        current_principal.reset(token)
    token = current_principal.set(Principal("p-2", "player"))
    try:
        with pytest.raises(Exception) as denied:
            await accounts.get("p-1")
        assert getattr(denied.value, "reason", "") == "NOT_YOUR_ACCOUNT"
    finally:
        current_principal.reset(token)

"""Every RPC of every contract declares who may call it (`(betmesh.common.v1.auth)`), and the
runtime refuses to register one that does not."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import betmesh
import grpc
import pytest
from google.protobuf.descriptor import ServiceDescriptor

from service_runtime.auth import AnonymousAuthenticator
from service_runtime.handlers import WrappingServer
from service_runtime.method_rules import (
    KNOWN_ROLES,
    PUBLIC_ROLE,
    UndeclaredMethod,
    rule_for,
    service_rules,
)


def contract_modules() -> list[ModuleType]:
    """Every generated messages module of protos/ (gen/python/betmesh/**/*_pb2.py)."""
    names = [
        info.name
        for info in pkgutil.walk_packages(betmesh.__path__, "betmesh.")
        if info.name.endswith("_pb2")
    ]
    return [importlib.import_module(name) for name in sorted(names)]


SERVICES: list[ServiceDescriptor] = [
    service
    for module in contract_modules()
    for service in module.DESCRIPTOR.services_by_name.values()
]
# Callers with no betmesh token yet: sign-in and sign-up, token issuance, the keys, and KYC
# providers (authenticated by their signature over the body).
ANONYMOUS = {
    f"/betmesh.identity.v1.IdentityService/{name}"
    for name in (
        "IssueToken",
        "GetJwks",
        "StartFranceConnectLogin",
        "CompleteFranceConnectLogin",
        "StartFranceConnectLogout",
        "CompleteFranceConnectLogout",
        "RegisterPlayer",
        "HandleKycWebhook",
    )
}


def test_every_rpc_declares_its_roles() -> None:
    rules = {path: rule for s in SERVICES for path, rule in service_rules(s).items()}
    # Every service of protos/ is walked (a new one is covered without editing this test).
    assert {s.full_name for s in SERVICES} >= {
        "betmesh.bets.v1.BetService",
        "betmesh.identity.v1.IdentityService",
        "betmesh.quotes.v1.QuoteService",
    }
    assert len(rules) >= 56
    for path, rule in rules.items():
        assert rule.allow_anonymous == (path in ANONYMOUS), path
        assert rule.allow_anonymous or (rule.roles and rule.roles <= KNOWN_ROLES), path
        assert rule_for(path) == rule
    # The public role (anonymous visitors through the edge) reads the odds board and nothing else.
    assert {p for p, r in rules.items() if r.admits(PUBLIC_ROLE)} == {
        "/betmesh.live.v1.LiveOddsService/StreamOdds"
    }
    # Players reach their own wallet, bets and account, and the odds; nothing internal.
    player = {p.rsplit("/", 1)[1] for p, r in rules.items() if r.admits("player")}
    assert {"SettleMarket", "VoidBets", "IngestMatchEvent", "PriceFixture"}.isdisjoint(player)
    assert {"PlaceBet", "Deposit", "GetPlayer", "StreamOdds"} <= player
    # An operator's own decisions: never an internal service's (nor a player's).
    operator_only = {p.rsplit("/", 1)[1] for p, r in rules.items() if r.roles == {"operator"}}
    assert {"ReleasePriceHold", "RejectPriceHold", "ForceSnapshot", "RequeueDeadLetter"} <= (
        operator_only
    )


def test_a_method_outside_the_contracts_has_no_rule() -> None:
    for path in ("/betmesh.bets.v1.BetService/Ghost", "/no.such.Service/Call", "garbage"):
        with pytest.raises(UndeclaredMethod):
            rule_for(path)


async def test_registering_an_undeclared_method_fails_at_start() -> None:
    # A running loop: grpc.aio.server() needs one, and a sync test has none once an earlier
    # test has closed the default loop (the failure depended on test order).
    wrapping = WrappingServer(grpc.aio.server(), AnonymousAuthenticator())
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: b"")
    with pytest.raises(UndeclaredMethod):
        wrapping.add_registered_method_handlers("betmesh.bets.v1.BetService", {"Ghost": handler})
    with pytest.raises(UndeclaredMethod):
        wrapping.add_registered_method_handlers("betmesh.test.v1.Echo", {"Who": handler})
    # Health and reflection are not ours: open, no rule needed.
    wrapping.add_registered_method_handlers("grpc.health.v1.Health", {"Check": handler})

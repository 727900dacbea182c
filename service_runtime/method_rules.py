"""Who may call each RPC: the `(betmesh.common.v1.auth)` option declared on the RPC in protos/.

The rule lives next to the contract, not in a table here: adding an RPC without deciding who may
call it fails when the service registers it (`rule_for` raises `UndeclaredMethod`), and a call
that still reaches an undeclared method is refused (PERMISSION_DENIED). Health and reflection are
not ours and stay open (`service_runtime.auth.OPEN_SERVICES`).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass

import betmesh
from betmesh.common.v1 import auth_pb2
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

# betmesh.identity.v1.ClientRole values, lower case; players' tokens come with their sign-in.
KNOWN_ROLES = frozenset({"player", "partner", "operator", "service", "public"})
# Anonymous visitors' access, held by the edge on their behalf: only where a rule names it.
PUBLIC_ROLE = "public"


class UndeclaredMethod(RuntimeError):
    """A method of ours with no usable auth rule: a contract bug, caught at start."""


@dataclass(frozen=True)
class MethodRule:
    roles: frozenset[str]
    allow_anonymous: bool = False

    def admits(self, role: str) -> bool:
        return role in self.roles


def _method_name(method: str) -> str:
    """'/betmesh.bets.v1.BetService/PlaceBet' -> 'betmesh.bets.v1.BetService.PlaceBet'."""
    service, sep, name = method.lstrip("/").partition("/")
    if not sep or not service or not name or "/" in name:
        raise UndeclaredMethod(f"{method!r} is not a gRPC method path")
    return f"{service}.{name}"


def rule_of(descriptor: MethodDescriptor) -> MethodRule:
    """The rule declared on one method descriptor; UndeclaredMethod when absent or unusable."""
    options = descriptor.GetOptions()
    if not options.HasExtension(auth_pb2.auth):
        raise UndeclaredMethod(f"{descriptor.full_name} declares no (betmesh.common.v1.auth)")
    declared = options.Extensions[auth_pb2.auth]
    roles = frozenset(declared.roles)
    unknown = roles - KNOWN_ROLES
    if unknown:
        raise UndeclaredMethod(f"{descriptor.full_name} names unknown roles {sorted(unknown)}")
    if declared.allow_anonymous == bool(roles):
        raise UndeclaredMethod(
            f"{descriptor.full_name} must declare either allow_anonymous or a list of roles"
        )
    return MethodRule(roles=roles, allow_anonymous=declared.allow_anonymous)


@functools.cache
def _load_contracts() -> None:
    """Imports every generated module of protos/, so that a lookup never depends on which
    stubs the process happened to import first."""
    for info in pkgutil.walk_packages(betmesh.__path__, "betmesh."):
        if info.name.endswith("_pb2"):
            importlib.import_module(info.name)


@functools.cache
def rule_for(method: str) -> MethodRule:
    """The rule of a method by its path, from the generated descriptors."""
    name = _method_name(method)
    try:
        descriptor = descriptor_pool.Default().FindMethodByName(name)
    except KeyError:
        _load_contracts()
        try:
            descriptor = descriptor_pool.Default().FindMethodByName(name)
        except KeyError:
            raise UndeclaredMethod(f"{method} is not in any contract") from None
    return rule_of(descriptor)


def service_rules(service: ServiceDescriptor) -> dict[str, MethodRule]:
    """Every method of a service with its rule ('/pkg.Service/Method' -> rule)."""
    return {f"/{service.full_name}/{m.name}": rule_of(m) for m in service.methods}


def methods_admitting(role: str, services: list[ServiceDescriptor]) -> frozenset[str]:
    return frozenset(
        path for s in services for path, rule in service_rules(s).items() if rule.admits(role)
    )

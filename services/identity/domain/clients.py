"""Client-credential clients (partners, operators, services) and their authentication."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from service_runtime.errors import PermissionDenied, Unauthenticated


class ClientRole(StrEnum):
    OPERATOR = "operator"
    PARTNER = "partner"
    SERVICE = "service"
    # The edge's credential for anonymous visitors: live's public odds stream only
    # (the methods whose contract names the "public" role); every other method refuses it.
    PUBLIC = "public"


_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Client:
    client_id: str
    secret_sha256: bytes
    role: ClientRole
    audiences: frozenset[str]
    # Scopes the client may request; none unless configured (least privilege).
    scopes: frozenset[str] = frozenset()


def parse_clients(text: str) -> tuple[Client, ...]:
    """Reads the BETMESH_IDENTITY_CLIENTS JSON list; raises ValueError naming the bad entry."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(raw, list):
        raise ValueError("expected a JSON list of clients")
    clients: list[Client] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"client #{index}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is not an object")
        client_id = entry.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise ValueError(f"{where}: client_id is required")
        where = f"client {client_id!r}"
        if client_id in seen:
            raise ValueError(f"{where} is listed twice")
        seen.add(client_id)
        digest = entry.get("secret_sha256")
        if not isinstance(digest, str) or not _HEX_SHA256.match(digest.lower()):
            raise ValueError(f"{where}: secret_sha256 must be 64 hex digits")
        try:
            role = ClientRole(str(entry.get("role")))
        except ValueError:
            roles = ", ".join(r.value for r in ClientRole)
            raise ValueError(f"{where}: role must be one of {roles}") from None
        audiences = entry.get("audiences")
        if not isinstance(audiences, list) or not all(isinstance(a, str) and a for a in audiences):
            raise ValueError(f"{where}: audiences must be a list of names")
        scopes = entry.get("scopes", [])
        if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
            raise ValueError(f"{where}: scopes must be a list of names")
        clients.append(
            Client(
                client_id=client_id,
                secret_sha256=bytes.fromhex(digest),
                role=role,
                audiences=frozenset(audiences),
                scopes=frozenset(scopes),
            )
        )
    return tuple(clients)


# Compared against when the client id is unknown, so that both failures cost the same time.
_DECOY = hashlib.sha256(b"betmesh-identity-decoy").digest()


class ClientRegistry:
    def __init__(self, clients: Iterable[Client]) -> None:
        self._by_id = {c.client_id: c for c in clients}

    def authenticate(self, client_id: str, secret: str) -> Client:
        """The client whose secret this is; UNAUTHENTICATED INVALID_CLIENT otherwise.

        The caller learns nothing about which part was wrong (RFC 6749 invalid_client).
        """
        client = self._by_id.get(client_id)
        presented = hashlib.sha256(secret.encode()).digest()
        expected = client.secret_sha256 if client is not None else _DECOY
        matches = hmac.compare_digest(presented, expected)
        if client is None or not matches:
            raise Unauthenticated("INVALID_CLIENT", "unknown client or wrong secret")
        return client

    @staticmethod
    def authorise(client: Client, audience: str, scopes: Iterable[str]) -> None:
        if audience not in client.audiences:
            raise PermissionDenied(
                "AUDIENCE_NOT_ALLOWED",
                f"client {client.client_id} may not request tokens for {audience}",
                {"audience": audience},
            )
        refused = sorted(set(scopes) - client.scopes)
        if refused:
            raise PermissionDenied(
                "SCOPE_NOT_ALLOWED",
                f"client {client.client_id} may not request scopes {' '.join(refused)}",
                {"scopes": " ".join(refused)},
            )

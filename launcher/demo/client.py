"""Where the demo's services are, and the operator's and players' credentials for them."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import grpc
from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc
from grpc_status import rpc_status

from launcher.certificates import grpc_channel
from launcher.mesh import DEMO_CLIENT_ID, MESH_FILE, SECRET_FILE
from service_runtime.errors import error_info

RPC_TIMEOUT = 10.0
# Tokens live about five minutes; one is renewed this long before it lapses, so a slow demo
# (--speed 1 plays a match in real time) never sends an expired one.
TOKEN_MARGIN_SECONDS = 60.0
Metadata = list[tuple[str, str]]


class MeshLike(Protocol):
    @property
    def addresses(self) -> dict[str, str]: ...

    @property
    def demo_client_id(self) -> str: ...

    @property
    def demo_secret(self) -> str: ...

    @property
    def edge_url(self) -> str | None: ...

    @property
    def feed_speed(self) -> float: ...


@dataclass
class Target:
    """Where the demo's services are: instance name -> address, and the operator's secret."""

    addresses: dict[str, str]
    client_id: str
    client_secret: str
    # The web app, when the mesh runs the edge that serves it.
    web_url: str | None = None
    # The mesh's CA under `betmesh up --tls`.
    ca_file: str | None = None
    # The chain the oracle publishes on, to read the gas its transactions used.
    chain_rpc_url: str | None = None
    # The feeds' speed the bets service's live-bet delays are divided by (the mesh's).
    feed_speed: float = 1.0

    @classmethod
    def from_mesh(cls, mesh: MeshLike) -> Target:
        return cls(
            dict(mesh.addresses),
            mesh.demo_client_id,
            mesh.demo_secret,
            mesh.edge_url or None,
            feed_speed=mesh.feed_speed,
        )

    def address(self, name: str) -> str | None:
        return self.addresses.get(name)


def attach(state_dir: Path) -> Target:
    """The mesh `betmesh up` is running from state_dir (it wrote mesh.json and the secret)."""
    record = json.loads((state_dir / MESH_FILE).read_text())
    secret = (state_dir / SECRET_FILE).read_text().strip()
    addresses = {name: entry["address"] for name, entry in record["services"].items()}
    edge_url = record.get("edge_url") or None
    return Target(
        addresses,
        record.get("demo_client_id", DEMO_CLIENT_ID),
        secret,
        edge_url if isinstance(edge_url, str) else None,
        record.get("tls_ca_file") or None,
        feed_speed=float(record.get("feed_speed") or 1.0),
    )


class NotBuilt(Exception):
    """The demo needs something the mesh does not have."""


@dataclass
class PlayerCredential:
    player_id: str
    token: str
    expires_at: float  # time.time()


@dataclass
class Clients:
    """One channel per service and the operator's tokens, renewed before they lapse."""

    target: Target
    channels: dict[str, grpc.Channel] = field(default_factory=dict)
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def channel(self, name: str) -> grpc.Channel:
        address = self.target.address(name)
        if address is None:
            raise NotBuilt(f"no {name} service in this mesh")
        with self._lock:
            if name not in self.channels:
                self.channels[name] = grpc_channel(address, self.target.ca_file)
            return self.channels[name]

    @property
    def has_identity(self) -> bool:
        return self.target.address("identity") is not None

    def issue(self, audience: str) -> identity_service_pb2.IssueTokenResponse:
        stub = identity_service_pb2_grpc.IdentityServiceStub(self.channel("identity"))
        response: identity_service_pb2.IssueTokenResponse = stub.IssueToken(
            identity_service_pb2.IssueTokenRequest(
                client_id=self.target.client_id,
                client_secret=self.target.client_secret,
                audience=audience,
            ),
            timeout=RPC_TIMEOUT,
        )
        with self._lock:
            self._tokens[audience] = (
                response.access_token.token,
                response.access_token.expires_at.ToSeconds() - TOKEN_MARGIN_SECONDS,
            )
        return response

    def operator(self, audience: str) -> Metadata:
        """The operator's token for `audience` (a mesh without identity runs anonymous)."""
        if not self.has_identity:
            return []
        with self._lock:
            cached = self._tokens.get(audience)
        if cached is None or cached[1] <= time.time():
            self.issue(audience)
            with self._lock:
                cached = self._tokens[audience]
        return [("authorization", f"Bearer {cached[0]}")]

    def player(self, credential: PlayerCredential | None) -> Metadata:
        """The player's own token while it is good; after that (a slow demo outlives it and
        players have no way to renew one without a browser) the operator acts for them."""
        if credential is not None and credential.token and credential.expires_at > time.time():
            return [("authorization", f"Bearer {credential.token}")]
        return self.operator("betmesh.bets")

    def close(self) -> None:
        with self._lock:
            for channel in self.channels.values():
                channel.close()
            self.channels.clear()


def reason(exc: BaseException) -> str:
    """The ErrorInfo reason of a failed call, or its status code name."""
    if not isinstance(exc, grpc.Call):
        return type(exc).__name__
    try:
        status = rpc_status.from_call(exc)
    except Exception:
        status = None
    info = error_info(status) if status is not None else None
    if info is not None:
        return str(info.reason)
    code = exc.code()
    return str(code.name) if code is not None else "ERROR"


def status_code(exc: BaseException) -> grpc.StatusCode | None:
    return exc.code() if isinstance(exc, grpc.Call) else None

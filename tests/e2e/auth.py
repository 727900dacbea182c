"""Calling a mesh that enforces tokens (the launcher's default): the demo operator's tokens,
issued by the mesh's identity service, attached per called service."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc

from service_runtime.client_tokens import audience_for_method

SECRET_FILE = "demo-operator.secret"


class Operator:
    """The demo operator (its secret is in the state dir, 0600): one token per audience."""

    def __init__(self, identity_address: str, client_id: str, secret: str) -> None:
        self.identity_address = identity_address
        self.client_id = client_id
        self._secret = secret
        self._tokens: dict[str, str] = {}

    @classmethod
    def of(cls, state_dir: Path, addresses: dict[str, str], client_id: str) -> Operator:
        secret = (state_dir / SECRET_FILE).read_text().strip()
        return cls(addresses["identity"], client_id, secret)

    def token(self, audience: str) -> str:
        if audience not in self._tokens:
            with grpc.insecure_channel(self.identity_address) as channel:
                issued = identity_service_pb2_grpc.IdentityServiceStub(channel).IssueToken(
                    identity_service_pb2.IssueTokenRequest(
                        client_id=self.client_id, client_secret=self._secret, audience=audience
                    ),
                    timeout=10,
                )
            self._tokens[audience] = issued.access_token.token
        return self._tokens[audience]

    def metadata(self, audience: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.token(audience)}")]

    def channel(self, address: str) -> grpc.Channel:
        """A channel whose every betmesh call carries the operator's token for its service."""
        return grpc.intercept_channel(grpc.insecure_channel(address), _Bearer(self.token))


class _Details(
    collections.namedtuple(
        "_Details",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,  # type: ignore[misc]
):
    pass


class _Bearer(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
):
    def __init__(self, token: Callable[[str], str]) -> None:
        self._token = token

    def _details(self, details: Any) -> Any:
        audience = audience_for_method(details.method)
        if audience is None:
            return details
        metadata = [*(details.metadata or ()), ("authorization", f"Bearer {self._token(audience)}")]
        return _Details(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            details.wait_for_ready,
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(
        self, continuation: Any, details: Any, request: Any
    ) -> Iterator[Any]:
        return continuation(self._details(details), request)  # type: ignore[no-any-return]

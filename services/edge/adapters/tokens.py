"""Token checks at the edge: refuse a call early, before it costs an upstream round trip.

The same verifier every service runs (service_runtime.tokens), one per audience, because a
browser's call is for one service and its token must have been issued for that service. The
services check again; the edge check is an economy, not the security boundary.
"""

from __future__ import annotations

from collections.abc import Mapping

from service_runtime.tokens import JwksFetcher, TokenAuthenticator, grpc_jwks_fetcher
from services.edge.domain.methods import ExposedMethod


class EdgeAuthenticator:
    def __init__(self, issuer: str, fetch_jwks: JwksFetcher) -> None:
        self.issuer = issuer
        self._fetch = fetch_jwks
        self._by_audience: dict[str, TokenAuthenticator] = {}

    @classmethod
    def for_identity(cls, identity_address: str, issuer: str) -> EdgeAuthenticator:
        return cls(issuer, grpc_jwks_fetcher(identity_address))

    async def check(self, method: ExposedMethod, headers: Mapping[str, str]) -> None:
        """Raises Unauthenticated or PermissionDenied (with a reason); returns when admitted."""
        if method.open:
            return
        authenticator = self._by_audience.get(method.audience)
        if authenticator is None:
            authenticator = TokenAuthenticator(
                audience=method.audience,
                issuer=self.issuer,
                fetch_jwks=self._fetch,
            )
            self._by_audience[method.audience] = authenticator
        await authenticator.authenticate(
            method.path, {"authorization": headers.get("authorization", "")}
        )

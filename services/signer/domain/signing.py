"""The signer's one operation: check the caller and the reports, hash, sign with its key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from service_runtime.auth import Principal
from services.oracle.domain.reports import Domain
from services.signer.domain.callers import authorize
from services.signer.domain.reports import DigestKind, ReportFields, checked_digest


class SigningKey(Protocol):
    """One secp256k1 key that signs 32-byte digests; it never hands out the key itself."""

    @property
    def address(self) -> str: ...

    @property
    def source(self) -> str: ...

    def sign_digest(self, digest: bytes) -> bytes:
        """65 bytes r || s || v with s in the low half and v in {27, 28}."""
        ...


@dataclass(frozen=True)
class Signed:
    address: str
    signature: bytes
    digest: bytes


class ReportSigning:
    def __init__(
        self,
        key: SigningKey,
        domain: Domain,
        allowed_clients: Collection[str],
        allow_anonymous: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = key
        self.domain = domain
        self.allowed_clients = frozenset(allowed_clients)
        self.allow_anonymous = allow_anonymous
        self.clock = clock

    async def sign(
        self,
        principal: Principal | None,
        kind: DigestKind | None,
        reports: Sequence[ReportFields],
    ) -> Signed:
        authorize(principal, self.allowed_clients, self.allow_anonymous)
        digest = checked_digest(self.domain, kind, reports, self.clock())
        # A KMS key signs over the network: off the event loop.
        signature = await asyncio.to_thread(self.key.sign_digest, digest)
        return Signed(self.key.address, signature, digest)

    def describe(self, principal: Principal | None) -> tuple[str, Domain, str]:
        authorize(principal, self.allowed_clients, self.allow_anonymous)
        return self.key.address, self.domain, self.key.source

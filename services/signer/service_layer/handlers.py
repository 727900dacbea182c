"""The signer's use cases: one handler per command (commands.py). The servicer calls these,
never the adapters. A handler asks the domain whether the caller may ask (domain/callers.py)
and what the reports' digest is (domain/reports.py), then has the key sign it (the `SigningKey`
port); it holds no rule of its own. The signer has no background work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from services.oracle.domain.reports import Domain
from services.signer.domain.callers import authorize
from services.signer.domain.ports import SigningKey
from services.signer.domain.reports import checked_digest
from services.signer.service_layer.commands import GetSigner, SignReports


@dataclass(frozen=True)
class Signed:
    address: str
    signature: bytes
    digest: bytes


@dataclass(frozen=True)
class SignerIdentity:
    address: str
    domain: Domain
    # "file" or "kms": where the key lives.
    key_source: str


@dataclass
class SignerHandlers:
    key: SigningKey
    # The one EIP-712 domain (chain id, contract) this signer signs for.
    domain: Domain
    allowed_clients: Collection[str]
    # Only a local mesh run with --auth anonymous (the settings refuse it in production).
    allow_anonymous: bool = False
    clock: Callable[[], float] = field(default=time.time)

    def __post_init__(self) -> None:
        self.allowed_clients = frozenset(self.allowed_clients)

    async def sign_reports(self, command: SignReports) -> Signed:
        # The caller first: a stranger learns nothing about what the checks would say.
        authorize(command.caller, self.allowed_clients, self.allow_anonymous)
        digest = checked_digest(self.domain, command.kind, command.reports, self.clock())
        # A KMS key signs over the network: off the event loop.
        signature = await asyncio.to_thread(self.key.sign_digest, digest)
        return Signed(self.key.address, signature, digest)

    async def get_signer(self, command: GetSigner) -> SignerIdentity:
        authorize(command.caller, self.allowed_clients, self.allow_anonymous)
        return SignerIdentity(self.key.address, self.domain, self.key.source)

"""Wires one signer: settings -> its key (file or KMS) -> handlers -> servicer -> host."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from betmesh.signer.v1 import signer_service_pb2, signer_service_pb2_grpc

from service_runtime.auth import AnonymousAuthenticator, Authenticator
from service_runtime.server import Registration, ServiceHost
from service_runtime.tokens import token_authenticator
from services.oracle.domain.reports import Domain
from services.signer.adapters.file_key import FileKey
from services.signer.adapters.kms_key import KmsKey
from services.signer.domain.ports import SigningKey
from services.signer.service_layer.handlers import SignerHandlers
from services.signer.servicer import SignerServicer
from services.signer.settings import SignerSettings

SERVICE_NAME = signer_service_pb2.DESCRIPTOR.services_by_name["SignerService"].full_name
AUDIENCE = "betmesh.signer"
log = logging.getLogger(__name__)


def load_key(settings: SignerSettings) -> SigningKey:
    if settings.kms_key_id:
        return KmsKey.connect(
            settings.kms_key_id, settings.kms_region, settings.kms_endpoint_url or None
        )
    return FileKey.load(Path(settings.key_file))


def authenticator_for(settings: SignerSettings) -> Authenticator:
    """Tokens for audience betmesh.signer, role service (the contract's auth option); the domain
    then narrows the caller to the oracle's client id."""
    if settings.server.auth_mode != "tokens":
        return AnonymousAuthenticator()
    return token_authenticator(AUDIENCE, settings.server)


async def build(settings: SignerSettings, own_key: SigningKey | None = None) -> ServiceHost:
    key = own_key if own_key is not None else await asyncio.to_thread(load_key, settings)
    handlers = SignerHandlers(
        key,
        Domain(settings.chain_id, settings.contract_address),
        settings.allowed_clients,
        settings.allow_anonymous,
    )
    log.info(
        "signer ready",
        extra={"signer": key.address, "key_source": key.source, "chain_id": settings.chain_id},
    )
    servicer = SignerServicer(handlers)
    return ServiceHost(
        service=AUDIENCE,
        settings=settings.server,
        registrations=[
            Registration(
                SERVICE_NAME,
                lambda s: signer_service_pb2_grpc.add_SignerServiceServicer_to_server(servicer, s),
            )
        ],
        authenticator=authenticator_for(settings),
    )

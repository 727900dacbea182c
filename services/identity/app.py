"""Wires the identity service: settings -> clients and signing keys -> servicer -> host."""

from __future__ import annotations

from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc

from service_runtime.server import Registration, ServiceHost
from services.identity.adapters.keyfile import load_signing_key
from services.identity.domain.clients import ClientRegistry
from services.identity.domain.keys import KeyRing, SigningKey
from services.identity.domain.tokens import TokenIssuer
from services.identity.servicer import IdentityServicer
from services.identity.settings import IdentitySettings

SERVICE_NAME = identity_service_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name


def build(settings: IdentitySettings) -> ServiceHost:
    signing = (
        load_signing_key(settings.signing_key_file)
        if settings.signing_key_file is not None
        else SigningKey.generate()
    )
    keys = KeyRing(signing)
    issuer = TokenIssuer(
        ClientRegistry(settings.clients), keys, settings.issuer, settings.token_ttl_seconds
    )
    servicer = IdentityServicer(issuer, keys)
    return ServiceHost(
        service="betmesh.identity",
        settings=settings.server,
        registrations=[
            Registration(
                SERVICE_NAME,
                lambda s: identity_service_pb2_grpc.add_IdentityServiceServicer_to_server(
                    servicer, s
                ),
            )
        ],
    )

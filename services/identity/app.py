"""Wires the identity service: settings -> keys, clients, stores, FranceConnect -> service
layer -> servicer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc

from service_runtime import postgres
from service_runtime.auth import AnonymousAuthenticator, Authenticator
from service_runtime.background import Background, every
from service_runtime.events import EventPublisher
from service_runtime.redis_client import connect as redis_client_for
from service_runtime.server import Registration, ServiceHost
from service_runtime.tokens import TokenAuthenticator
from services.identity.adapters.announcer import EventAnnouncer
from services.identity.adapters.exclusion_file import EmptyExclusionRegister, FileExclusionRegister
from services.identity.adapters.keyfile import load_decryption_key, load_signing_key
from services.identity.adapters.oidc_http import HttpOidcTransport
from services.identity.adapters.postgres_store import SCHEMA, PostgresIdentityStore
from services.identity.adapters.redis_counter import RedisCounter
from services.identity.adapters.ubble import UbbleProvider
from services.identity.adapters.webhook_http import WebhookServer
from services.identity.domain.clients import ClientRegistry
from services.identity.domain.keys import KeyRing, SigningKey
from services.identity.domain.ports import ExclusionRegister
from services.identity.domain.throttle import Quota, Throttle
from services.identity.domain.tokens import TokenIssuer
from services.identity.service_layer.accounts import Accounts
from services.identity.service_layer.franceconnect import FranceConnect
from services.identity.service_layer.handlers import IdentityHandlers
from services.identity.service_layer.kyc import PaidKyc
from services.identity.service_layer.sweep import Sweeper
from services.identity.servicer import IdentityServicer
from services.identity.settings import IdentitySettings

SERVICE_NAME = identity_service_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name
MIGRATIONS = Path(__file__).parent / "migrations"
Hook = Callable[[], Awaitable[None]]


def _authenticator(settings: IdentitySettings, keys: KeyRing) -> Authenticator:
    if settings.server.auth_mode != "tokens":
        return AnonymousAuthenticator()

    async def own_keys() -> list[dict[str, str]]:
        return keys.public_jwks()

    # Our own key ring: no network round trip to ourselves.
    return TokenAuthenticator(
        audience="betmesh.identity",
        issuer=settings.issuer,
        fetch_jwks=own_keys,
        min_refresh_seconds=0,
    )


@dataclass
class IdentityProcess:
    host: ServiceHost
    # The KYC providers' HTTP endpoint, when a paid provider is configured.
    webhooks: WebhookServer | None


def build(settings: IdentitySettings) -> ServiceHost:
    return assemble(settings).host


def assemble(settings: IdentitySettings) -> IdentityProcess:
    signing = (
        load_signing_key(settings.signing_key_file)
        if settings.signing_key_file is not None
        else SigningKey.generate()
    )
    keys = KeyRing(signing)
    if settings.next_signing_key_file is not None:
        # Verifiers learn the next key from GetJwks before any token is signed with it.
        keys.publish(load_signing_key(settings.next_signing_key_file))
    issuer = TokenIssuer(
        ClientRegistry(settings.clients), keys, settings.issuer, settings.token_ttl_seconds
    )
    on_start: list[Hook] = []
    on_stop: list[Hook] = []
    background: list[Background] = []
    franceconnect: FranceConnect | None = None
    accounts: Accounts | None = None
    kyc: PaidKyc | None = None
    webhooks: WebhookServer | None = None
    throttle: Throttle | None = None
    if settings.database_url is not None and settings.redis_url is not None:
        database_url = settings.database_url
        engine = postgres.create_engine(
            database_url,
            pool_size=5,
            answer_seconds=settings.server.database_answer_seconds,
            idle_in_transaction_seconds=settings.server.database_idle_in_transaction_seconds,
        )
        store = PostgresIdentityStore(engine)
        redis_client = redis_client_for(settings.redis_url, settings.server.redis_answer_seconds)
        announcer = EventAnnouncer(EventPublisher(redis_client, "betmesh.identity"))
        throttle = Throttle(RedisCounter(redis_client))
        accounts = Accounts(store, announcer)
        register: ExclusionRegister = (
            FileExclusionRegister(settings.exclusion_file)
            if settings.exclusion_file is not None
            else EmptyExclusionRegister()
        )

        async def migrate() -> None:
            # Before the port opens: no call may reach a schema older than the code.
            await asyncio.to_thread(postgres.migrate, database_url, MIGRATIONS, SCHEMA)

        async def close() -> None:
            await redis_client.aclose()
            await asyncio.to_thread(engine.dispose)

        on_start.append(migrate)
        on_stop.append(close)
        if settings.sweep_interval_seconds > 0:
            sweeper = Sweeper(store, register, announcer, accounts.clock)
            # Stopped by the host before the on_stop hooks close the database and Redis.
            background.append(
                every("identity sweep", settings.sweep_interval_seconds, sweeper.step)
            )
        if settings.franceconnect is not None:
            config = settings.franceconnect
            if settings.franceconnect_decryption_key_file is not None:
                key = load_decryption_key(settings.franceconnect_decryption_key_file)
                config = replace(config, decryption_key=key)
            transport = HttpOidcTransport()
            franceconnect = FranceConnect(config, transport, store, store, register, announcer)
            on_stop.append(transport.close)
        if settings.ubble is not None:
            ubble = UbbleProvider(
                settings.ubble.api_url,
                settings.ubble.client_id,
                settings.ubble.client_secret,
                settings.ubble.webhook_secret,
                settings.ubble.redirect_url,
            )
            kyc = PaidKyc({ubble.name: ubble}, ubble.name, store, register, announcer)
            webhooks = WebhookServer(kyc, settings.server.host, settings.webhook_port)
            # Started after the migration hook, stopped before the database goes.
            on_start.append(webhooks.start_hook)
            on_stop.insert(0, webhooks.stop)
            on_stop.append(ubble.close)
        else:
            # Provisional accounts (RegisterPlayer) need only the database; the KYC RPCs answer
            # KYC_NOT_CONFIGURED until a provider is configured.
            kyc = PaidKyc({}, "", store, register, announcer)
    handlers = IdentityHandlers(
        issuer,
        keys,
        franceconnect=franceconnect,
        accounts=accounts,
        kyc=kyc,
        player_audiences=settings.player_audiences,
        throttle=throttle,
        signin_quota=Quota("signin", settings.signin_starts_per_minute, 60),
        register_quota=Quota("register", settings.registrations_per_hour, 3600),
    )
    servicer = IdentityServicer(handlers)
    host = ServiceHost(
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
        authenticator=_authenticator(settings, keys),
        on_start=on_start,
        on_stop=on_stop,
        background=background,
    )
    return IdentityProcess(host, webhooks)

"""Typed settings from environment variables, read once at start-up, failing fast.

Each service declares one frozen dataclass with a `from_env` classmethod built on `Env`; the
server part is shared (`ServerSettings`). Missing or malformed values raise `SettingsError`
naming every offending variable at once, so a misconfigured pod dies with one clear message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service_runtime.env import Env, SettingsError
from service_runtime.event_loop import DEFAULT_EVENT_LOOP, read_event_loop
from service_runtime.shedding import SheddingSettings
from service_runtime.tls import TlsSettings

# Env and SettingsError live in env.py (which tls.py and shedding.py read settings with, so
# none of them imports this module); services keep importing them from here.
__all__ = ["ClientSettings", "Env", "ServerSettings", "SettingsError"]


@dataclass(frozen=True)
class ServerSettings:
    """What every gRPC server process needs."""

    host: str
    port: int
    grace_seconds: float
    reflection: bool
    max_concurrent_streams: int
    log_level: str
    environment: str
    # "tokens" (the default): every RPC its contract does not declare allow_anonymous needs an
    # identity-issued bearer token (service_runtime.tokens); "anonymous", only when asked for
    # explicitly, admits every caller as unknown (and domain code refuses unknown callers).
    auth_mode: str = "tokens"
    identity_address: str = ""
    identity_issuer: str = "betmesh-identity"
    # Clients are asked (GOAWAY) to open a new connection after this long, so that behind a
    # Kubernetes Service their calls spread over pods started since; calls and streams already
    # open finish on the old connection. 0: never.
    max_connection_age_seconds: float = 300.0
    # Per-method limits on calls in flight (service_runtime.shedding).
    shedding: SheddingSettings = field(default_factory=SheddingSettings)
    # Prometheus text on http://<metrics_host>:<metrics_port>/metrics; -1: no endpoint (metrics
    # still go out by OTLP when an endpoint is configured), 0: any free port (logged).
    metrics_port: int = -1
    metrics_host: str = "127.0.0.1"
    # The largest request message a server decodes (grpc refuses a larger one with
    # RESOURCE_EXHAUSTED before any of our code runs). 4 MiB holds the largest request the
    # contracts' rules allow (a PriceFixtures batch of 1000 fixtures at their longest names is
    # about 1.5 MB; a KYC webhook at most 1 MiB of body plus 100 headers).
    max_receive_message_bytes: int = 4 * 1024 * 1024
    # TLS of the port, and of every channel the process opens (service_runtime.tls).
    tls: TlsSettings = field(default_factory=TlsSettings)
    # A second, plaintext port serving only grpc.health.v1 (-1: none): Kubernetes' native gRPC
    # probes cannot speak TLS, and health answers carry nothing a caller could use.
    health_port: int = -1
    # How long a PostgreSQL connection waits for the database at one step (connect, statement,
    # commit) before it is closed and the call answered UNAVAILABLE (service_runtime/postgres.py):
    # a database that stops answering without closing its sockets must not hold the process's
    # workers for ever. Processes without a database ignore it.
    database_answer_seconds: float = 20.0
    # How long a session of ours may sit idle inside an open transaction before PostgreSQL ends
    # it and frees its locks (service_runtime/postgres.py): a process frozen mid-transaction
    # must not hold a player's row or a fixture's lock for ever. Below the answer bound, so a
    # waiter gets the lock before it gives up. Processes without a database ignore it.
    database_idle_in_transaction_seconds: float = 15.0
    # How long a Redis connection waits for Redis (to connect, for each answer) before it is
    # dropped and the call answered UNAVAILABLE (service_runtime/redis_client.py); a blocking
    # read must block for less. Processes without Redis ignore it.
    redis_answer_seconds: float = 10.0
    # uvloop or asyncio (service_runtime.event_loop).
    event_loop: str = DEFAULT_EVENT_LOOP

    @classmethod
    def read(cls, env: Env) -> ServerSettings:
        environment = env.str("ENVIRONMENT", "development")
        auth_mode = env.str("AUTH_MODE", "tokens")
        if auth_mode not in ("anonymous", "tokens"):
            env.problems.append(f"BETMESH_AUTH_MODE={auth_mode!r} must be anonymous or tokens")
        answer = env.float("DATABASE_ANSWER_SECONDS", 20.0)
        if answer <= 0:
            env.problems.append("BETMESH_DATABASE_ANSWER_SECONDS must be positive")
        idle_in_transaction = env.float("DATABASE_IDLE_IN_TRANSACTION_SECONDS", 15.0)
        if idle_in_transaction <= 0:
            env.problems.append("BETMESH_DATABASE_IDLE_IN_TRANSACTION_SECONDS must be positive")
        redis_answer = env.float("REDIS_ANSWER_SECONDS", 10.0)
        if redis_answer <= 0:
            env.problems.append("BETMESH_REDIS_ANSWER_SECONDS must be positive")
        return cls(
            host=env.str("HOST", "127.0.0.1"),
            port=env.int("PORT", 0),
            grace_seconds=env.float("GRACE_SECONDS", 10.0),
            # Reflection lets grpcurl and buf curl explore the API; off in production.
            reflection=env.bool("REFLECTION", environment != "production"),
            # HTTP/2 streams per connection: above a method's in-flight limit (the shedding's
            # 512), so that a burst on one connection reaches the limit and is refused
            # RESOURCE_EXHAUSTED with a retry hint, not queued by the client or refused by
            # HTTP/2 (UNAVAILABLE without a reason) before any of our code can shed it.
            max_concurrent_streams=env.int("MAX_CONCURRENT_STREAMS", 1024),
            log_level=env.str("LOG_LEVEL", "INFO"),
            environment=environment,
            auth_mode=auth_mode,
            identity_address=env.str("IDENTITY_ADDRESS", ""),
            identity_issuer=env.str("IDENTITY_ISSUER", "betmesh-identity"),
            max_connection_age_seconds=env.float("MAX_CONNECTION_AGE_SECONDS", 300.0),
            shedding=SheddingSettings.read(env),
            metrics_port=env.int("METRICS_PORT", -1),
            # Scrapers reach pods on their own address: the pod binds every interface.
            metrics_host=env.str("METRICS_HOST", env.str("HOST", "127.0.0.1")),
            max_receive_message_bytes=env.int("MAX_RECEIVE_MESSAGE_BYTES", 4 * 1024 * 1024),
            tls=TlsSettings.read(env),
            health_port=env.int("HEALTH_PORT", -1),
            database_answer_seconds=answer,
            database_idle_in_transaction_seconds=idle_in_transaction,
            redis_answer_seconds=redis_answer,
            event_loop=read_event_loop(env),
        )


@dataclass(frozen=True)
class ClientSettings:
    """How a process authenticates its own outgoing calls (service_runtime.client_tokens)."""

    auth_mode: str
    identity_address: str
    # The process's client-credential client; its secret is read from a 0600 file, never
    # from the environment.
    client_id: str
    client_secret_file: str

    @classmethod
    def read(cls, env: Env) -> ClientSettings:
        return cls(
            auth_mode=env.str("AUTH_MODE", "tokens"),
            identity_address=env.str("IDENTITY_ADDRESS", ""),
            client_id=env.str("CLIENT_ID", ""),
            client_secret_file=env.str("CLIENT_SECRET_FILE", ""),
        )

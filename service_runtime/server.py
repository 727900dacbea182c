"""gRPC aio server bootstrap shared by every service.

A `ServiceHost` owns one grpc.aio server with: the standard health service (SERVING for "" and
each hosted service), reflection outside production, keepalive settings that match our
clients', and every service method wrapped with its span, authentication and error mapping
(service_runtime.handlers). `run_service` is the process entry point:
it starts the host and shuts down gracefully on SIGTERM/SIGINT: health goes NOT_SERVING, the
server drains for the grace period, the declared background tasks stop (within a bound,
service_runtime.background), the on_stop hooks run, spans are flushed.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from service_runtime.auth import AnonymousAuthenticator, Authenticator
from service_runtime.background import Background, BackgroundTasks
from service_runtime.env import SettingsError, exit_bad_configuration
from service_runtime.event_loop import run
from service_runtime.handlers import WrappingServer
from service_runtime.jsonlog import configure_logging
from service_runtime.metrics import serve_prometheus
from service_runtime.settings import ServerSettings
from service_runtime.telemetry import (
    configure_metrics,
    configure_tracing,
    shutdown_tracing,
)
from service_runtime.tls import server_credentials
from service_runtime.tokens import token_authenticator

log = logging.getLogger(__name__)

# Clients ping every 30 s (see channels.py); allow that and idle pings, or they get GOAWAY.
KEEPALIVE_OPTIONS: list[tuple[str, int]] = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    # Lenient enough for the keepalive partners configure (grpc-go and grpc-java clamp theirs
    # to 10 s at least; grpc-js takes any): a ping every 5 s on a quiet connection is no strike.
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]


@dataclass
class Registration:
    """One gRPC service to host: its full name and how to add it to a server."""

    name: str
    add: Callable[[grpc.aio.Server], None]


Hook = Callable[[], Awaitable[None]]
# How long stopping waits for cancelled background tasks before it reports and leaves them.
BACKGROUND_STOP_SECONDS = 5.0
# The exit status of a process that had to leave a background task behind (a bug to fix).
EXIT_TASKS_STUCK = 70


@dataclass
class ServiceHost:
    service: str  # e.g. "betmesh.quotes"
    settings: ServerSettings
    registrations: Sequence[Registration]
    authenticator: Authenticator = field(default_factory=AnonymousAuthenticator)
    on_start: Sequence[Hook] = ()
    on_stop: Sequence[Hook] = ()
    # Started once the port is open, stopped before the on_stop hooks (service_runtime.background).
    background: Sequence[Background] = ()
    background_stop_seconds: float = BACKGROUND_STOP_SECONDS
    port: int = 0
    metrics_port: int = -1
    health_port: int = -1
    _health_server: grpc.aio.Server | None = None
    _server: grpc.aio.Server | None = None
    _health: health.aio.HealthServicer | None = None
    _background: BackgroundTasks | None = None
    # Background tasks that did not stop in time: the process cannot end cleanly with them.
    stuck_tasks: list[str] = field(default_factory=list)

    async def start(self) -> int:
        configure_tracing(self.service)
        configure_metrics(self.service, prometheus=self.settings.metrics_port >= 0)
        if self.settings.metrics_port >= 0:
            self.metrics_port = serve_prometheus(
                self.settings.metrics_host, self.settings.metrics_port
            )
        options = [
            *KEEPALIVE_OPTIONS,
            ("grpc.max_concurrent_streams", self.settings.max_concurrent_streams),
            # A port already taken must fail loudly, not be shared with a stale process.
            ("grpc.so_reuseport", 0),
            # Set deliberately, not left to grpc's default (ServerSettings says why this size).
            ("grpc.max_receive_message_length", self.settings.max_receive_message_bytes),
        ]
        if self.settings.max_connection_age_seconds > 0:
            # No grace option: the default lets open streams (partners' odds feeds) run on.
            options.append(
                ("grpc.max_connection_age_ms", int(self.settings.max_connection_age_seconds * 1000))
            )
        authenticator = self.authenticator
        # Services that pass no authenticator of their own get the shared token check.
        anonymous = isinstance(authenticator, AnonymousAuthenticator)
        if self.settings.auth_mode == "tokens" and anonymous:
            authenticator = token_authenticator(self.service, self.settings)
        # No interceptors: each service's handlers are wrapped once, as they are registered.
        server = grpc.aio.server(options=options)
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        tls = self.settings.tls
        wrapping = WrappingServer(
            server, authenticator, self.settings.shedding, tls if tls.mutual else None
        )
        for registration in self.registrations:
            registration.add(wrapping)  # type: ignore[arg-type]
        if self.settings.reflection:
            names = [r.name for r in self.registrations]
            reflection.enable_server_reflection(
                [
                    *names,
                    health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                    reflection.SERVICE_NAME,
                ],
                server,
            )
        address = f"{self.settings.host}:{self.settings.port}"
        if tls.serving:
            self.port = server.add_secure_port(address, server_credentials(tls))
        else:
            self.port = server.add_insecure_port(address)
        if self.port == 0:
            raise RuntimeError(f"cannot bind {self.settings.host}:{self.settings.port}")
        for hook in self.on_start:
            await hook()
        await server.start()
        if self.settings.health_port >= 0:
            self._health_server = grpc.aio.server()
            health_pb2_grpc.add_HealthServicer_to_server(health_servicer, self._health_server)
            self.health_port = self._health_server.add_insecure_port(
                f"{self.settings.host}:{self.settings.health_port}"
            )
            await self._health_server.start()
        for name in ["", *(r.name for r in self.registrations)]:
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._server, self._health = server, health_servicer
        self._background = BackgroundTasks(self.background)
        self._background.start()
        log.info(
            "serving", extra={"port": self.port, "services": [r.name for r in self.registrations]}
        )
        return self.port

    async def stop(self, grace: float | None = None) -> None:
        if self._server is None:
            return
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        await self._server.stop(self.settings.grace_seconds if grace is None else grace)
        if self._health_server is not None:
            await self._health_server.stop(0)
            self._health_server = None
        if self._background is not None:
            # Before the hooks close the pools and clients the tasks use.
            self.stuck_tasks = await self._background.stop(self.background_stop_seconds)
            self._background = None
        for hook in self.on_stop:
            try:
                await hook()
            except Exception:
                log.exception("shutdown hook failed")
        self._server = None

    async def wait(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()


async def serve_until_signalled(host: ServiceHost) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await host.start()
    metrics = f" metrics_port={host.metrics_port}" if host.metrics_port >= 0 else ""
    print(f"READY {host.service} port={host.port}{metrics}", flush=True)
    await stop.wait()
    log.info("shutting down", extra={"grace_seconds": host.settings.grace_seconds})
    await host.stop()


def run_service(
    service: str,
    build: Callable[[], ServiceHost | Awaitable[ServiceHost]],
    log_level: str,
    *,
    event_loop: str,
) -> None:
    """Process entry point: logs, build the host (adapters, domain, servicers) inside the event
    loop (`event_loop`: service_runtime.event_loop), serve until signalled."""
    configure_logging(service, log_level)

    async def main() -> None:
        host = build()
        if inspect.isawaitable(host):
            host = await host
        await serve_until_signalled(host)
        if host.stuck_tasks:
            # asyncio.run would cancel them once more and then wait for them without end.
            log.critical(
                "exiting with background tasks left running", extra={"tasks": host.stuck_tasks}
            )
            shutdown_tracing()
            logging.shutdown()
            os._exit(EXIT_TASKS_STUCK)

    try:
        run(main(), event_loop)
    except SettingsError as exc:  # found while building (a file a setting names, say)
        exit_bad_configuration(exc)
    finally:
        shutdown_tracing()


# grpcio ships no type information; servicers annotate their context parameter with this.
ServicerContext: TypeAlias = grpc.aio.ServicerContext

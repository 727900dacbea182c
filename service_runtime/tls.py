"""TLS on every gRPC port and every channel, optionally mutual, with certificates reloaded from
disk without a restart.

Server: with BETMESH_TLS_CERT_FILE and BETMESH_TLS_KEY_FILE the port is TLS only. The files
are read again when they change (checked at each new connection's handshake by gRPC's dynamic
credentials: a `stat`, nothing more), so cert-manager's renewals and a rotated CA apply to new
connections while open ones run on; the edge's HTTPS reloads the same way
(`server_ssl_context`). BETMESH_TLS_CLIENT_AUTH=require asks callers for a
certificate signed by BETMESH_TLS_CA_FILE (mutual TLS, between services); the caller's
certificate then names who it is, and the runtime checks it against the token's subject
(`check_peer`).

Client: with BETMESH_TLS_CA_FILE every channel is TLS and trusts that CA only (pinned: the
system's roots are not used); with BETMESH_TLS_CERT_FILE/KEY_FILE too, the process presents its
own certificate (mutual TLS). A server name override (BETMESH_TLS_SERVER_NAME) serves addresses
that are not in the certificate, such as 127.0.0.1 behind a port-forward.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import grpc

from service_runtime.env import Env
from service_runtime.errors import PermissionDenied, Unauthenticated

log = logging.getLogger(__name__)

CLIENT_AUTH_MODES = ("none", "require")
Config = TypeVar("Config")


@dataclass(frozen=True)
class TlsSettings:
    cert_file: str = ""
    key_file: str = ""
    # The CA that signs our certificates: what clients pin and mutual TLS verifies callers by.
    ca_file: str = ""
    # "require": callers must present a certificate signed by ca_file (mutual TLS).
    client_auth: str = "none"
    # The name clients expect in servers' certificates when the address does not carry it.
    server_name: str = ""
    # Under mutual TLS: the certificates that may carry other callers' tokens (players',
    # partners', operators'), i.e. our own proxies.
    proxy_names: frozenset[str] = frozenset({"svc-edge"})

    @property
    def serving(self) -> bool:
        return bool(self.cert_file)

    @property
    def mutual(self) -> bool:
        return self.client_auth == "require"

    @classmethod
    def read(cls, env: Env) -> TlsSettings:
        settings = cls(
            cert_file=env.str("TLS_CERT_FILE", ""),
            key_file=env.str("TLS_KEY_FILE", ""),
            ca_file=env.str("TLS_CA_FILE", ""),
            client_auth=env.str("TLS_CLIENT_AUTH", "none"),
            server_name=env.str("TLS_SERVER_NAME", ""),
            proxy_names=frozenset(env.list("TLS_PROXY_NAMES", ["svc-edge"])),
        )
        if bool(settings.cert_file) != bool(settings.key_file):
            env.problems.append("BETMESH_TLS_CERT_FILE and BETMESH_TLS_KEY_FILE go together")
        if settings.client_auth not in CLIENT_AUTH_MODES:
            env.problems.append(f"BETMESH_TLS_CLIENT_AUTH must be one of {CLIENT_AUTH_MODES}")
        if settings.mutual and not (settings.ca_file and settings.cert_file):
            env.problems.append("BETMESH_TLS_CLIENT_AUTH=require needs the CA and a certificate")
        for name in ("cert_file", "key_file", "ca_file"):
            path = getattr(settings, name)
            if path and not Path(path).is_file():
                env.problems.append(f"BETMESH_TLS_{name.upper()}: no file at {path}")
        return settings


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


class _Reloading(Generic[Config]):
    """A server's certificate configuration, built again from the files when one's mtime
    changes: gRPC's (`server_credentials`) and the edge's HTTPS (`server_ssl_context`)."""

    def __init__(self, settings: TlsSettings, build: Callable[[TlsSettings], Config]) -> None:
        self.settings = settings
        self._build = build
        self._lock = threading.Lock()
        self._stamp = self._mtimes()
        self.initial = build(settings)

    def _mtimes(self) -> tuple[float, ...]:
        paths = [self.settings.cert_file, self.settings.key_file, self.settings.ca_file]
        return tuple(os.stat(p).st_mtime_ns if p else 0 for p in paths)

    def fetch(self) -> Config | None:
        """The configuration built from the files if they changed since the last; else None.
        Called at each new handshake (gRPC: on its own threads), so it costs a `stat` a file."""
        try:
            with self._lock:
                stamp = self._mtimes()
                if stamp == self._stamp:
                    return None
                configuration = self._build(self.settings)
                self._stamp = stamp
        except (OSError, ValueError):
            # A renewal half written (ssl.SSLError is an OSError): keep serving what we have.
            log.warning("TLS files unreadable; keeping the current certificate", exc_info=True)
            return None
        log.info("TLS certificate reloaded", extra={"cert_file": self.settings.cert_file})
        return configuration


def _grpc_configuration(settings: TlsSettings) -> grpc.ServerCertificateConfiguration:
    return grpc.ssl_server_certificate_configuration(
        [(_read(settings.key_file), _read(settings.cert_file))],
        root_certificates=_read(settings.ca_file) if settings.ca_file else None,
    )


def server_credentials(settings: TlsSettings) -> grpc.ServerCredentials:
    reloading = _Reloading(settings, _grpc_configuration)
    return grpc.dynamic_ssl_server_credentials(
        reloading.initial, reloading.fetch, require_client_authentication=settings.mutual
    )


def _https_context(settings: TlsSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.cert_file, settings.key_file)
    return context


def server_ssl_context(settings: TlsSettings) -> ssl.SSLContext:
    """An HTTPS server context (the edge's, for browsers: no client certificate asked) whose
    certificate is read again when its files change, as gRPC ports do: at each handshake the
    SNI callback (OpenSSL calls it for every ClientHello, with or without a server name) moves
    the connection to the context built from the newest files. Open connections run on."""
    reloading = _Reloading(settings, _https_context)
    listening = reloading.initial
    current = listening

    def newest(connection: ssl.SSLObject | ssl.SSLSocket, _name: str | None, _: object) -> None:
        nonlocal current
        current = reloading.fetch() or current
        if current is not listening:
            connection.context = current

    listening.sni_callback = newest
    return listening


_client: TlsSettings | None = None


def client_settings() -> TlsSettings:
    """This process's TLS settings for its channels (read once from the environment)."""
    global _client  # noqa: PLW0603 - one per process, like the channels themselves
    if _client is None:
        env = Env()
        _client = TlsSettings.read(env)
        env.check()
    return _client


def channel_credentials(settings: TlsSettings) -> grpc.ChannelCredentials:
    own = (
        (_read(settings.key_file), _read(settings.cert_file))
        if settings.cert_file and settings.mutual
        else (None, None)
    )
    return grpc.ssl_channel_credentials(
        root_certificates=_read(settings.ca_file),
        private_key=own[0],
        certificate_chain=own[1],
    )


def channel_options(settings: TlsSettings) -> list[tuple[str, object]]:
    if settings.server_name:
        return [("grpc.ssl_target_name_override", settings.server_name)]
    return []


def secure_channel(
    target: str,
    options: list[tuple[str, object]],
    interceptors: object = None,
    settings: TlsSettings | None = None,
) -> grpc.aio.Channel:
    """A channel as the process's settings say: TLS pinned to the CA when one is configured."""
    settings = client_settings() if settings is None else settings
    kwargs = {"interceptors": interceptors} if interceptors is not None else {}
    if not settings.ca_file:
        return grpc.aio.insecure_channel(target, options=options, **kwargs)
    return grpc.aio.secure_channel(
        target,
        channel_credentials(settings),
        options=[*options, *channel_options(settings)],
        **kwargs,
    )


def peer_names(context: grpc.aio.ServicerContext) -> set[str]:  # type: ignore[type-arg]
    """The names the caller's verified certificate carries (common name and DNS names)."""
    auth = context.auth_context() or {}
    names: set[str] = set()
    for key in ("x509_common_name", "x509_subject_alternative_name"):
        names.update(v.decode() for v in auth.get(key, ()))
    return names


def check_peer(names: set[str], subject: str, role: str, proxies: frozenset[str]) -> None:
    """Under mutual TLS a service's token must come from that service's certificate: a token
    stolen from one service is useless from another host. Anyone else's token (a player's, a
    partner's, an operator's) reaches a mutual-TLS port only through a proxy of ours (the edge),
    whose certificate is then the caller's, or with a certificate of its own subject.
    """
    if not names:
        raise Unauthenticated("CLIENT_CERTIFICATE_REQUIRED", "a client certificate is required")
    if subject in names:
        return
    if role == "service":
        raise PermissionDenied(
            "CERTIFICATE_SUBJECT_MISMATCH", "the client certificate does not match the token"
        )
    if not names & proxies:
        raise PermissionDenied(
            "CERTIFICATE_NOT_A_PROXY", "this certificate may not carry other callers' tokens"
        )

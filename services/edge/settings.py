from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from service_runtime.event_loop import DEFAULT_EVENT_LOOP, read_event_loop
from service_runtime.settings import Env
from service_runtime.tls import TlsSettings
from services.edge.domain.client_address import Network, parse_networks
from services.edge.domain.methods import AREAS

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class EdgeSettings:
    host: str
    port: int
    # Area ("bets", "live", ...) -> host:port of each upstream process.
    upstreams: Mapping[str, tuple[str, ...]]
    # The origin browsers reach the edge at; None: http://<host>:<bound port>.
    public_url: str | None
    cors_origins: frozenset[str]
    web_root: Path
    max_request_bytes: int
    max_streams_per_client: int
    # Peers whose X-Forwarded-For is believed for the per-client limit (load balancers).
    trusted_proxies: tuple[Network, ...]
    # Unary calls without grpc-timeout get this deadline; a browser that never set one must not
    # hold an upstream call forever. Streams get none: they are meant to stay open.
    default_unary_deadline_seconds: float
    auth_mode: str
    identity_address: str
    identity_issuer: str
    log_level: str
    grace_seconds: float = 5.0
    # uvloop or asyncio (service_runtime.event_loop).
    event_loop: str = DEFAULT_EVENT_LOOP
    # The edge's own client credential (role public, audience betmesh.live): the token it
    # attaches to anonymous visitors' public calls. None of it: those calls are refused.
    client_id: str = ""
    client_secret_file: str = ""
    # A listening socket inherited from the launcher (it bound the port, so no race for it).
    listen_fd: int | None = None
    # HTTPS for browsers with BETMESH_TLS_CERT_FILE/KEY_FILE (the same files as a gRPC port's);
    # its upstream channels follow BETMESH_TLS_CA_FILE (service_runtime.tls).
    tls: TlsSettings = field(default_factory=TlsSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EdgeSettings:
        env = Env(dict(environ)) if environ is not None else Env()
        identity_address = env.str("IDENTITY_ADDRESS", "")
        upstreams = parse_upstreams(env, env.str("EDGE_UPSTREAMS", ""))
        # The identity address every process gets doubles as the identity upstream.
        if "identity" not in upstreams and identity_address:
            upstreams["identity"] = (identity_address,)
        gateway_address = env.str("GATEWAY_ADDRESS", "")
        if "gateway" not in upstreams and gateway_address:
            upstreams["gateway"] = (gateway_address,)
        public_url = env.str("EDGE_PUBLIC_URL", "") or None
        if public_url is not None:
            parts = urlsplit(public_url)
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or parts.path not in ("", "/")
            ):
                env.problems.append(
                    f"BETMESH_EDGE_PUBLIC_URL={public_url!r} must be an origin (scheme://host[:port])"
                )
            public_url = public_url.rstrip("/")
        origins = frozenset(o.rstrip("/") for o in env.list("EDGE_CORS_ORIGINS", []))
        for origin in origins:
            if origin != "*" and not urlsplit(origin).netloc:
                env.problems.append(f"BETMESH_EDGE_CORS_ORIGINS: {origin!r} is not an origin")
        if "*" in origins:
            env.problems.append("BETMESH_EDGE_CORS_ORIGINS: '*' is refused; list the origins")
        auth_mode = env.str("AUTH_MODE", "tokens")
        if auth_mode not in ("anonymous", "tokens"):
            env.problems.append(f"BETMESH_AUTH_MODE={auth_mode!r} must be anonymous or tokens")
        if auth_mode == "tokens" and not identity_address:
            env.problems.append("BETMESH_AUTH_MODE=tokens needs BETMESH_IDENTITY_ADDRESS")
        settings = cls(
            host=env.str("HOST", "127.0.0.1"),
            port=env.int("EDGE_PORT", env.int("PORT", 0)),
            upstreams=upstreams,
            public_url=public_url,
            cors_origins=origins,
            web_root=Path(env.str("EDGE_WEB_ROOT", str(ROOT / "web" / "dist"))),
            max_request_bytes=env.int("EDGE_MAX_REQUEST_BYTES", 64 * 1024),
            max_streams_per_client=env.int("EDGE_MAX_STREAMS_PER_CLIENT", 16),
            trusted_proxies=_networks(env, env.list("EDGE_TRUSTED_PROXIES", [])),
            default_unary_deadline_seconds=env.float("EDGE_UNARY_DEADLINE_SECONDS", 30.0),
            auth_mode=auth_mode,
            identity_address=identity_address,
            identity_issuer=env.str("IDENTITY_ISSUER", "betmesh-identity"),
            log_level=env.str("LOG_LEVEL", "INFO"),
            grace_seconds=env.float("GRACE_SECONDS", 5.0),
            event_loop=read_event_loop(env),
            listen_fd=env.int("EDGE_LISTEN_FD", None),
            tls=TlsSettings.read(env),
            client_id=env.str("CLIENT_ID", ""),
            client_secret_file=env.str("CLIENT_SECRET_FILE", ""),
        )
        if settings.max_request_bytes < 1024:
            env.problems.append("BETMESH_EDGE_MAX_REQUEST_BYTES must be at least 1024")
        if settings.max_streams_per_client < 1:
            env.problems.append("BETMESH_EDGE_MAX_STREAMS_PER_CLIENT must be at least 1")
        if settings.client_id and not settings.client_secret_file:
            env.problems.append("BETMESH_CLIENT_SECRET_FILE is required with BETMESH_CLIENT_ID")
        env.check()
        return settings


def _networks(env: Env, values: list[str]) -> tuple[Network, ...]:
    try:
        return parse_networks(values)
    except ValueError as exc:
        env.problems.append(f"BETMESH_EDGE_TRUSTED_PROXIES: {exc}")
        return ()


def parse_upstreams(env: Env, raw: str) -> dict[str, tuple[str, ...]]:
    """`bets=h:p;live=h:p,h:p` -> {"bets": ("h:p",), "live": ("h:p", "h:p")}."""
    found: dict[str, tuple[str, ...]] = {}
    for part in raw.split(";"):
        if not part.strip():
            continue
        area, sep, addresses = part.partition("=")
        area = area.strip()
        listed = tuple(a.strip() for a in addresses.split(",") if a.strip())
        if not sep or area not in AREAS or not listed:
            env.problems.append(
                f"BETMESH_EDGE_UPSTREAMS: {part!r} must be <area>=host:port[,host:port] with "
                f"area one of {', '.join(AREAS)}"
            )
            continue
        found[area] = listed
    return found

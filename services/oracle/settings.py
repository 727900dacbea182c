from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from service_runtime.settings import Env, ServerSettings


@dataclass(frozen=True)
class OracleSettings:
    server: ServerSettings
    database_url: str
    # None: results are validated and stored, their events wait in the outbox.
    redis_url: str | None
    required_sources: int
    # Ethereum JSON-RPC endpoints for publication (read now, used once chain work lands).
    rpc_urls: tuple[str, ...]
    event_relay_interval_seconds: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OracleSettings:
        env = Env(dict(environ)) if environ is not None else Env()
        required = env.int("ORACLE_REQUIRED_SOURCES", 2)
        if required < 1:
            env.problems.append(f"BETMESH_ORACLE_REQUIRED_SOURCES={required} must be at least 1")
        rpc_urls = tuple(env.list("ORACLE_RPC_URLS", []))
        for url in rpc_urls:
            parsed = urlparse(url)
            if parsed.scheme not in {"http", "https", "ws", "wss"} or not parsed.netloc:
                env.problems.append(f"BETMESH_ORACLE_RPC_URLS: {url!r} is not an http(s)/ws(s) URL")
        interval = env.float("ORACLE_EVENT_RELAY_INTERVAL_SECONDS", 5.0)
        if interval <= 0:
            env.problems.append("BETMESH_ORACLE_EVENT_RELAY_INTERVAL_SECONDS must be positive")
        settings = cls(
            server=ServerSettings.read(env),
            database_url=env.str("DATABASE_URL"),
            redis_url=env.str("REDIS_URL", "") or None,
            required_sources=required,
            rpc_urls=rpc_urls,
            event_relay_interval_seconds=interval,
        )
        env.check()
        return settings

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service_runtime.settings import Env, ServerSettings
from services.identity.domain.clients import Client, parse_clients

MAX_TOKEN_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class IdentitySettings:
    server: ServerSettings
    issuer: str
    token_ttl_seconds: int
    clients: tuple[Client, ...]
    # None: a fresh key at each start (tokens die with the process; fine for one instance).
    signing_key_file: Path | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IdentitySettings:
        env = Env(dict(environ)) if environ is not None else Env()
        ttl = env.int("IDENTITY_TOKEN_TTL_SECONDS", 300)
        if not 1 <= ttl <= MAX_TOKEN_TTL_SECONDS:
            env.problems.append(
                f"BETMESH_IDENTITY_TOKEN_TTL_SECONDS={ttl} must be 1..{MAX_TOKEN_TTL_SECONDS}"
            )
        clients: tuple[Client, ...] = ()
        try:
            clients = parse_clients(env.str("IDENTITY_CLIENTS", "[]"))
        except ValueError as exc:
            env.problems.append(f"BETMESH_IDENTITY_CLIENTS: {exc}")
        key_file = env.str("IDENTITY_SIGNING_KEY_FILE", "")
        if key_file and not Path(key_file).is_file():
            env.problems.append(f"BETMESH_IDENTITY_SIGNING_KEY_FILE={key_file!r} is not a file")
        settings = cls(
            server=ServerSettings.read(env),
            issuer=env.str("IDENTITY_ISSUER", "betmesh-identity"),
            token_ttl_seconds=ttl,
            clients=clients,
            signing_key_file=Path(key_file) if key_file else None,
        )
        env.check()
        return settings

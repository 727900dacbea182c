from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service_runtime.settings import Env, ServerSettings
from services.identity.domain.clients import Client, parse_clients
from services.identity.domain.franceconnect import FranceConnectConfig
from services.identity.domain.oidc import acr_rank

MAX_TOKEN_TTL_SECONDS = 24 * 3600
PLAYER_AUDIENCES = ("betmesh.bets", "betmesh.live", "betmesh.identity")


@dataclass(frozen=True)
class IdentitySettings:
    server: ServerSettings
    issuer: str
    token_ttl_seconds: int
    clients: tuple[Client, ...]
    # None: a fresh key at each start (tokens die with the process; fine for one instance).
    signing_key_file: Path | None
    # None: client-credential tokens only; players (FranceConnect, limits...) need the database.
    database_url: str | None = None
    redis_url: str | None = None
    # None: FranceConnect not configured (its RPCs answer FRANCECONNECT_NOT_CONFIGURED).
    franceconnect: FranceConnectConfig | None = None
    exclusion_file: Path | None = None
    # Identity itself: players read their account, set their limits, self-exclude.
    player_audiences: tuple[str, ...] = PLAYER_AUDIENCES
    # None: no paid provider (the KYC RPCs answer KYC_NOT_CONFIGURED; with the database,
    # RegisterPlayer still opens provisional accounts).
    ubble: UbbleSettings | None = None
    # Where providers' webhooks arrive (0: any free port, logged at start).
    webhook_port: int = 0
    # FranceConnect+: the private key (PEM, RSA or EC) tokens are encrypted to.
    franceconnect_decryption_key_file: Path | None = None
    # Re-checks the exclusion register and announces lapsed provisional accounts (0: never).
    sweep_interval_seconds: int = 3600
    # Rotation: published in GetJwks now, signs once it becomes SIGNING_KEY_FILE at a restart.
    next_signing_key_file: Path | None = None
    # Per client address (the visitor the edge vouches for, else the peer): FranceConnect
    # sign-in starts per minute and new provisional accounts per hour. 0: unlimited.
    signin_starts_per_minute: int = 20
    registrations_per_hour: int = 10

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
        database_url = env.str("DATABASE_URL", "") or None
        redis_url = env.str("REDIS_URL", "") or None
        if database_url and not redis_url:
            env.problems.append("BETMESH_REDIS_URL is required with BETMESH_DATABASE_URL")
        exclusion_file = env.str("IDENTITY_EXCLUSION_FILE", "")
        if exclusion_file and not Path(exclusion_file).is_file():
            env.problems.append(f"BETMESH_IDENTITY_EXCLUSION_FILE={exclusion_file!r} is not a file")
        server = ServerSettings.read(env)
        franceconnect = _franceconnect(env)
        if franceconnect is not None and database_url is None:
            env.problems.append("FranceConnect needs BETMESH_DATABASE_URL")
        if server.environment == "production" and database_url and not exclusion_file:
            env.problems.append("BETMESH_IDENTITY_EXCLUSION_FILE is required in production")
        decryption_key_file = env.str("IDENTITY_FRANCECONNECT_DECRYPTION_KEY_FILE", "")
        if decryption_key_file and not Path(decryption_key_file).is_file():
            env.problems.append(
                f"BETMESH_IDENTITY_FRANCECONNECT_DECRYPTION_KEY_FILE={decryption_key_file!r}"
                " is not a file"
            )
        ubble = _ubble(env)
        sweep_interval = env.int("IDENTITY_SWEEP_INTERVAL_SECONDS", 3600)
        if sweep_interval < 0:
            env.problems.append(
                f"BETMESH_IDENTITY_SWEEP_INTERVAL_SECONDS={sweep_interval} must be 0 or more"
            )
        next_key_file = env.str("IDENTITY_NEXT_SIGNING_KEY_FILE", "")
        if next_key_file and not Path(next_key_file).is_file():
            env.problems.append(
                f"BETMESH_IDENTITY_NEXT_SIGNING_KEY_FILE={next_key_file!r} is not a file"
            )
        signin_starts = env.int("IDENTITY_SIGNIN_STARTS_PER_MINUTE", 20)
        registrations = env.int("IDENTITY_REGISTRATIONS_PER_HOUR", 10)
        for name, value in (
            ("SIGNIN_STARTS_PER_MINUTE", signin_starts),
            ("REGISTRATIONS_PER_HOUR", registrations),
        ):
            if value < 0:
                env.problems.append(f"BETMESH_IDENTITY_{name}={value} must be 0 or more")
        if ubble is not None and database_url is None:
            env.problems.append("the paid KYC provider needs BETMESH_DATABASE_URL")
        settings = cls(
            server=server,
            issuer=env.str("IDENTITY_ISSUER", "betmesh-identity"),
            token_ttl_seconds=ttl,
            clients=clients,
            signing_key_file=Path(key_file) if key_file else None,
            database_url=database_url,
            redis_url=redis_url,
            franceconnect=franceconnect,
            exclusion_file=Path(exclusion_file) if exclusion_file else None,
            player_audiences=tuple(env.list("IDENTITY_PLAYER_AUDIENCES", list(PLAYER_AUDIENCES))),
            ubble=ubble,
            webhook_port=env.int("IDENTITY_WEBHOOK_PORT", 0),
            franceconnect_decryption_key_file=(
                Path(decryption_key_file) if decryption_key_file else None
            ),
            sweep_interval_seconds=sweep_interval,
            next_signing_key_file=Path(next_key_file) if next_key_file else None,
            signin_starts_per_minute=signin_starts,
            registrations_per_hour=registrations,
        )
        env.check()
        return settings


@dataclass(frozen=True)
class UbbleSettings:
    api_url: str
    client_id: str
    client_secret: str
    webhook_secret: bytes
    redirect_url: str


def _ubble(env: Env) -> UbbleSettings | None:
    provider = env.str("IDENTITY_KYC_PROVIDER", "")
    if not provider:
        return None
    if provider != "ubble":
        env.problems.append(f"BETMESH_IDENTITY_KYC_PROVIDER={provider!r}: only ubble is built")
        return None
    values = {
        name: env.str(f"IDENTITY_UBBLE_{name}", "")
        for name in ("API_URL", "CLIENT_ID", "CLIENT_SECRET", "WEBHOOK_SECRET", "REDIRECT_URL")
    }
    for name, value in values.items():
        if not value:
            env.problems.append(f"BETMESH_IDENTITY_UBBLE_{name} is required for ubble")
    return UbbleSettings(
        api_url=values["API_URL"],
        client_id=values["CLIENT_ID"],
        client_secret=values["CLIENT_SECRET"],
        webhook_secret=values["WEBHOOK_SECRET"].encode(),
        redirect_url=values["REDIRECT_URL"],
    )


def _franceconnect(env: Env) -> FranceConnectConfig | None:
    """Sandbox and production differ only by these variables."""
    issuer = env.str("IDENTITY_FRANCECONNECT_ISSUER", "")
    if not issuer:
        return None
    prefix = "BETMESH_IDENTITY_FRANCECONNECT_"
    values = {
        name: env.str(f"IDENTITY_FRANCECONNECT_{name}", "")
        for name in ("CLIENT_ID", "CLIENT_SECRET", "REDIRECT_URI", "POST_LOGOUT_REDIRECT_URI")
    }
    for name, value in values.items():
        if not value:
            env.problems.append(f"{prefix}{name} is required with {prefix}ISSUER")
    allowed = tuple(env.list("IDENTITY_RETURN_TO_ALLOWED", []))
    if not allowed:
        env.problems.append(f"BETMESH_IDENTITY_RETURN_TO_ALLOWED is required with {prefix}ISSUER")
    acr = env.str("IDENTITY_FRANCECONNECT_ACR", "eidas1")
    if acr_rank(acr) == 0:
        env.problems.append(f"{prefix}ACR={acr!r} must be eidas1, eidas2 or eidas3")
    scopes = tuple(env.list("IDENTITY_FRANCECONNECT_SCOPES", ["openid", "identite_pivot"]))
    if "openid" not in scopes:
        env.problems.append(f"{prefix}SCOPES must include openid")
    return FranceConnectConfig(
        issuer=issuer,
        client_id=values["CLIENT_ID"],
        client_secret=values["CLIENT_SECRET"],
        redirect_uri=values["REDIRECT_URI"],
        post_logout_redirect_uri=values["POST_LOGOUT_REDIRECT_URI"],
        return_to_allowed=allowed,
        scopes=scopes,
        acr=acr,
        jwks_min_refresh_seconds=env.float("IDENTITY_FRANCECONNECT_JWKS_MIN_REFRESH_SECONDS", 10.0),
        jwks_max_age_seconds=env.float("IDENTITY_FRANCECONNECT_JWKS_MAX_AGE_SECONDS", 300.0),
    )

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from betmesh.common.v1 import sport_pb2

from gateway.domain.rtp_controller import RtpPolicy
from gateway.guard_settings import GuardSettings
from service_runtime.settings import Env, ServerSettings

ENGINE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


@dataclass(frozen=True)
class ReplicaSetConfig:
    sport: sport_pb2.Sport.ValueType
    addresses: tuple[str, ...]
    quorum: int
    # Per address, the engine the replica must run ("host:port@engine"); "" when not given
    # (the replica's own declaration is then taken).
    engines: tuple[str, ...] = ()
    # Distinct engines whose replicas must agree before a market of this sport is published
    # (BETMESH_GATEWAY_MIN_ENGINES: "2" for every sport, or "football=2,tennis=1").
    min_engines: int = 2


@dataclass(frozen=True)
class GatewaySettings:
    server: ServerSettings
    replica_sets: tuple[ReplicaSetConfig, ...]
    deadline_seconds: float
    max_in_flight_per_sport: int
    quarantine_after: int
    readmit_after: int
    redis_url: str
    # Empty: accepted prices, fixtures and dissents are kept in memory only.
    database_url: str
    scheduler_interval_seconds: float
    horizon_days: int
    scheduler_concurrency: int
    pinned_snapshots: dict[sport_pb2.Sport.ValueType, str]
    # None: every replica is asked at once. Set: hedged fan-out (ask k, the rest on need or
    # after this delay), which halves the pricing work where replicas share machines.
    hedge_seconds: float | None = None
    # The share of calls that the hedge delay alone may extend to every replica (a budget:
    # under load, replicas slower than the delay must not double the pricing work).
    hedge_budget_percent: float = 10.0
    guard: GuardSettings = field(default_factory=GuardSettings)
    # Distinct engines whose replicas must agree before a market is published: "2" for every
    # sport, or per sport ("football=2,tennis=1"; a sport not named gets 2).
    min_engines: str = "2"
    # Bets, for the return-to-player controller's yearly figures; empty: no controller (every
    # price at the policy as written). The controller's rule: gateway/domain/rtp_controller.py.
    bets_address: str = ""
    rtp: RtpPolicy = field(default_factory=RtpPolicy)
    # A replica that timed out this many times in a row rests (not asked, so no call waits out
    # its deadline), then one call asks it again; 0: never. Unavailable, not wrong: never
    # counted towards quarantine. The rule: gateway/domain/replicas.py.
    rest_after_timeouts: int = 3
    # How long a replica rests before one call asks it again (an answer ends the rest, another
    # timeout starts a new one): at most one call's deadline is paid per rest.
    rest_seconds: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        env = Env(dict(environ)) if environ is not None else Env()
        replica_sets = _replica_sets(
            env,
            env.str("GATEWAY_REPLICAS", ""),
            env.str("GATEWAY_QUORUM", "2"),
            env.str("GATEWAY_MIN_ENGINES", "2"),
        )
        settings = cls(
            server=ServerSettings.read(env),
            replica_sets=replica_sets,
            deadline_seconds=env.int("GATEWAY_DEADLINE_MS", 2000) / 1000,
            max_in_flight_per_sport=env.int("GATEWAY_MAX_IN_FLIGHT", 64),
            quarantine_after=env.int("GATEWAY_QUARANTINE_AFTER", 3),
            readmit_after=env.int("GATEWAY_READMIT_AFTER", 2),
            redis_url=env.str("REDIS_URL", ""),
            database_url=env.str("DATABASE_URL", ""),
            # 0 turns the timer off (passes then run only through RunPreMatchPricing).
            scheduler_interval_seconds=env.float("GATEWAY_SCHEDULER_INTERVAL_SECONDS", 60.0),
            horizon_days=env.int("GATEWAY_HORIZON_DAYS", 7),
            # Pre-match consensus calls a pass keeps in flight per sport (at least 1): a replica
            # prices one call at a time, so more only queue there until they miss the deadline.
            scheduler_concurrency=env.int("GATEWAY_SCHEDULER_CONCURRENCY", 4),
            pinned_snapshots=_pinned(env, env.str("GATEWAY_SNAPSHOTS", "")),
            hedge_seconds=_hedge(env.int("GATEWAY_HEDGE_MS", 0)),
            hedge_budget_percent=env.float("GATEWAY_HEDGE_BUDGET_PERCENT", 10.0),
            guard=GuardSettings.read(env),
            min_engines=env.str("GATEWAY_MIN_ENGINES", "2"),
            bets_address=env.str("GATEWAY_BETS_ADDRESS", ""),
            rtp=_rtp(env),
            rest_after_timeouts=env.int("GATEWAY_REST_AFTER_TIMEOUTS", 3),
            rest_seconds=env.float("GATEWAY_REST_SECONDS", 10.0),
        )
        env.problems += settings.rtp.problems()
        if settings.rest_after_timeouts < 0 or not 0 < settings.rest_seconds <= 3600:
            env.problems.append(
                "BETMESH_GATEWAY_REST_AFTER_TIMEOUTS must be at least 0 and "
                "BETMESH_GATEWAY_REST_SECONDS within (0, 3600]"
            )
        if settings.scheduler_concurrency < 1:
            env.problems.append("BETMESH_GATEWAY_SCHEDULER_CONCURRENCY must be at least 1")
        for config in settings.replica_sets:
            named = set(config.engines)
            if not 1 <= config.min_engines <= 8:
                env.problems.append("BETMESH_GATEWAY_MIN_ENGINES must be within 1..8")
            # Every replica named, and fewer engines than the rule needs: nothing could publish.
            elif config.engines and all(config.engines) and len(named) < config.min_engines:
                env.problems.append(
                    f"{sport_pb2.Sport.Name(config.sport)} replicas run {len(named)} engine(s) "
                    f"but BETMESH_GATEWAY_MIN_ENGINES wants {config.min_engines}: nothing could "
                    "be published"
                )
        env.check()
        return settings


def _rtp(env: Env) -> RtpPolicy:
    d = RtpPolicy()
    return RtpPolicy(
        limit_e4=env.int("GATEWAY_RTP_LIMIT_E4", d.limit_e4),
        band_e4=env.int("GATEWAY_RTP_BAND_E4", d.band_e4),
        ramp_e4=env.int("GATEWAY_RTP_RAMP_E4", d.ramp_e4),
        max_scale_e4=env.int("GATEWAY_RTP_MAX_MARGIN_SCALE_E4", d.max_scale_e4),
        step_e4=env.int("GATEWAY_RTP_STEP_E4", d.step_e4),
        interval_seconds=env.float("GATEWAY_RTP_INTERVAL_SECONDS", d.interval_seconds),
        retry_seconds=env.float("GATEWAY_RTP_RETRY_SECONDS", d.retry_seconds),
        max_age_seconds=env.float("GATEWAY_RTP_MAX_AGE_SECONDS", d.max_age_seconds),
        initial_scale_e4=env.int("GATEWAY_RTP_INITIAL_SCALE_E4", d.initial_scale_e4),
    )


def _sport(env: Env, name: str) -> sport_pb2.Sport.ValueType | None:
    try:
        return sport_pb2.Sport.Value("SPORT_" + name.strip().upper())
    except ValueError:
        env.problems.append(f"unknown sport {name!r} in BETMESH_GATEWAY_REPLICAS/QUORUM")
        return None


def _per_sport(env: Env, value: str, default: int, name: str) -> tuple[int, dict[int, int]]:
    """ "2" (every sport) or "football=2,tennis=1" (a sport not named: `default`)."""
    per_sport: dict[int, int] = {}
    try:
        if "=" not in value:
            return int(value), per_sport
        for part in filter(None, (p.strip() for p in value.split(","))):
            sport_name, _, number = part.partition("=")
            sport = _sport(env, sport_name)
            if sport is not None:
                per_sport[sport] = int(number)
    except ValueError:
        env.problems.append(f"BETMESH_{name} must be N or sport=N,...")
    return default, per_sport


def _replica_sets(
    env: Env, replicas: str, quorum: str, min_engines: str = "2"
) -> tuple[ReplicaSetConfig, ...]:
    """ "football=h:p@dc-grid,h:p@dc-grid,h:p@dc-direct;tennis=..." ("@engine" optional) and
    "2" or "football=2,tennis=2"."""
    engines_default, engines_by_sport = _per_sport(env, min_engines, 2, "GATEWAY_MIN_ENGINES")
    default_quorum, per_sport = 2, {}
    if "=" in quorum:
        for part in filter(None, (p.strip() for p in quorum.split(","))):
            name, _, value = part.partition("=")
            sport = _sport(env, name)
            if sport is not None:
                per_sport[sport] = int(value)
    else:
        default_quorum = int(quorum)
    sets = []
    for part in filter(None, (p.strip() for p in replicas.split(";"))):
        name, _, addresses = part.partition("=")
        sport = _sport(env, name)
        if sport is None:
            continue
        entries = [a.strip() for a in addresses.split(",") if a.strip()]
        found = tuple(e.partition("@")[0].strip() for e in entries)
        engines = tuple(e.partition("@")[2].strip() for e in entries)
        for engine in engines:
            if engine and not ENGINE_NAME.fullmatch(engine):
                env.problems.append(f"engine name {engine[:40]!r} in BETMESH_GATEWAY_REPLICAS")
        k = per_sport.get(sport, default_quorum)
        if not 1 <= k <= len(found) or k * 2 <= len(found):
            # k must be a strict majority: two different outputs can never both reach it.
            env.problems.append(
                f"quorum {k} of {len(found)} for {name} must be a strict majority of the replicas"
            )
        sets.append(
            ReplicaSetConfig(sport, found, k, engines, engines_by_sport.get(sport, engines_default))
        )
    return tuple(sets)


def _hedge(milliseconds: int) -> float | None:
    return milliseconds / 1000 if milliseconds > 0 else None


def _pinned(env: Env, value: str) -> dict[sport_pb2.Sport.ValueType, str]:
    """ "football=sha256:...,tennis=sha256:...": snapshots the scheduler must use."""
    pinned = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, _, snapshot = part.partition("=")
        sport = _sport(env, name)
        if sport is not None:
            pinned[sport] = snapshot.strip()
    return pinned

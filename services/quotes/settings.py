from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from betmesh.common.v1 import sport_pb2

from service_runtime.settings import Env, ServerSettings
from services.quotes.domain.engines import ENGINES

# The launcher's state directory (.betmesh at the repository's root) by default.
DEFAULT_CACHE = Path(__file__).resolve().parents[2] / ".betmesh" / "snapshots"

BY_ORDINAL = "by-ordinal"
SNAPSHOTS_SHIPPED = "shipped"
SNAPSHOTS_NONE = "none"


@dataclass(frozen=True)
class QuotesSettings:
    server: ServerSettings
    sport: sport_pb2.Sport.ValueType
    replica_id: str
    # Where snapshots are stored (schema "quotes"); empty: in memory, the start-up ones only.
    database_url: str = ""
    # The snapshots stored at start: "shipped" (the sport's model fitted on the data in data/,
    # read from the fit cache when it holds that very fit) or "none".
    startup_snapshots: str = SNAPSHOTS_SHIPPED
    # Snapshot files (canonical ModelSnapshot bytes, as the fitting job writes them) also
    # stored at start, after the shipped one: an operator's own, or a test's fixed ones.
    snapshot_files: tuple[str, ...] = ()
    # Where fitted start-up snapshots are cached (named by a digest of their inputs); empty:
    # fit at every start.
    snapshot_cache: str = ""
    # Other replicas (host:port) asked by GetModelSnapshot for a snapshot this one lacks.
    peers: tuple[str, ...] = ()
    peer_timeout_seconds: float = 2.0
    # Fault injection for consensus tests, off by default: "delay-ms:<n>" makes it answer n ms
    # late (a slow replica); "skew-odds" (or "skew-odds:<ticks>", default 1) makes this replica
    # return a wrong price so the gateway's quorum must outvote it.
    fault: str = ""
    # The pricing engine this replica runs (one of the sport's `engines.ENGINES`, or
    # "by-ordinal": from the replica id's trailing number); empty: the sport's reference
    # engine. A sport's replica set runs at least two engines, so a mistake in one engine's
    # code cannot become a published price (docs/architecture.md).
    engine: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> QuotesSettings:
        env = Env(dict(environ)) if environ is not None else Env()
        sport_name = (env.str("QUOTES_SPORT") or "").upper()
        try:
            sport = sport_pb2.Sport.Value(f"SPORT_{sport_name}")
        except ValueError:
            env.problems.append(
                f"BETMESH_QUOTES_SPORT={sport_name!r} is not football, tennis or basketball"
            )
            sport = sport_pb2.SPORT_UNSPECIFIED
        settings = cls(
            server=ServerSettings.read(env),
            sport=sport,
            replica_id=env.str("QUOTES_REPLICA_ID", f"{sport_name.lower()}-1"),
            database_url=env.str("DATABASE_URL", ""),
            startup_snapshots=env.str("QUOTES_STARTUP_SNAPSHOTS", SNAPSHOTS_SHIPPED),
            snapshot_files=tuple(env.list("QUOTES_SNAPSHOT_FILES", [])),
            snapshot_cache=env.str("QUOTES_SNAPSHOT_CACHE", str(DEFAULT_CACHE)),
            peers=tuple(env.list("QUOTES_PEERS", [])),
            peer_timeout_seconds=env.float("QUOTES_PEER_TIMEOUT_SECONDS", 2.0),
            fault=env.str("QUOTES_FAULT", ""),
            engine=env.str("QUOTES_ENGINE", ""),
        )
        engines = ENGINES.get(sport, ())
        if engines and settings.engine == BY_ORDINAL:
            # A StatefulSet's pods are one template: the pod name's ordinal (quotes-football-1)
            # picks the engine, alternating as the launcher does (0, 2: reference; 1: other).
            ordinal = settings.replica_id.rsplit("-", 1)[-1]
            if ordinal.isdigit():
                settings = replace(settings, engine=engines[int(ordinal) % len(engines)])
            else:
                env.problems.append(
                    f"BETMESH_QUOTES_ENGINE={BY_ORDINAL} needs a replica id ending in -<n>"
                )
        if engines and not settings.engine:
            settings = replace(settings, engine=engines[0])
        elif engines and settings.engine not in (*engines, BY_ORDINAL):
            env.problems.append(
                f"BETMESH_QUOTES_ENGINE={settings.engine[:40]!r}: {sport_name.lower()} engines are "
                + ", ".join(engines)
            )
        if settings.startup_snapshots not in (SNAPSHOTS_SHIPPED, SNAPSHOTS_NONE):
            env.problems.append(
                f"BETMESH_QUOTES_STARTUP_SNAPSHOTS={settings.startup_snapshots[:40]!r}: expected "
                f"{SNAPSHOTS_SHIPPED!r} or {SNAPSHOTS_NONE!r}"
            )
        if not valid_fault(settings.fault):
            env.problems.append(
                f"BETMESH_QUOTES_FAULT={settings.fault[:40]!r}: expected 'skew-odds[:<n>]' or "
                "'delay-ms:<n>'"
            )
        if settings.peer_timeout_seconds <= 0:
            env.problems.append("BETMESH_QUOTES_PEER_TIMEOUT_SECONDS must be positive")
        env.check()
        return settings


def valid_fault(fault: str) -> bool:
    if fault in ("", "skew-odds"):
        return True
    name, _, value = fault.partition(":")
    return name in ("delay-ms", "skew-odds") and value.isdigit() and len(value) <= 6

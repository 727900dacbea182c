from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from betmesh.common.v1 import sport_pb2

from service_runtime.settings import Env, ServerSettings


@dataclass(frozen=True)
class QuotesSettings:
    server: ServerSettings
    sport: sport_pb2.Sport.ValueType
    replica_id: str
    # Fault injection for consensus tests, off by default: "skew-odds" makes this replica
    # return a wrong price so the gateway's quorum must outvote it.
    fault: str = ""

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
            fault=env.str("QUOTES_FAULT", ""),
        )
        if settings.fault not in ("", "skew-odds"):
            env.problems.append(f"BETMESH_QUOTES_FAULT={settings.fault!r}: only 'skew-odds' exists")
        env.check()
        return settings

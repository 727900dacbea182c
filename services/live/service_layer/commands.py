"""What callers ask live to do, free of gRPC: the servicer builds these from requests. The
odds stream's own calls (open, pump, update) are StreamService's (streams.py)."""

from __future__ import annotations

from dataclasses import dataclass

from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.auth import Principal
from services.live.domain.liveness import FixtureProgress


@dataclass(frozen=True)
class IngestMatchEvent:
    """Apply, hold or ignore one event of a feed (domain/sequencing.py)."""

    event: me.MatchEvent


@dataclass(frozen=True)
class SendFeedHeartbeat:
    """A feed is alive and still following these fixtures: `fixture_ids` without saying where
    it is up to (keeps an open fixture alive, never ends a feed loss), `fixtures` with the
    last sequence it sent for each."""

    source: str
    fixture_ids: tuple[str, ...]
    fixtures: tuple[FixtureProgress, ...] = ()


@dataclass(frozen=True)
class SuspendFixture:
    """An operator's stop on every market of a live fixture, until ResumeFixture."""

    fixture_id: str
    reason: str
    operator: Principal | None


@dataclass(frozen=True)
class ResumeFixture:
    fixture_id: str
    operator: Principal | None

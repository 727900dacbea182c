"""What callers ask the oracle, free of gRPC: the servicer builds these from requests."""

from __future__ import annotations

from dataclasses import dataclass

from betmesh.oracle.v1 import oracle_service_pb2 as pb

from service_runtime.auth import Principal


@dataclass(frozen=True)
class SubmitObservation:
    """One source's report of a fixture's result."""

    observation: pb.Observation


@dataclass(frozen=True)
class GetResult:
    fixture_id: str


@dataclass(frozen=True)
class ListHeldResults:
    """Results the sources disagree on, waiting for an operator; by fixture id."""

    page_size: int
    page_token: str


@dataclass(frozen=True)
class ResolveHeldResult:
    """An operator's choice among the results the sources observed for a held fixture."""

    fixture_id: str
    result: pb.MatchResult | None
    note: str
    caller: Principal | None


@dataclass(frozen=True)
class CorrectResult:
    """An operator's correction of a validated result while its dispute window is open."""

    fixture_id: str
    result: pb.MatchResult | None
    note: str
    caller: Principal | None


@dataclass(frozen=True)
class RetryPublication:
    """An operator sends a FAILED publication again."""

    fixture_id: str
    note: str
    caller: Principal | None

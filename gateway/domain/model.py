"""What the gateway keeps and passes around: an agreed quote set with its evidence, a dissent
record, what a fixture was priced from, a replica's listed snapshot (the ports: ports.py)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb

from service_runtime.digest import canonical_bytes, digest_bytes


def fixture_digest(fixture: sport_pb2.Fixture) -> str:
    return digest_bytes(canonical_bytes(fixture))


@dataclass
class Accepted:
    """A quote set a quorum agreed on (its canonical bytes), with its evidence."""

    data: bytes
    digest: str
    evidence: pb.QuorumEvidence
    accepted_at: float
    fixture_digest: str
    # Live sets: the GameState they were priced from (what the guard's next live check compares).
    game_state: bytes = b""

    @cached_property
    def quote_set(self) -> market_pb2.QuoteSet:
        # Decoded on first use only: answering a caller sends the bytes as they are.
        return market_pb2.QuoteSet.FromString(self.data)


@dataclass(frozen=True)
class DissentRecord:
    fixture_id: str
    sport: sport_pb2.Sport.ValueType
    vote: pb.ReplicaVote
    majority_digest: str
    recorded_at: float
    # consensus.Verdict's value; who outvoted it; one id per decision; the decision's outcome
    # ("ACCEPTED", "PARTIAL", or the refusal reason).
    verdict: str = "REPLICA_FAULTY"
    outvoted_by: tuple[str, ...] = ()
    decision_id: str = ""
    decision: str = "ACCEPTED"


@dataclass(frozen=True)
class UpsertCounts:
    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class PricedState:
    """What a fixture's latest pre-match quote set was priced from."""

    snapshot_hash: str
    fixture_digest: str
    # The margin scale it was priced with (QuoteSet.margin_scale_e4; 0 for none).
    margin_scale_e4: int = 0


@dataclass(frozen=True)
class ListedSnapshot:
    snapshot_hash: str
    # A tennis snapshot's court surface (TennisParameters.surface); 0 for the other sports.
    tennis_surface: sport_pb2.TennisSurface.ValueType = sport_pb2.TENNIS_SURFACE_UNSPECIFIED

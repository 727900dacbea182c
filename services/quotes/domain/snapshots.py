"""Model snapshots: canonical bytes, content hash, verification (the ports they are kept and
fetched through: domain/ports.py; fetching by hash: services/quotes/service_layer/snapshots.py).

A snapshot is named by "sha256:" + hex of its canonical bytes (deterministic serialisation with
the free-order lists sorted). A replica prices only from a snapshot whose bytes it has checked
against the name: bytes from its store or from a peer replica are verified before use, and a
blob that does not hash to the name (or is not in canonical form) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2
from google.protobuf.message import DecodeError

from service_runtime.digest import canonical_bytes, digest_bytes, is_digest
from service_runtime.errors import InvalidArgument


def snapshot_bytes(snapshot: snapshot_pb2.ModelSnapshot) -> bytes:
    canonical = snapshot_pb2.ModelSnapshot()
    canonical.CopyFrom(snapshot)
    which = canonical.WhichOneof("parameters")
    if which == "football":
        canonical.football.teams.sort(key=lambda t: t.participant_id)
    elif which == "tennis":
        canonical.tennis.players.sort(key=lambda p: p.participant_id)
    elif which == "basketball":
        canonical.basketball.teams.sort(key=lambda t: t.participant_id)
    canonical.pricing_policy.margins.sort(key=lambda m: m.market_type)
    canonical.pricing_policy.live_margins.sort(key=lambda m: m.market_type)
    return canonical_bytes(canonical)


def snapshot_hash(snapshot: snapshot_pb2.ModelSnapshot) -> str:
    return digest_bytes(snapshot_bytes(snapshot))


@dataclass(frozen=True)
class StoredSnapshot:
    snapshot_hash: str
    sport: sport_pb2.Sport.ValueType
    model: str
    data: bytes  # canonical bytes

    @classmethod
    def of(cls, snapshot: snapshot_pb2.ModelSnapshot) -> StoredSnapshot:
        data = snapshot_bytes(snapshot)
        return cls(digest_bytes(data), snapshot.sport, snapshot.model, data)


class SnapshotRefused(Exception):
    """Bytes that do not match the hash they were fetched by."""


def verify(snapshot_hash: str, data: bytes) -> snapshot_pb2.ModelSnapshot:
    """The snapshot in `data`, if and only if the bytes are the canonical form named by the hash."""
    if digest_bytes(data) != snapshot_hash:
        raise SnapshotRefused(f"bytes hash to {digest_bytes(data)}, not {snapshot_hash}")
    snapshot = snapshot_pb2.ModelSnapshot()
    try:
        snapshot.ParseFromString(data)
    except DecodeError as exc:
        raise SnapshotRefused(f"not a ModelSnapshot: {exc}") from exc
    if snapshot_bytes(snapshot) != data:
        raise SnapshotRefused("not in canonical form")
    return snapshot


def check_hash(snapshot_hash: str) -> None:
    if not snapshot_hash:
        raise InvalidArgument("SNAPSHOT_REQUIRED", "snapshot_hash is required")
    if not is_digest(snapshot_hash):
        raise InvalidArgument(
            "INVALID_SNAPSHOT_HASH",
            f"snapshot_hash must be 'sha256:' and 64 lower-case hex digits, not {snapshot_hash!r}",
        )


def default_pricing_policy() -> snapshot_pb2.PricingPolicy:
    """One policy for pre-match and in play: the odds-ratio method at an 85% target payout,
    short favourites floored at 1.01. The odds ratio puts the margin on the longshots, as
    markets do (the favourite-longshot bias), and never prices a favourite at or under 1;
    at 85% its fair 0.95 two-way favourite is still 1.01, where the multiplicative method
    withdrew every selection above ~0.84. The year's 85% average is the gateway controller's
    (margin scale), not this policy's."""
    return snapshot_pb2.PricingPolicy(
        default_margin=snapshot_pb2.MarketMargin(
            method=snapshot_pb2.MARGIN_METHOD_ODDS_RATIO, target_payout_e4=8_500
        ),
        min_odds_e4=10_100,
        floor_short_prices=True,
    )


def margin_for(
    policy: snapshot_pb2.PricingPolicy, market_type: market_pb2.MarketType.ValueType
) -> snapshot_pb2.MarketMargin:
    for margin in policy.margins:
        if margin.market_type == market_type:
            return margin
    return policy.default_margin

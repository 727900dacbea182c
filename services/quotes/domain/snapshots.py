"""Model snapshots: canonical bytes, content hash, and the store replicas price from."""

from __future__ import annotations

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from service_runtime.digest import canonical_bytes, digest_bytes


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
    return canonical_bytes(canonical)


def snapshot_hash(snapshot: snapshot_pb2.ModelSnapshot) -> str:
    return digest_bytes(snapshot_bytes(snapshot))


class SnapshotStore:
    """Snapshots by hash. In memory; the PostgreSQL-backed store replaces it with fitting."""

    def __init__(self) -> None:
        self._by_hash: dict[str, bytes] = {}

    def put(self, snapshot: snapshot_pb2.ModelSnapshot) -> str:
        data = snapshot_bytes(snapshot)
        key = digest_bytes(data)
        self._by_hash[key] = data
        return key

    def get_bytes(self, key: str) -> bytes | None:
        return self._by_hash.get(key)

    def get(self, key: str) -> snapshot_pb2.ModelSnapshot | None:
        data = self._by_hash.get(key)
        if data is None:
            return None
        snapshot = snapshot_pb2.ModelSnapshot()
        snapshot.ParseFromString(data)
        return snapshot

    def all(self) -> list[tuple[str, snapshot_pb2.ModelSnapshot]]:
        found = []
        for key in sorted(self._by_hash):
            snapshot = self.get(key)
            assert snapshot is not None
            found.append((key, snapshot))
        return found


def default_pricing_policy() -> snapshot_pb2.PricingPolicy:
    multiplicative = snapshot_pb2.MARGIN_METHOD_MULTIPLICATIVE
    return snapshot_pb2.PricingPolicy(
        default_margin=snapshot_pb2.MarketMargin(method=multiplicative, target_payout_e4=8_500),
        payout_cap_e4=8_500,
        min_odds_e4=10_100,
    )


# A fixed, hand-set parameter set (log-scale strengths, roughly the 2023/24 Premier League's
# shape) so the mesh prices football from its first start; fitted snapshots supersede it.
_DEMO_TEAMS = [
    ("fb:arsenal", "Arsenal", 0.45, -0.55),
    ("fb:aston-villa", "Aston Villa", 0.30, -0.05),
    ("fb:chelsea", "Chelsea", 0.30, 0.05),
    ("fb:liverpool", "Liverpool", 0.45, -0.30),
    ("fb:man-city", "Manchester City", 0.55, -0.45),
    ("fb:man-united", "Manchester United", 0.10, 0.05),
    ("fb:newcastle", "Newcastle United", 0.35, 0.05),
    ("fb:tottenham", "Tottenham Hotspur", 0.30, 0.05),
]


def demo_football_snapshot() -> snapshot_pb2.ModelSnapshot:
    return snapshot_pb2.ModelSnapshot(
        sport=sport_pb2.SPORT_FOOTBALL,
        model="dixon-coles/demo-fixed",
        training_data_digest="none: hand-set parameters",
        pricing_policy=default_pricing_policy(),
        football=snapshot_pb2.FootballParameters(
            teams=[
                snapshot_pb2.TeamRating(participant_id=pid, name=name, attack=a, defence=d)
                for pid, name, a, d in _DEMO_TEAMS
            ],
            home_advantage=0.25,
            rho=-0.1,
            time_decay_xi=0.0,
            max_goals=10,
        ),
    )


def margin_for(
    policy: snapshot_pb2.PricingPolicy, market_type: market_pb2.MarketType.ValueType
) -> snapshot_pb2.MarketMargin:
    for margin in policy.margins:
        if margin.market_type == market_type:
            return margin
    return policy.default_margin

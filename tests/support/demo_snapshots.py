"""The hand-set demo snapshots, for tests only: fixed parameters whose hashes tests pin.

The mesh prices from models fitted on the shipped data (services/quotes/shipped.py); these stay
because tests need parameters that no refit changes. `demo_startup_env()` starts a replica on
them (BETMESH_QUOTES_STARTUP_SNAPSHOTS=none, BETMESH_QUOTES_SNAPSHOT_FILES=their files).
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from services.quotes.domain.snapshots import default_pricing_policy, snapshot_bytes, snapshot_hash

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


# Serve- and return-point win rates against an average opponent, roughly the 2024 ATP tour's
# top players (tour average about 0.64 on serve).
_DEMO_PLAYERS = [
    ("tn:sinner", "Jannik Sinner", 0.69, 0.42),
    ("tn:alcaraz", "Carlos Alcaraz", 0.67, 0.43),
    ("tn:djokovic", "Novak Djokovic", 0.68, 0.42),
    ("tn:zverev", "Alexander Zverev", 0.70, 0.38),
    ("tn:medvedev", "Daniil Medvedev", 0.66, 0.40),
    ("tn:fritz", "Taylor Fritz", 0.71, 0.35),
    ("tn:de-minaur", "Alex de Minaur", 0.63, 0.40),
    ("tn:rune", "Holger Rune", 0.65, 0.38),
]


def demo_tennis_snapshot() -> snapshot_pb2.ModelSnapshot:
    return snapshot_pb2.ModelSnapshot(
        sport=sport_pb2.SPORT_TENNIS,
        model="barnett-clarke-markov/demo-fixed",
        training_data_digest="none: hand-set parameters",
        pricing_policy=default_pricing_policy(),
        tennis=snapshot_pb2.TennisParameters(
            players=[
                snapshot_pb2.PlayerRating(
                    participant_id=pid, name=name, serve_point_win=s, return_point_win=r
                )
                for pid, name, s, r in _DEMO_PLAYERS
            ],
            tiebreak_at_games=6,
            final_set_tiebreak=True,
            final_set_tiebreak_points=7,
        ),
    )


# Points per game above league average (attack: scored; defence: conceded, negative = good),
# roughly the 2023/24 NBA's shape.
_DEMO_BASKETBALL = [
    ("bb:celtics", "Boston Celtics", 6.0, -4.5),
    ("bb:thunder", "Oklahoma City Thunder", 3.5, -4.0),
    ("bb:nuggets", "Denver Nuggets", 3.0, -1.5),
    ("bb:knicks", "New York Knicks", 2.0, -2.0),
    ("bb:warriors", "Golden State Warriors", 2.5, 0.5),
    ("bb:lakers", "Los Angeles Lakers", 1.5, 1.0),
    ("bb:heat", "Miami Heat", -1.0, -1.5),
    ("bb:spurs", "San Antonio Spurs", -3.5, 3.0),
]


def demo_basketball_snapshot() -> snapshot_pb2.ModelSnapshot:
    return snapshot_pb2.ModelSnapshot(
        sport=sport_pb2.SPORT_BASKETBALL,
        model="normal-margin-total/demo-fixed",
        training_data_digest="none: hand-set parameters",
        pricing_policy=default_pricing_policy(),
        basketball=snapshot_pb2.BasketballParameters(
            teams=[
                snapshot_pb2.TeamRating(participant_id=pid, name=name, attack=a, defence=d)
                for pid, name, a, d in _DEMO_BASKETBALL
            ],
            home_advantage_points=2.5,
            mean_total_points=228.0,
            margin_sigma=12.5,
            total_sigma=18.0,
        ),
    )


def demo_snapshots() -> list[snapshot_pb2.ModelSnapshot]:
    return [demo_football_snapshot(), demo_tennis_snapshot(), demo_basketball_snapshot()]


@cache
def demo_snapshot_files() -> tuple[str, ...]:
    """The demo snapshots' canonical bytes in files (written once per test process)."""
    directory = Path(tempfile.mkdtemp(prefix="betmesh-demo-snapshots-"))
    paths = []
    for snapshot in demo_snapshots():
        path = directory / f"{snapshot_hash(snapshot).removeprefix('sha256:')}.snapshot"
        path.write_bytes(snapshot_bytes(snapshot))
        paths.append(str(path))
    return tuple(paths)


def demo_startup_env() -> dict[str, str]:
    """Settings that start a quote replica on the demo snapshots only."""
    return {
        "BETMESH_QUOTES_STARTUP_SNAPSHOTS": "none",
        "BETMESH_QUOTES_SNAPSHOT_FILES": ",".join(demo_snapshot_files()),
    }

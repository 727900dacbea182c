"""Live tennis match scripts drawn from the fitted model, for the feed simulator.

    python -m services.quotes.fitting.tennis_sim --home tn:jannik-sinner \
        --away tn:carlos-alcaraz --seed 3 --out services/live/scripts/tennis.json

The players' serve-point wins against each other come from a surface's snapshot of the shipped
ATP fit through the pricing's own matchup formula (`pricing.serve_probabilities`); the match is
then played point by point with the priced Markov structure (`services/live/generated.py`), so
a live tennis market settles on a match of the model's own distribution.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from betmesh.quotes.v1 import snapshot_pb2

from services.live.generated import tennis_script
from services.quotes.domain.pricing import serve_probabilities
from services.quotes.fitting.basketball_sim import write_script
from services.quotes.fitting.tennis import SURFACES, fit_shipped_surfaces


def player(snapshot: snapshot_pb2.ModelSnapshot, participant_id: str) -> snapshot_pb2.PlayerRating:
    for rating in snapshot.tennis.players:
        if rating.participant_id == participant_id:
            return rating
    raise KeyError(f"{participant_id} is not rated by the snapshot")


def script(
    snapshot: snapshot_pb2.ModelSnapshot,
    home: str,
    away: str,
    seed: int,
    fixture_id: str | None = None,
    best_of_sets: int = 3,
    competition: tuple[str, str] = ("atp-finals", "ATP Finals"),
) -> dict[str, Any]:
    """A whole match script (services/live/simulator.py's format) for `home` v `away`
    (participant ids of the snapshot)."""
    h, a = player(snapshot, home), player(snapshot, away)
    p_home, p_away = serve_probabilities(snapshot.tennis, h, a)
    fixture = {
        "fixture_id": fixture_id or f"sim-{home[3:]}-{away[3:]}",
        "sport": "tennis",
        "competition_id": competition[0],
        "competitionName": competition[1],
        "home": {"participantId": h.participant_id, "name": h.name},
        "away": {"participantId": a.participant_id, "name": a.name},
    }
    return tennis_script(fixture, p_home, p_away, random.Random(seed), best_of_sets)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.quotes.fitting.tennis_sim")
    parser.add_argument("--home", default="tn:jannik-sinner")
    parser.add_argument("--away", default="tn:carlos-alcaraz")
    parser.add_argument("--surface", default="hard", choices=SURFACES)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--best-of", type=int, default=3, choices=(3, 5))
    parser.add_argument("--fixture-id")
    parser.add_argument("--out", type=Path, help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    snapshot = fit_shipped_surfaces()[args.surface]
    try:
        raw = script(snapshot, args.home, args.away, args.seed, args.fixture_id, args.best_of)
    except KeyError as exc:
        parser.error(str(exc))
    return write_script(raw, args.out)


if __name__ == "__main__":
    raise SystemExit(main())

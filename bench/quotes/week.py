"""A week of fixtures priced as a replica prices them (every market, the canonical encoding
and its digest): what the tennis and basketball quality benches time after a refit."""

from __future__ import annotations

import random

from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from services.quotes.domain.pricing import canonicalise, price_fixture, quote_digest
from services.quotes.domain.snapshots import snapshot_hash


def price_week(snapshot: snapshot_pb2.ModelSnapshot, fixtures: int, seed: int = 11) -> int:
    """Prices `fixtures` random pairings of the snapshot's participants (tennis: one match in
    five best of 5); returns the number of markets."""
    rng = random.Random(seed)
    sport = snapshot.sport
    tennis = sport == sport_pb2.SPORT_TENNIS
    ratings = snapshot.tennis.players if tennis else snapshot.basketball.teams
    participants = [r.participant_id for r in ratings]
    key = snapshot_hash(snapshot)
    markets = 0
    for n in range(fixtures):
        home, away = rng.sample(participants, 2)
        fixture = sport_pb2.Fixture(
            fixture_id=f"week-{n}",
            sport=sport,
            home=sport_pb2.Participant(participant_id=home),
            away=sport_pb2.Participant(participant_id=away),
            best_of_sets=(5 if n % 5 == 0 else 3) if tennis else 0,
        )
        quote_set = price_fixture(fixture, snapshot, key, [], None, sport)
        quote_digest(canonicalise(quote_set))
        markets += len(quote_set.markets)
    return markets

"""Prices a fixture from a snapshot into a canonical QuoteSet."""

from __future__ import annotations

from collections.abc import Sequence

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from service_runtime.digest import canonical_bytes, digest_bytes
from service_runtime.errors import FailedPrecondition, InvalidArgument, Unimplemented
from services.quotes.domain import football, margin
from services.quotes.domain.snapshots import margin_for

MT = market_pb2.MarketType
SUPPORTED: dict[sport_pb2.Sport.ValueType, tuple[MT.ValueType, ...]] = {
    sport_pb2.SPORT_FOOTBALL: (market_pb2.MARKET_TYPE_MATCH_RESULT,),
}


def market_id(fixture_id: str, market_type: MT.ValueType, line_e2: int | None = None) -> str:
    name = MT.Name(market_type).removeprefix("MARKET_TYPE_")
    return f"{fixture_id}/{name}" + ("" if line_e2 is None else f"/{line_e2}")


def canonicalise(quote_set: market_pb2.QuoteSet) -> bytes:
    """Sorts the free-order fields and serialises deterministically."""
    for market in quote_set.markets:
        market.selections.sort(key=lambda s: s.selection_id)
    quote_set.markets.sort(key=lambda m: m.market_id)
    return canonical_bytes(quote_set)


def quote_digest(data: bytes) -> str:
    return digest_bytes(data)


def _validate_fixture(fixture: sport_pb2.Fixture, sport: sport_pb2.Sport.ValueType) -> None:
    if not fixture.fixture_id:
        raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture.fixture_id is required")
    if fixture.sport != sport:
        raise InvalidArgument(
            "SPORT_MISMATCH",
            f"this replica prices {sport_pb2.Sport.Name(sport)}, not "
            f"{sport_pb2.Sport.Name(fixture.sport)}",
            {"replica_sport": sport_pb2.Sport.Name(sport)},
        )
    if not fixture.home.participant_id or not fixture.away.participant_id:
        raise InvalidArgument("PARTICIPANTS_REQUIRED", "fixture.home and fixture.away are required")
    if fixture.home.participant_id == fixture.away.participant_id:
        raise InvalidArgument("SAME_PARTICIPANTS", "home and away must differ")


def price_fixture(
    fixture: sport_pb2.Fixture,
    snapshot: snapshot_pb2.ModelSnapshot,
    snapshot_hash: str,
    market_types: Sequence[MT.ValueType],
    game_state: game_state_pb2.GameState | None,
    sport: sport_pb2.Sport.ValueType,
) -> market_pb2.QuoteSet:
    _validate_fixture(fixture, sport)
    if snapshot.sport != sport:
        raise FailedPrecondition("SNAPSHOT_SPORT_MISMATCH", "the snapshot is for another sport")
    if game_state is not None:
        raise Unimplemented("LIVE_PRICING_NOT_IMPLEMENTED", "in-play pricing is not built yet")
    supported = SUPPORTED.get(sport, ())
    wanted = list(dict.fromkeys(market_types)) or list(supported)
    unsupported = [t for t in wanted if t not in supported]
    if not supported or unsupported:
        raise Unimplemented(
            "MARKET_TYPE_NOT_IMPLEMENTED",
            "not priced yet: " + ", ".join(MT.Name(t) for t in unsupported or wanted),
        )
    quote_set = market_pb2.QuoteSet(
        fixture_id=fixture.fixture_id,
        sport=sport,
        phase=market_pb2.PRICING_PHASE_PRE_MATCH,
        snapshot_hash=snapshot_hash,
    )
    quote_set.markets.extend(_football_markets(fixture, snapshot, wanted))
    return quote_set


def _football_markets(
    fixture: sport_pb2.Fixture, snapshot: snapshot_pb2.ModelSnapshot, wanted: list[MT.ValueType]
) -> list[market_pb2.Market]:
    params = snapshot.football
    teams = {t.participant_id: t for t in params.teams}
    missing = [
        p.participant_id for p in (fixture.home, fixture.away) if p.participant_id not in teams
    ]
    if missing:
        raise InvalidArgument(
            "UNKNOWN_PARTICIPANT",
            "no rating in the snapshot for " + ", ".join(missing),
            {"participant_ids": ",".join(missing)},
        )
    home, away = teams[fixture.home.participant_id], teams[fixture.away.participant_id]
    home_rate, away_rate = football.expected_goals(
        home.attack,
        home.defence,
        away.attack,
        away.defence,
        params.home_advantage,
        fixture.neutral_venue,
    )
    grid = football.dixon_coles_grid(home_rate, away_rate, params.rho, params.max_goals or 10)
    markets = []
    if market_pb2.MARKET_TYPE_MATCH_RESULT in wanted:
        probabilities = [margin.to_probability_e9(p) for p in grid.match_result()]
        names = [fixture.home.name or home.name, "Draw", fixture.away.name or away.name]
        markets.append(
            _market(
                fixture.fixture_id,
                market_pb2.MARKET_TYPE_MATCH_RESULT,
                "Match result",
                ["home", "draw", "away"],
                names,
                probabilities,
                snapshot.pricing_policy,
            )
        )
    return markets


def _market(
    fixture_id: str,
    market_type: MT.ValueType,
    name: str,
    selection_ids: list[str],
    selection_names: list[str],
    probabilities_e9: list[int],
    policy: snapshot_pb2.PricingPolicy,
) -> market_pb2.Market:
    rule = margin_for(policy, market_type)
    if rule.method != snapshot_pb2.MARGIN_METHOD_MULTIPLICATIVE:
        raise Unimplemented(
            "MARGIN_METHOD_NOT_IMPLEMENTED", snapshot_pb2.MarginMethod.Name(rule.method)
        )
    payout = min(rule.target_payout_e4, policy.payout_cap_e4 or 8_500)
    priced = margin.multiplicative(probabilities_e9, payout, policy.min_odds_e4 or 10_100)
    return market_pb2.Market(
        market_id=market_id(fixture_id, market_type),
        type=market_type,
        name=name,
        status=market_pb2.MARKET_STATUS_ACTIVE,
        payout_e4=margin.theoretical_payout_e4(priced),
        selections=[
            market_pb2.Selection(
                selection_id=sid,
                name=sname,
                odds_e4=p.odds_e4,
                probability_e9=p.probability_e9,
                status=market_pb2.SELECTION_STATUS_ACTIVE
                if p.odds_e4
                else market_pb2.SELECTION_STATUS_WITHDRAWN,
            )
            for sid, sname, p in zip(selection_ids, selection_names, priced, strict=True)
        ],
    )

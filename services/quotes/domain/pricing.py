"""Prices a fixture from a snapshot into a canonical QuoteSet.

The pipeline: the sport's model gives `MarketProbabilities` (fair, effective probabilities as
floats) -> `margin.to_probability_e9` (the one rounding rule) -> the margin method and target
payout of the market type from the snapshot's `PricingPolicy`, its margin scaled by the
request's `margin_scale_e4` (the return-to-player controller's steer) -> offered prices rounded
down to the ladder, below the minimum odds floored or withdrawn as the policy says (integers
only, see margin.py) -> `Market` messages -> canonical bytes (markets sorted by id, selections
by id).

One policy for pre-match and in play: the same method and target per market type whatever the
phase, so a market priced at kick-off from the starting game state has the pre-match prices, and
in play only events move them. No per-market payout cap: the legal 85% is a yearly average per
licence (décret 2020-1349 art. 27), whose one home is the gateway's controller.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from service_runtime.digest import canonical_bytes, digest_bytes
from service_runtime.errors import FailedPrecondition, InvalidArgument, Unimplemented
from service_runtime.limits import check_within_contract
from services.quotes.domain import (
    basketball,
    basketball_rules,
    football,
    inplay,
    inplay_basketball,
    inplay_tennis,
    margin,
    tennis,
)
from services.quotes.domain.engines import (
    BASKETBALL_CDF,
    ENGINES,
    FOOTBALL_DIRECT,
    TENNIS_CLOSED_FORM,
)
from services.quotes.domain.football_markets import FOOTBALL_MARKET_TYPES, football_markets
from services.quotes.domain.independent import basketball_cdf, football_direct, tennis_closed_form
from services.quotes.domain.ladder import LADDER, MIN_ODDS_E4
from services.quotes.domain.markets import MarketProbabilities

MT = market_pb2.MarketType
DEFAULT_PAYOUT_E4 = 8_500
# The controller's steer only ever adds margin, at most fivefold (a 15% margin becomes 75%).
MAX_MARGIN_SCALE_E4 = 50_000
DEFAULT_MAX_GOALS = 10

# Every market type of each sport, and the ones priced today: all of them (a type added to a
# sport before its pricing would be left out of SUPPORTED, MARKET_TYPE_NOT_IMPLEMENTED).
SPORT_TYPES: dict[sport_pb2.Sport.ValueType, tuple[MT.ValueType, ...]] = {
    sport_pb2.SPORT_FOOTBALL: FOOTBALL_MARKET_TYPES,
    sport_pb2.SPORT_TENNIS: tennis.MARKET_TYPES,
    sport_pb2.SPORT_BASKETBALL: basketball.MARKET_TYPES,
}
SUPPORTED = SPORT_TYPES
_PARAMETERS = {
    sport_pb2.SPORT_FOOTBALL: "football",
    sport_pb2.SPORT_TENNIS: "tennis",
    sport_pb2.SPORT_BASKETBALL: "basketball",
}
_METHODS = {
    snapshot_pb2.MARGIN_METHOD_MULTIPLICATIVE: margin.Method.MULTIPLICATIVE,
    snapshot_pb2.MARGIN_METHOD_POWER: margin.Method.POWER,
    snapshot_pb2.MARGIN_METHOD_ODDS_PROPORTIONAL: margin.Method.ODDS_PROPORTIONAL,
    snapshot_pb2.MARGIN_METHOD_ADDITIVE: margin.Method.ADDITIVE,
    snapshot_pb2.MARGIN_METHOD_SHIN: margin.Method.SHIN,
    snapshot_pb2.MARGIN_METHOD_ODDS_RATIO: margin.Method.ODDS_RATIO,
}


def market_id(
    fixture_id: str,
    market_type: MT.ValueType,
    line_e2: int | None = None,
    side: sport_pb2.Side.ValueType = sport_pb2.SIDE_UNSPECIFIED,
) -> str:
    parts = [fixture_id, MT.Name(market_type).removeprefix("MARKET_TYPE_")]
    if side != sport_pb2.SIDE_UNSPECIFIED:
        parts.append(sport_pb2.Side.Name(side).removeprefix("SIDE_"))
    if line_e2 is not None:
        parts.append(str(line_e2))
    return "/".join(parts)


def canonicalise(quote_set: market_pb2.QuoteSet) -> bytes:
    """Sorts the free-order fields and serialises deterministically."""
    for market in quote_set.markets:
        market.selections.sort(key=lambda s: s.selection_id)
    quote_set.markets.sort(key=lambda m: m.market_id)
    return canonical_bytes(quote_set)


def quote_digest(data: bytes) -> str:
    return digest_bytes(data)


# ---- pricing policy -----------------------------------------------------------------------


@dataclass(frozen=True)
class MarketRule:
    method: margin.Method
    payout_e4: int  # margin already scaled


@dataclass(frozen=True)
class Policy:
    min_odds_e4: int
    floor_short: bool
    default: MarketRule
    by_type: dict[MT.ValueType, MarketRule]

    def rule(self, market_type: MT.ValueType) -> MarketRule:
        return self.by_type.get(market_type, self.default)


def _bad_policy(message: str) -> FailedPrecondition:
    return FailedPrecondition("INVALID_PRICING_POLICY", f"the snapshot's pricing policy: {message}")


def resolve_policy(
    policy: snapshot_pb2.PricingPolicy, margin_scale_e4: int = margin.PAYOUT_SCALE
) -> Policy:
    """Defaults filled in (minimum odds 1.01, multiplicative at 85%), checked, and every
    target's margin scaled by margin_scale_e4 / 1e4. The same for pre-match and in play."""
    # The retired fields: a per-market cap and separate in-play rules. A snapshot that still
    # sets them meant something this pricing no longer does, so it is refused, not reinterpreted.
    if policy.payout_cap_e4:
        raise _bad_policy(
            "payout_cap_e4 is retired: the 85% is a yearly average steered by the gateway's "
            "return-to-player controller, not a per-market cap"
        )
    if policy.live_margins or policy.HasField("live_default_margin"):
        raise _bad_policy(
            "live_margins and live_default_margin are retired: one policy prices pre-match "
            "and in play, so prices do not jump at kick-off"
        )
    if not margin.PAYOUT_SCALE <= margin_scale_e4 <= MAX_MARGIN_SCALE_E4:
        raise InvalidArgument(
            "MARGIN_SCALE_OUT_OF_RANGE",
            f"margin_scale_e4 must lie in [{margin.PAYOUT_SCALE}, {MAX_MARGIN_SCALE_E4}], "
            f"not {margin_scale_e4}",
        )
    min_odds = policy.min_odds_e4 or MIN_ODDS_E4
    if min_odds < MIN_ODDS_E4:
        raise _bad_policy(f"min_odds_e4 {min_odds} is below the ladder's 1.01")
    if policy.floor_short_prices and min_odds not in _LADDER_PRICES:
        raise _bad_policy(f"min_odds_e4 {min_odds} is not a ladder price, so it cannot be a floor")

    def rule(m: snapshot_pb2.MarketMargin, fallback: MarketRule | None) -> MarketRule:
        if m.method == snapshot_pb2.MARGIN_METHOD_UNSPECIFIED:
            method = fallback.method if fallback else margin.Method.MULTIPLICATIVE
        elif m.method in _METHODS:
            method = _METHODS[m.method]
        else:
            raise _bad_policy(f"unknown margin method {m.method}")
        if m.target_payout_e4 > margin.PAYOUT_SCALE:
            raise _bad_policy(f"target payout {m.target_payout_e4} is above 100%")
        if m.target_payout_e4:
            return MarketRule(method, margin.scaled_payout_e4(m.target_payout_e4, margin_scale_e4))
        if fallback:
            return MarketRule(method, fallback.payout_e4)
        return MarketRule(method, margin.scaled_payout_e4(DEFAULT_PAYOUT_E4, margin_scale_e4))

    default = rule(policy.default_margin, None)
    by_type = {m.market_type: rule(m, default) for m in policy.margins}
    return Policy(min_odds, policy.floor_short_prices, default, by_type)


_LADDER_PRICES = frozenset(LADDER)


def price_market(fixture_id: str, market: MarketProbabilities, policy: Policy) -> market_pb2.Market:
    rule = policy.rule(market.market_type)
    probabilities = [margin.to_probability_e9(s.probability) for s in market.selections]
    probability_sum = int(market.extra.get("probability_sum", "1"))
    priced = margin.price(
        probabilities,
        rule.method,
        rule.payout_e4,
        policy.min_odds_e4,
        probability_sum,
        policy.floor_short,
    )
    offered = any(not s.withdrawn for s in priced.selections)
    return market_pb2.Market(
        market_id=market_id(fixture_id, market.market_type, market.line_e2, market.side),
        type=market.market_type,
        name=market.name,
        line_e2=market.line_e2 or 0,
        side=market.side,
        status=market_pb2.MARKET_STATUS_ACTIVE if offered else market_pb2.MARKET_STATUS_DEACTIVATED,
        payout_e4=priced.payout_e4,
        selections=[
            market_pb2.Selection(
                selection_id=selection.selection_id,
                name=selection.name,
                odds_e4=p.odds_e4,
                probability_e9=p.probability_e9,
                status=market_pb2.SELECTION_STATUS_WITHDRAWN
                if p.withdrawn
                else market_pb2.SELECTION_STATUS_ACTIVE,
            )
            for selection, p in zip(market.selections, priced.selections, strict=True)
        ],
    )


# ---- request checks -----------------------------------------------------------------------


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
    if sport == sport_pb2.SPORT_TENNIS and fixture.best_of_sets not in (3, 5):
        raise InvalidArgument(
            "INVALID_BEST_OF_SETS",
            f"a tennis fixture is best of 3 or 5 sets, not {fixture.best_of_sets}",
        )


def _wanted_types(
    market_types: Sequence[MT.ValueType], sport: sport_pb2.Sport.ValueType
) -> list[MT.ValueType]:
    every = SPORT_TYPES[sport]
    wanted = list(dict.fromkeys(market_types))
    foreign = [t for t in wanted if t not in every]
    if foreign:
        names = ", ".join(MT.Name(t) if t in MT.values() else str(t) for t in foreign)
        raise InvalidArgument(
            "MARKET_TYPE_NOT_FOR_SPORT",
            f"{sport_pb2.Sport.Name(sport)} has no market type {names}",
        )
    supported = SUPPORTED[sport]
    unbuilt = [t for t in wanted if t not in supported]
    if unbuilt:
        raise Unimplemented(
            "MARKET_TYPE_NOT_IMPLEMENTED",
            "not priced yet: " + ", ".join(MT.Name(t) for t in unbuilt),
        )
    return wanted or list(supported)


def _bad_parameters(message: str) -> FailedPrecondition:
    return FailedPrecondition("INVALID_SNAPSHOT_PARAMETERS", message)


R = TypeVar("R", snapshot_pb2.TeamRating, snapshot_pb2.PlayerRating)


def _ratings(fixture: sport_pb2.Fixture, ratings: Iterable[R]) -> tuple[R, R]:
    """The home and away ratings from the snapshot; INVALID_ARGUMENT naming any missing one."""
    by_id = {r.participant_id: r for r in ratings}
    missing = [
        p.participant_id for p in (fixture.home, fixture.away) if p.participant_id not in by_id
    ]
    if missing:
        raise InvalidArgument(
            "UNKNOWN_PARTICIPANT",
            "no rating in the snapshot for " + ", ".join(missing),
            {"participant_ids": ",".join(missing)},
        )
    return by_id[fixture.home.participant_id], by_id[fixture.away.participant_id]


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


# ---- the entry point ----------------------------------------------------------------------


def price_fixture(
    fixture: sport_pb2.Fixture,
    snapshot: snapshot_pb2.ModelSnapshot,
    snapshot_hash: str,
    market_types: Sequence[MT.ValueType],
    game_state: game_state_pb2.GameState | None,
    sport: sport_pb2.Sport.ValueType,
    engine: str = "",
    margin_scale_e4: int = 0,
) -> market_pb2.QuoteSet:
    """The canonical quote set from one of the sport's engines (its reference engine by
    default): the engines differ in how they compute the fair probabilities, never in what
    follows (this function and `price_market` are the shared canonical encoder).
    `margin_scale_e4` (0: 1e4, the policy as written) multiplies every market's margin."""
    _validate_fixture(fixture, sport)
    engine = engine or ENGINES[sport][0]
    if engine not in ENGINES[sport]:
        raise FailedPrecondition(
            "UNKNOWN_ENGINE", f"{sport_pb2.Sport.Name(sport)} has no engine {engine[:40]!r}"
        )
    if snapshot.sport != sport or snapshot.WhichOneof("parameters") != _PARAMETERS[sport]:
        raise FailedPrecondition(
            "SNAPSHOT_SPORT_MISMATCH",
            f"snapshot {snapshot_hash} is not a {sport_pb2.Sport.Name(sport)} snapshot",
        )
    if game_state is not None:
        _validate_game_state(game_state, sport, fixture.best_of_sets)
    wanted = _wanted_types(market_types, sport)
    policy = resolve_policy(snapshot.pricing_policy, margin_scale_e4 or margin.PAYOUT_SCALE)
    model = _MODELS[sport]
    quote_set = market_pb2.QuoteSet(
        fixture_id=fixture.fixture_id,
        sport=sport,
        # In play: same snapshot and pipeline, the game state conditions the model.
        phase=market_pb2.PRICING_PHASE_PRE_MATCH
        if game_state is None
        else market_pb2.PRICING_PHASE_LIVE,
        snapshot_hash=snapshot_hash,
        event_sequence=game_state.event_sequence if game_state is not None else 0,
        # Recorded in the set itself: what an accepted price was steered by stays auditable,
        # and the gateway's scheduler reprices a fixture whose steer has changed.
        margin_scale_e4=0 if margin_scale_e4 == margin.PAYOUT_SCALE else margin_scale_e4,
    )
    quote_set.markets.extend(
        price_market(fixture.fixture_id, m, policy)
        for m in model(fixture, snapshot, wanted, game_state, engine)
    )
    if game_state is not None:
        inplay.withdraw_decided(quote_set)
    return quote_set


_SPORT_STATES = {
    sport_pb2.SPORT_FOOTBALL: "football",
    sport_pb2.SPORT_TENNIS: "tennis",
    sport_pb2.SPORT_BASKETBALL: "basketball",
}


def _validate_game_state(
    game_state: game_state_pb2.GameState, sport: sport_pb2.Sport.ValueType, best_of_sets: int
) -> None:
    if game_state.WhichOneof("sport_state") != _SPORT_STATES[sport]:
        raise InvalidArgument(
            "GAME_STATE_SPORT_MISMATCH",
            f"in-play pricing of {sport_pb2.Sport.Name(sport)} needs "
            f"game_state.{_SPORT_STATES[sport]}",
        )
    # The models size their grids and distributions from the score: bounded to what the sport
    # allows (the contract's own bounds, checked again here whoever called), so no request
    # makes a replica allocate in proportion to a number it sent.
    check_within_contract(game_state, "GAME_STATE_OUT_OF_RANGE", "game_state")
    if sport == sport_pb2.SPORT_TENNIS and len(game_state.tennis.sets) > best_of_sets:
        raise InvalidArgument(
            "GAME_STATE_OUT_OF_RANGE",
            f"game_state.tennis.sets has more sets than the match's best of {best_of_sets}",
        )


def football_model(
    fixture: sport_pb2.Fixture,
    snapshot: snapshot_pb2.ModelSnapshot,
    wanted: list[MT.ValueType],
    game_state: game_state_pb2.GameState | None = None,
    engine: str = "",
) -> list[MarketProbabilities]:
    params = snapshot.football
    home, away = _ratings(fixture, params.teams)
    max_goals = params.max_goals or DEFAULT_MAX_GOALS
    if not 1 <= max_goals <= 30 or not _finite(
        home.attack, home.defence, away.attack, away.defence, params.home_advantage, params.rho
    ):
        raise _bad_parameters("football parameters must be finite, max_goals within 1..30")
    if engine == FOOTBALL_DIRECT:
        return football_direct.model(fixture, snapshot, home, away, max_goals, wanted, game_state)
    home_rate, away_rate = football.expected_goals(
        home.attack,
        home.defence,
        away.attack,
        away.defence,
        params.home_advantage,
        fixture.neutral_venue,
    )
    if game_state is None:
        grid = football.dixon_coles_grid(home_rate, away_rate, params.rho, max_goals)
    else:
        grid = inplay.live_grid(home_rate, away_rate, params.rho, max_goals, game_state)
    home_name = fixture.home.name or home.name
    away_name = fixture.away.name or away.name
    return football_markets(grid, home_name, away_name, wanted)


def tennis_rules(params: snapshot_pb2.TennisParameters, best_of_sets: int) -> tennis.TennisRules:
    tiebreak_at = params.tiebreak_at_games
    points = params.final_set_tiebreak_points or 7
    if tiebreak_at and not tennis.SET_GAMES <= tiebreak_at <= tennis.ADVANTAGE_CAP:
        raise _bad_parameters(
            f"tiebreak_at_games must be 0 (advantage sets) or {tennis.SET_GAMES}.."
            f"{tennis.ADVANTAGE_CAP}, not {tiebreak_at}"
        )
    if params.final_set_tiebreak and points not in (7, 10):
        raise _bad_parameters(f"final_set_tiebreak_points must be 7 or 10, not {points}")
    return tennis.TennisRules(best_of_sets, tiebreak_at, params.final_set_tiebreak, points)


def serve_probabilities(
    params: snapshot_pb2.TennisParameters,
    home: snapshot_pb2.PlayerRating,
    away: snapshot_pb2.PlayerRating,
) -> tuple[float, float]:
    """Each player's chance of winning a point on their own serve against the other (the
    matchup formula, r_avg over the snapshot's players): what the Markov pricing, and a match
    drawn from the model (services/live/generated.py), run on."""
    average_return = math.fsum(p.return_point_win for p in params.players) / len(params.players)
    pa = tennis.matchup_serve_probability(
        home.serve_point_win, away.return_point_win, average_return
    )
    pb = tennis.matchup_serve_probability(
        away.serve_point_win, home.return_point_win, average_return
    )
    return pa, pb


def tennis_model(
    fixture: sport_pb2.Fixture,
    snapshot: snapshot_pb2.ModelSnapshot,
    wanted: list[MT.ValueType],
    game_state: game_state_pb2.GameState | None = None,
    engine: str = "",
) -> list[MarketProbabilities]:
    params = snapshot.tennis
    home, away = _ratings(fixture, params.players)
    rules = tennis_rules(params, fixture.best_of_sets)
    if not all(
        0.0 < p.serve_point_win < 1.0 and 0.0 < p.return_point_win < 1.0 for p in params.players
    ):
        raise _bad_parameters("serve_point_win and return_point_win must lie in (0, 1)")
    if engine == TENNIS_CLOSED_FORM:
        return tennis_closed_form.model(fixture, snapshot, home, away, wanted, game_state)
    pa, pb = serve_probabilities(params, home, away)
    live = (
        inplay_tennis.live_distribution(pa, pb, rules, game_state.tennis)
        if game_state is not None
        else None
    )
    dist = live if live is not None else tennis.match_distribution(pa, pb, rules)
    return tennis.tennis_markets(
        dist,
        fixture.home.name or home.name,
        fixture.away.name or away.name,
        fixture.best_of_sets,
        wanted,
    )


def basketball_model(
    fixture: sport_pb2.Fixture,
    snapshot: snapshot_pb2.ModelSnapshot,
    wanted: list[MT.ValueType],
    game_state: game_state_pb2.GameState | None = None,
    engine: str = "",
) -> list[MarketProbabilities]:
    params = snapshot.basketball
    home, away = _ratings(fixture, params.teams)
    if not (
        _finite(home.attack, home.defence, away.attack, away.defence, params.home_advantage_points)
        and 0.0 < params.margin_sigma < 100.0
        and 0.0 < params.total_sigma < 200.0
        and 0.0 < params.mean_total_points < 1_000.0
    ):
        raise _bad_parameters(
            "basketball parameters must be finite, sigmas and mean_total_points positive"
        )
    # The fixture's rules (and the clock live runs them on): regulation and overtime length.
    clock = basketball_rules.clock(fixture, game_state)
    if engine == BASKETBALL_CDF:
        return basketball_cdf.model(fixture, snapshot, home, away, wanted, game_state, clock)
    e = basketball.expectation(
        home.attack,
        home.defence,
        away.attack,
        away.defence,
        params.home_advantage_points,
        params.mean_total_points,
        params.margin_sigma,
        params.total_sigma,
        fixture.neutral_venue,
        clock.overtime_fraction,
    )
    home_name, away_name = fixture.home.name or home.name, fixture.away.name or away.name
    if game_state is not None:
        return inplay_basketball.live_markets(
            e, game_state, home_name, away_name, wanted, clock.regulation_seconds
        )
    return basketball.basketball_markets(e, home_name, away_name, wanted)


_MODELS = {
    sport_pb2.SPORT_FOOTBALL: football_model,
    sport_pb2.SPORT_TENNIS: tennis_model,
    sport_pb2.SPORT_BASKETBALL: basketball_model,
}

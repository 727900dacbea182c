"""The week's fixtures across the three sports, loaded and priced through consensus."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gateway_grpc
from betmesh.gateway.v1 import fixture_service_pb2, fixture_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc, snapshot_pb2

from launcher.demo.betting import accepted_price
from launcher.demo.client import RPC_TIMEOUT, Clients, NotBuilt
from launcher.demo.state import Match, sport_name
from launcher.demo.text import at, odds
from services.live.generated import football_script, tennis_script
from services.live.simulator import TimedEvent, load, load_file
from services.quotes.domain.football import expected_goals
from services.quotes.domain.pricing import serve_probabilities

SPORTS = (sport_pb2.SPORT_FOOTBALL, sport_pb2.SPORT_TENNIS, sport_pb2.SPORT_BASKETBALL)
# Fixtures per day after today, per sport: a plausible week without flooding a 2-core machine.
PER_DAY = {sport_pb2.SPORT_FOOTBALL: 2, sport_pb2.SPORT_TENNIS: 1, sport_pb2.SPORT_BASKETBALL: 1}
WEEK_DAYS = 6
COMPETITIONS = {
    sport_pb2.SPORT_FOOTBALL: ("epl", "Premier League"),
    sport_pb2.SPORT_TENNIS: ("atp-finals", "ATP Finals"),
    sport_pb2.SPORT_BASKETBALL: ("nba", "NBA"),
}
# Today's matches start this long after loading: bets are taken before the simulator
# kicks them off (their real start is whenever MATCH_STARTED arrives).
KICK_OFF_AFTER_SECONDS = 15 * 60
PRICING_TIMEOUT = 180.0
# Today's tennis match is between two of the fitted model's strongest players on hard courts
# (serve plus return point win), as the ATP Finals are between the season's best eight.
FINALS_PLAYERS = 8
_DISPLAY_ORDER = {"home": 0, "draw": 1, "away": 2}


@dataclass
class Week:
    fixtures: list[sport_pb2.Fixture]
    live: list[Match]
    snapshots: dict[str, str] = field(default_factory=dict)
    # Pre-match accepted quote sets of our fixtures, by fixture id.
    prices: dict[str, gateway_pb2.AcceptedQuoteSet] = field(default_factory=dict)
    pricing_seconds: float = 0.0
    report: gateway_pb2.RunPreMatchPricingResponse | None = None

    def sport_of(self, fixture_id: str) -> str:
        for fixture in self.fixtures:
            if fixture.fixture_id == fixture_id:
                return sport_name(fixture.sport)
        return "?"


def _short(participant_id: str) -> str:
    return participant_id.rsplit(":", maxsplit=1)[-1].replace("-", "")[:3].upper()


def current_snapshot(
    clients: Clients, sport: sport_pb2.Sport.ValueType
) -> snapshot_pb2.ModelSnapshot:
    """The sport's newest snapshot (any replica will do): what the week is priced from."""
    name = sport_name(sport)
    replica = next(
        (n for n in sorted(clients.target.addresses) if n.startswith(f"quotes-{name}-")), None
    )
    if replica is None:
        raise NotBuilt(f"no {name} quote replica in this mesh")
    stub = quote_service_pb2_grpc.QuoteServiceStub(clients.channel(replica))
    response = stub.ListModelSnapshots(
        quote_service_pb2.ListModelSnapshotsRequest(sport=sport),  # type: ignore[arg-type]
        timeout=RPC_TIMEOUT,
        metadata=clients.operator("betmesh.quotes"),
    )
    listed = list(response.snapshots)
    if sport == sport_pb2.SPORT_TENNIS:
        # The demo's tennis is on hard courts (its fixtures name no surface): the newest
        # hard-court snapshot, as the gateway prices them (a clay or grass one may be newer).
        court = (sport_pb2.TENNIS_SURFACE_HARD, sport_pb2.TENNIS_SURFACE_UNSPECIFIED)
        listed = [s for s in listed if s.snapshot.tennis.surface in court] or listed
    if not listed:
        raise RuntimeError(f"{replica} knows no {name} snapshot")
    snapshot: snapshot_pb2.ModelSnapshot = listed[0].snapshot
    return snapshot


def rated(
    snapshot: snapshot_pb2.ModelSnapshot, sport: sport_pb2.Sport.ValueType
) -> list[sport_pb2.Participant]:
    """The participants the snapshot rates."""
    ratings: list[snapshot_pb2.TeamRating] | list[snapshot_pb2.PlayerRating]
    if sport == sport_pb2.SPORT_TENNIS:
        ratings = list(snapshot.tennis.players)
    elif sport == sport_pb2.SPORT_BASKETBALL:
        ratings = list(snapshot.basketball.teams)
    else:
        ratings = list(snapshot.football.teams)
    return [
        sport_pb2.Participant(participant_id=r.participant_id, name=r.name or r.participant_id)
        for r in ratings
    ]


def participants(clients: Clients, sport: sport_pb2.Sport.ValueType) -> list[sport_pb2.Participant]:
    """The participants the sport's current model knows."""
    return rated(current_snapshot(clients, sport), sport)


Named = sport_pb2.Participant | snapshot_pb2.PlayerRating


def _script_fixture(
    fixture_id: str, sport: str, code: str, competition: str, home: Named, away: Named
) -> dict[str, object]:
    """The fixture header of a generated match script (services/live/generated.py)."""
    return {
        "fixture_id": fixture_id,
        "sport": sport,
        "competition_id": code,
        "competition_name": competition,
        "home": {"participant_id": home.participant_id, "name": home.name},
        "away": {"participant_id": away.participant_id, "name": away.name},
    }


def generated_football(
    snapshot: snapshot_pb2.ModelSnapshot, fixture_id: str, rng: random.Random
) -> tuple[list[TimedEvent], str]:
    """Today's live football match: two Premier League teams of the fitted model, its goals
    drawn from the model's expected goals for that fixture (services/live/generated.py)."""
    pool = rated(snapshot, sport_pb2.SPORT_FOOTBALL)
    chosen = leagues(sport_pb2.SPORT_FOOTBALL, pool)
    code, competition, teams = next((c for c in chosen if c[1] == "Premier League"), chosen[0])
    home, away = rng.sample(teams, 2)
    ratings = {t.participant_id: t for t in snapshot.football.teams}
    h, a = ratings[home.participant_id], ratings[away.participant_id]
    params = snapshot.football
    home_rate, away_rate = expected_goals(
        h.attack, h.defence, a.attack, a.defence, params.home_advantage, neutral=False
    )
    fixture = _script_fixture(fixture_id, "football", code, competition, home, away)
    script = football_script(fixture, home_rate, away_rate, rng)
    label = f"generated: {home_rate:.2f}-{away_rate:.2f} expected goals, {snapshot.model}"
    return load(script), label


def generated_tennis(
    snapshot: snapshot_pb2.ModelSnapshot, fixture_id: str, rng: random.Random
) -> tuple[list[TimedEvent], str]:
    """Today's live tennis match: two of the hard-court snapshot's best eight players, played
    point by point from their serve-point wins against each other (the pricing's matchup
    formula; services/live/generated.py)."""
    players = sorted(
        snapshot.tennis.players,
        key=lambda p: (-(p.serve_point_win + p.return_point_win), p.participant_id),
    )
    home, away = rng.sample(players[:FINALS_PLAYERS], 2)
    p_home, p_away = serve_probabilities(snapshot.tennis, home, away)
    code, competition = COMPETITIONS[sport_pb2.SPORT_TENNIS]
    fixture = _script_fixture(fixture_id, "tennis", code, competition, home, away)
    script = tennis_script(fixture, p_home, p_away, rng, best_of_sets=3)
    label = f"generated: serve points {p_home:.3f}-{p_away:.3f}, {snapshot.model}"
    return load(script), label


def leagues(
    sport: sport_pb2.Sport.ValueType, pool: list[sport_pb2.Participant]
) -> list[tuple[str, str, list[sport_pb2.Participant]]]:
    """(competition id, name, participants) the sport's fixtures are drawn from: for football
    each shipped league's teams of its latest season that the model rates (a fixture pairs two
    teams of one league, as the data does); otherwise the sport's one competition."""
    code, competition = COMPETITIONS[sport]
    if sport != sport_pb2.SPORT_FOOTBALL:
        return [(code, competition, pool)]
    # Imported here: only the football demo reads the shipped data's leagues.
    from services.quotes.fitting.football import teams_by_competition

    rated = {p.participant_id: p for p in pool}
    found = []
    for name, teams in teams_by_competition().items():
        members = [rated[pid] for pid, _ in teams if pid in rated]
        if len(members) >= 2:
            found.append((name.lower().replace(" ", "-"), name, members))
    return found or [(code, competition, pool)]


def plan_week(clients: Clients, run_id: str, rng: random.Random) -> Week:
    """Today's three live matches (football and tennis drawn from their models now, basketball
    the simulator's script drawn from its model) and six more days of fixtures."""
    today = time.time()
    live: list[Match] = []
    fixtures: list[sport_pb2.Fixture] = []
    for sport in SPORTS:
        name = sport_name(sport)
        script = f"{name}.json"
        if sport == sport_pb2.SPORT_FOOTBALL:
            snapshot = current_snapshot(clients, sport)
            timeline, script = generated_football(snapshot, f"md-{run_id}-{name}-live", rng)
        elif sport == sport_pb2.SPORT_TENNIS:
            snapshot = current_snapshot(clients, sport)
            timeline, script = generated_tennis(snapshot, f"md-{run_id}-{name}-live", rng)
        else:
            timeline = load_file(script, fixture_id=f"md-{run_id}-{name}-live")
        fixture = sport_pb2.Fixture()
        fixture.CopyFrom(timeline[0].event.fixture)
        fixture.start_time.CopyFrom(at(today + KICK_OFF_AFTER_SECONDS))
        fixture.status = sport_pb2.FIXTURE_STATUS_SCHEDULED
        # The scripted MATCH_STARTED carries the fixture: the same start time keeps the
        # fixture the gateway priced pre-match and the one the feed sends identical.
        timeline[0].event.fixture.CopyFrom(fixture)
        short = f"{_short(fixture.home.participant_id)}-{_short(fixture.away.participant_id)}"
        live.append(Match(fixture, script, len(timeline), short, timeline))
        fixtures.append(fixture)
    for sport in SPORTS:
        drawn_from = leagues(sport, participants(clients, sport))
        for day in range(1, WEEK_DAYS + 1):
            for k in range(PER_DAY[sport]):
                code, competition, pool = rng.choice(drawn_from)
                if len(pool) < 2:
                    break
                home, away = rng.sample(pool, 2)
                fixtures.append(
                    sport_pb2.Fixture(
                        fixture_id=f"md-{run_id}-{sport_name(sport)}-d{day}-{k}",
                        sport=sport,  # type: ignore[arg-type]
                        competition_id=code,
                        competition_name=competition,
                        home=home,
                        away=away,
                        start_time=at(today + day * 86_400 + (18 + 2 * k) * 3_600),
                        status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
                        best_of_sets=3 if sport == sport_pb2.SPORT_TENNIS else 0,
                    )
                )
    return Week(fixtures, live)


def load_and_price(clients: Clients, week: Week) -> None:
    """Upserts the fixtures and runs the pre-match scheduler now; then reads back each of our
    fixtures' accepted quote set (what the bets service prices bets from)."""
    metadata = clients.operator("betmesh.gateway")
    started = time.monotonic()
    fixture_service_pb2_grpc.FixtureServiceStub(clients.channel("gateway")).UpsertFixtures(
        fixture_service_pb2.UpsertFixturesRequest(fixtures=week.fixtures),
        timeout=RPC_TIMEOUT * 3,
        metadata=metadata,
    )
    gateway = gateway_grpc.ConsensusGatewayServiceStub(clients.channel("gateway"))
    week.report = gateway.RunPreMatchPricing(
        gateway_pb2.RunPreMatchPricingRequest(), timeout=PRICING_TIMEOUT, metadata=metadata
    )
    week.snapshots = {k: v for k, v in week.report.snapshot_hashes.items()}
    refresh_prices(clients, week, [f.fixture_id for f in week.fixtures])
    week.pricing_seconds = time.monotonic() - started


def refresh_prices(clients: Clients, week: Week, fixture_ids: list[str]) -> None:
    """Reads the fixtures' current pre-match prices into `week.prices`, as a frontend re-reads
    the odds before showing a slip: a price can move after it was first read (the gateway
    reprices every fixture when the year's return-to-player steer moves the margin scale)."""

    def read(fixture_id: str) -> tuple[str, gateway_pb2.AcceptedQuoteSet | None]:
        return fixture_id, accepted_price(clients, fixture_id, market_pb2.PRICING_PHASE_PRE_MATCH)

    with ThreadPoolExecutor(6) as pool:
        for fixture_id, accepted in pool.map(read, fixture_ids):
            if accepted is not None:
                week.prices[fixture_id] = accepted


def describe_close_up(week: Week) -> list[str]:
    """The football match's 1X2 and the replicas' votes behind it."""
    football = next(m for m in week.live if m.fixture.sport == sport_pb2.SPORT_FOOTBALL)
    accepted = week.prices.get(football.fixture_id)
    if accepted is None:
        return [f"    {football.name}: no consensus price (not priced)"]
    lines = [f"    {football.name} ({football.fixture_id}), accepted pre-match quote set:"]
    for market in accepted.quote_set.markets:
        if market.type != market_pb2.MARKET_TYPE_MATCH_RESULT:
            continue
        selections = sorted(market.selections, key=lambda s: _DISPLAY_ORDER.get(s.selection_id, 9))
        prices = ", ".join(f"{s.name or s.selection_id} {odds(s.odds_e4)}" for s in selections)
        lines.append(f"      {market.name}: {prices} (payout {market.payout_e4 / 100:.2f}%)")
    evidence = accepted.evidence
    lines.append(
        f"    quorum {evidence.quorum} of {evidence.replica_count} on digest {evidence.digest}"
    )
    for vote in evidence.votes:
        outcome = gateway_pb2.VoteOutcome.Name(vote.outcome).removeprefix("VOTE_OUTCOME_")
        digest = f" {vote.digest[:19]}..." if vote.digest else ""
        lines.append(
            f"      {vote.replica_id or vote.address}: {outcome}{digest} "
            f"in {vote.latency_micros / 1000:.1f} ms"
        )
    return lines

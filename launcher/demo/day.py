"""The match day, phase by phase, through the mesh's public gRPC APIs only."""

from __future__ import annotations

import random
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import grpc
from betmesh.identity.v1 import identity_service_pb2

from launcher.demo import fixtures, report, results
from launcher.demo.betting import Bookie, Leg, crowd_bets, legs_of, story_bets
from launcher.demo.client import Clients, NotBuilt, Target, reason, status_code
from launcher.demo.live_betting import LiveBetting
from launcher.demo.matches import MatchFeed, OddsWatcher
from launcher.demo.players import Player, sign_up
from launcher.demo.progress import Progress
from launcher.demo.state import DayState, Match, PlacedBet, sport_name
from launcher.demo.text import money

# Timeline seconds per wall second: the longest script (football, 110 minutes with the break)
# then takes about 45 s, and the whole day a little over a minute once the mesh is up.
DEFAULT_SPEED = 150.0
DEFAULT_PLAYERS = 30
MIN_PLAYERS = 8  # the story gives eight of them a part
PHASES = 6
# How long the partner stream may take to show the rollback and the bet cancel.
STREAM_WAIT_SECONDS = 45.0


@dataclass
class DemoOptions:
    players: int = DEFAULT_PLAYERS
    speed: float = DEFAULT_SPEED
    summary_json: Path | None = None
    # None: a live status line only when the output is a terminal.
    tty: bool | None = None
    seed: int | None = None


class Failed(Exception):
    """A phase did not do what it should: the demo exits non-zero."""


class Day:
    def __init__(self, target: Target, options: DemoOptions, stream: TextIO) -> None:
        self.options = options
        self.clients = Clients(target)
        self.feed_speed = target.feed_speed
        self.state = DayState(run_id=secrets.token_hex(3), speed=options.speed)
        seed = options.seed if options.seed is not None else int(self.state.run_id, 16)
        self.rng = random.Random(seed)
        self.progress = Progress(stream, self.state.status_line, tty=options.tty)
        self.say = self.progress.say
        self.failures: list[str] = []
        self.players: list[Player] = []
        self.week: fixtures.Week | None = None
        self.headline: PlacedBet | None = None
        # The live match whose result the operator corrects (see live()).
        self.disputed = ""

    # ---- phases -------------------------------------------------------------------------

    def phase(self, number: int, title: str, action: Callable[[], None]) -> bool:
        with self.state.lock:
            self.state.phase = f"{number}/{PHASES} {title}"
        self.say(f"[{number}/{PHASES}] {title}")
        if self.progress.tty:
            self.progress.update()
        started = time.monotonic()
        try:
            action()
        except NotBuilt as exc:
            self.failures.append(f"{title}: not built: {exc}")
        except grpc.RpcError as exc:
            code = status_code(exc)
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            self.failures.append(
                f"{title}: {code.name if code else 'error'}/{reason(exc)}: {details}"
            )
        except Exception as exc:
            self.failures.append(f"{title}: {exc!r}")
        else:
            self.say(f"    ({time.monotonic() - started:.1f} s)")
            return True
        self.say(f"    FAILED: {self.failures[-1]}")
        return False

    def operator_signs_in(self) -> None:
        if not self.clients.has_identity:
            self.say("    no identity service: the mesh runs anonymous")
            return
        response = self.clients.issue("betmesh.bets")
        role = identity_service_pb2.Role.Name(response.role)
        expires = response.access_token.expires_at.ToDatetime().strftime("%H:%M:%S UTC")
        self.say(
            f"    IdentityService.IssueToken: client {self.clients.target.client_id} -> {role}, "
            f"a signed JWT for betmesh.bets until {expires} (renewed as the day goes on)"
        )

    def load_week(self) -> None:
        week = fixtures.plan_week(self.clients, self.state.run_id, self.rng)
        self.week = week
        with self.state.lock:
            self.state.matches = list(week.live)
        fixtures.load_and_price(self.clients, week)
        counts = {s: 0 for s in ("football", "tennis", "basketball")}
        for fixture in week.fixtures:
            counts[sport_name(fixture.sport)] += 1
        with self.state.lock:
            self.state.fixtures_loaded = len(week.fixtures)
        self.say(
            f"    FixtureService.UpsertFixtures: {len(week.fixtures)} fixtures over 7 days "
            f"({', '.join(f'{n} {s}' for s, n in counts.items())}), 3 of them today"
        )
        pricing = week.report
        assert pricing is not None
        self.say(
            f"    ConsensusGatewayService.RunPreMatchPricing: {pricing.fixture_count} fixtures in "
            f"the horizon, {pricing.priced_count} priced now, {pricing.unchanged_count} already "
            f"priced by the scheduler, {pricing.failed_count} failed"
        )
        self.say(
            f"    {len(week.prices)} of our {len(week.fixtures)} fixtures priced through consensus"
            f" in {week.pricing_seconds:.1f} s (load + pricing)"
        )
        for failure in pricing.failures:
            self.say(f"      failed: {failure.reason} x{failure.count}")
        for line in fixtures.describe_close_up(week):
            self.say(line)
        missing = [m.name for m in week.live if m.fixture_id not in week.prices]
        if missing:
            raise Failed(f"today's matches without a consensus price: {', '.join(missing)}")

    def sign_up(self) -> None:
        self.players = sign_up(self.clients, self.state, self.options.players, self.rng, self.say)

    def pre_match(self) -> None:
        week = self.week
        assert week is not None
        bookie = Bookie(self.clients, self.state)
        # The prices read at step 2 may have moved since (a margin-scale steer reprices them all).
        fixtures.refresh_prices(self.clients, week, [m.fixture_id for m in week.live])
        today = [self._legs(m.fixture_id) for m in week.live]
        live_ids = {m.fixture_id for m in week.live}
        later = [self._legs(f.fixture_id) for f in week.fixtures if f.fixture_id not in live_ids]
        football = next((m for m in week.live if m.sport == "football"), None)
        offered = self._legs(football.fixture_id, any_price=True) if football else []
        home = next((leg for leg in offered if leg.selection_id == "home"), None)

        def home_now() -> Leg | None:
            if football is None:
                return None
            fixtures.refresh_prices(self.clients, week, [football.fixture_id])
            legs = self._legs(football.fixture_id, any_price=True)
            return next((leg for leg in legs if leg.selection_id == "home"), None)

        self.headline = story_bets(bookie, self.players, today, self.say, home, home_now)
        slips = crowd_bets(bookie, self.players, today, later, self.rng)

        def one(slip: tuple[Player, list[Leg], int, int]) -> None:
            player, legs, stake, acceptance = slip
            bet = bookie.place(player, legs, stake, acceptance, note="crowd")
            if bet.status == "REJECTED":
                player.release(stake)

        with ThreadPoolExecutor(6) as pool:
            list(pool.map(one, slips))
        with self.state.lock:
            crowd = [b for b in self.state.bets if b.note == "crowd"]
        taken = [b for b in crowd if b.status != "REJECTED"]
        accas = sum(1 for b in taken if b.legs > 1)
        self.say(
            f"    the crowd: {len(crowd)} slips, {len(taken)} accepted ({len(taken) - accas} "
            f"singles, {accas} accumulators, {money(sum(b.stake_minor for b in taken))}), "
            f"{len(crowd) - len(taken)} refused"
        )
        self.say("    refused so far, by reason:")
        for name, count in self.state.rejections().most_common():
            example = next(b for b in self.state.bets if b.reason == name)
            self.say(f"      {name} x{count}: {example.message}")

    def live(self) -> None:
        week = self.week
        assert week is not None
        stop = threading.Event()
        watcher = OddsWatcher(self.clients, self.state, week.live)
        watcher.start()
        feeds = [
            MatchFeed(
                self.clients,
                self.state,
                match,
                self.options.speed,
                self.say,
                self._publish,
                stop,
            )
            for match in week.live
        ]
        speed = self.options.speed
        span = max(m.timeline[-1].at for m in week.live) / speed
        if self.feed_speed != speed:
            # Attached to a mesh started for another speed: its live-bet delays span more (or
            # less) of these matches than a real feed's latency would.
            self.say(
                f"    note: the mesh's live-bet delays are set for feeds at {self.feed_speed:g}x"
                f" (betmesh up --feed-speed), these matches play at {speed:g}x"
            )
        self.say(
            f"    {len(feeds)} matches kick off together (football and tennis drawn from their"
            " fitted models, basketball services/live/scripts/basketball.json, drawn from its) "
            f"at {speed:g}x (the longest in about {span:.0f} s)"
        )
        # One match's result is disputed (corrected by the operator), another's in-play bets
        # voided: partners see a settlement rolled back and a bet cancel on the stream.
        self.disputed = next((m.fixture_id for m in week.live if m.sport == "football"), "")
        kicked_off = time.time()
        for feed in feeds:
            feed.start()
        target = max(6, len(self.players) // 3)
        betting = LiveBetting(
            Bookie(self.clients, self.state),
            self.players,
            week.live,
            {m.fixture_id: self._legs(m.fixture_id) for m in week.live},
            self.rng,
            self.say,
            speed,
            self.feed_speed,
        )
        try:
            betting.run(
                target,
                max(0.4, span / (target + 3)),
                lambda: any(f.is_alive() for f in feeds),
                stop,
            )
            taken = betting.taken()
            self.say(
                "    in-play bets taken after the bet delay: "
                + ", ".join(f"{sport} {done} of {sent}" for sport, (done, sent) in taken.items())
            )
            for feed in feeds:
                while feed.is_alive():
                    feed.join(0.5)
            if not any(f.error is not None for f in feeds):
                self._void_and_watch(week.live, kicked_off, watcher)
        finally:
            stop.set()
            watcher.stop()
        errors = [f"{f.match.name}: {f.error!r}" for f in feeds if f.error is not None]
        if watcher.problem:
            self.say(f"    (the odds stream ended early: {watcher.problem})")
        if errors:
            raise Failed("; ".join(errors))

    def _void_and_watch(
        self, matches: list[Match], kicked_off: float, watcher: OddsWatcher
    ) -> None:
        """The operator voids one match's in-play bets; then what the partner stream showed of
        the results: provisional and on-chain settlements, the disputed result's rollback,
        the void's bet cancel."""
        with self.state.lock:
            in_play = Counter(
                f
                for b in self.state.bets
                if b.live and b.bet_id and b.status != "REJECTED"
                for f in b.fixture_ids
            )
        others = [m for m in matches if m.fixture_id != self.disputed]
        voided = max(others, key=lambda m: in_play[m.fixture_id], default=None)
        if voided is not None:
            results.void_live_bets(self.clients, voided, kicked_off, self.say)
        disputed = next((m for m in matches if m.fixture_id == self.disputed), None)

        def seen() -> bool:
            with self.state.lock:
                return (disputed is None or disputed.rollbacks > 0) and (
                    voided is None or voided.cancels > 0
                )

        deadline = time.monotonic() + STREAM_WAIT_SECONDS
        while not seen() and not watcher.problem and time.monotonic() < deadline:
            time.sleep(0.2)
        with self.state.lock:
            for m in matches:
                self.say(
                    f"    partner stream, {m.name}: {m.provisional_settlements} provisional and"
                    f" {m.on_chain_settlements} on-chain settlements, {m.rollbacks} rollbacks,"
                    f" {m.cancels} bet cancels"
                )
        if watcher.problem:
            # The demo's own stream client does not resume (a partner would, with its token):
            # what it missed is not the mesh's failure.
            self.say(f"    (the odds stream ended early: {watcher.problem})")
        elif not seen():
            raise Failed("the partner stream did not show the rollback and the bet cancel")

    def _legs(self, fixture_id: str, any_price: bool = False) -> list[Leg]:
        """What a player can back on the fixture at its accepted pre-match prices (the crowd's
        odds window unless `any_price`)."""
        week = self.week
        assert week is not None
        accepted = week.prices.get(fixture_id)
        fixture = next((f for f in week.fixtures if f.fixture_id == fixture_id), None)
        if accepted is None or fixture is None:
            return []
        name = f"{fixture.home.name} v {fixture.away.name}"
        if any_price:
            sport = sport_name(fixture.sport)
            return legs_of(accepted, sport, name, max_odds_e4=10_000_000, min_odds_e4=10_001)
        return legs_of(accepted, sport_name(fixture.sport), name)

    def _publish(self, match: Match) -> None:
        results.publish(
            self.clients, self.state, match, self.say, disputed=match.fixture_id == self.disputed
        )

    def settle(self) -> None:
        finished = {m.fixture_id for m in self.state.matches if m.status == "final"}
        waiting = results.await_settlement(self.clients, self.state, self.players, finished)
        with self.state.lock:
            settled = [
                b for b in self.state.bets if b.status not in ("ACCEPTED", "PENDING", "REJECTED")
            ]
            still_open = [b for b in self.state.bets if b.status in ("ACCEPTED", "PENDING")]
        self.say(
            f"    {len(settled)} bets settled from the results read back from the chain; "
            f"{len(still_open)} open on fixtures later in the week"
        )
        if waiting:
            raise Failed(f"{len(waiting)} bets on finished matches not settled: {waiting[:3]}")
        headline = self.headline
        if headline is not None and headline.bet_id:
            self.say(
                f"    {self.players[0].name}'s 10.00 EUR on the home win: {headline.status} "
                f"(payout {money(headline.payout_minor)})"
            )
            # Today's football match is drawn from the fitted model: the bet must settle by the
            # result on chain, whichever it is.
            match = next(
                (m for m in self.state.matches if m.fixture_id in headline.fixture_ids), None
            )
            game = match.state.football if match is not None else None
            expected = (
                None if game is None else "WON" if game.home_goals > game.away_goals else "LOST"
            )
            if expected is not None and headline.status != expected:
                raise Failed(
                    f"the headline bet settled {headline.status}, not {expected}"
                    f" ({match.score() if match is not None else '?'})"
                )

    def summary(self) -> None:
        built = report.build(self.clients, self.state, self.players, time.time() + 1)
        self.say("")
        self.say(f"match day {self.state.run_id}: summary")
        report.render(self.state, built, self.say)
        gas = None
        try:
            gas = results.oracle_gas(self.clients.target.chain_rpc_url, self.state.matches)
        except Exception as exc:  # a summary line is not worth failing the day for
            self.say(f"oracle gas: not read ({type(exc).__name__})")
        if gas is not None:
            transactions, published, used = gas
            self.say(
                f"oracle gas: {published} results in {transactions} report transactions,"
                f" {used // published:,} gas per result (finality by the contract's view:"
                " no finalisation transaction)"
            )
        if built.ledger_problems:
            self.failures.append("the wallets do not reconcile with the bets")
        if self.options.summary_json is not None:
            report.write_json(
                self.options.summary_json,
                self.state,
                built,
                self.players,
                {
                    "failures": self.failures,
                    "web_url": self.clients.target.web_url,
                    "oracle_gas": None
                    if gas is None
                    else {"transactions": gas[0], "results": gas[1], "gas": gas[2]},
                },
            )

    # ---- the day ------------------------------------------------------------------------

    def play(self) -> bool:
        target = self.clients.target
        self.say(
            f"betmesh match day (run {self.state.run_id}): {self.options.players} players, "
            f"3 live matches at {self.options.speed:g}x (timeline seconds per second)"
        )
        if target.web_url:
            self.say(f"watch it live in the web app: {target.web_url}")
        self.say("")
        self.progress.start()
        try:
            steps = [
                ("the operator signs in (identity)", self.operator_signs_in),
                (
                    "a week of fixtures priced through consensus (fixtures -> gateway -> quotes)",
                    self.load_week,
                ),
                ("players sign up, set their ANJ caps and deposit (identity, bets)", self.sign_up),
                ("pre-match bets: singles and accumulators (bets)", self.pre_match),
                ("the matches are played live (live -> gateway; oracle -> chain)", self.live),
                ("bets settle from the results on chain (bets)", self.settle),
            ]
            for number, (title, action) in enumerate(steps, start=1):
                if not self.phase(number, title, action):
                    break
            self.progress.stop()
            if self.players:
                self.summary()
        except Exception as exc:
            self.failures.append(f"summary: {exc!r}")
        finally:
            self.progress.stop()
            self.clients.close()
        out = self.progress.say
        if self.failures:
            out(f"match day finished with {len(self.failures)} failure(s):")
            for failure in self.failures:
                out(f"  {failure}")
            return False
        out("match day finished: every phase worked")
        if target.web_url:
            out(f"web app: {target.web_url}")
        return True


def play(target: Target, options: DemoOptions | None = None, stream: TextIO | None = None) -> bool:
    """Plays the match day; True when every phase did what it should."""
    return Day(target, options or DemoOptions(), stream or sys.stdout).play()

"""From bus events to stream updates: the journal writer's pure core.

A fixture's stream state is one `FixtureOdds` per pricing phase (pre-match and live), each with
the fixture, its game state and every market with its status. An event changes some phases and
yields, per changed phase, the updates partners receive and the phase's state afterwards (the
journal carries both, so a reader never re-derives anything).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb

from service_runtime.live_bet_delay import LiveBetDelays
from services.live.domain.stream.settlement import settle

PRE = market_pb2.PRICING_PHASE_PRE_MATCH
LIVE = market_pb2.PRICING_PHASE_LIVE
ACTIVE = market_pb2.MARKET_STATUS_ACTIVE
HANDED_OVER = market_pb2.MARKET_STATUS_HANDED_OVER
SETTLED = market_pb2.MARKET_STATUS_SETTLED
# Closed for good: a blanket status change ("every market") leaves them alone.
_FINAL = {HANDED_OVER, SETTLED, market_pb2.MARKET_STATUS_CANCELLED}
# What a settlement leaves a market in (CANCELLED: the match was not completed).
_SETTLED_BY_RESULT = {SETTLED, market_pb2.MARKET_STATUS_CANCELLED}


@dataclass
class Change:
    phase: int
    updates: list[pb.OddsUpdate]
    state: pb.FixtureOdds


@dataclass
class FixtureRecord:
    fixture_id: str
    phases: dict[int, pb.FixtureOdds] = field(default_factory=dict)

    @property
    def sport(self) -> int:
        for odds in self.phases.values():
            return odds.fixture.sport
        return 0

    def fixture(self) -> pb.FixtureOdds | None:
        return next(iter(self.phases.values()), None)


# Bus reasons (MarketStatusChanged.reason) whose names differ from the partner's enum.
_REASONS = {"KICK_OFF": pb.BET_STOP_REASON_HANDED_OVER}
# Fixture-wide stops that hold the fixture: no price reopens its markets until lifted.
HOLDS = frozenset(
    {pb.BET_STOP_REASON_FEED_LOST, pb.BET_STOP_REASON_FEED_GAP, pb.BET_STOP_REASON_OPERATOR}
)
_MATCH_STATUS = {
    "NOT_STARTED": pb.MATCH_STATUS_NOT_STARTED,
    "LIVE": pb.MATCH_STATUS_LIVE,
    "ENDED": pb.MATCH_STATUS_ENDED,
    "ABANDONED": pb.MATCH_STATUS_ABANDONED,
}


def bet_stop_reason(reason: str) -> int:
    """Every reason live says on the bus, as the partner's BetStopReason."""
    bare = reason.upper().removeprefix("BET_STOP_REASON_")
    if bare in _REASONS:
        return _REASONS[bare]
    name = "BET_STOP_REASON_" + bare
    return pb.BetStopReason.Value(name) if name in pb.BetStopReason.keys() else 0  # noqa: SIM118


def _with_names(current: sport_pb2.Fixture, known: sport_pb2.Fixture | None) -> sport_pb2.Fixture:
    if known is not None and known.fixture_id == current.fixture_id:
        return known
    return current


def announce_delay(odds: pb.FixtureOdds, delays: LiveBetDelays) -> None:
    """Writes the live-bet delay the bets service applies to this fixture's sport (the one
    definition both read, service_runtime/live_bet_delay.py): exact in bet_delay_ms, rounded up
    to whole seconds in the older bet_delay_seconds. No sport known yet: none announced."""
    if not odds.fixture.sport:
        return
    ms = delays.ms(sport_pb2.Sport.Name(odds.fixture.sport).removeprefix("SPORT_"))
    odds.bet_delay_ms = ms
    odds.bet_delay_seconds = math.ceil(ms / 1000)


def translate(
    record: FixtureRecord,
    envelope: events_pb2.EventEnvelope,
    fixture: sport_pb2.Fixture | None,
    delays: LiveBetDelays,
) -> list[Change]:
    """Applies one bus event to `record` (in place); returns what changed, per phase. `delays`:
    the live-bet delays announced on live phases (the process's settings, which bets reads too)."""
    kind = envelope.WhichOneof("payload")
    changes: list[Change] = []
    # Names learnt since a phase was written reach every phase, announced once.
    if fixture is not None:
        for phase, odds in record.phases.items():
            if odds.fixture != fixture:
                odds.fixture.CopyFrom(fixture)
                update = pb.OddsUpdate(fixture_change=pb.FixtureChange(fixture=fixture))
                changes.append(Change(phase, [update], odds))
    if kind == "quote_set_accepted":
        changes += _quote_set(record, envelope.quote_set_accepted, fixture, delays)
    elif kind == "market_status_changed":
        changes += _status(record, envelope.market_status_changed)
    elif kind == "game_state_changed":
        changes += _game_state(record, envelope.game_state_changed, fixture, delays)
    elif kind == "result_finalised":
        changes += _finalised(record, envelope.result_finalised)
    elif kind == "result_validated":
        changes += _validated(record, envelope.result_validated)
    elif kind == "bets_voided":
        changes += _voided(record, envelope.bets_voided)
    # Every update says when it happened at its source (see OddsUpdate.event_time).
    when = envelope.occurred_at
    if kind in ("market_status_changed", "game_state_changed"):
        inner = getattr(envelope, kind)
        if inner.HasField("event_time"):
            when = inner.event_time
    for change in changes:
        for update in change.updates:
            if not update.HasField("event_time"):
                update.event_time.CopyFrom(when)
    merged: dict[int, Change] = {}
    for change in changes:
        if change.phase in merged:
            merged[change.phase].updates += change.updates
            merged[change.phase].state = change.state
        else:
            merged[change.phase] = change
    return list(merged.values())


def _quote_set(
    record: FixtureRecord,
    event: events_pb2.QuoteSetAccepted,
    fixture: sport_pb2.Fixture | None,
    delays: LiveBetDelays,
) -> list[Change]:
    quote_set = event.quote_set
    phase = quote_set.phase or PRE
    previous = record.phases.get(phase)
    odds = pb.FixtureOdds(phase=phase, quote_set_digest=event.digest)
    base = previous.fixture if previous is not None else None
    skeleton = sport_pb2.Fixture(fixture_id=quote_set.fixture_id, sport=quote_set.sport)
    odds.fixture.CopyFrom(_with_names(base or skeleton, fixture))
    if phase == LIVE:
        announce_delay(odds, delays)
    live = record.phases.get(LIVE)
    if live is not None and live.HasField("game_state"):
        odds.game_state.CopyFrom(live.game_state)
    if previous is not None:
        odds.match_status = previous.match_status
        odds.bet_stop_reason = previous.bet_stop_reason
    held = odds.bet_stop_reason in HOLDS
    old = {m.market_id: m for m in previous.markets} if previous is not None else {}
    changed: list[market_pb2.Market] = []
    for market in sorted(quote_set.markets, key=lambda m: m.market_id):
        fresh = odds.markets.add()
        fresh.CopyFrom(market)
        before = old.pop(market.market_id, None)
        if before is not None and before.status in _FINAL:
            # A later pre-match price does not reopen a market live has taken over.
            fresh.status = before.status
        elif held and fresh.status == ACTIVE:
            # A price that was under way when the feed was lost (or the operator stopped the
            # fixture) shows, but opens nothing: only the lifting of the hold does.
            fresh.status = market_pb2.MARKET_STATUS_SUSPENDED
        if fresh != before:
            changed.append(fresh)
    for gone in old.values():
        # Priced before, absent now: no longer offered.
        kept = odds.markets.add()
        kept.CopyFrom(gone)
        if kept.status not in _FINAL:
            kept.status = market_pb2.MARKET_STATUS_DEACTIVATED
            changed.append(kept)
    odds.markets.sort(key=lambda m: m.market_id)
    record.phases[phase] = odds
    update = pb.OddsUpdate()
    update.odds_change.CopyFrom(_header(odds))
    update.odds_change.markets.extend(changed)
    return [Change(phase, [update], odds)]


def _header(odds: pb.FixtureOdds) -> pb.FixtureOdds:
    """The fixture-level part of a FixtureOdds: what makes an update self-describing."""
    header = pb.FixtureOdds()
    header.CopyFrom(odds)
    del header.markets[:]
    return header


def _status(record: FixtureRecord, event: events_pb2.MarketStatusChanged) -> list[Change]:
    changes = []
    wanted = set(event.market_ids)
    reason = bet_stop_reason(event.reason)
    for phase, odds in sorted(record.phases.items()):
        if event.status == HANDED_OVER and phase != PRE:
            continue
        # A fixture-wide hold is said even over markets already suspended (a goal, then the
        # feed dies): the partner must learn that the feed is gone.
        new_hold = (
            not wanted
            and event.status != ACTIVE
            and reason in HOLDS
            and odds.bet_stop_reason != reason
        )
        touched = [
            m
            for m in odds.markets
            # Handed over, settled and cancelled markets are closed for good.
            if (m.status != event.status or new_hold)
            and m.status not in _FINAL
            and (not wanted or m.market_id in wanted)
        ]
        if event.status == ACTIVE and not wanted:
            odds.bet_stop_reason = pb.BET_STOP_REASON_UNSPECIFIED
        elif new_hold:
            odds.bet_stop_reason = reason  # type: ignore[assignment]
        elif event.status == ACTIVE and odds.bet_stop_reason in HOLDS:
            odds.bet_stop_reason = pb.BET_STOP_REASON_UNSPECIFIED
        if not touched:
            continue
        for market in touched:
            market.status = event.status
        update = pb.OddsUpdate()
        if event.status == ACTIVE:
            update.odds_change.CopyFrom(_header(odds))
            update.odds_change.markets.extend(touched)
        else:
            update.bet_stop.CopyFrom(
                pb.BetStop(
                    fixture_id=record.fixture_id,
                    market_ids=[m.market_id for m in touched],
                    reason=reason,  # type: ignore[arg-type]
                    event_sequence=event.event_sequence,
                    status=event.status,
                    phase=phase,  # type: ignore[arg-type]
                )
            )
        changes.append(Change(phase, [update], odds))
    return changes


def _game_state(
    record: FixtureRecord,
    event: events_pb2.GameStateChanged,
    fixture: sport_pb2.Fixture | None,
    delays: LiveBetDelays,
) -> list[Change]:
    odds = record.phases.get(LIVE)
    if odds is None:
        known = record.fixture()
        base = (
            known.fixture if known is not None else sport_pb2.Fixture(fixture_id=record.fixture_id)
        )
        odds = pb.FixtureOdds(phase=LIVE)
        odds.fixture.CopyFrom(_with_names(base, fixture))
        announce_delay(odds, delays)
        record.phases[LIVE] = odds
    status = _MATCH_STATUS.get(event.match_status, pb.MATCH_STATUS_UNSPECIFIED)
    if odds.game_state == event.state and odds.match_status == status:
        return []
    odds.game_state.CopyFrom(event.state)
    odds.match_status = status  # type: ignore[assignment]
    return [Change(LIVE, [pb.OddsUpdate(odds_change=_header(odds))], odds)]


def _finalised(record: FixtureRecord, event: events_pb2.ResultFinalised) -> list[Change]:
    return _settle(record, _settled(event, str(event.version), pb.SETTLEMENT_CERTAINTY_ON_CHAIN))


def _validated(record: FixtureRecord, event: events_pb2.ResultValidated) -> list[Change]:
    """Partners settle as soon as the oracle's sources agree, marked provisional: the chain's
    dispute window is still open and an operator's correction rolls it back."""
    return _settle(record, _settled(event, event.sources_hash, pb.SETTLEMENT_CERTAINTY_PROVISIONAL))


def _settled(
    event: events_pb2.ResultFinalised | events_pb2.ResultValidated,
    version: str,
    certainty: pb.SettlementCertainty.ValueType,
) -> pb.SettledResult:
    return pb.SettledResult(
        home_score=event.home_score,
        away_score=event.away_score,
        completed=event.status in ("", "RESULT_STATUS_COMPLETED"),
        result_version=version,
        certainty=certainty,
    )


def _settle(record: FixtureRecord, result: pb.SettledResult) -> list[Change]:
    """Settles every phase on `result`: a changed result first rolls the earlier settlement
    back; the same result once on chain confirms it; nothing replaces a settlement on chain
    but a correction on chain (a provisional arriving late is old news)."""
    changes = []
    for phase, odds in sorted(record.phases.items()):
        previous = odds.settled_result if odds.HasField("settled_result") else None
        changed = False
        if previous is not None:
            on_chain = pb.SETTLEMENT_CERTAINTY_ON_CHAIN
            if previous.certainty == on_chain and result.certainty != on_chain:
                continue  # a provisional after the result reached the chain: old news
            changed = (previous.home_score, previous.away_score, previous.completed) != (
                result.home_score,
                result.away_score,
                result.completed,
            )
            if not changed and previous.certainty == result.certainty:
                continue  # a duplicate
        updates = []
        if changed:
            undone = [m.market_id for m in odds.markets if m.status in _SETTLED_BY_RESULT]
            if undone:
                updates.append(
                    pb.OddsUpdate(
                        rollback_bet_settlement=pb.RollbackBetSettlement(
                            fixture_id=record.fixture_id,
                            market_ids=undone,
                            phase=phase,  # type: ignore[arg-type]
                        )
                    )
                )
        settlement = settle(
            record.fixture_id,
            list(odds.markets),
            result.home_score,
            result.away_score,
            result.completed,
            result.result_version,
        )
        odds.settled_result.CopyFrom(result)
        if settlement.markets:
            settlement.phase = phase  # type: ignore[assignment]
            settlement.certainty = result.certainty
            done = {m.market_id for m in settlement.markets}
            for market in odds.markets:
                if market.market_id in done:
                    market.status = (
                        SETTLED if result.completed else market_pb2.MARKET_STATUS_CANCELLED
                    )
            updates.append(pb.OddsUpdate(bet_settlement=settlement))
        if updates:
            changes.append(Change(phase, updates, odds))
    return changes


def _voided(record: FixtureRecord, event: events_pb2.BetsVoided) -> list[Change]:
    """A void is a fact about bets, not a market state: markets keep their status. It reaches
    the phases whose markets it names (every phase when it names none, or none known here)."""
    wanted = list(event.market_ids)
    known = {phase: {m.market_id for m in odds.markets} for phase, odds in record.phases.items()}
    named = {phase: [m for m in wanted if m in ids] for phase, ids in known.items()}
    if not wanted or not any(named.values()):
        named = {phase: wanted for phase in known}
    changes = []
    for phase, market_ids in sorted(named.items()):
        if wanted and not market_ids:
            continue
        cancel = pb.BetCancel(
            fixture_id=record.fixture_id,
            market_ids=market_ids,
            reason=event.reason,
            phase=phase,  # type: ignore[arg-type]
        )
        if event.HasField("placed_after"):
            cancel.start_time.CopyFrom(event.placed_after)
        if event.HasField("placed_before"):
            cancel.end_time.CopyFrom(event.placed_before)
        changes.append(Change(phase, [pb.OddsUpdate(bet_cancel=cancel)], record.phases[phase]))
    return changes

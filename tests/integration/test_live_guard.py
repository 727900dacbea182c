"""The integrity guard on the live path: real quote replicas, the gateway and live (in-process
ServiceHosts on real ports) on a real Redis. A single event injected through live's ingestion
that moves a price beyond the bound without cause (the clock jumping from 46' to 88' with no
goal) gets the moved markets held: the bus, which is all the odds stream and bets ever see,
carries them suspended at their last published prices; the operator sees why and releases."""

from __future__ import annotations

import uuid

from betmesh.common.v1 import market_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.live.v1 import match_event_pb2 as me

from tests.integration.test_live_repricing import (
    ACTIVE,
    HOME,
    LIVE,
    SUSPENDED,
    Feed,
    Mesh,
    Seen,
    has,
    ingest,
    mesh,
    price_pre_match,
    start_live,
    wait_until,
)

__all__ = ["mesh"]  # the module-scoped mesh fixture, shared with the repricing tests


def live_set(events: list[Seen], sequence: int) -> dict[str, market_pb2.Market]:
    found = [e for e in events if e.describe() == ("accepted", LIVE, sequence)]
    assert found, f"no live set for sequence {sequence}"
    return {m.market_id: m for m in found[-1].envelope.quote_set_accepted.quote_set.markets}


async def test_a_clock_jump_without_a_goal_is_held_not_streamed_until_released(
    mesh: Mesh, redis_url: str
) -> None:
    live = await start_live(redis_url, f"127.0.0.1:{mesh.gateway.port}", 3600)
    try:
        fid = f"guard-{uuid.uuid4().hex[:10]}"
        result = f"{fid}/MATCH_RESULT"
        feed = Feed(fid)
        await price_pre_match(mesh, fid)
        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_MATCH_STARTED))
        await wait_until(mesh, fid, has("status", ACTIVE, 1))
        # The first half played out and the second begun: small moves, published.
        for kind, elapsed, period in (
            (me.MATCH_EVENT_TYPE_CLOCK, 300, 1),
            (me.MATCH_EVENT_TYPE_PERIOD_ENDED, 2700, 1),
            (me.MATCH_EVENT_TYPE_PERIOD_STARTED, 2700, 2),
            (me.MATCH_EVENT_TYPE_CLOCK, 2760, 2),
        ):
            await ingest(live, feed.event(kind, elapsed=elapsed, period=period))
        events = await wait_until(mesh, fid, has("accepted", LIVE, 5))
        before = live_set(events, 5)
        assert before[result].status == ACTIVE
        # The injected fault: the clock from 46' to 88' in one step, no goal, no card.
        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_CLOCK, elapsed=88 * 60, period=2))
        events = await wait_until(mesh, fid, has("accepted", LIVE, 6))
        after = live_set(events, 6)
        # Held: suspended, at the price published before the jump (its new price never left).
        assert after[result].status == SUSPENDED
        assert list(after[result].selections) == list(before[result].selections)
        latest = await mesh.consensus.GetAcceptedQuoteSet(
            gateway_pb2.GetAcceptedQuoteSetRequest(fixture_id=fid, phase=LIVE), timeout=5
        )
        served = {m.market_id: m for m in latest.accepted.quote_set.markets}
        assert served[result] == after[result]
        # Nothing reopens it: no status change names it after the jump.
        assert not [
            e
            for e in events
            if e.describe()[0] == "status"
            and e.describe()[2] >= 6
            and result in e.envelope.market_status_changed.market_ids
        ]

        holds = await mesh.consensus.ListPriceHolds(
            gateway_pb2.ListPriceHoldsRequest(fixture_id=fid, page_size=500), timeout=5
        )
        hold = next(h for h in holds.holds if h.market_id == result)
        assert hold.status == gateway_pb2.PRICE_HOLD_STATUS_OPEN
        assert hold.phase == LIVE
        assert hold.event_sequence == 6
        move = next(v for v in hold.violations if v.rule == "MOVE_TOO_LARGE")
        assert move.values["cause"] == "CLOCK"
        assert int(move.values["move_e9"]) > int(move.values["bound_e9"])
        assert hold.published_market == before[result]
        # The agreed (held) price is the 88th-minute one: the draw far likelier than at 46'.
        draw = {s.selection_id: s.probability_e9 for s in hold.held_market.selections}["draw"]
        assert draw > {s.selection_id: s.probability_e9 for s in before[result].selections}["draw"]

        # The operator releases it: the held price is published, open again.
        released = await mesh.consensus.ReleasePriceHold(
            gateway_pb2.ReleasePriceHoldRequest(hold_id=hold.hold_id, note="clock was right"),
            timeout=5,
        )
        assert released.published
        latest = await mesh.consensus.GetAcceptedQuoteSet(
            gateway_pb2.GetAcceptedQuoteSetRequest(fixture_id=fid, phase=LIVE), timeout=5
        )
        served = {m.market_id: m for m in latest.accepted.quote_set.markets}
        assert served[result] == hold.held_market
        assert served[result].status == ACTIVE

        # A goal explains any move: repriced and published, not held.
        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_GOAL, HOME, 88 * 60 + 30, period=2))
        events = await wait_until(mesh, fid, has("status", ACTIVE, 7))
        assert live_set(events, 7)[result].status == ACTIVE
        holds = await mesh.consensus.ListPriceHolds(
            gateway_pb2.ListPriceHoldsRequest(
                fixture_id=fid, status=gateway_pb2.PRICE_HOLD_STATUS_OPEN
            ),
            timeout=5,
        )
        assert [h.market_id for h in holds.holds if h.market_id == result] == []
    finally:
        await live.stop(0)

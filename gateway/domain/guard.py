"""The integrity guard's rules at the point where an agreed quote set becomes published
(gateway/service_layer/guard.py runs the screen and the operators' decisions).

Every set a quorum agreed on (pre-match, and live sets priced for services/live) is screened
before it is stored and announced on `quotes.accepted`, the one path to bets and to the odds
stream. Markets that break a rule of `integrity.py`, or that an open hold still holds, are not
published: the published set carries the market's last published prices with status SUSPENDED
(live and pre-match alike: bets refuses it, the stream shows a bet stop), or omits it when it was
never published. Each new violation is one hold per market, stored with its evidence, counted
and logged for the operator, who releases it (the held prices are published) or rejects it
(they never are).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection

from betmesh.common.v1 import market_pb2

from gateway.domain.holds import HoldStatus, PriceHold
from gateway.domain.integrity import (
    GuardPolicy,
    MoveBound,
    Violation,
    check_coherence,
    check_moves,
)
from gateway.domain.model import Accepted
from service_runtime.digest import canonical_bytes
from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound

LIVE = market_pb2.PRICING_PHASE_LIVE
PRE_MATCH = market_pb2.PRICING_PHASE_PRE_MATCH
MAX_NOTE = 500

SnapshotVetted = Callable[[str], Awaitable[bool]]
OnHold = Callable[[PriceHold], None]


def published_bytes(quote_set: market_pb2.QuoteSet) -> bytes:
    """Canonical bytes of a published set: markets by market_id, as replicas write them."""
    quote_set.markets.sort(key=lambda m: m.market_id)
    return canonical_bytes(quote_set)


def evidence_json(violations: tuple[Violation, ...]) -> str:
    return json.dumps(
        [{"rule": v.rule, "detail": v.detail, "values": v.values} for v in violations],
        sort_keys=True,
    )


def markets(accepted: Accepted | None) -> dict[str, market_pb2.Market]:
    return {m.market_id: m for m in accepted.quote_set.markets} if accepted is not None else {}


def violations_by_market(
    agreed: market_pb2.QuoteSet,
    compared: dict[str, market_pb2.Market],
    bound: MoveBound,
    vouched: Collection[str],
    policy: GuardPolicy,
) -> dict[str, list[Violation]]:
    """What the agreed set breaks, market by market: its coherence, and moves beyond the bound
    from the compared prices, except a move an operator released since the last publish."""
    violations = check_coherence(agreed, policy)
    violations += [v for v in check_moves(agreed, compared, bound) if v.market_id not in vouched]
    by_market: dict[str, list[Violation]] = defaultdict(list)
    for violation in violations:
        by_market[violation.market_id].append(violation)
    return by_market


def new_holds(
    accepted: Accepted,
    agreed: market_pb2.QuoteSet,
    by_market: dict[str, list[Violation]],
    already: Collection[str],
    published_before: dict[str, market_pb2.Market],
    now: float,
) -> list[PriceHold]:
    """One new hold per market of the set breaking a rule and not held already."""
    agreed_markets = {m.market_id: m for m in agreed.markets}
    return [
        PriceHold(
            fixture_id=agreed.fixture_id,
            sport=agreed.sport,
            phase=agreed.phase,
            market_id=market_id,
            violations=tuple(found),
            snapshot_hash=agreed.snapshot_hash,
            event_sequence=agreed.event_sequence,
            quote_set_digest=accepted.digest,
            held_market=canonical_bytes(agreed_markets[market_id]),
            published_market=canonical_bytes(published_before[market_id])
            if market_id in published_before
            else b"",
            held_at=now,
        )
        for market_id, found in sorted(by_market.items())
        if market_id not in already and market_id in agreed_markets
    ]


def published_set(
    agreed: market_pb2.QuoteSet,
    held: Collection[str],
    published_before: dict[str, market_pb2.Market],
) -> market_pb2.QuoteSet:
    """The set to publish for an agreed one with `held` markets: each held market keeps its
    last published prices, SUSPENDED, or is left out when it was never published."""
    published = market_pb2.QuoteSet()
    published.CopyFrom(agreed)
    del published.markets[:]
    for market in agreed.markets:
        if market.market_id not in held:
            published.markets.append(market)
            continue
        before = published_before.get(market.market_id)
        if before is not None:
            kept = published.markets.add()
            kept.CopyFrom(before)
            kept.status = market_pb2.MARKET_STATUS_SUSPENDED
    return published


def release_publishes(
    hold: PriceHold, latest: Accepted | None, open_markets: Collection[str]
) -> bool:
    """A released hold's market is published only into the set it was held from: not when the
    fixture was re-priced from another snapshot or event since, or another hold of the
    fixture still holds the market."""
    return not (
        latest is None
        or latest.quote_set.snapshot_hash != hold.snapshot_hash
        or latest.quote_set.event_sequence != hold.event_sequence
        or hold.market_id in open_markets
    )


def released_set(latest: market_pb2.QuoteSet, hold: PriceHold) -> market_pb2.QuoteSet:
    """The latest published set with the hold's market as agreed in place of what it shows."""
    published = market_pb2.QuoteSet()
    published.CopyFrom(latest)
    kept = [m for m in published.markets if m.market_id != hold.market_id]
    del published.markets[:]
    published.markets.extend(kept)
    published.markets.append(market_pb2.Market.FromString(hold.held_market))
    return published


def check_decision(hold_id: str, note: str) -> None:
    """An operator's release or rejection, before any store is asked."""
    if not hold_id:
        raise InvalidArgument("HOLD_ID_REQUIRED", "hold_id is required")
    # Ids are BIGSERIALs: at most 18 digits (anything longer is not ours, and must not
    # reach the database as an out-of-range number).
    if len(hold_id) > 18 or not hold_id.isascii() or not hold_id.isdigit():
        raise InvalidArgument("HOLD_ID_INVALID", "hold_id is not one this gateway issued")
    if len(note) > MAX_NOTE:
        raise InvalidArgument("NOTE_TOO_LONG", f"note must be at most {MAX_NOTE} characters")


def undecidable(known: PriceHold | None) -> NotFound | FailedPrecondition:
    """Why a hold the store would not close cannot be decided: unknown, or decided before."""
    if known is None:
        return NotFound("HOLD_NOT_FOUND", "no price hold with this id")
    status: HoldStatus = known.status
    return FailedPrecondition(
        "HOLD_ALREADY_DECIDED",
        f"the hold was already {status.value.lower()}",
        {"status": status.value},
    )

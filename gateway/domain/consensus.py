"""Quorum on exact outputs.

The gateway sends one identical request to every replica of a sport and accepts a quote set
only when at least k replicas returned byte-identical canonical bytes. It hashes the bytes
itself: a replica's claimed digest is checked, never trusted. It answers as soon as k
matching answers are in; the stragglers still finish in the background so that dissent and
timeouts are recorded for replica health.

Hedged mode (optional): ask only the first k replicas, and the others once k identical answers
have become impossible without them (a dissent, an error) or the hedge delay has passed. The
safety rule is the same (k identical outputs); the cost of an agreeing call drops from n
pricings to k, at the price of hearing the spare replicas only when they are needed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from betmesh.common.v1 import market_pb2

from service_runtime.digest import digest_bytes


class Outcome(Enum):
    AGREED = "AGREED"
    DISSENTED = "DISSENTED"
    TIMED_OUT = "TIMED_OUT"
    UNAVAILABLE = "UNAVAILABLE"
    FAILED = "FAILED"
    BAD_DIGEST = "BAD_DIGEST"
    QUARANTINED = "QUARANTINED"
    NOT_AWAITED = "NOT_AWAITED"


@dataclass(frozen=True)
class Reply:
    """What one replica said. Exactly one of `data` and `error_code` is set."""

    data: bytes | None = None
    claimed_digest: str = ""
    error_code: str = ""  # google.rpc code name, or TIMED_OUT / UNAVAILABLE
    error_reason: str = ""
    error_message: str = ""


class ReplicaClient(Protocol):
    replica_id: str
    address: str

    async def price(self, request: bytes, timeout: float) -> Reply: ...


@dataclass
class Vote:
    replica_id: str
    address: str
    outcome: Outcome
    digest: str = ""
    latency_micros: int = 0
    first_difference: str = ""
    error: str = ""
    data: bytes | None = field(default=None, repr=False)


@dataclass
class Decision:
    quorum: int
    replica_count: int
    votes: list[Vote]
    digest: str = ""  # set when accepted
    data: bytes | None = None
    # Set when a quorum of replicas refused the request alike (the caller's mistake, or a
    # feature not built): relay it rather than calling it a lack of consensus.
    common_error: Reply | None = None

    @property
    def accepted(self) -> bool:
        return bool(self.digest)


@dataclass
class HedgeBudget:
    """How many calls may bring in the spare replicas because the first ones were slow: on
    average `ratio` of the calls, in bursts of at most `burst` (a token bucket, as in gRPC's
    retry throttling and Finagle's retry budgets). Without it, a loaded gateway whose replicas
    answer slower than the hedge delay asks every replica on every call, adding pricing work
    exactly when none can be spared. A dissent or an error always brings them in: that is
    needed for a price at all, not for speed."""

    ratio: float = 0.1
    burst: float = 10.0
    tokens: float = 10.0

    def deposit(self) -> None:
        self.tokens = min(self.burst, self.tokens + self.ratio)

    def withdraw(self) -> bool:
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# Errors that mean "this request is wrong", identical on healthy replicas: relayed to the caller.
CALLER_ERRORS = frozenset({"INVALID_ARGUMENT", "FAILED_PRECONDITION", "NOT_FOUND", "UNIMPLEMENTED"})


def first_difference(majority: bytes, other: bytes) -> str:
    """The first market/selection where `other` differs from `majority`, for the dissent log."""
    try:
        a, b = market_pb2.QuoteSet.FromString(majority), market_pb2.QuoteSet.FromString(other)
    except Exception:  # undecodable bytes are a dissent in themselves
        return "undecodable quote set"
    for name in ("fixture_id", "sport", "phase", "snapshot_hash", "event_sequence"):
        if getattr(a, name) != getattr(b, name):
            return f"{name} {getattr(b, name)!r} != {getattr(a, name)!r}"
    markets_a = {m.market_id: m for m in a.markets}
    markets_b = {m.market_id: m for m in b.markets}
    for market_id in sorted(markets_a.keys() | markets_b.keys()):
        ma, mb = markets_a.get(market_id), markets_b.get(market_id)
        if ma is None or mb is None:
            return f"{market_id} {'missing' if mb is None else 'unexpected'}"
        for name in ("type", "line_e2", "side", "status", "payout_e4"):
            if getattr(ma, name) != getattr(mb, name):
                return f"{market_id} {name} {getattr(mb, name)} != {getattr(ma, name)}"
        sel_a = {s.selection_id: s for s in ma.selections}
        sel_b = {s.selection_id: s for s in mb.selections}
        for selection_id in sorted(sel_a.keys() | sel_b.keys()):
            sa, sb = sel_a.get(selection_id), sel_b.get(selection_id)
            if sa is None or sb is None:
                return f"{market_id}/{selection_id} {'missing' if sb is None else 'unexpected'}"
            for name in ("odds_e4", "probability_e9", "status", "name"):
                if getattr(sa, name) != getattr(sb, name):
                    theirs, ours = getattr(sb, name), getattr(sa, name)
                    return f"{market_id}/{selection_id} {name} {theirs} != {ours}"
    return "bytes differ (same content, non-canonical encoding)"


def _vote_for(client: ReplicaClient, reply: Reply, latency_micros: int) -> Vote:
    vote = Vote(client.replica_id, client.address, Outcome.FAILED, latency_micros=latency_micros)
    if reply.data is None:
        vote.outcome = {"TIMED_OUT": Outcome.TIMED_OUT, "UNAVAILABLE": Outcome.UNAVAILABLE}.get(
            reply.error_code, Outcome.FAILED
        )
        vote.error = f"{reply.error_code} {reply.error_reason}".strip()
        return vote
    vote.digest = digest_bytes(reply.data)
    vote.data = reply.data
    vote.outcome = Outcome.BAD_DIGEST if reply.claimed_digest != vote.digest else Outcome.AGREED
    return vote


async def decide(
    clients: Sequence[ReplicaClient],
    request: bytes,
    quorum: int,
    timeout: float,
    on_complete: Callable[[Decision], Awaitable[None]] | None = None,
    hedge_after: float | None = None,
    hedge_budget: HedgeBudget | None = None,
) -> Decision:
    """Asks the replicas; returns at the first quorum of identical bytes, or once all answered.

    With `hedge_after` set, only the first `quorum` clients are asked at once (callers rotate
    the order so that every replica is heard); the rest are asked after `hedge_after` seconds
    or as soon as an answer rules out agreement among the first ones. Replicas never asked keep
    the NOT_AWAITED outcome, which replica health ignores. `hedge_budget`, if given, bounds
    how often the delay alone may bring the others in.

    `on_complete` gets the final decision with every vote once the last replica has answered
    (after this function may already have returned), for dissent records and replica health.
    """
    votes: dict[str, Vote] = {
        c.replica_id: Vote(c.replica_id, c.address, Outcome.NOT_AWAITED) for c in clients
    }
    decision = Decision(quorum=quorum, replica_count=len(clients), votes=list(votes.values()))

    async def ask(client: ReplicaClient) -> Vote:
        started = time.perf_counter()
        reply = await client.price(request, timeout)
        return _vote_for(client, reply, int((time.perf_counter() - started) * 1e6))

    hedging = hedge_after is not None and len(clients) > quorum
    first = list(clients[:quorum]) if hedging else list(clients)
    spare = list(clients[quorum:]) if hedging else []
    tasks: dict[ReplicaClient, asyncio.Future[Vote]] = {
        c: asyncio.ensure_future(ask(c)) for c in first
    }
    waiting: set[asyncio.Future[Vote]] = set(tasks.values())
    timer = asyncio.ensure_future(asyncio.sleep(hedge_after or 0)) if spare else None
    if spare and hedge_budget is not None:
        hedge_budget.deposit()

    def hedge() -> None:
        for client in spare:
            tasks[client] = asyncio.ensure_future(ask(client))
            waiting.add(tasks[client])
        spare.clear()

    groups: dict[str, list[Vote]] = {}
    errors: dict[tuple[str, str], list[Reply]] = {}
    decided = False
    while waiting and not decided:
        watched: set[asyncio.Future[Any]] = set(waiting)
        if timer is not None and not timer.done() and spare:
            watched.add(timer)
        done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        if timer in done and (hedge_budget is None or hedge_budget.withdraw()):
            hedge()
        for finished in done:
            if finished is timer:
                continue
            waiting.discard(finished)
            vote: Vote = finished.result()
            votes[vote.replica_id] = vote
            if vote.outcome == Outcome.AGREED:
                groups.setdefault(vote.digest, []).append(vote)
                if len(groups[vote.digest]) >= quorum:
                    decision.digest, decision.data = vote.digest, vote.data
                    decided = True
                    break
            elif vote.outcome == Outcome.FAILED:
                code, _, reason = vote.error.partition(" ")
                errors.setdefault((code, reason), []).append(
                    Reply(error_code=code, error_reason=reason)
                )
                if code in CALLER_ERRORS and len(errors[(code, reason)]) >= quorum:
                    decision.common_error = errors[(code, reason)][0]
                    decided = True
                    break
            if spare and (vote.outcome != Outcome.AGREED or len(groups) > 1):
                # The first k can no longer agree by themselves: ask the others now.
                hedge()
    if timer is not None:
        timer.cancel()
    _finalise(decision, votes)

    # Every task whose vote was not taken in, finished or not: one that completed while the
    # quorum was being reached is done but unread, and its vote (maybe a dissent) counts too.
    taken = {v.replica_id for v in votes.values() if v.outcome != Outcome.NOT_AWAITED}
    pending = [t for c, t in tasks.items() if c.replica_id not in taken]

    async def finish() -> None:
        for vote in await asyncio.gather(*pending):
            votes[vote.replica_id] = vote
        _finalise(decision, votes)
        if on_complete is not None:
            await on_complete(decision)

    if pending or on_complete is not None:
        # Never on the caller's path: the answer goes out at quorum.
        _background.add(task := asyncio.ensure_future(finish()))
        task.add_done_callback(_background.discard)
    return Decision(
        decision.quorum,
        decision.replica_count,
        [_copy(v) for v in decision.votes],
        decision.digest,
        decision.data,
        decision.common_error,
    )


_background: set[asyncio.Future[None]] = set()


def _copy(vote: Vote) -> Vote:
    return Vote(
        vote.replica_id,
        vote.address,
        vote.outcome,
        vote.digest,
        vote.latency_micros,
        vote.first_difference,
        vote.error,
        vote.data,
    )


def _finalise(decision: Decision, votes: dict[str, Vote]) -> None:
    """Labels agreement against the accepted digest and explains each dissent."""
    answered = [
        v for v in votes.values() if v.digest and v.outcome in (Outcome.AGREED, Outcome.DISSENTED)
    ]
    majority_digest, majority = decision.digest, decision.data
    if majority is None and answered:
        # No quorum: compare everyone with the largest group, and nobody counts as agreeing.
        sizes: dict[str, int] = {}
        for vote in answered:
            sizes[vote.digest] = sizes.get(vote.digest, 0) + 1
        majority_digest = max(sorted(sizes), key=lambda d: sizes[d])
        majority = next(v.data for v in answered if v.digest == majority_digest)
    for vote in answered:
        if decision.accepted and vote.digest == majority_digest:
            vote.outcome = Outcome.AGREED
        else:
            vote.outcome = Outcome.DISSENTED
            if vote.digest != majority_digest and majority is not None and vote.data is not None:
                vote.first_difference = first_difference(majority, vote.data)
    decision.votes = sorted(votes.values(), key=lambda v: v.replica_id)

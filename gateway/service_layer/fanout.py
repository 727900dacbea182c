"""The fan-out of one consensus call: asks the replicas (the ReplicaClient port), hedged or
not, and hands each answer to the domain's tally (gateway/domain/consensus.py: the quorum rule
on exact outputs across engines, then market by market).

It answers as soon as the tally is decided; the stragglers still finish in the background so
that dissent and timeouts are recorded for replica health. Hedged mode (optional): ask only the
first k replicas, and the others once k identical answers have become impossible without them
(a dissent, an error) or the hedge delay has passed. The safety rule is the same (k identical
outputs); the cost of an agreeing call drops from n pricings to k, at the price of hearing the
spare replicas only when they are needed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gateway.domain.consensus import Decision, HedgeBudget, Tally, Vote, vote_for
from gateway.domain.ports import ReplicaClient

_background: set[asyncio.Future[None]] = set()


async def decide(
    clients: Sequence[ReplicaClient],
    request: bytes,
    quorum: int,
    timeout: float,
    on_complete: Callable[[Decision], Awaitable[None]] | None = None,
    hedge_after: float | None = None,
    hedge_budget: HedgeBudget | None = None,
    min_engines: int = 1,
) -> Decision:
    """Asks the replicas; returns at the first quorum of identical bytes, or once all answered.

    With `hedge_after` set, only the first `quorum` clients are asked at once (callers rotate
    the order so that every replica is heard); the rest are asked after `hedge_after` seconds
    or as soon as an answer rules out agreement among the first ones. Replicas never asked keep
    the NOT_AWAITED outcome, which replica health ignores. `hedge_budget`, if given, bounds
    how often the delay alone may bring the others in.

    `on_complete` gets the final decision with every vote once the last replica has answered
    (after this function may already have returned), for dissent records and replica health.

    `min_engines`: how many distinct engines the k agreeing replicas must run (the gateway
    passes 2; 1 is plain k-of-n). Without a k-of-n identical group across engines once every
    asked replica has answered, the answers are compared market by market (`agreement.agree`).
    """
    tally = Tally(clients, quorum, min_engines)

    async def ask(client: ReplicaClient) -> Vote:
        started = time.perf_counter()
        reply = await client.price(request, timeout)
        return vote_for(client, reply, int((time.perf_counter() - started) * 1e6))

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

    while (waiting or spare) and not tally.decided:
        if not waiting:
            hedge()  # the first ones all answered without a decision: the rest are needed
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
            others_needed = tally.take(finished.result())
            if tally.decided:
                break
            if spare and others_needed:
                hedge()  # the first k can no longer agree by themselves: ask the others now
    if timer is not None:
        timer.cancel()
    tally.close()

    # Every task whose vote was not taken in, finished or not: one that completed while the
    # quorum was being reached is done but unread, and its vote (maybe a dissent) counts too.
    taken = tally.taken()
    pending = [t for c, t in tasks.items() if c.replica_id not in taken]

    async def finish() -> None:
        decision = tally.take_late(await asyncio.gather(*pending))
        if on_complete is not None:
            await on_complete(decision)

    if pending or on_complete is not None:
        # Never on the caller's path: the answer goes out at quorum.
        _background.add(task := asyncio.ensure_future(finish()))
        task.add_done_callback(_background.discard)
    return tally.answer()

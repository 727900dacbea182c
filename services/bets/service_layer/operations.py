"""Operators' requests (settle, void, roll back) run once per idempotency key."""

from __future__ import annotations

from collections.abc import Callable

from service_runtime.errors import FailedPrecondition
from services.bets.domain import requests
from services.bets.domain.ports import BetSession, BetStore


def run_once(
    store: BetStore,
    key: str,
    fingerprint: str,
    run: Callable[[], int],
    finish: Callable[[BetSession, int], None] | None = None,
) -> int:
    """Runs `run` once per key, and answers a retry with the first result. `finish` runs in the
    unit of work that records the result: what it writes exists exactly when the request is
    done, and a retry that replays the result writes nothing again. The work between the
    claim and the result is idempotent bet by bet, so a request that died half-way is run
    again by its retry."""
    requests.check_idempotency_key(key)
    with store.session() as session:
        earlier = session.claim_operation(key, fingerprint)
        if earlier is not None:
            if earlier[0] != fingerprint:
                raise FailedPrecondition(
                    "IDEMPOTENCY_KEY_REUSED", "this idempotency_key was used for another call"
                )
            return earlier[1]
    result = run()
    with store.session() as session:
        if finish is not None:
            finish(session, result)
        session.finish_operation(key, result)
    return result

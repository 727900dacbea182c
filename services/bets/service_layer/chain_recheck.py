"""Settling from the chain (the rule: domain/chain_results.py `judge`).

Each results.finalised event is recorded as a claim and checked at once; claims the chain does
not show yet are re-checked on a cadence (a background step app.py declares), and held
(NOT_ON_CHAIN) after a bound. A hold is logged, counted (`betmesh.bets.result_holds`) and
listed by ListResultHolds with its evidence. Blocking: the handlers run it off the event loop.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from service_runtime.errors import InvalidArgument
from service_runtime.outages import as_outage
from service_runtime.outages import count as count_outage
from service_runtime.telemetry import meter
from services.bets.domain.chain_results import (
    CheckState,
    ClaimedResult,
    HoldRow,
    OnChain,
    Verdict,
    judge,
)
from services.bets.domain.operators import require_operator
from services.bets.domain.settlement import FinalScore
from services.bets.domain.wallet import Caller
from services.bets.service_layer.ports import ChainReader, ChainResults

log = logging.getLogger(__name__)
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 200

# Settles every bet on a fixture from a final score at a version; returns how many.
SettleResult = Callable[[str, FinalScore, int], int]


def _now() -> datetime:
    return datetime.now(UTC)


def _token(fixture_id: str, version: int) -> str:
    return base64.urlsafe_b64encode(f"{version}:{fixture_id}".encode()).decode()


def _after(token: str) -> tuple[str, int]:
    if not token:
        return "", 0
    try:
        version, _, fixture_id = (
            base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode().partition(":")
        )
        return fixture_id, int(version)
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidArgument("PAGE_TOKEN_INVALID", "page_token is not one we issued") from None


def list_holds(
    results: ChainResults, caller: Caller | None, page_size: int, page_token: str
) -> tuple[list[HoldRow], str]:
    """Held results, by fixture and version (operators and services only)."""
    require_operator(caller)
    if len(page_token) > 400:
        raise InvalidArgument("PAGE_TOKEN_INVALID", "page_token is not one we issued")
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    rows = results.holds(_after(page_token), size + 1)
    if len(rows) > size:
        last = rows[size - 1].claimed
        return rows[:size], _token(last.fixture_id, last.version)
    return rows, ""


class ChainRecheck:
    def __init__(
        self,
        settle: SettleResult,
        results: ChainResults,
        reader: ChainReader | None,
        wait_bound_seconds: float,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.settle = settle
        self.results = results
        self.reader = reader
        self.wait_bound_seconds = wait_bound_seconds
        self._clock = clock
        self.holds = meter(__name__).create_counter(
            "betmesh.bets.result_holds",
            description="announced results the chain did not confirm (nothing settled)",
        )
        self._warned = False

    def claim(self, claimed: ClaimedResult) -> CheckState:
        """Records an announced result and checks it against the chain."""
        self.results.record(claimed)
        waiting = self.results.waiting_one(claimed.fixture_id, claimed.version)
        if waiting is None:
            return CheckState.SETTLED  # judged before (a redelivered event)
        try:
            return self.check(*waiting)
        except Exception as exc:
            # Recorded: the re-check step tries again (a provider down must not dead-letter it).
            outage = as_outage(exc)
            if outage is not None:
                count_outage(outage)  # met and kept here: the runner never sees it
            log.warning(
                "chain check failed; retried later",
                extra={
                    "fixture_id": claimed.fixture_id,
                    **({"reason": outage.reason, **outage.metadata} if outage else {}),
                },
                # An outage is known, not a bug of ours: no traceback for it.
                exc_info=outage is None,
            )
            return CheckState.WAITING

    def recheck(self, limit: int = 100) -> int:
        """Claims still waiting for the chain; returns how many were decided. A dependency's
        outage (no chain endpoint answers, the database is gone) fails the whole step once,
        to the runner's back-off: each claim would wait out the same RPC timeout in turn (100
        claims, 17 minutes a pass) and log the same traceback."""
        decided = 0
        for claimed, since in self.results.waiting(limit):
            try:
                if self.check(claimed, since) is not CheckState.WAITING:
                    decided += 1
            except Exception as exc:
                if as_outage(exc) is not None:
                    raise
                log.warning(
                    "chain check failed; retried later",
                    extra={"fixture_id": claimed.fixture_id},
                    exc_info=True,
                )
        return decided

    def check(self, claimed: ClaimedResult, since: datetime) -> CheckState:
        if self.reader is None:
            if not self._warned:
                log.error("results wait: no chain to check them against (BETMESH_BETS_CHAIN_*)")
                self._warned = True
            self.results.touch(claimed, "CHAIN_NOT_CONFIGURED")
            return CheckState.WAITING
        chain = self.reader.read(claimed.fixture_id, claimed.transaction_hash)
        newer = chain is not None and self.results.newer_claimed(claimed.fixture_id, chain.version)
        verdict = judge(claimed, chain, newer)
        waited = (self._clock() - since).total_seconds()
        if verdict.state is CheckState.WAITING and waited >= self.wait_bound_seconds:
            verdict = Verdict(CheckState.HELD, "NOT_ON_CHAIN")
        if verdict.state is CheckState.WAITING:
            self.results.touch(claimed, verdict.reason)
        elif verdict.state is CheckState.SETTLED:
            assert chain is not None
            self._settle(claimed, chain)
            self.results.resolve(claimed, verdict, chain)
        elif verdict.state is CheckState.HELD:
            evidence = self.reader.evidence()
            self.results.resolve(claimed, verdict, chain, evidence.signers, evidence.config_version)
            self.holds.add(1, {"reason": verdict.reason.split(":")[0]})
            log.error(
                "result held: the chain does not confirm what the oracle announced",
                extra={
                    "fixture_id": claimed.fixture_id,
                    "version": claimed.version,
                    "reason": verdict.reason,
                    "transaction_hash": claimed.transaction_hash,
                },
            )
        else:
            self.results.resolve(claimed, verdict, chain)
        return verdict.state

    def _settle(self, claimed: ClaimedResult, chain: OnChain) -> None:
        # Scores and status as the contract stores them. Games per set are not on chain; they
        # are taken from the announcement only because its sources hash matched the report's.
        started = time.monotonic()
        count = self.settle(
            claimed.fixture_id,
            FinalScore(chain.home, chain.away, chain.status, claimed.set_games),
            chain.version,
        )
        log.info(
            "settled from the chain",
            extra={
                "fixture_id": claimed.fixture_id,
                "version": chain.version,
                "bets": count,
                "ms": round((time.monotonic() - started) * 1000),
            },
        )

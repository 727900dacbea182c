"""Settling, voiding and rolling back over the store's units of work: one unit of work per bet
(a failure leaves the others settled, and the next delivery or retry does the rest, as each
step is idempotent), and operators' requests once per key. The rules are the domain's
(domain/settling.py, voiding.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.bets.domain import settling, voiding
from services.bets.domain.model import OPEN_STATUSES, SETTLED_STATUSES, Bet
from services.bets.domain.operators import require_operator
from services.bets.domain.ports import BetSession, BetStore
from services.bets.domain.settlement import FinalScore
from services.bets.domain.wallet import Caller
from services.bets.service_layer.operations import run_once


class Settling:
    def __init__(self, store: BetStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self._clock = clock

    def settle_result(self, fixture_id: str, score: FinalScore, version: int) -> int:
        """Settles every bet with a leg on the fixture from its final score; a higher version
        (a corrected result) rolls earlier settlements back first. Returns bets settled."""
        return self._apply(fixture_id, [], settling.result_outcome(score), version)

    def settle_market(
        self, key: str, command: settling.SettleCommand, caller: Caller | None
    ) -> int:
        require_operator(caller)
        settling.check_settle_market(command)
        outcome = settling.market_outcome(command)
        return run_once(
            self.store,
            key,
            settling.settle_market_fingerprint(command),
            lambda: self._apply(
                command.fixture_id, [command.market_id], outcome, max(command.version, 1)
            ),
        )

    def _apply(
        self, fixture_id: str, market_ids: list[str], outcome: settling.LegOutcome, version: int
    ) -> int:
        def settle(session: BetSession, bet: Bet, now: datetime) -> bool:
            settled = settling.apply_result(
                session, bet, fixture_id, market_ids, outcome, version, now
            )
            session.update_bet(bet)
            return settled

        return self._bet_by_bet(fixture_id, market_ids, None, None, settle)

    def _bet_by_bet(
        self,
        fixture_id: str,
        market_ids: list[str],
        placed_after: datetime | None,
        placed_before: datetime | None,
        change: Callable[[BetSession, Bet, datetime], bool],
    ) -> int:
        """Runs `change` on each open or settled bet with a leg on the fixture (and markets, if
        any) placed in the window, locked, one unit of work per bet: a failure leaves the
        others done and is retried alone. Returns how many bets `change` counted."""
        with self.store.session() as session:
            bet_ids = session.bet_ids_on(fixture_id, market_ids, placed_after, placed_before)
        count = 0
        for bet_id in bet_ids:
            now = self._clock()
            with self.store.session() as session:
                bet = session.lock_bet(bet_id)
                if bet is None or bet.status not in SETTLED_STATUSES | OPEN_STATUSES:
                    continue  # rejected or cashed out: results and voids leave it alone
                if change(session, bet, now):
                    count += 1
        return count

    def rollback_market(
        self, key: str, fixture_id: str, market_id: str, caller: Caller | None
    ) -> int:
        """Undoes settlements and voids on a market: its bets are open again until the next
        result."""
        require_operator(caller)
        settling.check_rollback(fixture_id)

        def reopen(session: BetSession, bet: Bet, _now: datetime) -> bool:
            if not settling.reopen(session, bet, fixture_id, market_id):
                return False
            session.update_bet(bet)
            return True

        def run() -> int:
            markets = [market_id] if market_id else []
            return self._bet_by_bet(fixture_id, markets, None, None, reopen)

        return run_once(self.store, key, settling.rollback_fingerprint(fixture_id, market_id), run)

    def void(
        self,
        key: str,
        fixture_id: str,
        market_ids: list[str],
        placed_after: datetime | None,
        placed_before: datetime | None,
        caller: Caller | None,
        reason: str = "",
    ) -> int:
        """Voids the legs on a fixture's markets of bets placed in a window. The void is
        announced through the outbox, queued in the unit of work that records it done: once
        per key, even if the process dies."""
        require_operator(caller)
        voiding.check_void(fixture_id, placed_after, placed_before)

        def void_legs(session: BetSession, bet: Bet, now: datetime) -> bool:
            if not voiding.void_legs(session, bet, fixture_id, market_ids, now):
                return False
            session.update_bet(bet)
            return True

        def run() -> int:
            return self._bet_by_bet(fixture_id, market_ids, placed_after, placed_before, void_legs)

        def announce(session: BetSession, _count: int) -> None:
            session.notify_voided(
                voiding.voided_notice(
                    key, fixture_id, market_ids, placed_after, placed_before, reason, self._clock()
                )
            )

        fingerprint = voiding.void_fingerprint(fixture_id, market_ids, placed_after, placed_before)
        return run_once(self.store, key, fingerprint, run, announce)

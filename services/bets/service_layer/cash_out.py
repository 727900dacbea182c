"""Cash-out offers and their use over the store's units of work (rules: domain/cash_out.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from services.bets.domain import cash_out, requests
from services.bets.domain.bet_rules import BetRules
from services.bets.domain.model import Bet, CashOutOffer
from services.bets.domain.ports import BetStore
from services.bets.domain.prices import PriceBook
from services.bets.domain.wallet import Caller
from services.bets.service_layer.queries import Queries


class CashingOut:
    def __init__(
        self,
        store: BetStore,
        prices: PriceBook,
        rules: BetRules,
        currency: str,
        queries: Queries,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.prices = prices
        self.rules = rules
        self.currency = currency
        self.queries = queries
        self._clock = clock

    def offer(
        self,
        bet_id: str,
        caller: Caller | None,
        stake_minor: int | None = None,
        currency: str = "",
    ) -> CashOutOffer:
        bet = self.queries.get(bet_id, caller)
        now = self._clock()
        prices = cash_out.current_prices(bet, self.prices, now, self.rules)
        part = cash_out.part_to_cash_out(bet, stake_minor, currency, self.currency, self.rules)
        offer = cash_out.new_offer(bet, prices, part, self.rules, now)
        with self.store.session() as session:
            session.save_offer(offer)
        return offer

    def cash_out(self, key: str, bet_id: str, offer_id: str, caller: Caller | None) -> Bet:
        requests.check_idempotency_key(key)
        if not offer_id:
            raise InvalidArgument("OFFER_ID_REQUIRED", "offer_id is required")
        bet = self.queries.get(bet_id, caller)
        fingerprint = requests.fingerprint("cash_out", bet_id=bet_id, offer_id=offer_id)
        with self.store.session() as session:
            # The bet's row lock serialises concurrent retries: the second sees the first's
            # claim of the key committed and answers with the bet as the first left it.
            locked = session.lock_bet(bet.bet_id)
            if locked is None:
                raise NotFound("BET_NOT_FOUND", f"no bet {bet_id}", {"bet_id": bet_id})
            bet = locked
            operation = f"cash_out:{bet.player_id}:{key}"
            earlier = session.claim_operation(operation, fingerprint)
            if earlier is not None:
                if earlier[0] != fingerprint:
                    raise FailedPrecondition(
                        "IDEMPOTENCY_KEY_REUSED", "this idempotency_key was used for another call"
                    )
                return bet
            # The bet's state first: a closed bet's offers are gone, and "closed" says more.
            now = self._clock()
            prices = cash_out.current_prices(bet, self.prices, now, self.rules)
            offer = session.offer(offer_id)
            part = cash_out.check_offer_usable(bet, offer_id, offer, prices, now)
            assert offer is not None
            # Every offer of the bet priced the stake as it was: none may be used again.
            session.forget_offers(bet.bet_id)
            cash_out.cash_out(session, bet, offer, part, now)
            session.update_bet(bet)
            session.finish_operation(operation, 1)
        return bet

    def purge_offers(self) -> int:
        """Drops offers expired for longer than the retention (answered OFFER_EXPIRED until
        then, OFFER_NOT_FOUND after)."""
        retention = timedelta(seconds=self.rules.cash_out_offer_retention_seconds)
        return self.store.purge_offers(self._clock() - retention)

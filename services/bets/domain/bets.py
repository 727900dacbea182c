"""Bet use cases: place (pre-match and live), decide, settle, void, roll back, report.

Synchronous and storage-agnostic: callers run them in worker threads. Every money movement is
one balanced ledger transaction inside the same database transaction as the bet's change of
state, so a crash leaves either both or neither.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from service_runtime import page_tokens
from service_runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from services.bets.domain import requests, settlement
from services.bets.domain.bet_ports import (
    BetSession,
    BetStore,
    MarketExposureRow,
    Placed,
    PlacementRules,
    ReturnToPlayer,
    SettledNotice,
    VoidedNotice,
)
from services.bets.domain.ledger import (
    CREDIT_NORMAL,
    DEBIT_NORMAL,
    Account,
    AccountKind,
    LedgerTransaction,
    Posting,
    TransactionKind,
    player_held,
    player_wallet,
)
from services.bets.domain.model import (
    OPEN_STATUSES,
    SETTLED_STATUSES,
    Bet,
    BetRejected,
    BetStatus,
    CashOutOffer,
    FixtureQuotes,
    Leg,
    OddsAcceptance,
    Outcome,
    PlaceBetCommand,
    Rejection,
)
from services.bets.domain.prices import PriceBook
from services.bets.domain.statement import QuarterlyStatement, quarter_period
from services.bets.domain.wallet import PRIVILEGED_ROLES, Caller, authorize

log = logging.getLogger(__name__)

MIN_ODDS_E4 = 10_001
MAX_ODDS_E4 = 10_000_000
# KYC states in which a player may bet; PROVISIONAL only for its first month (ANJ).
_MAY_BET = ("PENDING", "PROVISIONAL", "VERIFIED")


@dataclass(frozen=True)
class BetRules:
    min_stake_minor: int = 10
    max_stake_minor: int = 1_000_000
    max_payout_minor: int = 10_000_000
    max_market_liability_minor: int = 50_000_000
    max_fixture_liability_minor: int = 100_000_000
    # Open (unsettled) stakes one player may have at once.
    max_player_open_stake_minor: int = 5_000_000
    max_legs: int = 12
    allow_same_fixture_legs: bool = False
    live_delay_seconds: dict[str, float] = field(
        default_factory=lambda: {"FOOTBALL": 6.0, "TENNIS": 3.0, "BASKETBALL": 4.0}
    )
    default_live_delay_seconds: float = 6.0
    provisional_days: int = 30
    stake_cap_window_days: int = 7
    # The house keeps (10000 - margin) / 10000 of a cash-out's fair value.
    cash_out_margin_e4: int = 9_500
    cash_out_offer_seconds: float = 5.0
    # How long an expired offer is kept (to answer OFFER_EXPIRED) before it is purged.
    cash_out_offer_retention_seconds: float = 60.0


def house(currency: str) -> Account:
    return Account(
        code="house:book",
        currency=currency,
        kind=AccountKind.HOUSE,
        normal_side=CREDIT_NORMAL,
        allow_negative=True,
    )


def receivable(player_id: str, currency: str) -> Account:
    """What a player owes after a rolled-back win they had already spent."""
    return Account(
        code=f"receivable:{player_id}",
        currency=currency,
        kind=AccountKind.HOUSE,
        normal_side=DEBIT_NORMAL,
        allow_negative=True,
    )


def _postings(*pairs: tuple[Account, int]) -> tuple[Posting, ...]:
    return tuple(Posting(account, amount) for account, amount in pairs if amount != 0)


def stake_release(bet: Bet) -> LedgerTransaction:
    return LedgerTransaction(
        transaction_id=f"tx_release_{bet.bet_id}",
        kind=TransactionKind.STAKE_RELEASE,
        postings=_postings(
            (player_held(bet.player_id, bet.currency), bet.stake_minor),
            (player_wallet(bet.player_id, bet.currency), -bet.stake_minor),
        ),
        bet_id=bet.bet_id,
    )


def settlement_transaction(bet: Bet, status: BetStatus, payout_minor: int) -> LedgerTransaction:
    """The held stake goes to the house, the payout from the house to the wallet: one movement."""
    return LedgerTransaction(
        transaction_id=f"tx_settle_{bet.bet_id}_{bet.settlement_count}",
        kind=TransactionKind.VOID_REFUND if status is BetStatus.VOID else TransactionKind.PAYOUT,
        postings=_postings(
            (player_held(bet.player_id, bet.currency), bet.stake_minor),
            (player_wallet(bet.player_id, bet.currency), -payout_minor),
            (house(bet.currency), payout_minor - bet.stake_minor),
        ),
        bet_id=bet.bet_id,
    )


def cash_out_transaction(bet: Bet, amount_minor: int) -> LedgerTransaction:
    """The held stake goes to the house and the cash-out amount to the wallet: one movement."""
    return LedgerTransaction(
        transaction_id=f"tx_cash_out_{bet.bet_id}",
        kind=TransactionKind.CASH_OUT,
        postings=_postings(
            (player_held(bet.player_id, bet.currency), bet.stake_minor),
            (player_wallet(bet.player_id, bet.currency), -amount_minor),
            (house(bet.currency), amount_minor - bet.stake_minor),
        ),
        bet_id=bet.bet_id,
    )


def partial_cash_out_transaction(
    bet: Bet, offer_id: str, stake_minor: int, amount_minor: int
) -> LedgerTransaction:
    """Part of the held stake goes to the house and the amount to the wallet; the rest stays
    held for the bet. One transaction per offer (an offer is used once)."""
    return LedgerTransaction(
        transaction_id=f"tx_cash_out_{bet.bet_id}_{offer_id}",
        kind=TransactionKind.CASH_OUT,
        postings=_postings(
            (player_held(bet.player_id, bet.currency), stake_minor),
            (player_wallet(bet.player_id, bet.currency), -amount_minor),
            (house(bet.currency), amount_minor - stake_minor),
        ),
        bet_id=bet.bet_id,
    )


def cash_out_value(
    bet: Bet, current_odds: list[int], margin_e4: int, stake_minor: int | None = None
) -> int:
    """stake x accepted combined odds / current combined odds x margin, rounded down once and
    never above what the bet could still win. `stake_minor`: the part cashed out (default
    all of it)."""
    stake = bet.stake_minor if stake_minor is None else stake_minor
    value = Fraction(stake) * margin_e4 / settlement.ODDS_SCALE
    for leg, now in zip(bet.legs, current_odds, strict=True):
        value *= Fraction(leg.accepted_odds_e4, now)
    ceiling = settlement.potential_payout(stake, [leg.accepted_odds_e4 for leg in bet.legs])
    return min(value.numerator // value.denominator, ceiling)


def new_bet_id() -> str:
    return f"bet_{uuid.uuid4().hex}"


def _now() -> datetime:
    return datetime.now(UTC)


def require_operator(caller: Caller | None) -> None:
    if caller is None:
        # Anonymous callers are admitted only while no authenticator is wired; never as operators.
        raise PermissionDenied("OPERATOR_REQUIRED", "this call needs an operator or a service")
    if caller.role not in PRIVILEGED_ROLES:
        raise PermissionDenied(
            "OPERATOR_REQUIRED", f"role {caller.role!r} may not settle, void or roll back"
        )


def check_place(command: PlaceBetCommand, currency: str, max_legs: int) -> int:
    """Malformed requests are the caller's mistake (INVALID_ARGUMENT), as in Pinnacle's API and
    Sportradar MTS, where a ticket that cannot be read is refused before any business check."""
    requests.check_idempotency_key(command.idempotency_key)
    requests.check_player_id(command.player_id)
    if not command.legs:
        raise InvalidArgument("LEGS_REQUIRED", "a bet needs at least one leg")
    if len(command.legs) > max_legs:
        raise InvalidArgument(
            "TOO_MANY_LEGS", f"a bet has at most {max_legs} legs", {"max_legs": str(max_legs)}
        )
    seen: set[tuple[str, str]] = set()
    for index, leg in enumerate(command.legs):
        if not leg.fixture_id or not leg.market_id or not leg.selection_id:
            raise InvalidArgument(
                "LEG_INCOMPLETE",
                f"leg {index} needs fixture_id, market_id and selection_id",
                {"leg": str(index)},
            )
        if not MIN_ODDS_E4 <= leg.odds_e4 <= MAX_ODDS_E4:
            raise InvalidArgument(
                "ODDS_INVALID",
                f"leg {index}: odds_e4 must be the price seen, {MIN_ODDS_E4}-{MAX_ODDS_E4}",
                {"leg": str(index)},
            )
        if (leg.fixture_id, leg.market_id) in seen:
            raise InvalidArgument(
                "DUPLICATE_LEG", f"leg {index} repeats a market of another leg", {"leg": str(index)}
            )
        seen.add((leg.fixture_id, leg.market_id))
    if command.stake_minor is None:
        raise InvalidArgument("INVALID_AMOUNT", "stake is required")
    if command.stake_minor <= 0:
        raise InvalidArgument("INVALID_AMOUNT", "stake must be positive minor units")
    if command.currency != currency:
        raise InvalidArgument(
            "CURRENCY_NOT_SUPPORTED",
            f"stake currency {command.currency or '(empty)'!r} is not {currency}",
            {"supported_currency": currency},
        )
    return command.stake_minor


def price_acceptable(acceptance: OddsAcceptance, seen_e4: int, current_e4: int) -> bool:
    if acceptance is OddsAcceptance.ANY:
        return True
    if acceptance is OddsAcceptance.HIGHER:
        return current_e4 >= seen_e4
    return current_e4 == seen_e4


def quote_leg(
    leg: Leg,
    quotes: FixtureQuotes | None,
    acceptance: OddsAcceptance,
    live: bool,
    *,
    placing: bool,
) -> None:
    """Checks one leg against the current accepted price; fills the accepted price on placing."""
    if quotes is None:
        raise BetRejected(
            Rejection.NO_CONSENSUS_PRICE, f"no accepted consensus price for {leg.fixture_id}"
        )
    market = quotes.markets.get(leg.market_id)
    selection = market.selections.get(leg.selection_id) if market else None
    if market is None or selection is None:
        raise BetRejected(
            Rejection.MARKET_NOT_FOUND, f"{leg.market_id}/{leg.selection_id} is not offered"
        )
    if quotes.live and not live:
        raise BetRejected(Rejection.PAST_CUTOFF_TIME, f"{leg.fixture_id} is in play")
    if market.status == "HANDED_OVER":
        raise BetRejected(Rejection.PAST_CUTOFF_TIME, f"{leg.market_id} was handed over to live")
    if market.status != "ACTIVE":
        raise BetRejected(
            Rejection.BETTING_SUSPENDED, f"{leg.market_id} is {market.status.lower()}"
        )
    if not selection.active or selection.odds_e4 <= 0:
        raise BetRejected(Rejection.SELECTION_WITHDRAWN, f"{leg.selection_id} is withdrawn")
    if not price_acceptable(acceptance, leg.odds_e4, selection.odds_e4):
        raise BetRejected(
            Rejection.LINE_CHANGED,
            f"{leg.market_id}/{leg.selection_id} is now {selection.odds_e4} (seen {leg.odds_e4})",
        )
    if placing:
        leg.accepted_odds_e4 = selection.odds_e4
        leg.quote_set_digest = quotes.digest
        leg.market_type = market.market_type
        leg.line_e2 = market.line_e2
        leg.side = market.side
        leg.sport = quotes.sport
        leg.market_name = market.name
        leg.selection_name = selection.name


def placement_messages(rules: BetRules) -> dict[str, str]:
    """What a refused player reads, by reason; the store fills in the figures it found."""
    return {
        "KYC_REQUIRED/UNKNOWN": "identity has not opened this account",
        "KYC_REQUIRED/STATUS": "account status {status} may not bet",
        "KYC_REQUIRED/PROVISIONAL_EXPIRED": (
            f"a provisional account must be verified within {rules.provisional_days} days"
        ),
        "SELF_EXCLUDED": "the player is excluded from betting",
        "STAKE_CAP_NOT_SET": "a 7-day stake cap must be set before the first bet",
        "RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED": (
            "the 7-day stake cap of {a} minor units would be exceeded ({b} already staked)"
        ),
        "ABOVE_PLAYER_MAX": (
            f"open stakes are capped at {rules.max_player_open_stake_minor} minor units"
        ),
        "ABOVE_MARKET_MAX": "the house's liability on {id} is full",
        "ABOVE_EVENT_MAX": "the house's liability on {id} is full",
        "INSUFFICIENT_FUNDS": "the wallet cannot cover the stake",
    }


@dataclass(frozen=True)
class SettleCommand:
    fixture_id: str
    # selection_id -> outcome, for SettleMarket; empty with a score for results.
    market_id: str
    outcomes: dict[str, Outcome]
    version: int
    # selection_id -> a winner's dead-heat factor, ten-thousandths (absent: a plain result).
    dead_heat_e4: dict[str, int] = field(default_factory=dict)


class BetsCore:
    def __init__(
        self,
        store: BetStore,
        prices: PriceBook,
        rules: BetRules,
        currency: str,
        *,
        clock: Callable[[], datetime] = _now,
        new_id: Callable[[], str] = new_bet_id,
    ) -> None:
        self.store = store
        self.prices = prices
        self.rules = rules
        self.currency = currency
        self._clock = clock
        self._new_id = new_id
        self._messages = placement_messages(rules)

    # ---- placing -----------------------------------------------------------------------

    def live_delay(self, sports: Iterable[str]) -> float:
        delays = [
            self.rules.live_delay_seconds.get(s, self.rules.default_live_delay_seconds)
            for s in sports
        ]
        return max(delays, default=self.rules.default_live_delay_seconds)

    def place(self, command: PlaceBetCommand, caller: Caller | None) -> Bet:
        bet, verdict = self._draft(command, caller)
        return self._place_drafted(bet, verdict)

    async def place_async(self, command: PlaceBetCommand, caller: Caller | None) -> Bet:
        """`place` for the event loop: a pre-match bet's one statement is awaited, not run in a
        worker thread (a thread hand-off per bet costs more than the bet's own Python)."""
        bet, verdict = self._draft(command, caller)
        if bet.live:
            # Live bets also read the game state first; they are held for seconds anyway.
            return await asyncio.to_thread(self._place_drafted, bet, verdict)
        placed = await self.store.place_async(bet, verdict, self._placement_rules(bet.placed_at))
        if placed.claimed:
            return self._placed(bet, placed)
        return await asyncio.to_thread(self._earlier, bet)

    def _draft(
        self, command: PlaceBetCommand, caller: Caller | None
    ) -> tuple[Bet, BetRejected | None]:
        """The bet as asked, and the verdict of the checks that need no database."""
        stake = check_place(command, self.currency, self.rules.max_legs)
        authorize(caller, command.player_id)
        now = self._clock()
        legs = [
            Leg(leg.fixture_id, leg.market_id, leg.selection_id, leg.odds_e4)
            for leg in command.legs
        ]
        fingerprint = requests.fingerprint(
            "place_bet",
            player_id=command.player_id,
            stake_minor=stake,
            currency=command.currency,
            acceptance=command.acceptance.value,
            live=int(command.live),
            legs=";".join(
                f"{leg.fixture_id}|{leg.market_id}|{leg.selection_id}|{leg.odds_e4}"
                for leg in command.legs
            ),
        )
        bet = Bet(
            bet_id=self._new_id(),
            player_id=command.player_id,
            idempotency_key=command.idempotency_key,
            fingerprint=fingerprint,
            legs=legs,
            stake_minor=stake,
            currency=command.currency,
            odds_e4=0,
            potential_payout_minor=0,
            status=BetStatus.PENDING,
            acceptance=command.acceptance,
            live=command.live,
            placed_at=now,
        )
        # Applied after the player's checks, in the store: player refusals come first.
        try:
            self._check_offer(bet)
        except BetRejected as rejected:
            return bet, rejected
        return bet, None

    def _place_drafted(self, bet: Bet, verdict: BetRejected | None) -> Bet:
        if bet.live and verdict is None:
            games = self.store.games([leg.fixture_id for leg in bet.legs])
            for leg in bet.legs:
                leg.game = games.get(leg.fixture_id)
            delay = self.live_delay(leg.sport for leg in bet.legs)
            bet.decide_after = bet.placed_at + timedelta(seconds=delay)
        placed = self.store.place(bet, verdict, self._placement_rules(bet.placed_at))
        return self._placed(bet, placed) if placed.claimed else self._earlier(bet)

    def _earlier(self, bet: Bet) -> Bet:
        """The answer to a key already used: the first bet, or DUPLICATED_REQUEST."""
        earlier = self.store.bet_by_key(bet.player_id, bet.idempotency_key)
        if earlier is None:
            # Placing stores the key with the bet, in one statement: this cannot be seen.
            raise FailedPrecondition("RETRY", "the first request with this key is unfinished")
        if earlier.fingerprint != bet.fingerprint:
            return self._duplicated(bet, earlier)
        return earlier

    def _placed(self, bet: Bet, placed: Placed) -> Bet:
        assert placed.status is not None
        bet.status = placed.status
        if placed.status is BetStatus.REJECTED:
            bet.rejection = placed.rejection
            bet.rejection_message = placed.message
            bet.liability_minor = 0
            bet.decide_after = None
        if placed.status is not BetStatus.PENDING:
            bet.decided_at = bet.placed_at
        return bet

    def _placement_rules(self, now: datetime) -> PlacementRules:
        rules = self.rules
        return PlacementRules(
            may_bet=_MAY_BET,
            provisional_cutoff=now - timedelta(days=rules.provisional_days),
            window_start=now - timedelta(days=rules.stake_cap_window_days),
            max_open_stake_minor=rules.max_player_open_stake_minor,
            max_market_liability_minor=rules.max_market_liability_minor,
            max_fixture_liability_minor=rules.max_fixture_liability_minor,
            messages=self._messages,
        )

    def _duplicated(self, bet: Bet, earlier: Bet) -> Bet:
        # Pinnacle's DUPLICATED_REQUEST: the key already names another bet; nothing is stored.
        bet.bet_id = ""
        bet.status = BetStatus.REJECTED
        bet.rejection = Rejection.DUPLICATED_REQUEST
        bet.rejection_message = f"idempotency_key already used for another bet ({earlier.bet_id})"
        bet.decided_at = self._clock()
        return bet

    def _check_offer(self, bet: Bet) -> None:
        fixtures = [leg.fixture_id for leg in bet.legs]
        if len(set(fixtures)) != len(fixtures) and not self.rules.allow_same_fixture_legs:
            raise BetRejected(
                Rejection.SAME_FIXTURE_LEGS, "legs of one accumulator must be on distinct fixtures"
            )
        for leg in bet.legs:
            quote_leg(
                leg, self.prices.fixture(leg.fixture_id), bet.acceptance, bet.live, placing=True
            )
            leg.fixture_name = self.prices.fixture_name(leg.fixture_id) or ""
        odds = [leg.accepted_odds_e4 for leg in bet.legs]
        bet.odds_e4 = settlement.combined_odds_e4(odds)
        bet.potential_payout_minor = settlement.potential_payout(bet.stake_minor, odds)
        bet.liability_minor = max(bet.potential_payout_minor - bet.stake_minor, 0)
        if bet.stake_minor < self.rules.min_stake_minor:
            raise BetRejected(
                Rejection.BELOW_MIN_BET_AMOUNT,
                f"the minimum stake is {self.rules.min_stake_minor} minor units",
            )
        if bet.stake_minor > self.rules.max_stake_minor:
            raise BetRejected(
                Rejection.ABOVE_MAX_BET_AMOUNT,
                f"the maximum stake is {self.rules.max_stake_minor} minor units",
            )
        if bet.potential_payout_minor > self.rules.max_payout_minor:
            raise BetRejected(
                Rejection.ABOVE_MAX_PAYOUT,
                f"the maximum payout per bet is {self.rules.max_payout_minor} minor units",
            )

    # ---- live decisions ----------------------------------------------------------------

    def decide(self, bet_id: str) -> Bet | None:
        """Ends a live bet's delay: accepted, or rejected with its stake released."""
        now = self._clock()
        with self.store.session() as session:
            bet = session.lock_bet(bet_id)
            if bet is None or bet.status is not BetStatus.PENDING:
                return bet
            try:
                for leg in bet.legs:
                    quotes = self.prices.fixture(leg.fixture_id)
                    game = session.game(leg.fixture_id)
                    before = leg.game
                    if before is not None and game is not None:
                        if (game.home_red_cards, game.away_red_cards) != (
                            before.home_red_cards,
                            before.away_red_cards,
                        ):
                            raise BetRejected(
                                Rejection.RED_CARDS_CHANGED, f"a red card in {leg.fixture_id}"
                            )
                        if (game.home_score, game.away_score) != (
                            before.home_score,
                            before.away_score,
                        ):
                            raise BetRejected(
                                Rejection.SCORE_CHANGED, f"the score of {leg.fixture_id} changed"
                            )
                    quote_leg(leg, quotes, bet.acceptance, True, placing=False)
                bet.status = BetStatus.ACCEPTED
            except BetRejected as rejected:
                session.add_exposure(bet.legs, -bet.liability_minor, -bet.stake_minor)
                session.post(stake_release(bet))
                bet.status = BetStatus.REJECTED
                bet.rejection = rejected.reason
                bet.rejection_message = rejected.message
            bet.decided_at = now
            if bet.status is BetStatus.ACCEPTED:
                self._maybe_settle(session, bet, now)
            session.update_bet(bet)
            return bet

    # ---- reads -------------------------------------------------------------------------

    def get(self, bet_id: str, caller: Caller | None) -> Bet:
        if not bet_id:
            raise InvalidArgument("BET_ID_REQUIRED", "bet_id is required")
        if caller is None:
            raise Unauthenticated("CALLER_UNKNOWN", "this call needs a signed-in caller")
        bet = self.store.get_bet(bet_id)
        if bet is None or (caller.role not in PRIVILEGED_ROLES and caller.subject != bet.player_id):
            # Someone else's bet is answered as missing: its existence is not theirs to learn.
            raise NotFound("BET_NOT_FOUND", f"no bet {bet_id}", {"bet_id": bet_id})
        return bet

    def list_bets(
        self,
        player_id: str,
        statuses: list[BetStatus],
        page_size: int,
        page_token: str,
        caller: Caller | None,
    ) -> tuple[list[Bet], str]:
        requests.check_player_id(player_id)
        authorize(caller, player_id)
        size = requests.page_size(page_size)
        before = _decode_bet_token(page_token)
        rows = self.store.list_bets(player_id, statuses, before, size + 1)
        page, more = rows[:size], len(rows) > size
        return page, (_encode_bet_token(page[-1].bet_id) if more else "")

    # ---- cash-out ----------------------------------------------------------------------

    def _cash_out_prices(self, bet: Bet) -> list[int]:
        """Each leg's current price; FAILED_PRECONDITION when the bet cannot be cashed out now."""
        if bet.status is not BetStatus.ACCEPTED or any(
            leg.outcome is not None or leg.voided for leg in bet.legs
        ):
            raise FailedPrecondition(
                "CASH_OUT_UNAVAILABLE",
                f"a {bet.status.value.lower()} bet or one with settled legs cannot be cashed out",
                {"bet_id": bet.bet_id},
            )
        prices: list[int] = []
        for leg in bet.legs:
            quotes = self.prices.fixture(leg.fixture_id)
            market = quotes.markets.get(leg.market_id) if quotes else None
            selection = market.selections.get(leg.selection_id) if market else None
            if market is None or selection is None:
                raise FailedPrecondition(
                    "CASH_OUT_UNAVAILABLE",
                    f"{leg.market_id} has no current price",
                    {"bet_id": bet.bet_id, "market_id": leg.market_id},
                )
            if market.status != "ACTIVE" or not selection.active or selection.odds_e4 <= 0:
                raise FailedPrecondition(
                    "MARKET_SUSPENDED",
                    f"{leg.market_id} is {market.status.lower()}",
                    {"bet_id": bet.bet_id, "market_id": leg.market_id},
                )
            prices.append(selection.odds_e4)
        return prices

    def _cash_out_part(self, bet: Bet, stake_minor: int | None, currency: str) -> int:
        """The part of the stake a partial cash-out closes; the whole stake when not given."""
        if stake_minor is None:
            return bet.stake_minor
        if currency != self.currency:
            raise InvalidArgument(
                "CURRENCY_NOT_SUPPORTED",
                f"stake currency {currency or '(empty)'!r} is not {self.currency}",
                {"supported_currency": self.currency},
            )
        if stake_minor <= 0:
            raise InvalidArgument("INVALID_AMOUNT", "the part cashed out must be positive")
        if stake_minor > bet.stake_minor:
            raise FailedPrecondition(
                "CASH_OUT_ABOVE_STAKE",
                f"the bet has {bet.stake_minor} minor units still on",
                {"bet_id": bet.bet_id, "stake_minor": str(bet.stake_minor)},
            )
        left = bet.stake_minor - stake_minor
        if 0 < left < self.rules.min_stake_minor:
            # What stays on must still be a bet the book would take.
            raise FailedPrecondition(
                "CASH_OUT_REMAINDER_TOO_SMALL",
                f"at least {self.rules.min_stake_minor} minor units must stay on, or cash out all",
                {"bet_id": bet.bet_id, "min_stake_minor": str(self.rules.min_stake_minor)},
            )
        return stake_minor

    def cash_out_offer(
        self,
        bet_id: str,
        caller: Caller | None,
        stake_minor: int | None = None,
        currency: str = "",
    ) -> CashOutOffer:
        bet = self.get(bet_id, caller)
        prices = self._cash_out_prices(bet)
        part = self._cash_out_part(bet, stake_minor, currency)
        offer = CashOutOffer(
            offer_id=f"co_{uuid.uuid4().hex}",
            bet_id=bet.bet_id,
            amount_minor=cash_out_value(bet, prices, self.rules.cash_out_margin_e4, part),
            prices=",".join(map(str, prices)),
            expires_at=self._clock() + timedelta(seconds=self.rules.cash_out_offer_seconds),
            stake_minor=part,
        )
        with self.store.session() as session:
            session.save_offer(offer)
        return offer

    def cash_out(self, key: str, bet_id: str, offer_id: str, caller: Caller | None) -> Bet:
        requests.check_idempotency_key(key)
        if not offer_id:
            raise InvalidArgument("OFFER_ID_REQUIRED", "offer_id is required")
        bet = self.get(bet_id, caller)
        fingerprint = requests.fingerprint("cash_out", bet_id=bet_id, offer_id=offer_id)
        with self.store.session() as session:
            # The bet's row lock serialises concurrent retries: the second sees the first's
            # claim of the key committed and answers with the bet as the first left it.
            locked = session.lock_bet(bet.bet_id)
            if locked is None:
                raise NotFound("BET_NOT_FOUND", f"no bet {bet_id}", {"bet_id": bet_id})
            bet = locked
            earlier = session.claim_operation(f"cash_out:{bet.player_id}:{key}", fingerprint)
            if earlier is not None:
                if earlier[0] != fingerprint:
                    raise FailedPrecondition(
                        "IDEMPOTENCY_KEY_REUSED", "this idempotency_key was used for another call"
                    )
                return bet
            # The bet's state first: a closed bet's offers are gone, and "closed" says more.
            prices = self._cash_out_prices(bet)
            offer = session.offer(offer_id)
            if offer is None or offer.bet_id != bet.bet_id:
                raise NotFound("OFFER_NOT_FOUND", f"no offer {offer_id} for this bet")
            now = self._clock()
            if now >= offer.expires_at:
                raise FailedPrecondition(
                    "OFFER_EXPIRED", "the offer has expired: ask for a new one", {"bet_id": bet_id}
                )
            if ",".join(map(str, prices)) != offer.prices:
                raise FailedPrecondition(
                    "PRICE_CHANGED",
                    "the price moved since the offer: ask for a new one",
                    {"bet_id": bet_id},
                )
            # Every offer of the bet priced the stake as it was: none may be used again.
            session.forget_offers(bet.bet_id)
            part = bet.stake_minor if offer.stake_minor is None else offer.stake_minor
            if part > bet.stake_minor:
                raise NotFound("OFFER_NOT_FOUND", f"no offer {offer_id} for this bet")
            if part < bet.stake_minor:
                self._cash_out_part_of(session, bet, offer, part)
                session.update_bet(bet)
                session.finish_operation(f"cash_out:{bet.player_id}:{key}", 1)
                return bet
            session.add_exposure(bet.legs, -bet.liability_minor, -bet.stake_minor)
            session.post(cash_out_transaction(bet, offer.amount_minor))
            bet.status, bet.payout_minor, bet.settled_at = (
                BetStatus.CASHED_OUT,
                offer.amount_minor,
                now,
            )
            bet.settlement_count += 1
            session.notify_settled(
                SettledNotice(
                    event_id=f"bets:settled:{bet.bet_id}:{bet.settlement_count}",
                    bet_id=bet.bet_id,
                    player_id=bet.player_id,
                    status=bet.status,
                    payout_minor=bet.payout_minor,
                    currency=bet.currency,
                )
            )
            session.update_bet(bet)
            session.finish_operation(f"cash_out:{bet.player_id}:{key}", 1)
        return bet

    def _cash_out_part_of(
        self, session: BetSession, bet: Bet, offer: CashOutOffer, part: int
    ) -> None:
        """The bet goes on with the rest of its stake, at the prices it was accepted at."""
        left = bet.stake_minor - part
        potential = settlement.potential_payout(left, [leg.accepted_odds_e4 for leg in bet.legs])
        liability = max(potential - left, 0)
        session.add_exposure(bet.legs, liability - bet.liability_minor, -part)
        session.post(partial_cash_out_transaction(bet, offer.offer_id, part, offer.amount_minor))
        bet.stake_minor, bet.potential_payout_minor, bet.liability_minor = (
            left,
            potential,
            liability,
        )
        bet.cashed_out_stake_minor += part
        bet.cashed_out_minor += offer.amount_minor

    def purge_offers(self) -> int:
        """Drops offers expired for longer than the retention (answered OFFER_EXPIRED until
        then, OFFER_NOT_FOUND after)."""
        retention = timedelta(seconds=self.rules.cash_out_offer_retention_seconds)
        return self.store.purge_offers(self._clock() - retention)

    # ---- settlement --------------------------------------------------------------------

    def settle_result(self, fixture_id: str, score: settlement.FinalScore, version: int) -> int:
        """Settles every bet with a leg on the fixture from its final score; a higher version
        (a corrected result) rolls earlier settlements back first. Returns bets settled."""
        return self._apply(
            fixture_id,
            [],
            lambda leg: (
                settlement.selection_outcome(
                    leg.market_type, leg.line_e2, leg.side, leg.selection_id, score
                ),
                settlement.NO_DEAD_HEAT,
            ),
            version,
        )

    def settle_market(self, key: str, command: SettleCommand, caller: Caller | None) -> int:
        require_operator(caller)
        if not command.fixture_id or not command.market_id:
            raise InvalidArgument("MARKET_REQUIRED", "fixture_id and market_id are required")
        if not command.outcomes:
            raise InvalidArgument("SELECTIONS_REQUIRED", "every selection needs an outcome")

        for selection_id, factor in command.dead_heat_e4.items():
            if not 0 < factor <= settlement.NO_DEAD_HEAT:
                raise InvalidArgument(
                    "DEAD_HEAT_INVALID",
                    "a dead-heat factor is the winning share of the stake: 1-10000 e4",
                    {"selection_id": selection_id},
                )
            winner = command.outcomes.get(selection_id) is Outcome.WIN
            if factor != settlement.NO_DEAD_HEAT and not winner:
                raise InvalidArgument(
                    "DEAD_HEAT_INVALID",
                    "only a winning selection can share its win in a dead heat",
                    {"selection_id": selection_id},
                )

        def outcome(leg: Leg) -> tuple[Outcome, int]:
            found = command.outcomes.get(leg.selection_id)
            if found is None:
                raise settlement.UnsettleableSelection(leg.selection_id)
            return found, command.dead_heat_e4.get(leg.selection_id, settlement.NO_DEAD_HEAT)

        fingerprint = requests.fingerprint(
            "settle_market",
            fixture_id=command.fixture_id,
            market_id=command.market_id,
            version=command.version,
            outcomes=";".join(
                f"{k}={v.value}@{command.dead_heat_e4.get(k, settlement.NO_DEAD_HEAT)}"
                for k, v in sorted(command.outcomes.items())
            ),
        )
        return self._once(
            key,
            fingerprint,
            lambda: self._apply(
                command.fixture_id, [command.market_id], outcome, max(command.version, 1)
            ),
        )

    def _once(
        self,
        key: str,
        fingerprint: str,
        run: Callable[[], int],
        finish: Callable[[BetSession, int], None] | None = None,
    ) -> int:
        """Runs an operator's request once per key. `finish` runs in the transaction that
        records the result: what it writes exists exactly when the request is done, and a
        retry that replays the result writes nothing again."""
        requests.check_idempotency_key(key)
        with self.store.session() as session:
            earlier = session.claim_operation(key, fingerprint)
            if earlier is not None:
                if earlier[0] != fingerprint:
                    raise FailedPrecondition(
                        "IDEMPOTENCY_KEY_REUSED", "this idempotency_key was used for another call"
                    )
                return earlier[1]
        result = run()
        with self.store.session() as session:
            if finish is not None:
                finish(session, result)
            session.finish_operation(key, result)
        return result

    def _apply(
        self,
        fixture_id: str,
        market_ids: list[str],
        outcome: Callable[[Leg], tuple[Outcome, int]],
        version: int,
    ) -> int:
        with self.store.session() as session:
            bet_ids = session.bet_ids_on(fixture_id, market_ids, None, None)
        settled = 0
        # One database transaction per bet: a failure settles the rest and is retried alone.
        for bet_id in bet_ids:
            now = self._clock()
            with self.store.session() as session:
                bet = session.lock_bet(bet_id)
                if bet is None or bet.status in (BetStatus.REJECTED, BetStatus.CASHED_OUT):
                    continue
                for leg in bet.legs:
                    if leg.fixture_id != fixture_id or (
                        market_ids and leg.market_id not in market_ids
                    ):
                        continue
                    if leg.voided or leg.result_version >= version:
                        continue
                    try:
                        new, dead_heat = outcome(leg)
                    except settlement.UnsettleableSelection as exc:
                        log.warning(
                            "leg cannot be settled from this result",
                            extra={
                                "bet_id": bet.bet_id,
                                "market_id": leg.market_id,
                                "why": str(exc),
                            },
                        )
                        continue
                    changed = leg.outcome is not new or leg.dead_heat_e4 != dead_heat
                    if changed and bet.status in SETTLED_STATUSES:
                        self._rollback(session, bet)
                    leg.outcome, leg.dead_heat_e4, leg.result_version = new, dead_heat, version
                if self._maybe_settle(session, bet, now):
                    settled += 1
                session.update_bet(bet)
        return settled

    def _maybe_settle(self, session: BetSession, bet: Bet, now: datetime) -> bool:
        if bet.status is not BetStatus.ACCEPTED:
            return False
        if any(leg.outcome is None for leg in bet.legs):
            return False
        legs = [(leg.outcome, leg.accepted_odds_e4) for leg in bet.legs if leg.outcome]
        status = settlement.bet_status([o for o, _ in legs])
        amount = settlement.payout(
            bet.stake_minor, legs, [leg.dead_heat_e4 for leg in bet.legs if leg.outcome]
        )
        bet.settlement_count += 1
        # Fixture rows before accounts, in every path: the lock order placing uses.
        session.add_exposure(bet.legs, -bet.liability_minor, -bet.stake_minor)
        session.post(settlement_transaction(bet, status, amount))
        bet.status, bet.payout_minor, bet.settled_at = status, amount, now
        session.notify_settled(
            SettledNotice(
                event_id=f"bets:settled:{bet.bet_id}:{bet.settlement_count}",
                bet_id=bet.bet_id,
                player_id=bet.player_id,
                status=status,
                payout_minor=amount,
                currency=bet.currency,
            )
        )
        return True

    def _rollback(self, session: BetSession, bet: Bet) -> None:
        """Reverses the last settlement: the stake goes back on hold and the payout back to the
        house; a payout already spent becomes what the player owes."""
        session.add_exposure(bet.legs, bet.liability_minor, bet.stake_minor)
        wallet = session.wallet(bet.player_id, bet.currency).balance_minor
        from_wallet = min(wallet, bet.payout_minor)
        session.post(
            LedgerTransaction(
                transaction_id=f"tx_rollback_{bet.bet_id}_{bet.settlement_count}",
                kind=TransactionKind.SETTLEMENT_ROLLBACK,
                postings=_postings(
                    (player_held(bet.player_id, bet.currency), -bet.stake_minor),
                    (player_wallet(bet.player_id, bet.currency), from_wallet),
                    (receivable(bet.player_id, bet.currency), bet.payout_minor - from_wallet),
                    (house(bet.currency), bet.stake_minor - bet.payout_minor),
                ),
                bet_id=bet.bet_id,
            )
        )
        bet.status, bet.payout_minor, bet.settled_at = BetStatus.ACCEPTED, 0, None

    def rollback_market(
        self, key: str, fixture_id: str, market_id: str, caller: Caller | None
    ) -> int:
        """Undoes settlements and voids on a market: its bets are open again until the next
        result (Sportradar's rollback_bet_settlement / rollback_bet_cancel)."""
        require_operator(caller)
        if not fixture_id:
            raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")

        def run() -> int:
            with self.store.session() as session:
                bet_ids = session.bet_ids_on(
                    fixture_id, [market_id] if market_id else [], None, None
                )
            count = 0
            for bet_id in bet_ids:
                with self.store.session() as session:
                    bet = session.lock_bet(bet_id)
                    if bet is None or bet.status not in SETTLED_STATUSES | OPEN_STATUSES:
                        continue
                    touched = False
                    if bet.status in SETTLED_STATUSES:
                        self._rollback(session, bet)
                        touched = True
                    for leg in bet.legs:
                        if leg.fixture_id == fixture_id and (
                            not market_id or leg.market_id == market_id
                        ):
                            touched = touched or leg.outcome is not None
                            leg.outcome, leg.result_version, leg.voided = None, 0, False
                            leg.dead_heat_e4 = settlement.NO_DEAD_HEAT
                    if touched:
                        count += 1
                        session.update_bet(bet)
            return count

        return self._once(key, requests.fingerprint("rollback", f=fixture_id, m=market_id), run)

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
        """Voids the legs on a fixture's markets of bets placed in a window (Sportradar's
        bet_cancel); settled bets are rolled back and settled again without those legs.
        The void is announced (partners' BetCancel) through the outbox, queued in the
        transaction that records it done: once per key, even if the process dies."""
        require_operator(caller)
        if not fixture_id:
            raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")
        if placed_after and placed_before and placed_after >= placed_before:
            raise InvalidArgument("WINDOW_INVALID", "placed_after must be before placed_before")

        def run() -> int:
            with self.store.session() as session:
                bet_ids = session.bet_ids_on(fixture_id, market_ids, placed_after, placed_before)
            count = 0
            for bet_id in bet_ids:
                now = self._clock()
                with self.store.session() as session:
                    bet = session.lock_bet(bet_id)
                    if bet is None or bet.status not in SETTLED_STATUSES | OPEN_STATUSES:
                        continue
                    legs = [
                        leg
                        for leg in bet.legs
                        if leg.fixture_id == fixture_id
                        and (not market_ids or leg.market_id in market_ids)
                        and not leg.voided
                    ]
                    if not legs:
                        continue
                    if bet.status in SETTLED_STATUSES:
                        self._rollback(session, bet)
                    for leg in legs:
                        leg.voided, leg.outcome = True, Outcome.VOID
                        leg.dead_heat_e4 = settlement.NO_DEAD_HEAT
                    self._maybe_settle(session, bet, now)
                    session.update_bet(bet)
                    count += 1
            return count

        fingerprint = requests.fingerprint(
            "void",
            f=fixture_id,
            m=",".join(sorted(market_ids)),
            a=placed_after.isoformat() if placed_after else "",
            b=placed_before.isoformat() if placed_before else "",
        )

        def announce(session: BetSession, _count: int) -> None:
            # Whatever the count: a partner may hold bets in the window that bets never saw.
            session.notify_voided(
                VoidedNotice(
                    event_id=f"bets:voided:{key}",
                    fixture_id=fixture_id,
                    market_ids=tuple(market_ids),
                    placed_after=placed_after,
                    placed_before=placed_before,
                    reason=reason,
                    voided_at=self._clock(),
                )
            )

        return self._once(key, fingerprint, run, announce)

    # ---- reports -----------------------------------------------------------------------

    def return_to_player(
        self, start: datetime | None, end: datetime | None, caller: Caller | None
    ) -> ReturnToPlayer:
        require_operator(caller)
        begin = start or datetime(1970, 1, 1, tzinfo=UTC)
        finish = end or self._clock() + timedelta(seconds=1)
        if begin >= finish:
            raise InvalidArgument("PERIOD_INVALID", "period_start must be before period_end")
        return self.store.return_to_player(begin, finish)

    def quarterly_statement(
        self, year: int, quarter: int, caller: Caller | None
    ) -> QuarterlyStatement:
        require_operator(caller)
        start, end = quarter_period(year, quarter)
        # The running quarter is reported up to now; a future one is empty, not refused.
        until = min(end, max(start, self._clock()))
        year_start = start.replace(month=1)
        to_date = self.store.return_to_player(year_start, until) if until > year_start else None
        return QuarterlyStatement(
            start,
            end,
            tuple(self.store.statement_rows(start, until)) if until > start else (),
            to_date.stakes_minor if to_date else 0,
            to_date.payouts_minor if to_date else 0,
        )

    def exposure(self, fixture_id: str, caller: Caller | None) -> list[MarketExposureRow]:
        require_operator(caller)
        if not fixture_id:
            raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")
        return self.store.exposure(fixture_id)


def _encode_bet_token(bet_id: str) -> str:

    return page_tokens.encode("b1", bet_id)


def _decode_bet_token(token: str) -> str | None:
    # Strictly parsed (service_runtime.page_tokens): a key of printable ASCII or a refusal.
    return page_tokens.decode_key("b1", token)

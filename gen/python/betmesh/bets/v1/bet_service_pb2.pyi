import datetime

from betmesh.common.v1 import market_pb2 as _market_pb2
from betmesh.common.v1 import money_pb2 as _money_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransactionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSACTION_KIND_UNSPECIFIED: _ClassVar[TransactionKind]
    TRANSACTION_KIND_DEPOSIT: _ClassVar[TransactionKind]
    TRANSACTION_KIND_WITHDRAWAL: _ClassVar[TransactionKind]
    TRANSACTION_KIND_STAKE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_STAKE_RELEASE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_PAYOUT: _ClassVar[TransactionKind]
    TRANSACTION_KIND_SETTLEMENT_ROLLBACK: _ClassVar[TransactionKind]
    TRANSACTION_KIND_VOID_REFUND: _ClassVar[TransactionKind]
    TRANSACTION_KIND_CASH_OUT: _ClassVar[TransactionKind]

class OddsAcceptance(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ODDS_ACCEPTANCE_UNSPECIFIED: _ClassVar[OddsAcceptance]
    ODDS_ACCEPTANCE_NONE: _ClassVar[OddsAcceptance]
    ODDS_ACCEPTANCE_ANY: _ClassVar[OddsAcceptance]
    ODDS_ACCEPTANCE_HIGHER: _ClassVar[OddsAcceptance]

class BetStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BET_STATUS_UNSPECIFIED: _ClassVar[BetStatus]
    BET_STATUS_PENDING: _ClassVar[BetStatus]
    BET_STATUS_ACCEPTED: _ClassVar[BetStatus]
    BET_STATUS_REJECTED: _ClassVar[BetStatus]
    BET_STATUS_WON: _ClassVar[BetStatus]
    BET_STATUS_LOST: _ClassVar[BetStatus]
    BET_STATUS_VOID: _ClassVar[BetStatus]
    BET_STATUS_HALF_WON: _ClassVar[BetStatus]
    BET_STATUS_HALF_LOST: _ClassVar[BetStatus]
    BET_STATUS_CASHED_OUT: _ClassVar[BetStatus]

class RejectionReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECTION_REASON_UNSPECIFIED: _ClassVar[RejectionReason]
    REJECTION_REASON_LINE_CHANGED: _ClassVar[RejectionReason]
    REJECTION_REASON_SCORE_CHANGED: _ClassVar[RejectionReason]
    REJECTION_REASON_RED_CARDS_CHANGED: _ClassVar[RejectionReason]
    REJECTION_REASON_ABOVE_EVENT_MAX: _ClassVar[RejectionReason]
    REJECTION_REASON_ABOVE_MAX_BET_AMOUNT: _ClassVar[RejectionReason]
    REJECTION_REASON_BELOW_MIN_BET_AMOUNT: _ClassVar[RejectionReason]
    REJECTION_REASON_INSUFFICIENT_FUNDS: _ClassVar[RejectionReason]
    REJECTION_REASON_PAST_CUTOFF_TIME: _ClassVar[RejectionReason]
    REJECTION_REASON_DUPLICATED_REQUEST: _ClassVar[RejectionReason]
    REJECTION_REASON_RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED: _ClassVar[RejectionReason]
    REJECTION_REASON_BETTING_SUSPENDED: _ClassVar[RejectionReason]
    REJECTION_REASON_ABOVE_MAX_PAYOUT: _ClassVar[RejectionReason]
    REJECTION_REASON_ABOVE_MARKET_MAX: _ClassVar[RejectionReason]
    REJECTION_REASON_MARKET_NOT_FOUND: _ClassVar[RejectionReason]
    REJECTION_REASON_SELECTION_WITHDRAWN: _ClassVar[RejectionReason]
    REJECTION_REASON_NO_CONSENSUS_PRICE: _ClassVar[RejectionReason]
    REJECTION_REASON_SAME_FIXTURE_LEGS: _ClassVar[RejectionReason]
    REJECTION_REASON_KYC_REQUIRED: _ClassVar[RejectionReason]
    REJECTION_REASON_SELF_EXCLUDED: _ClassVar[RejectionReason]
    REJECTION_REASON_STAKE_CAP_NOT_SET: _ClassVar[RejectionReason]
    REJECTION_REASON_ABOVE_PLAYER_MAX: _ClassVar[RejectionReason]
TRANSACTION_KIND_UNSPECIFIED: TransactionKind
TRANSACTION_KIND_DEPOSIT: TransactionKind
TRANSACTION_KIND_WITHDRAWAL: TransactionKind
TRANSACTION_KIND_STAKE: TransactionKind
TRANSACTION_KIND_STAKE_RELEASE: TransactionKind
TRANSACTION_KIND_PAYOUT: TransactionKind
TRANSACTION_KIND_SETTLEMENT_ROLLBACK: TransactionKind
TRANSACTION_KIND_VOID_REFUND: TransactionKind
TRANSACTION_KIND_CASH_OUT: TransactionKind
ODDS_ACCEPTANCE_UNSPECIFIED: OddsAcceptance
ODDS_ACCEPTANCE_NONE: OddsAcceptance
ODDS_ACCEPTANCE_ANY: OddsAcceptance
ODDS_ACCEPTANCE_HIGHER: OddsAcceptance
BET_STATUS_UNSPECIFIED: BetStatus
BET_STATUS_PENDING: BetStatus
BET_STATUS_ACCEPTED: BetStatus
BET_STATUS_REJECTED: BetStatus
BET_STATUS_WON: BetStatus
BET_STATUS_LOST: BetStatus
BET_STATUS_VOID: BetStatus
BET_STATUS_HALF_WON: BetStatus
BET_STATUS_HALF_LOST: BetStatus
BET_STATUS_CASHED_OUT: BetStatus
REJECTION_REASON_UNSPECIFIED: RejectionReason
REJECTION_REASON_LINE_CHANGED: RejectionReason
REJECTION_REASON_SCORE_CHANGED: RejectionReason
REJECTION_REASON_RED_CARDS_CHANGED: RejectionReason
REJECTION_REASON_ABOVE_EVENT_MAX: RejectionReason
REJECTION_REASON_ABOVE_MAX_BET_AMOUNT: RejectionReason
REJECTION_REASON_BELOW_MIN_BET_AMOUNT: RejectionReason
REJECTION_REASON_INSUFFICIENT_FUNDS: RejectionReason
REJECTION_REASON_PAST_CUTOFF_TIME: RejectionReason
REJECTION_REASON_DUPLICATED_REQUEST: RejectionReason
REJECTION_REASON_RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED: RejectionReason
REJECTION_REASON_BETTING_SUSPENDED: RejectionReason
REJECTION_REASON_ABOVE_MAX_PAYOUT: RejectionReason
REJECTION_REASON_ABOVE_MARKET_MAX: RejectionReason
REJECTION_REASON_MARKET_NOT_FOUND: RejectionReason
REJECTION_REASON_SELECTION_WITHDRAWN: RejectionReason
REJECTION_REASON_NO_CONSENSUS_PRICE: RejectionReason
REJECTION_REASON_SAME_FIXTURE_LEGS: RejectionReason
REJECTION_REASON_KYC_REQUIRED: RejectionReason
REJECTION_REASON_SELF_EXCLUDED: RejectionReason
REJECTION_REASON_STAKE_CAP_NOT_SET: RejectionReason
REJECTION_REASON_ABOVE_PLAYER_MAX: RejectionReason

class Wallet(_message.Message):
    __slots__ = ("player_id", "balance", "held")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    balance: _money_pb2.Money
    held: _money_pb2.Money
    def __init__(self, player_id: _Optional[str] = ..., balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., held: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ("transaction_id", "kind", "account", "amount", "posted_at", "bet_id")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    POSTED_AT_FIELD_NUMBER: _ClassVar[int]
    BET_ID_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    kind: TransactionKind
    account: str
    amount: _money_pb2.Money
    posted_at: _timestamp_pb2.Timestamp
    bet_id: str
    def __init__(self, transaction_id: _Optional[str] = ..., kind: _Optional[_Union[TransactionKind, str]] = ..., account: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., posted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bet_id: _Optional[str] = ...) -> None: ...

class DepositRequest(_message.Message):
    __slots__ = ("idempotency_key", "player_id", "amount", "payment_method_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    player_id: str
    amount: _money_pb2.Money
    payment_method_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., player_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., payment_method_id: _Optional[str] = ...) -> None: ...

class DepositResponse(_message.Message):
    __slots__ = ("transaction_id", "wallet")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    WALLET_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    wallet: Wallet
    def __init__(self, transaction_id: _Optional[str] = ..., wallet: _Optional[_Union[Wallet, _Mapping]] = ...) -> None: ...

class WithdrawRequest(_message.Message):
    __slots__ = ("idempotency_key", "player_id", "amount", "payment_method_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    player_id: str
    amount: _money_pb2.Money
    payment_method_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., player_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., payment_method_id: _Optional[str] = ...) -> None: ...

class WithdrawResponse(_message.Message):
    __slots__ = ("transaction_id", "wallet")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    WALLET_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    wallet: Wallet
    def __init__(self, transaction_id: _Optional[str] = ..., wallet: _Optional[_Union[Wallet, _Mapping]] = ...) -> None: ...

class GetWalletRequest(_message.Message):
    __slots__ = ("player_id",)
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    def __init__(self, player_id: _Optional[str] = ...) -> None: ...

class GetWalletResponse(_message.Message):
    __slots__ = ("wallet",)
    WALLET_FIELD_NUMBER: _ClassVar[int]
    wallet: Wallet
    def __init__(self, wallet: _Optional[_Union[Wallet, _Mapping]] = ...) -> None: ...

class ListLedgerEntriesRequest(_message.Message):
    __slots__ = ("player_id", "page_size", "page_token")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    page_size: int
    page_token: str
    def __init__(self, player_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLedgerEntriesResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class BetLeg(_message.Message):
    __slots__ = ("fixture_id", "market_id", "selection_id", "odds_e4", "accepted_odds_e4", "quote_set_digest", "outcome", "fixture_name", "market_name", "selection_name")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    MARKET_ID_FIELD_NUMBER: _ClassVar[int]
    SELECTION_ID_FIELD_NUMBER: _ClassVar[int]
    ODDS_E4_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_ODDS_E4_FIELD_NUMBER: _ClassVar[int]
    QUOTE_SET_DIGEST_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    FIXTURE_NAME_FIELD_NUMBER: _ClassVar[int]
    MARKET_NAME_FIELD_NUMBER: _ClassVar[int]
    SELECTION_NAME_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    market_id: str
    selection_id: str
    odds_e4: int
    accepted_odds_e4: int
    quote_set_digest: str
    outcome: _market_pb2.SelectionOutcome
    fixture_name: str
    market_name: str
    selection_name: str
    def __init__(self, fixture_id: _Optional[str] = ..., market_id: _Optional[str] = ..., selection_id: _Optional[str] = ..., odds_e4: _Optional[int] = ..., accepted_odds_e4: _Optional[int] = ..., quote_set_digest: _Optional[str] = ..., outcome: _Optional[_Union[_market_pb2.SelectionOutcome, str]] = ..., fixture_name: _Optional[str] = ..., market_name: _Optional[str] = ..., selection_name: _Optional[str] = ...) -> None: ...

class Bet(_message.Message):
    __slots__ = ("bet_id", "player_id", "legs", "stake", "odds_e4", "potential_payout", "status", "rejection_reason", "rejection_message", "live", "odds_acceptance", "placed_at", "decided_at", "settled_at", "payout", "idempotency_key")
    BET_ID_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    LEGS_FIELD_NUMBER: _ClassVar[int]
    STAKE_FIELD_NUMBER: _ClassVar[int]
    ODDS_E4_FIELD_NUMBER: _ClassVar[int]
    POTENTIAL_PAYOUT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    REJECTION_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    ODDS_ACCEPTANCE_FIELD_NUMBER: _ClassVar[int]
    PLACED_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    SETTLED_AT_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    bet_id: str
    player_id: str
    legs: _containers.RepeatedCompositeFieldContainer[BetLeg]
    stake: _money_pb2.Money
    odds_e4: int
    potential_payout: _money_pb2.Money
    status: BetStatus
    rejection_reason: RejectionReason
    rejection_message: str
    live: bool
    odds_acceptance: OddsAcceptance
    placed_at: _timestamp_pb2.Timestamp
    decided_at: _timestamp_pb2.Timestamp
    settled_at: _timestamp_pb2.Timestamp
    payout: _money_pb2.Money
    idempotency_key: str
    def __init__(self, bet_id: _Optional[str] = ..., player_id: _Optional[str] = ..., legs: _Optional[_Iterable[_Union[BetLeg, _Mapping]]] = ..., stake: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., odds_e4: _Optional[int] = ..., potential_payout: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[BetStatus, str]] = ..., rejection_reason: _Optional[_Union[RejectionReason, str]] = ..., rejection_message: _Optional[str] = ..., live: _Optional[bool] = ..., odds_acceptance: _Optional[_Union[OddsAcceptance, str]] = ..., placed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., settled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payout: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class PlaceBetRequest(_message.Message):
    __slots__ = ("idempotency_key", "player_id", "legs", "stake", "odds_acceptance", "live", "wait_for_decision")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    LEGS_FIELD_NUMBER: _ClassVar[int]
    STAKE_FIELD_NUMBER: _ClassVar[int]
    ODDS_ACCEPTANCE_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_DECISION_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    player_id: str
    legs: _containers.RepeatedCompositeFieldContainer[BetLeg]
    stake: _money_pb2.Money
    odds_acceptance: OddsAcceptance
    live: bool
    wait_for_decision: bool
    def __init__(self, idempotency_key: _Optional[str] = ..., player_id: _Optional[str] = ..., legs: _Optional[_Iterable[_Union[BetLeg, _Mapping]]] = ..., stake: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., odds_acceptance: _Optional[_Union[OddsAcceptance, str]] = ..., live: _Optional[bool] = ..., wait_for_decision: _Optional[bool] = ...) -> None: ...

class PlaceBetResponse(_message.Message):
    __slots__ = ("bet",)
    BET_FIELD_NUMBER: _ClassVar[int]
    bet: Bet
    def __init__(self, bet: _Optional[_Union[Bet, _Mapping]] = ...) -> None: ...

class GetBetRequest(_message.Message):
    __slots__ = ("bet_id",)
    BET_ID_FIELD_NUMBER: _ClassVar[int]
    bet_id: str
    def __init__(self, bet_id: _Optional[str] = ...) -> None: ...

class GetBetResponse(_message.Message):
    __slots__ = ("bet",)
    BET_FIELD_NUMBER: _ClassVar[int]
    bet: Bet
    def __init__(self, bet: _Optional[_Union[Bet, _Mapping]] = ...) -> None: ...

class ListBetsRequest(_message.Message):
    __slots__ = ("player_id", "statuses", "page_size", "page_token")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    statuses: _containers.RepeatedScalarFieldContainer[BetStatus]
    page_size: int
    page_token: str
    def __init__(self, player_id: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[BetStatus, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBetsResponse(_message.Message):
    __slots__ = ("bets", "next_page_token")
    BETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    bets: _containers.RepeatedCompositeFieldContainer[Bet]
    next_page_token: str
    def __init__(self, bets: _Optional[_Iterable[_Union[Bet, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetCashOutOfferRequest(_message.Message):
    __slots__ = ("bet_id",)
    BET_ID_FIELD_NUMBER: _ClassVar[int]
    bet_id: str
    def __init__(self, bet_id: _Optional[str] = ...) -> None: ...

class GetCashOutOfferResponse(_message.Message):
    __slots__ = ("bet_id", "amount", "offer_id", "expires_at")
    BET_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    bet_id: str
    amount: _money_pb2.Money
    offer_id: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, bet_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., offer_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CashOutRequest(_message.Message):
    __slots__ = ("idempotency_key", "bet_id", "offer_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    BET_ID_FIELD_NUMBER: _ClassVar[int]
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    bet_id: str
    offer_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., bet_id: _Optional[str] = ..., offer_id: _Optional[str] = ...) -> None: ...

class CashOutResponse(_message.Message):
    __slots__ = ("bet",)
    BET_FIELD_NUMBER: _ClassVar[int]
    bet: Bet
    def __init__(self, bet: _Optional[_Union[Bet, _Mapping]] = ...) -> None: ...

class SettleMarketRequest(_message.Message):
    __slots__ = ("idempotency_key", "fixture_id", "market_id", "selections", "result_version")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    MARKET_ID_FIELD_NUMBER: _ClassVar[int]
    SELECTIONS_FIELD_NUMBER: _ClassVar[int]
    RESULT_VERSION_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    fixture_id: str
    market_id: str
    selections: _containers.RepeatedCompositeFieldContainer[SelectionSettlement]
    result_version: int
    def __init__(self, idempotency_key: _Optional[str] = ..., fixture_id: _Optional[str] = ..., market_id: _Optional[str] = ..., selections: _Optional[_Iterable[_Union[SelectionSettlement, _Mapping]]] = ..., result_version: _Optional[int] = ...) -> None: ...

class SelectionSettlement(_message.Message):
    __slots__ = ("selection_id", "outcome", "dead_heat_factor_e4")
    SELECTION_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DEAD_HEAT_FACTOR_E4_FIELD_NUMBER: _ClassVar[int]
    selection_id: str
    outcome: _market_pb2.SelectionOutcome
    dead_heat_factor_e4: int
    def __init__(self, selection_id: _Optional[str] = ..., outcome: _Optional[_Union[_market_pb2.SelectionOutcome, str]] = ..., dead_heat_factor_e4: _Optional[int] = ...) -> None: ...

class SettleMarketResponse(_message.Message):
    __slots__ = ("settled_bet_count",)
    SETTLED_BET_COUNT_FIELD_NUMBER: _ClassVar[int]
    settled_bet_count: int
    def __init__(self, settled_bet_count: _Optional[int] = ...) -> None: ...

class RollbackSettlementRequest(_message.Message):
    __slots__ = ("idempotency_key", "fixture_id", "market_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    MARKET_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    fixture_id: str
    market_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., fixture_id: _Optional[str] = ..., market_id: _Optional[str] = ...) -> None: ...

class RollbackSettlementResponse(_message.Message):
    __slots__ = ("rolled_back_bet_count",)
    ROLLED_BACK_BET_COUNT_FIELD_NUMBER: _ClassVar[int]
    rolled_back_bet_count: int
    def __init__(self, rolled_back_bet_count: _Optional[int] = ...) -> None: ...

class VoidBetsRequest(_message.Message):
    __slots__ = ("idempotency_key", "fixture_id", "market_ids", "placed_after", "placed_before", "reason")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    MARKET_IDS_FIELD_NUMBER: _ClassVar[int]
    PLACED_AFTER_FIELD_NUMBER: _ClassVar[int]
    PLACED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    fixture_id: str
    market_ids: _containers.RepeatedScalarFieldContainer[str]
    placed_after: _timestamp_pb2.Timestamp
    placed_before: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, idempotency_key: _Optional[str] = ..., fixture_id: _Optional[str] = ..., market_ids: _Optional[_Iterable[str]] = ..., placed_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., placed_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class VoidBetsResponse(_message.Message):
    __slots__ = ("voided_bet_count",)
    VOIDED_BET_COUNT_FIELD_NUMBER: _ClassVar[int]
    voided_bet_count: int
    def __init__(self, voided_bet_count: _Optional[int] = ...) -> None: ...

class GetReturnToPlayerReportRequest(_message.Message):
    __slots__ = ("period_start", "period_end")
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    def __init__(self, period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetReturnToPlayerReportResponse(_message.Message):
    __slots__ = ("stakes", "payouts", "return_to_player_e4", "settled_bet_count")
    STAKES_FIELD_NUMBER: _ClassVar[int]
    PAYOUTS_FIELD_NUMBER: _ClassVar[int]
    RETURN_TO_PLAYER_E4_FIELD_NUMBER: _ClassVar[int]
    SETTLED_BET_COUNT_FIELD_NUMBER: _ClassVar[int]
    stakes: _money_pb2.Money
    payouts: _money_pb2.Money
    return_to_player_e4: int
    settled_bet_count: int
    def __init__(self, stakes: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., payouts: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., return_to_player_e4: _Optional[int] = ..., settled_bet_count: _Optional[int] = ...) -> None: ...

class GetExposureReportRequest(_message.Message):
    __slots__ = ("fixture_id",)
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    def __init__(self, fixture_id: _Optional[str] = ...) -> None: ...

class MarketExposure(_message.Message):
    __slots__ = ("market_id", "worst_case_loss", "stakes")
    MARKET_ID_FIELD_NUMBER: _ClassVar[int]
    WORST_CASE_LOSS_FIELD_NUMBER: _ClassVar[int]
    STAKES_FIELD_NUMBER: _ClassVar[int]
    market_id: str
    worst_case_loss: _money_pb2.Money
    stakes: _money_pb2.Money
    def __init__(self, market_id: _Optional[str] = ..., worst_case_loss: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., stakes: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class GetExposureReportResponse(_message.Message):
    __slots__ = ("fixture_id", "markets", "fixture_worst_case_loss")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    MARKETS_FIELD_NUMBER: _ClassVar[int]
    FIXTURE_WORST_CASE_LOSS_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    markets: _containers.RepeatedCompositeFieldContainer[MarketExposure]
    fixture_worst_case_loss: _money_pb2.Money
    def __init__(self, fixture_id: _Optional[str] = ..., markets: _Optional[_Iterable[_Union[MarketExposure, _Mapping]]] = ..., fixture_worst_case_loss: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

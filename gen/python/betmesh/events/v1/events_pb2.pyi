import datetime

from betmesh.common.v1 import game_state_pb2 as _game_state_pb2
from betmesh.common.v1 import market_pb2 as _market_pb2
from betmesh.common.v1 import money_pb2 as _money_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventEnvelope(_message.Message):
    __slots__ = ("event_id", "occurred_at", "producer", "quote_set_accepted", "market_status_changed", "game_state_changed", "result_validated", "result_finalised", "bet_settled", "kyc_status_changed", "responsible_gambling_limits_changed")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    QUOTE_SET_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    MARKET_STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    GAME_STATE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    RESULT_VALIDATED_FIELD_NUMBER: _ClassVar[int]
    RESULT_FINALISED_FIELD_NUMBER: _ClassVar[int]
    BET_SETTLED_FIELD_NUMBER: _ClassVar[int]
    KYC_STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    RESPONSIBLE_GAMBLING_LIMITS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    producer: str
    quote_set_accepted: QuoteSetAccepted
    market_status_changed: MarketStatusChanged
    game_state_changed: GameStateChanged
    result_validated: ResultValidated
    result_finalised: ResultFinalised
    bet_settled: BetSettled
    kyc_status_changed: KycStatusChanged
    responsible_gambling_limits_changed: ResponsibleGamblingLimitsChanged
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., producer: _Optional[str] = ..., quote_set_accepted: _Optional[_Union[QuoteSetAccepted, _Mapping]] = ..., market_status_changed: _Optional[_Union[MarketStatusChanged, _Mapping]] = ..., game_state_changed: _Optional[_Union[GameStateChanged, _Mapping]] = ..., result_validated: _Optional[_Union[ResultValidated, _Mapping]] = ..., result_finalised: _Optional[_Union[ResultFinalised, _Mapping]] = ..., bet_settled: _Optional[_Union[BetSettled, _Mapping]] = ..., kyc_status_changed: _Optional[_Union[KycStatusChanged, _Mapping]] = ..., responsible_gambling_limits_changed: _Optional[_Union[ResponsibleGamblingLimitsChanged, _Mapping]] = ...) -> None: ...

class QuoteSetAccepted(_message.Message):
    __slots__ = ("quote_set", "digest", "agreeing_replicas", "quorum")
    QUOTE_SET_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    AGREEING_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    QUORUM_FIELD_NUMBER: _ClassVar[int]
    quote_set: _market_pb2.QuoteSet
    digest: str
    agreeing_replicas: int
    quorum: int
    def __init__(self, quote_set: _Optional[_Union[_market_pb2.QuoteSet, _Mapping]] = ..., digest: _Optional[str] = ..., agreeing_replicas: _Optional[int] = ..., quorum: _Optional[int] = ...) -> None: ...

class MarketStatusChanged(_message.Message):
    __slots__ = ("fixture_id", "market_ids", "status", "reason", "event_sequence")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    MARKET_IDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    market_ids: _containers.RepeatedScalarFieldContainer[str]
    status: _market_pb2.MarketStatus
    reason: str
    event_sequence: int
    def __init__(self, fixture_id: _Optional[str] = ..., market_ids: _Optional[_Iterable[str]] = ..., status: _Optional[_Union[_market_pb2.MarketStatus, str]] = ..., reason: _Optional[str] = ..., event_sequence: _Optional[int] = ...) -> None: ...

class GameStateChanged(_message.Message):
    __slots__ = ("fixture_id", "state")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    state: _game_state_pb2.GameState
    def __init__(self, fixture_id: _Optional[str] = ..., state: _Optional[_Union[_game_state_pb2.GameState, _Mapping]] = ...) -> None: ...

class ResultValidated(_message.Message):
    __slots__ = ("fixture_id", "home_score", "away_score", "status", "sources_hash")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    HOME_SCORE_FIELD_NUMBER: _ClassVar[int]
    AWAY_SCORE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SOURCES_HASH_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    home_score: int
    away_score: int
    status: str
    sources_hash: str
    def __init__(self, fixture_id: _Optional[str] = ..., home_score: _Optional[int] = ..., away_score: _Optional[int] = ..., status: _Optional[str] = ..., sources_hash: _Optional[str] = ...) -> None: ...

class ResultFinalised(_message.Message):
    __slots__ = ("fixture_id", "home_score", "away_score", "status", "version", "transaction_hash", "block_number", "correction", "set_games")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    HOME_SCORE_FIELD_NUMBER: _ClassVar[int]
    AWAY_SCORE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_HASH_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    SET_GAMES_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    home_score: int
    away_score: int
    status: str
    version: int
    transaction_hash: str
    block_number: int
    correction: bool
    set_games: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, fixture_id: _Optional[str] = ..., home_score: _Optional[int] = ..., away_score: _Optional[int] = ..., status: _Optional[str] = ..., version: _Optional[int] = ..., transaction_hash: _Optional[str] = ..., block_number: _Optional[int] = ..., correction: _Optional[bool] = ..., set_games: _Optional[_Iterable[int]] = ...) -> None: ...

class BetSettled(_message.Message):
    __slots__ = ("bet_id", "player_id", "status", "payout")
    BET_ID_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_FIELD_NUMBER: _ClassVar[int]
    bet_id: str
    player_id: str
    status: str
    payout: _money_pb2.Money
    def __init__(self, bet_id: _Optional[str] = ..., player_id: _Optional[str] = ..., status: _Optional[str] = ..., payout: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class KycStatusChanged(_message.Message):
    __slots__ = ("player_id", "kyc_status", "of_age", "excluded")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    KYC_STATUS_FIELD_NUMBER: _ClassVar[int]
    OF_AGE_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    kyc_status: str
    of_age: bool
    excluded: bool
    def __init__(self, player_id: _Optional[str] = ..., kyc_status: _Optional[str] = ..., of_age: _Optional[bool] = ..., excluded: _Optional[bool] = ...) -> None: ...

class ResponsibleGamblingLimitsChanged(_message.Message):
    __slots__ = ("player_id", "deposit_cap_7d", "stake_cap_7d", "effective_at")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_CAP_7D_FIELD_NUMBER: _ClassVar[int]
    STAKE_CAP_7D_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    deposit_cap_7d: _money_pb2.Money
    stake_cap_7d: _money_pb2.Money
    effective_at: _timestamp_pb2.Timestamp
    def __init__(self, player_id: _Optional[str] = ..., deposit_cap_7d: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., stake_cap_7d: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

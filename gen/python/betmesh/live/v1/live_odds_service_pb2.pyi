import datetime

from betmesh.common.v1 import game_state_pb2 as _game_state_pb2
from betmesh.common.v1 import market_pb2 as _market_pb2
from betmesh.common.v1 import sport_pb2 as _sport_pb2
from betmesh.live.v1 import match_event_pb2 as _match_event_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IngestOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INGEST_OUTCOME_UNSPECIFIED: _ClassVar[IngestOutcome]
    INGEST_OUTCOME_APPLIED: _ClassVar[IngestOutcome]
    INGEST_OUTCOME_DUPLICATE: _ClassVar[IngestOutcome]
    INGEST_OUTCOME_HELD: _ClassVar[IngestOutcome]

class PhaseFilter(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PHASE_FILTER_UNSPECIFIED: _ClassVar[PhaseFilter]
    PHASE_FILTER_PRE_MATCH: _ClassVar[PhaseFilter]
    PHASE_FILTER_LIVE: _ClassVar[PhaseFilter]

class FullImageReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FULL_IMAGE_REASON_UNSPECIFIED: _ClassVar[FullImageReason]
    FULL_IMAGE_REASON_INITIAL: _ClassVar[FullImageReason]
    FULL_IMAGE_REASON_RESUME_WINDOW_EXCEEDED: _ClassVar[FullImageReason]
    FULL_IMAGE_REASON_FILTER_CHANGED: _ClassVar[FullImageReason]
    FULL_IMAGE_REASON_RESYNC: _ClassVar[FullImageReason]

class BetStopReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BET_STOP_REASON_UNSPECIFIED: _ClassVar[BetStopReason]
    BET_STOP_REASON_DANGEROUS_EVENT: _ClassVar[BetStopReason]
    BET_STOP_REASON_NO_CONSENSUS: _ClassVar[BetStopReason]
    BET_STOP_REASON_OPERATOR: _ClassVar[BetStopReason]
    BET_STOP_REASON_MATCH_ENDED: _ClassVar[BetStopReason]
    BET_STOP_REASON_FEED_LOST: _ClassVar[BetStopReason]
INGEST_OUTCOME_UNSPECIFIED: IngestOutcome
INGEST_OUTCOME_APPLIED: IngestOutcome
INGEST_OUTCOME_DUPLICATE: IngestOutcome
INGEST_OUTCOME_HELD: IngestOutcome
PHASE_FILTER_UNSPECIFIED: PhaseFilter
PHASE_FILTER_PRE_MATCH: PhaseFilter
PHASE_FILTER_LIVE: PhaseFilter
FULL_IMAGE_REASON_UNSPECIFIED: FullImageReason
FULL_IMAGE_REASON_INITIAL: FullImageReason
FULL_IMAGE_REASON_RESUME_WINDOW_EXCEEDED: FullImageReason
FULL_IMAGE_REASON_FILTER_CHANGED: FullImageReason
FULL_IMAGE_REASON_RESYNC: FullImageReason
BET_STOP_REASON_UNSPECIFIED: BetStopReason
BET_STOP_REASON_DANGEROUS_EVENT: BetStopReason
BET_STOP_REASON_NO_CONSENSUS: BetStopReason
BET_STOP_REASON_OPERATOR: BetStopReason
BET_STOP_REASON_MATCH_ENDED: BetStopReason
BET_STOP_REASON_FEED_LOST: BetStopReason

class IngestMatchEventRequest(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _match_event_pb2.MatchEvent
    def __init__(self, event: _Optional[_Union[_match_event_pb2.MatchEvent, _Mapping]] = ...) -> None: ...

class IngestMatchEventResponse(_message.Message):
    __slots__ = ("outcome", "applied_sequence")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    APPLIED_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    outcome: IngestOutcome
    applied_sequence: int
    def __init__(self, outcome: _Optional[_Union[IngestOutcome, str]] = ..., applied_sequence: _Optional[int] = ...) -> None: ...

class GetGameStateRequest(_message.Message):
    __slots__ = ("fixture_id",)
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    def __init__(self, fixture_id: _Optional[str] = ...) -> None: ...

class GetGameStateResponse(_message.Message):
    __slots__ = ("fixture_id", "state")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    state: _game_state_pb2.GameState
    def __init__(self, fixture_id: _Optional[str] = ..., state: _Optional[_Union[_game_state_pb2.GameState, _Mapping]] = ...) -> None: ...

class SubscriptionFilter(_message.Message):
    __slots__ = ("sports", "fixture_ids", "market_types", "phase")
    SPORTS_FIELD_NUMBER: _ClassVar[int]
    FIXTURE_IDS_FIELD_NUMBER: _ClassVar[int]
    MARKET_TYPES_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    sports: _containers.RepeatedScalarFieldContainer[_sport_pb2.Sport]
    fixture_ids: _containers.RepeatedScalarFieldContainer[str]
    market_types: _containers.RepeatedScalarFieldContainer[_market_pb2.MarketType]
    phase: PhaseFilter
    def __init__(self, sports: _Optional[_Iterable[_Union[_sport_pb2.Sport, str]]] = ..., fixture_ids: _Optional[_Iterable[str]] = ..., market_types: _Optional[_Iterable[_Union[_market_pb2.MarketType, str]]] = ..., phase: _Optional[_Union[PhaseFilter, str]] = ...) -> None: ...

class StreamOddsRequest(_message.Message):
    __slots__ = ("filter", "resume_token", "heartbeat_interval_ms", "conflate_ms", "max_batch_size")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    CONFLATE_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    filter: SubscriptionFilter
    resume_token: str
    heartbeat_interval_ms: int
    conflate_ms: int
    max_batch_size: int
    def __init__(self, filter: _Optional[_Union[SubscriptionFilter, _Mapping]] = ..., resume_token: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ..., conflate_ms: _Optional[int] = ..., max_batch_size: _Optional[int] = ...) -> None: ...

class StreamOddsResponse(_message.Message):
    __slots__ = ("stream_id", "sequence", "resume_token", "sent_at", "conflated", "full_image", "deltas", "heartbeat", "subscription_changed")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    CONFLATED_FIELD_NUMBER: _ClassVar[int]
    FULL_IMAGE_FIELD_NUMBER: _ClassVar[int]
    DELTAS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_CHANGED_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    sequence: int
    resume_token: str
    sent_at: _timestamp_pb2.Timestamp
    conflated: bool
    full_image: FullImage
    deltas: OddsDeltas
    heartbeat: Heartbeat
    subscription_changed: SubscriptionChanged
    def __init__(self, stream_id: _Optional[str] = ..., sequence: _Optional[int] = ..., resume_token: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., conflated: _Optional[bool] = ..., full_image: _Optional[_Union[FullImage, _Mapping]] = ..., deltas: _Optional[_Union[OddsDeltas, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., subscription_changed: _Optional[_Union[SubscriptionChanged, _Mapping]] = ...) -> None: ...

class FullImage(_message.Message):
    __slots__ = ("reason", "fixtures", "complete")
    REASON_FIELD_NUMBER: _ClassVar[int]
    FIXTURES_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    reason: FullImageReason
    fixtures: _containers.RepeatedCompositeFieldContainer[FixtureOdds]
    complete: bool
    def __init__(self, reason: _Optional[_Union[FullImageReason, str]] = ..., fixtures: _Optional[_Iterable[_Union[FixtureOdds, _Mapping]]] = ..., complete: _Optional[bool] = ...) -> None: ...

class FixtureOdds(_message.Message):
    __slots__ = ("fixture", "phase", "game_state", "markets", "quote_set_digest", "bet_delay_seconds")
    FIXTURE_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    GAME_STATE_FIELD_NUMBER: _ClassVar[int]
    MARKETS_FIELD_NUMBER: _ClassVar[int]
    QUOTE_SET_DIGEST_FIELD_NUMBER: _ClassVar[int]
    BET_DELAY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    fixture: _sport_pb2.Fixture
    phase: _market_pb2.PricingPhase
    game_state: _game_state_pb2.GameState
    markets: _containers.RepeatedCompositeFieldContainer[_market_pb2.Market]
    quote_set_digest: str
    bet_delay_seconds: int
    def __init__(self, fixture: _Optional[_Union[_sport_pb2.Fixture, _Mapping]] = ..., phase: _Optional[_Union[_market_pb2.PricingPhase, str]] = ..., game_state: _Optional[_Union[_game_state_pb2.GameState, _Mapping]] = ..., markets: _Optional[_Iterable[_Union[_market_pb2.Market, _Mapping]]] = ..., quote_set_digest: _Optional[str] = ..., bet_delay_seconds: _Optional[int] = ...) -> None: ...

class OddsDeltas(_message.Message):
    __slots__ = ("updates",)
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    updates: _containers.RepeatedCompositeFieldContainer[OddsUpdate]
    def __init__(self, updates: _Optional[_Iterable[_Union[OddsUpdate, _Mapping]]] = ...) -> None: ...

class OddsUpdate(_message.Message):
    __slots__ = ("odds_change", "bet_stop", "bet_settlement", "rollback_bet_settlement", "bet_cancel", "fixture_change")
    ODDS_CHANGE_FIELD_NUMBER: _ClassVar[int]
    BET_STOP_FIELD_NUMBER: _ClassVar[int]
    BET_SETTLEMENT_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_BET_SETTLEMENT_FIELD_NUMBER: _ClassVar[int]
    BET_CANCEL_FIELD_NUMBER: _ClassVar[int]
    FIXTURE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    odds_change: FixtureOdds
    bet_stop: BetStop
    bet_settlement: BetSettlement
    rollback_bet_settlement: RollbackBetSettlement
    bet_cancel: BetCancel
    fixture_change: FixtureChange
    def __init__(self, odds_change: _Optional[_Union[FixtureOdds, _Mapping]] = ..., bet_stop: _Optional[_Union[BetStop, _Mapping]] = ..., bet_settlement: _Optional[_Union[BetSettlement, _Mapping]] = ..., rollback_bet_settlement: _Optional[_Union[RollbackBetSettlement, _Mapping]] = ..., bet_cancel: _Optional[_Union[BetCancel, _Mapping]] = ..., fixture_change: _Optional[_Union[FixtureChange, _Mapping]] = ...) -> None: ...

class BetStop(_message.Message):
    __slots__ = ("fixture_id", "market_ids", "reason", "event_sequence", "status")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    MARKET_IDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    market_ids: _containers.RepeatedScalarFieldContainer[str]
    reason: BetStopReason
    event_sequence: int
    status: _market_pb2.MarketStatus
    def __init__(self, fixture_id: _Optional[str] = ..., market_ids: _Optional[_Iterable[str]] = ..., reason: _Optional[_Union[BetStopReason, str]] = ..., event_sequence: _Optional[int] = ..., status: _Optional[_Union[_market_pb2.MarketStatus, str]] = ...) -> None: ...

class SelectionResult(_message.Message):
    __slots__ = ("selection_id", "outcome", "dead_heat_factor_e4")
    SELECTION_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DEAD_HEAT_FACTOR_E4_FIELD_NUMBER: _ClassVar[int]
    selection_id: str
    outcome: _market_pb2.SelectionOutcome
    dead_heat_factor_e4: int
    def __init__(self, selection_id: _Optional[str] = ..., outcome: _Optional[_Union[_market_pb2.SelectionOutcome, str]] = ..., dead_heat_factor_e4: _Optional[int] = ...) -> None: ...

class MarketSettlement(_message.Message):
    __slots__ = ("market_id", "results")
    MARKET_ID_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    market_id: str
    results: _containers.RepeatedCompositeFieldContainer[SelectionResult]
    def __init__(self, market_id: _Optional[str] = ..., results: _Optional[_Iterable[_Union[SelectionResult, _Mapping]]] = ...) -> None: ...

class BetSettlement(_message.Message):
    __slots__ = ("fixture_id", "markets", "result_version")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    MARKETS_FIELD_NUMBER: _ClassVar[int]
    RESULT_VERSION_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    markets: _containers.RepeatedCompositeFieldContainer[MarketSettlement]
    result_version: str
    def __init__(self, fixture_id: _Optional[str] = ..., markets: _Optional[_Iterable[_Union[MarketSettlement, _Mapping]]] = ..., result_version: _Optional[str] = ...) -> None: ...

class RollbackBetSettlement(_message.Message):
    __slots__ = ("fixture_id", "market_ids")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    MARKET_IDS_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    market_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, fixture_id: _Optional[str] = ..., market_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BetCancel(_message.Message):
    __slots__ = ("fixture_id", "market_ids", "start_time", "end_time")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    MARKET_IDS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    market_ids: _containers.RepeatedScalarFieldContainer[str]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, fixture_id: _Optional[str] = ..., market_ids: _Optional[_Iterable[str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FixtureChange(_message.Message):
    __slots__ = ("fixture",)
    FIXTURE_FIELD_NUMBER: _ClassVar[int]
    fixture: _sport_pb2.Fixture
    def __init__(self, fixture: _Optional[_Union[_sport_pb2.Fixture, _Mapping]] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("lag_ms",)
    LAG_MS_FIELD_NUMBER: _ClassVar[int]
    lag_ms: int
    def __init__(self, lag_ms: _Optional[int] = ...) -> None: ...

class SubscriptionChanged(_message.Message):
    __slots__ = ("filter",)
    FILTER_FIELD_NUMBER: _ClassVar[int]
    filter: SubscriptionFilter
    def __init__(self, filter: _Optional[_Union[SubscriptionFilter, _Mapping]] = ...) -> None: ...

class UpdateSubscriptionRequest(_message.Message):
    __slots__ = ("stream_id", "filter")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    filter: SubscriptionFilter
    def __init__(self, stream_id: _Optional[str] = ..., filter: _Optional[_Union[SubscriptionFilter, _Mapping]] = ...) -> None: ...

class UpdateSubscriptionResponse(_message.Message):
    __slots__ = ("filter",)
    FILTER_FIELD_NUMBER: _ClassVar[int]
    filter: SubscriptionFilter
    def __init__(self, filter: _Optional[_Union[SubscriptionFilter, _Mapping]] = ...) -> None: ...

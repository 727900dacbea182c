from betmesh.common.v1 import sport_pb2 as _sport_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MarketType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MARKET_TYPE_UNSPECIFIED: _ClassVar[MarketType]
    MARKET_TYPE_MATCH_RESULT: _ClassVar[MarketType]
    MARKET_TYPE_DOUBLE_CHANCE: _ClassVar[MarketType]
    MARKET_TYPE_DRAW_NO_BET: _ClassVar[MarketType]
    MARKET_TYPE_TOTAL_GOALS: _ClassVar[MarketType]
    MARKET_TYPE_BOTH_TEAMS_TO_SCORE: _ClassVar[MarketType]
    MARKET_TYPE_ASIAN_HANDICAP: _ClassVar[MarketType]
    MARKET_TYPE_CORRECT_SCORE: _ClassVar[MarketType]
    MARKET_TYPE_TEAM_TOTAL_GOALS: _ClassVar[MarketType]
    MARKET_TYPE_MATCH_WINNER: _ClassVar[MarketType]
    MARKET_TYPE_SET_BETTING: _ClassVar[MarketType]
    MARKET_TYPE_TOTAL_GAMES: _ClassVar[MarketType]
    MARKET_TYPE_GAMES_HANDICAP: _ClassVar[MarketType]
    MARKET_TYPE_MONEYLINE: _ClassVar[MarketType]
    MARKET_TYPE_POINT_SPREAD: _ClassVar[MarketType]
    MARKET_TYPE_TOTAL_POINTS: _ClassVar[MarketType]

class MarketStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MARKET_STATUS_UNSPECIFIED: _ClassVar[MarketStatus]
    MARKET_STATUS_ACTIVE: _ClassVar[MarketStatus]
    MARKET_STATUS_SUSPENDED: _ClassVar[MarketStatus]
    MARKET_STATUS_DEACTIVATED: _ClassVar[MarketStatus]
    MARKET_STATUS_SETTLED: _ClassVar[MarketStatus]
    MARKET_STATUS_CANCELLED: _ClassVar[MarketStatus]
    MARKET_STATUS_HANDED_OVER: _ClassVar[MarketStatus]

class SelectionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SELECTION_STATUS_UNSPECIFIED: _ClassVar[SelectionStatus]
    SELECTION_STATUS_ACTIVE: _ClassVar[SelectionStatus]
    SELECTION_STATUS_WITHDRAWN: _ClassVar[SelectionStatus]

class SelectionOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SELECTION_OUTCOME_UNSPECIFIED: _ClassVar[SelectionOutcome]
    SELECTION_OUTCOME_WIN: _ClassVar[SelectionOutcome]
    SELECTION_OUTCOME_LOSE: _ClassVar[SelectionOutcome]
    SELECTION_OUTCOME_VOID: _ClassVar[SelectionOutcome]
    SELECTION_OUTCOME_HALF_WIN: _ClassVar[SelectionOutcome]
    SELECTION_OUTCOME_HALF_LOSE: _ClassVar[SelectionOutcome]

class PricingPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRICING_PHASE_UNSPECIFIED: _ClassVar[PricingPhase]
    PRICING_PHASE_PRE_MATCH: _ClassVar[PricingPhase]
    PRICING_PHASE_LIVE: _ClassVar[PricingPhase]
MARKET_TYPE_UNSPECIFIED: MarketType
MARKET_TYPE_MATCH_RESULT: MarketType
MARKET_TYPE_DOUBLE_CHANCE: MarketType
MARKET_TYPE_DRAW_NO_BET: MarketType
MARKET_TYPE_TOTAL_GOALS: MarketType
MARKET_TYPE_BOTH_TEAMS_TO_SCORE: MarketType
MARKET_TYPE_ASIAN_HANDICAP: MarketType
MARKET_TYPE_CORRECT_SCORE: MarketType
MARKET_TYPE_TEAM_TOTAL_GOALS: MarketType
MARKET_TYPE_MATCH_WINNER: MarketType
MARKET_TYPE_SET_BETTING: MarketType
MARKET_TYPE_TOTAL_GAMES: MarketType
MARKET_TYPE_GAMES_HANDICAP: MarketType
MARKET_TYPE_MONEYLINE: MarketType
MARKET_TYPE_POINT_SPREAD: MarketType
MARKET_TYPE_TOTAL_POINTS: MarketType
MARKET_STATUS_UNSPECIFIED: MarketStatus
MARKET_STATUS_ACTIVE: MarketStatus
MARKET_STATUS_SUSPENDED: MarketStatus
MARKET_STATUS_DEACTIVATED: MarketStatus
MARKET_STATUS_SETTLED: MarketStatus
MARKET_STATUS_CANCELLED: MarketStatus
MARKET_STATUS_HANDED_OVER: MarketStatus
SELECTION_STATUS_UNSPECIFIED: SelectionStatus
SELECTION_STATUS_ACTIVE: SelectionStatus
SELECTION_STATUS_WITHDRAWN: SelectionStatus
SELECTION_OUTCOME_UNSPECIFIED: SelectionOutcome
SELECTION_OUTCOME_WIN: SelectionOutcome
SELECTION_OUTCOME_LOSE: SelectionOutcome
SELECTION_OUTCOME_VOID: SelectionOutcome
SELECTION_OUTCOME_HALF_WIN: SelectionOutcome
SELECTION_OUTCOME_HALF_LOSE: SelectionOutcome
PRICING_PHASE_UNSPECIFIED: PricingPhase
PRICING_PHASE_PRE_MATCH: PricingPhase
PRICING_PHASE_LIVE: PricingPhase

class Selection(_message.Message):
    __slots__ = ("selection_id", "name", "odds_e4", "probability_e9", "status")
    SELECTION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ODDS_E4_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_E9_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    selection_id: str
    name: str
    odds_e4: int
    probability_e9: int
    status: SelectionStatus
    def __init__(self, selection_id: _Optional[str] = ..., name: _Optional[str] = ..., odds_e4: _Optional[int] = ..., probability_e9: _Optional[int] = ..., status: _Optional[_Union[SelectionStatus, str]] = ...) -> None: ...

class Market(_message.Message):
    __slots__ = ("market_id", "type", "name", "line_e2", "side", "status", "selections", "payout_e4")
    MARKET_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LINE_E2_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SELECTIONS_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_E4_FIELD_NUMBER: _ClassVar[int]
    market_id: str
    type: MarketType
    name: str
    line_e2: int
    side: _sport_pb2.Side
    status: MarketStatus
    selections: _containers.RepeatedCompositeFieldContainer[Selection]
    payout_e4: int
    def __init__(self, market_id: _Optional[str] = ..., type: _Optional[_Union[MarketType, str]] = ..., name: _Optional[str] = ..., line_e2: _Optional[int] = ..., side: _Optional[_Union[_sport_pb2.Side, str]] = ..., status: _Optional[_Union[MarketStatus, str]] = ..., selections: _Optional[_Iterable[_Union[Selection, _Mapping]]] = ..., payout_e4: _Optional[int] = ...) -> None: ...

class QuoteSet(_message.Message):
    __slots__ = ("fixture_id", "sport", "phase", "snapshot_hash", "event_sequence", "markets")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    SPORT_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_HASH_FIELD_NUMBER: _ClassVar[int]
    EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    MARKETS_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    sport: _sport_pb2.Sport
    phase: PricingPhase
    snapshot_hash: str
    event_sequence: int
    markets: _containers.RepeatedCompositeFieldContainer[Market]
    def __init__(self, fixture_id: _Optional[str] = ..., sport: _Optional[_Union[_sport_pb2.Sport, str]] = ..., phase: _Optional[_Union[PricingPhase, str]] = ..., snapshot_hash: _Optional[str] = ..., event_sequence: _Optional[int] = ..., markets: _Optional[_Iterable[_Union[Market, _Mapping]]] = ...) -> None: ...

import datetime

from betmesh.common.v1 import sport_pb2 as _sport_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MatchEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MATCH_EVENT_TYPE_UNSPECIFIED: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_MATCH_STARTED: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_PERIOD_STARTED: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_PERIOD_ENDED: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_MATCH_ENDED: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_MATCH_ABANDONED: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_CLOCK: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_GOAL: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_GOAL_CANCELLED: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_YELLOW_CARD: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_RED_CARD: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_PENALTY_AWARDED: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_PENALTY_MISSED: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_DANGEROUS_ATTACK: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_POINT_WON: _ClassVar[MatchEventType]
    MATCH_EVENT_TYPE_POINTS_SCORED: _ClassVar[MatchEventType]
MATCH_EVENT_TYPE_UNSPECIFIED: MatchEventType
MATCH_EVENT_TYPE_MATCH_STARTED: MatchEventType
MATCH_EVENT_TYPE_PERIOD_STARTED: MatchEventType
MATCH_EVENT_TYPE_PERIOD_ENDED: MatchEventType
MATCH_EVENT_TYPE_MATCH_ENDED: MatchEventType
MATCH_EVENT_TYPE_MATCH_ABANDONED: MatchEventType
MATCH_EVENT_TYPE_CLOCK: MatchEventType
MATCH_EVENT_TYPE_GOAL: MatchEventType
MATCH_EVENT_TYPE_GOAL_CANCELLED: MatchEventType
MATCH_EVENT_TYPE_YELLOW_CARD: MatchEventType
MATCH_EVENT_TYPE_RED_CARD: MatchEventType
MATCH_EVENT_TYPE_PENALTY_AWARDED: MatchEventType
MATCH_EVENT_TYPE_PENALTY_MISSED: MatchEventType
MATCH_EVENT_TYPE_DANGEROUS_ATTACK: MatchEventType
MATCH_EVENT_TYPE_POINT_WON: MatchEventType
MATCH_EVENT_TYPE_POINTS_SCORED: MatchEventType

class MatchEvent(_message.Message):
    __slots__ = ("fixture_id", "sport", "sequence", "type", "occurred_at", "elapsed_seconds", "period", "side", "points", "source")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    SPORT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    sport: _sport_pb2.Sport
    sequence: int
    type: MatchEventType
    occurred_at: _timestamp_pb2.Timestamp
    elapsed_seconds: int
    period: int
    side: _sport_pb2.Side
    points: int
    source: str
    def __init__(self, fixture_id: _Optional[str] = ..., sport: _Optional[_Union[_sport_pb2.Sport, str]] = ..., sequence: _Optional[int] = ..., type: _Optional[_Union[MatchEventType, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., elapsed_seconds: _Optional[int] = ..., period: _Optional[int] = ..., side: _Optional[_Union[_sport_pb2.Side, str]] = ..., points: _Optional[int] = ..., source: _Optional[str] = ...) -> None: ...

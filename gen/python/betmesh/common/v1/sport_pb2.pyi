import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Sport(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPORT_UNSPECIFIED: _ClassVar[Sport]
    SPORT_FOOTBALL: _ClassVar[Sport]
    SPORT_TENNIS: _ClassVar[Sport]
    SPORT_BASKETBALL: _ClassVar[Sport]

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SIDE_HOME: _ClassVar[Side]
    SIDE_AWAY: _ClassVar[Side]

class FixtureStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIXTURE_STATUS_UNSPECIFIED: _ClassVar[FixtureStatus]
    FIXTURE_STATUS_SCHEDULED: _ClassVar[FixtureStatus]
    FIXTURE_STATUS_LIVE: _ClassVar[FixtureStatus]
    FIXTURE_STATUS_ENDED: _ClassVar[FixtureStatus]
    FIXTURE_STATUS_POSTPONED: _ClassVar[FixtureStatus]
    FIXTURE_STATUS_ABANDONED: _ClassVar[FixtureStatus]
    FIXTURE_STATUS_CANCELLED: _ClassVar[FixtureStatus]
SPORT_UNSPECIFIED: Sport
SPORT_FOOTBALL: Sport
SPORT_TENNIS: Sport
SPORT_BASKETBALL: Sport
SIDE_UNSPECIFIED: Side
SIDE_HOME: Side
SIDE_AWAY: Side
FIXTURE_STATUS_UNSPECIFIED: FixtureStatus
FIXTURE_STATUS_SCHEDULED: FixtureStatus
FIXTURE_STATUS_LIVE: FixtureStatus
FIXTURE_STATUS_ENDED: FixtureStatus
FIXTURE_STATUS_POSTPONED: FixtureStatus
FIXTURE_STATUS_ABANDONED: FixtureStatus
FIXTURE_STATUS_CANCELLED: FixtureStatus

class Participant(_message.Message):
    __slots__ = ("participant_id", "name")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    name: str
    def __init__(self, participant_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class Fixture(_message.Message):
    __slots__ = ("fixture_id", "sport", "competition_id", "competition_name", "home", "away", "start_time", "status", "neutral_venue", "best_of_sets")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    SPORT_FIELD_NUMBER: _ClassVar[int]
    COMPETITION_ID_FIELD_NUMBER: _ClassVar[int]
    COMPETITION_NAME_FIELD_NUMBER: _ClassVar[int]
    HOME_FIELD_NUMBER: _ClassVar[int]
    AWAY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_VENUE_FIELD_NUMBER: _ClassVar[int]
    BEST_OF_SETS_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    sport: Sport
    competition_id: str
    competition_name: str
    home: Participant
    away: Participant
    start_time: _timestamp_pb2.Timestamp
    status: FixtureStatus
    neutral_venue: bool
    best_of_sets: int
    def __init__(self, fixture_id: _Optional[str] = ..., sport: _Optional[_Union[Sport, str]] = ..., competition_id: _Optional[str] = ..., competition_name: _Optional[str] = ..., home: _Optional[_Union[Participant, _Mapping]] = ..., away: _Optional[_Union[Participant, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[FixtureStatus, str]] = ..., neutral_venue: _Optional[bool] = ..., best_of_sets: _Optional[int] = ...) -> None: ...

import datetime

from betmesh.common.v1 import sport_pb2 as _sport_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UpsertFixturesRequest(_message.Message):
    __slots__ = ("fixtures",)
    FIXTURES_FIELD_NUMBER: _ClassVar[int]
    fixtures: _containers.RepeatedCompositeFieldContainer[_sport_pb2.Fixture]
    def __init__(self, fixtures: _Optional[_Iterable[_Union[_sport_pb2.Fixture, _Mapping]]] = ...) -> None: ...

class UpsertFixturesResponse(_message.Message):
    __slots__ = ("created_count", "updated_count", "unchanged_count")
    CREATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    created_count: int
    updated_count: int
    unchanged_count: int
    def __init__(self, created_count: _Optional[int] = ..., updated_count: _Optional[int] = ..., unchanged_count: _Optional[int] = ...) -> None: ...

class GetFixtureRequest(_message.Message):
    __slots__ = ("fixture_id",)
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    def __init__(self, fixture_id: _Optional[str] = ...) -> None: ...

class GetFixtureResponse(_message.Message):
    __slots__ = ("fixture",)
    FIXTURE_FIELD_NUMBER: _ClassVar[int]
    fixture: _sport_pb2.Fixture
    def __init__(self, fixture: _Optional[_Union[_sport_pb2.Fixture, _Mapping]] = ...) -> None: ...

class ListFixturesRequest(_message.Message):
    __slots__ = ("sports", "starts_after", "starts_before", "page_size", "page_token")
    SPORTS_FIELD_NUMBER: _ClassVar[int]
    STARTS_AFTER_FIELD_NUMBER: _ClassVar[int]
    STARTS_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sports: _containers.RepeatedScalarFieldContainer[_sport_pb2.Sport]
    starts_after: _timestamp_pb2.Timestamp
    starts_before: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, sports: _Optional[_Iterable[_Union[_sport_pb2.Sport, str]]] = ..., starts_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., starts_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFixturesResponse(_message.Message):
    __slots__ = ("fixtures", "next_page_token")
    FIXTURES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    fixtures: _containers.RepeatedCompositeFieldContainer[_sport_pb2.Fixture]
    next_page_token: str
    def __init__(self, fixtures: _Optional[_Iterable[_Union[_sport_pb2.Fixture, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

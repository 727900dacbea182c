import datetime

from betmesh.common.v1 import sport_pb2 as _sport_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResultStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESULT_STATUS_UNSPECIFIED: _ClassVar[ResultStatus]
    RESULT_STATUS_COMPLETED: _ClassVar[ResultStatus]
    RESULT_STATUS_ABANDONED: _ClassVar[ResultStatus]
    RESULT_STATUS_CANCELLED: _ClassVar[ResultStatus]

class ValidationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VALIDATION_STATE_UNSPECIFIED: _ClassVar[ValidationState]
    VALIDATION_STATE_AWAITING_SOURCES: _ClassVar[ValidationState]
    VALIDATION_STATE_AGREED: _ClassVar[ValidationState]
    VALIDATION_STATE_HELD: _ClassVar[ValidationState]
    VALIDATION_STATE_RESOLVED: _ClassVar[ValidationState]

class PublicationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PUBLICATION_STATUS_UNSPECIFIED: _ClassVar[PublicationStatus]
    PUBLICATION_STATUS_NOT_PUBLISHED: _ClassVar[PublicationStatus]
    PUBLICATION_STATUS_PENDING: _ClassVar[PublicationStatus]
    PUBLICATION_STATUS_SUBMITTED: _ClassVar[PublicationStatus]
    PUBLICATION_STATUS_CONFIRMED: _ClassVar[PublicationStatus]
    PUBLICATION_STATUS_FINAL: _ClassVar[PublicationStatus]
RESULT_STATUS_UNSPECIFIED: ResultStatus
RESULT_STATUS_COMPLETED: ResultStatus
RESULT_STATUS_ABANDONED: ResultStatus
RESULT_STATUS_CANCELLED: ResultStatus
VALIDATION_STATE_UNSPECIFIED: ValidationState
VALIDATION_STATE_AWAITING_SOURCES: ValidationState
VALIDATION_STATE_AGREED: ValidationState
VALIDATION_STATE_HELD: ValidationState
VALIDATION_STATE_RESOLVED: ValidationState
PUBLICATION_STATUS_UNSPECIFIED: PublicationStatus
PUBLICATION_STATUS_NOT_PUBLISHED: PublicationStatus
PUBLICATION_STATUS_PENDING: PublicationStatus
PUBLICATION_STATUS_SUBMITTED: PublicationStatus
PUBLICATION_STATUS_CONFIRMED: PublicationStatus
PUBLICATION_STATUS_FINAL: PublicationStatus

class MatchResult(_message.Message):
    __slots__ = ("fixture_id", "sport", "status", "home_score", "away_score", "set_games", "home_half_time_score", "away_half_time_score")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    SPORT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HOME_SCORE_FIELD_NUMBER: _ClassVar[int]
    AWAY_SCORE_FIELD_NUMBER: _ClassVar[int]
    SET_GAMES_FIELD_NUMBER: _ClassVar[int]
    HOME_HALF_TIME_SCORE_FIELD_NUMBER: _ClassVar[int]
    AWAY_HALF_TIME_SCORE_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    sport: _sport_pb2.Sport
    status: ResultStatus
    home_score: int
    away_score: int
    set_games: _containers.RepeatedScalarFieldContainer[int]
    home_half_time_score: int
    away_half_time_score: int
    def __init__(self, fixture_id: _Optional[str] = ..., sport: _Optional[_Union[_sport_pb2.Sport, str]] = ..., status: _Optional[_Union[ResultStatus, str]] = ..., home_score: _Optional[int] = ..., away_score: _Optional[int] = ..., set_games: _Optional[_Iterable[int]] = ..., home_half_time_score: _Optional[int] = ..., away_half_time_score: _Optional[int] = ...) -> None: ...

class Observation(_message.Message):
    __slots__ = ("source_id", "result", "observed_at", "source_reference")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    result: MatchResult
    observed_at: _timestamp_pb2.Timestamp
    source_reference: str
    def __init__(self, source_id: _Optional[str] = ..., result: _Optional[_Union[MatchResult, _Mapping]] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source_reference: _Optional[str] = ...) -> None: ...

class Publication(_message.Message):
    __slots__ = ("status", "chain_id", "contract_address", "transaction_hash", "block_number", "version", "final_at")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_HASH_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FINAL_AT_FIELD_NUMBER: _ClassVar[int]
    status: PublicationStatus
    chain_id: int
    contract_address: str
    transaction_hash: str
    block_number: int
    version: int
    final_at: _timestamp_pb2.Timestamp
    def __init__(self, status: _Optional[_Union[PublicationStatus, str]] = ..., chain_id: _Optional[int] = ..., contract_address: _Optional[str] = ..., transaction_hash: _Optional[str] = ..., block_number: _Optional[int] = ..., version: _Optional[int] = ..., final_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ValidatedResult(_message.Message):
    __slots__ = ("fixture_id", "state", "result", "observations", "publication", "sources_hash")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_FIELD_NUMBER: _ClassVar[int]
    SOURCES_HASH_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    state: ValidationState
    result: MatchResult
    observations: _containers.RepeatedCompositeFieldContainer[Observation]
    publication: Publication
    sources_hash: str
    def __init__(self, fixture_id: _Optional[str] = ..., state: _Optional[_Union[ValidationState, str]] = ..., result: _Optional[_Union[MatchResult, _Mapping]] = ..., observations: _Optional[_Iterable[_Union[Observation, _Mapping]]] = ..., publication: _Optional[_Union[Publication, _Mapping]] = ..., sources_hash: _Optional[str] = ...) -> None: ...

class SubmitObservationRequest(_message.Message):
    __slots__ = ("observation",)
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    observation: Observation
    def __init__(self, observation: _Optional[_Union[Observation, _Mapping]] = ...) -> None: ...

class SubmitObservationResponse(_message.Message):
    __slots__ = ("result", "duplicate")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    result: ValidatedResult
    duplicate: bool
    def __init__(self, result: _Optional[_Union[ValidatedResult, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class GetResultRequest(_message.Message):
    __slots__ = ("fixture_id",)
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    def __init__(self, fixture_id: _Optional[str] = ...) -> None: ...

class GetResultResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: ValidatedResult
    def __init__(self, result: _Optional[_Union[ValidatedResult, _Mapping]] = ...) -> None: ...

class ListHeldResultsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListHeldResultsResponse(_message.Message):
    __slots__ = ("results", "next_page_token")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ValidatedResult]
    next_page_token: str
    def __init__(self, results: _Optional[_Iterable[_Union[ValidatedResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ResolveHeldResultRequest(_message.Message):
    __slots__ = ("fixture_id", "result", "note")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    result: MatchResult
    note: str
    def __init__(self, fixture_id: _Optional[str] = ..., result: _Optional[_Union[MatchResult, _Mapping]] = ..., note: _Optional[str] = ...) -> None: ...

class ResolveHeldResultResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: ValidatedResult
    def __init__(self, result: _Optional[_Union[ValidatedResult, _Mapping]] = ...) -> None: ...

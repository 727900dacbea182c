from betmesh.common.v1 import game_state_pb2 as _game_state_pb2
from betmesh.common.v1 import market_pb2 as _market_pb2
from betmesh.common.v1 import sport_pb2 as _sport_pb2
from betmesh.quotes.v1 import snapshot_pb2 as _snapshot_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PriceFixtureRequest(_message.Message):
    __slots__ = ("fixture", "snapshot_hash", "market_types", "game_state")
    FIXTURE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_HASH_FIELD_NUMBER: _ClassVar[int]
    MARKET_TYPES_FIELD_NUMBER: _ClassVar[int]
    GAME_STATE_FIELD_NUMBER: _ClassVar[int]
    fixture: _sport_pb2.Fixture
    snapshot_hash: str
    market_types: _containers.RepeatedScalarFieldContainer[_market_pb2.MarketType]
    game_state: _game_state_pb2.GameState
    def __init__(self, fixture: _Optional[_Union[_sport_pb2.Fixture, _Mapping]] = ..., snapshot_hash: _Optional[str] = ..., market_types: _Optional[_Iterable[_Union[_market_pb2.MarketType, str]]] = ..., game_state: _Optional[_Union[_game_state_pb2.GameState, _Mapping]] = ...) -> None: ...

class PriceFixtureResponse(_message.Message):
    __slots__ = ("quote_set", "digest", "replica_id")
    QUOTE_SET_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    quote_set: bytes
    digest: str
    replica_id: str
    def __init__(self, quote_set: _Optional[bytes] = ..., digest: _Optional[str] = ..., replica_id: _Optional[str] = ...) -> None: ...

class PriceFixturesRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[PriceFixtureRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[PriceFixtureRequest, _Mapping]]] = ...) -> None: ...

class PriceFixtureResult(_message.Message):
    __slots__ = ("priced", "failure")
    PRICED_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    priced: PriceFixtureResponse
    failure: PricingFailure
    def __init__(self, priced: _Optional[_Union[PriceFixtureResponse, _Mapping]] = ..., failure: _Optional[_Union[PricingFailure, _Mapping]] = ...) -> None: ...

class PricingFailure(_message.Message):
    __slots__ = ("fixture_id", "reason", "message")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    reason: str
    message: str
    def __init__(self, fixture_id: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class PriceFixturesResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[PriceFixtureResult]
    def __init__(self, results: _Optional[_Iterable[_Union[PriceFixtureResult, _Mapping]]] = ...) -> None: ...

class GetModelSnapshotRequest(_message.Message):
    __slots__ = ("snapshot_hash",)
    SNAPSHOT_HASH_FIELD_NUMBER: _ClassVar[int]
    snapshot_hash: str
    def __init__(self, snapshot_hash: _Optional[str] = ...) -> None: ...

class GetModelSnapshotResponse(_message.Message):
    __slots__ = ("snapshot", "snapshot_hash")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_HASH_FIELD_NUMBER: _ClassVar[int]
    snapshot: bytes
    snapshot_hash: str
    def __init__(self, snapshot: _Optional[bytes] = ..., snapshot_hash: _Optional[str] = ...) -> None: ...

class ListModelSnapshotsRequest(_message.Message):
    __slots__ = ("sport", "page_size", "page_token")
    SPORT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sport: _sport_pb2.Sport
    page_size: int
    page_token: str
    def __init__(self, sport: _Optional[_Union[_sport_pb2.Sport, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ModelSnapshotSummary(_message.Message):
    __slots__ = ("snapshot_hash", "sport", "model", "snapshot")
    SNAPSHOT_HASH_FIELD_NUMBER: _ClassVar[int]
    SPORT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    snapshot_hash: str
    sport: _sport_pb2.Sport
    model: str
    snapshot: _snapshot_pb2.ModelSnapshot
    def __init__(self, snapshot_hash: _Optional[str] = ..., sport: _Optional[_Union[_sport_pb2.Sport, str]] = ..., model: _Optional[str] = ..., snapshot: _Optional[_Union[_snapshot_pb2.ModelSnapshot, _Mapping]] = ...) -> None: ...

class ListModelSnapshotsResponse(_message.Message):
    __slots__ = ("snapshots", "next_page_token")
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    snapshots: _containers.RepeatedCompositeFieldContainer[ModelSnapshotSummary]
    next_page_token: str
    def __init__(self, snapshots: _Optional[_Iterable[_Union[ModelSnapshotSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetReplicaInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetReplicaInfoResponse(_message.Message):
    __slots__ = ("replica_id", "sport", "build_version")
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    SPORT_FIELD_NUMBER: _ClassVar[int]
    BUILD_VERSION_FIELD_NUMBER: _ClassVar[int]
    replica_id: str
    sport: _sport_pb2.Sport
    build_version: str
    def __init__(self, replica_id: _Optional[str] = ..., sport: _Optional[_Union[_sport_pb2.Sport, str]] = ..., build_version: _Optional[str] = ...) -> None: ...

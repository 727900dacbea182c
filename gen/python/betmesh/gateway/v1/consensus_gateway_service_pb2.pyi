import datetime

from betmesh.common.v1 import game_state_pb2 as _game_state_pb2
from betmesh.common.v1 import market_pb2 as _market_pb2
from betmesh.common.v1 import sport_pb2 as _sport_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VoteOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOTE_OUTCOME_UNSPECIFIED: _ClassVar[VoteOutcome]
    VOTE_OUTCOME_AGREED: _ClassVar[VoteOutcome]
    VOTE_OUTCOME_DISSENTED: _ClassVar[VoteOutcome]
    VOTE_OUTCOME_TIMED_OUT: _ClassVar[VoteOutcome]
    VOTE_OUTCOME_UNAVAILABLE: _ClassVar[VoteOutcome]
    VOTE_OUTCOME_FAILED: _ClassVar[VoteOutcome]
    VOTE_OUTCOME_BAD_DIGEST: _ClassVar[VoteOutcome]
    VOTE_OUTCOME_QUARANTINED: _ClassVar[VoteOutcome]
    VOTE_OUTCOME_NOT_AWAITED: _ClassVar[VoteOutcome]

class ReplicaState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPLICA_STATE_UNSPECIFIED: _ClassVar[ReplicaState]
    REPLICA_STATE_HEALTHY: _ClassVar[ReplicaState]
    REPLICA_STATE_QUARANTINED: _ClassVar[ReplicaState]
    REPLICA_STATE_UNREACHABLE: _ClassVar[ReplicaState]
VOTE_OUTCOME_UNSPECIFIED: VoteOutcome
VOTE_OUTCOME_AGREED: VoteOutcome
VOTE_OUTCOME_DISSENTED: VoteOutcome
VOTE_OUTCOME_TIMED_OUT: VoteOutcome
VOTE_OUTCOME_UNAVAILABLE: VoteOutcome
VOTE_OUTCOME_FAILED: VoteOutcome
VOTE_OUTCOME_BAD_DIGEST: VoteOutcome
VOTE_OUTCOME_QUARANTINED: VoteOutcome
VOTE_OUTCOME_NOT_AWAITED: VoteOutcome
REPLICA_STATE_UNSPECIFIED: ReplicaState
REPLICA_STATE_HEALTHY: ReplicaState
REPLICA_STATE_QUARANTINED: ReplicaState
REPLICA_STATE_UNREACHABLE: ReplicaState

class GetConsensusQuoteRequest(_message.Message):
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

class ReplicaVote(_message.Message):
    __slots__ = ("replica_id", "address", "outcome", "digest", "latency_micros", "first_difference", "error")
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MICROS_FIELD_NUMBER: _ClassVar[int]
    FIRST_DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    replica_id: str
    address: str
    outcome: VoteOutcome
    digest: str
    latency_micros: int
    first_difference: str
    error: str
    def __init__(self, replica_id: _Optional[str] = ..., address: _Optional[str] = ..., outcome: _Optional[_Union[VoteOutcome, str]] = ..., digest: _Optional[str] = ..., latency_micros: _Optional[int] = ..., first_difference: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class QuorumEvidence(_message.Message):
    __slots__ = ("quorum", "replica_count", "digest", "votes")
    QUORUM_FIELD_NUMBER: _ClassVar[int]
    REPLICA_COUNT_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    quorum: int
    replica_count: int
    digest: str
    votes: _containers.RepeatedCompositeFieldContainer[ReplicaVote]
    def __init__(self, quorum: _Optional[int] = ..., replica_count: _Optional[int] = ..., digest: _Optional[str] = ..., votes: _Optional[_Iterable[_Union[ReplicaVote, _Mapping]]] = ...) -> None: ...

class AcceptedQuoteSet(_message.Message):
    __slots__ = ("quote_set_id", "quote_set", "canonical_quote_set", "digest", "evidence", "accepted_at")
    QUOTE_SET_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_SET_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_QUOTE_SET_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    quote_set_id: str
    quote_set: _market_pb2.QuoteSet
    canonical_quote_set: bytes
    digest: str
    evidence: QuorumEvidence
    accepted_at: _timestamp_pb2.Timestamp
    def __init__(self, quote_set_id: _Optional[str] = ..., quote_set: _Optional[_Union[_market_pb2.QuoteSet, _Mapping]] = ..., canonical_quote_set: _Optional[bytes] = ..., digest: _Optional[str] = ..., evidence: _Optional[_Union[QuorumEvidence, _Mapping]] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetConsensusQuoteResponse(_message.Message):
    __slots__ = ("accepted",)
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    accepted: AcceptedQuoteSet
    def __init__(self, accepted: _Optional[_Union[AcceptedQuoteSet, _Mapping]] = ...) -> None: ...

class ConsensusRefusal(_message.Message):
    __slots__ = ("fixture_id", "sport", "evidence")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    SPORT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    sport: _sport_pb2.Sport
    evidence: QuorumEvidence
    def __init__(self, fixture_id: _Optional[str] = ..., sport: _Optional[_Union[_sport_pb2.Sport, str]] = ..., evidence: _Optional[_Union[QuorumEvidence, _Mapping]] = ...) -> None: ...

class GetAcceptedQuoteSetRequest(_message.Message):
    __slots__ = ("fixture_id", "phase")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    phase: _market_pb2.PricingPhase
    def __init__(self, fixture_id: _Optional[str] = ..., phase: _Optional[_Union[_market_pb2.PricingPhase, str]] = ...) -> None: ...

class GetAcceptedQuoteSetResponse(_message.Message):
    __slots__ = ("accepted",)
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    accepted: AcceptedQuoteSet
    def __init__(self, accepted: _Optional[_Union[AcceptedQuoteSet, _Mapping]] = ...) -> None: ...

class ReplicaStatus(_message.Message):
    __slots__ = ("replica_id", "address", "state", "consecutive_faults", "agreed_total", "dissented_total", "timed_out_total")
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAULTS_FIELD_NUMBER: _ClassVar[int]
    AGREED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    DISSENTED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_TOTAL_FIELD_NUMBER: _ClassVar[int]
    replica_id: str
    address: str
    state: ReplicaState
    consecutive_faults: int
    agreed_total: int
    dissented_total: int
    timed_out_total: int
    def __init__(self, replica_id: _Optional[str] = ..., address: _Optional[str] = ..., state: _Optional[_Union[ReplicaState, str]] = ..., consecutive_faults: _Optional[int] = ..., agreed_total: _Optional[int] = ..., dissented_total: _Optional[int] = ..., timed_out_total: _Optional[int] = ...) -> None: ...

class ReplicaSetStatus(_message.Message):
    __slots__ = ("sport", "quorum", "replicas")
    SPORT_FIELD_NUMBER: _ClassVar[int]
    QUORUM_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    sport: _sport_pb2.Sport
    quorum: int
    replicas: _containers.RepeatedCompositeFieldContainer[ReplicaStatus]
    def __init__(self, sport: _Optional[_Union[_sport_pb2.Sport, str]] = ..., quorum: _Optional[int] = ..., replicas: _Optional[_Iterable[_Union[ReplicaStatus, _Mapping]]] = ...) -> None: ...

class ListReplicaSetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListReplicaSetsResponse(_message.Message):
    __slots__ = ("replica_sets",)
    REPLICA_SETS_FIELD_NUMBER: _ClassVar[int]
    replica_sets: _containers.RepeatedCompositeFieldContainer[ReplicaSetStatus]
    def __init__(self, replica_sets: _Optional[_Iterable[_Union[ReplicaSetStatus, _Mapping]]] = ...) -> None: ...

class Dissent(_message.Message):
    __slots__ = ("fixture_id", "sport", "vote", "majority_digest", "recorded_at")
    FIXTURE_ID_FIELD_NUMBER: _ClassVar[int]
    SPORT_FIELD_NUMBER: _ClassVar[int]
    VOTE_FIELD_NUMBER: _ClassVar[int]
    MAJORITY_DIGEST_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    fixture_id: str
    sport: _sport_pb2.Sport
    vote: ReplicaVote
    majority_digest: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, fixture_id: _Optional[str] = ..., sport: _Optional[_Union[_sport_pb2.Sport, str]] = ..., vote: _Optional[_Union[ReplicaVote, _Mapping]] = ..., majority_digest: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDissentsRequest(_message.Message):
    __slots__ = ("sport", "page_size", "page_token")
    SPORT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sport: _sport_pb2.Sport
    page_size: int
    page_token: str
    def __init__(self, sport: _Optional[_Union[_sport_pb2.Sport, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDissentsResponse(_message.Message):
    __slots__ = ("dissents", "next_page_token")
    DISSENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    dissents: _containers.RepeatedCompositeFieldContainer[Dissent]
    next_page_token: str
    def __init__(self, dissents: _Optional[_Iterable[_Union[Dissent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

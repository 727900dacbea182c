import datetime

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

class MarginMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MARGIN_METHOD_UNSPECIFIED: _ClassVar[MarginMethod]
    MARGIN_METHOD_MULTIPLICATIVE: _ClassVar[MarginMethod]
    MARGIN_METHOD_POWER: _ClassVar[MarginMethod]
    MARGIN_METHOD_ODDS_PROPORTIONAL: _ClassVar[MarginMethod]
    MARGIN_METHOD_ADDITIVE: _ClassVar[MarginMethod]
    MARGIN_METHOD_SHIN: _ClassVar[MarginMethod]
MARGIN_METHOD_UNSPECIFIED: MarginMethod
MARGIN_METHOD_MULTIPLICATIVE: MarginMethod
MARGIN_METHOD_POWER: MarginMethod
MARGIN_METHOD_ODDS_PROPORTIONAL: MarginMethod
MARGIN_METHOD_ADDITIVE: MarginMethod
MARGIN_METHOD_SHIN: MarginMethod

class ModelSnapshot(_message.Message):
    __slots__ = ("sport", "model", "fitted_at", "training_data_digest", "pricing_policy", "football", "tennis", "basketball")
    SPORT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FITTED_AT_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_DIGEST_FIELD_NUMBER: _ClassVar[int]
    PRICING_POLICY_FIELD_NUMBER: _ClassVar[int]
    FOOTBALL_FIELD_NUMBER: _ClassVar[int]
    TENNIS_FIELD_NUMBER: _ClassVar[int]
    BASKETBALL_FIELD_NUMBER: _ClassVar[int]
    sport: _sport_pb2.Sport
    model: str
    fitted_at: _timestamp_pb2.Timestamp
    training_data_digest: str
    pricing_policy: PricingPolicy
    football: FootballParameters
    tennis: TennisParameters
    basketball: BasketballParameters
    def __init__(self, sport: _Optional[_Union[_sport_pb2.Sport, str]] = ..., model: _Optional[str] = ..., fitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., training_data_digest: _Optional[str] = ..., pricing_policy: _Optional[_Union[PricingPolicy, _Mapping]] = ..., football: _Optional[_Union[FootballParameters, _Mapping]] = ..., tennis: _Optional[_Union[TennisParameters, _Mapping]] = ..., basketball: _Optional[_Union[BasketballParameters, _Mapping]] = ...) -> None: ...

class MarketMargin(_message.Message):
    __slots__ = ("market_type", "method", "target_payout_e4")
    MARKET_TYPE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    TARGET_PAYOUT_E4_FIELD_NUMBER: _ClassVar[int]
    market_type: _market_pb2.MarketType
    method: MarginMethod
    target_payout_e4: int
    def __init__(self, market_type: _Optional[_Union[_market_pb2.MarketType, str]] = ..., method: _Optional[_Union[MarginMethod, str]] = ..., target_payout_e4: _Optional[int] = ...) -> None: ...

class PricingPolicy(_message.Message):
    __slots__ = ("margins", "default_margin", "payout_cap_e4", "min_odds_e4")
    MARGINS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MARGIN_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_CAP_E4_FIELD_NUMBER: _ClassVar[int]
    MIN_ODDS_E4_FIELD_NUMBER: _ClassVar[int]
    margins: _containers.RepeatedCompositeFieldContainer[MarketMargin]
    default_margin: MarketMargin
    payout_cap_e4: int
    min_odds_e4: int
    def __init__(self, margins: _Optional[_Iterable[_Union[MarketMargin, _Mapping]]] = ..., default_margin: _Optional[_Union[MarketMargin, _Mapping]] = ..., payout_cap_e4: _Optional[int] = ..., min_odds_e4: _Optional[int] = ...) -> None: ...

class TeamRating(_message.Message):
    __slots__ = ("participant_id", "name", "attack", "defence")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ATTACK_FIELD_NUMBER: _ClassVar[int]
    DEFENCE_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    name: str
    attack: float
    defence: float
    def __init__(self, participant_id: _Optional[str] = ..., name: _Optional[str] = ..., attack: _Optional[float] = ..., defence: _Optional[float] = ...) -> None: ...

class FootballParameters(_message.Message):
    __slots__ = ("teams", "home_advantage", "rho", "time_decay_xi", "max_goals")
    TEAMS_FIELD_NUMBER: _ClassVar[int]
    HOME_ADVANTAGE_FIELD_NUMBER: _ClassVar[int]
    RHO_FIELD_NUMBER: _ClassVar[int]
    TIME_DECAY_XI_FIELD_NUMBER: _ClassVar[int]
    MAX_GOALS_FIELD_NUMBER: _ClassVar[int]
    teams: _containers.RepeatedCompositeFieldContainer[TeamRating]
    home_advantage: float
    rho: float
    time_decay_xi: float
    max_goals: int
    def __init__(self, teams: _Optional[_Iterable[_Union[TeamRating, _Mapping]]] = ..., home_advantage: _Optional[float] = ..., rho: _Optional[float] = ..., time_decay_xi: _Optional[float] = ..., max_goals: _Optional[int] = ...) -> None: ...

class PlayerRating(_message.Message):
    __slots__ = ("participant_id", "name", "serve_point_win", "return_point_win")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVE_POINT_WIN_FIELD_NUMBER: _ClassVar[int]
    RETURN_POINT_WIN_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    name: str
    serve_point_win: float
    return_point_win: float
    def __init__(self, participant_id: _Optional[str] = ..., name: _Optional[str] = ..., serve_point_win: _Optional[float] = ..., return_point_win: _Optional[float] = ...) -> None: ...

class TennisParameters(_message.Message):
    __slots__ = ("players", "tiebreak_at_games", "final_set_tiebreak", "final_set_tiebreak_points")
    PLAYERS_FIELD_NUMBER: _ClassVar[int]
    TIEBREAK_AT_GAMES_FIELD_NUMBER: _ClassVar[int]
    FINAL_SET_TIEBREAK_FIELD_NUMBER: _ClassVar[int]
    FINAL_SET_TIEBREAK_POINTS_FIELD_NUMBER: _ClassVar[int]
    players: _containers.RepeatedCompositeFieldContainer[PlayerRating]
    tiebreak_at_games: int
    final_set_tiebreak: bool
    final_set_tiebreak_points: int
    def __init__(self, players: _Optional[_Iterable[_Union[PlayerRating, _Mapping]]] = ..., tiebreak_at_games: _Optional[int] = ..., final_set_tiebreak: _Optional[bool] = ..., final_set_tiebreak_points: _Optional[int] = ...) -> None: ...

class BasketballParameters(_message.Message):
    __slots__ = ("teams", "home_advantage_points", "mean_total_points", "margin_sigma", "total_sigma")
    TEAMS_FIELD_NUMBER: _ClassVar[int]
    HOME_ADVANTAGE_POINTS_FIELD_NUMBER: _ClassVar[int]
    MEAN_TOTAL_POINTS_FIELD_NUMBER: _ClassVar[int]
    MARGIN_SIGMA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIGMA_FIELD_NUMBER: _ClassVar[int]
    teams: _containers.RepeatedCompositeFieldContainer[TeamRating]
    home_advantage_points: float
    mean_total_points: float
    margin_sigma: float
    total_sigma: float
    def __init__(self, teams: _Optional[_Iterable[_Union[TeamRating, _Mapping]]] = ..., home_advantage_points: _Optional[float] = ..., mean_total_points: _Optional[float] = ..., margin_sigma: _Optional[float] = ..., total_sigma: _Optional[float] = ...) -> None: ...

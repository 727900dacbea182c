from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GameState(_message.Message):
    __slots__ = ("event_sequence", "elapsed_seconds", "period", "football", "tennis", "basketball")
    EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    FOOTBALL_FIELD_NUMBER: _ClassVar[int]
    TENNIS_FIELD_NUMBER: _ClassVar[int]
    BASKETBALL_FIELD_NUMBER: _ClassVar[int]
    event_sequence: int
    elapsed_seconds: int
    period: int
    football: FootballState
    tennis: TennisState
    basketball: BasketballState
    def __init__(self, event_sequence: _Optional[int] = ..., elapsed_seconds: _Optional[int] = ..., period: _Optional[int] = ..., football: _Optional[_Union[FootballState, _Mapping]] = ..., tennis: _Optional[_Union[TennisState, _Mapping]] = ..., basketball: _Optional[_Union[BasketballState, _Mapping]] = ...) -> None: ...

class FootballState(_message.Message):
    __slots__ = ("home_goals", "away_goals", "home_red_cards", "away_red_cards", "regulation_seconds")
    HOME_GOALS_FIELD_NUMBER: _ClassVar[int]
    AWAY_GOALS_FIELD_NUMBER: _ClassVar[int]
    HOME_RED_CARDS_FIELD_NUMBER: _ClassVar[int]
    AWAY_RED_CARDS_FIELD_NUMBER: _ClassVar[int]
    REGULATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    home_goals: int
    away_goals: int
    home_red_cards: int
    away_red_cards: int
    regulation_seconds: int
    def __init__(self, home_goals: _Optional[int] = ..., away_goals: _Optional[int] = ..., home_red_cards: _Optional[int] = ..., away_red_cards: _Optional[int] = ..., regulation_seconds: _Optional[int] = ...) -> None: ...

class TennisSetScore(_message.Message):
    __slots__ = ("home_games", "away_games")
    HOME_GAMES_FIELD_NUMBER: _ClassVar[int]
    AWAY_GAMES_FIELD_NUMBER: _ClassVar[int]
    home_games: int
    away_games: int
    def __init__(self, home_games: _Optional[int] = ..., away_games: _Optional[int] = ...) -> None: ...

class TennisState(_message.Message):
    __slots__ = ("sets", "home_points", "away_points", "in_tiebreak", "home_serving")
    SETS_FIELD_NUMBER: _ClassVar[int]
    HOME_POINTS_FIELD_NUMBER: _ClassVar[int]
    AWAY_POINTS_FIELD_NUMBER: _ClassVar[int]
    IN_TIEBREAK_FIELD_NUMBER: _ClassVar[int]
    HOME_SERVING_FIELD_NUMBER: _ClassVar[int]
    sets: _containers.RepeatedCompositeFieldContainer[TennisSetScore]
    home_points: int
    away_points: int
    in_tiebreak: bool
    home_serving: bool
    def __init__(self, sets: _Optional[_Iterable[_Union[TennisSetScore, _Mapping]]] = ..., home_points: _Optional[int] = ..., away_points: _Optional[int] = ..., in_tiebreak: _Optional[bool] = ..., home_serving: _Optional[bool] = ...) -> None: ...

class BasketballState(_message.Message):
    __slots__ = ("home_points", "away_points", "regulation_seconds")
    HOME_POINTS_FIELD_NUMBER: _ClassVar[int]
    AWAY_POINTS_FIELD_NUMBER: _ClassVar[int]
    REGULATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    home_points: int
    away_points: int
    regulation_seconds: int
    def __init__(self, home_points: _Optional[int] = ..., away_points: _Optional[int] = ..., regulation_seconds: _Optional[int] = ...) -> None: ...

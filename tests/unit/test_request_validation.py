"""The contracts' field rules as the runtime enforces them (service_runtime/validation.py)."""

from __future__ import annotations

import pytest
from betmesh.bets.v1 import bet_service_pb2 as bets
from betmesh.common.v1 import game_state_pb2, money_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway
from betmesh.identity.v1 import identity_service_pb2 as identity
from google.protobuf import duration_pb2, timestamp_pb2
from google.rpc import error_details_pb2

from service_runtime import page_tokens
from service_runtime.errors import InvalidArgument
from service_runtime.limits import check_within_contract, upper_bound
from service_runtime.validation import check, request_type


def refusal(request: object) -> tuple[InvalidArgument, error_details_pb2.BadRequest]:
    with pytest.raises(InvalidArgument) as caught:
        check(request)  # type: ignore[arg-type]
    error = caught.value
    assert error.reason == "INVALID_REQUEST_FIELDS"
    (detail,) = [d for d in error.details if isinstance(d, error_details_pb2.BadRequest)]
    return error, detail


def fixture(**changes: object) -> sport_pb2.Fixture:
    value = sport_pb2.Fixture(
        fixture_id="f1",
        sport=sport_pb2.SPORT_FOOTBALL,
        home=sport_pb2.Participant(participant_id="fb:a", name="A"),
        away=sport_pb2.Participant(participant_id="fb:b", name="B"),
        start_time=timestamp_pb2.Timestamp(seconds=1_800_000_000),
    )
    for name, change in changes.items():
        setattr(value, name, change)
    return value


def test_a_valid_request_passes() -> None:
    check(
        bets.PlaceBetRequest(
            idempotency_key="k-1",
            legs=[bets.BetLeg(fixture_id="f1", market_id="f1/MATCH_RESULT", selection_id="home")],
            stake=money_pb2.Money(amount_minor=1_000, currency="EUR"),
        )
    )
    check(gateway.GetConsensusQuoteRequest(fixture=fixture()))


def test_a_nul_byte_names_its_field_and_is_not_echoed() -> None:
    error, detail = refusal(bets.GetBetRequest(bet_id="secret\0value"))
    assert [v.field for v in detail.field_violations] == ["bet_id"]
    assert detail.field_violations[0].reason == "STRING_PATTERN"
    assert "secret" not in error.message and "secret" not in str(detail)
    _, detail = refusal(identity.RegisterPlayerRequest(display_name="a\0b"))
    assert [v.field for v in detail.field_violations] == ["display_name"]


def test_every_broken_field_is_named_with_its_path() -> None:
    error, detail = refusal(
        bets.PlaceBetRequest(
            idempotency_key="k",
            legs=[bets.BetLeg(fixture_id="f"), bets.BetLeg(fixture_id="x" * 300_000)],
            stake=money_pb2.Money(amount_minor=2**62, currency="EUR"),
        )
    )
    fields = {v.field for v in detail.field_violations}
    assert fields == {"legs[1].fixture_id", "stake.amount_minor"}
    assert error.metadata["fields"] == "legs[1].fixture_id,stake.amount_minor"
    assert len(error.message) < 400


def test_undefined_enums_and_impossible_game_states_are_refused() -> None:
    _, detail = refusal(gateway.GetConsensusQuoteRequest(fixture=fixture(sport=999)))
    assert [v.field for v in detail.field_violations] == ["fixture.sport"]
    state = game_state_pb2.GameState(football=game_state_pb2.FootballState(home_goals=2000))
    _, detail = refusal(gateway.GetConsensusQuoteRequest(fixture=fixture(), game_state=state))
    assert [v.field for v in detail.field_violations] == ["game_state.football.home_goals"]
    tennis = game_state_pb2.GameState(tennis=game_state_pb2.TennisState(home_points=2**32 - 1))
    _, detail = refusal(gateway.GetConsensusQuoteRequest(fixture=fixture(), game_state=tennis))
    assert [v.field for v in detail.field_violations] == ["game_state.tennis.home_points"]


@pytest.mark.parametrize(
    "stamp",
    [
        timestamp_pb2.Timestamp(seconds=2**62),
        timestamp_pb2.Timestamp(seconds=-(2**62)),
        timestamp_pb2.Timestamp(seconds=10, nanos=-5),
        timestamp_pb2.Timestamp(seconds=10, nanos=1_000_000_000),
    ],
)
def test_out_of_range_timestamps_are_refused(stamp: timestamp_pb2.Timestamp) -> None:
    _, detail = refusal(
        bets.VoidBetsRequest(idempotency_key="k", fixture_id="f", placed_after=stamp)
    )
    assert {v.field for v in detail.field_violations} == {"placed_after"}


@pytest.mark.parametrize(
    "duration",
    [
        duration_pb2.Duration(seconds=2**63 - 1),
        duration_pb2.Duration(seconds=-(2**63)),
        duration_pb2.Duration(seconds=100, nanos=-3),
        duration_pb2.Duration(seconds=1, nanos=2_000_000_000),
    ],
)
def test_out_of_range_durations_are_refused(duration: duration_pb2.Duration) -> None:
    _, detail = refusal(identity.SelfExcludeRequest(duration=duration))
    assert {v.field for v in detail.field_violations} == {"duration"}


def test_many_violations_are_reported_boundedly() -> None:
    request = bets.VoidBetsRequest(market_ids=["\0"] * 100)
    error, detail = refusal(request)
    assert len(detail.field_violations) == 16
    assert error.metadata["violations"] == "100"


def test_request_types_come_from_the_method_name() -> None:
    assert request_type("/betmesh.bets.v1.BetService/PlaceBet") is bets.PlaceBetRequest
    assert request_type("/betmesh.bets.v1.BetService/Nope") is None


def test_page_tokens_are_opaque_and_strictly_parsed() -> None:
    token = page_tokens.encode("off", 50)
    assert token != "50" and page_tokens.decode_int("off", token) == 50
    assert page_tokens.decode_int("off", "") is None
    assert page_tokens.decode_key("held", page_tokens.encode("held", "fx-1")) == "fx-1"
    bad = [
        "9223372036854775808",
        "²",
        token + "=",
        page_tokens.encode("off", 10**19),
        page_tokens.encode("off", "-1"),
        page_tokens.encode("off", "05"),
        page_tokens.encode("held", 1),
    ]
    for value in bad:
        with pytest.raises(InvalidArgument) as caught:
            page_tokens.decode_int("off", value)
        assert caught.value.reason == "PAGE_TOKEN_INVALID"
    for value in (page_tokens.encode("held", "a\0b"), page_tokens.encode("held", "x" * 129)):
        with pytest.raises(InvalidArgument):
            page_tokens.decode_key("held", value)


def test_game_states_are_bounded_by_the_contract_in_the_domain_too() -> None:
    assert upper_bound(game_state_pb2.FootballState, "home_goals") == 50
    check_within_contract(
        game_state_pb2.GameState(football=game_state_pb2.FootballState(home_goals=50)), "R", "gs"
    )
    for state in (
        game_state_pb2.GameState(football=game_state_pb2.FootballState(home_goals=2000)),
        game_state_pb2.GameState(tennis=game_state_pb2.TennisState(home_points=2**32 - 1)),
        game_state_pb2.GameState(
            tennis=game_state_pb2.TennisState(
                sets=[game_state_pb2.TennisSetScore(home_games=2**32 - 1)]
            )
        ),
        game_state_pb2.GameState(
            tennis=game_state_pb2.TennisState(sets=[game_state_pb2.TennisSetScore()] * 6)
        ),
    ):
        with pytest.raises(InvalidArgument) as caught:
            check_within_contract(state, "GAME_STATE_OUT_OF_RANGE", "game_state")
        assert caught.value.reason == "GAME_STATE_OUT_OF_RANGE"

"""`betmesh demo` options, parsed without starting anything."""

from __future__ import annotations

import pytest

from launcher.cli import build_parser, demo_options
from launcher.demo import DEFAULT_PLAYERS, DEFAULT_SPEED, MIN_PLAYERS


def test_the_defaults_play_a_fast_day_with_a_crowd_and_an_automatic_status() -> None:
    options = demo_options(build_parser().parse_args(["demo"]))
    assert options.speed == DEFAULT_SPEED > 1
    assert options.players == DEFAULT_PLAYERS
    assert options.tty is None
    assert options.summary_json is None


def test_speed_players_progress_and_hold_are_read() -> None:
    args = build_parser().parse_args(
        ["demo", "--speed", "1", "--players", "40", "--progress", "plain", "--hold"]
    )
    options = demo_options(args)
    assert (options.speed, options.players, options.tty) == (1.0, 40, False)
    assert args.hold


@pytest.mark.parametrize(
    "bad",
    [
        ["--speed", "0"],
        ["--speed", "-3"],
        ["--speed", "fast"],
        ["--players", str(MIN_PLAYERS - 1)],
        ["--players", "lots"],
    ],
)
def test_a_speed_or_crowd_that_cannot_be_played_is_refused(
    bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["demo", *bad])
    assert exit_info.value.code == 2
    assert bad[0] in capsys.readouterr().err

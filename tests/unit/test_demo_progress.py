"""The demo's status display: redrawn in place on a terminal, plain lines in a log."""

from __future__ import annotations

import io
import re
import time

from betmesh.common.v1 import game_state_pb2, sport_pb2

from launcher.demo.progress import CLEAR_LINE, Progress, bar
from launcher.demo.state import DayState, Match, PlacedBet


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_output_has_no_control_characters_and_repeats_only_changes() -> None:
    out = io.StringIO()
    status = ["phase 1"]
    progress = Progress(out, lambda: status[0], plain_every=0.0)
    progress.start()
    progress.say("a story line")
    progress.update()
    time.sleep(0.7)  # the ticker runs; an unchanged status is not printed again
    status[0] = "phase 2"
    time.sleep(0.7)
    progress.stop()
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[0] == "a story line"
    assert lines.count("  .. phase 1") == 1
    assert lines.count("  .. phase 2") == 1


def test_a_terminal_gets_the_status_redrawn_under_the_story() -> None:
    out = Terminal()
    progress = Progress(out, lambda: "live | ARS-CHE 1-0 23'")
    progress.start()
    progress.say("kick-off")
    time.sleep(0.3)
    progress.stop()
    text = out.getvalue()
    assert "kick-off\n" in text
    # Redrawn in place: a cleared line, a spinner frame, the status, no newline.
    assert re.search(r"\r\x1b\[2K. live \| ARS-CHE 1-0 23'(?!\n)", text)
    # Stopping clears the status line: the summary that follows starts on a clean line and
    # is not interleaved with the status any more.
    assert text.endswith(CLEAR_LINE)
    progress.say("summary")
    assert out.getvalue() == text + "summary\n"


def test_the_status_line_shows_matches_and_bets() -> None:
    state = DayState(run_id="abc123", speed=100.0, phase="5/6 live")
    fixture = sport_pb2.Fixture(
        fixture_id="f1",
        sport=sport_pb2.SPORT_FOOTBALL,
        home=sport_pb2.Participant(participant_id="fb:arsenal", name="Arsenal"),
        away=sport_pb2.Participant(participant_id="fb:chelsea", name="Chelsea"),
    )
    match = Match(fixture, "football.json", 10, "ARS-CHE", status="live", events_sent=5)
    match.state = game_state_pb2.GameState(
        elapsed_seconds=23 * 60, football=game_state_pb2.FootballState(home_goals=1)
    )
    state.matches.append(match)
    state.record(PlacedBet("b1", "p1", "football", 1_000, 1, False, ("f1",), "ACCEPTED"))
    state.record(PlacedBet("", "p2", "football", 500, 1, False, ("f1",), "REJECTED", "X"))
    state.record(PlacedBet("b3", "p3", "tennis", 250, 1, False, ("f2",), "WON", payout_minor=400))
    line = state.status_line()
    assert line.startswith("5/6 live | ")
    assert "ARS-CHE 1-0 23'" in line
    assert bar(0.5, 10) in line
    assert "bets 2 taken/1 refused, 1 settled" in line
    assert "stake 12.50 EUR" in line

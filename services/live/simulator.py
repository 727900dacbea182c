"""A feed simulator: replays a scripted match timeline through IngestMatchEvent.

A script is JSON:

    {"fixture": {"fixture_id": "...", "sport": "football", "competition_id": "epl",
                 "competition_name": "Premier League",
                 "home": {"participant_id": "fb:arsenal", "name": "Arsenal"},
                 "away": {"participant_id": "fb:chelsea", "name": "Chelsea"},
                 "best_of_sets": 3},
     "events": [{"at": 0, "type": "MATCH_STARTED"},
                {"at": 1380, "type": "GOAL", "side": "home"},
                {"at": 3600, "type": "PERIOD_STARTED", "period": 2, "elapsed": 2700},
                {"at": 4000, "points": "HHAHH", "every": 30}, ...]}

`at` is the match timeline in seconds from the start (breaks included); `elapsed` is the play
clock reported to the feed (default: `at`, for the clocked sports; 0 for tennis). `type` is a
MatchEventType name without its prefix; `points` expands into one POINT_WON per letter (H home,
A away), `every` seconds apart. Sequences are numbered from 1 in script order, and the fixture
rides on MATCH_STARTED. At speed s, a timeline gap of t seconds waits t/s seconds (0: no wait).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from betmesh.common.v1 import sport_pb2
from betmesh.live.v1 import match_event_pb2 as me
from google.protobuf import json_format, timestamp_pb2

SCRIPTS = Path(__file__).parent / "scripts"
CLOCKED = {sport_pb2.SPORT_FOOTBALL, sport_pb2.SPORT_BASKETBALL}
SIDES = {"home": sport_pb2.SIDE_HOME, "away": sport_pb2.SIDE_AWAY, "": sport_pb2.SIDE_UNSPECIFIED}


# Well within live's default feed deadline (20 s).
HEARTBEAT_SECONDS = 5.0


class ScriptError(ValueError):
    """The script is not a valid match timeline."""


@dataclass(frozen=True)
class TimedEvent:
    at: float
    event: me.MatchEvent


def _sport(value: object) -> sport_pb2.Sport.ValueType:
    try:
        return sport_pb2.Sport.Value("SPORT_" + str(value).upper())
    except ValueError:
        raise ScriptError(f"unknown sport {value!r}") from None


def load(script: Mapping[str, Any], fixture_id: str | None = None) -> list[TimedEvent]:
    """The script's events, numbered, with the fixture on MATCH_STARTED."""
    raw_fixture = dict(script.get("fixture") or {})
    sport = _sport(raw_fixture.pop("sport", ""))
    fixture = json_format.ParseDict(raw_fixture, sport_pb2.Fixture())
    fixture.sport = sport
    if fixture_id:
        fixture.fixture_id = fixture_id
    if not fixture.fixture_id:
        raise ScriptError("fixture.fixture_id is required")
    timeline: list[TimedEvent] = []
    previous_at = 0.0

    def add(at: float, kind: str, item: Mapping[str, Any], side: str = "") -> None:
        try:
            event_type = me.MatchEventType.Value("MATCH_EVENT_TYPE_" + kind.upper())
        except ValueError:
            raise ScriptError(f"unknown event type {kind!r}") from None
        event = me.MatchEvent(
            fixture_id=fixture.fixture_id,
            sport=sport,
            sequence=len(timeline) + 1,
            type=event_type,
            elapsed_seconds=int(item.get("elapsed", at if sport in CLOCKED else 0)),
            period=int(item.get("period", 0)),
            side=SIDES[side or str(item.get("side", "")).lower()],
            points=int(item.get("points", 0)) if kind.upper() == "POINTS_SCORED" else 0,
            source="simulator",
        )
        if event_type == me.MATCH_EVENT_TYPE_MATCH_STARTED:
            event.fixture.CopyFrom(fixture)
        timeline.append(TimedEvent(at, event))

    for item in script.get("events", []):
        at = float(item.get("at", previous_at))
        if at < previous_at:
            raise ScriptError(f"event at {at} comes before the previous one at {previous_at}")
        if "type" in item:
            add(at, str(item["type"]), item)
        else:
            every = float(item.get("every", 30))
            # Spaces only make a script readable (one group per game).
            letters = "".join(str(item.get("points", "")).split())
            for k, letter in enumerate(letters):
                side = {"H": "home", "A": "away"}.get(letter.upper())
                if side is None:
                    raise ScriptError(f"points are H or A letters, not {letter!r}")
                add(at + k * every, "POINT_WON", {}, side)
            at = at + max(0, len(letters) - 1) * every
        previous_at = at
    return timeline


def load_file(path: Path | str, fixture_id: str | None = None) -> list[TimedEvent]:
    candidate = Path(path)
    if not candidate.exists() and (SCRIPTS / candidate).exists():
        candidate = SCRIPTS / candidate
    return load(json.loads(candidate.read_text()), fixture_id)


Send = Callable[[me.MatchEvent], Awaitable[object]]


async def replay(
    timeline: list[TimedEvent],
    send: Send,
    speed: float,
    on_sent: Callable[[TimedEvent, object], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    heartbeat: Callable[[], Awaitable[object]] | None = None,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> int:
    """Sends every event in order, spacing them by timeline gap / speed; returns the count.
    Between events longer than `heartbeat_seconds` apart, `heartbeat` says the feed is alive
    (a quiet spell is not a dead feed: live suspends a match it stops hearing from)."""
    started = time.monotonic()
    first = timeline[0].at if timeline else 0.0
    for timed in timeline:
        if speed > 0:
            wait = (timed.at - first) / speed - (time.monotonic() - started)
            while wait > 0:
                await sleep(min(wait, heartbeat_seconds) if heartbeat is not None else wait)
                wait = (timed.at - first) / speed - (time.monotonic() - started)
                if wait > 0 and heartbeat is not None:
                    await heartbeat()
        stamp = timestamp_pb2.Timestamp()
        stamp.GetCurrentTime()
        timed.event.occurred_at.CopyFrom(stamp)
        reply = await send(timed.event)
        if on_sent is not None:
            on_sent(timed, reply)
    return len(timeline)

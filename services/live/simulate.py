"""python -m services.live.simulate --script FILE --speed 60 --address host:port

Replays a scripted match (see services/live/simulator.py; bundled: football.json, tennis.json,
basketball.json in services/live/scripts/) through LiveOddsService.IngestMatchEvent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import grpc
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc
from betmesh.live.v1 import match_event_pb2 as me

from services.live.simulator import ScriptError, TimedEvent, load_file, replay


def _describe(timed: TimedEvent, reply: object) -> str:
    event = timed.event
    kind = me.MatchEventType.Name(event.type).removeprefix("MATCH_EVENT_TYPE_")
    outcome = (
        pb.IngestOutcome.Name(reply.outcome).removeprefix("INGEST_OUTCOME_")
        if isinstance(reply, pb.IngestMatchEventResponse)
        else "?"
    )
    return f"#{event.sequence} {kind} at {int(timed.at) // 60}' -> {outcome}"


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.live.simulate")
    parser.add_argument("--script", required=True, help="JSON timeline (path or bundled name)")
    parser.add_argument("--speed", type=float, default=60.0, help="timeline seconds per second")
    parser.add_argument("--address", required=True, help="live service host:port")
    parser.add_argument("--fixture-id", default=None, help="replay under another fixture id")
    parser.add_argument("--token", default=None, help="bearer token for the live service")
    args = parser.parse_args(argv)
    try:
        timeline = load_file(args.script, args.fixture_id)
    except (OSError, ScriptError, ValueError) as exc:
        print(f"bad script: {exc}", file=sys.stderr)
        return 2
    metadata = [("authorization", f"Bearer {args.token}")] if args.token else None
    async with grpc.aio.insecure_channel(args.address) as channel:
        stub = live_odds_service_pb2_grpc.LiveOddsServiceStub(channel)

        sent = 0  # the last sequence live answered: what the heartbeat says the feed is up to

        async def send(event: me.MatchEvent) -> object:
            nonlocal sent
            reply = await stub.IngestMatchEvent(
                pb.IngestMatchEventRequest(event=event), timeout=10, metadata=metadata
            )
            sent = max(sent, event.sequence)
            return reply

        async def alive() -> object:
            # With the last sequence sent: after a lost feed, only that word (or the next
            # event) reopens the match, once live knows it is missing nothing.
            return await stub.SendFeedHeartbeat(
                pb.SendFeedHeartbeatRequest(
                    source=timeline[0].event.source,
                    fixtures=[
                        pb.FixtureProgress(
                            fixture_id=timeline[0].event.fixture_id, last_sequence=sent
                        )
                    ],
                ),
                timeout=10,
                metadata=metadata,
            )

        try:
            await replay(
                timeline,
                send,
                args.speed,
                lambda t, r: print(_describe(t, r), flush=True),
                heartbeat=alive if timeline else None,
            )
        except grpc.aio.AioRpcError as exc:
            print(f"ingest failed: {exc.code().name} {exc.details()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""What checking requests against the contracts' rules costs per RPC, validated vs not, same run.

1. In process: `service_runtime.validation.check` per request (protovalidate's native
   validator plus the Timestamp/Duration validity walk), for representative requests of the
   mesh's RPCs, from a two-field read to a 100-fixture batch.
2. End to end: the same trivial servicers (they answer an empty response at once, so the
   runtime's own work is all there is: the worst case for validation's share) served by the
   runtime with validation (as every service runs) and with the check replaced by a no-op, each
   server its own process (CPU per call from /proc/<pid>/stat), alternating rounds.

    .venv/bin/python -m bench.validation.run [--calls 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import grpc
from betmesh.bets.v1 import bet_service_pb2 as bets_pb
from betmesh.bets.v1 import bet_service_pb2_grpc as bets_grpc
from betmesh.common.v1 import game_state_pb2, money_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gateway_grpc
from betmesh.gateway.v1 import fixture_service_pb2 as fixtures_pb
from betmesh.gateway.v1 import fixture_service_pb2_grpc as fixtures_grpc
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from bench.server_cpu import cpu_seconds, server_process, spread

CONCURRENCY = 16


def fixture(n: int) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id=f"epl-2026-12-06-fixture-{n}",
        sport=sport_pb2.SPORT_FOOTBALL,
        competition_id="epl",
        competition_name="Premier League",
        home=sport_pb2.Participant(participant_id="fb:arsenal", name="Arsenal"),
        away=sport_pb2.Participant(participant_id="fb:chelsea", name="Chelsea"),
        start_time=timestamp_pb2.Timestamp(seconds=1_800_000_000 + n),
        status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
    )


REQUESTS: dict[str, Message] = {
    "GetBet": bets_pb.GetBetRequest(bet_id="bet_9f9c5c5e1f91436a915531eaee8e6ecc"),
    "PlaceBet (2 legs)": bets_pb.PlaceBetRequest(
        idempotency_key="7b0c9d5e-6f0e-4f33-9a3c-1c2d3e4f5a6b",
        player_id="1c92efc7-bcdb-4ff0-a35a-410646f45944",
        legs=[
            bets_pb.BetLeg(
                fixture_id=f"epl-fixture-{n}",
                market_id=f"epl-fixture-{n}/MATCH_RESULT",
                selection_id="home",
                odds_e4=21_000,
            )
            for n in range(2)
        ],
        stake=money_pb2.Money(amount_minor=1_000, currency="EUR"),
        odds_acceptance=bets_pb.ODDS_ACCEPTANCE_HIGHER,
    ),
    "GetConsensusQuote (in play)": gateway_pb.GetConsensusQuoteRequest(
        fixture=fixture(1),
        snapshot_hash="sha256:" + "ab" * 32,
        game_state=game_state_pb2.GameState(
            event_sequence=12,
            elapsed_seconds=2_400,
            period=1,
            football=game_state_pb2.FootballState(home_goals=1, regulation_seconds=5_400),
        ),
    ),
    "UpsertFixtures (100)": fixtures_pb.UpsertFixturesRequest(
        fixtures=[fixture(n) for n in range(100)]
    ),
}


def in_process(rounds: int) -> None:
    from service_runtime.validation import check

    print("1. service_runtime.validation.check per request, in process (median of rounds)")
    for name, request in REQUESTS.items():
        calls = 20_000 if name != "UpsertFixtures (100)" else 500
        check(request)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(calls):
                check(request)
            times.append((time.perf_counter() - started) / calls)
        print(f"   {name:28} {statistics.median(times) * 1e6:8.1f} us")


# Served methods: (registration, method path, request) of the end-to-end part.
def _servicers() -> list[tuple[str, Callable[[Any], None]]]:
    class Bets(bets_grpc.BetServiceServicer):
        async def GetBet(self, request: Any, context: Any) -> Any:
            return bets_pb.GetBetResponse()

        async def PlaceBet(self, request: Any, context: Any) -> Any:
            return bets_pb.PlaceBetResponse()

    class Gateway(gateway_grpc.ConsensusGatewayServiceServicer):
        async def GetConsensusQuote(self, request: Any, context: Any) -> Any:
            return gateway_pb.GetConsensusQuoteResponse()

    class Fixtures(fixtures_grpc.FixtureServiceServicer):
        async def UpsertFixtures(self, request: Any, context: Any) -> Any:
            return fixtures_pb.UpsertFixturesResponse()

    return [
        (
            "betmesh.bets.v1.BetService",
            lambda s: bets_grpc.add_BetServiceServicer_to_server(Bets(), s),
        ),
        (
            "betmesh.gateway.v1.ConsensusGatewayService",
            lambda s: gateway_grpc.add_ConsensusGatewayServiceServicer_to_server(Gateway(), s),
        ),
        (
            "betmesh.gateway.v1.FixtureService",
            lambda s: fixtures_grpc.add_FixtureServiceServicer_to_server(Fixtures(), s),
        ),
    ]


METHODS = {
    "GetBet": "/betmesh.bets.v1.BetService/GetBet",
    "PlaceBet (2 legs)": "/betmesh.bets.v1.BetService/PlaceBet",
    "GetConsensusQuote (in play)": "/betmesh.gateway.v1.ConsensusGatewayService/GetConsensusQuote",
    "UpsertFixtures (100)": "/betmesh.gateway.v1.FixtureService/UpsertFixtures",
}


async def serve(mode: str) -> None:
    from service_runtime import handlers
    from service_runtime.server import Registration, ServiceHost, serve_until_signalled
    from service_runtime.settings import Env, ServerSettings

    if mode == "off":
        handlers.check_request = lambda request: None  # type: ignore[assignment]
    settings = ServerSettings.read(
        Env({"BETMESH_PORT": "0", "BETMESH_LOG_LEVEL": "WARNING", "BETMESH_AUTH_MODE": "anonymous"})
    )
    host = ServiceHost(
        "bench.validation",
        settings,
        [Registration(name, register) for name, register in _servicers()],
    )
    await serve_until_signalled(host)


async def load(port: int, method: str, request: Message, calls: int) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(method, request_serializer=type(request).SerializeToString)
        for _ in range(100):
            await call(request)
        await spread(calls, CONCURRENCY, lambda: call(request))


def round_of(mode: str, calls: int) -> dict[str, float]:
    """Server CPU µs per call, per request, for one server process."""
    with server_process("bench.validation.run", "--serve", mode) as (pid, port):
        found = {}
        for name, request in REQUESTS.items():
            n = calls if name != "UpsertFixtures (100)" else max(calls // 10, 200)
            before = cpu_seconds(pid)
            asyncio.run(load(port, METHODS[name], request, n))
            found[name] = (cpu_seconds(pid) - before) / n * 1e6
        return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", choices=["on", "off"])
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    in_process(args.rounds)
    results: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    for _ in range(args.rounds):
        for mode in ("off", "on"):
            results[mode].append(round_of(mode, args.calls))
    print(
        f"2. server CPU per call (us), trivial servicers, {args.rounds} alternating rounds, "
        f"{CONCURRENCY} in flight: median [min-max]"
    )
    print(f"   {'request':28} {'not validated':>20} {'validated':>20} {'difference':>12}")
    for name in REQUESTS:
        off = [r[name] for r in results["off"]]
        on = [r[name] for r in results["on"]]
        a, b = statistics.median(off), statistics.median(on)
        print(
            f"   {name:28} {a:8.1f} [{min(off):.0f}-{max(off):.0f}]"
            f"{'':4} {b:8.1f} [{min(on):.0f}-{max(on):.0f}]"
            f" {b - a:+8.1f} ({(b / a - 1) * 100:+.1f}%)"
        )


if __name__ == "__main__":
    main()

"""Bets placed per second and their latency on one bets process, beside pgbench.

    .venv/bin/python bench/bets/placing.py [--concurrency 8] [--seconds 10] [--rounds 3]
        [--players 200] [--fixtures 50]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--redis-url redis://127.0.0.1:6379/12]

In one run, on the same PostgreSQL:
1. a fresh database; a real `python -m services.bets` process; players made verified with
   stake and deposit caps through identity's events, funded by Deposit; fixtures priced
   through the gateway's quotes.accepted events;
2. `rounds` times, in turn: `concurrency` gRPC clients place pre-match singles for `seconds`
   (each PlaceBet: price and status check, ANJ checks, limits and exposure, stake hold, one
   transaction), then `pgbench -N` (built-in simple-update) at the same concurrency for the
   same time on its own database of the same server. Taking turns keeps the two under the
   same neighbours on a shared machine; the ratio is bets/s over pgbench tps, summed over
   the rounds (each round's ratio is printed too);
3. invariants: the ledger sums to zero, no player account negative, stored bets = answers.
Each round also prints the CPU time (user + system) spent per bet during its bets phase by the
bets process, by PostgreSQL (every postgres process of the server; in brackets, the part of the
backends connected to the bench's database, which leaves out neighbours' load) and by this
client. CPU per bet is steadier than rates on shared cores.
Same machine, same run: the ratio is the figure; absolute numbers depend on the 2 shared cores
(the clients run on them too).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import psutil  # type: ignore[import-untyped]  # no stubs in the lock
import redis.asyncio as aioredis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "gen" / "python"))

from betmesh.bets.v1 import bet_service_pb2 as pb  # noqa: E402
from betmesh.bets.v1 import bet_service_pb2_grpc  # noqa: E402
from betmesh.common.v1 import money_pb2  # noqa: E402
from betmesh.events.v1 import events_pb2  # noqa: E402

from launcher.embedded import create_database, drop_database, free_port, unique_name  # noqa: E402
from service_runtime.events import EventPublisher, Topic, stream_key  # noqa: E402
from tests.integration.test_bets_harness import as_player, football, quote_set  # noqa: E402


def pgbench_binary() -> str:
    found = shutil.which("pgbench") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))), None
    )
    if not found:
        raise SystemExit("pgbench not found")
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_consumed(client: aioredis.Redis, topic: Topic, group: str) -> None:
    last: Any = await client.xrevrange(stream_key(topic), count=1)
    wanted = tuple(int(x) for x in last[0][0].split(b"-"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            groups: Any = await client.xinfo_groups(stream_key(topic))
        except aioredis.ResponseError:
            groups = []
        for info in groups:
            name = info["name"]
            name = name.decode() if isinstance(name, bytes) else name
            raw = info["last-delivered-id"]
            raw = raw if isinstance(raw, bytes) else raw.encode()
            delivered = tuple(int(x) for x in raw.split(b"-"))
            if name == group and delivered >= wanted and info["pending"] == 0:
                return
        await asyncio.sleep(0.05)
    raise SystemExit(f"bets did not consume {topic.value}")


async def prepare(
    stub: Any, redis_url: str, consumers: list[str], players: int, fixtures: int
) -> tuple[list[str], list[str]]:
    client = aioredis.Redis.from_url(redis_url)
    publisher = EventPublisher(client, "bench")
    fixture_ids = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(fixtures)]
    for f in fixture_ids:
        await publisher.publish(
            Topic.QUOTE_SET_ACCEPTED,
            events_pb2.EventEnvelope(
                quote_set_accepted=events_pb2.QuoteSetAccepted(
                    quote_set=quote_set(f, football(f)), digest=f"sha256:{f}"
                )
            ),
        )
    player_ids = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(players)]
    for p in player_ids:
        await publisher.publish(
            Topic.KYC_STATUS_CHANGED,
            events_pb2.EventEnvelope(
                kyc_status_changed=events_pb2.KycStatusChanged(
                    player_id=p, kyc_status="KYC_STATUS_VERIFIED", of_age=True
                )
            ),
        )
        await publisher.publish(
            Topic.LIMITS_CHANGED,
            events_pb2.EventEnvelope(
                responsible_gambling_limits_changed=events_pb2.ResponsibleGamblingLimitsChanged(
                    player_id=p,
                    stake_cap_7d=money_pb2.Money(amount_minor=10_000_000, currency="EUR"),
                    # ANJ: set before the first deposit, or Deposit is refused.
                    deposit_cap_7d=money_pb2.Money(amount_minor=10_000_000, currency="EUR"),
                )
            ),
        )
    for consumer in consumers:  # each bets process keeps every price
        await wait_consumed(client, Topic.QUOTE_SET_ACCEPTED, f"betmesh.bets.prices.{consumer}")
    await wait_consumed(client, Topic.KYC_STATUS_CHANGED, "betmesh.bets")
    await wait_consumed(client, Topic.LIMITS_CHANGED, "betmesh.bets")  # the default group
    await client.aclose()
    for p in player_ids:
        await stub.Deposit(
            pb.DepositRequest(
                idempotency_key=f"fund-{p}",
                player_id=p,
                amount=money_pb2.Money(amount_minor=5_000_000, currency="EUR"),
                payment_method_id="pm_bench",
            )
        )
    return player_ids, fixture_ids


async def load(
    stub: Any, players: list[str], fixtures: list[str], concurrency: int, seconds: float
) -> tuple[list[float], dict[str, int]]:
    latencies: list[float] = []
    answers: dict[str, int] = {}
    deadline = time.monotonic() + seconds

    async def client(index: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            p = players[(index + n * concurrency) % len(players)]
            f = fixtures[(index * 7 + n) % len(fixtures)]
            key = f"b-{index}-{n}-{uuid.uuid4().hex[:6]}"
            request = pb.PlaceBetRequest(
                idempotency_key=key,
                player_id=p,
                legs=[
                    pb.BetLeg(
                        fixture_id=f,
                        market_id=f"{f}/MATCH_RESULT",
                        selection_id="home",
                        odds_e4=20_000,
                    )
                ],
                stake=money_pb2.Money(amount_minor=100, currency="EUR"),
                odds_acceptance=pb.ODDS_ACCEPTANCE_ANY,
            )
            started = time.perf_counter()
            # As the player: PlaceBet acts on the caller's own wallet.
            response = await stub.PlaceBet(request, timeout=30, metadata=as_player(p))
            latencies.append(time.perf_counter() - started)
            answers[key] = response.bet.status
            n += 1

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    return latencies, answers


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


class CpuMeter:
    """CPU seconds (user + system) used by the bets process, the PostgreSQL server and this
    client between start() and stop(). PostgreSQL: every process named postgres, the ones
    started meanwhile from zero, the ones that ended through the postmaster's children times.

    A backend that ends is counted by the postmaster when it reaps it, for its whole life: so
    what such a backend had used before start() is taken off again (without that, a neighbour's
    connection that lived a minute and closed during a round put its minute on the round), and
    the postmaster is read after its children, so that one reaped between the two readings is
    in the postmaster's times rather than in neither."""

    def __init__(self, bets_pid: int, database: str) -> None:
        self.bets = psutil.Process(bets_pid)
        self.client = psutil.Process()
        self.database = database
        self.started: dict[str, float] = {}
        self.postgres: dict[int, float] = {}

    def _postgres(self) -> dict[int, tuple[float, bool]]:
        found: dict[int, tuple[float, bool]] = {}
        processes = [
            process
            for process in psutil.process_iter(["name", "cmdline", "ppid"])
            if process.info["name"] == "postgres"
        ]
        pids = {process.pid for process in processes}
        # Children first, then the postmaster (the one whose parent is no postgres).
        processes.sort(key=lambda process: process.info["ppid"] not in pids)
        for process in processes:
            try:
                title = " ".join(process.info["cmdline"] or [])
                times = process.cpu_times()
                used = times.user + times.system + times.children_user + times.children_system
                found[process.pid] = (float(used), f" {self.database} " in f"{title} ")
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return found

    def start(self) -> None:
        self.postgres = {pid: cpu for pid, (cpu, _) in self._postgres().items()}
        self.own = own_postgres(self.database)
        self.started = {"bets": _cpu(self.bets), "client": _cpu(self.client)}

    def stop(self) -> dict[str, float]:
        used = {
            "bets": _cpu(self.bets) - self.started["bets"],
            "client": _cpu(self.client) - self.started["client"],
            "postgres": 0.0,
            "postgres_db": 0.0,
        }
        now = self._postgres()
        for pid, (cpu, ours) in now.items():
            spent = cpu - self.postgres.get(pid, 0.0)
            used["postgres"] += spent
            if ours:
                used["postgres_db"] += spent
        # Ended meanwhile: their whole life is in the postmaster's children times now.
        used["postgres"] -= sum(cpu for pid, cpu in self.postgres.items() if pid not in now)
        own = own_postgres(self.database)
        used["postgres_own"] = sum(cpu - self.own.get(pid, 0.0) for pid, cpu in own.items())
        return used


# The server's own processes that work for every database (WAL, checkpoints, the buffers'
# writer, autovacuum's launcher): counted on both sides, with whatever neighbours make them do.
SHARED = ("walwriter", "checkpointer", "background writer", "autovacuum launcher")


def own_postgres(database: str) -> dict[int, float]:
    """CPU seconds so far of the backends connected to `database` and of the shared processes:
    what PostgreSQL spends on one workload, leaving out other databases' backends (a shared
    machine's neighbours, whose connections the postmaster's children times also hold)."""
    found: dict[int, float] = {}
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] != "postgres":
            continue
        title = " ".join(process.info["cmdline"] or [])
        if f" {database} " in f"{title} " or any(f"postgres: {n}" in title for n in SHARED):
            try:
                found[process.pid] = _cpu(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    return found


class PgBench:
    """pgbench's own database on the same server, initialised once and run once per round."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = unique_name("bench_pgbench")
        url = create_database(admin_url, self.name)
        parsed = sa.make_url(url)
        self.env = {
            **os.environ,
            "PGHOST": parsed.host or "127.0.0.1",
            "PGPORT": str(parsed.port or 5432),
            "PGUSER": parsed.username or "postgres",
        }
        if parsed.password:
            self.env["PGPASSWORD"] = parsed.password
        self.binary = pgbench_binary()
        subprocess.run(
            [self.binary, "-i", "-q", "-s", "1", self.name],
            env=self.env,
            check=True,
            capture_output=True,
        )

    def run(self, concurrency: int, seconds: int) -> tuple[float, float]:
        """pgbench's tps, and the CPU seconds of its database's backends and the shared
        processes over the run. Its backends end with it: they are read every 20 ms while it
        runs, so at most their last 20 ms are missed (which makes a transaction look cheaper,
        the bet : transaction ratio higher: the error runs against the bet)."""
        before = own_postgres(self.name)
        process = subprocess.Popen(
            [
                self.binary,
                "-N",
                "-c",
                str(concurrency),
                "-j",
                str(min(concurrency, 2)),
                "-T",
                str(seconds),
                self.name,
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        last = dict(before)
        while process.poll() is None:
            last.update(own_postgres(self.name))
            time.sleep(0.02)
        last.update(own_postgres(self.name))
        out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"pgbench failed:\n{err}")
        match = re.search(r"tps = ([0-9.]+)", out)
        if not match:
            raise SystemExit(f"no tps in pgbench output:\n{out}")
        return float(match.group(1)), sum(cpu - before.get(pid, 0.0) for pid, cpu in last.items())

    def drop(self) -> None:
        drop_database(self.admin_url, self.name)


def check(url: str, answers: dict[str, int]) -> dict[str, Any]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(
            sa.text("SELECT coalesce(sum(amount_minor), 0) FROM bets.entries")
        ).scalar_one()
        negative = conn.execute(
            sa.text(
                "SELECT count(*) FROM bets.accounts WHERE kind IN ('player_wallet', 'player_held')"
                " AND balance_minor < 0"
            )
        ).scalar_one()
        stored = conn.execute(sa.text("SELECT count(*) FROM bets.bets")).scalar_one()
        accepted = conn.execute(
            sa.text("SELECT count(*) FROM bets.bets WHERE status = 'ACCEPTED'")
        ).scalar_one()
    engine.dispose()
    return {
        "ledger_sum": int(total),
        "negative_accounts": int(negative),
        "stored_bets": int(stored),
        "answers": len(answers),
        "accepted_answers": sum(1 for s in answers.values() if s == pb.BET_STATUS_ACCEPTED),
        "accepted_stored": int(accepted),
    }


@dataclass
class Side:
    """One bets process under test and what its rounds measured."""

    label: str
    env: dict[str, str]
    port: int
    consumer: str
    process: subprocess.Popen[str] | None = None
    stub: Any = None
    latencies: list[float] = field(default_factory=list)
    # (bets placed, seconds, pgbench tps) per round.
    rounds: list[tuple[int, float, float]] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)
    # The pgbench run after each of its rounds: (PostgreSQL, pgbench, transactions, PostgreSQL's
    # own processes).
    pgbench_cpu: list[tuple[float, float, float, float]] = field(default_factory=list)


def start_bets(side: Side, url: str, redis_url: str, pool: int) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BETMESH_")},
        "BETMESH_PORT": str(side.port),
        "BETMESH_DATABASE_URL": url,
        "BETMESH_REDIS_URL": redis_url,
        "BETMESH_BETS_CONSUMER_NAME": side.consumer,
        "BETMESH_BETS_DATABASE_POOL_SIZE": str(pool),
        "BETMESH_LOG_LEVEL": "WARNING",
        # Callers name themselves in headers (bench/bets/serve.py): no identity to sign tokens.
        "BETMESH_AUTH_MODE": "anonymous",
        **side.env,
    }
    # Started once, before any load: blocking here is harmless.
    side.process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "bets" / "serve.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert side.process.stdout is not None
    for line in side.process.stdout:
        if line.startswith("READY"):
            return
    raise SystemExit(f"the bets process ({side.label}) exited before it was ready")


def report(side: Side, concurrency: int) -> float:
    """Prints one side's figures; returns its cost ratio on PostgreSQL's own processes."""
    tag = f"[{side.label}] " if side.label else ""
    for index, ((n, elapsed, round_tps), used) in enumerate(
        zip(side.rounds, side.cpu, strict=True), 1
    ):
        print(
            f"{tag}round {index}: {n / elapsed:.0f} bets/s, pgbench {round_tps:.0f} tps,"
            f" ratio {n / elapsed / round_tps:.2%}"
        )
        per_bet = {k: v / max(n, 1) * 1000 for k, v in used.items()}
        print(
            f"{tag}  CPU ms per bet: bets {per_bet['bets']:.3f}, postgres"
            f" {per_bet['postgres']:.3f} (its own {per_bet['postgres_own']:.3f}),"
            f" client {per_bet['client']:.3f}"
        )
    placed = max(sum(n for n, _, _ in side.rounds), 1)
    keys = ("bets", "postgres", "postgres_own", "client")
    total = {k: sum(u[k] for u in side.cpu) / placed * 1000 for k in keys}
    transactions = max(sum(t for _, _, t, _ in side.pgbench_cpu), 1.0)
    server = sum(s for s, _, _, _ in side.pgbench_cpu) / transactions * 1000
    client = sum(c for _, c, _, _ in side.pgbench_cpu) / transactions * 1000
    own = sum(o for *_, o in side.pgbench_cpu) / transactions * 1000
    # The figure: what a bet costs (bets process + PostgreSQL) over what a pgbench -N
    # transaction costs (PostgreSQL + pgbench); it does not depend on the core count.
    # "Every postgres process": the server's whole CPU (pgbench's backends end with it, so only
    # the postmaster's children times hold them), neighbours' databases included. "Its own": the
    # backends of the bench's database (or pgbench's) and the shared WAL, checkpoint and writer
    # processes, without the neighbours: the steadier figure on a shared machine.
    cost_all = (total["bets"] + total["postgres"]) / max(server + client, 1e-9)
    cost_own = (total["bets"] + total["postgres_own"]) / max(own + client, 1e-9)
    elapsed = sum(t for _, t, _ in side.rounds)
    tps = sum(x for _, _, x in side.rounds) / len(side.rounds)
    rows = [
        ("concurrency", f"{concurrency}"),
        (
            "CPU ms per bet (all)",
            f"bets {total['bets']:.3f}, postgres {total['postgres']:.3f}"
            f" (its own {total['postgres_own']:.3f}), client {total['client']:.3f}",
        ),
        (
            "CPU ms per pgbench tx",
            f"postgres {server:.3f} (its own {own:.3f}), pgbench {client:.3f}",
        ),
        ("cost ratio bet : tx", f"{cost_own:.2f}x (every postgres process: {cost_all:.2f}x)"),
        ("bets placed", f"{placed} in {elapsed:.1f} s"),
        ("bets/s", f"{placed / elapsed:.0f}"),
        ("PlaceBet p50", f"{percentile(side.latencies, 0.50) * 1000:.1f} ms"),
        ("PlaceBet p99", f"{percentile(side.latencies, 0.99) * 1000:.1f} ms"),
        ("pgbench -N tps", f"{tps:.0f}"),
        ("ratio bets/s : tps", f"{placed / elapsed / tps:.2%}"),
    ]
    for key, value in rows:
        print(f"{tag}{key:<22} {value}")
    return cost_own


def variant_env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--compare-env wants KEY=VALUE, not {pair!r}")
        env[key] = value
    return env


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--fixtures", type=int, default=50)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--compare-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="also run a second bets process with these settings on the same database, its"
        " rounds interleaved with the first's (A B, B A, ...), each followed by its own pgbench"
        " run: an A/B in one run, under the same neighbours",
    )
    args = parser.parse_args()

    name = unique_name("bench_bets")
    url = create_database(args.admin_url, name)
    redis = aioredis.Redis.from_url(args.redis_url)
    await redis.flushdb()
    await redis.aclose()
    sides = [Side("", {}, free_port(), f"bench-{uuid.uuid4().hex[:6]}")]
    if args.compare_env:
        sides[0].label = "A"
        sides.append(
            Side("B", variant_env(args.compare_env), free_port(), f"bench-{uuid.uuid4().hex[:6]}")
        )
    pgbench = PgBench(args.admin_url)
    completed = False
    pgbench_meter = CpuMeter(os.getpid(), pgbench.name)
    answers: dict[str, int] = {}
    channels: list[grpc.aio.Channel] = []
    try:
        for side in sides:
            start_bets(side, url, args.redis_url, max(args.concurrency, 4))
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{side.port}")
            channels.append(channel)
            side.stub = bet_service_pb2_grpc.BetServiceStub(channel)
        players, fixtures = await prepare(
            sides[0].stub,
            args.redis_url,
            [side.consumer for side in sides],
            args.players,
            args.fixtures,
        )
        meters = {}
        for side in sides:
            # Warm-up: connections, caches, JIT-free but pool-filling.
            _, warm = await load(side.stub, players, fixtures, args.concurrency, 1)
            answers.update(warm)
            assert side.process is not None
            meters[side.label] = CpuMeter(side.process.pid, name)
        for index in range(args.rounds):
            for side in sides if index % 2 == 0 else sides[::-1]:
                meter = meters[side.label]
                meter.start()
                started = time.monotonic()
                done, answered = await load(
                    side.stub, players, fixtures, args.concurrency, args.seconds
                )
                elapsed = time.monotonic() - started
                side.cpu.append(meter.stop())
                # pgbench blocks this loop on purpose: nothing else runs in the bench meanwhile.
                pgbench_meter.start()
                pgbench_started = os.times()
                tps, own = pgbench.run(args.concurrency, args.seconds)
                pgbench_ended = os.times()
                spent = pgbench_meter.stop()
                # Per transaction: the server's share and pgbench's own (a child of this process).
                side.pgbench_cpu.append(
                    (
                        spent["postgres"],
                        pgbench_ended.children_user
                        + pgbench_ended.children_system
                        - pgbench_started.children_user
                        - pgbench_started.children_system,
                        tps * args.seconds,
                        own,
                    )
                )
                side.latencies.extend(done)
                answers.update(answered)
                side.rounds.append((len(done), elapsed, tps))
        completed = True
    finally:
        for channel in channels:
            await channel.close()
        for side in sides:
            if side.process is not None:
                side.process.terminate()
                side.process.wait(15)
        pgbench.drop()
        if not completed:
            # A failed run leaves no database behind on the shared server.
            drop_database(args.admin_url, name)
    invariants = check(url, answers)
    drop_database(args.admin_url, name)
    costs = [report(side, args.concurrency) for side in sides]
    if len(sides) == 2:
        print(f"B : A cost ratio       {costs[1] / costs[0]:.3f} ({' '.join(args.compare_env)})")
    for key, value in invariants.items():
        print(f"{key:<22} {value}")
    # The warm-up's answers are counted too: every answer is one stored bet, and back.
    ok = (
        invariants["ledger_sum"] == 0
        and invariants["negative_accounts"] == 0
        and invariants["stored_bets"] == invariants["answers"]
        and invariants["accepted_stored"] == invariants["accepted_answers"]
    )
    print("invariants             " + ("hold" if ok else "BROKEN"))


if __name__ == "__main__":
    asyncio.run(main())

"""Agreed result -> bets settled from the chain: the oracle service (publishing on anvil, one
block per transaction, 1 confirmation, no batch wait), bets settling from the contract's stored
result at the same depth, Redis in between. Times the second source's SubmitObservation until
the bet on the fixture is WON, over a few fixtures.

    BETMESH_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    BETMESH_BENCH_REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python -m bench.oracle.settle_latency

Uses the bets integration harness (tests/integration/test_bets_harness.py) for players,
prices and the bets host.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import grpc
from betmesh.bets.v1 import bet_service_pb2 as bets_pb
from betmesh.oracle.v1 import oracle_service_pb2_grpc
from eth_account import Account
from web3 import Web3
from web3.types import RPCEndpoint

from launcher.embedded import Anvil, create_database, drop_database, unique_name
from services.oracle.adapters.chain.contract import deploy
from services.oracle.app import build
from services.oracle.settings import OracleSettings
from tests.integration.test_bets_harness import HeaderAuthenticator, eventually, running
from tests.support.oracle import SOURCES, report_football_result
from tests.support.signers import signer_hosts

RUNS = 5


async def main(admin_url: str, redis_url: str, folder: Path) -> list[float]:
    node = Anvil()
    node.start()
    oracle_name = unique_name("bench_settle_oracle")
    oracle_db = create_database(admin_url, oracle_name)
    bets_name = unique_name("bench_settle_bets")
    bets_db = create_database(admin_url, bets_name)
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        keys = ["0x" + secrets.token_hex(32) for _ in range(5)]
        for key in keys[:2]:
            w3.provider.make_request(
                RPCEndpoint("anvil_setBalance"), [Account.from_key(key).address, hex(10**21)]
            )
        address = deploy(
            w3,
            keys[0],
            [Account.from_key(k).address for k in keys[2:]],
            2,
            600,
            [Account.from_key(keys[1]).address],
        )
        files = []
        for index, key in enumerate(keys[1:]):
            path = folder / f"key-{index}"
            path.write_text(key)
            path.chmod(0o600)
            files.append(path)
        async with signer_hosts(w3.eth.chain_id, address, files[1:]) as signers:
            return await _timed(redis_url, node.url, address, files[0], signers, bets_db, oracle_db)
    finally:
        drop_database(admin_url, bets_name)
        drop_database(admin_url, oracle_name)
        node.stop()


async def _timed(
    redis_url: str,
    node_url: str,
    address: str,
    transmitter: Path,
    signers: list[str],
    bets_db: str,
    oracle_db: str,
) -> list[float]:
    """The oracle holds the transmitter key only; the signatures come from signer services,
    one key each (as every deployment runs them)."""
    env = {
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_PORT": "0",
        "BETMESH_DATABASE_URL": oracle_db,
        "BETMESH_REDIS_URL": redis_url,
        "BETMESH_ORACLE_RPC_URLS": node_url,
        "BETMESH_ORACLE_CONTRACT_ADDRESS": address,
        "BETMESH_ORACLE_TRANSMITTER_KEY_FILE": str(transmitter),
        "BETMESH_ORACLE_SIGNER_ADDRESSES": ",".join(signers),
        "BETMESH_ORACLE_PUBLISH_INTERVAL_SECONDS": "0.1",
        "BETMESH_ORACLE_BATCH_WAIT_SECONDS": "0",
        "BETMESH_ORACLE_CONFIRMATIONS": "1",
    }
    host = await build(OracleSettings.from_env(env), authenticator=HeaderAuthenticator())
    port = await host.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    oracle = oracle_service_pb2_grpc.OracleServiceStub(channel)
    timings = []
    try:
        async with running(
            bets_db,
            redis_url,
            BETMESH_BETS_SETTLE_FROM="chain",
            BETMESH_BETS_CHAIN_RPC_URLS=node_url,
            BETMESH_BETS_RESULT_CONTRACT_ADDRESS=address,
            BETMESH_BETS_CHAIN_CONFIRMATIONS="1",
            BETMESH_BETS_CHAIN_RECHECK_SECONDS="0.2",
        ) as mesh:
            for _ in range(RUNS):
                player, fixture = await mesh.player(balance=1_000), await mesh.fixture()
                bet = await mesh.place(
                    player, [(fixture, f"{fixture}/MATCH_RESULT", "home", 20_000)], 100
                )
                started = 0.0
                for source in SOURCES:
                    # Timed from the last source's report: the one that validates it.
                    started = time.monotonic()
                    await report_football_result(oracle, fixture, 2, 1, [source])

                async def won(bet_id: str = bet.bet_id) -> bool:
                    return (await mesh.bet(bet_id)).status == bets_pb.BET_STATUS_WON

                await eventually(won, timeout=60)
                timings.append(time.monotonic() - started)
    finally:
        await channel.close()
        await host.stop(0)
    return timings


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="betmesh-bench-keys-") as keys:
        timings = asyncio.run(
            main(
                os.environ["BETMESH_BENCH_DATABASE_URL"],
                os.environ["BETMESH_BENCH_REDIS_URL"],
                Path(keys),
            )
        )
    print(
        "agreed -> bet settled from the chain (anvil, 1 confirmation): "
        + ", ".join(f"{t * 1000:.0f} ms" for t in timings)
        + f" (median {statistics.median(timings) * 1000:.0f} ms)"
    )

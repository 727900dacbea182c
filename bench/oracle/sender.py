"""The sender as the service runs it: gas per result when several are ready together (report
batch + batched finalisation, from the receipts of the sender's own transactions) and RPC
requests (counted by the failover provider) per result, while results wait out a dispute
window, and per idle hour.

    BETMESH_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.oracle.sender

Chain: anvil with 2 s blocks (a busier stand-in for mainnet's 12 s: requests per result only
fall with slower blocks), 2 confirmations; the sender steps every second as the service does.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from eth_account import Account
from web3 import Web3

from bench.oracle.agree import agree
from bench.oracle.run import _setup
from launcher.embedded import Anvil, create_database, drop_database, unique_name
from service_runtime.chain_rpc import FailoverProvider
from service_runtime.postgres import create_engine, migrate
from services.oracle.adapters.chain.publisher import ChainPublisher, PublisherConfig
from services.oracle.adapters.chain.signers import SignerPool
from services.oracle.adapters.outbox import PostgresOutbox
from services.oracle.adapters.postgres_store import PostgresResultStore
from services.oracle.app import MIGRATIONS, SCHEMA

BLOCK_SECONDS = 2
STEP_SECONDS = 1.0


@dataclass
class Run:
    results: int
    gas_submit: int
    gas_finalise: int
    transactions: int
    requests: Counter[str]
    seconds: float


async def publish(
    admin_url: str, results: int, window: int, idle_seconds: float, finalise_tx: bool
) -> tuple[Run, Counter[str]]:
    node = Anvil(block_time=BLOCK_SECONDS)
    node.start()
    name = unique_name("oracle_sender_bench")
    db = create_database(admin_url, name)
    try:
        migrate(db, MIGRATIONS, SCHEMA)
        engine = create_engine(db, pool_size=2)
        store = PostgresResultStore(engine, publishing=True)
        _, address, transmitter, signers, _ = _setup(node.url, window)
        provider = FailoverProvider([node.url])
        publisher = ChainPublisher(
            Web3(provider),
            address,
            Account.from_key(transmitter),
            SignerPool(signers),
            PostgresOutbox(engine),
            store.load_many,
            PublisherConfig(
                confirmations=2,
                batch_size=10,
                batch_wait_seconds=5,
                finalise_transactions=finalise_tx,
            ),
        )
        fixtures = [f"bench-{i}-{secrets.token_hex(4)}" for i in range(results)]
        for fixture in fixtures:
            await agree(store, fixture)
        provider.counts.clear()
        started = time.monotonic()
        while True:
            await asyncio.to_thread(publisher.step)
            views = store.load_many(fixtures)
            if all(v.publication and v.publication.status == "FINAL" for v in views.values()):
                break
            await asyncio.sleep(STEP_SECONDS)
        elapsed = time.monotonic() - started
        busy = Counter(provider.counts)
        with engine.connect() as conn:
            sent = conn.execute(
                sa.text(
                    "SELECT kind, tx_hash FROM oracle.chain_transactions WHERE state = 'CONFIRMED'"
                )
            ).all()
        w3 = Web3(Web3.HTTPProvider(node.url))
        gas = Counter[str]()
        for kind, tx_hash in sent:
            gas[kind] += int(w3.eth.get_transaction_receipt(tx_hash)["gasUsed"])
        provider.counts.clear()
        idle_started = time.monotonic()
        while time.monotonic() - idle_started < idle_seconds:
            await asyncio.to_thread(publisher.step)
            await asyncio.sleep(STEP_SECONDS)
        idle = Counter(provider.counts)
        engine.dispose()
        return Run(results, gas["submit"], gas["finalise"], len(sent), busy, elapsed), idle
    finally:
        drop_database(admin_url, name)
        node.stop()


def main() -> None:
    admin = os.environ["BETMESH_BENCH_DATABASE_URL"]
    idle_seconds = float(os.environ.get("BETMESH_BENCH_IDLE_SECONDS", "120"))
    cases = ((10, 0, False), (10, 0, True), (1, 0, True), (30, 60, False))
    for results, window, finalise_tx in cases:
        measure_idle = idle_seconds if (results, finalise_tx) == (10, False) else 0
        run, idle = asyncio.run(publish(admin, results, window, measure_idle, finalise_tx))
        per_result = (run.gas_submit + run.gas_finalise) / results
        total = sum(run.requests.values())
        print(
            f"{results} results ready together, dispute window {window} s,"
            f" finalise {'transactions' if finalise_tx else 'by view'}:"
            f" {run.transactions} transactions, gas per result {per_result:,.0f}"
            f" (report {run.gas_submit / results:,.0f} + finalisation"
            f" {run.gas_finalise / results:,.0f}); {total} RPC requests in {run.seconds:.0f} s"
            f" = {total / results:.1f} per result; by method {dict(run.requests.most_common())}"
        )
        if measure_idle:
            per_hour = sum(idle.values()) * 3600 / idle_seconds
            print(
                f"idle: {sum(idle.values())} requests in {idle_seconds:.0f} s ="
                f" {per_hour:.0f} per idle hour; by method {dict(idle)}"
            )


if __name__ == "__main__":
    main()

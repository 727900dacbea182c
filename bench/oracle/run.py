"""Oracle publication bench: gas per result (single 2-of-3 report vs a batch of 10 under one
signature set) on anvil, and the time from an agreed result to FINAL with 1 s blocks.

    BETMESH_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.oracle.run
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time

from eth_account import Account
from web3 import Web3
from web3.types import RPCEndpoint

from launcher.embedded import Anvil, create_database, drop_database, unique_name
from service_runtime.postgres import create_engine, migrate
from services.oracle.adapters.chain.contract import bind, deploy, send_and_wait
from services.oracle.adapters.chain.publisher import ChainPublisher, PublisherConfig
from services.oracle.adapters.chain.signers import ReportSigner, SignerPool
from services.oracle.adapters.outbox import PostgresOutbox
from services.oracle.adapters.postgres_store import PostgresResultStore
from services.oracle.app import MIGRATIONS, SCHEMA
from services.oracle.domain.reports import Domain, Report, fixture_key

BATCH = 10


def _key() -> str:
    return "0x" + secrets.token_hex(32)


def _setup(url: str, window: int = 0) -> tuple[Web3, str, str, list[ReportSigner], str]:
    w3 = Web3(Web3.HTTPProvider(url))
    admin, transmitter = _key(), _key()
    for key in (admin, transmitter):
        w3.provider.make_request(
            RPCEndpoint("anvil_setBalance"), [Account.from_key(key).address, hex(10**21)]
        )
    signers = [ReportSigner(Account.from_key(_key())) for _ in range(3)]
    address = deploy(
        w3, admin, [s.address for s in signers], 2, window, [Account.from_key(transmitter).address]
    )
    return w3, address, transmitter, signers, admin


def _report(fixture: str) -> Report:
    return Report(fixture_key(fixture), 1, 2, 1, secrets.token_bytes(32), 1, 1_700_000_000, 1)


def gas() -> tuple[float, float]:
    node = Anvil()
    node.start()
    try:
        w3, address, transmitter, signers, _ = _setup(node.url)
        oracle, pool = bind(w3, address), SignerPool(signers)
        domain = Domain(w3.eth.chain_id, address)
        singles = []
        for i in range(BATCH):
            report = _report(f"single-{i}")
            sigs = pool.sign_report(domain, report, 2)
            call = oracle.functions.submit(report.as_tuple(), sigs)
            singles.append(send_and_wait(w3, transmitter, call)["gasUsed"])
        reports = [_report(f"batch-{i}") for i in range(BATCH)]
        sigs = pool.sign_batch(domain, reports, 2)
        call = oracle.functions.submitBatch([r.as_tuple() for r in reports], sigs)
        batched = send_and_wait(w3, transmitter, call)["gasUsed"] / BATCH
        return statistics.mean(singles), batched
    finally:
        node.stop()


async def time_to_final(admin_url: str, runs: int = 3) -> list[float]:
    node = Anvil(block_time=1)
    node.start()
    name = unique_name("oracle_bench")
    db = create_database(admin_url, name)
    try:
        migrate(db, MIGRATIONS, SCHEMA)
        engine = create_engine(db, pool_size=2)
        store = PostgresResultStore(engine, publishing=True)
        w3, address, transmitter, signers, _ = _setup(node.url)
        publisher = ChainPublisher(
            w3,
            address,
            Account.from_key(transmitter),
            SignerPool(signers),
            PostgresOutbox(engine),
            store.load_many,
            PublisherConfig(confirmations=2),
        )
        from bench.oracle.agree import agree

        timings = []
        for i in range(runs):
            fixture = f"bench-{i}-{secrets.token_hex(4)}"
            await agree(store, fixture)
            started = time.monotonic()
            while True:
                await asyncio.to_thread(publisher.step)
                view = store.load_many([fixture])[fixture].publication
                if view is not None and view.status == "FINAL":
                    break
                await asyncio.sleep(0.1)
            timings.append(time.monotonic() - started)
        engine.dispose()
        return timings
    finally:
        drop_database(admin_url, name)
        node.stop()


def main() -> None:
    single, batched = gas()
    print(f"gas per result: single 2-of-3 report {single:,.0f}")
    print(f"gas per result: batch of {BATCH}         {batched:,.0f}")
    print(f"batching is {single / batched:.2f}x cheaper per result")
    admin = os.environ.get("BETMESH_BENCH_DATABASE_URL")
    if admin:
        timings = asyncio.run(time_to_final(admin))
        print(
            "agreed -> FINAL, 1 s blocks, 2 confirmations, window 0: "
            + ", ".join(f"{t:.2f} s" for t in timings)
            + f" (median {statistics.median(timings):.2f} s)"
        )


if __name__ == "__main__":
    main()

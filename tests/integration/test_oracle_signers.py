"""The oracle publishing with signatures from signer services (real gRPC, real anvil, real
PostgreSQL): k signer processes are needed, fewer publish nothing and say why; a signer-set
rotation through the timelock while results flow loses none of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy.engine import Engine
from web3 import Web3

from launcher.embedded import Anvil, create_database, drop_database, free_port, unique_name
from service_runtime.channels import ChannelPool
from service_runtime.postgres import create_engine, migrate
from services.oracle.adapters.chain.contract import (
    bind,
    deploy,
    propose_config,
    send_and_wait,
)
from services.oracle.adapters.chain.launch import write_key
from services.oracle.adapters.chain.publisher import ChainPublisher, PublisherConfig
from services.oracle.adapters.chain.remote_signers import RemoteSignerPool
from services.oracle.adapters.chain.rpc import FailoverProvider
from services.oracle.adapters.outbox import PostgresOutbox
from services.oracle.adapters.postgres_store import PostgresResultStore
from services.oracle.app import MIGRATIONS, SCHEMA, build
from services.oracle.domain.reports import fixture_key
from services.oracle.settings import OracleSettings
from tests.support.chain import rpc
from tests.support.oracle import agree_on_football_result
from tests.support.signers import signer_env, signer_hosts, signer_process, wait_serving

DEADLINE = 90.0
DELAY = 3600


@dataclass
class Rig:
    w3: Web3
    url: str
    database_url: str
    engine: Engine
    store: PostgresResultStore
    address: str
    admin: str
    transmitter_file: Path
    signer_files: list[Path]  # the contract's signers (2 of 3)
    spare_files: list[Path]  # another 3 keys, for a rotation

    async def agree(self, fixture: str, home: int = 2, away: int = 1) -> None:
        await agree_on_football_result(self.store, fixture, home, away)

    def status(self, fixture: str) -> str:
        record = self.store.load_many([fixture])[fixture]
        assert record.publication is not None
        return record.publication.status

    def submitted(self, fixture: str) -> list[Any]:
        return list(
            bind(self.w3, self.address)
            .events.ResultSubmitted()
            .get_logs(from_block=0, argument_filters={"fixtureId": fixture_key(fixture)})
        )

    def oracle_env(self, signers: list[str]) -> dict[str, str]:
        return {
            "BETMESH_AUTH_MODE": "anonymous",
            "BETMESH_PORT": "0",
            "BETMESH_DATABASE_URL": self.database_url,
            "BETMESH_ORACLE_RPC_URLS": self.url,
            "BETMESH_ORACLE_CONTRACT_ADDRESS": self.address,
            "BETMESH_ORACLE_TRANSMITTER_KEY_FILE": str(self.transmitter_file),
            "BETMESH_ORACLE_SIGNER_ADDRESSES": ",".join(signers),
            "BETMESH_ORACLE_PUBLISH_INTERVAL_SECONDS": "0.1",
            "BETMESH_ORACLE_CONFIRMATIONS": "1",
        }


@pytest.fixture
def rig(anvil: Anvil, postgres_admin_url: str, tmp_path: Path) -> Iterator[Rig]:
    name = unique_name("oracle_sig")
    url = create_database(postgres_admin_url, name)
    migrate(url, MIGRATIONS, SCHEMA)
    engine = create_engine(url, pool_size=2)
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    rpc(w3, "evm_setAutomine", True)
    admin = "0x" + secrets.token_hex(32)
    transmitter_file = tmp_path / "transmitter.key"
    transmitter = write_key(transmitter_file)
    for address in (Account.from_key(admin).address, transmitter):
        rpc(w3, "anvil_setBalance", address, hex(10**20))
    files = [tmp_path / f"signer-{i}.key" for i in range(6)]
    addresses = [write_key(path) for path in files]
    contract = deploy(w3, admin, addresses[:3], 2, 1, [transmitter], DELAY)
    try:
        yield Rig(
            w3,
            anvil.url,
            url,
            engine,
            PostgresResultStore(engine, publishing=True),
            contract,
            admin,
            transmitter_file,
            files[:3],
            files[3:],
        )
    finally:
        engine.dispose()
        drop_database(postgres_admin_url, name)


async def until(
    condition: Callable[[], bool | Awaitable[bool]], what: str, w3: Web3 | None = None
) -> None:
    """Polls `condition`; mines a block each time (automine makes blocks only for
    transactions, and the dispute window closes by block time)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        if w3 is not None:
            await asyncio.to_thread(rpc, w3, "evm_mine")
        value = condition()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return
        assert time.monotonic() < deadline, f"not reached: {what}"
        await asyncio.sleep(0.1)


@pytest.fixture
async def oracle_with_signer_processes(
    rig: Rig, tmp_path: Path
) -> AsyncIterator[tuple[list[Any], Any]]:
    """Three signer processes (one key file each) and the oracle service asking them."""
    ports = [free_port() for _ in rig.signer_files]
    logs = [tmp_path / f"signer-{i}.log" for i in range(len(ports))]
    with contextlib.ExitStack() as stack:
        processes = [
            stack.enter_context(
                signer_process(port, signer_env(31337, rig.address, key_file=str(path)), log)
            )
            for port, path, log in zip(ports, rig.signer_files, logs, strict=True)
        ]
        for port, process, log in zip(ports, processes, logs, strict=True):
            await asyncio.to_thread(wait_serving, port, process, log)
        host = await build(
            OracleSettings.from_env(rig.oracle_env([f"127.0.0.1:{p}" for p in ports]))
        )
        await host.start()
        try:
            yield processes, host
        finally:
            for process in processes:
                os.kill(process.pid, signal.SIGCONT)
            await host.stop(0)


async def test_fewer_than_k_signer_processes_publish_nothing_and_say_why(
    rig: Rig,
    oracle_with_signer_processes: tuple[list[Any], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    processes, _ = oracle_with_signer_processes
    caplog.set_level(logging.ERROR, logger="services.oracle.adapters.chain.remote_signers")
    all_up, one_down, two_down = (f"fx-{secrets.token_hex(5)}" for _ in range(3))
    await rig.agree(all_up)
    await until(lambda: rig.status(all_up) == "FINAL", "published with 3 signers", rig.w3)
    # One signer stops answering (a stopped process: its calls time out): 2 of 3 still sign.
    os.kill(processes[0].pid, signal.SIGSTOP)
    await rig.agree(one_down)
    await until(lambda: rig.status(one_down) == "FINAL", "published with 2 signers", rig.w3)
    # A second one: a single signer (one compromised component) cannot publish.
    os.kill(processes[1].pid, signal.SIGSTOP)
    await rig.agree(two_down)

    def refusals() -> list[logging.LogRecord]:
        return [
            r for r in caplog.records if getattr(r, "reason", "") == "SIGNER_QUORUM_UNAVAILABLE"
        ]

    await until(lambda: len(refusals()) >= 2, "two publication passes refused")
    detail = str(getattr(refusals()[-1], "detail", ""))
    assert detail.startswith("1 valid signatures of 2 needed")
    assert "DEADLINE_EXCEEDED" in detail
    assert rig.status(two_down) == "PENDING"
    assert rig.submitted(two_down) == []
    # Signers back: the waiting result goes out, once.
    for process in processes[:2]:
        os.kill(process.pid, signal.SIGCONT)
    await until(lambda: rig.status(two_down) == "FINAL", "published once signers are back", rig.w3)
    for fixture in (all_up, one_down, two_down):
        assert len(rig.submitted(fixture)) == 1


async def test_a_rotation_while_results_flow_loses_none(rig: Rig) -> None:
    """Runbook order (docs/operations.md): new signers up and known to the oracle, proposal,
    delay, execution; results keep arriving throughout. Every one ends FINAL, once."""
    old = [Account.from_key(p.read_text().strip()).address for p in rig.signer_files]
    new = [Account.from_key(p.read_text().strip()).address for p in rig.spare_files]
    oracle_contract = bind(rig.w3, rig.address)
    fixtures = [f"fx-{secrets.token_hex(5)}" for _ in range(12)]
    async with signer_hosts(31337, rig.address, rig.signer_files + rig.spare_files) as signers:
        host = await build(OracleSettings.from_env(rig.oracle_env(signers)))
        await host.start()
        try:
            for fixture in fixtures[:4]:
                await rig.agree(fixture)
            await asyncio.to_thread(propose_config, rig.w3, rig.admin, rig.address, new, 2)
            for fixture in fixtures[4:8]:
                await rig.agree(fixture)
            rpc(rig.w3, "evm_increaseTime", DELAY)
            rpc(rig.w3, "evm_mine")
            execute = oracle_contract.functions.executeConfig(
                sorted(new, key=lambda a: int(a, 16)), 2
            )
            agreeing = asyncio.gather(*(rig.agree(f) for f in fixtures[8:]))
            await asyncio.to_thread(send_and_wait, rig.w3, rig.admin, execute)
            await agreeing
            assert oracle_contract.functions.configVersion().call() == 2
            await until(
                lambda: all(rig.status(f) == "FINAL" for f in fixtures),
                "all results final",
                rig.w3,
            )
        finally:
            await host.stop(0)
    for fixture in fixtures:
        assert len(rig.submitted(fixture)) == 1, fixture
    signer_sets = {
        int(e["args"]["configVersion"])
        for e in oracle_contract.events.ConfigSet().get_logs(from_block=0)
    }
    assert signer_sets == {1, 2}
    assert set(oracle_contract.functions.signers().call()) == set(new)
    assert not set(old) & set(new)


async def test_a_report_in_flight_when_the_signer_set_changes_is_resigned(rig: Rig) -> None:
    """The submit transaction is in the mempool when the rotation executes ahead of it: it
    reverts (WrongConfigVersion). The publisher puts the result back to pending and signs it
    for the new set instead of failing it."""
    new = [Account.from_key(p.read_text().strip()).address for p in rig.spare_files]
    propose_config(rig.w3, rig.admin, rig.address, new, 2)
    rpc(rig.w3, "evm_increaseTime", DELAY)
    rpc(rig.w3, "evm_mine")
    fixture = f"fx-{secrets.token_hex(5)}"
    await rig.agree(fixture)
    async with signer_hosts(31337, rig.address, rig.signer_files + rig.spare_files) as signers:
        w3 = Web3(FailoverProvider([rig.url]))
        contract = bind(w3, rig.address)
        channels = ChannelPool(tokens=None)
        pool = RemoteSignerPool(
            signers,
            asyncio.get_running_loop(),
            channels,
            lambda: [str(a) for a in contract.functions.signers().call()],
        )
        publisher = ChainPublisher(
            w3,
            rig.address,
            Account.from_key(rig.transmitter_file.read_text().strip()),
            pool,
            PostgresOutbox(rig.engine),
            rig.store.load_many,
            PublisherConfig(confirmations=1, replace_after_seconds=3600),
        )
        try:
            rpc(rig.w3, "evm_setAutomine", False)
            await asyncio.to_thread(publisher.step)
            assert rig.status(fixture) == "SUBMITTED"
            # The admin's execution, with a higher tip, is mined first in the same block.
            admin = Account.from_key(rig.admin)
            call = contract.functions.executeConfig(sorted(new, key=lambda a: int(a, 16)), 2)
            params: Any = {
                "from": admin.address,
                "nonce": w3.eth.get_transaction_count(admin.address, "pending"),
                "maxPriorityFeePerGas": 100 * 10**9,
                "maxFeePerGas": 300 * 10**9,
                "gas": 500_000,
            }
            tx = call.build_transaction(params)
            w3.eth.send_raw_transaction(admin.sign_transaction(tx).raw_transaction)
            rpc(rig.w3, "evm_mine")
            rpc(rig.w3, "evm_setAutomine", True)
            assert contract.functions.configVersion().call() == 2
            assert rig.submitted(fixture) == []  # reverted
            deadline = time.monotonic() + DEADLINE
            seen = set()
            while rig.status(fixture) != "FINAL":
                assert time.monotonic() < deadline
                seen.add(rig.status(fixture))
                await asyncio.to_thread(publisher.step)
                rpc(rig.w3, "evm_mine")
            assert "FAILED" not in seen
            (event,) = rig.submitted(fixture)
            assert event["args"]["version"] == 1
        finally:
            rpc(rig.w3, "evm_setAutomine", True)
            await channels.close()

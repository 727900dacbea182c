"""Publication on a real anvil: the reliable sender through reorgs, drops, underpricing,
crashes and RPC failover, and reading final results back from the chain."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis
from betmesh.common.v1 import sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from betmesh.oracle.v1 import oracle_service_pb2_grpc
from eth_account import Account
from sqlalchemy.engine import Engine
from web3 import Web3

from launcher.embedded import Anvil, create_database, drop_database, unique_name
from service_runtime.events import Topic, stream_key
from service_runtime.postgres import create_engine, migrate
from services.oracle.adapters.chain.contract import bind, deploy
from services.oracle.adapters.chain.publisher import ChainPublisher, LoadRecords, PublisherConfig
from services.oracle.adapters.chain.rpc import FailoverProvider
from services.oracle.adapters.chain.signers import ReportSigner, SignerPool
from services.oracle.adapters.outbox import PostgresOutbox
from services.oracle.adapters.postgres_store import PostgresResultStore
from services.oracle.app import MIGRATIONS, SCHEMA, build
from services.oracle.domain.reports import fixture_key
from services.oracle.service_layer.commands import SubmitObservation
from services.oracle.service_layer.handlers import OracleHandlers
from services.oracle.settings import OracleSettings
from tests.support.chain import rpc
from tests.support.oracle import agree_on_football_result, report_football_result
from tests.support.signers import signer_hosts

DEADLINE = 30.0


@dataclass
class Rig:
    w3: Web3
    url: str
    database_url: str
    engine: Engine
    store: PostgresResultStore
    address: str
    transmitter_file: Path
    signer_files: list[Path]
    # Wallets the contract also lets transmit: another oracle process's.
    other_transmitter_files: list[Path]

    def publisher(
        self,
        urls: list[str] | None = None,
        transmitter_file: Path | None = None,
        load_records: LoadRecords | None = None,
        **config: Any,
    ) -> ChainPublisher:
        key_file = transmitter_file or self.transmitter_file
        transmitter = Account.from_key(key_file.read_text().strip())
        pool = SignerPool([ReportSigner.from_key_file(f) for f in self.signer_files])
        return ChainPublisher(
            Web3(FailoverProvider(urls or [self.url])),
            self.address,
            transmitter,
            pool,
            # Its own engine: each publisher stands for an oracle process of its own.
            PostgresOutbox(create_engine(self.database_url, pool_size=2)),
            load_records or self.store.load_many,
            PublisherConfig(
                **{
                    "confirmations": 2,
                    "replace_after_seconds": 3600,
                    # These tests follow finalise() transactions and their logs too.
                    "finalise_transactions": True,
                    **config,
                }
            ),
        )

    async def agree(self, fixture: str, home: int = 2, away: int = 1) -> None:
        await agree_on_football_result(self.store, fixture, home, away)

    def publication(self, fixture: str) -> Any:
        record = self.store.load_many([fixture])[fixture]
        assert record.publication is not None
        return record.publication

    def logs(self, name: str, fixture: str) -> list[Any]:
        event = getattr(bind(self.w3, self.address).events, name)
        return list(
            event.get_logs(
                from_block=0,
                to_block="latest",
                argument_filters={"fixtureId": fixture_key(fixture)},
            )
        )

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            rpc(self.w3, "evm_mine")

    def wallet_nonce(self) -> int:
        address = Account.from_key(self.transmitter_file.read_text().strip()).address
        return int(self.w3.eth.get_transaction_count(address, "latest"))


@pytest.fixture
def rig(anvil: Anvil, postgres_admin_url: str, tmp_path: Path) -> Iterator[Rig]:
    yield from _rig(anvil, postgres_admin_url, tmp_path)


@pytest.fixture
def two_wallet_rig(anvil: Anvil, postgres_admin_url: str, tmp_path: Path) -> Iterator[Rig]:
    yield from _rig(anvil, postgres_admin_url, tmp_path, transmitters=2)


def _rig(
    anvil: Anvil, postgres_admin_url: str, tmp_path: Path, window: int = 0, transmitters: int = 1
) -> Generator[Rig, None, None]:
    # Each test owns a database and a contract: the sweep publishes every validated result.
    name = unique_name("oracle_pub")
    url = create_database(postgres_admin_url, name)
    migrate(url, MIGRATIONS, SCHEMA)
    engine = create_engine(url, pool_size=2)
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    rpc(w3, "evm_setAutomine", True)
    admin = "0x" + secrets.token_hex(32)
    transmitter_keys = ["0x" + secrets.token_hex(32) for _ in range(transmitters)]
    for key in (admin, *transmitter_keys):
        rpc(w3, "anvil_setBalance", Account.from_key(key).address, hex(10**20))
    signer_keys = ["0x" + secrets.token_hex(32) for _ in range(3)]
    address = deploy(
        w3,
        admin,
        [Account.from_key(k).address for k in signer_keys],
        2,
        window,
        [Account.from_key(k).address for k in transmitter_keys],
    )
    files = []
    for index, key in enumerate([*transmitter_keys, *signer_keys]):
        path = tmp_path / f"key-{index}"
        path.write_text(key)
        path.chmod(0o600)
        files.append(path)
    try:
        yield Rig(
            w3,
            anvil.url,
            url,
            engine,
            PostgresResultStore(engine, publishing=True),
            address,
            files[0],
            files[transmitters:],
            files[1:transmitters],
        )
    finally:
        engine.dispose()
        drop_database(postgres_admin_url, name)


def step_until(
    rig: Rig, publisher: ChainPublisher, done: Callable[[], bool], mine: bool = True
) -> None:
    deadline = time.monotonic() + DEADLINE
    while not done():
        assert time.monotonic() < deadline, "condition not reached"
        publisher.step()
        if mine:
            rig.mine()


async def test_publish_through_grpc_and_read_back(rig: Rig, redis_url: str) -> None:
    # The oracle holds the transmitter key only; the signatures come from signer services.
    async with signer_hosts(31337, rig.address, rig.signer_files) as signers:
        await _publish_through_grpc_and_read_back(rig, redis_url, signers)


async def _publish_through_grpc_and_read_back(rig: Rig, redis_url: str, signers: list[str]) -> None:
    env = {
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_PORT": "0",
        "BETMESH_DATABASE_URL": rig.database_url,
        "BETMESH_REDIS_URL": redis_url,
        "BETMESH_ORACLE_RPC_URLS": rig.url,
        "BETMESH_ORACLE_CONTRACT_ADDRESS": rig.address,
        "BETMESH_ORACLE_TRANSMITTER_KEY_FILE": str(rig.transmitter_file),
        "BETMESH_ORACLE_SIGNER_ADDRESSES": ",".join(signers),
        "BETMESH_ORACLE_PUBLISH_INTERVAL_SECONDS": "0.05",
        "BETMESH_ORACLE_FINALISE_TRANSACTIONS": "true",
    }
    host = await build(OracleSettings.from_env(env))
    port = await host.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = oracle_service_pb2_grpc.OracleServiceStub(channel)
    fixture = f"fx-{secrets.token_hex(6)}"
    try:
        await report_football_result(stub, fixture, 3, 1)
        seen = set()
        deadline = time.monotonic() + DEADLINE
        while True:
            result = (await stub.GetResult(pb.GetResultRequest(fixture_id=fixture))).result
            seen.add(result.publication.status)
            if result.publication.status == pb.PUBLICATION_STATUS_FINAL:
                break
            assert time.monotonic() < deadline, result.publication
            await asyncio.to_thread(rig.mine)
            await asyncio.sleep(0.05)
        publication = result.publication
        assert publication.chain_id == 31337
        assert publication.contract_address == rig.address
        assert publication.version == 1
        assert publication.HasField("final_at")
        (submitted,) = rig.logs("ResultSubmitted", fixture)
        assert publication.transaction_hash == Web3.to_hex(submitted["transactionHash"])
        assert publication.block_number == submitted["blockNumber"]
        assert submitted["args"]["homeScore"] == 3
        assert len(rig.logs("ResultFinalised", fixture)) == 1
        assert pb.PUBLICATION_STATUS_NOT_PUBLISHED not in seen
        # Announced on the bus from what the chain says.
        client = aioredis.from_url(redis_url)
        try:
            deadline = time.monotonic() + DEADLINE
            while True:
                found = []
                for _, fields in await client.xrange(stream_key(Topic.RESULT_FINALISED)) or []:
                    assert fields is not None
                    data = fields[b"envelope"]
                    assert isinstance(data, bytes)
                    found.append(events_pb2.EventEnvelope.FromString(data))
                mine = [e for e in found if e.result_finalised.fixture_id == fixture]
                if mine:
                    break
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        (event,) = mine
        assert event.result_finalised.home_score == 3
        assert event.result_finalised.version == 1
        assert event.result_finalised.transaction_hash == publication.transaction_hash
    finally:
        await channel.close()
        await host.stop(0)


async def test_a_reorg_after_publication_republishes_and_finalises_once(rig: Rig) -> None:
    fixture = f"fx-{secrets.token_hex(6)}"
    await rig.agree(fixture)
    publisher = rig.publisher()
    step_until(rig, publisher, lambda: rig.publication(fixture).status == "CONFIRMED")
    first = rig.publication(fixture)
    # The blocks holding the report (and anything after) are replaced by empty ones.
    depth = rig.w3.eth.block_number - first.block_number + 1
    rpc(rig.w3, "anvil_reorg", depth, [])
    assert rig.logs("ResultSubmitted", fixture) == []
    step_until(rig, publisher, lambda: rig.publication(fixture).status == "FINAL")
    assert len(rig.logs("ResultSubmitted", fixture)) == 1
    assert len(rig.logs("ResultFinalised", fixture)) == 1
    final = rig.publication(fixture)
    # The same signed transaction went out again, not a new one.
    assert final.transaction_hash == first.transaction_hash
    assert final.block_number != first.block_number or depth > 0
    assert rig.wallet_nonce() == 2  # one report, one finalisation


async def test_a_dropped_transaction_is_rebroadcast(rig: Rig) -> None:
    fixture = f"fx-{secrets.token_hex(6)}"
    await rig.agree(fixture)
    rpc(rig.w3, "evm_setAutomine", False)
    publisher = rig.publisher()
    publisher.step()
    sent = rig.publication(fixture)
    assert sent.status == "SUBMITTED"
    rpc(rig.w3, "anvil_dropTransaction", sent.transaction_hash)
    rig.mine()
    assert rig.logs("ResultSubmitted", fixture) == []
    step_until(rig, publisher, lambda: rig.publication(fixture).status == "FINAL")
    assert len(rig.logs("ResultSubmitted", fixture)) == 1
    assert rig.publication(fixture).transaction_hash == sent.transaction_hash


async def test_an_underpriced_transaction_is_replaced_with_raised_fees(rig: Rig) -> None:
    fixture = f"fx-{secrets.token_hex(6)}"
    await rig.agree(fixture)
    rpc(rig.w3, "evm_setAutomine", False)
    publisher = rig.publisher(replace_after_seconds=0)
    publisher.publish_pending()
    stuck = rig.publication(fixture)
    offered = rig.w3.eth.get_transaction(stuck.transaction_hash)["maxFeePerGas"]
    # The market moves above what the transaction offers: it stays in the pool.
    rpc(rig.w3, "anvil_setNextBlockBaseFeePerGas", hex(offered * 2))
    rig.mine()
    assert rig.logs("ResultSubmitted", fixture) == []
    step_until(rig, publisher, lambda: rig.publication(fixture).status == "FINAL")
    final = rig.publication(fixture)
    assert final.transaction_hash != stuck.transaction_hash
    (submitted,) = rig.logs("ResultSubmitted", fixture)
    assert Web3.to_hex(submitted["transactionHash"]) == final.transaction_hash


class Crash(BaseException):
    pass


async def test_killed_between_broadcast_and_confirmation_publishes_once(rig: Rig) -> None:
    fixture, other = f"fx-{secrets.token_hex(6)}", f"fx-{secrets.token_hex(6)}"
    await rig.agree(fixture)
    rpc(rig.w3, "evm_setAutomine", False)
    before = rig.publisher()
    before.step()  # broadcast, not mined
    assert rig.publication(fixture).status == "SUBMITTED"
    rig.mine()
    # A second one dies after the outbox write, before its broadcast.
    await rig.agree(other)

    def crash(raw: bytes) -> None:
        raise Crash

    before.broadcast_hook = crash
    with pytest.raises(Crash):
        before.publish_pending()
    del before
    after = rig.publisher()  # the restarted service: same database, same chain
    step_until(
        rig,
        after,
        lambda: {rig.publication(f).status for f in (fixture, other)} == {"FINAL"},
    )
    for f in (fixture, other):
        assert len(rig.logs("ResultSubmitted", f)) == 1
        assert len(rig.logs("ResultFinalised", f)) == 1
    assert rig.wallet_nonce() == 4  # two reports, two finalisations, nothing twice


async def test_a_batch_the_contract_refuses_is_never_paid_for_and_waits(rig: Rig) -> None:
    fixture = f"fx-{secrets.token_hex(6)}"
    await rig.agree(fixture)
    publisher = rig.publisher()
    right = publisher.signers
    # Signers that are not the contract's: estimation reverts, nothing is sent; no report is
    # at fault, so it stays PENDING with the reason shown, and goes out once signers are right.
    publisher.signers = SignerPool(
        [ReportSigner(Account.from_key("0x" + secrets.token_hex(32))) for _ in range(2)]
    )
    publisher.step()
    assert rig.publication(fixture).status == "PENDING"
    assert rig.wallet_nonce() == 0
    shown = rig.store.load_many([fixture])[fixture].to_proto().publication
    assert shown.status == pb.PUBLICATION_STATUS_PENDING
    assert shown.failure.startswith("BATCH_REFUSED: NotASigner")
    publisher.signers = right
    step_until(rig, publisher, lambda: rig.publication(fixture).status == "FINAL")
    assert len(rig.logs("ResultSubmitted", fixture)) == 1


async def test_rpc_failover_to_a_second_node(rig: Rig) -> None:
    fixture = f"fx-{secrets.token_hex(6)}"
    await rig.agree(fixture)
    dead = "http://127.0.0.1:9"  # discard port: nothing answers
    publisher = rig.publisher(urls=[dead, rig.url])
    step_until(rig, publisher, lambda: rig.publication(fixture).status == "FINAL")
    provider = publisher.w3.provider
    assert isinstance(provider, FailoverProvider)
    assert provider.urls[provider.active] == rig.url
    assert len(rig.logs("ResultSubmitted", fixture)) == 1


async def test_only_agreed_results_are_published(rig: Rig) -> None:
    agreed, held = f"fx-{secrets.token_hex(6)}", f"fx-{secrets.token_hex(6)}"
    await rig.agree(agreed)
    oracle = OracleHandlers(rig.store, 2, None)
    for source, home in (("simulator", 2), ("stats-feed", 3)):
        await oracle.submit_observation(
            SubmitObservation(
                pb.Observation(
                    source_id=source,
                    result=pb.MatchResult(
                        fixture_id=held,
                        sport=sport_pb2.SPORT_FOOTBALL,
                        status=pb.RESULT_STATUS_COMPLETED,
                        home_score=home,
                    ),
                )
            )
        )
    publisher = rig.publisher()
    step_until(rig, publisher, lambda: rig.publication(agreed).status == "FINAL")
    record = rig.store.load_many([held])[held]
    assert record.state == pb.VALIDATION_STATE_HELD
    assert record.publication is None
    assert rig.logs("ResultSubmitted", held) == []


async def test_without_finalise_transactions_a_result_is_final_by_the_contracts_view(
    rig: Rig,
) -> None:
    ids = [f"fx-{secrets.token_hex(6)}" for _ in range(3)]
    for f in ids:
        await rig.agree(f)
    publisher = rig.publisher(finalise_transactions=False)
    step_until(rig, publisher, lambda: {rig.publication(f).status for f in ids} == {"FINAL"})
    for f in ids:
        assert len(rig.logs("ResultSubmitted", f)) == 1
        assert rig.logs("ResultFinalised", f) == []
        assert bind(rig.w3, rig.address).functions.isFinal(fixture_key(f)).call()
    assert rig.wallet_nonce() == 1  # one batch, no finalisation gas


async def test_final_by_view_on_a_chain_that_mines_only_on_demand(
    anvil: Anvil, postgres_admin_url: str, tmp_path: Path
) -> None:
    # A 2 s dispute window and no block after the report's: the window closes by the next
    # block's time, no transaction needed to see it.
    made = _rig(anvil, postgres_admin_url, tmp_path, window=2)
    chosen = next(made)
    try:
        fixture = f"fx-{secrets.token_hex(6)}"
        await chosen.agree(fixture)
        publisher = chosen.publisher(
            finalise_transactions=False, confirmations=1, batch_wait_seconds=0
        )
        step_until(
            chosen, publisher, lambda: chosen.publication(fixture).status == "FINAL", mine=False
        )
        assert chosen.wallet_nonce() == 1
    finally:
        made.close()


async def test_the_queue_an_operator_watches_counts_publications_by_status(rig: Rig) -> None:
    """What betmesh.oracle.publications reports: the outbox's publications by status."""
    fixture = f"fx-{secrets.token_hex(6)}"
    publisher = rig.publisher()
    before = publisher.outbox.backlog()
    await rig.agree(fixture)
    publisher.outbox.enqueue_validated()
    assert publisher.outbox.backlog().get("PENDING", 0) == before.get("PENDING", 0) + 1
    step_until(rig, publisher, lambda: rig.publication(fixture).status == "CONFIRMED")
    after = publisher.outbox.backlog()
    assert after.get("PENDING", 0) == before.get("PENDING", 0)
    assert sum(after.values()) == sum(before.values()) + 1
    publisher.observe_queue()  # the gauge reads the same figures


def chain_calls(rig: Rig) -> dict[str, list[bytes]]:
    """Every transaction ever sent to the contract, mined whether it succeeded or reverted:
    the fixture keys each submitBatch and finalise call carried, by function."""
    contract = bind(rig.w3, rig.address)
    calls: dict[str, list[bytes]] = {"submitBatch": [], "finalise": []}
    for number in range(rig.w3.eth.block_number + 1):
        block: Any = rig.w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            if tx["to"] is None or tx["to"].lower() != rig.address.lower():
                continue
            function, arguments = contract.decode_function_input(tx["input"])
            if function.fn_name == "submitBatch":
                calls["submitBatch"] += [
                    bytes(r["fixtureId"] if isinstance(r, dict) else r[0])
                    for r in arguments["reports"]
                ]
            elif function.fn_name in calls:
                calls[function.fn_name] += [bytes(k) for k in next(iter(arguments.values()))]
    return calls


async def test_two_oracle_processes_publish_each_result_once(two_wallet_rig: Rig) -> None:
    """Two oracle processes on one database, each with its own wallet (so the wallet lease
    lets both send): each result goes on chain in one transaction, not one per process."""
    rig = two_wallet_rig
    fixtures = [f"fx-{secrets.token_hex(6)}" for _ in range(3)]
    for fixture in fixtures:
        await rig.agree(fixture)
    # Both read the same PENDING results before either signs: the race a real pair of
    # processes runs now and then, here on every run. Blocks are held back meanwhile, so
    # that neither sees the other's transaction mined before it estimates its own.
    both_read = threading.Barrier(2, timeout=DEADLINE)

    def racing(load: LoadRecords) -> LoadRecords:
        waited = False

        def load_records(ids: Sequence[str]) -> dict[str, Any]:
            nonlocal waited
            records = load(ids)
            if not waited:
                waited = True
                both_read.wait()
            return records

        return load_records

    rpc(rig.w3, "evm_setAutomine", False)
    publishers = [
        rig.publisher(transmitter_file=f, load_records=racing(rig.store.load_many))
        for f in (rig.transmitter_file, *rig.other_transmitter_files)
    ]
    await asyncio.gather(*(asyncio.to_thread(p.step) for p in publishers))
    rig.mine()
    deadline = time.monotonic() + DEADLINE
    while {rig.publication(f).status for f in fixtures} != {"FINAL"}:
        assert time.monotonic() < deadline, {f: rig.publication(f).status for f in fixtures}
        for publisher in publishers:
            publisher.step()
        rig.mine()
    calls = chain_calls(rig)
    for fixture in fixtures:
        key = fixture_key(fixture)
        assert calls["submitBatch"].count(key) == 1, fixture
        assert calls["finalise"].count(key) == 1, fixture
        assert len(rig.logs("ResultSubmitted", fixture)) == 1

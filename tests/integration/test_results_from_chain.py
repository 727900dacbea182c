"""Settlement from the chain, end to end on a real anvil, PostgreSQL and Redis: the oracle
service publishes, bets settles only from what the contract stores. A correction through the
oracle's API (version 2, inside the dispute window) rolls back and re-settles exactly once; an
announcement the chain contradicts, or never shows, settles nothing and is held with its
evidence."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from betmesh.bets.v1 import bet_service_pb2 as bets_pb
from betmesh.common.v1 import sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from betmesh.oracle.v1 import oracle_service_pb2_grpc
from eth_account import Account
from web3 import Web3
from web3.types import RPCEndpoint

from launcher.embedded import Anvil, create_database, drop_database, unique_name
from service_runtime.events import Topic, stream_key
from services.oracle.adapters.chain.contract import bind, deploy, send_and_wait
from services.oracle.adapters.chain.signers import ReportSigner, SignerPool
from services.oracle.app import build
from services.oracle.domain.reports import Domain, Report, fixture_key
from services.oracle.settings import OracleSettings
from tests.integration.test_bets_harness import (
    OPERATOR,
    HeaderAuthenticator,
    Mesh,
    eventually,
    running,
)
from tests.support.oracle import report_football_result
from tests.support.signers import signer_hosts

WINDOW = 3600  # corrections stay possible for the whole module


@dataclass
class Chain:
    anvil: Anvil
    w3: Web3
    address: str
    transmitter: Path
    signers: list[Path]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    node = Anvil()
    node.start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        admin, transmitter = ("0x" + secrets.token_hex(32) for _ in range(2))
        for key in (admin, transmitter):
            w3.provider.make_request(
                RPCEndpoint("anvil_setBalance"), [Account.from_key(key).address, hex(10**20)]
            )
        signer_keys = ["0x" + secrets.token_hex(32) for _ in range(3)]
        address = deploy(
            w3,
            admin,
            [Account.from_key(k).address for k in signer_keys],
            2,
            WINDOW,
            [Account.from_key(transmitter).address],
        )
        folder = tmp_path_factory.mktemp("keys")
        files = []
        for index, key in enumerate([transmitter, *signer_keys]):
            path = folder / f"key-{index}"
            path.write_text(key)
            path.chmod(0o600)
            files.append(path)
        yield Chain(node, w3, address, files[0], files[1:])
    finally:
        node.stop()


@pytest.fixture(scope="module")
async def oracle(
    chain: Chain, postgres_admin_url: str, redis_url: str
) -> AsyncIterator[oracle_service_pb2_grpc.OracleServiceStub]:
    # The oracle holds the transmitter key only; signatures come from signer services.
    async with signer_hosts(31337, chain.address, chain.signers) as signers:
        name = unique_name("oracle_chain")
        url = create_database(postgres_admin_url, name)
        env = {
            "BETMESH_AUTH_MODE": "anonymous",
            "BETMESH_PORT": "0",
            "BETMESH_DATABASE_URL": url,
            "BETMESH_REDIS_URL": redis_url,
            "BETMESH_ORACLE_RPC_URLS": chain.anvil.url,
            "BETMESH_ORACLE_CONTRACT_ADDRESS": chain.address,
            "BETMESH_ORACLE_TRANSMITTER_KEY_FILE": str(chain.transmitter),
            "BETMESH_ORACLE_SIGNER_ADDRESSES": ",".join(signers),
            "BETMESH_ORACLE_PUBLISH_INTERVAL_SECONDS": "0.05",
            "BETMESH_ORACLE_BATCH_WAIT_SECONDS": "0",
            "BETMESH_ORACLE_CONFIRMATIONS": "1",
            "BETMESH_ORACLE_EVENT_RELAY_INTERVAL_SECONDS": "0.1",
        }
        host = await build(OracleSettings.from_env(env), authenticator=HeaderAuthenticator())
        port = await host.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        try:
            yield oracle_service_pb2_grpc.OracleServiceStub(channel)
        finally:
            await channel.close()
            await host.stop(0)
            drop_database(postgres_admin_url, name)


@pytest.fixture(scope="module")
async def mesh(chain: Chain, database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with running(
        database_url,
        redis_url,
        BETMESH_BETS_SETTLE_FROM="chain",
        BETMESH_BETS_CHAIN_RPC_URLS=chain.anvil.url,
        BETMESH_BETS_RESULT_CONTRACT_ADDRESS=chain.address,
        BETMESH_BETS_CHAIN_CONFIRMATIONS="1",
        BETMESH_BETS_CHAIN_RECHECK_SECONDS="0.1",
        BETMESH_BETS_CHAIN_WAIT_SECONDS="3",
    ) as m:
        yield m


async def observe(
    oracle: oracle_service_pb2_grpc.OracleServiceStub, fixture: str, home: int, away: int
) -> None:
    await report_football_result(oracle, fixture, home, away)


async def status_of(mesh: Mesh, bet_id: str) -> int:
    return int((await mesh.bet(bet_id)).status)


async def announcements(mesh: Mesh, fixture: str) -> list[events_pb2.ResultFinalised]:
    found = []
    entries: Any = await mesh.bus.client.xrange(stream_key(Topic.RESULT_FINALISED))
    for _, fields in entries or []:
        event = events_pb2.EventEnvelope.FromString(fields[b"envelope"]).result_finalised
        if event.fixture_id == fixture:
            found.append(event)
    return found


async def test_a_correction_after_settlement_rolls_back_and_resettles_once(
    mesh: Mesh, oracle: oracle_service_pb2_grpc.OracleServiceStub, chain: Chain
) -> None:
    p, f = await mesh.player(balance=2_000), await mesh.fixture()
    home = await mesh.place(p, [(f, f"{f}/MATCH_RESULT", "home", 20_000)], 1_000)
    away = await mesh.place(p, [(f, f"{f}/MATCH_RESULT", "away", 40_000)], 1_000)
    await observe(oracle, f, 2, 1)

    async def home_won() -> bool:
        return (await status_of(mesh, home.bet_id), await status_of(mesh, away.bet_id)) == (
            bets_pb.BET_STATUS_WON,
            bets_pb.BET_STATUS_LOST,
        )

    await eventually(home_won, timeout=30)
    assert await mesh.wallet(p) == (2_000, 0)
    await oracle.CorrectResult(
        pb.CorrectResultRequest(
            fixture_id=f,
            result=pb.MatchResult(
                sport=sport_pb2.SPORT_FOOTBALL,
                status=pb.RESULT_STATUS_COMPLETED,
                home_score=1,
                away_score=2,
            ),
            note="the stats feed counted an own goal for the wrong side",
        ),
        metadata=OPERATOR,
    )

    async def resettled() -> bool:
        return (await status_of(mesh, away.bet_id), await status_of(mesh, home.bet_id)) == (
            bets_pb.BET_STATUS_WON,
            bets_pb.BET_STATUS_LOST,
        )

    await eventually(resettled, timeout=30)
    assert await mesh.wallet(p) == (4_000, 0)
    entries = (
        await mesh.stub.ListLedgerEntries(bets_pb.ListLedgerEntriesRequest(player_id=p))
    ).entries
    rollbacks = {
        e.transaction_id for e in entries if e.kind == bets_pb.TRANSACTION_KIND_SETTLEMENT_ROLLBACK
    }
    # Both bets changed outcome: each rolled back exactly once.
    assert rollbacks == {f"tx_rollback_{b.bet_id}_1" for b in (home, away)}
    # On chain: version 2 is what the contract holds; on the bus: one announcement per
    # version, the second a correction (live turns it into a settlement rollback).
    stored = bind(chain.w3, chain.address).functions.latest(fixture_key(f)).call()
    assert (stored[1], stored[2], stored[3]) == (1, 2, 2)  # home, away, version
    events = await announcements(mesh, f)
    assert [(e.version, e.correction, e.home_score) for e in events] == [
        (1, False, 2),
        (2, True, 1),
    ]
    result = (await oracle.GetResult(pb.GetResultRequest(fixture_id=f))).result
    assert result.publication.version == 2
    assert result.publication.status == pb.PUBLICATION_STATUS_CONFIRMED
    # The correction is announced as a validated result too (partners' provisional
    # settlement follows it before the chain does), with its own event id.
    validated: Any = await mesh.bus.client.xrange(stream_key(Topic.RESULT_VALIDATED))
    said = [
        events_pb2.EventEnvelope.FromString(fields[b"envelope"]) for _, fields in validated or []
    ]
    # The bus delivers at least once: the submitting call and the outbox relay's pass may both
    # publish a pending event (seen under load), under the same event id, which consumers
    # de-duplicate. What must hold is one distinct announcement per validation, in order
    # (a dict keeps each id where it first came).
    ours = list({e.event_id: e for e in said if e.result_validated.fixture_id == f}.values())
    assert [(e.result_validated.home_score, e.result_validated.away_score) for e in ours] == [
        (2, 1),
        (1, 2),
    ]


def rogue_publish(chain: Chain, fixture: str, home: int, away: int) -> str:
    """Another publisher holding the keys puts its own result on chain."""
    contract = bind(chain.w3, chain.address)
    report = Report(
        fixture_id=fixture_key(fixture),
        status=1,
        home_score=home,
        away_score=away,
        sources_hash=b"\x22" * 32,
        version=1,
        observed_at=0,
        config_version=int(contract.functions.configVersion().call()),
    )
    pool = SignerPool([ReportSigner.from_key_file(f) for f in chain.signers])
    signatures = pool.sign_batch(Domain(chain.w3.eth.chain_id, chain.address), [report], 2)
    receipt = send_and_wait(
        chain.w3,
        chain.transmitter.read_text().strip(),
        contract.functions.submitBatch([report.as_tuple()], signatures),
    )
    return Web3.to_hex(receipt["transactionHash"])


async def test_a_result_the_chain_contradicts_is_held_with_its_evidence(
    mesh: Mesh, oracle: oracle_service_pb2_grpc.OracleServiceStub, chain: Chain
) -> None:
    p, f = await mesh.player(balance=1_000), await mesh.fixture()
    bet = await mesh.place(p, [(f, f"{f}/MATCH_RESULT", "home", 20_000)], 1_000)
    rogue_tx = rogue_publish(chain, f, 0, 2)
    # The oracle's sources say 2-1: the contract refuses its report (a version is on chain
    # already), and the oracle shows it FAILED with the contract's reason, not PENDING.
    await observe(oracle, f, 2, 1)

    async def refused() -> bool:
        shown = (await oracle.GetResult(pb.GetResultRequest(fixture_id=f))).result.publication
        return shown.status == pb.PUBLICATION_STATUS_FAILED and "StaleVersion" in shown.failure

    await eventually(refused, timeout=30)
    validated = (await oracle.GetResult(pb.GetResultRequest(fixture_id=f))).result
    # An announcement of the oracle's 2-1 (a forged or mistaken one: the bus and the oracle's
    # database are not the truth) wakes bets up; the chain says 0-2; nothing settles.
    await mesh.bus.publish(
        Topic.RESULT_FINALISED,
        events_pb2.EventEnvelope(
            event_id=f"forged:{f}",
            result_finalised=events_pb2.ResultFinalised(
                fixture_id=f,
                home_score=2,
                away_score=1,
                status="RESULT_STATUS_COMPLETED",
                version=1,
                transaction_hash=rogue_tx,
                sources_hash=validated.sources_hash,
            ),
        ),
    )
    holds = (
        await mesh.stub.ListResultHolds(bets_pb.ListResultHoldsRequest(), metadata=OPERATOR)
    ).holds
    (hold,) = [h for h in holds if h.fixture_id == f]
    assert hold.reason.startswith("CHAIN_RESULT_DIFFERS")
    assert (hold.on_chain.home_score, hold.on_chain.away_score) == (0, 2)
    assert (hold.validated.home_score, hold.validated.away_score) == (2, 1)
    assert hold.on_chain.sources_hash == "sha256:" + "22" * 32
    assert hold.validated.sources_hash == validated.sources_hash
    assert hold.transaction_hash == rogue_tx
    assert len(hold.signers) == 3 and hold.config_version == 1
    assert await status_of(mesh, bet.bet_id) == bets_pb.BET_STATUS_ACCEPTED
    assert await mesh.wallet(p) == (0, 1_000)
    # Players and partners cannot list holds.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await mesh.stub.ListResultHolds(
            bets_pb.ListResultHoldsRequest(),
            metadata=(("x-test-subject", p), ("x-test-role", "player")),
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_an_announcement_the_chain_never_shows_is_held(mesh: Mesh) -> None:
    p, f = await mesh.player(balance=1_000), await mesh.fixture()
    bet = await mesh.place(p, [(f, f"{f}/MATCH_RESULT", "home", 20_000)], 1_000)
    await mesh.bus.result(f, 2, 1)

    async def held() -> bool:
        holds = (
            await mesh.stub.ListResultHolds(bets_pb.ListResultHoldsRequest(), metadata=OPERATOR)
        ).holds
        return any(h.fixture_id == f and h.reason == "NOT_ON_CHAIN" for h in holds)

    await eventually(held, timeout=30)
    assert await status_of(mesh, bet.bet_id) == bets_pb.BET_STATUS_ACCEPTED


def test_the_ledger_balances(mesh: Mesh, database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            total = conn.execute(
                sa.text("SELECT coalesce(sum(amount_minor), 0) FROM bets.entries")
            ).scalar_one()
            assert total == 0
    finally:
        engine.dispose()


async def test_a_new_agreement_of_sources_corrects_a_settled_result(
    mesh: Mesh, oracle: oracle_service_pb2_grpc.OracleServiceStub, chain: Chain
) -> None:
    p, f = await mesh.player(balance=1_000), await mesh.fixture()
    home = await mesh.place(p, [(f, f"{f}/MATCH_RESULT", "home", 20_000)], 1_000)
    await observe(oracle, f, 2, 1)

    async def home_won() -> bool:
        return await status_of(mesh, home.bet_id) == bets_pb.BET_STATUS_WON

    await eventually(home_won, timeout=30)
    # Three more sources agree on 1-2: more than back 2-1, inside the dispute window.
    await report_football_result(oracle, f, 1, 2, sources=("feed-3", "feed-4", "feed-5"))

    async def home_lost() -> bool:
        return await status_of(mesh, home.bet_id) == bets_pb.BET_STATUS_LOST

    await eventually(home_lost, timeout=30)
    assert await mesh.wallet(p) == (0, 0)
    stored = bind(chain.w3, chain.address).functions.latest(fixture_key(f)).call()
    assert (stored[1], stored[2], stored[3]) == (1, 2, 2)
    result = (await oracle.GetResult(pb.GetResultRequest(fixture_id=f))).result
    assert (result.result.home_score, result.publication.version) == (1, 2)

"""The sender under the faults of issue #16, on a real anvil and PostgreSQL, through an RPC proxy
that misbehaves like lagging nodes and providers do. After each: exactly one result per fixture
on chain, every result FINAL or FAILED with its reason (never stranded), no nonce used twice."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from betmesh.oracle.v1 import oracle_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from web3 import Web3

from launcher.embedded import Anvil
from service_runtime.auth import Principal
from services.oracle.adapters.chain.contract import send_and_wait
from services.oracle.adapters.chain.signers import ReportSigner, SignerPool
from services.oracle.app import build
from services.oracle.domain.reports import Domain, Report, fixture_key
from services.oracle.service_layer.commands import RetryPublication, SubmitObservation
from services.oracle.service_layer.handlers import OracleHandlers
from services.oracle.settings import OracleSettings
from tests.integration.rpc_proxy import Proxy, rpc_proxy
from tests.integration.test_oracle_publication import (  # noqa: F401 (fixtures)
    DEADLINE,
    Rig,
    rig,
    step_until,
)
from tests.support.chain import rpc
from tests.support.oracle import SOURCES, football_observation, report_football_result
from tests.support.signers import signer_hosts

OPERATOR = Principal(subject="ops-1", role="operator")


@pytest.fixture
def proxy(anvil: Anvil) -> Iterator[Proxy]:
    with rpc_proxy(anvil.url) as running:
        yield running


def final(rig: Rig, fixture: str) -> Callable[[], bool]:  # noqa: F811
    return lambda: rig.publication(fixture).status == "FINAL"


def fixture_ids(n: int) -> list[str]:
    return [f"fx-{secrets.token_hex(6)}" for _ in range(n)]


def no_nonce_used_twice(rig: Rig) -> None:  # noqa: F811
    with rig.engine.connect() as conn:
        doubles = conn.execute(
            sa.text(
                "SELECT nonce FROM oracle.chain_transactions WHERE state = 'CONFIRMED'"
                " GROUP BY wallet, nonce HAVING count(*) > 1"
            )
        ).all()
    assert doubles == []


def rogue_publish(rig: Rig, fixture: str, home: int, away: int) -> None:  # noqa: F811
    """Another publisher (the same keys used elsewhere) puts its own result on chain first."""
    contract = Web3(Web3.HTTPProvider(rig.url)).eth.contract
    oracle = rig.publisher()
    report = Report(
        fixture_id=fixture_key(fixture),
        status=1,
        home_score=home,
        away_score=away,
        sources_hash=b"\x11" * 32,
        version=1,
        observed_at=0,
        config_version=int(oracle.contract.functions.configVersion().call()),
    )
    pool = SignerPool([ReportSigner.from_key_file(f) for f in rig.signer_files])
    domain = Domain(rig.w3.eth.chain_id, rig.address)
    call = oracle.contract.functions.submitBatch(
        [report.as_tuple()], pool.sign_batch(domain, [report], 2)
    )
    del contract
    send_and_wait(rig.w3, rig.transmitter_file.read_text().strip(), call)


async def test_lagging_receipts_are_not_drops(rig: Rig, proxy: Proxy) -> None:  # noqa: F811
    ids = fixture_ids(2)
    for f in ids:
        await rig.agree(f)
    publisher = rig.publisher(urls=[proxy.url])
    proxy.faults.null_receipts = 6  # the node mined it but has no receipt to show yet
    step_until(rig, publisher, lambda: {rig.publication(f).status for f in ids} == {"FINAL"})
    for f in ids:
        assert len(rig.logs("ResultSubmitted", f)) == 1
    assert len({rig.publication(f).transaction_hash for f in ids}) == 1  # one batch
    assert rig.wallet_nonce() == 2  # one submit, one finalise: nothing re-sent
    with rig.engine.connect() as conn:
        states = conn.execute(sa.text("SELECT state FROM oracle.chain_transactions")).scalars()
        assert "DROPPED" not in set(states)
    no_nonce_used_twice(rig)


async def test_a_node_that_knows_nothing_yet_is_waited_for_not_dropped(
    rig: Rig,  # noqa: F811
    proxy: Proxy,
) -> None:
    fixture = fixture_ids(1)[0]
    await rig.agree(fixture)
    publisher = rig.publisher(urls=[proxy.url], drop_after_seconds=3600)
    proxy.faults.null_receipts, proxy.faults.hide_transactions = 10, True
    step_until(rig, publisher, lambda: rig.publication(fixture).status == "FINAL")
    assert len(rig.logs("ResultSubmitted", fixture)) == 1
    assert rig.wallet_nonce() == 2
    no_nonce_used_twice(rig)


async def test_a_refused_report_fails_alone_and_its_batch_goes_out(rig: Rig) -> None:  # noqa: F811
    refused, *good = fixture_ids(3)
    rogue_publish(rig, refused, 0, 2)
    for f in (refused, *good):
        await rig.agree(f)
    publisher = rig.publisher()
    step_until(
        rig,
        publisher,
        lambda: (
            {rig.publication(f).status for f in good} == {"FINAL"}
            and rig.publication(refused).status == "FAILED"
        ),
    )
    assert len({rig.publication(f).transaction_hash for f in good}) == 1
    shown = rig.store.load_many([refused])[refused].to_proto().publication
    assert shown.status == pb.PUBLICATION_STATUS_FAILED
    assert "StaleVersion" in shown.failure
    # An operator can send it again; the contract still refuses it, and says so again.
    oracle = OracleHandlers(rig.store, 2, None)
    retried = await oracle.retry_publication(
        RetryPublication(refused, "rogue result disputed", OPERATOR)
    )
    assert retried.publication is not None and retried.publication.status == "PENDING"
    step_until(rig, publisher, lambda: rig.publication(refused).status == "FAILED")
    assert len(rig.logs("ResultSubmitted", refused)) == 1  # only the rogue's
    no_nonce_used_twice(rig)


async def test_a_poison_timestamp_is_quarantined_beside_good_results(rig: Rig) -> None:  # noqa: F811
    poison, *good = fixture_ids(3)
    for f in good:
        await rig.agree(f)
    oracle = OracleHandlers(rig.store, 2, None)
    for source in SOURCES:
        observation = football_observation(source, poison, 1, 0)
        observation.observed_at.CopyFrom(Timestamp(seconds=-86_400))  # 1969
        await oracle.submit_observation(SubmitObservation(observation))
    publisher = rig.publisher()
    step_until(rig, publisher, lambda: {rig.publication(f).status for f in good} == {"FINAL"})
    quarantined = rig.store.load_many([poison])[poison].to_proto().publication
    assert quarantined.status == pb.PUBLICATION_STATUS_FAILED
    assert quarantined.failure.startswith("REPORT_INVALID")
    assert rig.logs("ResultSubmitted", poison) == []


async def test_a_reorg_deeper_than_finality_is_repaired(rig: Rig) -> None:  # noqa: F811
    first, later = fixture_ids(2)
    await rig.agree(first)
    publisher = rig.publisher(confirmations=2)
    step_until(rig, publisher, lambda: rig.publication(first).status == "FINAL")
    submitted = rig.publication(first)
    rig.mine(5)
    # Every block from the report's on is replaced: far deeper than 2 confirmations, and the
    # result had been read back as final.
    depth = rig.w3.eth.block_number - submitted.block_number + 1
    rpc(rig.w3, "anvil_reorg", depth, [])
    assert rig.logs("ResultSubmitted", first) == []
    assert rig.wallet_nonce() == 0
    await rig.agree(later)
    step_until(
        rig, publisher, lambda: {rig.publication(f).status for f in (first, later)} == {"FINAL"}
    )
    for f in (first, later):
        assert len(rig.logs("ResultSubmitted", f)) == 1
        assert len(rig.logs("ResultFinalised", f)) == 1
    # The lost transactions went out again with their own nonces, the new ones after them.
    assert rig.publication(first).transaction_hash == submitted.transaction_hash
    assert rig.wallet_nonce() == 4
    no_nonce_used_twice(rig)


async def test_provider_refusals_mid_run_fail_over(rig: Rig, proxy: Proxy) -> None:  # noqa: F811
    ids = fixture_ids(3)
    publisher = rig.publisher(urls=[proxy.url, rig.url])
    provider: Any = publisher.w3.provider
    for fault, fixture in zip(("quota", "limited", "in_200"), ids, strict=True):
        proxy.faults.http_status = {"quota": 402, "limited": 429}.get(fault, 0)
        proxy.faults.rate_limited = fault == "in_200"
        provider._rest_until = [0.0, 0.0]  # the proxy is asked first again
        provider.active = 0
        await rig.agree(fixture)
        step_until(rig, publisher, final(rig, fixture))
        assert provider.last_failure[0] in ("QUOTA", "RATE_LIMITED")
        assert len(rig.logs("ResultSubmitted", fixture)) == 1
    assert provider.failovers >= 3


async def test_an_oracle_starting_behind_402s_comes_up_and_publishes(
    rig: Rig,  # noqa: F811
    proxy: Proxy,
    redis_url: str,
) -> None:
    # The oracle holds the transmitter key only; signatures come from signer services.
    async with signer_hosts(31337, rig.address, rig.signer_files) as signers:
        await _starting_behind_402s(rig, proxy, redis_url, signers)


async def _starting_behind_402s(
    rig: Rig,  # noqa: F811
    proxy: Proxy,
    redis_url: str,
    signers: list[str],
) -> None:
    proxy.faults.http_status = 402  # every URL out of quota at start-up
    env = {
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_PORT": "0",
        "BETMESH_DATABASE_URL": rig.database_url,
        "BETMESH_REDIS_URL": redis_url,
        "BETMESH_ORACLE_RPC_URLS": proxy.url,
        "BETMESH_ORACLE_CONTRACT_ADDRESS": rig.address,
        "BETMESH_ORACLE_TRANSMITTER_KEY_FILE": str(rig.transmitter_file),
        "BETMESH_ORACLE_SIGNER_ADDRESSES": ",".join(signers),
        "BETMESH_ORACLE_PUBLISH_INTERVAL_SECONDS": "0.05",
        "BETMESH_ORACLE_BATCH_WAIT_SECONDS": "0",
        "BETMESH_ORACLE_CONFIRMATIONS": "1",
        "BETMESH_ORACLE_QUOTA_PROBE_SECONDS": "0.5",
        "BETMESH_ORACLE_IDLE_CHECK_SECONDS": "1",
    }
    host = await build(OracleSettings.from_env(env))
    port = await host.start()  # comes up: observations are still taken
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = oracle_service_pb2_grpc.OracleServiceStub(channel)
    fixture = fixture_ids(1)[0]
    try:
        await report_football_result(stub, fixture, 1, 0)
        shown = (await stub.GetResult(pb.GetResultRequest(fixture_id=fixture))).result
        assert shown.publication.status == pb.PUBLICATION_STATUS_PENDING
        proxy.faults.http_status = 0  # the quota is back (or the operator raised the plan)
        deadline = time.monotonic() + DEADLINE
        while shown.publication.status != pb.PUBLICATION_STATUS_FINAL:
            assert time.monotonic() < deadline, shown.publication
            await asyncio.sleep(0.1)
            await asyncio.to_thread(rig.mine)
            shown = (await stub.GetResult(pb.GetResultRequest(fixture_id=fixture))).result
        assert shown.publication.chain_id == 31337
        assert len(rig.logs("ResultSubmitted", fixture)) == 1
    finally:
        await channel.close()
        await host.stop(0)

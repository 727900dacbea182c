"""The chain node as a failing dependency, on a real anvil behind a TCP proxy that blackholes it
(connections accepted, nothing answered: a partition, a frozen node or load balancer) or
trickles its answers. Bets' check of announced results against the contract: one pass ends
after one RPC timeout, not one per claim, as an outage (UNAVAILABLE DEPENDENCY_UNAVAILABLE,
dependency chain) the runner logs without a traceback, and settles nothing; healed, the next
pass reads the chain again. Every JSON-RPC request has a total bound, not only one per read."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from eth_account import Account
from prometheus_client import REGISTRY
from web3 import Web3
from web3.types import RPCEndpoint

from launcher.embedded import Anvil, create_database, drop_database, unique_name
from service_runtime.chain_rpc import AllEndpointsFailed, FailoverProvider
from service_runtime.outages import REASON, as_outage
from service_runtime.postgres import create_engine, migrate
from services.bets.adapters.chain_reader import ChainResultReader
from services.bets.adapters.chain_results_store import ChainResultStore
from services.bets.adapters.postgres_ledger import SCHEMA
from services.bets.app import MIGRATIONS
from services.bets.domain.chain_results import ClaimedResult
from services.bets.domain.settlement import FinalScore
from services.bets.service_layer.chain_recheck import ChainRecheck
from services.oracle.adapters.chain.contract import deploy
from tests.support.tcp_faults import FaultProxy

CLAIMS = 5


@pytest.fixture(scope="module")
def contract(anvil: Anvil) -> str:
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    admin = "0x" + secrets.token_hex(32)
    w3.provider.make_request(
        RPCEndpoint("anvil_setBalance"), [Account.from_key(admin).address, hex(10**20)]
    )
    signers = [Account.create().address for _ in range(3)]
    return deploy(w3, admin, signers, 2, 0, [Account.create().address])


@pytest.fixture
def results(postgres_admin_url: str) -> Iterator[ChainResultStore]:
    name = unique_name("bets_chain_outage")
    url = create_database(postgres_admin_url, name)
    migrate(url, MIGRATIONS, SCHEMA)
    engine = create_engine(url, pool_size=2)
    try:
        yield ChainResultStore(engine)
    finally:
        engine.dispose()
        drop_database(postgres_admin_url, name)


@pytest.fixture
async def node(anvil: Anvil) -> AsyncIterator[FaultProxy]:
    async with FaultProxy("127.0.0.1", int(anvil.url.rsplit(":", 1)[1])) as proxy:
        yield proxy


def announced(fixture_id: str) -> ClaimedResult:
    return ClaimedResult(
        fixture_id=fixture_id,
        version=1,
        status="COMPLETED",
        home=2,
        away=1,
        sources_hash="sha256:" + "ab" * 32,
        set_games=(),
        transaction_hash="0x" + "01" * 32,
    )


def chain_outages() -> float:
    found = REGISTRY.get_sample_value(
        "betmesh_dependency_outages_total", {"betmesh_dependency": "chain"}
    )
    return found or 0.0


async def test_a_blackholed_chain_fails_the_recheck_pass_once_as_an_outage(
    contract: str,
    results: ChainResultStore,
    node: FaultProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reader = ChainResultReader([f"http://127.0.0.1:{node.port}"], contract, 1)
    settled: list[str] = []

    def settle(fixture_id: str, score: FinalScore, version: int) -> int:
        settled.append(fixture_id)
        return 1

    recheck = ChainRecheck(
        settle,
        results,
        reader,
        wait_bound_seconds=900,
    )
    fixtures = [f"fx-{secrets.token_hex(4)}" for _ in range(CLAIMS)]
    for fixture in fixtures:
        results.record(announced(fixture))
    node.blackhole()
    # An announcement heard while the node answers nothing waits, said in one line.
    before = chain_outages()
    with caplog.at_level(logging.WARNING):
        await asyncio.to_thread(recheck.claim, announced(fixtures[0]))
    # ... and counted, for the operator's alert (BetmeshDependencyUnavailable).
    assert chain_outages() == before + 1
    failed = [r for r in caplog.records if r.getMessage() == "chain check failed; retried later"]
    assert failed and not any(r.exc_info for r in failed)
    assert getattr(failed[0], "dependency", None) == "chain"

    # The pass: the first claim's RPC timeout ends it, for the runner to back off from
    # (without: every claim waited out its own timeout, a traceback each, and it returned 0).
    with pytest.raises(Exception) as raised:
        await asyncio.to_thread(recheck.recheck)
    outage = as_outage(raised.value)
    assert outage is not None
    assert (outage.reason, outage.metadata) == (REASON, {"dependency": "chain"})
    assert settled == []
    assert {claimed.fixture_id for claimed, _ in results.waiting(100)} == set(fixtures)

    node.heal()
    # The contract holds none of them: each still waits, nothing settled, nothing raised.
    assert await asyncio.to_thread(recheck.recheck) == 0
    assert settled == []


async def test_a_chain_node_that_trickles_its_answers_is_given_up_on_at_the_total_bound(
    anvil: Anvil, node: FaultProxy
) -> None:
    """Each byte of the answer comes within the per-read timeout, the whole answer would take
    minutes: the request ends at its total bound and the URL counts as timed out (without the
    bound, a block number's answer at 0.5 s a byte took 125 s, and was taken)."""
    provider = FailoverProvider([f"http://127.0.0.1:{node.port}"], timeout=2.0)
    w3 = Web3(provider)
    assert await asyncio.to_thread(lambda: w3.eth.block_number) >= 0  # keep-alive open
    node.trickle(0.5)
    started = time.monotonic()
    with pytest.raises(AllEndpointsFailed) as failed:
        await asyncio.to_thread(lambda: w3.eth.block_number)
    # The bound is 6 s (three per-read timeouts, the default); generous for a loaded machine.
    assert time.monotonic() - started < 3 * 2.0 + 10
    assert "TIMEOUT" in str(failed.value)
    assert provider.last_failure == ["TIMEOUT"]
    node.heal()
    assert await asyncio.to_thread(lambda: w3.eth.block_number) >= 0

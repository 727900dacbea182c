"""ResultOracle's own rules through web3 against a real anvil: every accept path and every
revert, custom errors decoded by their 4-byte selector."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError

from launcher.embedded import Anvil
from services.oracle.adapters.chain.contract import (
    ContractError,
    artifact,
    bind,
    decode_error,
    deploy,
    execute_config,
    propose_config,
    revert_data,
    send_and_wait,
)
from services.oracle.adapters.chain.signers import ReportSigner, SignerPool
from services.oracle.domain.reports import Domain, Report, batch_digest, fixture_key, report_digest

WINDOW = 3600
DELAY = 3600  # the contract's MIN_CONFIG_DELAY


def new_key() -> str:
    return "0x" + secrets.token_hex(32)


def fund(w3: Web3, address: str) -> None:
    w3.provider.make_request("anvil_setBalance", [address, hex(10**20)])  # type: ignore[arg-type]


@dataclass
class Chain:
    w3: Web3
    admin: str
    transmitter: str
    signers: list[ReportSigner]
    oracle: Contract
    domain: Domain

    def pool(self, signers: list[ReportSigner] | None = None) -> SignerPool:
        return SignerPool(signers or self.signers)

    def report(self, fixture: str | None = None, **changes: Any) -> Report:
        base = Report(
            fixture_id=fixture_key(fixture or f"fx-{secrets.token_hex(6)}"),
            status=1,
            home_score=2,
            away_score=1,
            sources_hash=secrets.token_bytes(32),
            version=1,
            observed_at=1_700_000_000,
            config_version=self.oracle.functions.configVersion().call(),
        )
        return replace(base, **changes)

    def sigs(self, report: Report, count: int = 2) -> list[bytes]:
        return self.pool().sign_report(self.domain, report, count)

    def submit(self, report: Report, sigs: list[bytes] | None = None) -> Any:
        call = self.oracle.functions.submit(report.as_tuple(), sigs or self.sigs(report))
        return send_and_wait(self.w3, self.transmitter, call)

    def increase_time(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@pytest.fixture
def chain(anvil: Anvil) -> Chain:
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    admin, transmitter = new_key(), new_key()
    for key in (admin, transmitter):
        fund(w3, Account.from_key(key).address)
    signers = [ReportSigner(Account.from_key(new_key())) for _ in range(3)]
    address = deploy(
        w3,
        admin,
        [s.address for s in signers],
        2,
        WINDOW,
        [Account.from_key(transmitter).address],
        DELAY,
    )
    return Chain(
        w3, admin, transmitter, signers, bind(w3, address), Domain(w3.eth.chain_id, address)
    )


def refused(call: Any, sender: str) -> ContractError:
    with pytest.raises(ContractCustomError) as caught:
        call.call({"from": Account.from_key(sender).address})
    error = decode_error(revert_data(caught.value))
    assert error is not None, caught.value
    return error


def events(chain: Chain, receipt: Any, name: str) -> list[Any]:
    return list(getattr(chain.oracle.events, name)().process_receipt(receipt))


def test_digests_match_the_contract(chain: Chain) -> None:
    first, second = chain.report(), chain.report(home_score=0)
    assert chain.oracle.functions.reportDigest(first.as_tuple()).call() == report_digest(
        chain.domain, first
    )
    assert chain.oracle.functions.batchDigest(
        [first.as_tuple(), second.as_tuple()]
    ).call() == batch_digest(chain.domain, [first, second])


def test_a_signed_report_is_accepted_and_readable(chain: Chain) -> None:
    report = chain.report(status=2, home_score=0, away_score=0)
    receipt = chain.submit(report)
    (event,) = events(chain, receipt, "ResultSubmitted")
    assert event.args.fixtureId == report.fixture_id
    assert (event.args.version, event.args.status, event.args.sourcesHash) == (
        1,
        2,
        report.sources_hash,
    )
    latest = chain.oracle.functions.latest(report.fixture_id).call()
    assert latest[:5] == (2, 0, 0, 1, report.observed_at)
    assert latest[6] is False
    assert chain.oracle.functions.isFinal(report.fixture_id).call() is False


def test_only_a_transmitter_submits(chain: Chain) -> None:
    report = chain.report()
    error = refused(
        chain.oracle.functions.submit(report.as_tuple(), chain.sigs(report)), chain.admin
    )
    assert error.name == "AccessControlUnauthorizedAccount"


def test_signature_sets_that_do_not_prove_k_of_n_are_refused(chain: Chain) -> None:
    report = chain.report()
    submit = chain.oracle.functions.submit
    sigs = chain.sigs(report)
    assert refused(submit(report.as_tuple(), sigs[:1]), chain.transmitter) == ContractError(
        "NotEnoughSignatures", (1, 2)
    )
    assert refused(submit(report.as_tuple(), sigs[::-1]), chain.transmitter) == ContractError(
        "SignersNotAscending", (1,)
    )
    # The same signer twice is not two signers.
    assert (
        refused(submit(report.as_tuple(), [sigs[0], sigs[0]]), chain.transmitter).name
        == "SignersNotAscending"
    )
    outsider = ReportSigner(Account.from_key(new_key()))
    mixed = chain.pool([chain.signers[0], outsider]).sign_report(chain.domain, report, 2)
    assert refused(submit(report.as_tuple(), mixed), chain.transmitter).name == "NotASigner"
    assert refused(
        submit(report.as_tuple(), [b"\x01" * 65, sigs[1]]), chain.transmitter
    ) == ContractError("InvalidSignature", (0,))
    # Signatures over another score recover other addresses: the report cannot be altered.
    altered = replace(report, home_score=3)
    assert refused(submit(altered.as_tuple(), sigs), chain.transmitter).name == "NotASigner"


def test_reports_must_be_well_formed(chain: Chain) -> None:
    submit = chain.oracle.functions.submit
    for bad, reason in (
        (chain.report(status=0), "InvalidStatus"),
        (chain.report(status=4), "InvalidStatus"),
        (chain.report(version=0), "InvalidVersion"),
        (chain.report(config_version=7), "WrongConfigVersion"),
    ):
        assert refused(submit(bad.as_tuple(), chain.sigs(bad)), chain.transmitter).name == reason


def test_a_replayed_or_older_report_is_refused(chain: Chain) -> None:
    report = chain.report(version=2)
    chain.submit(report)
    submit = chain.oracle.functions.submit
    assert refused(
        submit(report.as_tuple(), chain.sigs(report)), chain.transmitter
    ) == ContractError("StaleVersion", (report.fixture_id, 2, 2))
    older = replace(report, version=1)
    assert refused(submit(older.as_tuple(), chain.sigs(older)), chain.transmitter).name == (
        "StaleVersion"
    )


def test_corrections_until_the_window_closes_then_final_once(chain: Chain) -> None:
    report = chain.report()
    chain.submit(report)
    correction = replace(report, version=2, home_score=3)
    receipt = chain.submit(correction)
    (event,) = events(chain, receipt, "ResultCorrected")
    assert (event.args.version, event.args.homeScore) == (2, 3)
    finalise = chain.oracle.functions.finalise
    error = refused(finalise([report.fixture_id]), chain.transmitter)
    assert error.name == "DisputeWindowOpen"
    chain.increase_time(WINDOW)
    assert chain.oracle.functions.isFinal(report.fixture_id).call() is True
    late = replace(report, version=3)
    assert refused(
        chain.oracle.functions.submit(late.as_tuple(), chain.sigs(late)), chain.transmitter
    ) == ContractError("ResultIsFinal", (report.fixture_id,))
    receipt = send_and_wait(chain.w3, chain.transmitter, finalise([report.fixture_id]))
    (final,) = events(chain, receipt, "ResultFinalised")
    assert (final.args.version, final.args.homeScore, final.args.awayScore) == (2, 3, 1)
    again = send_and_wait(chain.w3, chain.transmitter, finalise([report.fixture_id]))
    assert events(chain, again, "ResultFinalised") == []
    unknown = fixture_key("never-published")
    assert refused(finalise([unknown]), chain.transmitter) == ContractError(
        "UnknownFixture", (unknown,)
    )
    assert refused(chain.oracle.functions.latest(unknown), chain.transmitter).name == (
        "UnknownFixture"
    )


def test_rotation_retires_the_old_signers_and_their_signatures(chain: Chain) -> None:
    old_report = chain.report()
    old_sigs = chain.sigs(old_report)
    fresh = [ReportSigner(Account.from_key(new_key())) for _ in range(3)]
    ordered = sorted((s.address for s in fresh), key=lambda a: int(a, 16))
    propose = chain.oracle.functions.proposeConfig
    assert refused(propose(ordered, 2), chain.transmitter).name == (
        "AccessControlUnauthorizedAccount"
    )
    assert refused(propose(ordered, 0), chain.admin).name == "InvalidConfig"
    assert refused(propose(ordered, 4), chain.admin).name == "InvalidConfig"
    assert refused(propose(ordered[::-1], 2), chain.admin).name == "InvalidConfig"
    propose_config(chain.w3, chain.admin, chain.oracle.address, ordered, 2)
    chain.increase_time(DELAY)
    assert execute_config(chain.w3, chain.admin, chain.oracle.address, ordered, 2) == 2
    assert chain.oracle.functions.threshold().call() == 2
    assert list(chain.oracle.functions.signers().call()) == ordered
    submit = chain.oracle.functions.submit
    # Signatures made for the old set: their signers are retired.
    assert refused(submit(old_report.as_tuple(), old_sigs), chain.transmitter).name == "NotASigner"
    # New signers on a report bound to the old config: the config version refuses it.
    stale = chain.pool(fresh).sign_report(chain.domain, old_report, 2)
    assert refused(submit(old_report.as_tuple(), stale), chain.transmitter) == ContractError(
        "WrongConfigVersion", (2, 1)
    )
    current = replace(old_report, config_version=2)
    by_old = chain.pool().sign_report(chain.domain, current, 2)
    assert refused(submit(current.as_tuple(), by_old), chain.transmitter).name == "NotASigner"
    chain.submit(current, chain.pool(fresh).sign_report(chain.domain, current, 2))
    assert chain.oracle.functions.latest(current.fixture_id).call()[3] == 1


def test_a_batch_shares_one_signature_set_and_is_atomic(chain: Chain) -> None:
    reports = [chain.report() for _ in range(3)]
    batch = chain.oracle.functions.submitBatch
    sigs = chain.pool().sign_batch(chain.domain, reports, 2)
    receipt = send_and_wait(
        chain.w3, chain.transmitter, batch([r.as_tuple() for r in reports], sigs)
    )
    assert len(events(chain, receipt, "ResultSubmitted")) == 3
    assert refused(batch([], sigs), chain.transmitter) == ContractError("EmptyBatch", ())
    # One stale report refuses the whole batch: nothing of it lands.
    newcomer = chain.report()
    mixed = [newcomer, reports[0]]
    mixed_sigs = chain.pool().sign_batch(chain.domain, mixed, 2)
    assert refused(batch([r.as_tuple() for r in mixed], mixed_sigs), chain.transmitter).name == (
        "StaleVersion"
    )
    # Single-report signatures do not verify a batch.
    single = chain.sigs(newcomer)
    assert refused(batch([newcomer.as_tuple()], single), chain.transmitter).name == "NotASigner"


def test_every_custom_error_is_decodable() -> None:
    names = {item["name"] for item in artifact().abi if item["type"] == "error"}
    assert {"StaleVersion", "NotASigner", "ResultIsFinal", "DisputeWindowOpen"} <= names

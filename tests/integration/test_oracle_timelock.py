"""ResultOracle's admin safety on a real anvil: signer-set changes wait out a timelock and need a
strict majority, so one admin key cannot swap in its own signer and publish a forged result."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError

from launcher.embedded import Anvil
from services.oracle.adapters.chain.contract import (
    TRANSMITTER_ROLE,
    ContractError,
    ascending,
    bind,
    decode_error,
    deploy,
    execute_config,
    propose_config,
    revert_data,
    send_and_wait,
)
from services.oracle.adapters.chain.signers import ReportSigner, SignerPool
from services.oracle.domain.reports import Domain, Report, fixture_key
from tests.support.chain import rpc

DELAY = 3600


def new_key() -> str:
    return "0x" + secrets.token_hex(32)


class Rig:
    def __init__(self, anvil: Anvil) -> None:
        self.w3 = Web3(Web3.HTTPProvider(anvil.url))
        self.admin, self.transmitter = new_key(), new_key()
        for key in (self.admin, self.transmitter):
            rpc(self.w3, "anvil_setBalance", Account.from_key(key).address, hex(10**20))
        self.signers = [ReportSigner(Account.from_key(new_key())) for _ in range(3)]
        self.address = deploy(
            self.w3,
            self.admin,
            [s.address for s in self.signers],
            2,
            600,
            [Account.from_key(self.transmitter).address],
            DELAY,
        )
        self.oracle: Contract = bind(self.w3, self.address)

    def refused(self, call: Any, key: str) -> ContractError:
        with pytest.raises(ContractCustomError) as caught:
            call.call({"from": Account.from_key(key).address})
        error = decode_error(revert_data(caught.value))
        assert error is not None, caught.value
        return error

    def later(self, seconds: int) -> None:
        rpc(self.w3, "evm_increaseTime", seconds)
        rpc(self.w3, "evm_mine")

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])


@pytest.fixture
def rig(anvil: Anvil) -> Rig:
    return Rig(anvil)


def test_deployment_refuses_a_minority_threshold_and_a_short_delay(rig: Rig) -> None:
    signers = [s.address for s in rig.signers]
    for threshold, delay in ((1, DELAY), (2, 60), (0, DELAY)):
        with pytest.raises(ContractCustomError) as caught:
            deploy(rig.w3, rig.admin, signers, threshold, 600, [], delay)
        error = decode_error(revert_data(caught.value))
        assert error is not None
        assert error.name == ("InvalidDelay" if delay < DELAY else "InvalidConfig")
    assert rig.oracle.functions.configDelay().call() == DELAY
    assert rig.oracle.functions.disputeWindow().call() == 600


def test_a_change_executed_before_its_delay_reverts(rig: Rig) -> None:
    fresh = ascending([Account.from_key(new_key()).address for _ in range(3)])
    executable_at = propose_config(rig.w3, rig.admin, rig.address, fresh, 2)
    assert executable_at >= rig.now() + DELAY - 1
    proposal = rig.oracle.functions.proposalId(fresh, 2).call()
    assert rig.oracle.functions.proposalExecutableAt(proposal).call() == executable_at
    execute = rig.oracle.functions.executeConfig(fresh, 2)
    assert rig.refused(execute, rig.admin) == ContractError(
        "ProposalNotReady", (proposal, executable_at)
    )
    # Proposing it again does not restart or shorten anything.
    assert rig.refused(rig.oracle.functions.proposeConfig(fresh, 2), rig.admin).name == (
        "ProposalPending"
    )
    rig.later(DELAY // 2)
    assert rig.refused(execute, rig.admin).name == "ProposalNotReady"
    assert rig.oracle.functions.configVersion().call() == 1
    rig.later(DELAY // 2 + 1)
    # Only the admin applies it, and only the config that was proposed.
    assert rig.refused(execute, rig.transmitter).name == "AccessControlUnauthorizedAccount"
    assert rig.refused(rig.oracle.functions.executeConfig(fresh, 3), rig.admin).name == (
        "UnknownProposal"
    )
    assert execute_config(rig.w3, rig.admin, rig.address, fresh, 2) == 2
    assert list(rig.oracle.functions.signers().call()) == fresh
    # Executed once: a second execution finds no proposal.
    assert rig.refused(execute, rig.admin).name == "UnknownProposal"


def test_a_proposal_made_before_another_change_never_applies(rig: Rig) -> None:
    first = ascending([Account.from_key(new_key()).address for _ in range(3)])
    second = ascending([Account.from_key(new_key()).address for _ in range(5)])
    propose_config(rig.w3, rig.admin, rig.address, first, 2)
    propose_config(rig.w3, rig.admin, rig.address, second, 3)
    rig.later(DELAY)
    execute_config(rig.w3, rig.admin, rig.address, second, 3)
    stale = rig.oracle.functions.executeConfig(first, 2)
    assert rig.refused(stale, rig.admin).name == "UnknownProposal"


def test_a_cancelled_proposal_cannot_execute(rig: Rig) -> None:
    fresh = ascending([Account.from_key(new_key()).address for _ in range(3)])
    propose_config(rig.w3, rig.admin, rig.address, fresh, 2)
    proposal = rig.oracle.functions.proposalId(fresh, 2).call()
    cancel = rig.oracle.functions.cancelConfig(proposal)
    assert rig.refused(cancel, rig.transmitter).name == "AccessControlUnauthorizedAccount"
    receipt = send_and_wait(rig.w3, rig.admin, cancel)
    (event,) = rig.oracle.events.ConfigCancelled().process_receipt(receipt)
    assert event["args"]["proposalId"] == proposal
    rig.later(DELAY)
    assert rig.refused(rig.oracle.functions.executeConfig(fresh, 2), rig.admin).name == (
        "UnknownProposal"
    )


@pytest.mark.parametrize(("n", "k"), [(2, 1), (3, 1), (4, 2), (5, 2), (6, 3)])
def test_a_threshold_of_half_or_less_reverts(rig: Rig, n: int, k: int) -> None:
    signers = ascending([Account.from_key(new_key()).address for _ in range(n)])
    call = rig.oracle.functions.proposeConfig(signers, k)
    assert rig.refused(call, rig.admin) == ContractError("InvalidConfig", ())
    # One more signature is a strict majority and is accepted.
    rig.oracle.functions.proposeConfig(signers, k + 1).call(
        {"from": Account.from_key(rig.admin).address}
    )


def test_the_admin_cannot_rotate_to_itself_and_publish_in_a_few_transactions(rig: Rig) -> None:
    """The audit's attack: admin makes itself the only signer (k=1) and transmitter, then
    publishes a forged result. Every step it can take at once leaves the result unpublished."""
    w3, admin = rig.w3, Account.from_key(rig.admin)
    # Its own key plus an accomplice at k=1 is a minority threshold: refused outright.
    accomplice = Account.from_key(new_key()).address
    pair = ascending([admin.address, accomplice])
    assert rig.refused(rig.oracle.functions.proposeConfig(pair, 1), rig.admin).name == (
        "InvalidConfig"
    )
    # Alone at k=1 (a majority of one) may be proposed, but the delay stands in the way.
    propose_config(w3, rig.admin, rig.address, [admin.address], 1)
    send_and_wait(w3, rig.admin, rig.oracle.functions.grantRole(TRANSMITTER_ROLE, admin.address))
    assert rig.refused(rig.oracle.functions.executeConfig([admin.address], 1), rig.admin).name == (
        "ProposalNotReady"
    )
    forged = Report(
        fixture_id=fixture_key("fx-forged"),
        status=1,
        home_score=0,
        away_score=2,
        sources_hash=secrets.token_bytes(32),
        version=1,
        observed_at=rig.now(),
        config_version=1,
    )
    domain = Domain(int(w3.eth.chain_id), rig.address)
    own = SignerPool([ReportSigner(admin)]).sign_report(domain, forged, 1)
    submit = rig.oracle.functions.submit(forged.as_tuple(), own)
    assert rig.refused(submit, rig.admin) == ContractError("NotEnoughSignatures", (1, 2))
    # With a second signature of its own making it is still not one of the signers.
    extra = ReportSigner(Account.from_key(new_key()))
    two = SignerPool([ReportSigner(admin), extra]).sign_report(domain, forged, 2)
    assert rig.refused(rig.oracle.functions.submit(forged.as_tuple(), two), rig.admin).name == (
        "NotASigner"
    )
    assert not rig.oracle.functions.isFinal(forged.fixture_id).call()
    # The proposal sits on chain, public, for the whole delay (watchers see ConfigProposed).
    proposals = rig.oracle.events.ConfigProposed().get_logs(from_block=0)
    assert [list(p["args"]["signers"]) for p in proposals] == [[admin.address]]

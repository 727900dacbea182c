"""Signer processes (`python -m services.signer`) against a real anvil: a file-backed and a
KMS-backed signer (KMS emulated over HTTP, boto3 the real client), their signatures checked by
the contract's own ecrecover, and the reports and domains they refuse."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import grpc
import pytest
from betmesh.signer.v1 import signer_service_pb2 as pb
from betmesh.signer.v1 import signer_service_pb2_grpc
from eth_account import Account
from grpc_status import rpc_status
from web3 import Web3
from web3.exceptions import ContractCustomError

from launcher.embedded import Anvil, free_port
from service_runtime.errors import error_info
from services.oracle.adapters.chain.contract import bind, decode_error, deploy, revert_data
from services.oracle.adapters.chain.launch import write_key
from services.oracle.domain.reports import Report, fixture_key
from services.signer.adapters.kms_key import KmsKey
from tests.support.chain import rpc
from tests.support.kms_emulator import KmsEmulator
from tests.support.signers import signer_env, signer_process, wait_serving

AWS = {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator"}
REGION = "eu-west-3"


@dataclass
class Rig:
    w3: Web3
    transmitter: str
    contract: str
    other_contract: str
    file_stub: Any
    kms_stub: Any
    file_address: str
    kms_address: str
    emulator: KmsEmulator

    def report(self, **changes: Any) -> Report:
        fields = {
            "fixture_id": fixture_key(f"fx-{secrets.token_hex(6)}"),
            "status": 1,
            "home_score": 2,
            "away_score": 1,
            "sources_hash": secrets.token_bytes(32),
            "version": 1,
            "observed_at": int(time.time()) - 60,
            "config_version": 1,
            **changes,
        }
        return Report(**fields)

    def accepted(self, contract: str, report: Report, signatures: list[bytes]) -> str | None:
        """None when the contract accepts the report (ecrecover included), else its error."""
        call = bind(self.w3, contract).functions.submit(report.as_tuple(), signatures)
        try:
            call.call({"from": Account.from_key(self.transmitter).address})
        except ContractCustomError as exc:
            error = decode_error(revert_data(exc))
            return error.name if error is not None else str(exc)
        return None


def signable(report: Report) -> pb.SignableReport:
    return pb.SignableReport(
        fixture_id=report.fixture_id,
        status=report.status,
        home_score=report.home_score,
        away_score=report.away_score,
        sources_hash=report.sources_hash,
        version=report.version,
        observed_at=report.observed_at,
        config_version=report.config_version,
    )


def sign(stub: Any, *reports: Report, kind: Any = pb.DIGEST_KIND_REPORT) -> Any:
    return stub.SignReports(
        pb.SignReportsRequest(kind=kind, reports=[signable(r) for r in reports]), timeout=10
    )


def refusal(stub: Any, request: pb.SignReportsRequest) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        stub.SignReports(request, timeout=10)
    info = error_info(rpc_status.from_call(caught.value))
    assert info is not None
    return caught.value.code(), info.reason


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("signers")
    anvil = Anvil()
    anvil.start()
    emulator = KmsEmulator().start()
    try:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        admin, transmitter = ("0x" + secrets.token_hex(32) for _ in range(2))
        for key in (admin, transmitter):
            rpc(w3, "anvil_setBalance", Account.from_key(key).address, hex(10**20))
        kms_key_id = emulator.create_key()
        client = boto3.client(
            "kms",
            region_name=REGION,
            endpoint_url=emulator.url,
            aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
        )
        kms_address = KmsKey(client, kms_key_id).address
        file_key = tmp / "signer-file.key"
        file_address = write_key(file_key)
        third = Account.from_key("0x" + secrets.token_hex(32)).address
        signers = [kms_address, file_address, third]
        transmitters = [Account.from_key(transmitter).address]
        contract = deploy(w3, admin, signers, 2, 600, transmitters)
        other = deploy(w3, admin, signers, 2, 600, transmitters)
        file_port, kms_port = free_port(), free_port()
        file_log, kms_log = tmp / "file.log", tmp / "kms.log"
        file_env = signer_env(31337, contract, key_file=str(file_key))
        kms_env = {
            **AWS,
            **signer_env(
                31337,
                contract,
                kms_key_id=kms_key_id,
                kms_region=REGION,
                kms_endpoint_url=emulator.url,
            ),
        }
        with (
            signer_process(file_port, file_env, file_log) as file_process,
            signer_process(kms_port, kms_env, kms_log) as kms_process,
        ):
            wait_serving(file_port, file_process, file_log)
            wait_serving(kms_port, kms_process, kms_log)
            with (
                grpc.insecure_channel(f"127.0.0.1:{file_port}") as file_channel,
                grpc.insecure_channel(f"127.0.0.1:{kms_port}") as kms_channel,
            ):
                yield Rig(
                    w3,
                    transmitter,
                    contract,
                    other,
                    signer_service_pb2_grpc.SignerServiceStub(file_channel),
                    signer_service_pb2_grpc.SignerServiceStub(kms_channel),
                    file_address,
                    kms_address,
                    emulator,
                )
        # Keys never reach a log.
        for log in (file_log, kms_log):
            assert file_key.read_text().strip()[2:] not in log.read_text()
    finally:
        emulator.stop()
        anvil.stop()


def ordered(*answers: Any) -> list[bytes]:
    return [a.signature for a in sorted(answers, key=lambda a: int(a.signer_address, 16))]


def test_each_signer_says_who_it_is(rig: Rig) -> None:
    file_info = rig.file_stub.GetSigner(pb.GetSignerRequest(), timeout=10)
    kms_info = rig.kms_stub.GetSigner(pb.GetSignerRequest(), timeout=10)
    assert (file_info.signer_address, file_info.key_source) == (rig.file_address, "file")
    assert (kms_info.signer_address, kms_info.key_source) == (rig.kms_address, "kms")
    assert (kms_info.chain_id, kms_info.contract_address) == (31337, rig.contract)


def test_kms_signatures_recover_to_its_address_on_chain(rig: Rig) -> None:
    signs_before = sum(1 for target, _ in rig.emulator.calls if target == "Sign")
    # Several reports: KMS answers high and low s alike, each must verify on chain.
    for _ in range(6):
        report = rig.report()
        kms, by_file = sign(rig.kms_stub, report), sign(rig.file_stub, report)
        assert kms.signer_address == rig.kms_address
        assert (
            kms.digest
            == bind(rig.w3, rig.contract).functions.reportDigest(report.as_tuple()).call()
        )
        assert rig.accepted(rig.contract, report, ordered(kms, by_file)) is None
    batch = [rig.report(), rig.report(status=3, home_score=0, away_score=0)]
    kms = sign(rig.kms_stub, *batch, kind=pb.DIGEST_KIND_BATCH)
    by_file = sign(rig.file_stub, *batch, kind=pb.DIGEST_KIND_BATCH)
    call = bind(rig.w3, rig.contract).functions.submitBatch(
        [r.as_tuple() for r in batch], ordered(kms, by_file)
    )
    call.call({"from": Account.from_key(rig.transmitter).address})
    signs = [body for target, body in rig.emulator.calls if target == "Sign"]
    assert len(signs) - signs_before == 7
    assert all(body["MessageType"] == "DIGEST" for body in signs)


def test_signatures_are_good_for_the_signers_contract_only(rig: Rig) -> None:
    """Same signer set on another contract: a signature got from these signers (by a caller
    that controls the oracle) is worthless there, the digest binds chain and contract."""
    report = rig.report()
    signatures = ordered(sign(rig.kms_stub, report), sign(rig.file_stub, report))
    assert rig.accepted(rig.contract, report, signatures) is None
    assert rig.accepted(rig.other_contract, report, signatures) == "NotASigner"


def test_malformed_and_forged_reports_are_refused(rig: Rig) -> None:
    """Shape (the contract's field rules, checked by the runtime) and meaning (the signer's own
    checks: a result observed in the future, an all-zero sources hash, a fixture twice)."""
    fields = "INVALID_REQUEST_FIELDS"
    good = signable(rig.report())
    cases: list[tuple[pb.SignReportsRequest, str]] = [
        (pb.SignReportsRequest(kind=pb.DIGEST_KIND_REPORT), fields),
        (pb.SignReportsRequest(reports=[good]), fields),
        (pb.SignReportsRequest(kind=pb.DIGEST_KIND_BATCH, reports=[good] * 101), fields),
        (
            pb.SignReportsRequest(kind=pb.DIGEST_KIND_REPORT, reports=[good, good]),
            "ONE_REPORT_EXPECTED",
        ),
        (
            pb.SignReportsRequest(kind=pb.DIGEST_KIND_BATCH, reports=[good, good]),
            "DUPLICATE_FIXTURE",
        ),
    ]
    changes: list[tuple[dict[str, Any], str]] = [
        ({"fixture_id": b"short"}, fields),
        ({"status": 9}, fields),
        ({"sources_hash": b""}, fields),
        ({"version": 0}, fields),
        ({"observed_at": 2**41}, fields),
        ({"config_version": 0}, fields),
        ({"sources_hash": bytes(32)}, "SOURCES_HASH_INVALID"),
        # A result "observed" next week: forged.
        ({"observed_at": int(time.time()) + 7 * 86_400}, "OBSERVED_AT_IN_FUTURE"),
    ]
    for change, reason in changes:
        bad = pb.SignableReport()
        bad.CopyFrom(good)
        for name, value in change.items():
            setattr(bad, name, value)
        cases.append((pb.SignReportsRequest(kind=pb.DIGEST_KIND_REPORT, reports=[bad]), reason))
    for stub in (rig.file_stub, rig.kms_stub):
        for request, reason in cases:
            assert refusal(stub, request) == (grpc.StatusCode.INVALID_ARGUMENT, reason)


def test_a_key_file_others_can_read_is_refused_at_start(tmp_path: Path) -> None:
    key = tmp_path / "loose.key"
    write_key(key)
    os.chmod(key, 0o644)
    port, log = free_port(), tmp_path / "loose.log"
    env = signer_env(31337, "0x" + "12" * 20, key_file=str(key))
    with signer_process(port, env, log) as process:
        assert process.wait(60) != 0
    assert "must not be accessible to group or others" in log.read_text()

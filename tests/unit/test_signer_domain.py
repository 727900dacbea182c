"""The signer's own rules: which reports it signs, for whom, and the KMS signature conversion."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account
from eth_utils import keccak  # type: ignore[attr-defined]

from service_runtime.auth import Principal
from service_runtime.errors import InvalidArgument, PermissionDenied
from service_runtime.settings import SettingsError
from services.oracle.domain.reports import Domain, Report, batch_digest, report_digest
from services.signer.adapters.kms_key import SECP256K1_N, KmsKeyError, ethereum_signature
from services.signer.domain.callers import authorize
from services.signer.domain.reports import (
    MAX_BATCH,
    DigestKind,
    ReportFields,
    checked_digest,
)
from services.signer.settings import SignerSettings

NOW = 1_800_000_000.0
DOMAIN = Domain(31337, "0x" + "11" * 20)


def fields(**changes: object) -> ReportFields:
    base = ReportFields(
        fixture_id=keccak(text=f"fx-{secrets.token_hex(4)}"),
        status=1,
        home_score=2,
        away_score=1,
        sources_hash=secrets.token_bytes(32),
        version=1,
        observed_at=int(NOW) - 60,
        config_version=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def as_report(f: ReportFields) -> Report:
    return Report(
        f.fixture_id,
        f.status,
        f.home_score,
        f.away_score,
        f.sources_hash,
        f.version,
        f.observed_at,
        f.config_version,
    )


def test_the_digest_is_the_contracts_for_one_report_and_for_a_batch() -> None:
    one, two = fields(), fields(status=3, home_score=0, away_score=0)
    assert checked_digest(DOMAIN, DigestKind.REPORT, [one], NOW) == report_digest(
        DOMAIN, as_report(one)
    )
    assert checked_digest(DOMAIN, DigestKind.BATCH, [one, two], NOW) == batch_digest(
        DOMAIN, [as_report(one), as_report(two)]
    )
    # Another contract or chain: another digest (a signature is good for one domain only).
    other = Domain(1, DOMAIN.contract)
    assert checked_digest(other, DigestKind.REPORT, [one], NOW) != checked_digest(
        DOMAIN, DigestKind.REPORT, [one], NOW
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"fixture_id": b"\x01" * 31}, "FIXTURE_ID_INVALID"),
        ({"status": 0}, "STATUS_INVALID"),
        ({"status": 4}, "STATUS_INVALID"),
        ({"home_score": 2**32}, "SCORE_INVALID"),
        ({"away_score": -1}, "SCORE_INVALID"),
        ({"sources_hash": b"\x00" * 32}, "SOURCES_HASH_INVALID"),
        ({"sources_hash": b"\x01" * 33}, "SOURCES_HASH_INVALID"),
        ({"version": 0}, "VERSION_INVALID"),
        ({"observed_at": 0}, "OBSERVED_AT_INVALID"),
        ({"observed_at": 2**40}, "OBSERVED_AT_INVALID"),
        ({"observed_at": int(NOW) + 86_400}, "OBSERVED_AT_IN_FUTURE"),
        ({"config_version": 0}, "CONFIG_VERSION_INVALID"),
    ],
)
def test_a_malformed_report_is_refused_with_its_reason(
    change: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        checked_digest(DOMAIN, DigestKind.BATCH, [fields(), fields(**change)], NOW)
    assert caught.value.reason == reason
    assert caught.value.metadata == {"index": "1"}


def test_request_shapes_are_refused() -> None:
    one = fields()
    cases = [
        (None, [one], "DIGEST_KIND_INVALID"),
        (DigestKind.BATCH, [], "REPORTS_REQUIRED"),
        (DigestKind.REPORT, [one, fields()], "ONE_REPORT_EXPECTED"),
        (DigestKind.BATCH, [fields() for _ in range(MAX_BATCH + 1)], "TOO_MANY_REPORTS"),
        (DigestKind.BATCH, [one, replace(one, version=2)], "DUPLICATE_FIXTURE"),
        (DigestKind.BATCH, [one, fields(config_version=2)], "CONFIG_VERSION_MIXED"),
    ]
    for kind, items, reason in cases:
        with pytest.raises(InvalidArgument) as caught:
            checked_digest(DOMAIN, kind, items, NOW)
        assert caught.value.reason == reason


def test_only_the_oracles_credential_is_answered() -> None:
    oracle = Principal(subject="svc-oracle", role="service")
    authorize(oracle, {"svc-oracle"}, allow_anonymous=False)
    for caller in (
        None,
        Principal(subject="svc-bets", role="service"),  # another internal service
        Principal(subject="svc-oracle", role="operator"),
        Principal(subject="betmesh-demo-operator", role="operator"),
    ):
        with pytest.raises(PermissionDenied) as caught:
            authorize(caller, {"svc-oracle"}, allow_anonymous=False)
        assert caught.value.reason == "CALLER_NOT_ORACLE"
    authorize(None, {"svc-oracle"}, allow_anonymous=True)  # a local anonymous mesh


def test_settings_need_one_key_source_tokens_and_a_domain() -> None:
    base = {
        "BETMESH_AUTH_MODE": "tokens",
        "BETMESH_SIGNER_CHAIN_ID": "1",
        "BETMESH_SIGNER_CONTRACT_ADDRESS": "0x" + "ab" * 20,
    }
    settings = SignerSettings.from_env({**base, "BETMESH_SIGNER_KEY_FILE": "/run/key"})
    assert (settings.key_source, settings.allowed_clients) == ("file", ("svc-oracle",))
    kms = SignerSettings.from_env(
        {**base, "BETMESH_SIGNER_KMS_KEY_ID": "alias/s1", "BETMESH_SIGNER_KMS_REGION": "eu-west-3"}
    )
    assert kms.key_source == "kms"
    refused = [
        ({**base}, "exactly one of"),
        ({**base, "BETMESH_SIGNER_KEY_FILE": "/k", "BETMESH_SIGNER_KMS_KEY_ID": "x"}, "exactly"),
        ({**base, "BETMESH_SIGNER_KMS_KEY_ID": "x"}, "BETMESH_SIGNER_KMS_REGION"),
        ({**base, "BETMESH_SIGNER_KEY_FILE": "/k", "BETMESH_AUTH_MODE": "anonymous"}, "tokens"),
        ({**base, "BETMESH_SIGNER_KEY_FILE": "/k", "BETMESH_SIGNER_CHAIN_ID": "0"}, "CHAIN_ID"),
        (
            {
                **base,
                "BETMESH_SIGNER_KEY_FILE": "/k",
                "BETMESH_ENVIRONMENT": "production",
                "BETMESH_SIGNER_ALLOW_ANONYMOUS": "true",
            },
            "refused in production",
        ),
    ]
    for env, words in refused:
        with pytest.raises(SettingsError) as caught:
            SignerSettings.from_env(env)
        assert words in str(caught.value)


def _kms_like(key: ec.EllipticCurvePrivateKey, digest: bytes, high_s: bool) -> bytes:
    """A DER signature as KMS returns it, forced to the high or low half of s."""
    r, s = decode_dss_signature(key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
    if (s > SECP256K1_N // 2) != high_s:
        s = SECP256K1_N - s
    return encode_dss_signature(r, s)


def test_a_kms_signature_becomes_a_low_s_recoverable_ethereum_signature() -> None:
    key = ec.generate_private_key(ec.SECP256K1())
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]
    address = Account.from_key(key.private_numbers().private_value.to_bytes(32, "big")).address
    for high_s in (True, False, True, False):
        digest = secrets.token_bytes(32)
        signature = ethereum_signature(digest, _kms_like(key, digest, high_s), point)
        assert len(signature) == 65 and signature[64] in (27, 28)
        assert int.from_bytes(signature[32:64], "big") <= SECP256K1_N // 2
        assert Account._recover_hash(digest, signature=signature) == address
    other = ec.generate_private_key(ec.SECP256K1()).public_key()
    other_point = other.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]
    with pytest.raises(KmsKeyError):
        ethereum_signature(digest, _kms_like(key, digest, False), other_point)

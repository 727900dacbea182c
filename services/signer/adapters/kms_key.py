"""A signer key held by AWS KMS (key spec ECC_SECG_P256K1), which never exports it.

KMS signs a 32-byte digest (MessageType DIGEST, ECDSA_SHA_256: the digest is used as given)
and answers a DER signature with no recovery id. Ethereum wants r || s || v with s in the low
half of the curve order (EIP-2; OpenZeppelin's ECDSA refuses the high half), so s is
normalised and v found by recovering the public key both ways and keeping the one that matches
the key's own public key (GetPublicKey, read once at start).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)
from eth_keys.datatypes import Signature
from eth_utils import keccak, to_checksum_address  # type: ignore[attr-defined]

KEY_SPEC = "ECC_SECG_P256K1"
SIGNING_ALGORITHM = "ECDSA_SHA_256"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class KmsKeyError(RuntimeError):
    pass


def ethereum_signature(digest: bytes, der: bytes, public_key: bytes) -> bytes:
    """r || s || v (65 bytes) from a DER ECDSA signature by the key whose uncompressed public
    point (64 bytes, x || y) is `public_key`."""
    r, s = decode_dss_signature(der)
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise KmsKeyError("KMS returned a signature out of range")
    if s > SECP256K1_N // 2:
        s = SECP256K1_N - s
    for recovery in (0, 1):
        candidate = Signature(vrs=(recovery, r, s))
        try:
            recovered = candidate.recover_public_key_from_msg_hash(digest)
        except Exception:  # eth_keys raises BadSignature and others for an invalid point
            continue
        if recovered.to_bytes() == public_key:
            return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([27 + recovery])
    raise KmsKeyError("KMS signature does not recover to the key's public key")


class KmsKey:
    source = "kms"

    def __init__(self, client: Any, key_id: str) -> None:
        self._client = client
        self._key_id = key_id
        answer = client.get_public_key(KeyId=key_id)
        # The curve below is the real check; these fields are absent from some emulators.
        if answer.get("KeySpec", KEY_SPEC) != KEY_SPEC:
            raise KmsKeyError(f"KMS key must be {KEY_SPEC}")
        if answer.get("KeyUsage", "SIGN_VERIFY") != "SIGN_VERIFY":
            raise KmsKeyError("KMS key usage must be SIGN_VERIFY")
        public = load_der_public_key(answer["PublicKey"])
        if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(
            public.curve, ec.SECP256K1
        ):
            raise KmsKeyError("KMS public key is not on secp256k1")
        point = public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        self._public = point[1:]  # without the 0x04 prefix
        self._address = to_checksum_address(keccak(self._public)[-20:])

    @classmethod
    def connect(cls, key_id: str, region: str, endpoint_url: str | None = None) -> KmsKey:
        import boto3

        # Credentials come from the default chain: the pod's own IAM role (IRSA) in production.
        client = boto3.client("kms", region_name=region, endpoint_url=endpoint_url or None)
        return cls(client, key_id)

    @property
    def address(self) -> str:
        return str(self._address)

    def __repr__(self) -> str:
        return f"KmsKey({self.address})"

    def sign_digest(self, digest: bytes) -> bytes:
        if len(digest) != 32:
            raise ValueError("a digest is 32 bytes")
        answer = self._client.sign(
            KeyId=self._key_id,
            Message=digest,
            MessageType="DIGEST",
            SigningAlgorithm=SIGNING_ALGORITHM,
        )
        return ethereum_signature(digest, answer["Signature"], self._public)

"""A small AWS KMS emulator (the JSON protocol boto3 speaks) for the KMS signer's tests.

moto's KMS signs ECC_SECG_P256K1 keys but does not implement MessageType DIGEST: it hashes
the digest again, so its signatures never recover to the key on chain. This emulator answers
the two calls the signer makes, CreateKey (for tests), GetPublicKey and Sign, like KMS does:
a DER SubjectPublicKeyInfo, and a DER ECDSA signature over the 32 bytes as given (about half
of them with s in the high half, as KMS returns, so the normalisation is exercised). The
client side (boto3 request signing, serialisation, parsing) is the real one.
"""

from __future__ import annotations

import base64
import json
import uuid
from email.message import Message
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.local_http import LocalHttpServer


class KmsEmulator:
    def __init__(self) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._http = LocalHttpServer(self._post)

    def _post(self, path: str, headers: Message, raw: bytes) -> tuple[int, str, bytes]:
        target = headers.get("X-Amz-Target", "").removeprefix("TrentService.")
        body = json.loads(raw or b"{}")
        self.calls.append((target, body))
        status, answer = self.handle(target, body)
        return status, "application/x-amz-json-1.1", json.dumps(answer).encode()

    @property
    def url(self) -> str:
        return self._http.origin

    def start(self) -> KmsEmulator:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def create_key(self) -> str:
        key_id = str(uuid.uuid4())
        self.keys[key_id] = ec.generate_private_key(ec.SECP256K1())
        return key_id

    def handle(self, target: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        key = self.keys.get(str(body.get("KeyId", "")))
        if key is None:
            return 400, {"__type": "NotFoundException", "message": "key not found"}
        if target == "GetPublicKey":
            spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
            return 200, {
                "KeyId": body["KeyId"],
                "PublicKey": base64.b64encode(spki).decode(),
                "KeySpec": "ECC_SECG_P256K1",
                "KeyUsage": "SIGN_VERIFY",
                "SigningAlgorithms": ["ECDSA_SHA_256"],
            }
        if target == "Sign":
            message = base64.b64decode(body.get("Message", ""))
            if body.get("MessageType") != "DIGEST" or len(message) != 32:
                return 400, {"__type": "ValidationException", "message": "DIGEST of 32 bytes"}
            if body.get("SigningAlgorithm") != "ECDSA_SHA_256":
                return 400, {"__type": "ValidationException", "message": "ECDSA_SHA_256 only"}
            der = key.sign(message, ec.ECDSA(Prehashed(hashes.SHA256())))
            return 200, {
                "KeyId": body["KeyId"],
                "Signature": base64.b64encode(der).decode(),
                "SigningAlgorithm": "ECDSA_SHA_256",
            }
        return 400, {"__type": "UnsupportedOperationException", "message": target}

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
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class KmsEmulator:
    def __init__(self) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                target = self.headers.get("X-Amz-Target", "").removeprefix("TrentService.")
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                emulator.calls.append((target, body))
                status, answer = emulator.handle(target, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> KmsEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

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

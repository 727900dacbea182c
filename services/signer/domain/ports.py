"""What the signer reads and writes through (implemented in adapters/, plugged in by app.py)."""

from __future__ import annotations

from typing import Protocol


class SigningKey(Protocol):
    """One secp256k1 key that signs 32-byte digests; it never hands out the key itself
    (adapters/file_key.py, adapters/kms_key.py)."""

    @property
    def address(self) -> str: ...

    @property
    def source(self) -> str: ...

    def sign_digest(self, digest: bytes) -> bytes:
        """65 bytes r || s || v with s in the low half and v in {27, 28}."""
        ...

"""Content digests: how replicas, the gateway and snapshot stores name exact bytes."""

from __future__ import annotations

import hashlib

from google.protobuf.message import Message

PREFIX = "sha256:"


def digest_bytes(data: bytes) -> str:
    return PREFIX + hashlib.sha256(data).hexdigest()


def canonical_bytes(message: Message) -> bytes:
    """Deterministic serialisation. Callers sort repeated fields first where order is free."""
    return message.SerializeToString(deterministic=True)


def is_digest(value: str) -> bool:
    hex_part = value.removeprefix(PREFIX)
    return (
        value.startswith(PREFIX)
        and len(hex_part) == 64
        and all(c in "0123456789abcdef" for c in hex_part)
    )

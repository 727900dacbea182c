"""Reads the signing key from a PEM file (a mounted secret in deployments)."""

from __future__ import annotations

from pathlib import Path

from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from services.identity.domain.keys import SigningKey


def load_signing_key(path: Path) -> SigningKey:
    try:
        key = ECKey.import_key(path.read_bytes())
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError(f"{path} is not an EC private key in PEM: {exc}") from None
    return SigningKey.of(key)

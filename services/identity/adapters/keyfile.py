"""Reads the signing key from a PEM file (a mounted secret in deployments)."""

from __future__ import annotations

from pathlib import Path

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from services.identity.domain.keys import SigningKey


def load_signing_key(path: Path) -> SigningKey:
    try:
        key = ECKey.import_key(path.read_bytes())
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError(f"{path} is not an EC private key in PEM: {exc}") from None
    return SigningKey.of(key)


def load_decryption_key(path: Path) -> ECKey | RSAKey:
    """FranceConnect+'s tokens are encrypted to this private key (RSA-OAEP or ECDH-ES)."""
    data = path.read_bytes()
    errors: list[str] = []
    for kind in (RSAKey, ECKey):
        try:
            key = kind.import_key(data)
        except (JoseError, ValueError, TypeError) as exc:
            errors.append(str(exc))
            continue
        if not key.is_private:
            raise ValueError(f"{path} holds a public key; decryption needs the private one")
        return key
    raise ValueError(f"{path} is not an RSA or EC private key in PEM: {errors[-1]}")

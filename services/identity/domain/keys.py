"""The signing keys: which one signs, which ones verifiers should trust.

Rotation without rejecting valid tokens goes in three steps, each a method here:
`publish(next)` (verifiers fetch it with the JWKS), then after the verifiers' JWKS cache time
`activate(next.kid)`, then after the longest token lifetime `retire(old.kid)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from joserfc.jwk import ECKey

ALGORITHM = "ES256"
CURVE = "P-256"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: ECKey

    @classmethod
    def of(cls, key: ECKey) -> SigningKey:
        if key.as_dict().get("crv") != CURVE:
            raise ValueError(f"signing keys must be EC {CURVE} ({ALGORITHM})")
        if not key.is_private:
            raise ValueError("a signing key needs its private part")
        # RFC 7638 thumbprint: stable for the key, so a restart with the same PEM keeps the kid.
        return cls(kid=key.thumbprint(), key=key)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls.of(ECKey.generate_key(CURVE))

    def public_jwk(self) -> dict[str, str]:
        public = self.key.as_dict(private=False)
        return {
            "kty": str(public["kty"]),
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
            "crv": str(public["crv"]),
            "x": str(public["x"]),
            "y": str(public["y"]),
        }


class KeyRing:
    def __init__(self, active: SigningKey) -> None:
        self._published: dict[str, SigningKey] = {active.kid: active}
        self._active_kid = active.kid

    @property
    def active(self) -> SigningKey:
        return self._published[self._active_kid]

    def publish(self, key: SigningKey) -> None:
        self._published[key.kid] = key

    def activate(self, kid: str) -> None:
        # Signing with a key no verifier has seen yet would reject every token until refresh.
        if kid not in self._published:
            raise KeyError(f"key {kid} must be published before it signs")
        self._active_kid = kid

    def retire(self, kid: str) -> None:
        if kid == self._active_kid:
            raise ValueError("the active key cannot be retired; activate another first")
        self._published.pop(kid, None)

    def public_jwks(self) -> list[dict[str, str]]:
        return [self._published[kid].public_jwk() for kid in sorted(self._published)]

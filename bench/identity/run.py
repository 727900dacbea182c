"""What the shared token check costs per RPC, against a bare ES256 signature check.

Baseline (same run, same token): joserfc's jwt.decode with the key in hand. Measured: the
TokenAuthenticator every service runs with under BETMESH_AUTH_MODE=tokens (header parsing, kid
lookup in the cached JWKS, signature, claim checks, role policy). The ratio says how much the
checks around the signature add.

    .venv/bin/python -m bench.identity.run
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time

from joserfc import jwt

from service_runtime.tokens import TokenAuthenticator
from services.identity.domain.clients import Client, ClientRegistry, ClientRole
from services.identity.domain.keys import KeyRing, SigningKey
from services.identity.domain.tokens import TokenIssuer, TokenRequest

ROUNDS = 5
CALLS = 2000
METHOD = "/betmesh.bets.v1.BetService/PlaceBet"


async def main() -> None:
    keys = KeyRing(SigningKey.generate())
    client = Client(
        "ops", hashlib.sha256(b"s").digest(), ClientRole.OPERATOR, frozenset({"betmesh.bets"})
    )
    issuer = TokenIssuer(ClientRegistry([client]), keys, "bench", 300)
    token = issuer.issue(TokenRequest("ops", "s", "betmesh.bets")).token

    async def fetch() -> list[dict[str, str]]:
        return keys.public_jwks()

    auth = TokenAuthenticator(audience="betmesh.bets", issuer="bench", fetch_jwks=fetch)
    metadata = {"authorization": f"Bearer {token}"}
    await auth.authenticate(METHOD, metadata)
    key = keys.active.key
    baseline, measured = [], []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(CALLS):
            jwt.decode(token, key, algorithms=["ES256"])
        baseline.append((time.perf_counter() - start) / CALLS)
        start = time.perf_counter()
        for _ in range(CALLS):
            await auth.authenticate(METHOD, metadata)
        measured.append((time.perf_counter() - start) / CALLS)
    base, full = statistics.median(baseline), statistics.median(measured)
    print(f"bare ES256 jwt.decode:      {base * 1e6:8.1f} us/token")
    print(f"TokenAuthenticator:         {full * 1e6:8.1f} us/token")
    print(f"ratio (authenticator/bare): {full / base:8.2f}x")


if __name__ == "__main__":
    asyncio.run(main())

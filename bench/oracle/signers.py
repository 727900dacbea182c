"""Signatures from signer services: what the oracle's k-of-n round trip costs per publication.

Three SignerService hosts (file keys, real gRPC on loopback, anonymous mode) and the oracle's
RemoteSignerPool asking all three for a batch of 10 reports, as a publication pass does:
each answer's digest compared, its signature recovered, the valid ones ordered.

    .venv/bin/python -m bench.oracle.signers
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from service_runtime.channels import ChannelPool
from services.oracle.adapters.chain.launch import write_key
from services.oracle.adapters.chain.remote_signers import RemoteSignerPool
from services.oracle.domain.reports import Domain, Report, fixture_key
from tests.support.signers import signer_hosts

ROUNDS = 200
BATCH = 10
CONTRACT = "0x" + "42" * 20


async def main() -> None:
    folder = Path(tempfile.mkdtemp())
    files = [folder / f"signer-{i}.key" for i in range(3)]
    addresses = [write_key(f) for f in files]
    domain = Domain(31337, CONTRACT)
    reports = [
        Report(
            fixture_key(f"fx-{i}"), 1, 2, 1, secrets.token_bytes(32), 1, int(time.time()) - 60, 1
        )
        for i in range(BATCH)
    ]
    async with signer_hosts(31337, CONTRACT, files) as endpoints:
        channels = ChannelPool(tokens=None)
        pool = RemoteSignerPool(endpoints, asyncio.get_running_loop(), channels, lambda: addresses)
        timings = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            signatures = await asyncio.to_thread(pool.sign_batch, domain, reports, 2)
            timings.append(time.perf_counter() - started)
            assert len(signatures) == 2
        await channels.close()
    timings.sort()
    print(
        f"k-of-n signatures (3 signer services asked, 2 kept) for a batch of {BATCH}, "
        f"{ROUNDS} rounds: median {statistics.median(timings) * 1000:.1f} ms, "
        f"p95 {timings[int(ROUNDS * 0.95)] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())

"""Every process makes its Redis clients through service_runtime.redis_client (`connect`, or
`bounded` for a pool made by hand), which bounds how long a client waits for an answer: a client
made any other way waits without end on a Redis that stops answering without closing its
sockets (the gateway's did, until this test)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MADE_ELSEWHERE = re.compile(r"\bRedis(\.from_url)?\(|StrictRedis\(|from_url\(")


def test_redis_clients_are_made_only_by_the_runtime() -> None:
    offenders = []
    for folder in ("services", "gateway", "service_runtime", "launcher"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "service_runtime" / "redis_client.py":
                continue
            lines = path.read_text().splitlines()
            for number, line in enumerate(lines, 1):
                # A pool made by hand (live's blocking pool) passes the runtime's bounds itself.
                call = " ".join(lines[number - 1 : number + 7])
                if (
                    MADE_ELSEWHERE.search(line)
                    and "redis" in line.lower()
                    and "bounded(" not in call
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_check_finds_a_client_made_directly() -> None:
    assert MADE_ELSEWHERE.search("client = aioredis.Redis.from_url(url)")
    assert MADE_ELSEWHERE.search("client = redis.asyncio.Redis(host='x')")

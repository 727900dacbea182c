"""What the benches that measure a server process's CPU per call share (bench/runtime,
bench/validation): the server started as its own process, its CPU time read from /proc, and
the load, a number of calls spread over concurrent workers (`spread`, which the gateway's and
the edge's benches load with too)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


@contextlib.contextmanager
def server_process(*argv: str) -> Iterator[tuple[int, int]]:
    """`python -m <argv>` (a bench's own server) until the block ends: its pid, and the port
    of the line "READY ... port=N" it prints once it serves."""
    process = subprocess.Popen(
        [sys.executable, "-m", *argv], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        ready = next(line for line in process.stdout if line.startswith("READY"))
        port = int(dict(p.split("=", 1) for p in ready.split()[2:])["port"])
        yield process.pid, port
    finally:
        process.terminate()
        process.wait(10)


async def spread(calls: int, concurrency: int, call: Callable[[], Awaitable[Any]]) -> None:
    """`calls` calls of `call`, `concurrency` in flight at any time."""
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(concurrency)))

"""A process whose background step is inside a call when SIGTERM arrives, and turns the
cancellation into an error of its own (as redis-py can under load): `python -m
tests.support.background_service converts|refuses`. Used by tests/integration/test_background.py.

`converts`: the step raises ConnectionError when cancelled; the process must exit 0.
`refuses`: a long-running task swallows every cancellation; the process must still exit, 70.
"""

from __future__ import annotations

import asyncio
import sys

from service_runtime.background import Background, every, forever
from service_runtime.server import ServiceHost, run_service
from tests.support.grpc_helpers import local_server_settings


async def converts() -> None:
    print("STEP", flush=True)
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        raise ConnectionError("Connection closed by server.") from None


async def refuses() -> None:
    print("STEP", flush=True)
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            continue


def build(mode: str) -> ServiceHost:
    task: Background = (
        every("converts", 0.01, converts) if mode == "converts" else forever("refuses", refuses)
    )
    return ServiceHost(
        service="betmesh.test",
        settings=local_server_settings(),
        registrations=[],
        background=[task],
        background_stop_seconds=0.5,
    )


if __name__ == "__main__":
    mode = sys.argv[1]
    run_service("betmesh.test", lambda: build(mode), "WARNING", event_loop="uvloop")

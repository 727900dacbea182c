"""The event loop a process runs on: uvloop by default, the standard library's as a fallback.

uvloop runs the same asyncio code on a loop written in C over libuv (callbacks, timers, the
selector, socket transports). Every service is a grpc.aio server whose per-call work is mostly
the loop's own: the bets process spent about 8 % less CPU a bet on uvloop (2-15 % in five runs,
each interleaving both loops' rounds: bench/bets/placing.py --compare-env
BETMESH_EVENT_LOOP=asyncio; docs/benchmarks/bets.md, session 7). `BETMESH_EVENT_LOOP=asyncio`
is the fallback an operator can choose without a new image, should a library misbehave on uvloop;
the tests run in-process code on the standard loop and every spawned service on uvloop, so both
stay exercised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvloop

from service_runtime.env import Env

EVENT_LOOPS = ("uvloop", "asyncio")
DEFAULT_EVENT_LOOP = "uvloop"

T = TypeVar("T")


def read_event_loop(env: Env) -> str:
    """BETMESH_EVENT_LOOP: uvloop (the default) or asyncio."""
    name = env.str("EVENT_LOOP", DEFAULT_EVENT_LOOP)
    if name not in EVENT_LOOPS:
        env.problems.append(f"BETMESH_EVENT_LOOP={name!r} must be one of {', '.join(EVENT_LOOPS)}")
    return name


def run(main: Coroutine[Any, Any, T], event_loop: str) -> T:
    """asyncio.run(main) on the named loop."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = (
        uvloop.new_event_loop if event_loop == "uvloop" else None
    )
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)

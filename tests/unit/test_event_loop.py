"""Every process's event loop: uvloop unless BETMESH_EVENT_LOOP says asyncio; anything else is
a configuration error, not a silent fallback."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from service_runtime.env import Env, SettingsError
from service_runtime.event_loop import run
from service_runtime.settings import ServerSettings
from services.edge.settings import EdgeSettings

EDGE = {"BETMESH_AUTH_MODE": "anonymous"}


async def running_loop() -> type[asyncio.AbstractEventLoop]:
    return type(asyncio.get_running_loop())


def test_run_uses_uvloop_when_asked() -> None:
    assert issubclass(run(running_loop(), "uvloop"), uvloop.Loop)


def test_run_uses_the_standard_loop_when_asked() -> None:
    assert not issubclass(run(running_loop(), "asyncio"), uvloop.Loop)


def test_servers_default_to_uvloop_and_take_asyncio() -> None:
    assert ServerSettings.read(Env({})).event_loop == "uvloop"
    assert ServerSettings.read(Env({"BETMESH_EVENT_LOOP": "asyncio"})).event_loop == "asyncio"
    assert EdgeSettings.from_env(EDGE).event_loop == "uvloop"


def test_an_unknown_loop_is_a_configuration_error() -> None:
    env = Env({"BETMESH_EVENT_LOOP": "trio"})
    ServerSettings.read(env)
    assert any("BETMESH_EVENT_LOOP" in problem for problem in env.problems)
    with pytest.raises(SettingsError, match="BETMESH_EVENT_LOOP"):
        EdgeSettings.from_env({**EDGE, "BETMESH_EVENT_LOOP": "trio"})

"""A service process exits after SIGTERM whatever its background work makes of the
cancellation (the live service once never exited: its feed watchdog swallowed it under load)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service_runtime.background import every
from service_runtime.server import EXIT_TASKS_STUCK, ServiceHost
from tests.support.grpc_helpers import local_server_settings

ROOT = Path(__file__).resolve().parents[2]
# Hang guard only: a process that does not exit fails the test instead of hanging it.
GUARD = 60.0


@pytest.mark.parametrize(("mode", "status"), [("converts", 0), ("refuses", EXIT_TASKS_STUCK)])
async def test_sigterm_ends_the_process_while_a_step_is_in_a_call(mode: str, status: int) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.background_service",
        mode,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        # READY comes before the background tasks start; STEP says the step is in its call.
        while not lines or lines[-1] != "STEP":
            line = (await asyncio.wait_for(process.stdout.readline(), GUARD)).decode().strip()
            assert line, f"the process ended early: {lines}"
            lines.append(line)
        assert lines[0].startswith("READY betmesh.test port="), lines
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), GUARD) == status
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_the_host_starts_tasks_after_the_port_opens_and_stops_them_before_its_hooks() -> None:
    seen: list[str] = []
    stepping = asyncio.Event()
    probe: list[asyncio.Task[object]] = []
    host: ServiceHost

    async def step() -> None:
        task = asyncio.current_task()
        assert task is not None
        probe.append(task)
        # The port is open and serving by the first step.
        async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=GUARD
            )
        seen.append(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
        stepping.set()
        await asyncio.sleep(3600)

    async def hook() -> None:
        seen.append("hook: task done" if probe[0].done() else "hook: task running")

    async def no_task_yet() -> None:
        running = [t for t in asyncio.all_tasks() if t.get_name() == "background:probe"]
        seen.append(f"on_start: {len(running)} tasks")

    host = ServiceHost(
        service="betmesh.test",
        settings=local_server_settings(),
        registrations=[],
        on_start=[no_task_yet],
        on_stop=[hook],
        background=[every("probe", 3600, step)],
    )
    await host.start()
    await asyncio.wait_for(stepping.wait(), GUARD)
    await host.stop()
    assert seen == ["on_start: 0 tasks", "SERVING", "hook: task done"]
    assert host.stuck_tasks == []

"""A service process exits after SIGTERM whatever its background work makes of the
cancellation (the live service once never exited: its feed watchdog swallowed it under load)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from service_runtime.server import EXIT_TASKS_STUCK

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

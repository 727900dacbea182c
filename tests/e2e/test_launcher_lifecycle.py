"""The launcher never leaves processes behind: not when it is SIGKILLed, not when a service fails
to start. Small meshes (one quote replica per sport) keep these cheap."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from launcher.mesh import Mesh, MeshConfig, MeshError

from .launcher_process import Launcher, processes_of, wait_gone

pytestmark = pytest.mark.e2e


def test_a_killed_launcher_leaves_no_service_and_no_embedded_server(tmp_path: Path) -> None:
    # Embedded PostgreSQL, Redis and anvil: the parts only the watchdog can clean up.
    launcher = Launcher(
        tmp_path / "state", ["up", "--quiet", "--only", "quotes", "--replicas", "1"]
    )
    launcher.start()
    try:
        services = processes_of(launcher.pid)
        # One replica per sport, and identity: with tokens on, every service needs its keys.
        assert len(services) == 4
        infra = launcher.record["infra_pids"]
        assert set(infra) == {"postgres", "redis", "anvil"}
        watchdog = launcher.record["watchdog_pid"]
        assert launcher.process is not None
        launcher.process.send_signal(signal.SIGKILL)
        launcher.process.wait(10)
        assert wait_gone([*services, *infra.values(), watchdog], 30) == []
        assert processes_of(launcher.pid) == []
    finally:
        for pid in processes_of(launcher.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_service_failing_at_start_stops_the_mesh_with_its_last_log_lines(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    mesh = Mesh(
        MeshConfig(
            state_dir=tmp_path,
            database_url=database_url,
            redis_url=redis_url,
            chain_rpc_urls=("http://127.0.0.1:9",),
            replicas={"football": 2},
            only=frozenset({"quotes"}),
            log_stream=None,
            # A setting only the quote replicas read: identity (started beside them for their
            # tokens) must come up, so the failure named is the replica's whatever the timing.
            extra_env={"BETMESH_QUOTES_FAULT": "melt-down"},
        )
    )
    with pytest.raises(MeshError) as raised:
        mesh.start()
    message = str(raised.value)
    assert "quotes-football-" in message
    assert "exited with code" in message
    assert "BETMESH_QUOTES_FAULT" in message  # the service's own error, from its log
    assert wait_gone(processes_of(os.getpid()), 15) == []

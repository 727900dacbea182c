"""The mesh as real processes, started through the launcher's command line.

One `python -m launcher up` per module (a 2-core CI machine cannot afford more): 3 football
replicas, 1 tennis and 1 basketball, the gateway and every other service that exists, on the
session's PostgreSQL and Redis (external when BETMESH_TEST_* are set, embedded otherwise), with
spans exported to a receiver the tests run.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from .auth import Operator
from .launcher_process import Launcher, processes_of, wait_gone
from .otlp_receiver import OtlpReceiver

# The match-day demo's speed in test_mesh (its matches play in about 20-35 s): fast enough for
# CI, slow enough that a bet's own trip through the mesh spans seconds of play, not minutes.
DEMO_SPEED = 300


@pytest.fixture(scope="module")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def mesh(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    redis_url: str,
    otlp_receiver: OtlpReceiver,
) -> Iterator[Launcher]:
    launcher = Launcher(
        tmp_path_factory.mktemp("mesh"),
        [
            "up",
            "--quiet",
            "--replicas",
            "3",
            "--sport-replicas",
            "tennis=1,basketball=1",
            "--database-url",
            database_url,
            "--redis-url",
            redis_url,
            "--otlp-endpoint",
            otlp_receiver.endpoint,
            # The live-bet delays of feeds replayed at the demo test's speed (DEMO_SPEED).
            "--feed-speed",
            str(DEMO_SPEED),
        ],
    )
    launcher.start()
    yield launcher
    launcher.stop()
    left = wait_gone(processes_of(launcher.pid), 15)
    for pid in left:
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def operator(mesh: Launcher) -> Operator:
    """The demo operator's tokens for the module's mesh (tokens are on by default)."""
    return Operator.of(mesh.state_dir, mesh.addresses, mesh.record["demo_client_id"])

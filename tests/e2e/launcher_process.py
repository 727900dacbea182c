"""A `python -m launcher ...` process under test, and how to find what it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from launcher.embedded import ROOT

READY_MARKER = "mesh ready:"


def processes_of(launcher_pid: int) -> list[int]:
    """Every process, anywhere, that the launcher started as a service (by its env marker)."""
    marker = f"BETMESH_LAUNCHER_PID={launcher_pid}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@dataclass
class Launcher:
    """A `python -m launcher ...` process and what it wrote."""

    state_dir: Path
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    # Added to the launcher's environment (and so to every child's).
    env: dict[str, str] = field(default_factory=dict)
    output_file: Path = field(init=False)
    record: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.output_file = self.state_dir / "launcher.out"

    def start(self, timeout: float = 300.0) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        args = self.args
        if args[:1] == ["up"] and "--startup-timeout" not in args:
            # Ten quote replicas importing and loading their models at once take more than the
            # launcher's 90 s per stage on a loaded 2-core machine (CI lost whole e2e modules
            # to 'not SERVING after 90 s'): the stage may take what this wait allows.
            args = [*args, "--startup-timeout", str(max(timeout - 20, 1))]
        with open(self.output_file, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "launcher", *args, "--state-dir", str(self.state_dir)],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
            )
        deadline = time.monotonic() + timeout
        while READY_MARKER not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"the launcher did not get the mesh ready:\n{self.output()[-6000:]}")
            time.sleep(0.1)
        self.record = json.loads((self.state_dir / "mesh.json").read_text())

    def output(self) -> str:
        return self.output_file.read_text(errors="replace")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def addresses(self) -> dict[str, str]:
        return {name: entry["address"] for name, entry in self.record["services"].items()}

    @property
    def service_pids(self) -> list[int]:
        return [entry["pid"] for entry in self.record["services"].values()]

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

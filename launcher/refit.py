"""The scheduled refit under `betmesh up`: every `--refit-hours`, `python -m services.quotes.refit`
fits every sport again (football with the operator's files of `--football-extra-dir`) and
publishes the snapshots to the mesh's quotes store. Nothing else changes here: the gateway's
scheduler moves to a new snapshot once a quorum of replicas knows it and the snapshot canary
let it through, exactly as for a snapshot an operator publishes by hand. A refit of unchanged
data stores nothing new (same bytes, same hash).

It runs as a child process (a fit must not stall the launcher's supervision), one at a time;
its output goes to the state directory's logs/refit.log and a line per run to the console.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from launcher.embedded import ROOT


class RefitJob:
    def __init__(
        self,
        database_url: str,
        interval_seconds: float,
        log_path: Path,
        say: Callable[[str], None],
        football_extra_dir: Path | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database_url = database_url
        self.interval_seconds = interval_seconds
        self.log_path = log_path
        self.say = say
        self.football_extra_dir = football_extra_dir
        self._now = now
        # With the operator's own data, refit at once (the shipped fit is already stored by
        # the replicas at start); without, the first refit is one interval away.
        self.due = now() if football_extra_dir is not None else now() + interval_seconds
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.failures = 0

    def command(self) -> list[str]:
        # Through launcher.child: the refit dies with the launcher (PR_SET_PDEATHSIG).
        command = [sys.executable, "-m", "launcher.child", "services.quotes.refit"]
        if self.football_extra_dir is not None:
            command += ["--football-extra-dir", str(self.football_extra_dir)]
        return command

    def poll(self) -> None:
        """Reaps a finished refit, starts one when due; never blocks."""
        if self.process is not None:
            code = self.process.poll()
            if code is None:
                return
            self.process = None
            self.runs += 1
            if code != 0:
                self.failures += 1
            outcome = "published" if code == 0 else f"failed (exit {code})"
            self.say(f"refit {outcome}: {self.log_path}")
        if self._now() < self.due:
            return
        self.due = self._now() + self.interval_seconds
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                env={
                    **os.environ,
                    "BETMESH_DATABASE_URL": self.database_url,
                    "BETMESH_LAUNCHER_PID": str(os.getpid()),
                },
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

"""Cleans up after a launcher that died without stopping what it started.

The launcher starts `python -m launcher.watchdog` with a pipe on its stdin and writes one line
per thing it starts:
    group <pid>       a child started in its own process group (SIGTERM, then SIGKILL)
    process <pid>     a single process (embedded Redis, anvil)
    postgres <pgdata> an embedded PostgreSQL cluster (fast shutdown via its postmaster pid)
    done              the launcher stopped everything itself: exit without doing anything
End of input without "done" means the launcher is gone (the kernel closes the pipe even on
SIGKILL): the watchdog then stops everything it was told about.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

GRACE_SECONDS = 10.0


def _alive(pid: int, group: bool) -> bool:
    try:
        if group:
            os.killpg(pid, 0)
        else:
            os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal(pid: int, group: bool, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def cleanup(groups: list[int], processes: list[int], clusters: list[Path]) -> None:
    targets = [(pid, True) for pid in groups] + [(pid, False) for pid in processes]
    for pid, group in targets:
        _signal(pid, group, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and any(_alive(p, g) for p, g in targets):
        time.sleep(0.1)
    for pid, group in targets:
        if _alive(pid, group):
            _signal(pid, group, signal.SIGKILL)
    # Services are gone, so PostgreSQL can stop now: SIGINT is its "fast" shutdown.
    for pgdata in clusters:
        postmaster = _postmaster_pid(pgdata)
        if postmaster is not None:
            _signal(postmaster, False, signal.SIGINT)


def main() -> None:
    # Ctrl-C in the terminal reaches the launcher's group; the watchdog waits for its pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    groups: list[int] = []
    processes: list[int] = []
    clusters: list[Path] = []
    for line in sys.stdin:
        kind, _, value = line.strip().partition(" ")
        if kind == "done":
            return
        if kind == "group":
            groups.append(int(value))
        elif kind == "process":
            processes.append(int(value))
        elif kind == "postgres":
            clusters.append(Path(value))
    cleanup(groups, processes, clusters)


if __name__ == "__main__":
    main()

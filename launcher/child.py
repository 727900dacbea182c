"""Runs one service module as a child of the launcher: `python -m launcher.child <module>`.

It arms PR_SET_PDEATHSIG before running the module, so that the kernel sends the child SIGTERM
(its graceful shutdown) when the launcher dies, even by SIGKILL. Arming it here instead of in a
Popen preexec_fn keeps fork+exec free of Python code in a launcher that already runs threads.
Otherwise it behaves exactly as `python -m <module>`.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys

PR_SET_PDEATHSIG = 1
# Set by the launcher: the pid this child must be the child of.
LAUNCHER_PID_VARIABLE = "BETMESH_LAUNCHER_PID"


def arm_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # The launcher may have died between fork and prctl: then no signal will ever come.
    expected = os.environ.get(LAUNCHER_PID_VARIABLE)
    if expected and os.getppid() != int(expected):
        sys.exit("launcher exited before this service started")


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m launcher.child <module> [args...]")
    module = sys.argv[1]
    arm_parent_death_signal()
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

"""Background work a service declares and its ServiceHost runs: no `while True` in app.py.

A service lists its background work on its host (`ServiceHost(background=[...])`):

- `every(name, seconds, step)`: a periodic step (an outbox relay, a sweep, a cadence tick). The
  host runs it at once, then `seconds` after each end. A step that returns True ran a full
  batch and is run again at once; a step that raises is logged and retried after a back-off
  that doubles from `retry` (by default `seconds`) up to `max_backoff`. A step that logged its
  own failure raises `StepFailed` (no traceback then); a store's outage (outages.py) is logged
  as one, its reason and the kind of store, no traceback either. `wake` (an asyncio.Event)
  cuts a wait short.
- `forever(name, run)`: a long-running coroutine (an event consumer). One that returns has
  finished; one that crashes is restarted after a back-off that doubles up to `max_backoff`,
  reset once it ran that long without failing. `stop` is called before cancellation, so that
  a loop with a stop flag of its own can leave between two units of work.

The host starts the tasks once the port is open and stops them after the server has drained
and before its on_stop hooks, which close the pools and clients the tasks use.

Cancellation always wins. Client libraries turn a cancellation that lands inside them into
an exception of their own (or the step's own `except Exception` catches one), after which a
hand-rolled `while True` logs, sleeps and never ends, and the process never exits after SIGTERM.
Here, after every step, failed or not, a task that has been asked to stop
(`asyncio.current_task().cancelling()`) ends, and a CancelledError of its own is never caught.

Stopping is bounded: a task still running `stop_seconds` after it was cancelled (a step that
swallows every cancellation) is reported by name and left behind; `run_service` then exits the
process itself rather than wait for it (server.py).

A crashed or failing task does not fail the process's health: the usual cause is a dependency
(Redis, PostgreSQL, the chain) that the served calls need as well, and a restarted process would
find it down too. Failures are counted instead (`betmesh.background.failures`, by task) and a
task's current run of failures is a gauge (`betmesh.background.failing`), which pages after
5 in a row for 5 min (BetmeshBackgroundFailing, deploy/monitoring/rules.yaml).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from opentelemetry.metrics import CallbackOptions, Observation

from service_runtime.outages import as_outage
from service_runtime.outages import count as count_outage
from service_runtime.telemetry import meter

log = logging.getLogger(__name__)

DEFAULT_MAX_BACKOFF_SECONDS = 30.0
FIRST_RESTART_SECONDS = 0.5
TASK_ATTRIBUTE = "betmesh.task"


class StepFailed(Exception):
    """A step's failure it has described (logged) itself: retried, logged without a traceback."""


@dataclass(frozen=True)
class Background:
    """One declared background task (made by `every` or `forever`)."""

    name: str
    kind: Literal["every", "forever"]
    body: Callable[[], Awaitable[object]]
    interval: float
    max_backoff: float
    wake: asyncio.Event | None = None
    stop: Callable[[], None] | None = None
    retry: float | None = None  # the first wait after a failure (default: the interval)
    # When set: after a pass that found nothing (a falsy result), the wait doubles, from the
    # interval up to idle_max, until a pass finds something (or `wake` is set) again.
    idle_max: float | None = None

    def backoff(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row (1, 2, ...)."""
        first = self.retry or (self.interval if self.kind == "every" else FIRST_RESTART_SECONDS)
        return float(min(first * 2 ** min(failures - 1, 32), max(first, self.max_backoff)))


def every(
    name: str,
    seconds: float,
    step: Callable[[], Awaitable[object]],
    *,
    max_backoff: float = DEFAULT_MAX_BACKOFF_SECONDS,
    wake: asyncio.Event | None = None,
    retry: float | None = None,
    idle_max: float | None = None,
) -> Background:
    """Runs `step` now and then `seconds` after each end (at once when it returns True).

    `idle_max`: a poll that finds nothing backs off while idle: after each pass with a falsy
    result the wait doubles, up to `idle_max`; a truthy result, or `wake`, brings it back to
    `seconds`. An idle poll then costs a few passes a second less, not a later answer when
    there is work (a pass that finds some polls again at the interval)."""
    if seconds <= 0 or (retry is not None and retry <= 0):
        raise ValueError(f"{name}: the interval and retry must be positive, not {seconds}/{retry}")
    if idle_max is not None and idle_max < seconds:
        raise ValueError(f"{name}: idle_max {idle_max} is below the interval {seconds}")
    return Background(
        name, "every", step, seconds, max_backoff, wake=wake, retry=retry, idle_max=idle_max
    )


def forever(
    name: str,
    run: Callable[[], Awaitable[object]],
    *,
    stop: Callable[[], None] | None = None,
    max_backoff: float = DEFAULT_MAX_BACKOFF_SECONDS,
) -> Background:
    """Runs `run` until it returns or the host stops; restarts it with back-off if it crashes."""
    return Background(name, "forever", run, 0.0, max_backoff, stop=stop)


def stopping() -> bool:
    """Whether the current task has been asked to stop: a step that goes on after an error
    (one item of many failed) checks it, because a cancellation that landed inside a client
    library may have come out as that error."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _end_if_cancelling() -> None:
    """Ends the task when it was asked to stop, whatever the step made of the cancellation."""
    if stopping():
        raise asyncio.CancelledError


class BackgroundTasks:
    """Runs a host's declared tasks; see the module docstring."""

    def __init__(self, declared: Sequence[Background]) -> None:
        names = [d.name for d in declared]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"background task names must be unique: {duplicates}")
        self.declared = list(declared)
        self.failing: dict[str, int] = {d.name: 0 for d in declared}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        _running.add(self)

    def start(self) -> None:
        for declared in self.declared:
            runner = self._every if declared.kind == "every" else self._forever
            self._tasks[declared.name] = asyncio.create_task(
                runner(declared), name=f"background:{declared.name}"
            )

    async def stop(self, timeout: float) -> list[str]:
        """Cancels every task and waits at most `timeout` seconds; returns the names of those
        still running then (logged, never awaited further)."""
        for declared in self.declared:
            if declared.stop is not None and declared.name in self._tasks:
                declared.stop()
        tasks = dict(self._tasks)
        self._tasks.clear()
        for task in tasks.values():
            task.cancel()
        if not tasks:
            return []
        done, pending = await asyncio.wait(tasks.values(), timeout=timeout)
        for name, task in tasks.items():
            if task in done and not task.cancelled() and task.exception() is not None:
                # Cannot happen (the runners catch every failure); reported, not hidden.
                log.error(
                    "background task ended with an error",
                    exc_info=task.exception(),
                    extra={"task": name},
                )
        stuck = sorted(name for name, task in tasks.items() if task in pending)
        if stuck:
            log.error(
                "background tasks did not stop after cancellation; left behind",
                extra={"tasks": stuck, "timeout_seconds": timeout},
            )
        return stuck

    # ---- runners -----------------------------------------------------------------------------

    async def _every(self, declared: Background) -> None:
        failures = 0
        idle_wait = declared.interval
        while True:
            if declared.wake is not None:
                # Cleared before the step: a wake-up during it brings another step at once.
                declared.wake.clear()
            try:
                more = await declared.body()
            except BaseException as exc:  # sorted below; a cancellation of ours is re-raised
                if stopping():
                    raise asyncio.CancelledError from None
                if not isinstance(exc, Exception | asyncio.CancelledError):
                    raise  # KeyboardInterrupt, SystemExit: the process is going
                # A CancelledError while nobody cancelled this task comes from a future the step
                # awaited being cancelled under it: a failure of the step, like any other.
                failures += 1
                self._failed(declared, failures, exc)
                await self._pause(declared, declared.backoff(failures))
                continue
            _end_if_cancelling()  # the step swallowed the cancellation
            if failures:
                log.info(
                    "background task recovered",
                    extra={"task": declared.name, "failures": failures},
                )
                failures = 0
                self.failing[declared.name] = 0
            if more is True:
                wait, idle_wait = 0.0, declared.interval
            elif declared.idle_max is None or more:
                wait = idle_wait = declared.interval
            else:
                wait = idle_wait
                idle_wait = min(idle_wait * 2, declared.idle_max)
            if await self._pause(declared, wait):
                idle_wait = declared.interval

    async def _forever(self, declared: Background) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            started = loop.time()
            if failures:
                # The gauge clears once the restarted run has lasted as long as the longest
                # back-off; a run that long is healthy (and resets `failures` if it crashes).
                run = failures
                loop.call_later(declared.max_backoff, self._healthy, declared.name, run)
            try:
                await declared.body()
            except BaseException as exc:  # sorted below; a cancellation of ours is re-raised
                if stopping():
                    raise asyncio.CancelledError from None
                if not isinstance(exc, Exception | asyncio.CancelledError):
                    raise
                if loop.time() - started >= declared.max_backoff:
                    failures = 0  # it ran well for a while: a new incident, not the same one
                failures += 1
                self._failed(declared, failures, exc, restarting=True)
                await asyncio.sleep(declared.backoff(failures))
                _end_if_cancelling()
                continue
            _end_if_cancelling()
            self.failing[declared.name] = 0
            log.info("background task finished", extra={"task": declared.name})
            return

    def _healthy(self, name: str, failures: int) -> None:
        if self.failing.get(name) == failures:
            self.failing[name] = 0

    async def _pause(self, declared: Background, seconds: float) -> bool:
        """Waits `seconds`, or until `wake` is set; True when woken."""
        woken = False
        if declared.wake is None:
            await asyncio.sleep(seconds)
        else:
            try:
                async with asyncio.timeout(seconds):
                    await declared.wake.wait()
                woken = True
            except TimeoutError:
                pass
        _end_if_cancelling()
        return woken

    def _failed(
        self, declared: Background, failures: int, exc: BaseException, restarting: bool = False
    ) -> None:
        self.failing[declared.name] = failures
        _failures.add(1, {TASK_ATTRIBUTE: declared.name})
        extra: dict[str, object] = {
            "task": declared.name,
            "failures": failures,
            "retry_in_seconds": declared.backoff(failures),
        }
        outage = as_outage(exc)
        if outage is not None:
            # A store down is a known failure, as in a served call (handlers.py): one line with
            # the reason and the kind of store, no traceback (a hundred lines a retry, which
            # read as a bug of ours), and the same back-off.
            extra |= {"reason": outage.reason, **outage.metadata, "error": type(exc).__name__}
            count_outage(outage)
        log.warning(
            "background task crashed; restarting" if restarting else "background step failed",
            exc_info=None if isinstance(exc, StepFailed) or outage is not None else exc,
            extra=extra,
        )


_running: weakref.WeakSet[BackgroundTasks] = weakref.WeakSet()


def _observe_failing(_: CallbackOptions) -> Iterable[Observation]:
    for tasks in list(_running):
        for name, failures in tasks.failing.items():
            yield Observation(failures, {TASK_ATTRIBUTE: name})


_meter = meter(__name__)
_failures = _meter.create_counter(
    "betmesh.background.failures",
    description="failed steps and crashes of background tasks, by task",
)
_meter.create_observable_gauge(
    "betmesh.background.failing",
    callbacks=[_observe_failing],
    description="failures in a row of each background task (0: its last step succeeded)",
)

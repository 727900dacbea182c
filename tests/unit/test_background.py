"""Declared background tasks (service_runtime.background): cancellation wins whatever a step
makes of it, failures are retried with back-off, a stuck task does not hold stopping up."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg2
import pytest
import redis.exceptions
import sqlalchemy.exc

from service_runtime.background import Background, BackgroundTasks, StepFailed, every, forever

# Hang guards only (a broken runner must fail the test, not hang it); never timing assertions.
GUARD = 30.0


async def started(tasks: BackgroundTasks) -> BackgroundTasks:
    tasks.start()
    return tasks


async def test_cancellation_wins_when_the_step_turns_it_into_another_exception() -> None:
    inside = asyncio.Event()

    async def step() -> None:
        inside.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            # What a client library does with a cancellation that lands inside a call.
            raise ConnectionError("connection closed while reading") from None

    tasks = await started(BackgroundTasks([every("converter", 0.01, step)]))
    await asyncio.wait_for(inside.wait(), GUARD)
    assert await tasks.stop(GUARD) == []
    assert tasks.failing["converter"] == 0  # a stop is no failure


async def test_cancellation_wins_when_the_step_swallows_it() -> None:
    inside = asyncio.Event()
    steps = 0

    async def step() -> None:
        nonlocal steps
        steps += 1
        inside.set()
        # `except BaseException: log` in a dependency
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)

    tasks = await started(BackgroundTasks([every("swallower", 0.01, step)]))
    await asyncio.wait_for(inside.wait(), GUARD)
    assert await tasks.stop(GUARD) == []
    assert steps == 1


async def test_a_long_running_task_that_swallows_cancellation_ends_too() -> None:
    inside = asyncio.Event()

    async def run() -> None:
        inside.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("converted") from None

    tasks = await started(BackgroundTasks([forever("consumer", run)]))
    await asyncio.wait_for(inside.wait(), GUARD)
    assert await tasks.stop(GUARD) == []


async def test_a_failing_step_is_retried_until_it_succeeds() -> None:
    calls = 0
    succeeded = asyncio.Event()

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise RuntimeError(f"failure {calls}")
        succeeded.set()

    tasks = await started(BackgroundTasks([every("flaky", 0.001, step)]))
    await asyncio.wait_for(succeeded.wait(), GUARD)
    assert calls == 3
    assert tasks.failing["flaky"] == 0
    await tasks.stop(GUARD)


async def test_failures_in_a_row_are_counted() -> None:
    calls = 0
    third = asyncio.Event()

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls == 4:
            third.set()  # the third failure has been counted by now
            await asyncio.Event().wait()
        raise RuntimeError("down")

    tasks = await started(BackgroundTasks([every("down", 0.001, step, max_backoff=0.001)]))
    await asyncio.wait_for(third.wait(), GUARD)
    assert tasks.failing["down"] == 3
    await tasks.stop(GUARD)


async def test_a_cancelled_future_under_the_step_is_a_failure_not_a_stop() -> None:
    calls = 0
    succeeded = asyncio.Event()

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            inner = asyncio.get_running_loop().create_future()
            inner.cancel()  # e.g. a worker pool shutting a call down; nobody stopped the task
            await inner
        succeeded.set()

    tasks = await started(BackgroundTasks([every("inner", 0.001, step)]))
    await asyncio.wait_for(succeeded.wait(), GUARD)
    assert calls == 2
    await tasks.stop(GUARD)


async def test_a_crashed_long_running_task_is_restarted() -> None:
    runs = 0
    second = asyncio.Event()

    async def run() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("crashed")
        second.set()
        await asyncio.Event().wait()

    tasks = await started(BackgroundTasks([forever("consumer", run, max_backoff=0.01)]))
    await asyncio.wait_for(second.wait(), GUARD)
    assert runs == 2
    await tasks.stop(GUARD)


async def test_a_stuck_task_is_reported_not_awaited() -> None:
    inside = asyncio.Event()
    released = False

    async def run() -> None:
        inside.set()
        while not released:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue  # refuses every cancellation: nothing can end it

    tasks = await started(BackgroundTasks([forever("stubborn", run)]))
    await asyncio.wait_for(inside.wait(), GUARD)
    assert await tasks.stop(0.05) == ["stubborn"]
    # Clean up the session loop: let it go, then cancel it once more.
    released = True
    [task] = [t for t in asyncio.all_tasks() if t.get_name() == "background:stubborn"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, GUARD)


async def test_a_step_that_reports_more_work_runs_again_at_once() -> None:
    calls = 0
    third = asyncio.Event()

    async def step() -> bool:
        nonlocal calls
        calls += 1
        if calls == 3:
            third.set()
        return calls < 3  # a full batch: more may be waiting

    # An hour between steps: only "more work" can bring the third step within the guard.
    tasks = await started(BackgroundTasks([every("relay", 3600, step)]))
    await asyncio.wait_for(third.wait(), GUARD)
    await tasks.stop(GUARD)


async def test_wake_cuts_the_wait_short() -> None:
    wake = asyncio.Event()
    calls = 0
    second = asyncio.Event()

    first = asyncio.Event()

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            first.set()
        if calls == 2:
            second.set()

    tasks = await started(BackgroundTasks([every("pass", 3600, step, wake=wake)]))
    await asyncio.wait_for(first.wait(), GUARD)
    wake.set()
    await asyncio.wait_for(second.wait(), GUARD)
    await tasks.stop(GUARD)


async def test_stop_asks_a_long_running_task_to_stop_before_cancelling_it() -> None:
    stopping = asyncio.Event()

    async def run() -> None:
        await stopping.wait()

    tasks = await started(BackgroundTasks([forever("consumer", run, stop=stopping.set)]))
    await asyncio.sleep(0)
    assert await tasks.stop(GUARD) == []
    assert stopping.is_set()


def test_declarations_are_checked() -> None:
    async def step() -> None:
        return None

    with pytest.raises(ValueError, match="interval"):
        every("zero", 0, step)
    with pytest.raises(ValueError, match="unique"):
        BackgroundTasks([every("same", 1, step), every("same", 2, step)])


def test_backoff_doubles_from_the_interval_up_to_the_bound() -> None:
    async def step() -> None:
        return None

    declared: Background = every("relay", 1.0, step, max_backoff=5.0)
    assert [declared.backoff(n) for n in (1, 2, 3, 4, 100)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    slow: Background = every("sweep", 3600.0, step, max_backoff=30.0)
    assert slow.backoff(3) == 3600.0  # never sooner than the interval


def test_a_retry_shorter_than_the_interval_starts_the_backoff() -> None:
    async def step() -> None:
        return None

    declared = every("rtp", 600.0, step, retry=5.0, max_backoff=5.0)
    assert [declared.backoff(n) for n in (1, 2, 10)] == [5.0, 5.0, 5.0]


async def fail_once_then_succeed(error: Exception) -> None:
    """Runs a step that raises `error` once, then succeeds, until the retry has run."""
    calls = 0
    second = asyncio.Event()

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise error
        second.set()

    tasks = await started(BackgroundTasks([every("step", 3600, step, retry=0.001)]))
    await asyncio.wait_for(second.wait(), GUARD)
    await tasks.stop(GUARD)


def step_failure(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    (failed,) = [r for r in caplog.records if r.getMessage() == "background step failed"]
    return failed


async def test_a_step_failure_it_described_itself_is_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await fail_once_then_succeed(StepFailed("figures unavailable"))
    assert step_failure(caplog).exc_info is None


@pytest.mark.parametrize(
    ("error", "dependency"),
    [
        (redis.exceptions.ConnectionError("Connection closed by server."), "redis"),
        (redis.exceptions.TimeoutError("Timeout reading from socket"), "redis"),
        (psycopg2.OperationalError("connection refused"), "postgresql"),
        (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("gone")), "postgresql"),
    ],
)
async def test_a_store_outage_is_logged_as_one_without_a_traceback(
    error: Exception, dependency: str, caplog: pytest.LogCaptureFixture
) -> None:
    """As a served call's (service_runtime/outages.py): a warning with the reason and the kind
    of store, retried with the same back-off; a hundred-line traceback a retry read as a bug."""
    await fail_once_then_succeed(error)
    failed = step_failure(caplog)
    assert failed.levelno == logging.WARNING
    assert failed.exc_info is None
    assert failed.__dict__["reason"] == "DEPENDENCY_UNAVAILABLE"
    assert failed.__dict__["dependency"] == dependency


async def test_a_failure_of_our_own_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    await fail_once_then_succeed(KeyError("a bug"))
    failed = step_failure(caplog)
    assert failed.exc_info is not None and "reason" not in failed.__dict__


class _RecordedPauses(BackgroundTasks):
    """Records the waits the runner asks for instead of waiting; `woken` says which pauses
    (by their index) a wake-up cuts short."""

    def __init__(self, declared: list[Background], woken: frozenset[int] = frozenset()) -> None:
        super().__init__(declared)
        self.waits: list[float] = []
        self.woken = woken

    async def _pause(self, declared: Background, seconds: float) -> bool:
        self.waits.append(seconds)
        await asyncio.sleep(0)
        return len(self.waits) - 1 in self.woken


async def _run_script(results: list[object], woken: frozenset[int] = frozenset()) -> list[float]:
    done = asyncio.Event()
    left = list(results)

    async def step() -> object:
        if not left:
            done.set()
            await asyncio.sleep(3600)
        return left.pop(0)

    tasks = _RecordedPauses([every("poll", 1.0, step, idle_max=4.0)], woken)
    tasks.start()
    await asyncio.wait_for(done.wait(), GUARD)
    assert await tasks.stop(GUARD) == []
    return tasks.waits


async def test_an_idle_poll_backs_off_to_idle_max_and_comes_back_when_it_finds_work() -> None:
    # Nothing found: 1, 2, 4, 4; found 3 (a count): the interval; nothing: 1, 2; more: at once.
    waits = await _run_script([False, 0, None, False, 3, False, False, True, False])
    assert waits == [1.0, 2.0, 4.0, 4.0, 1.0, 1.0, 2.0, 0.0, 1.0]


async def test_a_wake_up_brings_an_idle_poll_back_to_its_interval() -> None:
    # The third pause (index 2) is cut short by `wake`: the next idle wait is the interval.
    waits = await _run_script([False, False, False, False, False], woken=frozenset({2}))
    assert waits == [1.0, 2.0, 4.0, 1.0, 2.0]


def test_idle_max_below_the_interval_is_refused() -> None:
    async def step() -> None:
        return None

    with pytest.raises(ValueError, match="idle_max"):
        every("poll", 1.0, step, idle_max=0.5)


async def test_without_idle_max_an_idle_poll_keeps_its_interval() -> None:
    done = asyncio.Event()
    left: list[object] = [False, False, False]

    async def step() -> object:
        if not left:
            done.set()
            await asyncio.sleep(3600)
        return left.pop(0)

    tasks = _RecordedPauses([every("poll", 1.0, step)])
    tasks.start()
    await asyncio.wait_for(done.wait(), GUARD)
    assert await tasks.stop(GUARD) == []
    assert tasks.waits == [1.0, 1.0, 1.0]

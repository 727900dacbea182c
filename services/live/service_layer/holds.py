"""How many live fixtures a hold keeps closed, as a gauge an operator is alerted on.

Why: every hold fails closed, and only its own cause lifts it: a lost feed (FEED_LOST) only
when the feed is back with nothing missing, a gap (FEED_GAP) only when the feed resends the
events it said it sent (a feed that announces a sequence it never resends keeps the fixture
closed for good), an operator's (OPERATOR) only by ResumeFixture. Without this figure a book
closed by a feed looks closed for no reason. Read from Redis by a background pass (the gauge's
callback runs on the scrape thread, which cannot use the event loop's client), so the figure is
as old as that pass at most; every live process reports the same shared state (max() it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

REASON_ATTRIBUTE = "betmesh.hold.reason"


class HeldFixtures:
    def __init__(self, read: Callable[[], Awaitable[dict[str, int]]], meter: metrics.Meter) -> None:
        self._read = read
        # None until the first pass: an unknown count is not reported as zero.
        self._counts: dict[str, int] | None = None
        meter.create_observable_gauge(
            "betmesh.live.fixtures_held",
            callbacks=[self._observe],
            description="live fixtures kept closed by a hold, by its reason "
            "(FEED_LOST, FEED_GAP, OPERATOR)",
        )

    async def refresh(self) -> None:
        self._counts = await self._read()

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        for reason, count in sorted((self._counts or {}).items()):
            yield Observation(count, {REASON_ATTRIBUTE: reason})

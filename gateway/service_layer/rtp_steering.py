"""Runs the return-to-player controller (gateway/domain/rtp_controller.py) inside the gateway:
reads the year's figures from bets on a timer, keeps the scale every price request carries, and
wakes the scheduler when it moves.

Why the gateway: it is the one place every price request passes, pre-match (its scheduler) and
in play (live asks it), so one steer covers both; bets keeps the figures and answers
GetReturnToPlayerReport, so nothing reads another service's tables.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.domain.ports import YearFiguresSource
from gateway.domain.rtp_controller import RtpController, RtpPolicy
from service_runtime.background import StepFailed

log = logging.getLogger(__name__)


class RtpSteering:
    def __init__(
        self,
        policy: RtpPolicy,
        source: YearFiguresSource,
        on_change: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self.source = source
        self.on_change = on_change
        self.clock = clock
        self.controller = RtpController(policy, started_at=clock())
        self._last = self.controller.scale_e4(clock())

    def scale_e4(self) -> int:
        """The scale in force now (what ConsensusGateway.margin_scale asks on every request)."""
        return self.controller.scale_e4(self.clock())

    async def read_once(self) -> bool:
        """One reading; True when it succeeded. A failure keeps the last good reading (which
        ages out after max_age_seconds) and is logged, never raised."""
        now = self.clock()
        try:
            figures = await self.source.year_to_date(datetime.fromtimestamp(now, UTC))
        except Exception as exc:  # any failure of the read: bets down, refused, timed out
            log.warning(
                "return-to-player figures unavailable",
                extra={"error": type(exc).__name__, "detail": str(exc)[:200]},
            )
            self._notice()
            return False
        self.controller.observe(figures, now)
        self._notice()
        return True

    def _notice(self) -> None:
        scale = self.scale_e4()
        if scale == self._last:
            return
        log.info(
            "margin scale changed",
            extra={
                "from_e4": self._last,
                "to_e4": scale,
                "return_to_player_e4": self.controller.return_to_player_e4(),
            },
        )
        self._last = scale
        if self.on_change is not None:
            self.on_change(scale)

    async def step(self) -> None:
        """One reading for the runtime's timer (app.py declares it): a failed one is retried
        after the policy's retry_seconds (service_runtime.background)."""
        if not await self.read_once():
            raise StepFailed("return-to-player figures unavailable")

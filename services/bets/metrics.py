"""What an operator watches of the money, as metrics: bets placed by outcome and refusal reason,
stakes taken, and the realised return to players of the calendar year (the French limit, décret
2020-1349 art. 27, is an 85% average per licence per calendar year)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from services.bets.domain.model import Bet
from services.bets.domain.placing import refused_for_live_silence
from services.bets.domain.statement import ReturnToPlayer as ReturnToPlayerFigures

# A scrape every 15-30 s must not cost a full scan of the year's bets each time.
RETURN_TO_PLAYER_REFRESH_SECONDS = 60.0


class BetsMetrics:
    def __init__(
        self,
        meter: metrics.Meter,
        return_to_player: Callable[[datetime, datetime], ReturnToPlayerFigures],
        currency: str,
        open_liability: Callable[[], tuple[int, int]] = lambda: (0, 0),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._return_to_player = return_to_player
        self._clock = clock
        self._currency = currency
        self.placed_total = meter.create_counter(
            "betmesh.bets.placed",
            description="bets placed, by status at the answer, refusal reason and live or not",
        )
        # In-play bets refused because no live process vouched for the fixture in time
        # (BETMESH_BETS_LIVE_SILENCE_SECONDS): live is down, frozen or cut from the bus, and
        # the in-play book is closed. Counted from 0 so that the first one is an increase.
        self.live_silence_total = meter.create_counter(
            "betmesh.bets.live_silence_refusals",
            description="in-play bets refused because the live producer is silent",
        )
        self.live_silence_total.add(0)
        self.stake_total = meter.create_counter(
            "betmesh.bets.stake",
            unit="minor",
            description="stakes of accepted and pending bets, in minor units of the currency",
        )
        meter.create_observable_gauge(
            "betmesh.bets.return_to_player",
            callbacks=[self._observe_return_to_player],
            unit="1",
            description="payouts over stakes of bets settled this calendar year (UTC)",
        )
        meter.create_observable_gauge(
            "betmesh.bets.settled_stake_year",
            callbacks=[self._observe_settled_stakes],
            unit="minor",
            description="stakes of bets settled this calendar year, in minor units",
        )
        self._open_liability = open_liability
        # The book's risk now: stakes of open bets and what they would cost if every one won
        # (an upper bound: outcomes of one market exclude each other; per market it is
        # GetExposureReport).
        meter.create_observable_gauge(
            "betmesh.bets.open_liability",
            callbacks=[self._observe_open],
            unit="minor",
            description="stakes and liabilities of open bets, by kind, in minor units",
        )
        self._lock = threading.Lock()
        self._open_cached: tuple[float, tuple[int, int]] | None = None
        self._cached: tuple[float, ReturnToPlayerFigures] | None = None

    def placed(self, bet: Bet) -> None:
        attributes = {
            "betmesh.bet.status": bet.status.value,
            "betmesh.bet.rejection": bet.rejection.value if bet.rejection is not None else "",
            "betmesh.bet.live": bet.live,
        }
        self.placed_total.add(1, attributes)
        if refused_for_live_silence(bet):
            self.live_silence_total.add(1)
        if bet.rejection is None:
            self.stake_total.add(bet.stake_minor, {"betmesh.currency": self._currency})

    def _year(self) -> ReturnToPlayerFigures:
        # Called from the scrape thread: the store's own connection pool is thread-safe.
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > RETURN_TO_PLAYER_REFRESH_SECONDS:
                today = self._clock()
                start = datetime(today.year, 1, 1, tzinfo=UTC)
                self._cached = (now, self._return_to_player(start, today))
            return self._cached[1]

    def _observe_return_to_player(self, options: CallbackOptions) -> Iterable[Observation]:
        year = self._year()
        if year.stakes_minor > 0:
            yield Observation(year.payouts_minor / year.stakes_minor)

    def _observe_open(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            now = time.monotonic()
            if self._open_cached is None or now - self._open_cached[0] > 15.0:
                self._open_cached = (now, self._open_liability())
            stakes, liabilities = self._open_cached[1]
        yield Observation(stakes, {"betmesh.currency": self._currency, "kind": "stake"})
        yield Observation(liabilities, {"betmesh.currency": self._currency, "kind": "liability"})

    def _observe_settled_stakes(self, options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(self._year().stakes_minor, {"betmesh.currency": self._currency})

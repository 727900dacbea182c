"""The return-to-player controller: keeps the year's average under the legal 85% by scaling margins.

French law caps the return to players of sports betting at an *average* of 85% per licence over a
calendar year (décret 2020-1349 art. 27), not per market. So markets are priced at the policy's
own targets (a short favourite's market may pay more than 85%), and this controller watches the
realised figure, payouts over stakes of the bets settled since 1 January (bets'
GetReturnToPlayerReport), and steers one number, the **margin scale**: every market's margin
(its overround, 1 / payout - 1) is multiplied by it before the prices are made
(`PriceFixtureRequest.margin_scale_e4`, the same for pre-match and in play, so it never makes a
market jump at kick-off).

The rule (`margin_scale_e4`), with aim = limit - band (83% by default):
- year's RTP at or below aim - ramp: 1 (the policy as written);
- from there to the aim the scale rises linearly to its maximum (2 by default: an 85% market
  then pays about 74%), and stays at the maximum at or above the aim;
- rounded UP to a step (0.05), so small wobbles of the figure do not reprice every fixture.
So the steer starts before the year's figure reaches the aim and is at full strength before the
law's 85%: the margin the controller adds pulls the average back under the aim while volume
keeps coming, whichever way it drifted. No bet settled yet this year: 1 (nothing to correct).

Fail closed (`RtpController`): a last good reading older than `max_age_seconds` (bets
unreachable for an hour by default) no longer counts and the scale goes to its maximum; a failed
read never lowers the scale. Between the gateway's start and its first reading (bets starts
after the gateway) the initial scale applies (`initial_scale_e4`, 1 by default) for at most
`max_age_seconds` too: a few minutes cannot move a yearly average, an hour without figures
might. Pure logic: the clock and the figures are handed in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

E4 = 10_000


@dataclass(frozen=True)
class RtpPolicy:
    """The controller's settings (BETMESH_GATEWAY_RTP_*), ten-thousandths throughout."""

    # The legal maximum of the yearly average (art. 27).
    limit_e4: int = 8_500
    # The safety band under it: the controller aims at limit - band.
    band_e4: int = 200
    # The scale starts rising this far under the aim and is at its maximum at the aim.
    ramp_e4: int = 300
    # The strongest steer: every margin at most this times the policy's (20000 = doubled).
    max_scale_e4: int = 20_000
    # Scales are rounded up to a multiple of this (a fixture is repriced when its scale moves).
    step_e4: int = 500
    # Seconds between reads of the year's figures, and after a failed read.
    interval_seconds: float = 300.0
    retry_seconds: float = 10.0
    # A last good reading older than this no longer counts: the scale goes to its maximum.
    max_age_seconds: float = 3_600.0
    # The scale from the start until the first reading (within max_age_seconds of the start).
    initial_scale_e4: int = E4

    def problems(self) -> list[str]:
        found = []
        if not 0 < self.limit_e4 <= E4:
            found.append("BETMESH_GATEWAY_RTP_LIMIT_E4 must lie in 1..10000")
        if not 0 <= self.band_e4 < self.limit_e4:
            found.append("BETMESH_GATEWAY_RTP_BAND_E4 must lie in 0..limit-1")
        if self.ramp_e4 < 0 or self.ramp_e4 > self.limit_e4 - self.band_e4:
            found.append("BETMESH_GATEWAY_RTP_RAMP_E4 must lie in 0..limit-band")
        if not E4 <= self.max_scale_e4 <= 50_000:
            found.append("BETMESH_GATEWAY_RTP_MAX_MARGIN_SCALE_E4 must lie in 10000..50000")
        if not 1 <= self.step_e4 <= E4:
            found.append("BETMESH_GATEWAY_RTP_STEP_E4 must lie in 1..10000")
        if not (self.interval_seconds > 0 and self.retry_seconds > 0):
            found.append("BETMESH_GATEWAY_RTP_INTERVAL/RETRY_SECONDS must be positive")
        if not E4 <= self.initial_scale_e4 <= self.max_scale_e4:
            found.append("BETMESH_GATEWAY_RTP_INITIAL_SCALE_E4 must lie in 10000..max scale")
        if not self.max_age_seconds >= self.interval_seconds:
            found.append("BETMESH_GATEWAY_RTP_MAX_AGE_SECONDS must be at least the interval")
        return found

    @property
    def aim_e4(self) -> int:
        return self.limit_e4 - self.band_e4


@dataclass(frozen=True)
class YearFigures:
    """Bets settled since 1 January: stakes and payouts in minor units, and how many."""

    stakes_minor: int
    payouts_minor: int
    settled_bets: int


def margin_scale_e4(policy: RtpPolicy, figures: YearFigures) -> int:
    """The margin scale for the year's figures (the module docstring's rule), integers only."""
    if figures.settled_bets <= 0 or figures.stakes_minor <= 0:
        return E4
    # Compared as payouts * 1e4 against threshold * stakes: no rounding of the ratio.
    paid = figures.payouts_minor * E4
    start = policy.aim_e4 - policy.ramp_e4
    if paid <= start * figures.stakes_minor:
        return E4
    if paid >= policy.aim_e4 * figures.stakes_minor or policy.ramp_e4 == 0:
        return policy.max_scale_e4
    # Linear in the ratio between start and aim: (paid / stakes - start) / ramp of the range.
    over = paid - start * figures.stakes_minor  # > 0, scaled by stakes
    span = policy.ramp_e4 * figures.stakes_minor
    extra = -(-(policy.max_scale_e4 - E4) * over // span)  # rounded up: never under-steer
    steps = -(-(E4 + extra) // policy.step_e4)
    return min(policy.max_scale_e4, steps * policy.step_e4)


@dataclass
class RtpController:
    """The scale in force, from the readings handed to it (`observe`); a failed read hands
    nothing, so the last good reading ages out."""

    policy: RtpPolicy
    started_at: float
    figures: YearFigures | None = None
    read_at: float | None = None  # when the last good reading was taken

    def observe(self, figures: YearFigures, now: float) -> None:
        self.figures = figures
        self.read_at = now

    def scale_e4(self, now: float) -> int:
        if self.figures is None or self.read_at is None:
            if now - self.started_at <= self.policy.max_age_seconds:
                return self.policy.initial_scale_e4
            return self.policy.max_scale_e4  # never read in all that time: fail closed
        if now - self.read_at > self.policy.max_age_seconds:
            return self.policy.max_scale_e4  # too old to vouch for the year
        return margin_scale_e4(self.policy, self.figures)

    def return_to_player_e4(self) -> int | None:
        """The last reading's payouts / stakes, rounded down; None before any or without stakes."""
        if self.figures is None or self.figures.stakes_minor <= 0:
            return None
        return self.figures.payouts_minor * E4 // self.figures.stakes_minor

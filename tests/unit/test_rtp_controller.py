"""The return-to-player controller: the yearly figure steers the margin scale (pure logic)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.rtp_controller import (
    E4,
    RtpController,
    RtpPolicy,
    YearFigures,
    margin_scale_e4,
)
from gateway.service_layer.rtp_steering import RtpSteering

POLICY = RtpPolicy()  # limit 85%, band 2 points (aim 83%), ramp 3 points, max 2.0, step 0.05


def year(rtp_percent: float, stakes: int = 10_000_000, bets: int = 1_000) -> YearFigures:
    return YearFigures(stakes, round(stakes * rtp_percent / 100), bets)


@pytest.mark.parametrize(
    ("rtp", "scale"),
    [
        (0.0, E4),
        (70.0, E4),
        (80.0, E4),  # aim - ramp: the policy as written
        (80.01, 10_500),  # just past it: the first step up
        (81.5, 15_000),  # half way up the ramp: half the extra margin
        (82.99, 20_000),
        (83.0, 20_000),  # the aim (85% - the band): full strength
        (85.0, 20_000),
        (140.0, 20_000),
    ],
)
def test_the_scale_rises_from_aim_minus_ramp_to_its_maximum_at_the_aim(
    rtp: float, scale: int
) -> None:
    assert margin_scale_e4(POLICY, year(rtp)) == scale


def test_no_settled_bet_is_nothing_to_correct() -> None:
    assert margin_scale_e4(POLICY, YearFigures(0, 0, 0)) == E4


def test_the_band_and_limit_are_settings() -> None:
    wide = RtpPolicy(band_e4=500, ramp_e4=500)  # aim 80%, rising from 75%
    assert margin_scale_e4(wide, year(74.0)) == E4
    assert margin_scale_e4(wide, year(80.0)) == wide.max_scale_e4
    assert margin_scale_e4(POLICY, year(80.0)) == E4
    sharp = RtpPolicy(ramp_e4=0)  # a step: nothing, then everything at the aim
    assert margin_scale_e4(sharp, year(82.99)) == E4
    assert margin_scale_e4(sharp, year(83.01)) == sharp.max_scale_e4


@settings(max_examples=300, deadline=None)
@given(
    stakes=st.integers(min_value=1, max_value=10**12),
    a=st.integers(min_value=0, max_value=2 * 10**12),
    b=st.integers(min_value=0, max_value=2 * 10**12),
)
def test_the_scale_never_falls_as_the_yearly_figure_rises(stakes: int, a: int, b: int) -> None:
    low, high = sorted((a, b))
    s_low = margin_scale_e4(POLICY, YearFigures(stakes, low, 1))
    s_high = margin_scale_e4(POLICY, YearFigures(stakes, high, 1))
    assert E4 <= s_low <= s_high <= POLICY.max_scale_e4
    assert s_low % POLICY.step_e4 == 0
    # At or past the aim, always the full steer.
    if high * E4 >= POLICY.aim_e4 * stakes:
        assert s_high == POLICY.max_scale_e4


def test_the_controller_fails_closed_when_its_figures_are_old_or_never_came() -> None:
    controller = RtpController(POLICY, started_at=1_000.0)
    # Before the first reading, for at most max_age: the initial scale.
    assert controller.scale_e4(1_000.0 + POLICY.max_age_seconds) == POLICY.initial_scale_e4
    assert controller.scale_e4(1_001.0 + POLICY.max_age_seconds) == POLICY.max_scale_e4
    controller.observe(year(75.0), 5_000.0)
    assert controller.scale_e4(5_000.0) == E4
    assert controller.return_to_player_e4() == 7_500
    # The reading ages out: the full steer until a fresh one comes.
    assert controller.scale_e4(5_000.0 + POLICY.max_age_seconds) == E4
    assert controller.scale_e4(5_001.0 + POLICY.max_age_seconds) == POLICY.max_scale_e4
    controller.observe(year(75.0), 9_000.0)
    assert controller.scale_e4(9_000.0) == E4


def test_impossible_settings_are_named() -> None:
    assert RtpPolicy().problems() == []
    bad = RtpPolicy(band_e4=9_000, max_scale_e4=9_000, step_e4=0, max_age_seconds=1.0)
    problems = " ".join(bad.problems())
    for name in ("BAND_E4", "MAX_MARGIN_SCALE_E4", "STEP_E4", "MAX_AGE_SECONDS"):
        assert name in problems


class Figures:
    def __init__(self) -> None:
        self.answers: list[YearFigures | Exception] = []
        self.asked: list[datetime] = []

    async def year_to_date(self, now: datetime) -> YearFigures:
        self.asked.append(now)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_steering_reads_keeps_the_last_good_figure_and_wakes_on_a_change() -> None:
    clock = [1_000.0]
    changes: list[int] = []
    source = Figures()
    steering = RtpSteering(POLICY, source, changes.append, clock=lambda: clock[0])
    assert steering.scale_e4() == E4
    source.answers = [year(82.0), ConnectionError("bets down"), year(70.0)]
    assert await steering.read_once()
    assert steering.scale_e4() == 17_000 and changes == [17_000]
    assert source.asked[0].year == 1970 and source.asked[0].tzinfo is not None
    clock[0] += 60
    assert not await steering.read_once()  # a failure keeps the last good reading
    assert steering.scale_e4() == 17_000 and changes == [17_000]
    clock[0] += 60
    assert await steering.read_once()
    assert steering.scale_e4() == E4 and changes == [17_000, E4]
    # Bets silent for longer than max_age: full steer, noticed at the next (failed) attempt.
    clock[0] += POLICY.max_age_seconds + 1
    source.answers = [TimeoutError()]
    assert not await steering.read_once()
    assert changes == [17_000, E4, POLICY.max_scale_e4]

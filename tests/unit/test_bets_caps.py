"""The 7-day deposit and stake caps (ANJ): which cap is in force, and what identity's word
changes. The stake cap in force is read by bets.place_bet with the same definition
(tests/integration/test_bets_place_bet_rules.py tests it at the same instant)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.bets.domain.limits import SevenDayCap

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
DELAY = timedelta(hours=48)


def test_a_pending_raise_is_in_force_from_its_effective_time_exactly() -> None:
    cap = SevenDayCap(1_000, 5_000, T)
    assert cap.in_force(T - US) == 1_000
    assert cap.in_force(T) == 5_000
    assert SevenDayCap(None, None, None).in_force(T) is None


def test_a_first_cap_and_a_cut_apply_at_once_an_equal_cap_too() -> None:
    assert SevenDayCap(None, None, None).changed(9_000, T, T, DELAY) == SevenDayCap(
        9_000, None, None
    )
    assert SevenDayCap(1_000, None, None).changed(999, T, T, DELAY) == SevenDayCap(999, None, None)
    assert SevenDayCap(1_000, None, None).changed(1_000, T, T, DELAY) == SevenDayCap(
        1_000, None, None
    )
    # A cut also drops a raise still waiting.
    assert SevenDayCap(1_000, 5_000, T + DELAY).changed(800, T, T, DELAY) == SevenDayCap(
        800, None, None
    )


def test_a_raise_waits_out_the_delay_or_a_later_effective_time() -> None:
    assert SevenDayCap(1_000, None, None).changed(1_001, T, T, DELAY) == SevenDayCap(
        1_000, 1_001, T + DELAY
    )
    later = T + DELAY + US
    assert SevenDayCap(1_000, None, None).changed(2_000, later, T, DELAY) == SevenDayCap(
        1_000, 2_000, later
    )


def test_a_change_counts_from_the_cap_in_force_when_it_was_said() -> None:
    # The raise to 5 000 took effect at T: a word at T compares with 5 000, not 1 000.
    raised = SevenDayCap(1_000, 5_000, T)
    assert raised.changed(4_000, T, T, DELAY) == SevenDayCap(4_000, None, None)
    assert raised.changed(6_000, T, T, DELAY) == SevenDayCap(5_000, 6_000, T + DELAY)
    # One microsecond earlier it was not yet in force: 4 000 is a raise over 1 000.
    assert raised.changed(4_000, T - US, T - US, DELAY) == SevenDayCap(1_000, 4_000, T - US + DELAY)

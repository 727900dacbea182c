"""ANJ rules on players: age, the exclusion register, provisional deadlines, self-exclusion,
responsible-gambling caps."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound, Unauthenticated
from services.identity.adapters.exclusion_file import (
    EmptyExclusionRegister,
    FileExclusionRegister,
)
from services.identity.domain.kyc import (
    Outcome,
    Verdict,
    awaits_outcome,
    check_verification_open,
    identity_to_verify,
)
from services.identity.domain.players import (
    SHORTEST_MONTH,
    Cap,
    KycMethod,
    KycStatus,
    Player,
    VerifiedIdentity,
    admit,
    age_on,
    change_cap,
    identity_from_claims,
    lapse,
    self_exclusion_until,
)

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def _person(
    birthdate: date, family: str = "DUBOIS", given: str = "Angela Claire"
) -> VerifiedIdentity:
    return VerifiedIdentity("s" * 66, given, family, birthdate, "female", "75107", "99100")


@pytest.mark.parametrize(
    ("birthdate", "age"),
    [
        (date(2008, 3, 31), 18),  # eighteenth birthday today
        (date(2008, 4, 1), 17),  # tomorrow
        (date(2008, 2, 29), 18),
        (date(1996, 5, 1), 29),
    ],
)
def test_age_from_the_verified_birthdate(birthdate: date, age: int) -> None:
    assert age_on(birthdate, NOW.date()) == age


def test_under_18_and_excluded_people_are_refused(tmp_path: Path) -> None:
    admit(_person(date(2008, 3, 31)), EmptyExclusionRegister(), NOW)
    with pytest.raises(FailedPrecondition) as refused:
        admit(_person(date(2008, 4, 1)), EmptyExclusionRegister(), NOW)
    assert refused.value.reason == "PLAYER_UNDER_AGE"

    register_file = tmp_path / "register.json"
    register_file.write_text(
        json.dumps([{"family_name": "Dubois", "given_name": "ANGELA", "birthdate": "1980-01-02"}])
    )
    register = FileExclusionRegister(register_file)
    with pytest.raises(FailedPrecondition) as refused:
        admit(_person(date(1980, 1, 2), family="dubois", given="Angéla Claire"), register, NOW)
    assert refused.value.reason == "PLAYER_ON_EXCLUSION_REGISTER"
    # Same names, another birthdate: someone else.
    admit(_person(date(1980, 1, 3)), register, NOW)


def test_the_register_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"family_name": "X"}]))
    with pytest.raises(ValueError, match="entry #0"):
        FileExclusionRegister(path)


def test_identity_pivot_claims_are_required() -> None:
    claims = {
        "sub": "s",
        "given_name": "A",
        "family_name": "B",
        "birthdate": "1990-01-01",
        "gender": "female",
        "birthplace": "",
        "birthcountry": "99134",
    }
    assert identity_from_claims(claims).birthdate == date(1990, 1, 1)
    for missing in ("birthdate", "family_name", "sub"):
        with pytest.raises(Unauthenticated) as refused:
            identity_from_claims({k: v for k, v in claims.items() if k != missing})
        assert refused.value.reason == "USERINFO_CLAIM_MISSING"
    with pytest.raises(Unauthenticated):
        identity_from_claims({**claims, "birthdate": "01/01/1990"})


def test_provisional_accounts_lapse_after_one_then_two_months() -> None:
    created = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    player = Player("p", KycStatus.PROVISIONAL, KycMethod.NONE, "", created)
    assert player.status_at(datetime(2026, 2, 27, tzinfo=UTC)) == KycStatus.PROVISIONAL
    assert player.status_at(datetime(2026, 2, 28, 9, 0, tzinfo=UTC)) == KycStatus.DEACTIVATED
    assert player.status_at(datetime(2026, 3, 31, 9, 0, tzinfo=UTC)) == KycStatus.CLOSED
    verified = Player("p", KycStatus.VERIFIED, KycMethod.FRANCECONNECT, "", created)
    assert verified.status_at(datetime(2027, 1, 1, tzinfo=UTC)) == KycStatus.VERIFIED


@pytest.mark.parametrize(
    "duration", [timedelta(hours=23, minutes=59), timedelta(days=366), timedelta(0)]
)
def test_self_exclusion_lasts_24_hours_to_12_months(duration: timedelta) -> None:
    player = Player("p", KycStatus.VERIFIED, KycMethod.FRANCECONNECT, "", NOW)
    with pytest.raises(InvalidArgument):
        self_exclusion_until(player, duration, NOW)


def test_self_exclusion_is_never_shortened() -> None:
    player = Player("p", KycStatus.VERIFIED, KycMethod.FRANCECONNECT, "", NOW)
    month = self_exclusion_until(player, timedelta(days=30), NOW)
    excluded = Player("p", KycStatus.VERIFIED, KycMethod.FRANCECONNECT, "", NOW, None, month)
    assert self_exclusion_until(excluded, timedelta(days=1), NOW) == month
    assert self_exclusion_until(excluded, timedelta(days=365), NOW) == NOW + timedelta(days=365)
    assert excluded.self_excluded_at(NOW) and not excluded.self_excluded_at(month)


def test_caps_cut_at_once_and_raise_after_48_hours() -> None:
    first = change_cap(None, 10_000, "EUR", NOW)
    assert first == Cap(10_000, "EUR")
    raised = change_cap(first, 30_000, "EUR", NOW)
    assert raised.amount_minor == 10_000 and raised.pending_minor == 30_000
    assert raised.pending_effective_at == NOW + timedelta(hours=48)
    assert raised.settled(NOW + timedelta(hours=47)).amount_minor == 10_000
    assert raised.settled(NOW + timedelta(hours=48)) == Cap(30_000, "EUR")
    # A cut while a raise waits: the cut applies and the raise is dropped.
    assert change_cap(raised, 5_000, "EUR", NOW + timedelta(hours=1)) == Cap(5_000, "EUR")
    with pytest.raises(InvalidArgument):
        change_cap(first, -1, "EUR", NOW)
    with pytest.raises(InvalidArgument):
        change_cap(first, 1, "eur", NOW)


def test_only_a_lapsed_provisional_account_has_a_lapse_to_announce() -> None:
    created = datetime(2026, 1, 31, tzinfo=UTC)
    provisional = Player("p-1", KycStatus.PROVISIONAL, KycMethod.NONE, "Ada", created)
    assert lapse(provisional, created + timedelta(days=27)) is None
    assert lapse(provisional, datetime(2026, 2, 28, tzinfo=UTC)) == KycStatus.DEACTIVATED
    assert lapse(provisional, datetime(2026, 3, 31, tzinfo=UTC)) == KycStatus.CLOSED
    verified = replace(provisional, kyc_status=KycStatus.VERIFIED)
    assert lapse(verified, datetime(2027, 1, 1, tzinfo=UTC)) is None
    # No account lapses sooner than the shortest month.
    assert lapse(provisional, created + SHORTEST_MONTH - timedelta(seconds=1)) is None


def test_a_provider_outcome_verifies_only_an_approved_admissible_identity() -> None:
    adult, minor = _person(date(1996, 5, 1)), _person(date(2008, 4, 1))
    register = EmptyExclusionRegister()
    approved = Outcome(Verdict.APPROVED, adult)
    assert identity_to_verify(approved, register, NOW) == adult
    assert identity_to_verify(Outcome(Verdict.APPROVED, minor), register, NOW) is None
    assert identity_to_verify(Outcome(Verdict.APPROVED, None), register, NOW) is None
    assert identity_to_verify(Outcome(Verdict.DECLINED, adult), register, NOW) is None


def test_verification_opens_only_for_a_provisional_or_pending_account() -> None:
    created = NOW - timedelta(days=3)
    player = Player("p-1", KycStatus.PROVISIONAL, KycMethod.NONE, "Ada", created)
    assert check_verification_open(player, NOW) == player
    assert awaits_outcome(replace(player, kyc_status=KycStatus.PENDING))
    with pytest.raises(FailedPrecondition) as closed:
        check_verification_open(player, created + timedelta(days=70))  # lapsed: CLOSED
    assert closed.value.reason == "KYC_NOT_OPEN"
    verified = replace(player, kyc_status=KycStatus.VERIFIED)
    with pytest.raises(FailedPrecondition):
        check_verification_open(verified, NOW)
    assert not awaits_outcome(verified) and not awaits_outcome(None)
    with pytest.raises(NotFound):
        check_verification_open(None, NOW)

"""Players and the French regulator's (ANJ) rules on them.

A player's verified identity is the FranceConnect identity pivot (or a paid provider's
equivalent): the minimum the rules need (age, the national exclusion register, which matches on
names, birthdate and birthplace). It never leaves this service and is never logged.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from service_runtime.auth import Principal
from service_runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
)

if TYPE_CHECKING:  # ports.py imports this module's values
    from services.identity.domain.ports import ExclusionRegister

ADULT_AGE = 18
SELF_EXCLUSION_MIN = timedelta(hours=24)
SELF_EXCLUSION_MAX = timedelta(days=365)
# A raised cap waits this long, so that a decision taken in the heat of a session can be undone.
LIMIT_RAISE_DELAY = timedelta(hours=48)
MAX_CAP_MINOR = 10**12


class KycStatus(StrEnum):
    PROVISIONAL = "PROVISIONAL"
    PENDING = "PENDING"
    VERIFIED = "VERIFIED"
    REJECTED = "REJECTED"
    DEACTIVATED = "DEACTIVATED"
    CLOSED = "CLOSED"


class KycMethod(StrEnum):
    NONE = "NONE"
    FRANCECONNECT = "FRANCECONNECT"
    PAID_PROVIDER = "PAID_PROVIDER"


@dataclass(frozen=True)
class VerifiedIdentity:
    subject: str  # the provider's (pairwise) subject
    given_name: str
    family_name: str
    birthdate: date
    gender: str
    birthplace: str  # INSEE commune code; empty when born abroad
    birthcountry: str  # INSEE country code; France is 99100


PIVOT_CLAIMS = ("given_name", "family_name", "birthdate", "gender", "birthplace", "birthcountry")


def identity_from_claims(claims: Mapping[str, Any]) -> VerifiedIdentity:
    """The identity pivot from verified userinfo claims."""
    missing = [n for n in ("sub", "given_name", "family_name", "birthdate") if not claims.get(n)]
    if missing:
        raise Unauthenticated(
            "USERINFO_CLAIM_MISSING", "userinfo lacks identity claims: " + ", ".join(missing)
        )
    values = {n: claims.get(n, "") for n in PIVOT_CLAIMS}
    if not all(isinstance(v, str) for v in values.values()):
        raise Unauthenticated("USERINFO_MALFORMED", "identity claims must be strings")
    try:
        birthdate = date.fromisoformat(str(values["birthdate"]))
    except ValueError:
        raise Unauthenticated("USERINFO_MALFORMED", "birthdate is not a date") from None
    return VerifiedIdentity(
        subject=str(claims["sub"]),
        given_name=str(values["given_name"]),
        family_name=str(values["family_name"]),
        birthdate=birthdate,
        gender=str(values["gender"]),
        birthplace=str(values["birthplace"]),
        birthcountry=str(values["birthcountry"]),
    )


def age_on(birthdate: date, today: date) -> int:
    before_birthday = (today.month, today.day) < (birthdate.month, birthdate.day)
    return today.year - birthdate.year - int(before_birthday)


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def admit(identity: VerifiedIdentity, register: ExclusionRegister, now: datetime) -> None:
    """Refuses an identity the rules do not let open an account."""
    if age_on(identity.birthdate, now.date()) < ADULT_AGE:
        raise FailedPrecondition("PLAYER_UNDER_AGE", "players must be 18 or older")
    if register.is_excluded(identity):
        raise FailedPrecondition(
            "PLAYER_ON_EXCLUSION_REGISTER", "the national exclusion register lists this person"
        )


@dataclass(frozen=True)
class Player:
    player_id: str
    kyc_status: KycStatus
    kyc_method: KycMethod
    display_name: str
    created_at: datetime
    verified_at: datetime | None = None
    self_excluded_until: datetime | None = None
    # Found on the national exclusion register after sign-up (the sweep re-checks).
    register_excluded_at: datetime | None = None

    def status_at(self, now: datetime) -> KycStatus:
        """Provisional accounts lapse: deactivated after a month, closed after two."""
        if self.kyc_status not in (KycStatus.PROVISIONAL, KycStatus.PENDING):
            return self.kyc_status
        if now >= add_months(self.created_at, 2):
            return KycStatus.CLOSED
        if now >= add_months(self.created_at, 1):
            return KycStatus.DEACTIVATED
        return self.kyc_status

    def self_excluded_at(self, now: datetime) -> bool:
        return self.self_excluded_until is not None and now < self.self_excluded_until

    def excluded_at(self, now: datetime) -> bool:
        """Barred from play: self-excluded, or listed on the national register."""
        return self.register_excluded_at is not None or self.self_excluded_at(now)


def check_player_id(player_id: str) -> None:
    if not player_id:
        raise InvalidArgument("PLAYER_ID_REQUIRED", "player_id is required")


def check_account_access(caller: Principal | None, player_id: str) -> None:
    """Whether this caller may read or change this player's account."""
    check_player_id(player_id)
    # An unknown caller (no token: BETMESH_AUTH_MODE=anonymous) reaches no account.
    if caller is None:
        raise Unauthenticated("CALLER_UNKNOWN", "this call needs a signed-in caller")
    # A player reaches their own account only; operators and services reach any.
    if caller.role not in ("operator", "service") and caller.subject != player_id:
        raise PermissionDenied("NOT_YOUR_ACCOUNT", "players may only act on their own account")


def check_limits_asked(deposit: tuple[int, str] | None, stake: tuple[int, str] | None) -> None:
    if deposit is None and stake is None:
        raise InvalidArgument("LIMITS_REQUIRED", "set deposit_cap_7d, stake_cap_7d or both")


# No month is shorter: players created later than this before now cannot have lapsed yet.
SHORTEST_MONTH = timedelta(days=28)
_LAPSES = (KycStatus.DEACTIVATED, KycStatus.CLOSED)


def lapse(player: Player, now: datetime) -> KycStatus | None:
    """The lapse a provisional account has reached by now (DEACTIVATED after a month, CLOSED
    after two), or None."""
    status = player.status_at(now)
    return status if status in _LAPSES else None


def self_exclusion_until(player: Player, duration: timedelta, now: datetime) -> datetime:
    if not SELF_EXCLUSION_MIN <= duration <= SELF_EXCLUSION_MAX:
        raise InvalidArgument(
            "SELF_EXCLUSION_DURATION_INVALID", "self-exclusion lasts 24 hours to 12 months"
        )
    until = now + duration
    # A self-exclusion can be extended, never shortened.
    if player.self_excluded_until is not None and player.self_excluded_until > until:
        return player.self_excluded_until
    return until


@dataclass(frozen=True)
class Cap:
    amount_minor: int
    currency: str
    pending_minor: int | None = None
    pending_effective_at: datetime | None = None

    def settled(self, now: datetime) -> Cap:
        """The cap with a matured raise applied."""
        due = self.pending_effective_at
        if self.pending_minor is not None and due is not None and now >= due:
            return Cap(self.pending_minor, self.currency)
        return self


def change_cap(current: Cap | None, amount_minor: int, currency: str, now: datetime) -> Cap:
    """Cuts (and first caps) apply at once; raises wait LIMIT_RAISE_DELAY."""
    if not 0 <= amount_minor <= MAX_CAP_MINOR:
        raise InvalidArgument("LIMIT_AMOUNT_INVALID", "a cap is 0 or more minor units")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidArgument("CURRENCY_INVALID", "currency must be an ISO 4217 code")
    if current is None:
        return Cap(amount_minor, currency)
    current = current.settled(now)
    if currency != current.currency:
        raise InvalidArgument("CURRENCY_MISMATCH", f"caps are in {current.currency}")
    if amount_minor <= current.amount_minor:
        return Cap(amount_minor, currency)
    due = now + LIMIT_RAISE_DELAY
    return replace(current, pending_minor=amount_minor, pending_effective_at=due)


@dataclass(frozen=True)
class Limits:
    deposit: Cap | None = None
    stake: Cap | None = None

    def changed(
        self, deposit: tuple[int, str] | None, stake: tuple[int, str] | None, now: datetime
    ) -> Limits:
        current = self.settled(now)
        return Limits(
            change_cap(current.deposit, *deposit, now) if deposit else current.deposit,
            change_cap(current.stake, *stake, now) if stake else current.stake,
        )

    def settled(self, now: datetime) -> Limits:
        return Limits(
            self.deposit.settled(now) if self.deposit else None,
            self.stake.settled(now) if self.stake else None,
        )

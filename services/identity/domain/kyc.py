"""The paid KYC provider path: for players who do not (or cannot) use FranceConnect. Its rules
and ports; the flow over them is services/identity/service_layer/kyc.py.

The pattern every provider shares: a verification session created server-side with our player
reference; the player captures document and selfie in the provider's UI; a signed webhook
arrives; we re-fetch the outcome by API before acting (a webhook is a hint, the API is the
truth, so a leaked webhook secret alone cannot verify anyone). Webhooks are verified over the
raw body bytes, inside a timestamp window, and de-duplicated by event id (providers retry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from service_runtime.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from services.identity.domain.players import (
    KycStatus,
    Player,
    VerifiedIdentity,
    admit,
)

if TYPE_CHECKING:  # ports.py imports this module's values
    from services.identity.domain.ports import ExclusionRegister


class Verdict(StrEnum):
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    PENDING = "PENDING"


@dataclass(frozen=True)
class VerificationSession:
    session_id: str
    url: str


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    session_id: str
    # Whether the provider says the session reached an outcome worth fetching.
    final: bool


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    identity: VerifiedIdentity | None = None


class WebhookResult(StrEnum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    IGNORED = "IGNORED"


_OPEN = (KycStatus.PROVISIONAL, KycStatus.PENDING)
MAX_DISPLAY_NAME = 64


MAX_WEBHOOK_HEADERS = 100
MAX_WEBHOOK_HEADER_BYTES = 8 * 1024


def webhook_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased headers, each valid UTF-8 of a bounded size: a header a server could not
    decode (it arrives with surrogate escapes) is the sender's mistake, never our crash."""
    if len(headers) > MAX_WEBHOOK_HEADERS:
        raise InvalidArgument("WEBHOOK_HEADER_INVALID", "too many headers")
    found: dict[str, str] = {}
    for name, value in headers.items():
        try:
            size = len(name.encode("utf-8")) + len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidArgument("WEBHOOK_HEADER_INVALID", "a header is not UTF-8") from None
        if size > MAX_WEBHOOK_HEADER_BYTES:
            raise InvalidArgument("WEBHOOK_HEADER_INVALID", "a header is too large")
        found[name.lower()] = value
    return found


def display_name(asked: str) -> str:
    name = asked.strip()
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidArgument("DISPLAY_NAME_TOO_LONG", f"at most {MAX_DISPLAY_NAME} characters")
    return name


def check_verification_open(player: Player | None, now: datetime) -> Player:
    """The player whose identity verification may start now."""
    if player is None:
        raise NotFound("PLAYER_NOT_FOUND", "no such player")
    status = player.status_at(now)
    if status not in _OPEN:
        raise FailedPrecondition(
            "KYC_NOT_OPEN", f"identity verification is not open for a {status.value} account"
        )
    return player


def awaits_outcome(player: Player | None) -> bool:
    """Whether a provider's outcome may still change this player (a webhook for anyone else is
    ignored)."""
    return player is not None and player.kyc_status in _OPEN


def identity_to_verify(
    outcome: Outcome, register: ExclusionRegister, now: datetime
) -> VerifiedIdentity | None:
    """The identity an outcome verifies the player with; None: the player is rejected (declined,
    or a real person the rules refuse: under 18, excluded). Not for a PENDING outcome."""
    if outcome.verdict != Verdict.APPROVED or outcome.identity is None:
        return None
    try:
        admit(outcome.identity, register, now)
    except DomainError:
        return None
    return outcome.identity

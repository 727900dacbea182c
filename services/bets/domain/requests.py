"""Caller input checks: every mistake gets its own reason."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from service_runtime import page_tokens
from service_runtime.errors import InvalidArgument

MAX_KEY_LENGTH = 200
MAX_PLAYER_ID_LENGTH = 128
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Account codes are "player:<id>:wallet": a ':' or whitespace in an id would make them ambiguous.
_NOT_OURS = "page_token was not issued by this service"
_PLAYER_ID = re.compile(r"^[A-Za-z0-9_.@-]+$")


@dataclass(frozen=True)
class DepositCommand:
    idempotency_key: str
    player_id: str
    amount_minor: int | None
    currency: str
    payment_method_id: str


def check_player_id(player_id: str) -> str:
    if not player_id:
        raise InvalidArgument("PLAYER_ID_REQUIRED", "player_id is required")
    if len(player_id) > MAX_PLAYER_ID_LENGTH or not _PLAYER_ID.match(player_id):
        raise InvalidArgument(
            "PLAYER_ID_INVALID",
            f"player_id must be 1-{MAX_PLAYER_ID_LENGTH} characters of letters, digits, '_.@-'",
        )
    return player_id


def check_idempotency_key(key: str) -> str:
    if not key:
        raise InvalidArgument(
            "IDEMPOTENCY_KEY_REQUIRED", "idempotency_key is required for calls that move money"
        )
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument(
            "IDEMPOTENCY_KEY_INVALID", f"idempotency_key is longer than {MAX_KEY_LENGTH} characters"
        )
    return key


def check_amount(
    amount_minor: int | None, currency: str, expected_currency: str, maximum: int
) -> int:
    if amount_minor is None:
        raise InvalidArgument("INVALID_AMOUNT", "amount is required")
    if amount_minor <= 0:
        raise InvalidArgument(
            "INVALID_AMOUNT", f"amount must be positive minor units, got {amount_minor}"
        )
    if currency != expected_currency:
        raise InvalidArgument(
            "CURRENCY_NOT_SUPPORTED",
            f"currency {currency or '(empty)'!r} is not supported; this wallet uses "
            f"{expected_currency}",
            {"supported_currency": expected_currency},
        )
    if amount_minor > maximum:
        raise InvalidArgument(
            "AMOUNT_ABOVE_MAXIMUM",
            f"amount {amount_minor} is above the maximum of {maximum} minor units",
            {"maximum_minor": str(maximum)},
        )
    return amount_minor


def check_deposit(command: DepositCommand, currency: str, maximum: int) -> int:
    """Checks in the order a caller fixes them; returns the amount."""
    check_idempotency_key(command.idempotency_key)
    check_player_id(command.player_id)
    return check_amount(command.amount_minor, command.currency, currency, maximum)


def fingerprint(operation: str, **fields: str | int) -> str:
    """Identifies a request's meaning, so a key reused for another request is caught."""
    canonical = json.dumps(
        {"operation": operation, **fields}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def page_size(requested: int) -> int:
    # AIP-158: zero means the default and an oversize request is coerced, not refused.
    if requested <= 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def encode_page_token(entry_id: int) -> str:
    return page_tokens.encode("e1", entry_id)


def decode_page_token(token: str) -> int | None:
    entry_id = page_tokens.decode_int("e1", token)
    if entry_id is not None and entry_id <= 0:
        raise InvalidArgument("PAGE_TOKEN_INVALID", _NOT_OURS)
    return entry_id

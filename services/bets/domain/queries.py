"""Reads: a bet (its player's, or any for operators), a player's bets a page at a time, and
the operators' reports (return to player, the quarterly statement, exposure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service_runtime import page_tokens
from service_runtime.errors import InvalidArgument, NotFound, Unauthenticated
from services.bets.domain.model import Bet
from services.bets.domain.statement import (
    QuarterlyStatement,
    ReturnToPlayer,
    StatementRow,
    quarter_period,
)
from services.bets.domain.wallet import PRIVILEGED_ROLES, Caller


def check_get(bet_id: str, caller: Caller | None) -> Caller:
    if not bet_id:
        raise InvalidArgument("BET_ID_REQUIRED", "bet_id is required")
    if caller is None:
        raise Unauthenticated("CALLER_UNKNOWN", "this call needs a signed-in caller")
    return caller


def visible(bet_id: str, caller: Caller, bet: Bet | None) -> Bet:
    if bet is None or (caller.role not in PRIVILEGED_ROLES and caller.subject != bet.player_id):
        # Someone else's bet is answered as missing: its existence is not theirs to learn.
        raise NotFound("BET_NOT_FOUND", f"no bet {bet_id}", {"bet_id": bet_id})
    return bet


def page_after(page_token: str) -> str | None:
    """The bet a page token says to start after. Strictly parsed (service_runtime.page_tokens):
    a key of printable ASCII or a refusal."""
    return page_tokens.decode_key("b1", page_token)


def page(rows: list[Bet], size: int) -> tuple[list[Bet], str]:
    """A page of `size` from `size + 1` rows read, and the token of the next one ('' if none)."""
    found, more = rows[:size], len(rows) > size
    return found, (page_tokens.encode("b1", found[-1].bet_id) if more else "")


def report_period(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end) of a return-to-player report: from the beginning, up to now, if unset."""
    begin = start or datetime(1970, 1, 1, tzinfo=UTC)
    finish = end or now + timedelta(seconds=1)
    if begin >= finish:
        raise InvalidArgument("PERIOD_INVALID", "period_start must be before period_end")
    return begin, finish


def statement_until(year: int, quarter: int, now: datetime) -> tuple[datetime, datetime, datetime]:
    """The quarter's [start, end) and how far it is reported: the running quarter up to now, a
    future one empty (not refused)."""
    start, end = quarter_period(year, quarter)
    return start, end, min(end, max(start, now))


def statement(
    start: datetime,
    end: datetime,
    rows: list[StatementRow],
    year_to_date: ReturnToPlayer | None,
) -> QuarterlyStatement:
    return QuarterlyStatement(
        start,
        end,
        tuple(rows),
        year_to_date.stakes_minor if year_to_date else 0,
        year_to_date.payouts_minor if year_to_date else 0,
    )


def check_exposure(fixture_id: str) -> None:
    if not fixture_id:
        raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")

"""The local book of accepted consensus prices and market statuses bets are checked against.

Fed by the gateway's accepted quote sets and live's bet stops, possibly out of order: a market's
status is the newest word on it, ordered by the fixture's event sequence and then by when it
was said, so a suspension is never undone by an older quote set arriving late. Also kept: when
live last vouched (its LiveHeartbeat) that it watches each in-play fixture, the evidence an
in-play price still has someone alive behind it (placing.check_watched).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime

from services.bets.domain.model import FixtureQuotes, MarketQuote

ALL_MARKETS = ""


@dataclass(frozen=True)
class StatusWord:
    status: str
    event_sequence: int
    said_at: datetime


class PriceBook:
    """Thread-safe: consumers write from the event loop, bet checks read from worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fixtures: dict[str, FixtureQuotes] = {}
        # (fixture_id, market_id or ALL_MARKETS) -> last status said by a bet stop / reopen.
        self._words: dict[tuple[str, str], StatusWord] = {}
        # Display names ("Home v Away"), kept on each leg placed.
        self._names: dict[str, str] = {}
        # fixture_id -> the newest time a live process said it watches it.
        self._vouched: dict[str, datetime] = {}

    def set_fixture_name(self, fixture_id: str, name: str) -> None:
        with self._lock:
            self._names[fixture_id] = name

    def fixture_name(self, fixture_id: str) -> str | None:
        """The fixture's display name; None while unknown."""
        with self._lock:
            return self._names.get(fixture_id)

    def vouch(self, fixture_ids: list[str], at: datetime, heard_at: datetime | None = None) -> None:
        """Live watches these fixtures as of `at`, when live said so (heartbeats may arrive out
        of order: the newest is kept), but never as of later than `heard_at`, when this process
        read it: live's clock running ahead of ours must not make its word last longer (a
        heartbeat stamped a minute ahead would otherwise vouch for a minute after live died)."""
        if heard_at is not None:
            at = min(at, heard_at)
        with self._lock:
            for fixture_id in fixture_ids:
                known = self._vouched.get(fixture_id)
                if known is None or known < at:
                    self._vouched[fixture_id] = at

    def vouched_at(self, fixture_id: str) -> datetime | None:
        """When live last said it watches the fixture; None if never (since this start)."""
        with self._lock:
            return self._vouched.get(fixture_id)

    def apply_quote_set(self, quotes: FixtureQuotes) -> bool:
        """Keeps the newest set per fixture; returns False for a stale or repeated one."""
        with self._lock:
            known = self._fixtures.get(quotes.fixture_id)
            if known is not None and (known.event_sequence, known.accepted_at) >= (
                quotes.event_sequence,
                quotes.accepted_at,
            ):
                return False
            self._fixtures[quotes.fixture_id] = quotes
            return True

    def apply_status(
        self,
        fixture_id: str,
        market_ids: list[str],
        status: str,
        event_sequence: int,
        said_at: datetime,
    ) -> None:
        word = StatusWord(status, event_sequence, said_at)
        with self._lock:
            for market_id in market_ids or [ALL_MARKETS]:
                known = self._words.get((fixture_id, market_id))
                if known is None or (known.event_sequence, known.said_at) <= (
                    event_sequence,
                    said_at,
                ):
                    self._words[(fixture_id, market_id)] = word

    def fixture(self, fixture_id: str) -> FixtureQuotes | None:
        with self._lock:
            quotes = self._fixtures.get(fixture_id)
            if quotes is None:
                return None
            words = {
                market_id: word
                for (fid, market_id), word in self._words.items()
                if fid == fixture_id
            }
        if not words:
            return quotes
        markets = {
            market_id: self._effective(quotes, market, words)
            for market_id, market in quotes.markets.items()
        }
        return replace(quotes, markets=markets)

    @staticmethod
    def _effective(
        quotes: FixtureQuotes, market: MarketQuote, words: dict[str, StatusWord]
    ) -> MarketQuote:
        newest = (quotes.event_sequence, quotes.accepted_at)
        status = market.status
        for word in (words.get(ALL_MARKETS), words.get(market.market_id)):
            # A tie goes to the status word: a stop said at the very sequence the prices were
            # made for means the prices are already stale.
            if word is not None and (word.event_sequence, word.said_at) >= newest:
                newest = (word.event_sequence, word.said_at)
                status = word.status
        return market if status == market.status else replace(market, status=status)

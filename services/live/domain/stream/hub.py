"""The per-process fan-out: every journal entry, in journal order, to every matching stream."""

from __future__ import annotations

import asyncio
import time

from services.live.domain.stream.book import Book, Entry
from services.live.domain.stream.filters import Filter
from services.live.domain.stream.resume import Position
from services.live.domain.stream.subscriber import Subscriber


class Hub:
    def __init__(self) -> None:
        self.book = Book()
        self.subscribers: dict[str, Subscriber] = {}
        self._progress = asyncio.Condition()
        self.ready = asyncio.Event()

    @property
    def position(self) -> Position:
        return self.book.position

    def apply(self, entries: list[Entry], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        # Streams with the same filter (most partners ask for the same few things) are matched
        # once per entry.
        groups: dict[Filter, list[Subscriber]] = {}
        for subscriber in self.subscribers.values():
            groups.setdefault(subscriber.filter, []).append(subscriber)
        for entry in entries:
            if self.book.already_applied(entry):
                self.book.position = max(self.book.position, entry.position)
                continue
            self.book.apply(entry)
            fixture_id, sport, phase = entry.fixture_id, entry.sport, entry.phase
            for filter_, members in groups.items():
                if filter_.matches(fixture_id, sport, phase):
                    for subscriber in members:
                        subscriber.offer(entry, now)
                else:
                    for subscriber in members:
                        subscriber.seen = entry.position

    async def notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    async def wait_for(self, position: Position, timeout: float) -> bool:
        """Until the book has reached `position` (a token issued by a process further ahead)."""

        async def reached() -> None:
            async with self._progress:
                await self._progress.wait_for(lambda: self.book.position >= position)

        try:
            await asyncio.wait_for(reached(), timeout)
        except TimeoutError:
            return False
        return True

    def attach(self, subscriber: Subscriber) -> None:
        previous = self.subscribers.get(subscriber.stream_id)
        if previous is not None and previous is not subscriber:
            # The same stream resumed here while its old connection lingers: the new one wins.
            previous.cut_off("STREAM_RESUMED_ELSEWHERE")
        self.subscribers[subscriber.stream_id] = subscriber

    def detach(self, subscriber: Subscriber) -> None:
        if self.subscribers.get(subscriber.stream_id) is subscriber:
            del self.subscribers[subscriber.stream_id]

    def sweep(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for subscriber in list(self.subscribers.values()):
            subscriber.check(now)

"""One stream's state: what it waits to send, how it batches and conflates, where it stands.

Everything here is synchronous: the hub offers entries between awaits, and `build` turns what
is waiting into messages in one go, so no entry can slip in between an image and the position
it is stamped with.

Positions: a message's resume point is the last journal entry whose updates it completes (or
how many of that entry's updates it holds when a batch ends inside one). Non-final image chunks
and non-final chunks of a conflated flush have no resume point (None): resuming from one sends
a new image rather than ever leaving a silent gap.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from betmesh.live.v1 import live_odds_service_pb2 as pb
from google.protobuf import timestamp_pb2

from services.live.stream.book import Book, Entry, Key, restricted_state
from services.live.stream.filters import Filter
from services.live.stream.resume import WHOLE, Position, TokenEncoder

# An image message holds at most this many markets, so that one message stays far below the
# 4 MB default receive limit and never blocks the loop for long while it is serialised.
IMAGE_MARKETS_PER_MESSAGE = 2_000
CONSUMER_TOO_SLOW = "CONSUMER_TOO_SLOW"


@dataclass(frozen=True)
class Limits:
    # Entries waiting beyond this switch the stream to conflation (latest state per market).
    conflate_after: int = 64
    # Behind (something waiting, unsent) for longer than this: cut.
    max_behind_seconds: float = 30.0
    # Settlements and rollbacks are kept in order while conflating; beyond this many: cut.
    max_kept_updates: int = 1_000


@dataclass
class _Merged:
    ids: set[str] = field(default_factory=set)
    every_market: bool = False
    header: bool = False


class Subscriber:
    def __init__(
        self,
        stream_id: str,
        filter_: Filter,
        partner: str,
        encoders: Callable[[Filter], TokenEncoder],
        *,
        max_batch: int,
        heartbeat_seconds: float,
        conflate_seconds: float,
        limits: Limits,
        position: Position,
        sequence: int = 0,
    ) -> None:
        self.stream_id = stream_id
        self.filter = filter_
        self.partner = partner
        self._encoders = encoders
        self._encoder = encoders(filter_)
        self.max_batch = max_batch
        self.heartbeat_seconds = heartbeat_seconds
        self.conflate_seconds = conflate_seconds
        self.limits = limits
        self.sequence = sequence
        self.seen: Position = position
        self.position: Position | None = position
        self.delivered = WHOLE
        self.pending: deque[Entry] = deque()
        self.buffer: dict[Key, _Merged] | None = {} if conflate_seconds > 0 else None
        self.kept: list[pb.OddsUpdate] = []
        self.absorbed = 0
        self.controls: deque[Filter] = deque()
        self.outbox: deque[pb.StreamOddsResponse] = deque()
        # (position, count): the first entry of a replay that was partly delivered already.
        self.skip: tuple[Position, int] | None = None
        self.wake = asyncio.Event()
        self.behind_since: float | None = None
        # Set by the sending task while a write waits on the client.
        self.writing = False
        self.cut: str | None = None
        self.on_cut: Callable[[], None] | None = None

    # -- offered by the hub ------------------------------------------------------------------

    def offer(self, entry: Entry, now: float) -> None:
        self.seen = entry.position
        if self.buffer is not None:
            self._merge(entry)
        else:
            self.pending.append(entry)
            if self.writing and len(self.pending) > self.limits.conflate_after:
                # Behind (a write is waiting on the client while entries pile up; a burst
                # that arrives at once is not that): only the latest state per market is kept.
                self.buffer = {}
                while self.pending:
                    self._merge(self.pending.popleft())
        if self.behind_since is None:
            self.behind_since = now
        self.wake.set()

    def pass_over(self, position: Position) -> None:
        self.seen = position

    def check(self, now: float) -> None:
        if self.cut is not None or self.behind_since is None:
            return
        if now - self.behind_since > self.limits.max_behind_seconds:
            self.cut_off(CONSUMER_TOO_SLOW)

    def cut_off(self, reason: str) -> None:
        self.cut = reason
        self.wake.set()
        if self.on_cut is not None:
            self.on_cut()

    def _merge(self, entry: Entry) -> None:
        assert self.buffer is not None
        merged = self.buffer.setdefault(entry.key, _Merged())
        self.absorbed += 1
        for update in entry.view(self.filter):
            kind = update.WhichOneof("update")
            if kind == "odds_change":
                merged.header = True
                merged.ids.update(m.market_id for m in update.odds_change.markets)
            elif kind == "fixture_change":
                merged.header = True
            elif kind == "bet_stop":
                if update.bet_stop.market_ids:
                    merged.ids.update(update.bet_stop.market_ids)
                else:
                    merged.every_market = True
            else:
                # Settlements, rollbacks and cancellations are facts, not states: kept in order.
                self.kept.append(update)
                merged.every_market = True
                if len(self.kept) > self.limits.max_kept_updates:
                    self.cut_off(CONSUMER_TOO_SLOW)

    # -- built by the stream's own task ------------------------------------------------------

    def has_waiting(self) -> bool:
        return bool(self.pending or self.buffer or self.kept or self.controls)

    def replay(self, entries: list[Entry], skip: tuple[Position, int] | None) -> None:
        """Entries missed since a resume point go before anything offered since."""
        self.skip = skip
        self.pending.extendleft(reversed(entries))
        if entries:
            self.wake.set()

    def change_filter(self, filter_: Filter) -> None:
        self.controls.append(filter_)
        self.wake.set()

    def image(self, book: Book, reason: int, now: float) -> None:
        """A full image of the book for the filter; what waited is superseded by it."""
        self.pending.clear()
        self.skip = None
        if self.buffer is not None:
            self.buffer = {} if self.conflate_seconds > 0 else None
        self.kept.clear()
        self.absorbed = 0
        self.seen = book.position
        self._image_messages(book.image(self.filter), reason, now)

    def build(self, book: Book, now: float) -> None:
        """Moves everything waiting into the outbox as messages."""
        while self.controls:
            new = self.controls.popleft()
            self._drain(book, now)
            old = self.filter
            self.filter = new
            self._encoder = self._encoders(new)
            self._emit(
                pb.StreamOddsResponse(
                    subscription_changed=pb.SubscriptionChanged(filter=new.to_proto())
                ),
                self.seen,
                WHOLE,
                now,
            )
            added = []
            for (fixture_id, phase), state in sorted(book.states.items()):
                sport = state.fixture.sport
                if not new.matches(fixture_id, sport, phase):
                    continue
                had = old.matches(fixture_id, sport, phase)
                ids = {
                    m.market_id
                    for m in state.markets
                    if new.market_ok(m.type) and not (had and old.market_ok(m.type))
                }
                if ids or not had:
                    added.append(restricted_state(state, new, ids))
            self._image_messages(added, pb.FULL_IMAGE_REASON_FILTER_CHANGED, now)
        self._drain(book, now)

    def heartbeat(self, latest: Position, now: float) -> None:
        behind = self.has_waiting()
        delivered_ms = self.position[0] if self.position is not None else 0
        lag = max(0, latest[0] - delivered_ms) if behind else 0
        position, delivered = (self.position, self.delivered) if behind else (self.seen, WHOLE)
        self._emit(
            pb.StreamOddsResponse(heartbeat=pb.Heartbeat(lag_ms=min(lag, 2**32 - 1))),
            position,
            delivered,
            now,
        )

    def _drain(self, book: Book, now: float) -> None:
        if self.buffer is not None:
            self._drain_buffer(book, now)
            return
        batch: list[pb.OddsUpdate] = []
        while self.pending:
            entry = self.pending.popleft()
            view = entry.view(self.filter)
            start = 0
            if self.skip is not None and self.skip[0] == entry.position:
                start = len(view) if self.skip[1] == WHOLE else self.skip[1]
            self.skip = None
            for index in range(start, len(view)):
                batch.append(view[index])
                if len(batch) == self.max_batch:
                    last = index == len(view) - 1
                    self._deltas(batch, entry.position, WHOLE if last else index + 1, now, False)
                    batch = []
        if batch:
            self._deltas(batch, self.seen, WHOLE, now, False)
        else:
            self.position, self.delivered = self.seen, WHOLE

    def _drain_buffer(self, book: Book, now: float) -> None:
        assert self.buffer is not None
        updates: list[pb.OddsUpdate] = []
        for key, merged in self.buffer.items():
            state = book.states.get(key)
            if state is None or not self.filter.matches(key[0], state.fixture.sport, key[1]):
                continue
            only = None if merged.every_market else merged.ids
            view = restricted_state(state, self.filter, only)
            if view.markets or merged.header:
                updates.append(pb.OddsUpdate(odds_change=view))
        updates += self.kept
        conflated = self.absorbed > len(updates)
        self.buffer = {} if self.conflate_seconds > 0 else None
        self.kept = []
        self.absorbed = 0
        for start in range(0, len(updates), self.max_batch):
            final = start + self.max_batch >= len(updates)
            self._deltas(
                updates[start : start + self.max_batch],
                self.seen if final else None,
                WHOLE,
                now,
                conflated,
            )
        if not updates:
            self.position, self.delivered = self.seen, WHOLE

    def _deltas(
        self,
        updates: list[pb.OddsUpdate],
        position: Position | None,
        delivered: int,
        now: float,
        conflated: bool,
    ) -> None:
        message = pb.StreamOddsResponse(conflated=conflated)
        message.deltas.updates.extend(updates)
        self._emit(message, position, delivered, now)

    def _image_messages(self, fixtures: list[pb.FixtureOdds], reason: int, now: float) -> None:
        chunks: list[list[pb.FixtureOdds]] = [[]]
        markets = 0
        for odds in fixtures:
            full = len(chunks[-1]) >= self.max_batch or (
                chunks[-1] and markets + len(odds.markets) > IMAGE_MARKETS_PER_MESSAGE
            )
            if full:
                chunks.append([])
                markets = 0
            chunks[-1].append(odds)
            markets += len(odds.markets)
        for index, chunk in enumerate(chunks):
            final = index == len(chunks) - 1
            message = pb.StreamOddsResponse()
            message.full_image.reason = reason  # type: ignore[assignment]
            message.full_image.complete = final
            message.full_image.fixtures.extend(chunk)
            self._emit(message, self.seen if final else None, WHOLE, now)

    def _emit(
        self,
        message: pb.StreamOddsResponse,
        position: Position | None,
        delivered: int,
        now: float,
    ) -> None:
        self.sequence += 1
        self.position, self.delivered = position, delivered
        message.stream_id = self.stream_id
        message.sequence = self.sequence
        message.resume_token = self._encoder.encode(self.sequence, position, delivered, now)
        message.sent_at.CopyFrom(_timestamp(now))
        self.outbox.append(message)


def _timestamp(now: float) -> timestamp_pb2.Timestamp:
    seconds = int(now)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=int((now - seconds) * 1e9))

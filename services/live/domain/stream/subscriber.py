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
from dataclasses import dataclass

from betmesh.live.v1 import live_odds_service_pb2 as pb
from google.protobuf import timestamp_pb2

from services.live.domain.stream.book import Book, Entry, restricted_state
from services.live.domain.stream.filters import Filter
from services.live.domain.stream.resume import WHOLE, Position, TokenEncoder
from services.live.domain.stream.wire import deltas_field, update_chunk

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
        connection_id: str = "",
    ) -> None:
        self.stream_id = stream_id
        # This connection's hold on the stream (the registry's owner key names it).
        self.connection_id = connection_id
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
        # Conflating: entries are not queued; what changed since `dirty_from` (inclusive) is
        # sent as its latest state, read from the book when the stream next sends.
        self.conflating = conflate_seconds > 0
        self.dirty_from: Position = after(position)
        self.kept: list[pb.OddsUpdate] = []
        self.absorbed = 0
        self.controls: deque[Filter] = deque()
        # Encoded StreamOddsResponse messages, ready for the wire.
        self.outbox: deque[bytes] = deque()
        # (position, count): the first entry of a replay that was partly delivered already.
        self.skip: tuple[Position, int] | None = None
        self.wake = asyncio.Event()
        self.behind_since: float | None = None
        # Set by the sending task while a write waits on the client.
        self.writing = False
        self.cut: str | None = None
        self.on_cut: Callable[[], None] | None = None
        # The producers' status to send next (at open, and when one goes up or down).
        self.pending_status: pb.ProducerStatus | None = None

    # -- offered by the hub ------------------------------------------------------------------

    def offer(self, entry: Entry, now: float) -> None:
        self.seen = entry.position
        if self.conflating:
            self._absorb(entry)
        else:
            self.pending.append(entry)
            if self.writing and len(self.pending) > self.limits.conflate_after:
                # Behind (a write is waiting on the client while entries pile up; a burst
                # that arrives at once is not that): only the latest state per market is kept.
                self.conflating = True
                self._absorb_pending()
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

    def _absorb(self, entry: Entry) -> None:
        """O(1) per entry for a conflating stream (what a slow consumer costs the others):
        the state comes from the book later; only facts are kept."""
        self.absorbed += 1
        if entry.has_facts:
            # Settlements, rollbacks and cancellations are facts, not states: kept in order.
            self.kept += entry.facts(self.filter)
            if len(self.kept) > self.limits.max_kept_updates:
                self.cut_off(CONSUMER_TOO_SLOW)

    def _absorb_pending(self) -> None:
        if not self.pending:
            return
        self.skip = None  # a partly delivered entry is resent whole, as its key's state
        self.dirty_from = min(self.dirty_from, self.pending[0].position)
        while self.pending:
            self._absorb(self.pending.popleft())

    # -- built by the stream's own task ------------------------------------------------------

    def has_waiting(self) -> bool:
        return bool(self.pending or self.absorbed or self.kept or self.controls)

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
        self.conflating = self.conflate_seconds > 0
        self.kept.clear()
        self.absorbed = 0
        self.seen = book.position
        self.dirty_from = after(book.position)
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

    def lag_seconds(self, monotonic_now: float) -> float:
        """Age of the oldest update waiting for this stream (0 when nothing waits)."""
        if self.behind_since is None or not (self.outbox or self.has_waiting()):
            return 0.0
        return max(0.0, monotonic_now - self.behind_since)

    def heartbeat(self, now: float, lag_seconds: float) -> None:
        behind = self.has_waiting()
        position, delivered = (self.position, self.delivered) if behind else (self.seen, WHOLE)
        lag_ms = min(int(lag_seconds * 1000), 2**32 - 1)
        max_lag_ms = int(self.limits.max_behind_seconds * 1000)
        self._emit(
            pb.StreamOddsResponse(
                heartbeat=pb.Heartbeat(
                    lag_ms=lag_ms, max_lag_ms=max_lag_ms, falling_behind=lag_ms * 2 > max_lag_ms
                )
            ),
            position,
            delivered,
            now,
        )

    def producer_status(self, status: pb.ProducerStatus, now: float) -> None:
        """Mesh-wide news, not a journal entry: stamped with where the stream stands."""
        behind = self.has_waiting()
        position, delivered = (self.position, self.delivered) if behind else (self.seen, WHOLE)
        self._emit(pb.StreamOddsResponse(producer_status=status), position, delivered, now)

    def _drain(self, book: Book, now: float) -> None:
        if self.conflating:
            self._drain_conflated(book, now)
            return
        batch: list[bytes] = []
        while self.pending:
            entry = self.pending.popleft()
            view = entry.encoded(self.filter)
            start = 0
            if self.skip is not None and self.skip[0] == entry.position:
                start = len(view) if self.skip[1] == WHOLE else self.skip[1]
            self.skip = None
            if start == 0 and len(batch) + len(view) < self.max_batch:
                batch += view  # the usual case: the whole entry fits
                continue
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
        self.dirty_from = after(self.seen)

    def _drain_conflated(self, book: Book, now: float) -> None:
        self._absorb_pending()
        # Facts first, in order (bet stops among them), then the latest state of what changed:
        # a stop that was lifted since arrives before the state that reopens it.
        chunks: list[bytes] = [update_chunk(u) for u in self.kept]
        for key in book.changed_since(self.dirty_from):
            state = book.states[key]
            if self.filter.matches(key[0], state.fixture.sport, key[1]):
                chunks.append(book.encoded_state(key, self.filter))
        conflated = self.absorbed > len(chunks)
        self.conflating = self.conflate_seconds > 0
        self.dirty_from = after(self.seen)
        self.kept = []
        self.absorbed = 0
        for start in range(0, len(chunks), self.max_batch):
            final = start + self.max_batch >= len(chunks)
            self._deltas(
                chunks[start : start + self.max_batch],
                self.seen if final else None,
                WHOLE,
                now,
                conflated,
            )
        if not chunks:
            self.position, self.delivered = self.seen, WHOLE

    def _deltas(
        self,
        chunks: list[bytes],
        position: Position | None,
        delivered: int,
        now: float,
        conflated: bool,
    ) -> None:
        self._emit(pb.StreamOddsResponse(conflated=conflated), position, delivered, now, chunks)

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
        deltas: list[bytes] | None = None,
    ) -> None:
        """Stamps and encodes one message; `deltas` (shared update encodings) become its
        payload without being parsed or copied per stream."""
        self.sequence += 1
        self.position, self.delivered = position, delivered
        message.stream_id = self.stream_id
        message.sequence = self.sequence
        message.resume_token = self._encoder.encode(self.sequence, position, delivered, now)
        message.sent_at.CopyFrom(_timestamp(now))
        encoded = message.SerializeToString()
        if deltas is not None:
            encoded += deltas_field(deltas)
        self.outbox.append(encoded)


def after(position: Position) -> Position:
    """The first journal position after `position` (Redis stream ids are (ms, seq))."""
    return position[0], position[1] + 1


def _timestamp(now: float) -> timestamp_pb2.Timestamp:
    seconds = int(now)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=int((now - seconds) * 1e9))

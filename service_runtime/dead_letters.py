"""Dead letters: events a consumer could not handle after a bounded number of attempts.

Without them one poison event (say a result for a fixture id no database accepts) is retried
for ever, hiding behind its own noise. `EventConsumer` counts each entry's failed attempts in
Redis (so the count survives restarts and moves with the entry between consumers), retries it
with exponential back-off, and after `max_attempts` failures moves it here: one stream for the
mesh, `betmesh:events:dead-letters`, each entry naming the topic, consumer group, original
entry and event ids, attempt count, a machine reason and a bounded error text, plus the
original entry's fields (envelope and trace context) under `original.`. An entry that cannot
even be decoded goes at once (retrying cannot help).

Operators list, requeue (after a fix) and discard dead letters through `DeadLetterStore`, which
the hosting service exposes as `betmesh.bets.v1.DeadLetterService`. Requeueing appends the
original fields to the topic's stream as a new entry; groups that had already handled the event
skip it by its event id (consumers are idempotent by event id), the group that failed handles it.

Each dead letter also counts in the `betmesh.events.dead_letters` metric and logs one error line
(`event dead-lettered`) with topic, group, ids, attempts and reason.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from service_runtime.env import Env
from service_runtime.errors import InvalidArgument, NotFound, bounded
from service_runtime.telemetry import meter

log = logging.getLogger(__name__)

DEAD_LETTER_STREAM = "betmesh:events:dead-letters"
ORIGINAL_PREFIX = "original."
# Kept bounded like every stream: a flood of poison must not fill Redis.
MAX_DEAD_LETTERS = 100_000
MAX_ERROR_CHARS = 512
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50

HANDLER_FAILED = "HANDLER_FAILED"
EVENT_UNDECODABLE = "EVENT_UNDECODABLE"

# A stream entry id: milliseconds-sequence. Anything else is refused before it reaches Redis.
_ENTRY_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")

_dead_letters = meter(__name__).create_counter(
    "betmesh.events.dead_letters",
    description="events moved to the dead-letter stream, by topic, consumer group and reason",
)

# Atomic requeue: the dead letter is removed and its original fields appended to the topic's
# stream in one step, so two operators requeueing at once cannot both succeed.
_REQUEUE = """
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return false end
local fields = found[1][2]
local args = {KEYS[2], 'MAXLEN', '~', ARGV[2], '*'}
local prefix = ARGV[3]
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, #prefix) == prefix then
    table.insert(args, string.sub(name, #prefix + 1))
    table.insert(args, fields[i + 1])
  end
end
if #args == 5 then return false end
local id = redis.call('XADD', unpack(args))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
"""


@dataclass(frozen=True)
class DeadLetterPolicy:
    """How often and how patiently a consumer retries an event before giving it up."""

    max_attempts: int = 5
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 30.0

    @classmethod
    def read(cls, env: Env) -> DeadLetterPolicy:
        policy = cls(
            # Failed attempts after which an event is dead-lettered (event consumers).
            max_attempts=env.int("EVENT_MAX_ATTEMPTS", 5),
            # Wait before retrying a failed event, doubled at each failure...
            backoff_base_seconds=env.float("EVENT_RETRY_BACKOFF_SECONDS", 0.5),
            # ... up to this.
            backoff_max_seconds=env.float("EVENT_RETRY_BACKOFF_MAX_SECONDS", 30.0),
        )
        if policy.max_attempts < 1:
            env.problems.append("BETMESH_EVENT_MAX_ATTEMPTS must be at least 1")
        if policy.backoff_base_seconds <= 0 or policy.backoff_max_seconds <= 0:
            env.problems.append("BETMESH_EVENT_RETRY_BACKOFF_*_SECONDS must be > 0")
        return policy

    def backoff(self, attempts: int) -> float:
        """Seconds to wait before the attempt after `attempts` failed ones."""
        delay: float = self.backoff_base_seconds * 2.0 ** max(attempts - 1, 0)
        return min(delay, self.backoff_max_seconds)


@dataclass(frozen=True)
class DeadLetter:
    dead_letter_id: str
    topic: str
    group: str
    consumer: str
    stream_entry_id: str
    event_id: str
    payload_type: str
    attempts: int
    reason: str
    error: str
    dead_at_ms: int
    envelope: bytes


def _text(fields: dict[bytes, bytes], name: str) -> str:
    return fields.get(name.encode(), b"").decode("utf-8", "replace")


def _dead_letter(entry_id: bytes, fields: dict[bytes, bytes]) -> DeadLetter:
    def number(name: str) -> int:
        try:
            return int(_text(fields, name) or 0)
        except ValueError:
            return 0

    return DeadLetter(
        dead_letter_id=entry_id.decode(),
        topic=_text(fields, "topic"),
        group=_text(fields, "group"),
        consumer=_text(fields, "consumer"),
        stream_entry_id=_text(fields, "entry_id"),
        event_id=_text(fields, "event_id"),
        payload_type=_text(fields, "payload_type"),
        attempts=number("attempts"),
        reason=_text(fields, "reason"),
        error=_text(fields, "error"),
        dead_at_ms=number("dead_at_ms"),
        envelope=fields.get(f"{ORIGINAL_PREFIX}envelope".encode(), b""),
    )


def _checked_id(value: str, field: str) -> str:
    # Redis refuses (an error, not "not found") ids beyond 64-bit parts.
    if not _ENTRY_ID.fullmatch(value) or any(int(p) >= 2**64 for p in value.split("-")):
        raise InvalidArgument(
            f"{field.upper()}_INVALID", f"{field} must be a stream entry id such as 1712-0"
        )
    return value


class DeadLetterStore:
    def __init__(self, client: aioredis.Redis, stream: str = DEAD_LETTER_STREAM) -> None:
        self.client = client
        self.stream = stream

    async def bury(
        self,
        *,
        stream: str,
        topic: str,
        group: str,
        consumer: str,
        entry_id: bytes,
        fields: dict[bytes, bytes],
        event_id: str,
        attempts: int,
        reason: str,
        error: BaseException,
        attempts_key: str,
    ) -> str:
        """Moves a pending entry here: recorded, acknowledged and its count forgotten at once."""
        record: dict[Any, Any] = {
            "topic": topic,
            "group": group,
            "consumer": consumer,
            "stream": stream,
            "entry_id": entry_id,
            "event_id": bounded(event_id, 128),
            "payload_type": fields.get(b"type", b""),
            "attempts": attempts,
            "reason": reason,
            "error": bounded(f"{type(error).__name__}: {error}", MAX_ERROR_CHARS),
            "dead_at_ms": int(time.time() * 1000),
        }
        for name, value in fields.items():
            record[ORIGINAL_PREFIX.encode() + name] = value
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(self.stream, record, maxlen=MAX_DEAD_LETTERS, approximate=True)
            pipe.xack(stream, group, entry_id)
            pipe.hdel(attempts_key, entry_id)
            dead_id, *_ = await pipe.execute()
        dead = dead_id.decode() if isinstance(dead_id, bytes) else str(dead_id)
        _dead_letters.add(1, {"betmesh.event.topic": topic, "betmesh.event.reason": reason})
        log.error(
            "event dead-lettered",
            extra={
                "topic": topic,
                "group": group,
                "entry_id": entry_id.decode(),
                "event_id": record["event_id"],
                "attempts": attempts,
                "reason": reason,
                "error": record["error"],
                "dead_letter_id": dead,
            },
        )
        return dead

    async def count(self) -> int:
        return int(await self.client.xlen(self.stream))

    async def list(
        self, topic: str = "", page_size: int = 0, page_token: str = ""
    ) -> tuple[list[DeadLetter], str]:
        """A page of dead letters, oldest first (of `topic` only, if given), and the next
        page's token ("" at the end). Scans a bounded number of entries per call."""
        if page_size < 0 or page_size > MAX_PAGE_SIZE:
            raise InvalidArgument(
                "PAGE_SIZE_INVALID", f"page_size must be between 0 and {MAX_PAGE_SIZE}"
            )
        size = page_size or DEFAULT_PAGE_SIZE
        start = f"({_checked_id(page_token, 'page_token')}" if page_token else "-"
        found: list[DeadLetter] = []
        scanned = 0
        while len(found) < size and scanned < size * 10:
            entries: Any = await self.client.xrange(self.stream, start, "+", count=size)
            if not entries:
                return found, ""
            for entry_id, fields in entries:
                scanned += 1
                start = f"({entry_id.decode()}"
                letter = _dead_letter(entry_id, fields)
                if not topic or letter.topic == topic:
                    found.append(letter)
                    if len(found) == size:
                        break
        last = start[1:]
        more = await self.client.xrange(self.stream, f"({last}", "+", count=1)
        return found, last if more else ""

    async def requeue(self, dead_letter_id: str, max_length: int = 1_000_000) -> str:
        """Appends the dead letter's original entry to its stream again; the new entry id."""
        _checked_id(dead_letter_id, "dead_letter_id")
        found: Any = await self.client.xrange(self.stream, dead_letter_id, dead_letter_id)
        if not found:
            raise NotFound("DEAD_LETTER_NOT_FOUND", "no such dead letter")
        stream = _text(found[0][1], "stream")
        if not stream.startswith("betmesh:events:") or stream == self.stream:
            raise NotFound("DEAD_LETTER_NOT_FOUND", "the dead letter names no event stream")
        new_id = await self.client.eval(
            _REQUEUE, 2, self.stream, stream, dead_letter_id, max_length, ORIGINAL_PREFIX
        )
        if not new_id:
            raise NotFound("DEAD_LETTER_NOT_FOUND", "no such dead letter")
        log.warning(
            "dead letter requeued",
            extra={"dead_letter_id": dead_letter_id, "stream": stream, "entry_id": new_id},
        )
        return new_id.decode() if isinstance(new_id, bytes) else str(new_id)

    async def discard(self, dead_letter_id: str) -> None:
        _checked_id(dead_letter_id, "dead_letter_id")
        if not await self.client.xdel(self.stream, dead_letter_id):
            raise NotFound("DEAD_LETTER_NOT_FOUND", "no such dead letter")
        log.warning("dead letter discarded", extra={"dead_letter_id": dead_letter_id})

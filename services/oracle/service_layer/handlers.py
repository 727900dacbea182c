"""The oracle's use cases: one handler per command (commands.py). The servicer calls these,
never the adapters. A handler checks with the domain who may ask what, runs the domain's change
on the record under the store's per-fixture lock (the `ResultStore` port), and announces a newly
validated result on the bus; it holds no rule of its own (services/oracle/domain/results.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from google.protobuf.timestamp_pb2 import Timestamp

from service_runtime.errors import FailedPrecondition, NotFound
from services.oracle.domain.agreement import normalise_observation
from services.oracle.domain.ports import ResultEvents, ResultStore
from services.oracle.domain.results import (
    ResultRecord,
    announced_now,
    check_fixture_id,
    check_publication_retry,
    correct,
    decode_page_token,
    encode_page_token,
    held_resolution,
    operator_correction,
    page_size,
    resolve,
    submit,
)
from services.oracle.service_layer.commands import (
    CorrectResult,
    GetResult,
    ListHeldResults,
    ResolveHeldResult,
    RetryPublication,
    SubmitObservation,
)

log = logging.getLogger(__name__)


def _now() -> Timestamp:
    now = Timestamp()
    now.GetCurrentTime()
    return now


@dataclass(frozen=True)
class Submitted:
    record: ResultRecord
    # The source had reported this very result already (nothing changed).
    duplicate: bool


@dataclass(frozen=True)
class HeldPage:
    records: list[ResultRecord]
    next_page_token: str


@dataclass
class OracleHandlers:
    store: ResultStore
    required_sources: int
    # None: results are not announced on the bus.
    events: ResultEvents | None
    clock: Callable[[], Timestamp] = field(default=_now)
    # (fixture, sources hash) being announced by this process now: the handler that validated
    # a result and the relay pass both find it pending, and only one may publish it.
    _announcing: set[tuple[str, str]] = field(default_factory=set, init=False, repr=False)

    async def submit_observation(self, command: SubmitObservation) -> Submitted:
        checked = normalise_observation(command.observation, self.clock())
        duplicate = validated_now = False

        def change(current: ResultRecord | None) -> ResultRecord:
            nonlocal duplicate, validated_now
            record, duplicate = submit(current, checked, self.required_sources)
            validated_now = announced_now(current, record)
            return record

        record = await self.store.apply(checked.result.fixture_id, change)
        if validated_now:
            await self._announce(record)
        return Submitted(record, duplicate)

    async def get_result(self, command: GetResult) -> ResultRecord:
        check_fixture_id(command.fixture_id)
        record = await self.store.get(command.fixture_id)
        if record is None:
            raise NotFound(
                "RESULT_NOT_FOUND",
                f"no observations for {command.fixture_id}",
                {"fixture_id": command.fixture_id},
            )
        return record

    async def list_held(self, command: ListHeldResults) -> HeldPage:
        after = decode_page_token(command.page_token)
        size = page_size(command.page_size)
        # One extra row tells whether another page exists without a count query.
        records = await self.store.list_held(after, size + 1)
        if len(records) > size:
            return HeldPage(records[:size], encode_page_token(records[size - 1].fixture_id))
        return HeldPage(records, "")

    async def resolve_held_result(self, command: ResolveHeldResult) -> ResultRecord:
        fixture_id = command.fixture_id
        result = held_resolution(fixture_id, command.result, command.note, command.caller)
        assert command.caller is not None
        note, resolver = command.note.strip(), command.caller.subject
        record = await self.store.apply(
            fixture_id, lambda current: resolve(current, fixture_id, result, note, resolver)
        )
        await self._announce(record)
        return record

    async def correct_result(self, command: CorrectResult) -> ResultRecord:
        """An operator's correction: published as the next version while the contract's
        dispute window is open (the contract refuses it after, and the publication says so)."""
        fixture_id = command.fixture_id
        result = operator_correction(fixture_id, command.result, command.note, command.caller)
        assert command.caller is not None
        by, text = command.caller.subject, command.note.strip()
        record = await self.store.correct(
            fixture_id, lambda current: correct(current, fixture_id, result, text, by)
        )
        log.warning(
            "result corrected by an operator",
            extra={"fixture_id": fixture_id, "operator": by},
        )
        await self._announce(record)
        return record

    async def retry_publication(self, command: RetryPublication) -> ResultRecord:
        check_publication_retry(command.fixture_id, command.note, command.caller)
        assert command.caller is not None
        record = await self.store.retry_publication(command.fixture_id)
        if record is None:
            raise FailedPrecondition(
                "PUBLICATION_NOT_FAILED",
                f"{command.fixture_id} has no FAILED publication",
                {"fixture_id": command.fixture_id},
            )
        log.warning(
            "publication retried by an operator",
            extra={
                "fixture_id": command.fixture_id,
                "operator": command.caller.subject,
                "note": command.note[:200],
            },
        )
        return record

    async def announce_pending(self) -> int:
        """One pass of the outbox relay: publishes validated results whose event did not reach
        the bus (e.g. a crash)."""
        if self.events is None:
            return 0
        sent = 0
        for record in await self.store.pending_events():
            sent += await self._announce(record)
        return sent

    async def relay_once(self) -> None:
        """The outbox relay's pass: events a publish failure or a crash left behind go out
        eventually."""
        sent = await self.announce_pending()
        if sent:
            log.info("pending result events announced", extra={"count": sent})

    async def _announce(self, record: ResultRecord) -> bool:
        """Publishes the record's pending event once; True when this call published it.

        Two paths find the same event pending: the handler that validated it, and the relay
        pass, whose list may have been read before the handler marked it published. Each claims
        it first (the other path skips it meanwhile) and reads the stored record again under
        the claim, so what was published and marked while it waited is not published twice."""
        if self.events is None or not record.event_pending:
            return False
        key = (record.fixture_id, record.sources_hash)
        if key in self._announcing:
            return False
        self._announcing.add(key)
        try:
            current = await self.store.get(record.fixture_id)
            if (
                current is None
                or not current.event_pending
                or current.sources_hash != record.sources_hash
            ):
                # Announced meanwhile, or superseded (the newer result is announced instead).
                return False
            try:
                await self.events(current)
            except Exception:
                # The record is committed with its event pending; the relay retries it. Failing
                # the caller now would only make it resubmit what is already stored.
                log.warning(
                    "result event not published; will retry",
                    extra={"fixture_id": record.fixture_id},
                    exc_info=True,
                )
                return False
            await self.store.mark_event_published(record.fixture_id, record.sources_hash)
            return True
        finally:
            self._announcing.discard(key)

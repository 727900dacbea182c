"""The publication outbox on PostgreSQL: publication state per result and every signed
transaction, written before it is broadcast. Synchronous (the chain publisher runs in a
worker thread); each method is one database transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from services.oracle.adapters.tables import chain_cursors, chain_transactions, publications, results
from services.oracle.domain.reports import fixture_key


@dataclass(frozen=True)
class TxAttempt:
    id: int
    nonce: int
    kind: str
    raw: bytes
    tx_hash: str
    fixture_ids: tuple[str, ...]
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    gas: int
    state: str
    block_number: int | None
    block_hash: str
    created_at: datetime


@dataclass(frozen=True)
class NewTx:
    wallet: str
    nonce: int
    kind: str
    raw: bytes
    tx_hash: str
    report_digest: bytes
    fixture_ids: tuple[str, ...]
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    gas: int


@dataclass(frozen=True)
class FinalNotice:
    fixture_id: str
    version: int
    transaction_hash: str
    block_number: int


def _attempt(row: sa.RowMapping) -> TxAttempt:
    return TxAttempt(
        id=row["id"],
        nonce=row["nonce"],
        kind=row["kind"],
        raw=bytes(row["raw"]),
        tx_hash=row["tx_hash"],
        fixture_ids=tuple(row["fixture_ids"]),
        max_fee_per_gas=int(row["max_fee_per_gas"]),
        max_priority_fee_per_gas=int(row["max_priority_fee_per_gas"]),
        gas=row["gas"],
        state=row["state"],
        block_number=row["block_number"],
        block_hash=row["block_hash"],
        created_at=row["created_at"],
    )


def queue_first_publication(conn: Connection, fixture_id: str) -> None:
    """A validated result's publication at version 1, PENDING for the sender; nothing when it
    has one (the result store queues it as it validates; `enqueue_validated` sweeps up)."""
    conn.execute(
        pg_insert(publications)
        .values(
            fixture_id=fixture_id,
            fixture_key=fixture_key(fixture_id),
            version=1,
            status="PENDING",
            transaction_hash="",
            block_hash="",
            final_event_pending=False,
            failure="",
        )
        .on_conflict_do_nothing()
    )


class _TakenElsewhere(Exception):
    """Another sender claimed a publication first (PostgresOutbox.record)."""


class PostgresOutbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- publications -------------------------------------------------------------------

    def enqueue_validated(self) -> int:
        """Every validated result gets a PENDING publication (idempotent sweep)."""
        with self.engine.begin() as conn:
            missing = list(
                conn.execute(
                    sa.select(results.c.fixture_id).where(
                        results.c.state.in_(("AGREED", "RESOLVED")),
                        ~sa.exists().where(publications.c.fixture_id == results.c.fixture_id),
                    )
                ).scalars()
            )
            for fixture_id in missing:
                queue_first_publication(conn, fixture_id)
        return len(missing)

    def pending(self, limit: int, wait_seconds: float = 0.0) -> list[str]:
        """PENDING results to send now, oldest first: a full batch, or whatever is ready once
        the oldest has waited `wait_seconds` for company (one transaction for several results
        costs about a third of the gas per result)."""
        waited = publications.c.ready_at <= sa.func.now() - sa.func.make_interval(
            0, 0, 0, 0, 0, 0, wait_seconds
        )
        with self.engine.connect() as conn:
            rows = list(
                conn.execute(
                    sa.select(publications.c.fixture_id, waited)
                    .where(publications.c.status == "PENDING")
                    .order_by(publications.c.ready_at, publications.c.fixture_id)
                    .limit(limit)
                )
            )
        if len(rows) < limit and not any(r[1] for r in rows):
            return []
        return [r[0] for r in rows]

    def backlog(self) -> dict[str, int]:
        """Publications by status (PENDING, SUBMITTED, FAILED, ...): the oracle's queue."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(publications.c.status, sa.func.count()).group_by(publications.c.status)
            ).all()
        return {str(status): int(count) for status, count in rows}

    def awaiting_finalisation(
        self, limit: int, head_time: int, window: int, wait_seconds: float = 0.0
    ) -> list[tuple[str, bytes]]:
        """CONFIRMED results whose dispute window closed by `head_time` (the chain's clock),
        none of them in a finalise transaction yet; a batch once it is full or the oldest has
        waited `wait_seconds` past its due time."""
        due_at = publications.c.first_accepted_at + window
        with self.engine.connect() as conn:
            rows = list(
                conn.execute(
                    sa.select(publications.c.fixture_id, publications.c.fixture_key, due_at)
                    .where(
                        publications.c.status == "CONFIRMED",
                        publications.c.finalise_tx_id.is_(None),
                        publications.c.first_accepted_at.is_not(None),
                        due_at <= head_time,
                    )
                    .order_by(due_at, publications.c.fixture_id)
                    .limit(limit)
                )
            )
        if len(rows) < limit and not any(int(r[2]) + wait_seconds <= head_time for r in rows):
            return []
        return [(r[0], bytes(r[1])) for r in rows]

    def awaiting_final_log(self) -> bool:
        """A finalise transaction was sent for a result not yet FINAL: its log is to be read."""
        with self.engine.connect() as conn:
            return bool(
                conn.execute(
                    sa.select(
                        sa.exists().where(
                            publications.c.status == "CONFIRMED",
                            publications.c.finalise_tx_id.is_not(None),
                        )
                    )
                ).scalar()
            )

    def due_count(self, head_time: int, window: int) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).where(
                        publications.c.status == "CONFIRMED",
                        publications.c.finalise_tx_id.is_(None),
                        publications.c.first_accepted_at + window <= head_time,
                    )
                ).scalar_one()
            )

    def next_due(self, window: int) -> int | None:
        """The chain time the next CONFIRMED result's dispute window closes."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(sa.func.min(publications.c.first_accepted_at + window)).where(
                    publications.c.status == "CONFIRMED",
                    publications.c.finalise_tx_id.is_(None),
                )
            ).scalar()
            return None if found is None else int(found)

    def fail(self, fixture_ids: list[str], reason: str) -> None:
        """Refused for a reason of its own: waits for an operator's RetryPublication."""
        self._note_pending(fixture_ids, reason, status="FAILED")

    def note_problem(self, fixture_ids: list[str], reason: str) -> None:
        """A problem of the whole batch (signer set, fees): still PENDING, retried, and the
        reason is visible meanwhile."""
        self._note_pending(fixture_ids, reason)

    def _note_pending(self, fixture_ids: list[str], reason: str, **values: str) -> None:
        """The reason (its first 500 characters) on those of the publications still PENDING,
        with `values` (a new status)."""
        with self.engine.begin() as conn:
            conn.execute(
                publications.update()
                .where(
                    publications.c.fixture_id.in_(fixture_ids),
                    publications.c.status == "PENDING",
                )
                .values(failure=reason[:500], updated_at=sa.func.now(), **values)
            )

    def retry(self, fixture_id: str) -> bool:
        """FAILED back to PENDING (an operator's call); False when it was not FAILED."""
        with self.engine.begin() as conn:
            updated = conn.execute(
                publications.update()
                .where(publications.c.fixture_id == fixture_id, publications.c.status == "FAILED")
                .values(
                    status="PENDING",
                    attempts=0,
                    failure="",
                    submit_tx_id=None,
                    transaction_hash="",
                    ready_at=sa.func.now(),
                    updated_at=sa.func.now(),
                )
            )
            return updated.rowcount > 0

    def mark_final(self, key: bytes, version: int, tx_hash: str, block: int) -> bool:
        """The chain closed the fixture at `version`. Announced only if that version was not
        (a version is announced once, when it is confirmed)."""
        with self.engine.begin() as conn:
            updated = conn.execute(
                publications.update()
                .where(
                    publications.c.fixture_key == key,
                    publications.c.status != "FINAL",
                    publications.c.version <= version,
                )
                .values(
                    status="FINAL",
                    version=version,
                    final_at=sa.func.now(),
                    final_event_pending=publications.c.announced_version < version,
                    failure="",
                    updated_at=sa.func.now(),
                )
            )
            if updated.rowcount == 0:
                # A correction still waiting when the chain closed the fixture: it can never
                # land; the operator sees why.
                conn.execute(
                    publications.update()
                    .where(
                        publications.c.fixture_key == key,
                        publications.c.status.in_(("PENDING", "SUBMITTED")),
                        publications.c.version > version,
                    )
                    .values(
                        status="FAILED",
                        failure=f"RESULT_IS_FINAL: the chain closed version {version}",
                        updated_at=sa.func.now(),
                    )
                )
            return updated.rowcount > 0

    def final_events(self) -> list[FinalNotice]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    publications.c.fixture_id,
                    publications.c.version,
                    publications.c.transaction_hash,
                    publications.c.block_number,
                ).where(publications.c.final_event_pending)
            )
            return [FinalNotice(r[0], r[1], r[2], r[3] or 0) for r in rows]

    def final_event_sent(self, fixture_id: str, version: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                publications.update()
                .where(publications.c.fixture_id == fixture_id, publications.c.version == version)
                .values(
                    final_event_pending=False,
                    announced_version=sa.func.greatest(publications.c.announced_version, version),
                )
            )

    # ---- transactions -------------------------------------------------------------------

    def record(self, tx: NewTx, new: bool = True) -> int | None:
        """Stores the signed transaction and points its publications at it, before broadcast.

        A new transaction claims its publications in the same database transaction, under
        their row locks: a submit takes only results still PENDING, a finalise only results
        in no finalise transaction yet. Another oracle process on the same database (another
        wallet: the wallet lease keeps one sender per wallet, not per database) that took any
        of them first wins; nothing is stored and None says so, and the signed transaction
        must not be broadcast: each result goes on chain in one transaction, not one per
        process (the contract's version check would only refuse the second copy, after gas
        was paid for it). A replacement (`new=False`: same nonce, raised fees) takes its
        predecessor's publications over."""
        try:
            return self._record(tx, new)
        except _TakenElsewhere:
            return None

    def _record(self, tx: NewTx, new: bool) -> int:
        with self.engine.begin() as conn:
            tx_id = conn.execute(
                chain_transactions.insert()
                .values(
                    wallet=tx.wallet,
                    nonce=tx.nonce,
                    kind=tx.kind,
                    raw=tx.raw,
                    tx_hash=tx.tx_hash,
                    report_digest=tx.report_digest,
                    fixture_ids=list(tx.fixture_ids),
                    max_fee_per_gas=tx.max_fee_per_gas,
                    max_priority_fee_per_gas=tx.max_priority_fee_per_gas,
                    gas=tx.gas,
                    state="SENT",
                    block_hash="",
                )
                .returning(chain_transactions.c.id)
            ).scalar_one()
            where = publications.c.fixture_id.in_(tx.fixture_ids)
            if tx.kind == "submit":
                free = publications.c.status == "PENDING"
                values: dict[str, Any] = {
                    "status": "SUBMITTED",
                    "submit_tx_id": tx_id,
                    "transaction_hash": tx.tx_hash,
                    "updated_at": sa.func.now(),
                }
            else:
                free = publications.c.finalise_tx_id.is_(None)
                values = {"finalise_tx_id": tx_id}
            taken = conn.execute(
                publications.update().where(where, free if new else sa.true()).values(values)
            ).rowcount
            if new and taken != len(set(tx.fixture_ids)):
                raise _TakenElsewhere  # rolls the whole transaction back
            return int(tx_id)

    def max_nonce(self, wallet: str) -> int | None:
        """The highest nonce a transaction of ours holds or consumed (sent, mined or reverted);
        a dropped transaction's nonce is free again."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(sa.func.max(chain_transactions.c.nonce)).where(
                    chain_transactions.c.wallet == wallet,
                    chain_transactions.c.state.in_(("SENT", "CONFIRMED", "REVERTED")),
                )
            ).scalar()
            return None if found is None else int(found)

    def highest_confirmed(self, wallet: str) -> tuple[int, int] | None:
        """(nonce, block) of our highest confirmed transaction."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(chain_transactions.c.nonce, chain_transactions.c.block_number)
                .where(
                    chain_transactions.c.wallet == wallet,
                    chain_transactions.c.state.in_(("CONFIRMED", "REVERTED")),
                    chain_transactions.c.block_number.is_not(None),
                )
                .order_by(chain_transactions.c.nonce.desc())
                .limit(1)
            ).first()
            return None if row is None else (int(row[0]), int(row[1]))

    def reopen_from_nonce(self, wallet: str, nonce: int) -> tuple[int, int | None]:
        """A reorg deeper than our confirmations took away transactions the chain had mined
        (the wallet's nonce on chain went back to `nonce`): every confirmed one from there is in
        flight again with its same signed bytes, its results no longer confirmed or final.
        Returns how many, and the lowest block they were in (to read finality again from)."""
        with self.engine.begin() as conn:
            rows = list(
                conn.execute(
                    sa.select(chain_transactions.c.id, chain_transactions.c.block_number).where(
                        chain_transactions.c.wallet == wallet,
                        chain_transactions.c.nonce >= nonce,
                        chain_transactions.c.state.in_(("CONFIRMED", "REVERTED")),
                    )
                )
            )
            if not rows:
                return 0, None
            ids = [r[0] for r in rows]
            lowest = min((int(r[1]) for r in rows if r[1] is not None), default=None)
            conn.execute(
                chain_transactions.update()
                .where(chain_transactions.c.id.in_(ids))
                .values(state="SENT", block_number=None, block_hash="")
            )
            conn.execute(
                publications.update()
                .where(
                    publications.c.submit_tx_id.in_(ids),
                    publications.c.status.in_(("CONFIRMED", "FINAL")),
                )
                .values(
                    status="SUBMITTED",
                    block_number=None,
                    block_hash="",
                    final_at=None,
                    updated_at=sa.func.now(),
                )
            )
            conn.execute(
                publications.update()
                .where(publications.c.finalise_tx_id.in_(ids), publications.c.status == "FINAL")
                .values(status="CONFIRMED", final_at=None, updated_at=sa.func.now())
            )
            return len(ids), lowest

    def attempts_of(self, fixture_ids: Sequence[str]) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                r[0]: int(r[1])
                for r in conn.execute(
                    sa.select(publications.c.fixture_id, publications.c.attempts).where(
                        publications.c.fixture_id.in_(list(fixture_ids))
                    )
                )
            }

    def open_groups(self, wallet: str) -> list[list[TxAttempt]]:
        """Attempts per nonce, oldest first, for nonces with an attempt still in flight."""
        with self.engine.connect() as conn:
            open_nonces = (
                sa.select(chain_transactions.c.nonce)
                .where(chain_transactions.c.wallet == wallet, chain_transactions.c.state == "SENT")
                .distinct()
            )
            rows = conn.execute(
                sa.select(chain_transactions)
                .where(
                    chain_transactions.c.wallet == wallet,
                    chain_transactions.c.nonce.in_(open_nonces),
                    chain_transactions.c.state == "SENT",
                )
                .order_by(chain_transactions.c.nonce, chain_transactions.c.id)
            ).mappings()
            groups: dict[int, list[TxAttempt]] = {}
            for row in rows:
                groups.setdefault(row["nonce"], []).append(_attempt(row))
            return list(groups.values())

    def confirmed_unfinished(self, wallet: str) -> list[TxAttempt]:
        """Confirmed transactions whose publications are not final yet: a reorg may still
        take them away."""
        with self.engine.connect() as conn:
            open_tx = (
                sa.select(publications.c.submit_tx_id)
                .where(publications.c.status.in_(("SUBMITTED", "CONFIRMED")))
                .union(
                    sa.select(publications.c.finalise_tx_id).where(
                        publications.c.status == "CONFIRMED",
                        publications.c.finalise_tx_id.is_not(None),
                    )
                )
            )
            rows = conn.execute(
                sa.select(chain_transactions).where(
                    chain_transactions.c.wallet == wallet,
                    chain_transactions.c.state == "CONFIRMED",
                    chain_transactions.c.id.in_(open_tx),
                )
            ).mappings()
            return [_attempt(r) for r in rows]

    def confirm(
        self, attempt: TxAttempt, block_number: int, block_hash: str, block_time: int = 0
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                chain_transactions.update()
                .where(chain_transactions.c.id == attempt.id)
                .values(state="CONFIRMED", block_number=block_number, block_hash=block_hash)
            )
            conn.execute(
                chain_transactions.update()
                .where(
                    chain_transactions.c.nonce == attempt.nonce,
                    chain_transactions.c.id != attempt.id,
                    chain_transactions.c.state == "SENT",
                )
                .values(state="SUPERSEDED")
            )
            if attempt.kind == "submit":
                conn.execute(
                    publications.update()
                    .where(
                        publications.c.fixture_id.in_(attempt.fixture_ids),
                        publications.c.status == "SUBMITTED",
                    )
                    .values(
                        status="CONFIRMED",
                        submit_tx_id=attempt.id,
                        transaction_hash=attempt.tx_hash,
                        block_number=block_number,
                        block_hash=block_hash,
                        failure="",
                        # Version 1 starts the dispute window; a correction does not move it.
                        first_accepted_at=sa.case(
                            (publications.c.version == 1, block_time),
                            else_=sa.func.coalesce(publications.c.first_accepted_at, block_time),
                        ),
                        # Each version is announced once, as soon as it is confirmed.
                        final_event_pending=publications.c.announced_version
                        < publications.c.version,
                        updated_at=sa.func.now(),
                    )
                )

    def reopen(self, attempt: TxAttempt) -> None:
        """The confirmed block left the canonical chain: back in flight, same signed bytes."""
        with self.engine.begin() as conn:
            conn.execute(
                chain_transactions.update()
                .where(chain_transactions.c.id == attempt.id)
                .values(state="SENT", block_number=None, block_hash="")
            )
            if attempt.kind == "submit":
                conn.execute(
                    publications.update()
                    .where(
                        publications.c.fixture_id.in_(attempt.fixture_ids),
                        publications.c.status == "CONFIRMED",
                    )
                    .values(status="SUBMITTED", block_number=None, block_hash="")
                )

    def reverted(
        self,
        attempt: TxAttempt,
        block_number: int,
        block_hash: str,
        reason: str,
        max_attempts: int = 3,
    ) -> None:
        """Mined and reverted (the chain moved between estimation and mining): its nonce is
        used; its results are sent again, each at most `max_attempts` times."""
        with self.engine.begin() as conn:
            conn.execute(
                chain_transactions.update()
                .where(
                    chain_transactions.c.nonce == attempt.nonce,
                    chain_transactions.c.wallet
                    == sa.select(chain_transactions.c.wallet)
                    .where(chain_transactions.c.id == attempt.id)
                    .scalar_subquery(),
                    chain_transactions.c.id != attempt.id,
                    chain_transactions.c.state == "SENT",
                )
                .values(state="SUPERSEDED")
            )
        self.abandon([attempt], "REVERTED", reason, max_attempts)
        with self.engine.begin() as conn:
            conn.execute(
                chain_transactions.update()
                .where(chain_transactions.c.id == attempt.id)
                .values(block_number=block_number, block_hash=block_hash)
            )

    def abandon(
        self, group: list[TxAttempt], state: str, reason: str, max_attempts: int = 3
    ) -> None:
        """No attempt of this nonce will ever land (dropped, or reverted): the publications go
        back to PENDING (the contract's version check still guards against a double), each
        publication's reverted sends counted; after `max_attempts` it is FAILED with the
        reason (an operator retries it)."""
        ids = [a.id for a in group]
        with self.engine.begin() as conn:
            conn.execute(
                chain_transactions.update()
                .where(chain_transactions.c.id.in_(ids))
                .values(state=state)
            )
            fixtures = sorted({f for a in group for f in a.fixture_ids})
            if group[0].kind == "submit":
                counted = publications.c.attempts + (1 if state == "REVERTED" else 0)
                conn.execute(
                    publications.update()
                    .where(
                        publications.c.fixture_id.in_(fixtures),
                        publications.c.submit_tx_id.in_(ids),
                    )
                    .values(
                        status=sa.case((counted >= max_attempts, "FAILED"), else_="PENDING"),
                        attempts=counted,
                        submit_tx_id=None,
                        transaction_hash="",
                        failure=reason[:500],
                        ready_at=sa.func.now(),
                        updated_at=sa.func.now(),
                    )
                )
            else:
                conn.execute(
                    publications.update()
                    .where(publications.c.finalise_tx_id.in_(ids))
                    .values(finalise_tx_id=None)
                )

    # ---- reading cursor -----------------------------------------------------------------

    def cursor(self, name: str) -> tuple[int, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(chain_cursors.c.block_number, chain_cursors.c.block_hash).where(
                    chain_cursors.c.name == name
                )
            ).first()
            return None if row is None else (int(row[0]), str(row[1]))

    def set_cursor(self, name: str, block_number: int, block_hash: str) -> None:
        stmt = pg_insert(chain_cursors).values(
            name=name, block_number=block_number, block_hash=block_hash
        )
        with self.engine.begin() as conn:
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[chain_cursors.c.name],
                    set_={"block_number": block_number, "block_hash": block_hash},
                )
            )

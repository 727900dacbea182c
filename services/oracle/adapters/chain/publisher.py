"""The reliable sender and the chain reader, for one transmitter wallet.

One `step()` (synchronous; the service runs it in a worker thread) does, in order:
1. deep-reorg check: the wallet's nonce on chain below a nonce we saw confirmed (and the node
   not simply behind) means blocks we counted on are gone: those transactions are in flight
   again with their same signed bytes, their results no longer confirmed nor final;
2. reconcile what is in flight: receipts, N confirmations, the receipt's block re-checked
   against the canonical chain. A missing receipt is not a drop: the transaction is looked up
   by hash, and only a nonce consumed by none of ours (or a transaction absent for
   `drop_after_seconds`) is dropped; a transaction stuck too long is replaced at the same
   nonce with raised fees; a reverted one goes back to PENDING (bounded attempts);
3. publish PENDING results in batches (a full batch, or what is ready once the oldest waited
   `batch_wait_seconds`): a report that cannot be encoded is quarantined alone, the contract's
   refusal of one report (by estimation, before paying) fails that report only and the rest
   go on, a refusal of the whole batch (signers, config) leaves them PENDING;
4. finalise, in batches too, results whose dispute window closed (known from the block time
   the chain accepted them: no per-result calls);
5. read ResultFinalised logs (chunked, confirmed depth only, removed logs ignored) into FINAL.

The chain is asked only when something can have changed: with nothing in flight the sender
looks at the chain every `idle_check_seconds`; in flight, once per new block (RPC budget in
docs/benchmarks/oracle.md). Nothing is ever re-signed with a new nonce to "retry" a sent
transaction: the same nonce carries every attempt, and the contract's version check refuses a
second copy of a report in any case.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions import TypedTransaction  # type: ignore[attr-defined]
from eth_utils import keccak  # type: ignore[attr-defined]
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    TransactionNotFound,
    Web3RPCError,
)

from service_runtime.telemetry import meter
from services.oracle.adapters.chain.contract import ContractError, bind, decode_error, revert_data
from services.oracle.adapters.chain.remote_signers import SignerQuorumUnavailable
from services.oracle.adapters.chain.rpc import AllEndpointsFailed, QuotaExhausted
from services.oracle.adapters.chain.signers import Signatures
from services.oracle.adapters.outbox import NewTx, PostgresOutbox, TxAttempt
from services.oracle.domain.reports import Domain, Report, ReportInvalid, batch_digest, report_for
from services.oracle.domain.results import ResultRecord

log = logging.getLogger(__name__)
FEE_BUMP_NUMERATOR, FEE_BUMP_DENOMINATOR = 9, 8  # +12.5%: nodes require at least +10%
GAS_MARGIN = 1.2
FINALISED_CURSOR = "result-finalised"
# Broadcast errors that mean the node already has this nonce settled or pending: the outbox
# reconciliation decides what happened, the broadcast itself is not a failure.
BENIGN_BROADCAST = (
    "already known",
    "already imported",
    "nonce too low",
    "replacement transaction underpriced",
)

# Errors of the whole batch (who signed, for which config): no report is at fault.
BATCH_ERRORS = frozenset(
    {
        "WrongConfigVersion",
        "NotEnoughSignatures",
        "InvalidSignature",
        "SignersNotAscending",
        "NotASigner",
        "AccessControlUnauthorizedAccount",
        "EmptyBatch",
    }
)


# What an operator watches of the chain: gas paid, transactions by outcome, the queue.
_meter = meter(__name__)
_gas = _meter.create_counter(
    "betmesh.oracle.gas_used", unit="gas", description="gas of confirmed transactions, by kind"
)
_transactions = _meter.create_counter(
    "betmesh.oracle.transactions", description="transactions settled on chain, by kind and outcome"
)
_queue = _meter.create_gauge(
    "betmesh.oracle.publications", description="publications by status (the oracle's queue)"
)
QUEUE_STATUSES = ("PENDING", "SUBMITTED", "CONFIRMED", "FAILED", "FINAL")


@dataclass(frozen=True)
class PublisherConfig:
    confirmations: int = 2
    max_fee_per_gas: int = 200 * 10**9
    replace_after_seconds: float = 30.0
    batch_size: int = 10
    log_chunk_blocks: int = 2000
    start_block: int = 0
    # A PENDING result waits this long for others to share its transaction.
    batch_wait_seconds: float = 0.0
    # A sent transaction nobody knows (no receipt, not found by hash) for this long, its nonce
    # used by someone else, is dropped and its results sent again.
    drop_after_seconds: float = 600.0
    # With nothing in flight, how often the chain is looked at (deep reorgs).
    idle_check_seconds: float = 60.0
    # False: a result is FINAL when the contract's dispute window has passed (a view, no gas);
    # True: finalise() transactions too, batched (their ResultFinalised events for outside
    # readers, about 10k gas a result in batches of 10).
    finalise_transactions: bool = False
    # Reverted sends of one result before it is FAILED for an operator.
    max_attempts: int = 3


LoadRecords = Callable[[Sequence[str]], dict[str, ResultRecord]]


def _bump(fee: int) -> int:
    return math.ceil(fee * FEE_BUMP_NUMERATOR / FEE_BUMP_DENOMINATOR)


@dataclass(frozen=True)
class Head:
    number: int
    timestamp: int
    base_fee: int


class ChainPublisher:
    def __init__(
        self,
        w3: Web3,
        contract_address: str,
        transmitter: LocalAccount,
        signers: Signatures,
        outbox: PostgresOutbox,
        load_records: LoadRecords,
        config: PublisherConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.w3 = w3
        self.contract = bind(w3, contract_address)
        self.account = transmitter
        self.wallet = str(transmitter.address)
        self.signers = signers
        self.outbox = outbox
        self.load_records = load_records
        self.config = config
        self.clock = clock
        self._chain_id: int | None = None
        self._dispute_window: int | None = None
        self._head: Head | None = None
        self._head_read_at = 0.0
        self._next_idle_check = 0.0
        # Tests stand in for a crash between the outbox write and the broadcast.
        self.broadcast_hook: Callable[[bytes], None] | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @property
    def known_chain_id(self) -> int:
        """0 until the chain has answered once (the API shows what is known, never blocks)."""
        return self._chain_id or 0

    @property
    def dispute_window(self) -> int:
        # Immutable in the contract: asked once.
        if self._dispute_window is None:
            self._dispute_window = int(self.contract.functions.disputeWindow().call())
        return self._dispute_window

    @property
    def domain(self) -> Domain:
        return Domain(self.chain_id, self.contract.address)

    def publish_pass(self) -> None:
        """One step, saying why when the RPC endpoints fail it (the runtime retries the pass
        after a back-off that grows to a bound and never stops: an endpoint comes back, a quota
        resets at 00:00 UTC, an operator adds a URL)."""
        try:
            self.step()
        except QuotaExhausted:
            log.critical(
                "every RPC endpoint is out of quota (HTTP 402): publishing waits; add an"
                " endpoint or raise the plan"
            )
            raise
        except AllEndpointsFailed:
            log.error("no RPC endpoint answers: publishing waits")
            raise

    def step(self) -> None:
        self.outbox.enqueue_validated()
        idle_tick = self._idle_tick()
        if not idle_tick and not self._worth_a_look():
            return
        previous = self._head
        head = self._read_head()
        new_block = previous is None or head.number != previous.number
        if new_block or idle_tick:
            # Receipts, reorgs and logs change only with a new block: one look per block.
            self.resync_after_deep_reorg(head)
            self.reconcile()
        self.publish_pending()
        self.finalise_due()
        if (
            self.config.finalise_transactions
            and (new_block or idle_tick)
            and (idle_tick or self.outbox.awaiting_final_log())
        ):
            self.read_finalised()

    def _idle_tick(self) -> bool:
        """Every `idle_check_seconds` the chain is looked at whatever the outbox says: the
        only way to see a deep reorg of what is already final."""
        now = self.clock()
        if now >= self._next_idle_check:
            self._next_idle_check = now + self.config.idle_check_seconds
            return True
        return False

    def _worth_a_look(self) -> bool:
        """Whether the chain can tell anything new now: a transaction in flight, a batch ready
        to send, a finalisation sent (its log to read), or a dispute window closing by the
        chain's clock (estimated from the last block read). A result only waiting out its
        window costs nothing until then."""
        if self.outbox.open_groups(self.wallet):
            return True
        if self.outbox.pending(self.config.batch_size, self.config.batch_wait_seconds):
            return True
        if self.outbox.awaiting_final_log():
            return True
        due = self.outbox.next_due(self.dispute_window)
        if due is None:
            return False
        if self._head is None:
            return True
        chain_now = self._head.timestamp + (self.clock() - self._head_read_at)
        return chain_now + 1 >= due + self.config.batch_wait_seconds or (
            self.outbox.due_count(self._head.timestamp, self.dispute_window)
            >= self.config.batch_size
        )

    def _read_head(self) -> Head:
        block = self.w3.eth.get_block("latest")
        self._head = Head(
            int(block["number"]), int(block["timestamp"]), int(block.get("baseFeePerGas", 0))
        )
        self._head_read_at = self.clock()
        return self._head

    @property
    def head(self) -> Head:
        return self._head if self._head is not None else self._read_head()

    # ---- in flight ----------------------------------------------------------------------

    def _receipt(self, tx_hash: str) -> Any | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def _transaction(self, tx_hash: str) -> Any | None:
        try:
            return self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def _canonical_hash(self, number: int) -> str:
        return Web3.to_hex(self.w3.eth.get_block(number)["hash"])

    def resync_after_deep_reorg(self, head: Head) -> int:
        """The wallet's nonce on chain fell below one we saw mined: transactions we had counted
        as confirmed (even final) are gone. They go back in flight, same signed bytes, in
        nonce order, so no gap is left and nothing is signed twice. A node that is merely
        behind (its head below that block) is not a reorg."""
        confirmed = self.outbox.highest_confirmed(self.wallet)
        if confirmed is None:
            return 0
        nonce, block = confirmed
        on_chain = int(self.w3.eth.get_transaction_count(self.account.address, "latest"))
        if on_chain > nonce or head.number < block:
            return 0
        count, lowest = self.outbox.reopen_from_nonce(self.wallet, on_chain)
        if count:
            log.error(
                "reorg deeper than our confirmations: transactions re-sent",
                extra={"from_nonce": on_chain, "count": count},
            )
            if lowest is not None:
                # Finality has to be read again from before the lost blocks.
                cursor_name = f"{FINALISED_CURSOR}:{self.contract.address}"
                start = max(self.config.start_block, lowest - 1)
                self.outbox.set_cursor(cursor_name, start, self._canonical_hash(start))
        return count

    def recheck_confirmed(self) -> None:
        """Confirmed, not yet final: the receipt's block is still canonical (shallow reorgs)."""
        for attempt in self.outbox.confirmed_unfinished(self.wallet):
            receipt = self._receipt(attempt.tx_hash)
            if receipt is not None and Web3.to_hex(receipt["blockHash"]) == attempt.block_hash:
                continue
            log.warning(
                "confirmed transaction left the canonical chain; re-broadcasting",
                extra={"tx_hash": attempt.tx_hash, "nonce": attempt.nonce},
            )
            self.outbox.reopen(attempt)

    def reconcile(self) -> None:
        head = self.head.number
        chain_nonce: int | None = None
        for group in self.outbox.open_groups(self.wallet):
            mined = next(
                ((a, r) for a in group if (r := self._receipt(a.tx_hash)) is not None), None
            )
            if mined is not None:
                attempt, receipt = mined
                number = int(receipt["blockNumber"])
                block_hash = Web3.to_hex(receipt["blockHash"])
                if head - number + 1 < self.config.confirmations:
                    continue
                if self._canonical_hash(number) != block_hash:
                    continue  # reorged meanwhile: the next look finds where it went
                if receipt["status"] != 1:
                    if attempt.kind == "submit" and self._signed_for_replaced_config(
                        attempt, int(receipt["blockNumber"])
                    ):
                        # A rotation executed while this was in flight: its reports are sound,
                        # only their signer set is gone. Back to pending, signed anew.
                        log.warning(
                            "publication reverted by a signer rotation; re-signing",
                            extra={"tx_hash": attempt.tx_hash},
                        )
                        self.outbox.abandon(group, "DROPPED", "signer set replaced in flight")
                        continue
                    log.error(
                        "publication transaction reverted", extra={"tx_hash": attempt.tx_hash}
                    )
                    _transactions.add(1, {"betmesh.tx.kind": attempt.kind, "outcome": "reverted"})
                    self.outbox.reverted(
                        attempt,
                        number,
                        block_hash,
                        f"REVERTED: {attempt.tx_hash}",
                        self.config.max_attempts,
                    )
                    continue
                self.outbox.confirm(attempt, number, block_hash, self._block_time(number))
                _gas.add(int(receipt.get("gasUsed", 0)), {"betmesh.tx.kind": attempt.kind})
                _transactions.add(1, {"betmesh.tx.kind": attempt.kind, "outcome": "confirmed"})
                continue
            if chain_nonce is None:
                chain_nonce = int(self.w3.eth.get_transaction_count(self.account.address, "latest"))
            latest = group[-1]
            age = self.clock() - latest.created_at.timestamp()
            if chain_nonce > group[0].nonce:
                # Our nonce is used, yet no receipt: a lagging node (the receipt comes later),
                # or another transaction took the nonce. Only the second is a drop.
                if any(
                    (tx := self._transaction(a.tx_hash)) is not None
                    and tx.get("blockNumber") is not None
                    for a in group
                ):
                    continue  # mined: the receipt is late, not missing
                if age < self.config.drop_after_seconds:
                    continue
                log.error(
                    "nonce consumed by an unknown transaction", extra={"nonce": group[0].nonce}
                )
                self.outbox.abandon(group, "DROPPED", "DROPPED: nonce consumed elsewhere")
                _transactions.add(1, {"betmesh.tx.kind": latest.kind, "outcome": "dropped"})
                continue
            if age >= self.config.replace_after_seconds and self._replace(latest):
                continue
            self._broadcast(latest.raw, latest.tx_hash)

    def _block_time(self, number: int) -> int:
        return int(self.w3.eth.get_block(number)["timestamp"])

    def _signed_for_replaced_config(self, attempt: TxAttempt, block: int) -> bool:
        """Whether the reverted transaction's reports carry a config version other than the
        contract's at the block that refused them (the signer set changed under them)."""
        fields = TypedTransaction.from_bytes(HexBytes(attempt.raw)).as_dict()
        try:
            _, arguments = self.contract.decode_function_input(fields["data"])
        except ValueError:
            return False
        reports = arguments.get("reports") or [arguments.get("report")]
        signed_for = {
            int(r["configVersion"] if isinstance(r, dict) else r[7])
            for r in reports
            if r is not None
        }
        current = int(self.contract.functions.configVersion().call(block_identifier=block))
        return bool(signed_for) and current not in signed_for

    def _fees(self) -> tuple[int, int]:
        base = self.head.base_fee
        tip = int(self.w3.eth.max_priority_fee)
        ceiling = self.config.max_fee_per_gas
        max_fee = min(2 * base + tip, ceiling)
        return max_fee, min(tip, max_fee)

    def _replace(self, latest: TxAttempt) -> bool:
        """Same nonce, same call, both fees raised at least 12.5% (and to the market)."""
        market_fee, market_tip = self._fees()
        max_fee = min(max(_bump(latest.max_fee_per_gas), market_fee), self.config.max_fee_per_gas)
        tip = min(max(_bump(latest.max_priority_fee_per_gas), market_tip), max_fee)
        if max_fee <= latest.max_fee_per_gas or tip <= latest.max_priority_fee_per_gas:
            log.warning("fee ceiling reached; waiting", extra={"tx_hash": latest.tx_hash})
            return False
        fields = TypedTransaction.from_bytes(HexBytes(latest.raw)).as_dict()
        tx = {
            "type": 2,
            "chainId": fields["chainId"],
            "nonce": fields["nonce"],
            "to": Web3.to_checksum_address(fields["to"]),
            "value": fields["value"],
            "data": Web3.to_hex(fields["data"]),
            "gas": fields["gas"],
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": tip,
        }
        signed = self.account.sign_transaction(tx)
        raw, tx_hash = bytes(signed.raw_transaction), Web3.to_hex(signed.hash)
        self.outbox.record(
            NewTx(
                self.wallet,
                latest.nonce,
                latest.kind,
                raw,
                tx_hash,
                b"",
                latest.fixture_ids,
                max_fee,
                tip,
                int(fields["gas"]),
            ),
            new=False,
        )
        log.info(
            "transaction replaced with raised fees",
            extra={"old_tx_hash": latest.tx_hash, "tx_hash": tx_hash, "nonce": latest.nonce},
        )
        self._broadcast(raw, tx_hash)
        return True

    def _broadcast(self, raw: bytes, tx_hash: str) -> str:
        """Sends; returns the node's refusal ('' when accepted or benign)."""
        if self.broadcast_hook is not None:
            self.broadcast_hook(raw)
        try:
            self.w3.eth.send_raw_transaction(raw)
        except Web3RPCError as exc:
            message = str(exc)
            if not any(benign in message for benign in BENIGN_BROADCAST):
                log.warning(
                    "broadcast failed; reconciliation retries",
                    extra={"tx_hash": tx_hash, "error": message[:200]},
                )
            return message
        return ""

    # ---- new transactions ---------------------------------------------------------------

    def _estimate(self, call: Any) -> tuple[int | None, ContractError | None, str]:
        """Gas with margin, or the contract's refusal (decoded) and its text."""
        try:
            return int(call.estimate_gas({"from": self.wallet}) * GAS_MARGIN), None, ""
        except (ContractCustomError, ContractLogicError) as exc:
            error = decode_error(revert_data(exc))
            return None, error, str(error) if error is not None else str(exc)[:200]

    def _send(
        self, kind: str, call: Any, gas: int, digest: bytes, ids: Sequence[str]
    ) -> str | None:
        """Sign, write to the outbox, broadcast. The nonce comes from the chain and from our
        own transactions in flight (never from a dropped one), so a reorg or a drop leaves no
        gap for later transactions to wait behind."""
        max_fee, tip = self._fees()
        if max_fee <= self.head.base_fee:
            log.warning("base fee above the fee ceiling; not sending now")
            self.outbox.note_problem(list(ids), "FEE_CEILING: base fee above the ceiling")
            return None
        nonce = int(self.w3.eth.get_transaction_count(self.account.address, "pending"))
        known = self.outbox.max_nonce(self.wallet)
        if known is not None:
            nonce = max(nonce, known + 1)
        tx = call.build_transaction(
            {
                "from": self.wallet,
                "nonce": nonce,
                "gas": gas,
                "maxFeePerGas": max_fee,
                "maxPriorityFeePerGas": tip,
                "chainId": self.chain_id,
            }
        )
        signed = self.account.sign_transaction(tx)
        raw, tx_hash = bytes(signed.raw_transaction), Web3.to_hex(signed.hash)
        tx_id = self.outbox.record(
            NewTx(self.wallet, nonce, kind, raw, tx_hash, digest, tuple(ids), max_fee, tip, gas)
        )
        if tx_id is None:
            # Another oracle process sent them meanwhile: this one's copy is never broadcast
            # (its nonce was never used, so nothing waits behind it).
            log.info(
                "results taken by another sender; not sent",
                extra={"kind": kind, "fixture_ids": list(ids)},
            )
            return None
        refused = self._broadcast(raw, tx_hash)
        if "nonce too low" in refused:
            # A nonce the node says is used and none of ours: never in any pool. Free it
            # and send the results again with the next look's nonce.
            group = [a for g in self.outbox.open_groups(self.wallet) for a in g if a.id == tx_id]
            if group:
                self.outbox.abandon(group, "DROPPED", "DROPPED: nonce too low at broadcast")
        return tx_hash

    def _config(self) -> tuple[int, int]:
        return (
            int(self.contract.functions.configVersion().call()),
            int(self.contract.functions.threshold().call()),
        )

    def observe_queue(self) -> None:
        backlog = self.outbox.backlog()
        for status in QUEUE_STATUSES:
            _queue.set(backlog.get(status, 0), {"betmesh.publication.status": status})

    def publish_pending(self) -> str | None:
        self.observe_queue()
        ids = self.outbox.pending(self.config.batch_size, self.config.batch_wait_seconds)
        if not ids:
            return None
        records = self.load_records(ids)
        config_version, threshold = self._config()
        reports: list[tuple[str, Report]] = []
        for fixture_id in ids:
            record = records.get(fixture_id)
            version = (
                record.publication.version
                if record is not None and record.publication is not None
                else 1
            )
            try:
                if record is None:
                    raise ReportInvalid("no stored result")
                reports.append((fixture_id, report_for(record, version, config_version)))
            except ReportInvalid as exc:
                # Quarantined alone: one bad observation never holds up the others.
                log.error(
                    "result quarantined: cannot be reported",
                    extra={"fixture_id": fixture_id, "why": str(exc)},
                )
                self.outbox.fail([fixture_id], f"REPORT_INVALID: {exc}")
        sent = None
        try:
            for batch in self._sendable(reports, threshold):
                sent = self._submit(batch, threshold) or sent
        except SignerQuorumUnavailable as exc:
            # Fewer than k signers answered: nothing goes out, the results stay pending with
            # the reason visible, and the rest of the step (finalising, reading) goes on.
            self.outbox.note_problem([f for f, _ in reports], f"{exc.reason}: {exc.message}")
        return sent

    def _sendable(
        self, reports: list[tuple[str, Report]], threshold: int
    ) -> list[list[tuple[str, Report]]]:
        """Splits out what the contract refuses: a report it names fails alone; a batch it
        refuses without naming one is halved until the culprit is alone. Returns the
        batches that estimate cleanly."""
        todo, good = [reports] if reports else [], []
        while todo:
            batch = todo.pop()
            call = self._call(batch, threshold)
            gas, error, text = self._estimate(call)
            if gas is not None:
                good.append(batch)
                continue
            ids = [f for f, _ in batch]
            if error is not None and error.name in BATCH_ERRORS:
                log.error("batch refused by the contract: %s", text)
                self.outbox.note_problem(ids, f"BATCH_REFUSED: {text}")
                continue
            named = next(
                (f for f, r in batch if error is not None and r.fixture_id in error.args), None
            )
            if named is not None:
                self.outbox.fail([named], f"CONTRACT_REFUSED: {text}")
                rest = [(f, r) for f, r in batch if f != named]
                if rest:
                    todo.append(rest)
            elif len(batch) > 1:
                half = len(batch) // 2
                todo.extend([batch[half:], batch[:half]])
            else:
                self.outbox.fail(ids, f"CONTRACT_REFUSED: {text}")
        return good

    def _call(self, batch: Sequence[tuple[str, Report]], threshold: int) -> Any:
        reports = [r for _, r in batch]
        signatures = self.signers.sign_batch(self.domain, reports, threshold)
        return self.contract.functions.submitBatch([r.as_tuple() for r in reports], signatures)

    def _submit(self, batch: Sequence[tuple[str, Report]], threshold: int) -> str | None:
        call = self._call(batch, threshold)
        gas, _, text = self._estimate(call)
        ids = [f for f, _ in batch]
        if gas is None:  # the chain moved since the split
            self.outbox.note_problem(ids, f"ESTIMATE_FAILED: {text}")
            return None
        reports = [r for _, r in batch]
        return self._send("submit", call, gas, batch_digest(self.domain, reports), ids)

    def finalise_due(self) -> str | None:
        if not self.config.finalise_transactions:
            self.final_by_view()
            return None
        head = self.head
        due = self.outbox.awaiting_finalisation(
            self.config.batch_size * 5,
            head.timestamp,
            self.dispute_window,
            self.config.batch_wait_seconds,
        )
        if not due:
            return None
        keys = [key for _, key in due]
        call = self.contract.functions.finalise(keys)
        gas, _, text = self._estimate(call)
        if gas is None:
            # The next block's time may still be inside the window, or a reorg moved it.
            log.info("finalise not possible yet: %s", text)
            return None
        return self._send("finalise", call, gas, keccak(b"".join(keys)), [f for f, _ in due])

    def final_by_view(self) -> int:
        """Finality without a transaction: the contract's result is final once its dispute
        window has passed (`isFinal`), `finalise` only adds an event. The version is read at
        the confirmed depth; the time is the next block's (`pending`: every later block is at
        least as late, and a chain that mines only on demand has no newer block to wait for).
        One call per result whose window closed; returns how many became FINAL."""
        depth = self.head.number - self.config.confirmations + 1
        if depth < 0:
            return 0
        chain_time = self._next_block_time()
        due = self.outbox.awaiting_finalisation(
            self.config.batch_size * 5, chain_time, self.dispute_window
        )
        window, found = self.dispute_window, 0
        for fixture_id, key in due:
            stored = self.contract.functions.latest(key).call(block_identifier=depth)
            version, first_accepted, finalised = int(stored[3]), int(stored[5]), bool(stored[6])
            if finalised or chain_time >= first_accepted + window:
                if self.outbox.mark_final(key, version, "", depth):
                    found += 1
            else:
                log.info("not final on chain yet", extra={"fixture_id": fixture_id})
        return found

    def _next_block_time(self) -> int:
        try:
            return int(self.w3.eth.get_block("pending")["timestamp"])
        except (Web3RPCError, ValueError, KeyError, TypeError):
            return self.head.timestamp  # a node without "pending": the head's time

    # ---- reading back -------------------------------------------------------------------

    def read_finalised(self) -> int:
        """ResultFinalised logs up to the confirmed depth, in chunks; returns how many new."""
        head = self.head.number
        safe = head - self.config.confirmations + 1
        cursor_name = f"{FINALISED_CURSOR}:{self.contract.address}"
        cursor = self.outbox.cursor(cursor_name)
        start = self.config.start_block
        if cursor is not None:
            number, block_hash = cursor
            if number >= safe:
                return 0
            if self._canonical_hash(number) == block_hash:
                start = number + 1
            else:
                # The last block we read was reorged away: read a stretch again.
                start = max(self.config.start_block, number - 4 * self.config.confirmations)
        found = 0
        event = self.contract.events.ResultFinalised
        while start <= safe:
            end = min(safe, start + self.config.log_chunk_blocks - 1)
            for entry in event.get_logs(from_block=start, to_block=end):
                if entry.get("removed"):
                    continue
                if self.outbox.mark_final(
                    bytes(entry["args"]["fixtureId"]),
                    int(entry["args"]["version"]),
                    Web3.to_hex(entry["transactionHash"]),
                    int(entry["blockNumber"]),
                ):
                    found += 1
            self.outbox.set_cursor(cursor_name, end, self._canonical_hash(end))
            start = end + 1
        return found

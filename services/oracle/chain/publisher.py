"""The reliable sender and the chain reader, for one transmitter wallet.

One `step()` (synchronous; the service runs it in a worker thread) does, in order:
1. reconcile what is in flight: receipts, N confirmations, the receipt's block re-checked
   against the canonical chain; a vanished receipt (reorg, drop) re-broadcasts the same signed
   bytes, a transaction stuck too long is replaced at the same nonce with raised fees;
2. publish PENDING results: reports built, k signatures gathered from the signer components,
   gas estimated (a bad report reverts here, before paying), the signed transaction written to
   the outbox, then broadcast;
3. finalise results whose dispute window closed;
4. read ResultFinalised logs (chunked, confirmed depth only, removed logs ignored) into FINAL.

Nothing is ever re-signed with a new nonce to "retry": the same nonce carries every attempt,
and the contract's version check refuses a second copy of a report in any case.
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

from services.oracle.adapters.outbox import NewTx, PostgresOutbox, TxAttempt
from services.oracle.chain.contract import bind, decode_error, revert_data
from services.oracle.chain.reports import (
    Domain,
    Report,
    batch_digest,
    fixture_key,
    sources_hash_bytes,
)
from services.oracle.chain.signers import SignerPool
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


@dataclass(frozen=True)
class PublisherConfig:
    confirmations: int = 2
    max_fee_per_gas: int = 200 * 10**9
    replace_after_seconds: float = 30.0
    batch_size: int = 10
    log_chunk_blocks: int = 2000
    start_block: int = 0


LoadRecords = Callable[[Sequence[str]], dict[str, ResultRecord]]


def report_for(record: ResultRecord, version: int, config_version: int) -> Report:
    assert record.result is not None
    observed = max((o.observed_at.seconds for o in record.observations), default=0)
    return Report(
        fixture_id=fixture_key(record.fixture_id),
        status=int(record.result.status),
        home_score=record.result.home_score,
        away_score=record.result.away_score,
        sources_hash=sources_hash_bytes(record.sources_hash),
        version=version,
        observed_at=observed,
        config_version=config_version,
    )


def _bump(fee: int) -> int:
    return math.ceil(fee * FEE_BUMP_NUMERATOR / FEE_BUMP_DENOMINATOR)


class ChainPublisher:
    def __init__(
        self,
        w3: Web3,
        contract_address: str,
        transmitter: LocalAccount,
        signers: SignerPool,
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
        # Tests stand in for a crash between the outbox write and the broadcast.
        self.broadcast_hook: Callable[[bytes], None] | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @property
    def domain(self) -> Domain:
        return Domain(self.chain_id, self.contract.address)

    def step(self) -> None:
        self.outbox.enqueue_validated()
        self.recheck_confirmed()
        self.reconcile()
        self.publish_pending()
        self.finalise_due()
        self.read_finalised()

    # ---- in flight ----------------------------------------------------------------------

    def _receipt(self, tx_hash: str) -> Any | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def _canonical_hash(self, number: int) -> str:
        return Web3.to_hex(self.w3.eth.get_block(number)["hash"])

    def recheck_confirmed(self) -> None:
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
        head = int(self.w3.eth.block_number)
        for group in self.outbox.open_groups(self.wallet):
            mined = next(
                ((a, r) for a in group if (r := self._receipt(a.tx_hash)) is not None), None
            )
            if mined is not None:
                attempt, receipt = mined
                if receipt["status"] != 1:
                    log.error(
                        "publication transaction reverted", extra={"tx_hash": attempt.tx_hash}
                    )
                    self.outbox.abandon(group, "REVERTED", f"reverted in {attempt.tx_hash}")
                    continue
                number = int(receipt["blockNumber"])
                block_hash = Web3.to_hex(receipt["blockHash"])
                if head - number + 1 >= self.config.confirmations and (
                    self._canonical_hash(number) == block_hash
                ):
                    self.outbox.confirm(attempt, number, block_hash)
                continue
            if (
                int(self.w3.eth.get_transaction_count(self.account.address, "latest"))
                > group[0].nonce
            ):
                # Our nonce is used and none of our attempts has a receipt: something else took
                # it (the key is used elsewhere). Re-queue; the version check stops a double.
                log.error(
                    "nonce consumed by an unknown transaction", extra={"nonce": group[0].nonce}
                )
                self.outbox.abandon(group, "DROPPED", "nonce consumed elsewhere")
                continue
            latest = group[-1]
            age = self.clock() - latest.created_at.timestamp()
            if age >= self.config.replace_after_seconds and self._replace(latest):
                continue
            self._broadcast(latest.raw, latest.tx_hash)

    def _fees(self) -> tuple[int, int]:
        base = int(self.w3.eth.get_block("latest")["baseFeePerGas"])
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
            )
        )
        log.info(
            "transaction replaced with raised fees",
            extra={"old_tx_hash": latest.tx_hash, "tx_hash": tx_hash, "nonce": latest.nonce},
        )
        self._broadcast(raw, tx_hash)
        return True

    def _broadcast(self, raw: bytes, tx_hash: str) -> None:
        if self.broadcast_hook is not None:
            self.broadcast_hook(raw)
        try:
            self.w3.eth.send_raw_transaction(raw)
        except Web3RPCError as exc:
            message = str(exc)
            if not any(benign in message for benign in BENIGN_BROADCAST):
                log.warning(
                    "broadcast failed; reconciliation retries",
                    extra={"tx_hash": tx_hash, "error": message},
                )

    # ---- new transactions ---------------------------------------------------------------

    def _send(self, kind: str, call: Any, digest: bytes, fixture_ids: Sequence[str]) -> str | None:
        """Estimate (the contract's checks run here), sign, write to the outbox, broadcast."""
        try:
            gas = int(call.estimate_gas({"from": self.wallet}) * GAS_MARGIN)
        except (ContractCustomError, ContractLogicError) as exc:
            error = decode_error(revert_data(exc))
            reason = str(error) if error is not None else str(exc)
            log.error("%s refused by the contract before sending: %s", kind, reason)
            if kind == "submit":
                self.outbox.fail(list(fixture_ids), reason)
            return None
        max_fee, tip = self._fees()
        if max_fee <= int(self.w3.eth.get_block("latest")["baseFeePerGas"]):
            log.warning("base fee above the fee ceiling; not sending now")
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
        self.outbox.record(
            NewTx(
                self.wallet,
                nonce,
                kind,
                raw,
                tx_hash,
                digest,
                tuple(fixture_ids),
                max_fee,
                tip,
                gas,
            )
        )
        self._broadcast(raw, tx_hash)
        return tx_hash

    def publish_pending(self) -> str | None:
        ids = self.outbox.pending(self.config.batch_size)
        if not ids:
            return None
        records = self.load_records(ids)
        config_version = int(self.contract.functions.configVersion().call())
        threshold = int(self.contract.functions.threshold().call())
        ordered = [i for i in ids if i in records and records[i].result is not None]
        reports = [report_for(records[i], 1, config_version) for i in ordered]
        if not reports:
            return None
        signatures = self.signers.sign_batch(self.domain, reports, threshold)
        call = self.contract.functions.submitBatch([r.as_tuple() for r in reports], signatures)
        return self._send("submit", call, batch_digest(self.domain, reports), ordered)

    def finalise_due(self) -> str | None:
        due = [
            (fixture_id, key)
            for fixture_id, key in self.outbox.awaiting_finalisation(self.config.batch_size * 5)
            if self.contract.functions.isFinal(key).call()
        ]
        if not due:
            return None
        keys = [key for _, key in due]
        call = self.contract.functions.finalise(keys)
        return self._send("finalise", call, keccak(b"".join(keys)), [f for f, _ in due])

    # ---- reading back -------------------------------------------------------------------

    def read_finalised(self) -> int:
        """ResultFinalised logs up to the confirmed depth, in chunks; returns how many new."""
        head = int(self.w3.eth.block_number)
        safe = head - self.config.confirmations + 1
        cursor_name = f"{FINALISED_CURSOR}:{self.contract.address}"
        cursor = self.outbox.cursor(cursor_name)
        start = self.config.start_block
        if cursor is not None:
            number, block_hash = cursor
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

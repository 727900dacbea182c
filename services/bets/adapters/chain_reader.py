"""Reads the oracle contract for bets: the stored result of a fixture at the configured
finality (head minus confirmations), the report's sources hash from the announced transaction,
and, for a hold's evidence, the signer set. Its own RPC URLs, failover as everywhere
(service_runtime.chain_rpc); about 3 requests per announced result."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from eth_utils import keccak  # type: ignore[attr-defined]
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TransactionNotFound
from web3.logs import DISCARD

from service_runtime.chain_rpc import FailoverProvider
from services.bets.domain.chain_results import CHAIN_STATUSES, Evidence, OnChain

# The contract's ABI as committed with its source (the chain's "proto").
ARTIFACT = Path(__file__).resolve().parents[3] / "contracts" / "artifacts" / "ResultOracle.json"


@cache
def _abi() -> list[dict[str, Any]]:
    return list(json.loads(ARTIFACT.read_text())["abi"])


class ChainResultReader:
    def __init__(self, urls: list[str], contract_address: str, confirmations: int) -> None:
        self.provider = FailoverProvider(urls)
        self.w3 = Web3(self.provider)
        self.contract = self.w3.eth.contract(
            address=Web3.to_checksum_address(contract_address), abi=_abi()
        )
        self.confirmations = confirmations

    def final_block(self) -> int:
        return int(self.w3.eth.block_number) - self.confirmations + 1

    def read(self, fixture_id: str, transaction_hash: str) -> OnChain | None:
        """The stored result at the finality depth; None when the contract has none there."""
        at = self.final_block()
        key = keccak(text=fixture_id)
        try:
            stored = self.contract.functions.latest(key).call(block_identifier=at)
        except (ContractCustomError, ContractLogicError):
            return None  # UnknownFixture
        status, home, away, version = int(stored[0]), int(stored[1]), int(stored[2]), int(stored[3])
        return OnChain(
            status=CHAIN_STATUSES.get(status, f"UNKNOWN_{status}"),
            home=home,
            away=away,
            version=version,
            sources_hash=self._sources_hash(key, version, transaction_hash, at),
            block_number=at,
        )

    def _sources_hash(self, key: bytes, version: int, transaction_hash: str, at: int) -> str:
        """The sources hash the report of `version` carried, from the announced transaction's
        own event (by hash: it survives a reorg that moved the transaction)."""
        try:
            receipt = self.w3.eth.get_transaction_receipt(transaction_hash)  # type: ignore[arg-type]
        except (TransactionNotFound, ValueError):
            return ""
        if receipt["status"] != 1 or int(receipt["blockNumber"]) > at:
            return ""
        for event in (self.contract.events.ResultSubmitted, self.contract.events.ResultCorrected):
            for entry in event().process_receipt(receipt, errors=DISCARD):
                args = entry["args"]
                if bytes(args["fixtureId"]) == key and int(args["version"]) == version:
                    return "sha256:" + bytes(args["sourcesHash"]).hex()
        return ""

    def evidence(self) -> Evidence:
        at = self.final_block()
        signers = self.contract.functions.signers().call(block_identifier=at)
        config = self.contract.functions.configVersion().call(block_identifier=at)
        return Evidence(tuple(str(s) for s in signers), int(config))

"""The ResultOracle contract as committed (contracts/artifacts) and its custom errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode  # type: ignore[attr-defined]
from eth_account import Account
from eth_utils import keccak  # type: ignore[attr-defined]
from web3 import Web3
from web3.contract import Contract

ROOT = Path(__file__).resolve().parents[4]
ARTIFACT = ROOT / "contracts" / "artifacts" / "ResultOracle.json"
TRANSMITTER_ROLE = keccak(text="TRANSMITTER_ROLE")
# Signer-set changes wait this long between proposal and execution (the contract's minimum is
# MIN_CONFIG_DELAY, one hour); a day gives watchers time to see a change and react.
DEFAULT_CONFIG_DELAY_SECONDS = 86_400
# Corrections are accepted for this long after a result's first version, then it is final.
DEFAULT_DISPUTE_WINDOW_SECONDS = 3_600


@dataclass(frozen=True)
class Artifact:
    abi: list[dict[str, Any]]
    bytecode: str


@cache
def artifact() -> Artifact:
    data = json.loads(ARTIFACT.read_text())
    return Artifact(abi=data["abi"], bytecode=data["bytecode"])


@dataclass(frozen=True)
class ContractError:
    name: str
    args: tuple[Any, ...]

    def __str__(self) -> str:
        return f"{self.name}{self.args!r}"


@cache
def _errors() -> dict[bytes, tuple[str, list[str]]]:
    found: dict[bytes, tuple[str, list[str]]] = {}
    for item in artifact().abi:
        if item["type"] == "error":
            types = [i["type"] for i in item["inputs"]]
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            found[selector] = (item["name"], types)
    return found


def decode_error(data: str | bytes | None) -> ContractError | None:
    """A custom error from revert data, by its 4-byte selector (None when it is not ours)."""
    if data is None:
        return None
    raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else data
    known = _errors().get(raw[:4])
    if known is None:
        return None
    name, types = known
    return ContractError(name, tuple(abi_decode(types, raw[4:])))


def revert_data(exc: BaseException) -> str | None:
    """The revert payload web3 attaches to ContractCustomError / ContractLogicError."""
    data = getattr(exc, "data", None)
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        inner = data.get("data")
        return inner if isinstance(inner, str) else None
    return None


def bind(w3: Web3, address: str) -> Contract:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=artifact().abi)


def send_and_wait(w3: Web3, key: str, call: Any, gas: int | None = None) -> Any:
    """Administrative transactions (deploy, grants) for the launcher and tests: plain and
    synchronous. Publishing goes through the reliable sender instead."""
    account = Account.from_key(key)
    tx = call.build_transaction(
        {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": w3.eth.chain_id,
            **({"gas": gas} if gas else {}),
        }
    )
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction {tx_hash.hex()} reverted")
    return receipt


def deploy(
    w3: Web3,
    admin_key: str,
    signers: list[str],
    threshold: int,
    dispute_window_seconds: int,
    transmitters: list[str],
    config_delay_seconds: int = DEFAULT_CONFIG_DELAY_SECONDS,
) -> str:
    """Deploys ResultOracle with `admin_key` as admin and grants the transmitter role."""
    compiled = artifact()
    admin = Account.from_key(admin_key).address
    factory = w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    receipt = send_and_wait(
        w3,
        admin_key,
        factory.constructor(
            admin,
            ascending(signers),
            threshold,
            dispute_window_seconds,
            config_delay_seconds,
        ),
    )
    address = str(receipt["contractAddress"])
    oracle = bind(w3, address)
    for transmitter in transmitters:
        send_and_wait(
            w3,
            admin_key,
            oracle.functions.grantRole(TRANSMITTER_ROLE, Web3.to_checksum_address(transmitter)),
        )
    return address


def ascending(addresses: list[str]) -> list[str]:
    """Checksummed, in the ascending order the contract requires of a signer set."""
    return sorted((Web3.to_checksum_address(a) for a in addresses), key=lambda a: int(a, 16))


def propose_config(
    w3: Web3, admin_key: str, address: str, signers: list[str], threshold: int
) -> int:
    """Queues a signer-set change (ConfigProposed); returns the chain time from which
    execute_config may apply it."""
    oracle = bind(w3, address)
    receipt = send_and_wait(
        w3, admin_key, oracle.functions.proposeConfig(ascending(signers), threshold)
    )
    (event,) = oracle.events.ConfigProposed().process_receipt(receipt)
    return int(event["args"]["executableAt"])


def execute_config(
    w3: Web3, admin_key: str, address: str, signers: list[str], threshold: int
) -> int:
    """Applies a queued signer-set change whose delay has passed; returns the new config
    version (reports signed for the previous one stop verifying)."""
    oracle = bind(w3, address)
    receipt = send_and_wait(
        w3, admin_key, oracle.functions.executeConfig(ascending(signers), threshold)
    )
    (event,) = oracle.events.ConfigSet().process_receipt(receipt)
    return int(event["args"]["configVersion"])

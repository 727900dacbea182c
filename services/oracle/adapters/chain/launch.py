"""An oracle deployment as the launcher runs it: the contract, the transmitter's key file (the
oracle's) and one key source per signer process.

`prepare_local_chain` makes one on a development chain (the embedded anvil, or an external
anvil/hardhat node): fresh keys, each in a file of its own (0600), funded by the node's faucet
call, the contract deployed. On a real network the deployment is made once with the deploy tool
(`python -m services.oracle.adapters.chain.deploy_tool`, docs/deploy-chain.md) and handed to the
launcher as a JSON file (`betmesh up --oracle-deployment FILE`). No key is ever printed or
logged; the file names key files and KMS key ids, never keys.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.types import RPCEndpoint

from service_runtime.files import write_private
from services.oracle.adapters.chain.contract import deploy

SIGNERS = 3
THRESHOLD = 2
# Corrections are possible for a few seconds after a result's first version: short enough for the
# demo to see its results final, never zero (a zero window makes every first version final).
DEFAULT_DISPUTE_WINDOW_SECONDS = 5
# The contract's minimum: a local chain's signer changes wait an hour like anywhere else.
CONFIG_DELAY_SECONDS = 3600
# What a signer entry of a deployment file may say about its key (BETMESH_SIGNER_<NAME>).
SIGNER_KEY_FIELDS = ("key_file", "kms_key_id", "kms_region", "kms_endpoint_url")


class DevChainRefused(RuntimeError):
    """The node is not a development chain (no faucet call): a real network needs a
    deployment made with the deploy tool."""


@dataclass(frozen=True)
class OracleDeployment:
    chain_id: int
    contract_address: str
    transmitter_key_file: str
    # One entry per signer process: key_file, or kms_key_id + kms_region (+ kms_endpoint_url).
    signers: tuple[Mapping[str, str], ...]
    confirmations: int | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def oracle_env(self) -> dict[str, str]:
        env = {
            "BETMESH_ORACLE_CONTRACT_ADDRESS": self.contract_address,
            "BETMESH_ORACLE_TRANSMITTER_KEY_FILE": self.transmitter_key_file,
        }
        if self.confirmations is not None:
            env["BETMESH_ORACLE_CONFIRMATIONS"] = str(self.confirmations)
        return {**env, **self.extra}

    def signer_env(self, index: int) -> dict[str, str]:
        env = {
            "BETMESH_SIGNER_CHAIN_ID": str(self.chain_id),
            "BETMESH_SIGNER_CONTRACT_ADDRESS": self.contract_address,
        }
        for name, value in self.signers[index].items():
            env[f"BETMESH_SIGNER_{name.upper()}"] = value
        return env

    def to_json(self) -> str:
        record = {
            "chain_id": self.chain_id,
            "contract_address": self.contract_address,
            "transmitter_key_file": self.transmitter_key_file,
            "signers": [dict(s) for s in self.signers],
        }
        if self.confirmations is not None:
            record["confirmations"] = self.confirmations
        return json.dumps(record, indent=2) + "\n"

    @classmethod
    def from_file(cls, path: Path) -> OracleDeployment:
        data: Any = json.loads(path.read_text())
        problems = []
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a JSON object")
        chain_id = data.get("chain_id")
        if not isinstance(chain_id, int) or chain_id < 1:
            problems.append("chain_id must be a positive integer")
        address = data.get("contract_address")
        if not isinstance(address, str) or not Web3.is_address(address):
            problems.append("contract_address must be a 0x address")
        transmitter = data.get("transmitter_key_file")
        if not isinstance(transmitter, str) or not transmitter:
            problems.append("transmitter_key_file is required")
        signers = data.get("signers")
        if not isinstance(signers, list) or not signers:
            problems.append("signers must list one key source per signer process")
            signers = []
        for index, entry in enumerate(signers):
            if not isinstance(entry, dict) or set(entry) - set(SIGNER_KEY_FIELDS):
                problems.append(f"signers[{index}] may hold only {', '.join(SIGNER_KEY_FIELDS)}")
            elif not all(isinstance(v, str) for v in entry.values()):
                problems.append(f"signers[{index}]: values must be strings")
        confirmations = data.get("confirmations")
        if confirmations is not None and (not isinstance(confirmations, int) or confirmations < 1):
            problems.append("confirmations must be a positive integer")
        if problems:
            raise ValueError(f"{path}: " + "; ".join(problems))
        return cls(
            chain_id=int(chain_id),  # type: ignore[arg-type]
            contract_address=Web3.to_checksum_address(str(address)),
            transmitter_key_file=str(transmitter),
            signers=tuple(dict(s) for s in signers),
            confirmations=confirmations,
        )


def write_key(path: Path) -> str:
    """A fresh secp256k1 key in a new 0600 file; returns its address (never the key)."""
    key = "0x" + secrets.token_hex(32)
    write_private(path, key + "\n")
    return str(Account.from_key(key).address)


def read_key(path: Path) -> str:
    return path.read_text().strip()


def prepare_local_chain(
    rpc_url: str, key_dir: Path, dispute_window_seconds: int = DEFAULT_DISPUTE_WINDOW_SECONDS
) -> OracleDeployment:
    """Deploys ResultOracle (2-of-3) on a development chain with fresh keys."""
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    admin_file, transmitter_file = key_dir / "admin.key", key_dir / "transmitter.key"
    signer_files = [key_dir / f"signer-{i}.key" for i in range(1, SIGNERS + 1)]
    admin, transmitter = write_key(admin_file), write_key(transmitter_file)
    signers = [write_key(path) for path in signer_files]
    for address in (admin, transmitter):
        # A dev chain's faucet: anvil (and hardhat) mint the balance; a real network refuses.
        answer = w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [address, hex(10**21)])
        if "error" in answer:
            raise DevChainRefused(
                "the chain is not a development node (no anvil_setBalance): deploy the "
                "contract with the deploy tool and pass --oracle-deployment FILE "
                "(docs/deploy-chain.md)"
            )
    address = deploy(
        w3,
        read_key(admin_file),
        signers,
        THRESHOLD,
        dispute_window_seconds,
        [transmitter],
        CONFIG_DELAY_SECONDS,
    )
    return OracleDeployment(
        chain_id=int(w3.eth.chain_id),
        contract_address=address,
        transmitter_key_file=str(transmitter_file),
        signers=tuple({"key_file": str(path)} for path in signer_files),
        # A development chain: one confirmation is the including block (a real chain keeps
        # the default).
        confirmations=1,
        extra={"BETMESH_ORACLE_PUBLISH_INTERVAL_SECONDS": "0.5"},
    )

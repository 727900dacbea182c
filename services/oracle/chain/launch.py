"""A local chain made ready for the oracle at launch: fresh keys, the contract deployed.

Used by the launcher on its embedded anvil only. Every key is generated here, written to a
file of its own (0600) and handed to the oracle by path; none is printed or logged.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from eth_account import Account
from web3 import Web3
from web3.types import RPCEndpoint

from services.oracle.chain.contract import deploy

SIGNERS = 3
THRESHOLD = 2
# Corrections are possible for a few seconds after a result's first version: short enough for the
# demo to see its results final, never zero (a zero window makes every first version final).
DEFAULT_DISPUTE_WINDOW_SECONDS = 5
# The contract's minimum: a local chain's signer changes wait an hour like anywhere else.
CONFIG_DELAY_SECONDS = 3600


def _write_key(path: Path) -> str:
    key = "0x" + secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def prepare_local_chain(
    rpc_url: str, key_dir: Path, dispute_window_seconds: int = DEFAULT_DISPUTE_WINDOW_SECONDS
) -> dict[str, str]:
    """Deploys ResultOracle (2-of-3) and returns the oracle's BETMESH_* variables."""
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    admin = _write_key(key_dir / "admin.key")
    transmitter = _write_key(key_dir / "transmitter.key")
    signer_files = [key_dir / f"signer-{i}.key" for i in range(1, SIGNERS + 1)]
    signers = [_write_key(path) for path in signer_files]
    for key in (admin, transmitter):
        # A dev chain's faucet: anvil mints the balance.
        w3.provider.make_request(
            RPCEndpoint("anvil_setBalance"), [Account.from_key(key).address, hex(10**21)]
        )
    address = deploy(
        w3,
        admin,
        [Account.from_key(k).address for k in signers],
        THRESHOLD,
        dispute_window_seconds,
        [Account.from_key(transmitter).address],
        CONFIG_DELAY_SECONDS,
    )
    return {
        "BETMESH_ORACLE_CONTRACT_ADDRESS": address,
        "BETMESH_ORACLE_TRANSMITTER_KEY_FILE": str(key_dir / "transmitter.key"),
        "BETMESH_ORACLE_SIGNER_KEY_FILES": ",".join(str(p) for p in signer_files),
        # The embedded anvil mines a block per transaction and no other: one confirmation is
        # the including block (a real chain keeps the default).
        "BETMESH_ORACLE_CONFIRMATIONS": "1",
        "BETMESH_ORACLE_PUBLISH_INTERVAL_SECONDS": "0.5",
    }

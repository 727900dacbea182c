"""A local chain for tests: raw JSON-RPC calls to anvil (mining, time travel, snapshots)."""

from __future__ import annotations

from typing import Any

from web3 import Web3


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    """The result of a JSON-RPC call the node must accept (anvil's evm_*, anvil_*)."""
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response.get("result")

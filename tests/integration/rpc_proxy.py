"""A JSON-RPC proxy in front of anvil that misbehaves on request, as providers and lagging nodes
do: null receipts (and unknown transactions) for a while, HTTP 402 / 429, a rate-limit error
inside an HTTP 200. It counts the requests it forwards, per method."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import requests

from tests.support.local_http import LocalHttpServer


@dataclass
class Faults:
    # Every eth_getTransactionReceipt answered null while > 0 (each such answer counts down).
    null_receipts: int = 0
    # eth_getTransactionByHash answered null too while the receipts lag.
    hide_transactions: bool = False
    # Every request answered with this HTTP status (402, 429) while set.
    http_status: int = 0
    # Every request answered 200 with a JSON-RPC rate-limit error while set.
    rate_limited: bool = False


@dataclass
class Proxy:
    upstream: str
    faults: Faults = field(default_factory=Faults)
    counts: Counter[str] = field(default_factory=Counter)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = str(request.get("method"))
        with self.lock:
            self.counts[method] += 1
            faults = self.faults
            if faults.http_status:
                return faults.http_status, {"error": "refused"}
            if faults.rate_limited:
                return 200, {
                    "jsonrpc": "2.0",
                    "id": request.get("id"),
                    "error": {"code": -32005, "message": "daily request rate exceeded"},
                }
            if method == "eth_getTransactionReceipt" and faults.null_receipts > 0:
                faults.null_receipts -= 1
                return 200, {"jsonrpc": "2.0", "id": request.get("id"), "result": None}
            lagging = faults.null_receipts > 0 and faults.hide_transactions
            if method == "eth_getTransactionByHash" and lagging:
                return 200, {"jsonrpc": "2.0", "id": request.get("id"), "result": None}
        response = requests.post(self.upstream, json=request, timeout=10)
        return response.status_code, response.json()


@contextmanager
def rpc_proxy(upstream: str) -> Iterator[Proxy]:
    proxy = Proxy(upstream)

    def post(path: str, headers: Message, body: bytes) -> tuple[int, str, bytes]:
        status, answer = proxy.answer(json.loads(body))
        return status, "application/json", json.dumps(answer).encode()

    with LocalHttpServer(post) as server:
        proxy.url = f"{server.origin}/v3/test-key"
        yield proxy

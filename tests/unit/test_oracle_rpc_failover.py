"""The RPC failover provider against real local HTTP endpoints: every documented way a provider
says "not now" (unreachable, timeout, 5xx, 429, 402, rate-limit errors inside an HTTP 200)
moves to the next URL and rests the failing one; the chain's own errors are returned as they
are; unsupported schemes are refused; requests are counted; a redacted URL never shows its key."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from web3 import Web3
from web3.exceptions import Web3RPCError

from service_runtime.chain_rpc import (
    AllEndpointsFailed,
    FailoverProvider,
    QuotaExhausted,
    classify_error,
    redact,
    url_problem,
)


def _server(
    status: int, body: dict[str, Any] | None = None, delay: float = 0
) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(delay)
            answer = body if body is not None else {"result": "0x2a"}
            payload = json.dumps({"jsonrpc": "2.0", "id": request["id"], **answer}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


KINDS: dict[str, tuple[int, dict[str, Any] | None, float]] = {
    "ok": (200, None, 0),
    "quota": (402, None, 0),
    "limited": (429, None, 0),
    "down": (503, None, 0),
    "slow": (200, None, 1.5),
    # Infura's per-second limit and Alchemy's, as JSON-RPC errors inside an HTTP 200.
    "infura_limit": (
        200,
        {"error": {"code": -32005, "message": "project ID request rate exceeded"}},
        0,
    ),
    "alchemy_limit": (
        200,
        {"error": {"code": 429, "message": "Your app has exceeded its compute units"}},
        0,
    ),
    "revert": (200, {"error": {"code": 3, "message": "execution reverted", "data": "0x"}}, 0),
}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    running = {kind: _server(*spec) for kind, spec in KINDS.items()}
    try:
        yield {
            kind: f"http://127.0.0.1:{srv.server_address[1]}/v3/secret"
            for kind, srv in running.items()
        }
    finally:
        for server in running.values():
            server.shutdown()
            server.server_close()


@pytest.mark.parametrize(
    "failing", ["quota", "limited", "down", "slow", "infura_limit", "alchemy_limit"]
)
def test_every_provider_refusal_fails_over(servers: dict[str, str], failing: str) -> None:
    provider = FailoverProvider([servers[failing], servers["ok"]], timeout=0.5)
    assert Web3(provider).eth.block_number == 42
    assert provider.active == 1
    assert provider.last_failure[0] != ""
    # The failing URL rests: the next call goes straight to the good one.
    assert Web3(provider).eth.block_number == 42
    assert provider.counts["eth_blockNumber"] == 2


def test_a_quota_spent_rests_the_url_until_midnight_utc(servers: dict[str, str]) -> None:
    provider = FailoverProvider([servers["quota"], servers["ok"]])
    Web3(provider).eth.block_number  # noqa: B018
    assert provider.last_failure[0] == "QUOTA"
    assert provider.usable() == 1


def test_every_url_out_of_quota_says_so(servers: dict[str, str]) -> None:
    provider = FailoverProvider([servers["quota"]])
    with pytest.raises(QuotaExhausted) as caught:
        Web3(provider).eth.block_number  # noqa: B018
    assert "secret" not in str(caught.value)
    # Rested, not hammered: the next call does not even ask it.
    with pytest.raises(QuotaExhausted):
        Web3(provider).eth.block_number  # noqa: B018


def test_the_chains_own_errors_are_not_failed_over(servers: dict[str, str]) -> None:
    provider = FailoverProvider([servers["revert"], servers["ok"]])
    with pytest.raises(Web3RPCError):
        Web3(provider).eth.block_number  # noqa: B018
    assert provider.active == 0 and provider.failovers == 0


def test_nothing_answers(servers: dict[str, str]) -> None:
    provider = FailoverProvider(["http://127.0.0.1:9", servers["down"]])
    with pytest.raises(AllEndpointsFailed):
        Web3(provider).eth.block_number  # noqa: B018


@pytest.mark.parametrize(
    "url",
    ["ws://127.0.0.1:8545", "wss://mainnet.infura.io/ws/v3/key", "ipc:///x", "127.0.0.1:8545"],
)
def test_unsupported_schemes_are_refused_clearly(url: str) -> None:
    problem = url_problem(url)
    assert problem is not None and "only http:// and https://" in problem
    assert "key" not in problem
    with pytest.raises(ValueError):
        FailoverProvider([url])


def test_rate_limit_errors_are_told_from_the_chains() -> None:
    assert classify_error({"code": -32005, "message": "limit exceeded"}) == "RATE_LIMITED"
    assert classify_error({"code": -32000, "message": "daily request count exceeded"}) is not None
    assert classify_error({"code": -32000, "message": "nonce too low"}) is None
    assert classify_error({"code": 3, "message": "execution reverted"}) is None


def test_redact_drops_the_path_with_the_key() -> None:
    assert redact("https://mainnet.infura.io/v3/abcdef") == "https://mainnet.infura.io"

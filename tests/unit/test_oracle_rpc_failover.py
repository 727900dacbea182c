"""The RPC failover provider against real local HTTP endpoints: 429 backs off and moves on,
402 stops, an unreachable URL fails over, a redacted URL never shows its API key."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from web3 import Web3

from services.oracle.chain.rpc import AllEndpointsFailed, FailoverProvider, QuotaExhausted, redact


def _server(status: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            payload = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": "0x2a"}).encode()
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


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[int, str]]:
    running = {status: _server(status) for status in (200, 402, 429, 503)}
    try:
        yield {
            s: f"http://127.0.0.1:{srv.server_address[1]}/v3/secret" for s, srv in running.items()
        }
    finally:
        for server in running.values():
            server.shutdown()
            server.server_close()


def test_rate_limited_backs_off_then_fails_over(servers: dict[int, str]) -> None:
    slept: list[float] = []
    provider = FailoverProvider([servers[429], servers[200]], sleep=slept.append)
    assert Web3(provider).eth.block_number == 42
    assert slept and provider.active == 1


def test_server_errors_and_dead_urls_fail_over(servers: dict[int, str]) -> None:
    provider = FailoverProvider(["http://127.0.0.1:9", servers[503], servers[200]])
    assert Web3(provider).eth.block_number == 42
    assert provider.active == 2


def test_quota_exhausted_stops_instead_of_retrying(servers: dict[int, str]) -> None:
    provider = FailoverProvider([servers[402], servers[200]])
    with pytest.raises(QuotaExhausted) as caught:
        Web3(provider).eth.block_number  # noqa: B018
    assert "secret" not in str(caught.value)


def test_nothing_answers(servers: dict[int, str]) -> None:
    provider = FailoverProvider(["http://127.0.0.1:9", servers[503]])
    with pytest.raises(AllEndpointsFailed):
        Web3(provider).eth.block_number  # noqa: B018


def test_redact_drops_the_path_with_the_key() -> None:
    assert redact("https://mainnet.infura.io/v3/abcdef") == "https://mainnet.infura.io"

"""A stand-in for a third-party JSON-RPC provider: serves only under /v3/<api key> (the key in
the path, Infura-style) and forwards to a local node; counts the requests it answered."""

from __future__ import annotations

import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ProviderProxy:
    def __init__(self, upstream: str, api_key: str) -> None:
        self.upstream = upstream
        self.api_key = api_key
        self.requests = 0
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != f"/v3/{proxy.api_key}":
                    proxy.refused += 1
                    self._answer(401, b'{"error":"invalid project id"}')
                    return
                proxy.requests += 1
                forwarded = urllib.request.Request(
                    proxy.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(forwarded, timeout=30) as answer:
                    self._answer(answer.status, answer.read())

            def _answer(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v3/{self.api_key}"

    def start(self) -> ProviderProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

"""A stand-in for a third-party JSON-RPC provider: serves only under /v3/<api key> (the key in
the path, Infura-style) and forwards to a local node; counts the requests it answered."""

from __future__ import annotations

import urllib.request
from email.message import Message

from tests.support.local_http import LocalHttpServer


class ProviderProxy:
    def __init__(self, upstream: str, api_key: str) -> None:
        self.upstream = upstream
        self.api_key = api_key
        self.requests = 0
        self.refused = 0
        self._http = LocalHttpServer(self._post)

    def _post(self, path: str, headers: Message, body: bytes) -> tuple[int, str, bytes]:
        if path != f"/v3/{self.api_key}":
            self.refused += 1
            return 401, "application/json", b'{"error":"invalid project id"}'
        self.requests += 1
        forwarded = urllib.request.Request(
            self.upstream, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(forwarded, timeout=30) as answer:
            return answer.status, "application/json", answer.read()

    @property
    def url(self) -> str:
        return f"{self._http.origin}/v3/{self.api_key}"

    def start(self) -> ProviderProxy:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

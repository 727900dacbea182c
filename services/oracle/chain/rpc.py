"""JSON-RPC over several URLs (a self-hosted node, a provider such as Infura): failover.

A URL that cannot be reached, answers 5xx or 429 (rate limited, after a short back-off) hands
the request to the next one. HTTP 402 means the provider's daily quota is spent: retrying only
burns money and goodwill, so it raises QuotaExhausted and the publisher stops and alerts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlparse

import requests
from web3 import HTTPProvider
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

log = logging.getLogger(__name__)


class QuotaExhausted(RuntimeError):
    """HTTP 402 from an RPC provider: stop until an operator (or the quota reset) says so."""


class AllEndpointsFailed(ConnectionError):
    pass


def redact(url: str) -> str:
    """Provider URLs carry API keys in the path: logs show scheme and host only."""
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


class FailoverProvider(JSONBaseProvider):
    def __init__(
        self,
        urls: Sequence[str],
        timeout: float = 10.0,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        if not urls:
            raise ValueError("at least one RPC URL is needed")
        self.urls = list(urls)
        self._providers = [
            # Retries are ours (across URLs), not web3's (against the same failing one).
            HTTPProvider(
                url,
                request_kwargs={"timeout": timeout},
                exception_retry_configuration=None,
            )
            for url in urls
        ]
        self.active = 0
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        last: Exception | None = None
        for attempt in range(len(self._providers)):
            index = (self.active + attempt) % len(self._providers)
            try:
                response = self._providers[index].make_request(method, params)
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                if status == 402:
                    raise QuotaExhausted(
                        f"{redact(self.urls[index])} answered 402: quota exhausted"
                    ) from exc
                if status == 429:
                    self._sleep(self.backoff_seconds * (attempt + 1))
                last = exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = exc
            else:
                if index != self.active:
                    log.warning(
                        "RPC failover",
                        extra={
                            "from_url": redact(self.urls[self.active]),
                            "to_url": redact(self.urls[index]),
                        },
                    )
                    self.active = index
                return response
        raise AllEndpointsFailed(f"no RPC endpoint answered {method}") from last

    def is_connected(self, show_traceback: bool = False) -> bool:
        return any(p.is_connected() for p in self._providers)

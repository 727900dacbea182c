"""Ethereum JSON-RPC over several URLs (a self-hosted node, providers such as Infura): failover.

Every documented way a provider says "not now" hands the request to the next URL and rests the
failing one for a while: unreachable, timeouts, HTTP 5xx, HTTP 429 (per-second limit), HTTP 402
(daily quota spent: rested until the next 00:00 UTC, never retried before), and rate-limit or
capacity errors a provider puts inside an HTTP 200 JSON-RPC answer (Infura -32005, QuickNode
-32007, Alchemy 429, "rate limit", "exceeded"...). Errors that are the chain's answer (reverts,
"nonce too low") are returned to the caller untouched. Only when every URL fails does a call
fail: `QuotaExhausted` when they are all out of quota, `AllEndpointsFailed` otherwise.

Requests are counted per method (`counts`) so that the volume a service spends can be measured
against a provider's free tier.

Each request is bounded in total (`total_timeout`, three times the per-read `timeout` by
default), not only per read: an HTTP client's timeout is the longest wait for one read, so an
endpoint that trickles its answer a byte at a time, each byte within the timeout (a congested
link, a misbehaving proxy), held a call for as long as it liked (113 bytes at 0.5 s each: 56 s
with a 2 s timeout; a block's logs at 9 s a byte, days), and with it the oracle's publishing
pass and bets' checks of results against the chain. At the bound the socket is shut down under
the read and the URL counts as timed out.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from web3 import HTTPProvider
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

log = logging.getLogger(__name__)

SCHEMES = ("http", "https")
# JSON-RPC error codes providers use inside an HTTP 200 for "too many requests / over capacity".
RATE_LIMIT_CODES = frozenset({-32005, -32007, -32029, -32090, 429})
RATE_LIMIT_WORDS = (
    "rate limit",
    "ratelimit",
    "too many requests",
    "limit exceeded",
    "request limit",
    "exceeded the",
    "capacity",
    "quota",
    "throttl",
)
MAX_REST_SECONDS = 60.0


class AllEndpointsFailed(ConnectionError):
    """No configured URL answered usefully."""


class QuotaExhausted(AllEndpointsFailed):
    """Every URL answered HTTP 402: wait for the quota reset or an operator."""


class ProviderRefused(Exception):
    """One URL's answer was a provider error, not the chain's (internal to the failover)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}"[:200])
        self.kind = kind


def redact(url: str) -> str:
    """Provider URLs carry API keys in the path: logs show scheme and host only."""
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


def url_problem(url: str) -> str | None:
    """Why an RPC URL cannot be used (None when it can). Only HTTP(S) is spoken: a ws:// URL
    would need a persistent socket client this sender does not run."""
    parsed = urlparse(url)
    if parsed.scheme not in SCHEMES:
        where = redact(url) if parsed.netloc else "a URL"
        return (
            f"{where} uses scheme {parsed.scheme or '(none)'!r}:"
            " only http:// and https:// JSON-RPC URLs are supported"
        )
    if not parsed.netloc:
        return "an RPC URL needs a host"
    return None


def _next_utc_midnight(now: float) -> float:
    moment = datetime.fromtimestamp(now, UTC)
    midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.timestamp()


def classify_error(error: Any) -> str | None:
    """The provider-error kind of a JSON-RPC error object, or None when it is the chain's."""
    if not isinstance(error, dict):
        return "MALFORMED"
    code = error.get("code")
    message = str(error.get("message", "")).lower()
    if code in RATE_LIMIT_CODES or any(word in message for word in RATE_LIMIT_WORDS):
        return "RATE_LIMITED"
    if "daily request count" in message or "payment required" in message:
        return "QUOTA"
    return None


class _Call:
    """One request's total deadline: the socket its answer is read from, shut down (from the
    timer's thread) once the deadline has passed, which ends the read it is blocked in."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.expired = False
        # Answered (or failed) before its deadline: the watchdog forgets it.
        self.done = False

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                _shut(self._sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also under TLS: an SSLSocket's own would change its state
    # from this thread while another reads it.
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One thread for every request's deadline (a timer thread per request cost 0.5 ms, more
    than a local node's whole answer): the earliest deadline first, answered ones skipped."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._due: list[tuple[float, int, _Call]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: float, call: _Call) -> None:
        with self._wake:
            heapq.heappush(self._due, (deadline, next(self._order), call))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="chain-rpc-deadlines", daemon=True
                )
                self._thread.start()
            elif self._due[0][2] is call:
                self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while True:
                while self._due and self._due[0][2].done:
                    heapq.heappop(self._due)
                if not self._due:
                    self._wake.wait()
                    continue
                left = self._due[0][0] - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._due)[2].expire()


_watchdog = _Watchdog()
# The calling thread's request under a deadline (FailoverProvider._one).
_current = threading.local()


class _Watched:
    def getresponse(self) -> Any:
        call: _Call | None = getattr(_current, "call", None)
        sock = getattr(self, "sock", None)
        if call is not None and sock is not None:
            call.watch(sock)
        return super().getresponse()  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedTLSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    """Connections whose answers a request's deadline can cut short."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {  # type: ignore[assignment]
            "http": _WatchedPool,
            "https": _WatchedTLSPool,
        }


def _session() -> requests.Session:
    session = requests.Session()
    adapter = _WatchedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class FailoverProvider(JSONBaseProvider):
    def __init__(
        self,
        urls: Sequence[str],
        timeout: float = 10.0,
        backoff_seconds: float = 1.0,
        total_timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        quota_probe_seconds: float = 600.0,
    ) -> None:
        super().__init__()
        if not urls:
            raise ValueError("at least one RPC URL is needed")
        for url in urls:
            problem = url_problem(url)
            if problem is not None:
                raise ValueError(problem)
        self.urls = list(urls)
        self.total_timeout = 3 * timeout if total_timeout is None else total_timeout
        self._providers = [
            # Retries are ours (across URLs), not web3's (against the same failing one).
            HTTPProvider(
                url,
                request_kwargs={"timeout": timeout},
                session=_session(),
                exception_retry_configuration=None,
            )
            for url in urls
        ]
        self.active = 0
        self.backoff_seconds = backoff_seconds
        # A URL out of quota is asked again at 00:00 UTC, or after this long (one request, in
        # case the plan was raised): never hammered.
        self.quota_probe_seconds = quota_probe_seconds
        self._sleep = sleep
        self._clock = clock
        # Per URL: rested until (epoch seconds), consecutive failures, last failure kind.
        self._rest_until = [0.0] * len(urls)
        self._failures = [0] * len(urls)
        self.last_failure: list[str] = [""] * len(urls)
        self.counts: Counter[str] = Counter()
        self.failovers = 0
        self._chain_id: Any = None
        self._lock = threading.Lock()

    # ---- health -------------------------------------------------------------------------

    def usable(self) -> int:
        now = self._clock()
        return sum(1 for until in self._rest_until if until <= now)

    def _rest(self, index: int, kind: str) -> None:
        now = self._clock()
        self.last_failure[index] = kind
        if kind == "QUOTA":
            until = min(_next_utc_midnight(now), now + self.quota_probe_seconds)
        else:
            self._failures[index] += 1
            until = now + min(
                self.backoff_seconds * 2 ** (self._failures[index] - 1), MAX_REST_SECONDS
            )
        self._rest_until[index] = until
        log.warning(
            "RPC endpoint rested",
            extra={"url": redact(self.urls[index]), "kind": kind, "until": until},
        )

    def _order(self) -> list[int]:
        """The active URL first, then the others in turn; rested ones only after every usable
        one (a rested URL is tried last rather than never: it may have recovered early)."""
        n = len(self._providers)
        turn = [(self.active + i) % n for i in range(n)]
        now = self._clock()
        ready = [i for i in turn if self._rest_until[i] <= now]
        # Out of quota: not even tried last until its rest is over.
        resting = [i for i in turn if self._rest_until[i] > now and self.last_failure[i] != "QUOTA"]
        return ready + resting

    # ---- requests -----------------------------------------------------------------------

    def _one(self, index: int, method: RPCEndpoint, params: Any) -> RPCResponse:
        call = _Call()
        _current.call = call
        _watchdog.add(time.monotonic() + self.total_timeout, call)
        try:
            return self._answer(self._providers[index], method, params)
        except ProviderRefused as exc:
            if call.expired and exc.kind != "TIMEOUT":
                # Cut short at the deadline: the broken read is the timeout, not the URL's.
                raise ProviderRefused("TIMEOUT", f"over {self.total_timeout:g} s") from exc
            raise
        finally:
            call.done = True
            _current.call = None

    def _answer(self, provider: HTTPProvider, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            response = provider.make_request(method, params)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status == 402:
                raise ProviderRefused("QUOTA", "HTTP 402") from exc
            if status == 429:
                raise ProviderRefused("RATE_LIMITED", "HTTP 429") from exc
            raise ProviderRefused("HTTP_ERROR", f"HTTP {status}") from exc
        except requests.Timeout as exc:
            raise ProviderRefused("TIMEOUT") from exc
        except requests.RequestException as exc:
            raise ProviderRefused("UNREACHABLE", type(exc).__name__) from exc
        except ValueError as exc:  # not JSON (a proxy's error page)
            raise ProviderRefused("MALFORMED", type(exc).__name__) from exc
        if not isinstance(response, dict):
            raise ProviderRefused("MALFORMED", "not a JSON-RPC object")
        if "error" in response:
            kind = classify_error(response["error"])
            if kind is not None:
                raise ProviderRefused(kind, "error inside HTTP 200")
        elif "result" not in response:
            raise ProviderRefused("MALFORMED", "no result")
        return response

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._lock:
            if method == "eth_chainId" and self._chain_id is not None:
                # web3 asks before every contract call and transaction; it never changes.
                return RPCResponse(jsonrpc="2.0", id=0, result=self._chain_id)
            self.counts[str(method)] += 1
            order = self._order()
        kinds: list[str] = []
        last: Exception | None = None
        for index in order:
            try:
                response = self._one(index, method, params)
            except ProviderRefused as exc:
                with self._lock:
                    self._rest(index, exc.kind)
                kinds.append(exc.kind)
                last = exc
                continue
            with self._lock:
                self._failures[index] = 0
                self._rest_until[index] = 0.0
                self.last_failure[index] = ""
                if index != self.active:
                    self.failovers += 1
                    log.warning(
                        "RPC failover",
                        extra={
                            "from_url": redact(self.urls[self.active]),
                            "to_url": redact(self.urls[index]),
                        },
                    )
                    self.active = index
                if method == "eth_chainId" and "result" in response:
                    self._chain_id = response["result"]
            return response
        if not order or (kinds and all(k == "QUOTA" for k in kinds)):
            raise QuotaExhausted(f"every RPC endpoint is out of quota (HTTP 402) for {method}")
        raise AllEndpointsFailed(f"no RPC endpoint answered {method}: {','.join(kinds)}") from last

    def is_connected(self, show_traceback: bool = False) -> bool:
        return any(p.is_connected() for p in self._providers)

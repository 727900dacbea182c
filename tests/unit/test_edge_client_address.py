"""The client a per-client limit counts: the TCP peer, or behind a trusted proxy the right-most
X-Forwarded-For hop that is not one of ours (pure logic; the edge's integration test checks the
stream limit through it)."""

from __future__ import annotations

import pytest

from services.edge.domain.client_address import client_address, parse_networks

PROXIES = parse_networks(["10.0.0.0/16", "127.0.0.1"])


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address("10.0.3.4", "203.0.113.9", ()) == "10.0.3.4"


def test_an_untrusted_peer_cannot_claim_another_address() -> None:
    assert client_address("198.51.100.7", "203.0.113.9", PROXIES) == "198.51.100.7"


def test_behind_a_trusted_proxy_the_forwarded_client_counts() -> None:
    assert client_address("10.0.3.4", "203.0.113.9", PROXIES) == "203.0.113.9"


def test_a_browser_cannot_spoof_by_prepending_hops() -> None:
    # The browser sent "1.2.3.4"; the balancer appended the address it really saw.
    assert client_address("10.0.3.4", "1.2.3.4, 203.0.113.9", PROXIES) == "203.0.113.9"


def test_our_own_proxies_are_skipped_from_the_right() -> None:
    assert client_address("127.0.0.1", "203.0.113.9, 10.0.8.8", PROXIES) == "203.0.113.9"


def test_no_header_or_a_missing_peer() -> None:
    assert client_address("10.0.3.4", None, PROXIES) == "10.0.3.4"
    assert client_address(None, None, PROXIES) == "unknown"


def test_bad_networks_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_networks(["10.0.0.0/33"])

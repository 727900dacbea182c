"""Which browser a request comes from, for per-client limits.

Behind a load balancer every request's TCP peer is the balancer, so the per-client stream
limit would count all browsers as one. When the peer is a trusted proxy (configuration:
`BETMESH_EDGE_TRUSTED_PROXIES`, networks), the client is the right-most address of
X-Forwarded-For that is not itself a trusted proxy: the left-most entries are whatever the
browser chose to send and are never believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """ "10.0.0.0/16", "127.0.0.1" -> networks; raises ValueError on a bad entry."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    peer = peer or "unknown"
    if not proxies or not forwarded_for or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    # Every hop is a proxy of ours: the first one is as close to the client as we can tell.
    return hops[0] if hops else peer

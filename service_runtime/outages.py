"""A dependency that is down or saturated is an outage, not a bug of ours.

Redis out of connections ("No connection available."), a dropped PostgreSQL connection or a
statement timeout reached a handler as an unexpected exception: answered INTERNAL with a
traceback in the log, so a client's retry policy (which retries UNAVAILABLE, never INTERNAL)
gave up on a call that would succeed a moment later, and the operator's error alerts fired as
if the code were broken. They are answered UNAVAILABLE, reason DEPENDENCY_UNAVAILABLE, naming
only the kind of dependency (never its error text, which can carry hosts and queries), and
counted by that kind (`betmesh_dependency_outages_total`, served on the process's metrics port)
where they are met: a call answered with the refusal (handlers.py) or a background step failed
by it (background.py), so that an operator is paged on the store, not on the calls it fails.
"""

from __future__ import annotations

import redis.exceptions
from prometheus_client import Counter

from service_runtime.errors import Unavailable

REASON = "DEPENDENCY_UNAVAILABLE"
DEPENDENCIES = ("postgresql", "redis", "chain")
# By module and class name (matched along the class's MRO, so psycopg2's QueryCanceled,
# AdminShutdown and the like are covered by their base): psycopg2 and SQLAlchemy are not every
# service's dependencies, and the runtime must not import them for a service that does not.
_DATABASE_ERRORS = {
    ("psycopg2", "OperationalError"),
    ("psycopg", "OperationalError"),
    ("sqlalchemy.exc", "OperationalError"),
}
# No chain endpoint answered (down, blackholed past the RPC timeout, out of quota): the chain is
# a dependency like a store, and chain_rpc imports web3, which not every service has.
_CHAIN_ERRORS = {("service_runtime.chain_rpc", "AllEndpointsFailed")}


def as_outage(exc: BaseException) -> Unavailable | None:
    """The refusal for `exc` if it says a dependency is unavailable, else None."""
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return _refusal("redis")
    for kind in type(exc).__mro__:
        if (kind.__module__, kind.__name__) in _DATABASE_ERRORS:
            return _refusal("postgresql")
        if (kind.__module__, kind.__name__) in _CHAIN_ERRORS:
            return _refusal("chain")
    return None


def _refusal(dependency: str) -> Unavailable:
    message = "a store this call needs is unavailable; retry"
    return Unavailable(REASON, message, {"dependency": dependency})


# A prometheus_client counter, like the RPC histograms (metrics.py): served on the scrape
# endpoint, and readable in-process. Every kind is there from the start at 0, so that the first
# outage is an increase Prometheus sees, not a new series.
_outages = Counter(
    "betmesh_dependency_outages",
    "calls refused and background steps failed because a dependency was unavailable, by kind",
    ["betmesh_dependency"],
)
for _dependency in DEPENDENCIES:
    _outages.labels(_dependency)


def count(outage: Unavailable) -> None:
    """Counts an outage met by a call or a background step (not by a caller of as_outage that
    only decides on it: the error reaches one of those two as well)."""
    _outages.labels(outage.metadata.get("dependency", "")).inc()

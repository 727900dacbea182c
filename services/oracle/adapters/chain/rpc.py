"""The oracle's RPC failover: the shared one (service_runtime.chain_rpc), which bets' chain
reader uses too."""

from service_runtime.chain_rpc import (
    AllEndpointsFailed,
    FailoverProvider,
    QuotaExhausted,
    redact,
    url_problem,
)

__all__ = ["AllEndpointsFailed", "FailoverProvider", "QuotaExhausted", "redact", "url_problem"]

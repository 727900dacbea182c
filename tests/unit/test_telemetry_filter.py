"""Which calls get gRPC spans: all but health probes (the launcher and
Kubernetes probe every service every few seconds; their spans would drown the real ones)."""

from __future__ import annotations

import pytest

from service_runtime.telemetry import traced


@pytest.mark.parametrize(
    "method", ["/grpc.health.v1.Health/Check", b"/grpc.health.v1.Health/Watch"]
)
def test_health_probes_are_not_traced(method: str | bytes) -> None:
    assert not traced(method)


@pytest.mark.parametrize(
    "method",
    [
        "/betmesh.bets.v1.BetService/PlaceBet",
        b"/betmesh.live.v1.LiveOddsService/StreamOdds",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ],
)
def test_every_other_call_is_traced(method: str | bytes) -> None:
    assert traced(method)

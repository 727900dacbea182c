"""Consensus metrics: decisions and votes by sport and outcome, decision latency, quarantine."""

from __future__ import annotations

from collections.abc import Iterable

from betmesh.common.v1 import market_pb2, sport_pb2
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from gateway.domain.consensus import Decision
from gateway.domain.holds import PriceHold
from gateway.domain.replicas import State
from gateway.service_layer.consensus import ConsensusGateway
from gateway.service_layer.rtp_steering import RtpSteering


class ConsensusMetrics:
    def __init__(self, meter: metrics.Meter, gateway: ConsensusGateway) -> None:
        self.gateway = gateway
        self.decisions = meter.create_counter(
            "betmesh.consensus.decisions", description="consensus decisions by sport and result"
        )
        self.votes = meter.create_counter(
            "betmesh.consensus.votes", description="replica votes by sport, replica and outcome"
        )
        self.duration = meter.create_histogram(
            "betmesh.consensus.duration",
            unit="s",
            description="time to a consensus decision",
            # The SDK's default buckets (5..10000) suit milliseconds, not a decision in seconds.
            explicit_bucket_boundaries_advisory=[
                0.0005,
                0.001,
                0.002,
                0.004,
                0.008,
                0.016,
                0.032,
                0.064,
                0.128,
                0.256,
                0.512,
                1,
                2,
            ],
        )
        meter.create_observable_gauge(
            "betmesh.consensus.quarantined_replicas",
            callbacks=[self._quarantined],
            description="replicas excluded from quorum counting",
        )
        meter.create_observable_gauge(
            "betmesh.consensus.unreachable_replicas",
            callbacks=[self._unreachable],
            description="replicas whose last calls all found no gRPC server (still asked) "
            "or all timed out (resting: asked once per cool-down)",
        )

    async def record(
        self, sport: sport_pb2.Sport.ValueType, decision: Decision, seconds: float
    ) -> None:
        name = sport_pb2.Sport.Name(sport)
        result = (
            "accepted" if decision.accepted else "refused" if decision.common_error else "no_quorum"
        )
        self.decisions.add(1, {"betmesh.sport": name, "betmesh.consensus.result": result})
        self.duration.record(seconds, {"betmesh.sport": name, "betmesh.consensus.result": result})
        for vote in decision.votes:
            self.votes.add(
                1,
                {
                    "betmesh.sport": name,
                    "betmesh.replica.id": vote.replica_id,
                    "betmesh.vote.outcome": vote.outcome.value,
                },
            )

    def _quarantined(self, options: CallbackOptions) -> Iterable[Observation]:
        for sport, replica_set in self.gateway.replica_sets.items():
            count = sum(
                1 for r in replica_set.health.replicas.values() if r.state == State.QUARANTINED
            )
            yield Observation(count, {"betmesh.sport": sport_pb2.Sport.Name(sport)})

    def _unreachable(self, options: CallbackOptions) -> Iterable[Observation]:
        for sport, replica_set in self.gateway.replica_sets.items():
            count = len(replica_set.health.unreachable())
            yield Observation(count, {"betmesh.sport": sport_pb2.Sport.Name(sport)})


class GuardMetrics:
    """The integrity guard's operator alert as a metric: holds raised, by sport, phase and rule
    (also counted durably in the holds table, which ListPriceHolds reports)."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.holds = meter.create_counter(
            "betmesh.guard.holds", description="markets held back by the integrity guard"
        )

    def held(self, hold: PriceHold) -> None:
        for rule in hold.rules:
            self.holds.add(
                1,
                {
                    "betmesh.sport": sport_pb2.Sport.Name(hold.sport),
                    "betmesh.guard.rule": rule,
                    "betmesh.pricing.phase": market_pb2.PricingPhase.Name(hold.phase),
                },
            )


class RtpMetrics:
    """The return-to-player controller's state: the margin scale every price carries and the
    year's realised figure it was computed from."""

    def __init__(self, meter: metrics.Meter, steering: RtpSteering) -> None:
        self.steering = steering
        meter.create_observable_gauge(
            "betmesh.gateway.margin_scale",
            callbacks=[self._scale],
            description="margin scale set by the return-to-player controller (1 = the policy)",
        )
        meter.create_observable_gauge(
            "betmesh.gateway.return_to_player",
            callbacks=[self._rtp],
            description="the year's payouts over stakes as the controller last read them",
        )

    def _scale(self, options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(self.steering.scale_e4() / 10_000)

    def _rtp(self, options: CallbackOptions) -> Iterable[Observation]:
        rtp = self.steering.controller.return_to_player_e4()
        if rtp is not None:
            yield Observation(rtp / 10_000)

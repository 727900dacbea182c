"""The live repricing loop's settings (BETMESH_LIVE_*_REPRICE_SECONDS and friends)."""

from __future__ import annotations

from dataclasses import dataclass

from service_runtime.settings import Env


@dataclass(frozen=True)
class RepricingSettings:
    # Reprice every this often while the game is busy (an event in the busy window)...
    busy_reprice_seconds: float = 60.0
    # ... and this often while it is quiet (the seed: "every 5-6 minutes").
    quiet_reprice_seconds: float = 300.0
    busy_window_seconds: float = 180.0
    # How often each process looks for fixtures due on the cadence.
    tick_seconds: float = 1.0
    # Longer than any one reprice (the gateway call is bounded by gateway_timeout_seconds).
    lease_seconds: float = 30.0
    gateway_timeout_seconds: float = 10.0

    @classmethod
    def read(cls, env: Env) -> RepricingSettings:
        settings = cls(
            busy_reprice_seconds=env.float("LIVE_BUSY_REPRICE_SECONDS", 60.0),
            quiet_reprice_seconds=env.float("LIVE_QUIET_REPRICE_SECONDS", 300.0),
            busy_window_seconds=env.float("LIVE_BUSY_WINDOW_SECONDS", 180.0),
            tick_seconds=env.float("LIVE_REPRICE_TICK_SECONDS", 1.0),
            lease_seconds=env.float("LIVE_REPRICE_LEASE_SECONDS", 30.0),
            gateway_timeout_seconds=env.float("LIVE_GATEWAY_TIMEOUT_SECONDS", 10.0),
        )
        env.require_positive(
            ("LIVE_BUSY_REPRICE_SECONDS", settings.busy_reprice_seconds),
            ("LIVE_QUIET_REPRICE_SECONDS", settings.quiet_reprice_seconds),
            ("LIVE_BUSY_WINDOW_SECONDS", settings.busy_window_seconds),
            ("LIVE_REPRICE_TICK_SECONDS", settings.tick_seconds),
            ("LIVE_REPRICE_LEASE_SECONDS", settings.lease_seconds),
            ("LIVE_GATEWAY_TIMEOUT_SECONDS", settings.gateway_timeout_seconds),
        )
        if settings.lease_seconds <= settings.gateway_timeout_seconds:
            env.problems.append(
                "BETMESH_LIVE_REPRICE_LEASE_SECONDS must exceed "
                "BETMESH_LIVE_GATEWAY_TIMEOUT_SECONDS"
            )
        return settings

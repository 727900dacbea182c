"""python -m gateway: the consensus gateway in front of every sport's quote replicas."""

from __future__ import annotations

from gateway.app import build
from gateway.settings import GatewaySettings
from service_runtime.env import from_env_or_exit
from service_runtime.server import run_service


def main() -> None:
    settings = from_env_or_exit(GatewaySettings.from_env)
    run_service(
        "betmesh.gateway",
        lambda: build(settings),
        settings.server.log_level,
        event_loop=settings.server.event_loop,
    )


if __name__ == "__main__":
    main()

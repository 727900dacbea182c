"""python -m services.edge: gRPC-web for browsers in front of the native gRPC services."""

from __future__ import annotations

from service_runtime.env import from_env_or_exit
from service_runtime.event_loop import run
from service_runtime.jsonlog import configure_logging
from service_runtime.telemetry import configure_tracing, shutdown_tracing
from services.edge.app import serve
from services.edge.settings import EdgeSettings

SERVICE = "betmesh.edge"


def main() -> None:
    settings = from_env_or_exit(EdgeSettings.from_env)
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(SERVICE)
    try:
        run(serve(settings), settings.event_loop)
    finally:
        shutdown_tracing()


if __name__ == "__main__":
    main()

"""python -m services.oracle: results observed by independent sources, validated by agreement."""

from __future__ import annotations

from service_runtime.env import from_env_or_exit
from service_runtime.server import run_service
from services.oracle.app import build
from services.oracle.settings import OracleSettings


def main() -> None:
    settings = from_env_or_exit(OracleSettings.from_env)
    run_service(
        "betmesh.oracle",
        lambda: build(settings),
        settings.server.log_level,
        event_loop=settings.server.event_loop,
    )


if __name__ == "__main__":
    main()

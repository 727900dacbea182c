"""python -m services.live: the live odds service (match events and game state for now)."""

from __future__ import annotations

from service_runtime.env import from_env_or_exit
from service_runtime.server import run_service
from services.live.app import SERVICE, build
from services.live.settings import LiveSettings


def main() -> None:
    settings = from_env_or_exit(LiveSettings.from_env)
    run_service(
        SERVICE,
        lambda: build(settings),
        settings.server.log_level,
        event_loop=settings.server.event_loop,
    )


if __name__ == "__main__":
    main()

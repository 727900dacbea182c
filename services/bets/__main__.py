"""python -m services.bets: the wallet and bets service (needs BETMESH_DATABASE_URL)."""

from __future__ import annotations

from service_runtime.env import from_env_or_exit
from service_runtime.server import run_service
from services.bets.app import build
from services.bets.settings import BetsSettings


def main() -> None:
    settings = from_env_or_exit(BetsSettings.from_env)
    run_service(
        "betmesh.bets",
        lambda: build(settings),
        settings.server.log_level,
        event_loop=settings.server.event_loop,
    )


if __name__ == "__main__":
    main()

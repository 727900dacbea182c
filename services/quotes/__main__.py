"""python -m services.quotes: one quote replica for the sport in BETMESH_QUOTES_SPORT."""

from __future__ import annotations

from service_runtime.env import from_env_or_exit
from service_runtime.server import run_service
from services.quotes.app import build
from services.quotes.settings import QuotesSettings


def main() -> None:
    settings = from_env_or_exit(QuotesSettings.from_env)
    run_service(
        "betmesh.quotes",
        lambda: build(settings),
        settings.server.log_level,
        event_loop=settings.server.event_loop,
    )


if __name__ == "__main__":
    main()

"""python -m services.quotes: one quote replica for the sport in BETMESH_QUOTES_SPORT."""

from __future__ import annotations

from service_runtime.server import ServiceHost, run_service
from services.quotes.app import build
from services.quotes.settings import QuotesSettings


def main() -> None:
    settings = QuotesSettings.from_env()

    async def host() -> ServiceHost:
        return build(settings)

    run_service("betmesh.quotes", host, settings.server.log_level)


if __name__ == "__main__":
    main()

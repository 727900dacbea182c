"""python -m services.identity: client-credential tokens and the JWKS that verifies them."""

from __future__ import annotations

from service_runtime.server import ServiceHost, run_service
from services.identity.app import build
from services.identity.settings import IdentitySettings


def main() -> None:
    settings = IdentitySettings.from_env()

    async def host() -> ServiceHost:
        return build(settings)

    run_service("betmesh.identity", host, settings.server.log_level)


if __name__ == "__main__":
    main()

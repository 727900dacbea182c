"""python -m services.identity: client-credential tokens and the JWKS that verifies them."""

from __future__ import annotations

from service_runtime.env import from_env_or_exit
from service_runtime.server import run_service
from services.identity.app import build
from services.identity.settings import IdentitySettings


def main() -> None:
    settings = from_env_or_exit(IdentitySettings.from_env)
    run_service(
        "betmesh.identity",
        lambda: build(settings),
        settings.server.log_level,
        event_loop=settings.server.event_loop,
    )


if __name__ == "__main__":
    main()

"""python -m services.signer: one oracle signer, one key (file or AWS KMS)."""

from __future__ import annotations

from service_runtime.env import from_env_or_exit
from service_runtime.server import run_service
from services.signer.app import build
from services.signer.settings import SignerSettings


def main() -> None:
    settings = from_env_or_exit(SignerSettings.from_env)
    run_service(
        "betmesh.signer",
        lambda: build(settings),
        settings.server.log_level,
        event_loop=settings.server.event_loop,
    )


if __name__ == "__main__":
    main()

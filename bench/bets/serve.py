"""The bench's bets process: `python -m services.bets` as it is, but with the tests' header
authenticator, so the bench needs no identity service to sign tokens. Callers name themselves in
two headers (tests/integration/test_bets_harness.py); verifying a real token is identity's cost,
measured in bench/identity, not part of placing a bet here."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "gen" / "python"))

from service_runtime.server import run_service  # noqa: E402
from services.bets.app import build  # noqa: E402
from services.bets.settings import BetsSettings  # noqa: E402
from tests.integration.test_bets_harness import HeaderAuthenticator  # noqa: E402


def main() -> None:
    settings = BetsSettings.from_env()
    run_service(
        "betmesh.bets",
        lambda: build(settings, authenticator=HeaderAuthenticator()),
        settings.server.log_level,
        event_loop=settings.server.event_loop,
    )


if __name__ == "__main__":
    main()

"""Live settings from BETMESH_* variables (and the blocking reads of bets' consumers)."""

from __future__ import annotations

import pytest

from service_runtime.settings import SettingsError
from services.bets.settings import BetsSettings
from services.live.settings import LiveSettings


def test_defaults_and_optional_gateway() -> None:
    settings = LiveSettings.from_env({"BETMESH_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.hold_seconds == 30.0
    assert settings.gateway_address is None
    configured = LiveSettings.from_env(
        {
            "BETMESH_REDIS_URL": "redis://r/0",
            "BETMESH_GATEWAY_ADDRESS": "127.0.0.1:7000",
            "BETMESH_LIVE_HOLD_SECONDS": "2.5",
            "BETMESH_PORT": "7100",
        }
    )
    assert configured.gateway_address == "127.0.0.1:7000"
    assert configured.hold_seconds == 2.5
    assert configured.server.port == 7100


def test_redis_url_is_required_and_problems_are_named_together() -> None:
    with pytest.raises(SettingsError) as caught:
        LiveSettings.from_env({"BETMESH_LIVE_HOLD_SECONDS": "-1"})
    assert "BETMESH_REDIS_URL is required" in str(caught.value)
    assert "BETMESH_LIVE_HOLD_SECONDS" in str(caught.value)


def test_a_blocking_read_must_end_before_redis_is_given_up_on() -> None:
    """The journal writer's idle read blocks a third of its lease: at or past the wait for a
    Redis answer (BETMESH_REDIS_ANSWER_SECONDS), every idle read would end as an outage."""
    redis = {"BETMESH_REDIS_URL": "redis://r/0", "BETMESH_REDIS_ANSWER_SECONDS": "2"}
    assert LiveSettings.from_env({**redis, "BETMESH_LIVE_STREAM_LEASE_SECONDS": "5"})
    with pytest.raises(SettingsError, match="BETMESH_LIVE_STREAM_LEASE_SECONDS"):
        LiveSettings.from_env({**redis, "BETMESH_LIVE_STREAM_LEASE_SECONDS": "6"})
    with pytest.raises(SettingsError, match="BETMESH_REDIS_ANSWER_SECONDS must be positive"):
        LiveSettings.from_env({**redis, "BETMESH_REDIS_ANSWER_SECONDS": "0"})
    # Bets' event consumers alike.
    bets = {"BETMESH_DATABASE_URL": "postgresql://x/y", "BETMESH_REDIS_ANSWER_SECONDS": "2"}
    assert BetsSettings.from_env({**bets, "BETMESH_BETS_EVENT_BLOCK_MS": "1999"})
    with pytest.raises(SettingsError, match="BETMESH_BETS_EVENT_BLOCK_MS"):
        BetsSettings.from_env({**bets, "BETMESH_BETS_EVENT_BLOCK_MS": "2000"})

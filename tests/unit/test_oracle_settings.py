"""Oracle configuration: required values, defaults, and failing fast on bad ones."""

from __future__ import annotations

import pytest

from service_runtime.settings import SettingsError
from services.oracle.settings import OracleSettings

DB = "postgresql+psycopg2://postgres@127.0.0.1/betmesh"


def test_defaults() -> None:
    settings = OracleSettings.from_env({"BETMESH_DATABASE_URL": DB})
    assert settings.database_url == DB
    assert settings.redis_url is None
    assert settings.required_sources == 2
    assert settings.rpc_urls == ()


def test_everything_set() -> None:
    settings = OracleSettings.from_env(
        {
            "BETMESH_DATABASE_URL": DB,
            "BETMESH_REDIS_URL": "redis://127.0.0.1:6379/0",
            "BETMESH_ORACLE_REQUIRED_SOURCES": "3",
            "BETMESH_ORACLE_RPC_URLS": "http://127.0.0.1:8545, https://rpc.example.org",
        }
    )
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.required_sources == 3
    assert settings.rpc_urls == ("http://127.0.0.1:8545", "https://rpc.example.org")


def test_every_problem_named_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        OracleSettings.from_env(
            {
                "BETMESH_ORACLE_REQUIRED_SOURCES": "0",
                "BETMESH_ORACLE_RPC_URLS": "not-a-url",
            }
        )
    text = str(caught.value)
    for name in (
        "BETMESH_DATABASE_URL",
        "BETMESH_ORACLE_REQUIRED_SOURCES",
        "BETMESH_ORACLE_RPC_URLS",
    ):
        assert name in text

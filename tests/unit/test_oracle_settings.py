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


def test_publishing_needs_contract_keys_and_a_node() -> None:
    base = {"BETMESH_DATABASE_URL": DB, "BETMESH_ORACLE_RPC_URLS": "http://127.0.0.1:8545"}
    assert not OracleSettings.from_env(base).publishing
    settings = OracleSettings.from_env(
        {
            **base,
            "BETMESH_ORACLE_CONTRACT_ADDRESS": "0x" + "ab" * 20,
            "BETMESH_ORACLE_TRANSMITTER_KEY_FILE": "/run/keys/transmitter",
            "BETMESH_ORACLE_SIGNER_ADDRESSES": "signer-1:50051,signer-2:50051",
            "BETMESH_ORACLE_CONFIRMATIONS": "12",
            "BETMESH_ORACLE_MAX_FEE_GWEI": "80",
        }
    )
    assert settings.publishing
    assert settings.signer_addresses == ("signer-1:50051", "signer-2:50051")
    assert (settings.confirmations, settings.max_fee_gwei) == (12, 80)


def test_the_oracle_holds_no_signer_key() -> None:
    """Signer keys live in signer processes: a deployment still mounting them is refused."""
    with pytest.raises(SettingsError) as caught:
        OracleSettings.from_env(
            {
                "BETMESH_DATABASE_URL": DB,
                "BETMESH_ORACLE_SIGNER_KEY_FILES": "/run/keys/s1",
                "BETMESH_ORACLE_SIGNER_ADDRESSES": "signer-1,:80,signer-2:99999",
            }
        )
    message = str(caught.value)
    assert "BETMESH_ORACLE_SIGNER_KEY_FILES is no longer read" in message
    for bad in ("'signer-1'", "':80'", "'signer-2:99999'"):
        assert bad in message


def test_publication_limits_are_checked() -> None:
    with pytest.raises(SettingsError) as caught:
        OracleSettings.from_env(
            {
                "BETMESH_DATABASE_URL": DB,
                "BETMESH_ORACLE_CONFIRMATIONS": "0",
                "BETMESH_ORACLE_BATCH_SIZE": "500",
                "BETMESH_ORACLE_LOG_CHUNK_BLOCKS": "20000",
            }
        )
    message = str(caught.value)
    for name in ("CONFIRMATIONS", "BATCH_SIZE", "LOG_CHUNK_BLOCKS"):
        assert f"BETMESH_ORACLE_{name}" in message


def test_a_websocket_url_is_refused_with_a_clear_message() -> None:
    with pytest.raises(SettingsError) as caught:
        OracleSettings.from_env(
            {"BETMESH_DATABASE_URL": DB, "BETMESH_ORACLE_RPC_URLS": "wss://node.example/ws/key1"}
        )
    text = str(caught.value)
    assert "only http:// and https://" in text and "key1" not in text

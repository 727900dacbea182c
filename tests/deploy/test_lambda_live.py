"""The live-repricing Lambda handler, invoked locally with a real event: its canonical bytes and
digest are the ones a real quote replica (grpc.aio server) returns for the same request."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.quotes.v1 import quote_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2_grpc
from google.protobuf import json_format

from deploy.aws.lambda_live.handler import SNAPSHOT_DIR_VARIABLE, handler
from service_runtime.digest import digest_bytes
from services.quotes.app import build
from services.quotes.domain.snapshots import snapshot_bytes, snapshot_hash
from services.quotes.settings import QuotesSettings
from tests.support.demo_snapshots import (
    demo_football_snapshot,
    demo_startup_env,
    demo_tennis_snapshot,
)

EVENT_FILE = Path(__file__).parent / "events" / "football_live.json"


def event(**changes: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(EVENT_FILE.read_text())
    snapshot = demo_football_snapshot()
    loaded["snapshot_hash"] = snapshot_hash(snapshot)
    loaded["snapshot"] = base64.b64encode(snapshot_bytes(snapshot)).decode()
    loaded.update(changes)
    return loaded


@pytest.fixture
async def replica() -> AsyncIterator[quote_service_pb2_grpc.QuoteServiceStub]:
    host = build(
        QuotesSettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_QUOTES_SPORT": "football",
                # The hand-set snapshots only: this test pins their hashes.
                **demo_startup_env(),
                "BETMESH_QUOTES_REPLICA_ID": "football-1",
                "BETMESH_GRACE_SECONDS": "0",
            }
        )
    )
    await host.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{host.port}")
    yield quote_service_pb2_grpc.QuoteServiceStub(channel)
    await channel.close()
    await host.stop(0)


def request_for(payload: dict[str, Any]) -> pb.PriceFixtureRequest:
    request = pb.PriceFixtureRequest(
        fixture=json_format.ParseDict(payload["fixture"], sport_pb2.Fixture()),
        snapshot_hash=payload["snapshot_hash"],
        market_types=[market_pb2.MarketType.Value(t) for t in payload.get("market_types", [])],
    )
    if payload.get("game_state") is not None:
        request.game_state.CopyFrom(
            json_format.ParseDict(payload["game_state"], game_state_pb2.GameState())
        )
    return request


@pytest.mark.parametrize("phase", ["live", "pre-match"])
async def test_the_handler_returns_the_replicas_bytes_and_digest(
    replica: quote_service_pb2_grpc.QuoteServiceStub, phase: str
) -> None:
    payload = event() if phase == "live" else event(game_state=None)
    # A Lambda event arrives as JSON text.
    result = handler(json.loads(json.dumps(payload)))
    assert "error" not in result, result
    data = base64.b64decode(result["quote_set"])
    assert result["digest"] == digest_bytes(data)
    response = await replica.PriceFixture(request_for(payload))
    assert data == response.quote_set
    assert result["digest"] == response.digest
    quote_set = market_pb2.QuoteSet.FromString(data)
    assert quote_set.fixture_id == "epl-2024-ars-che"
    assert quote_set.markets
    expected = "PRICING_PHASE_LIVE" if phase == "live" else "PRICING_PHASE_PRE_MATCH"
    assert result["phase"] == expected
    if phase == "live":
        assert quote_set.event_sequence == 42


def test_a_bundled_snapshot_is_read_by_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = event()
    inline = payload.pop("snapshot")
    (tmp_path / (payload["snapshot_hash"].removeprefix("sha256:") + ".bin")).write_bytes(
        base64.b64decode(inline)
    )
    monkeypatch.setenv(SNAPSHOT_DIR_VARIABLE, str(tmp_path))
    assert handler(payload)["digest"] == handler(event())["digest"]


def test_a_snapshot_that_does_not_match_its_hash_is_refused() -> None:
    other = demo_tennis_snapshot()
    payload = event(snapshot=base64.b64encode(snapshot_bytes(other)).decode())
    assert handler(payload)["error"]["reason"] == "SNAPSHOT_REFUSED"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sport": "curling"}, "UNKNOWN_SPORT"),
        ({"snapshot_hash": "md5:abc"}, "INVALID_SNAPSHOT_HASH"),
        ({"fixture": "not an object"}, "INVALID_EVENT"),
        ({"market_types": ["MARKET_TYPE_NOPE"]}, "UNKNOWN_MARKET_TYPE"),
        ({"snapshot": "***"}, "INVALID_EVENT"),
    ],
)
def test_caller_mistakes_get_a_reason(change: dict[str, Any], reason: str) -> None:
    result = handler(event(**change))
    assert result["error"]["reason"] == reason
    assert result["error"]["code"] in {"INVALID_ARGUMENT", "FAILED_PRECONDITION"}


def test_a_missing_bundled_snapshot_is_a_failed_precondition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SNAPSHOT_DIR_VARIABLE, str(tmp_path))
    payload = copy.deepcopy(event())
    del payload["snapshot"]
    error = handler(payload)["error"]
    assert (error["code"], error["reason"]) == ("FAILED_PRECONDITION", "SNAPSHOT_NOT_FOUND")

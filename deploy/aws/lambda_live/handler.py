"""In-play repricing as an AWS Lambda function: the replica's own pricing code, one event a call.

The seed's first step for live repricing (before live asks the consensus gateway, which fans out
to the quote replicas): a Lambda that prices one fixture from a pinned, content-addressed
snapshot and a game state. It runs *exactly* the replica's pipeline
(services.quotes.domain.pricing.price_fixture -> canonicalise -> quote_digest), so its bytes and
digest are what a replica would return for the same request; a gateway-style caller can put it
in a quorum beside replicas.

Event (JSON):
    {"sport": "football",                      # the replica's sport (BETMESH_QUOTES_SPORT)
     "fixture": {...},                         # betmesh.common.v1.Fixture, protobuf JSON
     "snapshot_hash": "sha256:...",
     "snapshot": "<base64 ModelSnapshot>",     # optional: else read from the bundled directory
     "market_types": ["MARKET_TYPE_MATCH_RESULT"],   # optional: every supported type
     "game_state": {...}}                      # optional (betmesh.common.v1.GameState): in play
Result:
    {"quote_set": "<base64 canonical QuoteSet>", "digest": "sha256:...", "phase": "...",
     "replica_id": "lambda-<sport>"}
  or, for a caller's mistake, {"error": {"code": "INVALID_ARGUMENT", "reason": "...", ...}}.

Snapshots are verified against their hash before use; the bundled ones live in
BETMESH_LAMBDA_SNAPSHOT_DIR as <hex digest>.bin (the image ships the pinned snapshots).
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from google.protobuf import json_format

from service_runtime.errors import DomainError, FailedPrecondition, InvalidArgument
from services.quotes.domain.pricing import canonicalise, price_fixture, quote_digest
from services.quotes.domain.snapshots import SnapshotRefused, check_hash, verify

SNAPSHOT_DIR_VARIABLE = "BETMESH_LAMBDA_SNAPSHOT_DIR"
DEFAULT_SNAPSHOT_DIR = "/var/task/snapshots"


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """The Lambda entry point (`deploy.aws.lambda_live.handler.handler`)."""
    try:
        return _price(event)
    except DomainError as exc:
        return {
            "error": {
                "code": exc.code,
                "reason": exc.reason,
                "message": exc.message,
                "metadata": exc.metadata,
            }
        }


def _price(event: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise InvalidArgument("INVALID_EVENT", "the event must be a JSON object")
    sport = _sport(event.get("sport"))
    snapshot_hash = str(event.get("snapshot_hash", ""))
    check_hash(snapshot_hash)
    snapshot = _snapshot(snapshot_hash, event.get("snapshot"))
    fixture = _parse(event.get("fixture"), sport_pb2.Fixture(), "fixture")
    game_state = (
        _parse(event["game_state"], game_state_pb2.GameState(), "game_state")
        if event.get("game_state") is not None
        else None
    )
    market_types = [_market_type(name) for name in event.get("market_types", [])]
    quote_set = price_fixture(fixture, snapshot, snapshot_hash, market_types, game_state, sport)
    data = canonicalise(quote_set)
    return {
        "quote_set": base64.b64encode(data).decode("ascii"),
        "digest": quote_digest(data),
        "phase": market_pb2.PricingPhase.Name(quote_set.phase),
        "replica_id": f"lambda-{sport_pb2.Sport.Name(sport).removeprefix('SPORT_').lower()}",
    }


def _sport(name: object) -> sport_pb2.Sport.ValueType:
    try:
        return sport_pb2.Sport.Value("SPORT_" + str(name or "").upper())
    except ValueError:
        raise InvalidArgument(
            "UNKNOWN_SPORT", f"sport {name!r} is not football, tennis or basketball"
        ) from None


def _market_type(name: object) -> market_pb2.MarketType.ValueType:
    try:
        return market_pb2.MarketType.Value(str(name))
    except ValueError:
        raise InvalidArgument("UNKNOWN_MARKET_TYPE", f"no market type {name!r}") from None


def _parse(value: object, message: Any, field: str) -> Any:
    if not isinstance(value, dict):
        raise InvalidArgument("INVALID_EVENT", f"{field} must be a JSON object")
    try:
        return json_format.ParseDict(value, message)
    except json_format.ParseError as exc:
        raise InvalidArgument("INVALID_EVENT", f"{field}: {exc}") from None


def _snapshot(snapshot_hash: str, inline: object) -> Any:
    if inline is not None:
        try:
            data = base64.b64decode(str(inline), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidArgument("INVALID_EVENT", "snapshot is not base64") from None
    else:
        directory = Path(os.environ.get(SNAPSHOT_DIR_VARIABLE, DEFAULT_SNAPSHOT_DIR))
        path = directory / f"{snapshot_hash.removeprefix('sha256:')}.bin"
        if not path.is_file():
            raise FailedPrecondition(
                "SNAPSHOT_NOT_FOUND", f"snapshot {snapshot_hash} is not bundled with this function"
            )
        data = path.read_bytes()
    try:
        return verify(snapshot_hash, data)
    except SnapshotRefused as exc:
        raise FailedPrecondition("SNAPSHOT_REFUSED", str(exc)) from None

"""Loads fixtures into the gateway's fixtures store through FixtureService.UpsertFixtures.

    python -m gateway.fixtures_cli load FILE --address HOST:PORT [--token TOKEN] [--price]

FILE is JSON: {"fixtures": [<betmesh.common.v1.Fixture in protobuf JSON>, ...]} (the
UpsertFixturesRequest's JSON form), e.g.
    {"fixtures": [{"fixtureId": "epl-ars-che", "sport": "SPORT_FOOTBALL",
                   "startTime": "2026-12-05T15:00:00Z", "status": "FIXTURE_STATUS_SCHEDULED",
                   "home": {"participantId": "fb:arsenal", "name": "Arsenal"},
                   "away": {"participantId": "fb:chelsea", "name": "Chelsea"}}]}
--price runs one pre-match pricing pass afterwards and prints its report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gw
from betmesh.gateway.v1 import (
    consensus_gateway_service_pb2_grpc,
    fixture_service_pb2,
    fixture_service_pb2_grpc,
)
from google.protobuf import json_format

BATCH = 500


def load(path: Path, address: str, token: str | None, price: bool) -> int:
    try:
        request = json_format.Parse(path.read_text(), fixture_service_pb2.UpsertFixturesRequest())
    except (OSError, json_format.ParseError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return 2
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    with grpc.insecure_channel(address) as channel:
        store = fixture_service_pb2_grpc.FixtureServiceStub(channel)
        totals = [0, 0, 0]
        fixtures = list(request.fixtures)
        try:
            for start in range(0, len(fixtures), BATCH):
                batch = fixture_service_pb2.UpsertFixturesRequest(
                    fixtures=fixtures[start : start + BATCH]
                )
                reply = store.UpsertFixtures(batch, timeout=60, metadata=metadata)
                totals = [
                    totals[0] + reply.created_count,
                    totals[1] + reply.updated_count,
                    totals[2] + reply.unchanged_count,
                ]
            print(f"fixtures: {totals[0]} created, {totals[1]} updated, {totals[2]} unchanged")
            if price:
                consensus = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(channel)
                report = consensus.RunPreMatchPricing(
                    gw.RunPreMatchPricingRequest(), timeout=600, metadata=metadata
                )
                print(
                    f"pre-match pricing: {report.fixture_count} fixtures in the horizon, "
                    f"{report.priced_count} priced, {report.unchanged_count} unchanged, "
                    f"{report.failed_count} failed"
                )
                for failure in report.failures:
                    print(f"  {failure.reason}: {failure.count}")
        except grpc.RpcError as exc:
            print(f"refused: {exc.code().name}: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.fixtures_cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    loading = commands.add_parser("load", help="upsert fixtures from a JSON file")
    loading.add_argument("file", type=Path)
    loading.add_argument("--address", required=True, help="the gateway, host:port")
    loading.add_argument("--token", help="an operator access token (when tokens are on)")
    loading.add_argument("--price", action="store_true", help="run a pricing pass afterwards")
    args = parser.parse_args(argv)
    return load(args.file, args.address, args.token, args.price)


if __name__ == "__main__":
    sys.exit(main())

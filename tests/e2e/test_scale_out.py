"""The production shape on one machine: several live processes and a second gateway."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc

from launcher.mesh import Mesh, MeshConfig

pytestmark = pytest.mark.e2e


def test_two_gateways_and_two_live_processes_serve_side_by_side(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    mesh = Mesh(
        MeshConfig(
            state_dir=tmp_path,
            database_url=database_url,
            redis_url=redis_url,
            chain_rpc_urls=("http://127.0.0.1:9",),
            replicas={"football": 3},
            only=frozenset({"quotes", "gateway", "live"}),
            log_stream=None,
            auth="anonymous",
            live_processes=2,
            gateways=2,
            extra_env={"BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0"},
        )
    )
    mesh.start()
    try:
        names = {c.name for c in mesh.children}
        assert {"gateway", "gateway-2", "live", "live-2"} <= names
        with grpc.insecure_channel(mesh.replica_addresses("football")[0]) as channel:
            listed = quote_service_pb2_grpc.QuoteServiceStub(channel).ListModelSnapshots(
                quote_service_pb2.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_FOOTBALL),
                timeout=10,
            )
        snapshot = listed.snapshots[0].snapshot_hash
        digests = set()
        for name in ("gateway", "gateway-2"):
            address = mesh.address_of(name)
            assert address is not None
            with grpc.insecure_channel(address) as channel:
                accepted = (
                    consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(channel)
                    .GetConsensusQuote(
                        pb.GetConsensusQuoteRequest(
                            fixture=sport_pb2.Fixture(
                                fixture_id="scale-1",
                                sport=sport_pb2.SPORT_FOOTBALL,
                                home=sport_pb2.Participant(participant_id="fb:arsenal"),
                                away=sport_pb2.Participant(participant_id="fb:chelsea"),
                            ),
                            snapshot_hash=snapshot,
                            market_types=[market_pb2.MARKET_TYPE_MATCH_RESULT],
                        ),
                        timeout=20,
                    )
                    .accepted
                )
            digests.add(accepted.digest)
        assert len(digests) == 1  # both gateways accept the same bytes
    finally:
        mesh.stop()

"""`betmesh admin` against the contracts: every command names an RPC that exists and request
fields that exist, requests are built and checked before anything is sent, and answers render
as tables."""

from __future__ import annotations

import argparse

import pytest
from betmesh.common.v1 import sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gw

from launcher.admin import COMMANDS, AdminError, available, build_request, fields_of, render


def test_every_command_names_an_rpc_and_fields_of_the_contracts() -> None:
    assert available() == list(COMMANDS)
    for command in COMMANDS:
        _, request, _ = build_request(command.service, command.method, {})
        for name in command.positionals:
            assert name in request.DESCRIPTOR.fields_by_name, (command.method, name)


def test_arguments_become_the_request_and_mistakes_are_refused_before_sending() -> None:
    release = next(c for c in COMMANDS if c.method == "ReleasePriceHold")
    args = argparse.Namespace(command=release, hold_id="h-1", note="checked", set=[])
    service, method, fields = fields_of(args)
    _, request, _ = build_request(service, method, fields)
    assert request == gw.ReleasePriceHoldRequest(hold_id="h-1", note="checked")

    holds = next(c for c in COMMANDS if c.method == "ListPriceHolds")
    args = argparse.Namespace(command=holds, note=None, set=["status=PRICE_HOLD_STATUS_OPEN"])
    _, request, _ = build_request(*fields_of(args))
    assert request == gw.ListPriceHoldsRequest(status=gw.PRICE_HOLD_STATUS_OPEN)

    args = argparse.Namespace(command=holds, note=None, set=["no_such_field=1"])
    with pytest.raises(AdminError, match="no_such_field"):
        build_request(*fields_of(args))
    with pytest.raises(AdminError, match="no RPC"):
        build_request("betmesh.gateway.v1.ConsensusGatewayService", "DropEverything", {})


def test_a_list_renders_as_a_table() -> None:
    response = gw.ListReplicaSetsResponse(
        replica_sets=[
            gw.ReplicaSetStatus(sport=sport_pb2.SPORT_FOOTBALL, quorum=2),
            gw.ReplicaSetStatus(sport=sport_pb2.SPORT_TENNIS, quorum=2),
        ]
    )
    text = render(response)
    assert text.splitlines()[0].split() == ["sport", "quorum"]
    assert "SPORT_FOOTBALL" in text and "(2 rows)" in text


def test_snapshot_jobs_run_here_with_their_own_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from launcher.admin import main

    with pytest.raises(SystemExit) as usage:
        main(["snapshots", "publish", "--help"])
    assert usage.value.code == 0
    assert "put" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["snapshots", "fit", "--help"])
    assert "--results" in capsys.readouterr().out

"""Launcher options that decide what runs, without starting anything."""

from __future__ import annotations

import argparse

import pytest

from launcher.cli import parse_replicas
from launcher.mesh import quote_specs


def test_per_sport_replicas_override_the_default() -> None:
    assert parse_replicas(3, ["tennis=1,basketball=0"]) == {
        "football": 3,
        "tennis": 1,
        "basketball": 0,
    }


@pytest.mark.parametrize("bad", ["cricket=2", "tennis", "tennis=many"])
def test_a_malformed_sport_replica_count_is_refused(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_replicas(3, [bad])


def test_each_quote_replica_has_its_sport_and_a_replica_id() -> None:
    specs = quote_specs({"football": 2, "tennis": 1})
    assert [
        (s.name, s.env["BETMESH_QUOTES_SPORT"], s.env["BETMESH_QUOTES_REPLICA_ID"]) for s in specs
    ] == [
        ("quotes-football-1", "football", "football-1"),
        ("quotes-football-2", "football", "football-2"),
        ("quotes-tennis-1", "tennis", "tennis-1"),
    ]
    assert {s.module for s in specs} == {"services.quotes"}


def test_an_edge_port_asked_for_is_kept_or_the_start_fails() -> None:
    import socket

    from launcher.cli import build_parser, config_from
    from launcher.mesh import MeshError, _listen

    default = config_from(build_parser().parse_args(["up"]))
    assert (default.edge_port, default.edge_port_strict) == (8080, False)
    asked = config_from(build_parser().parse_args(["up", "--edge-port", "8443"]))
    assert (asked.edge_port, asked.edge_port_strict) == (8443, True)

    taken = _listen(0)
    port = int(taken.getsockname()[1])
    try:
        moved = _listen(port)  # the default: another free port
        assert moved.getsockname()[1] != port
        moved.close()
        with pytest.raises(MeshError, match=f"port {port} is taken"):
            _listen(port, strict=True)
    finally:
        taken.close()
    assert isinstance(taken, socket.socket)


@pytest.mark.parametrize(
    "url", ["ws://127.0.0.1:8545", "wss://mainnet.infura.io/ws/v3/secret-key", "127.0.0.1:8545"]
)
def test_a_chain_url_the_oracle_cannot_speak_is_refused_before_anything_starts(url: str) -> None:
    """`betmesh up --chain-rpc-url ws://...` said only "No connection adapters were found",
    after starting the embedded servers."""
    from launcher.cli import build_parser, config_from

    with pytest.raises(SystemExit) as refused:
        config_from(build_parser().parse_args(["up", "--chain-rpc-url", url]))
    message = str(refused.value.code)
    assert message.startswith("--chain-rpc-url: ") and "only http:// and https://" in message
    assert "secret-key" not in message  # a provider URL's key is not printed
    ok = config_from(build_parser().parse_args(["up", "--chain-rpc-url", "https://node.test/k"]))
    assert ok.chain_rpc_urls == ("https://node.test/k",)

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

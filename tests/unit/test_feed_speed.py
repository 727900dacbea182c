"""A feed replayed faster than real time (the demo's simulator) gets live-bet delays shrunk by
the same factor: the delay covers a real feed's latency, measured in match time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launcher.cli import build_parser, config_from
from launcher.demo.client import attach
from launcher.mesh import MESH_FILE, SECRET_FILE, Mesh, MeshConfig
from service_runtime.settings import SettingsError
from services.bets.settings import BetsSettings

BASE = {"BETMESH_DATABASE_URL": "postgresql://x/y"}


def test_the_bets_delays_are_in_the_feeds_time() -> None:
    real = BetsSettings.from_env(BASE).rules
    assert real.live_delay_seconds == {"FOOTBALL": 6.0, "TENNIS": 3.0, "BASKETBALL": 4.0}
    assert real.default_live_delay_seconds == 6.0
    demo = BetsSettings.from_env({**BASE, "BETMESH_BETS_FEED_SPEED": "150"}).rules
    # To the millisecond (the stream announces the same figure in bet_delay_ms).
    assert demo.live_delay_seconds == {"FOOTBALL": 0.04, "TENNIS": 0.02, "BASKETBALL": 0.027}
    assert demo.default_live_delay_seconds == pytest.approx(0.04)
    named = BetsSettings.from_env(
        {
            **BASE,
            "BETMESH_BETS_FEED_SPEED": "2",
            "BETMESH_BETS_LIVE_DELAY_SECONDS": "football=8,tennis=5",
        }
    ).rules
    assert named.live_delay_seconds == {"FOOTBALL": 4.0, "TENNIS": 2.5}
    assert named.default_live_delay_seconds == 4.0  # a sport not named: the longest named
    for bad in ("0", "-3", "1e9", "fast"):
        with pytest.raises(SettingsError, match="BETMESH_BETS_FEED_SPEED"):
            BetsSettings.from_env({**BASE, "BETMESH_BETS_FEED_SPEED": bad})


def test_the_demo_starts_its_mesh_for_its_own_speed() -> None:
    parser = build_parser()
    assert config_from(parser.parse_args(["up"])).feed_speed == 1.0
    assert config_from(parser.parse_args(["up", "--feed-speed", "300"])).feed_speed == 300.0
    assert config_from(parser.parse_args(["demo"])).feed_speed == 150.0  # the demo's default
    assert config_from(parser.parse_args(["demo", "--speed", "40"])).feed_speed == 40.0
    both = ["demo", "--speed", "40", "--feed-speed", "1"]
    assert config_from(parser.parse_args(both)).feed_speed == 1.0
    # Only bets reads it, and only a feed faster (or slower) than real time sets it.
    assert "BETMESH_BETS_FEED_SPEED" not in Mesh(MeshConfig()).child_env()
    env = Mesh(MeshConfig(feed_speed=150.0)).child_env()
    assert env["BETMESH_BETS_FEED_SPEED"] == "150.0"
    assert BetsSettings.from_env({**env, **BASE}).rules.live_delay_seconds["TENNIS"] == 0.02


def test_a_demo_attached_to_a_mesh_knows_its_feed_speed(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text("s\n")
    record = {"services": {"bets": {"address": "127.0.0.1:1"}}, "feed_speed": 300.0}
    (tmp_path / MESH_FILE).write_text(json.dumps(record))
    assert attach(tmp_path).feed_speed == 300.0
    del record["feed_speed"]  # a mesh file from before the setting
    (tmp_path / MESH_FILE).write_text(json.dumps(record))
    assert attach(tmp_path).feed_speed == 1.0

"""The demo's bets never share an idempotency key, whichever placer (pre-match, live) makes them:
a reused key is refused by bets as DUPLICATED_REQUEST."""

from __future__ import annotations

import grpc

from launcher.demo.betting import Bookie
from launcher.demo.client import PlayerCredential
from launcher.demo.players import Player
from launcher.demo.state import DayState


class Channels:
    def channel(self, name: str) -> grpc.Channel:
        return grpc.insecure_channel("127.0.0.1:9")  # never connected: keys only


def test_two_placers_of_one_day_never_hand_out_the_same_key() -> None:
    state = DayState(run_id="abc123", speed=100.0)
    pre_match, live = Bookie(Channels(), state), Bookie(Channels(), state)  # type: ignore[arg-type]
    credential = PlayerCredential(player_id="p7", token="", expires_at=0.0)
    player = Player(7, credential, "Player 07", deposit_minor=0, stake_cap_minor=None)
    keys = [placer._key(player) for _ in range(50) for placer in (pre_match, live)]
    assert len(set(keys)) == len(keys)

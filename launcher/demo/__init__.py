"""The match-day demo, told only through the mesh's public gRPC APIs.

A week of fixtures across football, tennis and basketball priced through consensus; simulated
players signing up, setting their ANJ caps, depositing and betting singles and accumulators
(some refused, each for its reason); three matches played live side by side by the feed
simulator with suspensions and repricing; results seen by two sources, validated and put on
the local chain by the oracle; bets settled from the chain; a closing report.
"""

from launcher.demo.client import Target, attach
from launcher.demo.day import DEFAULT_PLAYERS, DEFAULT_SPEED, MIN_PLAYERS, DemoOptions, play

__all__ = [
    "DEFAULT_PLAYERS",
    "DEFAULT_SPEED",
    "MIN_PLAYERS",
    "DemoOptions",
    "Target",
    "attach",
    "play",
]

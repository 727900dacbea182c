"""Past results for the snapshot canary's back-test, from a results file (the fitting job's CSV
shape: kickoff_utc, home, away, ft_home, ft_away), read once and kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from betmesh.common.v1 import sport_pb2

from gateway.domain.canary import PastResult


class ResultsFiles:
    def __init__(self, files: Mapping[sport_pb2.Sport.ValueType, Path]) -> None:
        self.files = dict(files)
        self._read: dict[sport_pb2.Sport.ValueType, list[PastResult]] = {}

    def __call__(self, sport: sport_pb2.Sport.ValueType) -> Sequence[PastResult]:
        if sport not in self._read:
            path = self.files.get(sport)
            # Football only: the file's team names map to participant ids as the fit maps them.
            if path is None or sport != sport_pb2.SPORT_FOOTBALL:
                self._read[sport] = []
            else:
                # The fitting job's own reader, so names map to ids exactly as the fit maps
                # them; imported here, not at start: its package pulls in SciPy, which made the
                # gateway's start 40% slower for a file read once, if ever.
                from services.quotes.fitting.data import participant_id, read_results

                rows, _ = read_results(path)
                self._read[sport] = [
                    PastResult(
                        r.kickoff.timestamp(),
                        participant_id(r.home),
                        participant_id(r.away),
                        r.home_goals,
                        r.away_goals,
                    )
                    for r in rows
                ]
        return self._read[sport]

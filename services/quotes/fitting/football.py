"""Football from the data the project ships: every league in `data/football/`, one snapshot.

`fit_shipped()` fits the production model (market-implied expected goals where a match has
closing odds, its goals where it has none; see `snapshot.fit_ratings`) on every shipped match:

- `epl_2023_24.csv`: Premier League 2023/24 with closing 1X2 and over/under 2.5 odds;
- `results.csv`: Bundesliga, Serie A, Ligue 1 and Premier League 2022-23, and Premier League
  2023-24 again (results only: the odds file's rows take precedence for the same match).

One snapshot holds every league's teams: the rates of a match depend only on its two teams, so
leagues that never meet are fitted together without affecting each other's ratings, and share
the home advantage and rho (one pair per snapshot). An operator adds its own results and closing
odds with `fit_football(extra=[...])` (files of the epl_2023_24.csv shape; `python -m
services.quotes.refit --football-extra FILE`): its rows replace shipped rows of the same match
and extend the history; the snapshot's `fitted_at` is the day after the last match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from betmesh.quotes.v1 import snapshot_pb2

from services.quotes.fitting.data import MatchRow, participant_id, read_results
from services.quotes.fitting.snapshot import fit_football_snapshot

DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "football"
# (file, competition and season given to rows whose file does not say them)
SHIPPED_FILES: tuple[tuple[str, str, str], ...] = (
    ("epl_2023_24.csv", "Premier League", "2023-24"),
    ("results.csv", "", ""),
)


def _key(row: MatchRow) -> tuple[str, str, str]:
    # Local date vs UTC kick-off: every shipped kick-off is 11:30-20:00 UK time, so the UTC
    # date is the local one; two teams meet at most once a day.
    return row.kickoff.date().isoformat(), participant_id(row.home), participant_id(row.away)


def _labelled(rows: list[MatchRow], competition: str, season: str) -> list[MatchRow]:
    if not competition:
        return rows
    return [
        replace(r, competition=r.competition or competition, season=r.season or season)
        for r in rows
    ]


def football_rows(
    data_dir: Path = DATA_DIR, extra: Sequence[Path] = ()
) -> tuple[list[MatchRow], str]:
    """Every match of the shipped files then the operator's `extra` files, one row per match
    (a later file's row replaces an earlier one's, except that a row without odds never
    replaces one with odds), sorted by kick-off; and the digest of the inputs: sha256 over each
    file's name and own sha256, in order."""
    merged: dict[tuple[str, str, str], MatchRow] = {}
    manifest = hashlib.sha256()
    files = [(data_dir / name, competition, season) for name, competition, season in SHIPPED_FILES]
    files += [(Path(path), "", "") for path in extra]
    for path, competition, season in files:
        rows, digest = read_results(path)
        manifest.update(f"{path.name} {digest}\n".encode())
        for row in _labelled(rows, competition, season):
            key = _key(row)
            known = merged.get(key)
            kept = row
            if known is not None:
                # The same match again: a results-only row never replaces one with odds (nor
                # its kick-off time), and labels missing from a file are kept.
                base = known if known.odds_1x2 and not row.odds_1x2 else row
                kept = replace(
                    base,
                    competition=base.competition or known.competition or row.competition,
                    season=base.season or known.season or row.season,
                )
            merged[key] = kept
    rows = sorted(merged.values(), key=lambda r: (r.kickoff, r.home))
    return rows, "sha256:" + manifest.hexdigest()


def day_after(rows: Sequence[MatchRow]) -> datetime:
    last = max(r.kickoff for r in rows)
    day = (last + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def fit_football(
    data_dir: Path = DATA_DIR, extra: Sequence[Path] = (), as_of: datetime | None = None
) -> snapshot_pb2.ModelSnapshot:
    """The production football snapshot from the shipped files and the operator's extra ones,
    fitted on every match before `as_of` (default: the day after the last one)."""
    rows, digest = football_rows(data_dir, extra)
    return fit_football_snapshot(rows, as_of or day_after(rows), training_data_digest=digest)


def fit_shipped() -> snapshot_pb2.ModelSnapshot:
    """The football snapshot fitted on every league the project ships (deterministic: the same
    files give the same bytes, hence the same hash)."""
    return fit_football()


def teams_by_competition(
    data_dir: Path = DATA_DIR, extra: Sequence[Path] = ()
) -> dict[str, list[tuple[str, str]]]:
    """Each competition's teams of its latest season, as (participant id, name), sorted: who
    can meet whom (the demo's fixtures pair teams of one league)."""
    rows, _ = football_rows(data_dir, extra)
    latest: dict[str, str] = {}
    for row in rows:
        if row.competition:
            latest[row.competition] = max(latest.get(row.competition, ""), row.season)
    teams: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        if row.competition and row.season == latest[row.competition]:
            for name in (row.home, row.away):
                teams.setdefault(row.competition, set()).add((participant_id(name), name))
    return {competition: sorted(found) for competition, found in sorted(teams.items())}

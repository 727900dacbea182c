"""Results files: one row per match, in either of two shapes.

- betmesh's own (`data/football/epl_2023_24.csv`): `kickoff_utc, home, away, ft_home, ft_away`
  and, where the operator has them, closing market-average odds `avg_home, avg_draw, avg_away,
  avg_over_2_5, avg_under_2_5` (decimal). This is the shape an operator feeds its own market
  data in (docs in data/README.md).
- football-data.co.uk's (`data/football/results.csv`): `date, home_team, away_team, FTHG, FTAG`
  (optionally `league, season`); the date is local with no kick-off time, read as 00:00 UTC
  (so a fit "before" a day never sees that day's matches).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REQUIRED_COLUMNS = ("kickoff_utc", "home", "away", "ft_home", "ft_away")
FOOTBALL_DATA_COLUMNS = ("date", "home_team", "away_team", "FTHG", "FTAG")
ODDS_COLUMNS = ("avg_home", "avg_draw", "avg_away", "avg_over_2_5", "avg_under_2_5")


class ResultsFormatError(ValueError):
    """The file is not a results file of the expected shape."""


@dataclass(frozen=True)
class MatchRow:
    kickoff: datetime  # UTC, timezone-aware
    home: str
    away: str
    home_goals: int
    away_goals: int
    # Closing market-average decimal odds (1X2, then over/under 2.5); None where missing.
    odds_1x2: tuple[float, float, float] | None = None
    odds_total_2_5: tuple[float, float] | None = None
    # The league ("Premier League") and season ("2023-24") when the file says; "" otherwise.
    competition: str = ""
    season: str = ""
    # Shots on target (home, away) when the file has them (football-data's HST, AST).
    shots_on_target: tuple[int, int] | None = None


def participant_id(team: str) -> str:
    """'fb:<slug>': lower case, apostrophes dropped, other runs of non-alphanumerics -> '-'."""
    slug = re.sub(r"[^a-z0-9]+", "-", team.lower().replace("'", "")).strip("-")
    return f"fb:{slug}"


def parse_kickoff(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _odds(row: dict[str, str], columns: tuple[str, ...]) -> tuple[float, ...] | None:
    try:
        values = tuple(float(row[c]) for c in columns)
    except (KeyError, TypeError, ValueError):
        return None
    return values if all(v > 1.0 for v in values) else None


def parse_rows(lines: list[dict[str, str]]) -> list[MatchRow]:
    rows = []
    for number, row in enumerate(lines, start=2):
        try:
            home_goals, away_goals = int(row["ft_home"]), int(row["ft_away"])
            kickoff = parse_kickoff(row["kickoff_utc"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultsFormatError(f"line {number}: {exc}") from exc
        if home_goals < 0 or away_goals < 0 or not row["home"] or row["home"] == row["away"]:
            raise ResultsFormatError(f"line {number}: impossible result row")
        one_x_two = _odds(row, ODDS_COLUMNS[:3])
        totals = _odds(row, ODDS_COLUMNS[3:])
        rows.append(
            MatchRow(
                kickoff=kickoff,
                home=row["home"],
                away=row["away"],
                home_goals=home_goals,
                away_goals=away_goals,
                odds_1x2=(one_x_two[0], one_x_two[1], one_x_two[2]) if one_x_two else None,
                odds_total_2_5=(totals[0], totals[1]) if totals else None,
            )
        )
    rows.sort(key=lambda r: r.kickoff)
    return rows


def _shots(row: dict[str, str]) -> tuple[int, int] | None:
    try:
        home, away = int(row["HST"]), int(row["AST"])
    except (KeyError, TypeError, ValueError):
        return None
    return (home, away) if home >= 0 and away >= 0 else None


def parse_football_data_rows(lines: list[dict[str, str]]) -> list[MatchRow]:
    """football-data.co.uk rows (date, home_team, away_team, FTHG, FTAG[, league, season])."""
    rows = []
    for number, row in enumerate(lines, start=2):
        try:
            home_goals, away_goals = int(row["FTHG"]), int(row["FTAG"])
            kickoff = parse_kickoff(row["date"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultsFormatError(f"line {number}: {exc}") from exc
        home, away = row["home_team"], row["away_team"]
        if home_goals < 0 or away_goals < 0 or not home or home == away:
            raise ResultsFormatError(f"line {number}: impossible result row")
        rows.append(
            MatchRow(
                kickoff=kickoff,
                home=home,
                away=away,
                home_goals=home_goals,
                away_goals=away_goals,
                competition=row.get("league") or "",
                season=row.get("season") or "",
                shots_on_target=_shots(row),
            )
        )
    rows.sort(key=lambda r: r.kickoff)
    return rows


def read_results(path: str | Path) -> tuple[list[MatchRow], str]:
    """The rows (sorted by kick-off) and "sha256:<hex>" of the file's bytes, from a file of
    either shape (the header says which)."""
    data = Path(path).read_bytes()
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    fields = reader.fieldnames or []
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if all(c in fields for c in FOOTBALL_DATA_COLUMNS):
        return parse_football_data_rows(list(reader)), digest
    missing = [c for c in REQUIRED_COLUMNS if c not in fields]
    if missing:
        raise ResultsFormatError("missing columns: " + ", ".join(missing))
    return parse_rows(list(reader)), digest

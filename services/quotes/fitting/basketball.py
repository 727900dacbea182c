"""Basketball fitting: team ratings, pace and home advantage from game results.

The model priced by `services.quotes.domain.basketball` is additive in points:

    home points = mean_total / 2 + home.attack + away.defence + advantage / 2
    away points = mean_total / 2 + away.attack + home.defence - advantage / 2

so this job fits exactly that, by weighted ridge least squares on both teams' scores of every
past game (two equations a game):
- time decay: a game `d` days before the as-of date weighs exp(-xi * d), so a team's rating
  follows its form (trades, injuries) rather than its October;
- ridge: attack and defence are shrunk towards 0 (an average team) with weight `ridge`, in
  games' worth of evidence. It keeps early-season ratings sane (after three games a team is
  mostly average) and fixes the model's one degree of freedom per family (the minimum-norm
  solution has attack and defence each summing to 0, so the intercept is the league average);
- pace is what a team adds to the total: attack + defence (points scored plus conceded above
  average; fast teams have both high). The additive model carries it without a field of its
  own, and `team_pace` reads it back;
- neutral sites (two games in 2022-23) carry no advantage.

The sigmas of the final margin and total are the weighted residuals of those two combinations,
widened for the parameters fitted (in-sample residuals are smaller than a new game's error).
Scores in the data include overtime; the priced model sends regulation ties to overtime and
leaves overtime points inside the total's normal, as these sigmas do.

No look-ahead: `fit(games, as_of)` reads only games dated strictly before `as_of` (the data
has dates, not tip-off times, so a day's games are predicted from the days before it).
`fit_shipped()` fits the NBA 2022-23 season shipped in `data/basketball/` as of the day after
its last game. No redistributable NBA results after it exist, so an operator refits on its own:
`fit_basketball(extra=[...])` (`python -m services.quotes.refit --basketball-extra FILE`) adds
its results files, of the shipped file's columns (date, home_team, away_team, home_pts,
away_pts, neutral_site; the 538 columns may be empty), to the shipped season.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import snapshot_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.quotes.domain.snapshots import default_pricing_policy

SHIPPED_DATA = (
    Path(__file__).resolve().parents[3]
    / "data"
    / "basketball"
    / "nba_2022_23_fivethirtyeight_elo.csv"
)
MODEL_NAME = "normal-margin-total/ridge-points-1"

# Chosen by walk-forward over NBA 2022-23 (bench/quotes/basketball_quality.py --sensitivity
# shows the neighbourhood; the scores are flat around these values).
DEFAULT_XI = 0.01  # per day: a game 69 days old counts half
DEFAULT_RIDGE = 8.0  # games' worth of "average team" evidence per rating

# Prior sigmas (NBA-like) that a thin training set is blended with, as this many games' worth:
# after a handful of games the residuals alone say little about the spread of a new game.
PRIOR_MARGIN_SIGMA = 13.0
PRIOR_TOTAL_SIGMA = 19.0
PRIOR_SIGMA_GAMES = 20.0

REQUIRED_COLUMNS = ("date", "home_team", "away_team", "home_pts", "away_pts", "neutral_site")

# NBA three-letter codes (the data's) -> the team's name. Participant ids are "bb:" + the
# nickname's slug ("bb:celtics", "bb:trail-blazers"): nicknames are unique in the league and
# the ids stay those the demo and the live scripts already use.
NBA_TEAMS = {
    "ATL": ("Atlanta Hawks", "hawks"),
    "BKN": ("Brooklyn Nets", "nets"),
    "BOS": ("Boston Celtics", "celtics"),
    "CHA": ("Charlotte Hornets", "hornets"),
    "CHI": ("Chicago Bulls", "bulls"),
    "CLE": ("Cleveland Cavaliers", "cavaliers"),
    "DAL": ("Dallas Mavericks", "mavericks"),
    "DEN": ("Denver Nuggets", "nuggets"),
    "DET": ("Detroit Pistons", "pistons"),
    "GSW": ("Golden State Warriors", "warriors"),
    "HOU": ("Houston Rockets", "rockets"),
    "IND": ("Indiana Pacers", "pacers"),
    "LAC": ("Los Angeles Clippers", "clippers"),
    "LAL": ("Los Angeles Lakers", "lakers"),
    "MEM": ("Memphis Grizzlies", "grizzlies"),
    "MIA": ("Miami Heat", "heat"),
    "MIL": ("Milwaukee Bucks", "bucks"),
    "MIN": ("Minnesota Timberwolves", "timberwolves"),
    "NOP": ("New Orleans Pelicans", "pelicans"),
    "NYK": ("New York Knicks", "knicks"),
    "OKC": ("Oklahoma City Thunder", "thunder"),
    "ORL": ("Orlando Magic", "magic"),
    "PHI": ("Philadelphia 76ers", "76ers"),
    "PHX": ("Phoenix Suns", "suns"),
    "POR": ("Portland Trail Blazers", "trail-blazers"),
    "SAC": ("Sacramento Kings", "kings"),
    "SAS": ("San Antonio Spurs", "spurs"),
    "TOR": ("Toronto Raptors", "raptors"),
    "UTA": ("Utah Jazz", "jazz"),
    "WAS": ("Washington Wizards", "wizards"),
}


class GamesFormatError(ValueError):
    """The file is not a basketball results file of the expected shape."""


class NoTrainingData(ValueError):
    """No game was played before the as-of date."""


@dataclass(frozen=True)
class Game:
    day: date  # local date of the game, as published (no tip-off time)
    home: str  # team code
    away: str
    home_points: int
    away_points: int
    neutral: bool = False
    game_type: str = "regular"
    # FiveThirtyEight's pre-game home win probabilities (the quality reference); None if absent.
    elo_prob_home: float | None = None
    raptor_prob_home: float | None = None


def participant_id(code: str) -> str:
    team = NBA_TEAMS.get(code)
    return f"bb:{team[1]}" if team else f"bb:{code.lower()}"


def team_name(code: str) -> str:
    team = NBA_TEAMS.get(code)
    return team[0] if team else code


def _probability(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if 0.0 < value < 1.0 else None


def read_games(path: str | Path = SHIPPED_DATA) -> tuple[list[Game], str]:
    """The games (sorted by date) and "sha256:<hex>" of the file's bytes."""
    data = Path(path).read_bytes()
    reader = csv.DictReader(data.decode("utf-8-sig").splitlines())
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise GamesFormatError("missing columns: " + ", ".join(missing))
    games = []
    for number, row in enumerate(reader, start=2):
        try:
            game = Game(
                day=date.fromisoformat(row["date"]),
                home=row["home_team"],
                away=row["away_team"],
                home_points=int(row["home_pts"]),
                away_points=int(row["away_pts"]),
                neutral=row["neutral_site"] == "1",
                game_type=row.get("game_type") or "regular",
                elo_prob_home=_probability(row.get("elo_prob_home")),
                raptor_prob_home=_probability(row.get("raptor_prob_home")),
            )
        except (TypeError, ValueError) as exc:
            raise GamesFormatError(f"line {number}: {exc}") from exc
        # Basketball has no draws: a tied final score is a broken row, not a result.
        if (
            not game.home
            or game.home == game.away
            or min(game.home_points, game.away_points) < 0
            or game.home_points == game.away_points
        ):
            raise GamesFormatError(f"line {number}: impossible result row")
        games.append(game)
    games.sort(key=lambda g: g.day)
    return games, "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BasketballFit:
    teams: list[str]
    attack: np.ndarray  # points scored above average, per team
    defence: np.ndarray  # points conceded above average (positive: a weak defence)
    home_advantage: float  # points of margin at home against the same team away
    mean_total: float
    margin_sigma: float
    total_sigma: float
    games: int

    def index(self, team: str) -> int | None:
        try:
            return self.teams.index(team)
        except ValueError:
            return None

    def rating(self, team: str) -> tuple[float, float]:
        """(attack, defence); an unknown team is average."""
        i = self.index(team)
        return (0.0, 0.0) if i is None else (float(self.attack[i]), float(self.defence[i]))

    def team_pace(self, team: str) -> float:
        """What the team adds to a game's total above average (attack + defence)."""
        attack, defence = self.rating(team)
        return attack + defence

    def expected_points(self, home: str, away: str, neutral: bool = False) -> tuple[float, float]:
        home_attack, home_defence = self.rating(home)
        away_attack, away_defence = self.rating(away)
        advantage = 0.0 if neutral else self.home_advantage
        return (
            self.mean_total / 2 + home_attack + away_defence + advantage / 2,
            self.mean_total / 2 + away_attack + home_defence - advantage / 2,
        )


def decay_weights(days_before: np.ndarray, xi: float) -> np.ndarray:
    weights: np.ndarray = np.exp(-xi * days_before)
    return weights


def fit(
    games: Sequence[Game],
    as_of: date,
    xi: float = DEFAULT_XI,
    ridge: float = DEFAULT_RIDGE,
) -> BasketballFit:
    """Ratings from the games played strictly before `as_of` (nothing later is read)."""
    if xi < 0.0 or ridge <= 0.0:
        raise ValueError("xi must be >= 0 and ridge > 0")
    past = [g for g in games if g.day < as_of]
    if not past:
        raise NoTrainingData(f"no game before {as_of.isoformat()}")
    teams = sorted({g.home for g in past} | {g.away for g in past})
    index = {t: i for i, t in enumerate(teams)}
    n_teams, n_games = len(teams), len(past)
    # Columns: half the mean total, home advantage, attack per team, defence per team.
    columns = 2 + 2 * n_teams
    x = np.zeros((2 * n_games, columns))
    y = np.empty(2 * n_games)
    for k, g in enumerate(past):
        h, a = index[g.home], index[g.away]
        half = 0.0 if g.neutral else 0.5
        home_row, away_row = 2 * k, 2 * k + 1
        x[home_row, 0] = x[away_row, 0] = 1.0
        x[home_row, 1], x[away_row, 1] = half, -half
        x[home_row, 2 + h] = x[away_row, 2 + a] = 1.0
        x[home_row, 2 + n_teams + a] = x[away_row, 2 + n_teams + h] = 1.0
        y[home_row], y[away_row] = g.home_points, g.away_points
    days = np.array([(as_of - g.day).days for g in past], dtype=np.float64)
    w_game = decay_weights(days, xi)
    w = np.repeat(w_game, 2)
    penalty = np.full(columns, ridge)
    penalty[:2] = 0.0  # the league's level and the home advantage are not shrunk
    xtw = x.T * w
    gram = xtw @ x
    normal = gram + np.diag(penalty)
    beta = np.linalg.solve(normal, xtw @ y)
    # Effective number of parameters (trace of the ridge hat matrix).
    effective = float(np.trace(np.linalg.solve(normal, gram)))

    predicted = x @ beta
    pred_margin = predicted[0::2] - predicted[1::2]
    pred_total = predicted[0::2] + predicted[1::2]
    margins = y[0::2] - y[1::2]
    totals = y[0::2] + y[1::2]
    weight_sum = float(w_game.sum())
    n_eff = weight_sum**2 / float((w_game**2).sum())
    # Half the parameters explain margins (attack - defence contrasts), half totals; a new
    # game's error adds the parameters' own uncertainty: (1 + q) / (1 - q) both ways.
    q = min(0.5, effective / 2 / n_eff)
    inflate = (1 + q) / (1 - q)

    def sigma(residuals: np.ndarray, prior: float) -> float:
        mean_square = float((w_game * residuals**2).sum()) / weight_sum * inflate
        blended = (mean_square * weight_sum + prior**2 * PRIOR_SIGMA_GAMES) / (
            weight_sum + PRIOR_SIGMA_GAMES
        )
        return math.sqrt(blended)

    return BasketballFit(
        teams=teams,
        attack=beta[2 : 2 + n_teams].copy(),
        defence=beta[2 + n_teams :].copy(),
        home_advantage=float(beta[1]),
        mean_total=float(2 * beta[0]),
        margin_sigma=sigma(margins - pred_margin, PRIOR_MARGIN_SIGMA),
        total_sigma=sigma(totals - pred_total, PRIOR_TOTAL_SIGMA),
        games=n_games,
    )


def fit_snapshot(
    result: BasketballFit,
    as_of: date,
    training_data_digest: str = "",
    pricing_policy: snapshot_pb2.PricingPolicy | None = None,
) -> snapshot_pb2.ModelSnapshot:
    fitted_at = Timestamp()
    fitted_at.FromDatetime(datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC))
    return snapshot_pb2.ModelSnapshot(
        sport=sport_pb2.SPORT_BASKETBALL,
        model=MODEL_NAME,
        fitted_at=fitted_at,
        training_data_digest=training_data_digest,
        pricing_policy=pricing_policy or default_pricing_policy(),
        basketball=snapshot_pb2.BasketballParameters(
            teams=[
                snapshot_pb2.TeamRating(
                    participant_id=participant_id(team),
                    name=team_name(team),
                    attack=float(result.attack[i]),
                    defence=float(result.defence[i]),
                )
                for i, team in enumerate(result.teams)
            ],
            home_advantage_points=result.home_advantage,
            mean_total_points=result.mean_total,
            margin_sigma=result.margin_sigma,
            total_sigma=result.total_sigma,
        ),
    )


def fit_basketball_snapshot(
    games: Sequence[Game],
    as_of: date,
    xi: float = DEFAULT_XI,
    ridge: float = DEFAULT_RIDGE,
    *,
    training_data_digest: str = "",
    pricing_policy: snapshot_pb2.PricingPolicy | None = None,
) -> snapshot_pb2.ModelSnapshot:
    """A frozen basketball snapshot from the games before `as_of` (its `fitted_at`)."""
    return fit_snapshot(fit(games, as_of, xi, ridge), as_of, training_data_digest, pricing_policy)


def read_all(extra: Sequence[Path] = (), shipped: Path = SHIPPED_DATA) -> tuple[list[Game], str]:
    """The shipped games and the operator's, sorted by date, and the training data's digest (the
    shipped file's own digest when there is nothing extra). A game in two files (same day and
    teams) is taken from the later file: an operator's file corrects the shipped one."""
    games, digest = read_games(shipped)
    if not extra:
        return games, digest
    by_key = {(g.day, g.home, g.away): g for g in games}
    digests = [digest]
    for path in extra:
        more, more_digest = read_games(path)
        digests.append(more_digest)
        by_key.update({(g.day, g.home, g.away): g for g in more})
    combined = "sha256:" + hashlib.sha256("\n".join(digests).encode()).hexdigest()
    return sorted(by_key.values(), key=lambda g: g.day), combined


def fit_basketball(
    extra: Sequence[Path] = (), as_of: date | None = None
) -> snapshot_pb2.ModelSnapshot:
    """The basketball snapshot from the shipped season and the operator's results files, fitted
    on every game before `as_of` (default: the day after the last one)."""
    games, digest = read_all(extra)
    day = as_of or games[-1].day + timedelta(days=1)
    return fit_basketball_snapshot(games, day, training_data_digest=digest)


@cache
def shipped_fit() -> tuple[BasketballFit, date, str]:
    """The shipped season's fit as of the day after its last game, the as-of date, the digest."""
    games, digest = read_games(SHIPPED_DATA)
    as_of = games[-1].day + timedelta(days=1)
    return fit(games, as_of), as_of, digest


def fit_shipped() -> snapshot_pb2.ModelSnapshot:
    """The basketball snapshot fitted on the data the repository ships (NBA 2022-23)."""
    result, as_of, digest = shipped_fit()
    return fit_snapshot(result, as_of, digest)

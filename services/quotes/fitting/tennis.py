"""Tennis fitting: per-player serve and return point-win rates by surface, from match statistics.

The pricing (`services/quotes/domain/tennis.py`) takes each player's serve-point win s and
return-point win r against an average opponent and combines them additively (Barnett & Clarke
2005): p_AB = s_A - (r_B - r_avg). This job fits exactly that model, so that the pricing gets
the inputs it assumes:

    y(A serves to B on surface S) = mu_S + a_A + a_A,S - b_B - b_B,S

y being the share of A's service points A won in one match. It is a weighted ridge regression
(Kovalchik 2016 compares such opponent-adjusted point models; ours is the additive one):
- weights: each match counts its service points (a 140-point match says more than a 50-point
  one) times a time decay exp(-xi * days before as_of);
- shrinkage: a_A, b_A (the player on every surface) are pulled towards 0, the tour mean, with a
  prior worth `player_prior_points` service points; a_A,S, b_A,S (the player's surface
  deviation) towards 0, i.e. the player's all-surface rate, with `surface_prior_points`. A player
  with a few matches is priced near the tour, a player with few clay matches near their
  all-surface rate;
- opponent adjustment: a qualifier who served well against other qualifiers is not rated as a
  top-ten server, because b of those opponents is in the same fit.

No look-ahead: the source has no match dates, only the tournament's start and end, so a match
counts as known at midnight (UTC) after its tournament's last day, and a fit as of T reads only
matches known at or before T (a Grand Slam's first round is not known until the Slam ends).

The level of r is not identified by the pricing (shifting every b and mu_S by the same amount
changes no p_AB), and the pricing takes r_avg as the plain mean over the snapshot's players. The
snapshot is therefore written with that mean as the reference: mu_S and every b are shifted so
that the snapshot players' b average 0, which makes the pricing's p_AB equal to the fit's.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import snapshot_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from numpy.typing import NDArray
from scipy.sparse import coo_matrix, csr_matrix, diags
from scipy.sparse.linalg import cg

from services.quotes.domain.snapshots import default_pricing_policy

Array = NDArray[np.float64]

SHIPPED_MATCHES = (
    Path(__file__).resolve().parents[3] / "data" / "tennis" / "atp_2022_matches_serve_stats.csv"
)
MODEL_NAME = "serve-return-ridge-markov/1"
SURFACES = ("hard", "clay", "grass")
SURFACE_ENUM = {
    "hard": sport_pb2.TENNIS_SURFACE_HARD,
    "clay": sport_pb2.TENNIS_SURFACE_CLAY,
    "grass": sport_pb2.TENNIS_SURFACE_GRASS,
}

# Chosen by walk-forward on January-June 2022 only (docs/benchmarks.md, "Tennis model quality").
DEFAULT_XI = 0.005  # per day: a match 139 days old counts half
DEFAULT_PLAYER_PRIOR_POINTS = 600.0  # about ten matches' service points
DEFAULT_SURFACE_PRIOR_POINTS = 5000.0
# Only to keep a surface with no matches yet identified (it then sits at the overall mean);
# a surface's tens of thousands of points outweigh it at once.
_SURFACE_MEAN_PRIOR_POINTS = 100.0
_SECONDS_PER_DAY = 86_400.0

REQUIRED_COLUMNS = (
    "tourney_id",
    "tourney_name",
    "tourney_type",
    "surface",
    "tourney_start",
    "tourney_end",
    "round",
    "best_of",
    "winner_name",
    "winner_id",
    "loser_name",
    "loser_id",
    "outcome",
    "w_svpt",
    "w_svpt_won",
    "l_svpt",
    "l_svpt_won",
)
# Order of rounds within a tournament (the source has no match times).
ROUND_ORDER = {
    "1st Round Qualifying": 0,
    "2nd Round Qualifying": 1,
    "3rd Round Qualifying": 2,
    "Round Robin": 3,
    "Round of 128": 4,
    "Round of 64": 5,
    "Round of 32": 6,
    "Round of 16": 7,
    "Quarter-Finals": 8,
    "Semi-Finals": 9,
    "Finals": 10,
}


class MatchesFormatError(ValueError):
    """The file is not a tennis match file of the expected shape."""


class NoTrainingData(ValueError):
    """No match with serve statistics was known by the as-of time."""


@dataclass(frozen=True)
class TennisMatch:
    tourney_id: str
    tourney_name: str
    tourney_type: str
    surface: str  # one of SURFACES
    start: date
    end: date
    round: str
    best_of: int
    winner_id: str
    winner_name: str
    loser_id: str
    loser_name: str
    outcome: str  # completed / retired / walkover / default
    # Service points played and won by each side; None where the source has no statistics.
    w_svpt: int | None
    w_svpt_won: int | None
    l_svpt: int | None
    l_svpt_won: int | None

    @property
    def known_at(self) -> datetime:
        """When the match is certainly over: midnight UTC after its tournament's last day."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=UTC)

    @property
    def has_stats(self) -> bool:
        return bool(self.w_svpt and self.l_svpt) and self.outcome != "walkover"


@lru_cache(maxsize=4096)
def participant_id(name: str) -> str:
    """'tn:<slug>' of the player's name (the names of the shipped set are unique)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower().replace("'", "")).strip("-")
    return f"tn:{slug}"


def _count(text: str) -> int | None:
    return int(text) if text.strip() else None


def parse_matches(lines: Sequence[dict[str, str]]) -> list[TennisMatch]:
    matches = []
    for number, row in enumerate(lines, start=2):
        try:
            missing = [c for c in REQUIRED_COLUMNS if c not in row]
            if missing:
                raise MatchesFormatError(f"missing columns {', '.join(missing)}")
            surface = row["surface"].strip().lower()
            if surface not in SURFACES:
                raise MatchesFormatError(f"unknown surface {row['surface']!r}")
            match = TennisMatch(
                tourney_id=row["tourney_id"],
                tourney_name=row["tourney_name"],
                tourney_type=row["tourney_type"],
                surface=surface,
                start=date.fromisoformat(row["tourney_start"]),
                end=date.fromisoformat(row["tourney_end"]),
                round=row["round"],
                best_of=int(row["best_of"]),
                winner_id=row["winner_id"],
                winner_name=row["winner_name"],
                loser_id=row["loser_id"],
                loser_name=row["loser_name"],
                outcome=row["outcome"],
                w_svpt=_count(row["w_svpt"]),
                w_svpt_won=_count(row["w_svpt_won"]),
                l_svpt=_count(row["l_svpt"]),
                l_svpt_won=_count(row["l_svpt_won"]),
            )
        except (TypeError, ValueError) as exc:
            raise MatchesFormatError(f"line {number}: {exc}") from exc
        if not match.winner_name or match.winner_name == match.loser_name:
            raise MatchesFormatError(f"line {number}: impossible players")
        for played, won in ((match.w_svpt, match.w_svpt_won), (match.l_svpt, match.l_svpt_won)):
            if played is not None and (won is None or not 0 <= won <= played):
                raise MatchesFormatError(f"line {number}: service points won outside 0..played")
        matches.append(match)
    matches.sort(key=lambda m: (m.start, m.end, m.tourney_id, ROUND_ORDER.get(m.round, 99)))
    return matches


def read_matches(path: str | Path = SHIPPED_MATCHES) -> tuple[list[TennisMatch], str]:
    """The matches (by tournament, then round) and "sha256:<hex>" of the file's bytes."""
    data = Path(path).read_bytes()
    lines = list(csv.DictReader(data.decode("utf-8").splitlines()))
    return parse_matches(lines), "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class TennisFit:
    """Fitted rates, already referred to the mean over `players` (see the module docstring):
    against the average of these players, player i serves with serve[S][i] and returns with
    return_[S][i]; p(i serves to j) = serve[S][i] - (return_[S][j] - mean(return_[S]))."""

    players: tuple[str, ...]  # participant ids, sorted
    names: tuple[str, ...]
    serve: dict[str, Array]  # surface -> per player
    return_: dict[str, Array]
    serve_mean: dict[str, float]  # surface -> mu_S: the serve-point win of two average players
    return_shift: dict[str, float]  # surface -> c, the shift that referred b to these players
    service_points: Array  # decayed service points each player's rates rest on (all surfaces)
    as_of: datetime
    xi: float

    def index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.players)}

    def newcomer(self, surface: str) -> tuple[float, float]:
        """Serve and return rates of a player the fit has never seen (a and b at their prior,
        0), on the same reference as the fitted players'."""
        mu = self.serve_mean[surface]
        return mu, 1.0 - mu + self.return_shift[surface]


def decay(known_at: datetime, as_of: datetime, xi: float) -> float:
    days = (as_of - known_at).total_seconds() / _SECONDS_PER_DAY
    return float(np.exp(-xi * days))


def fit_rates(
    matches: Sequence[TennisMatch],
    as_of: datetime,
    xi: float = DEFAULT_XI,
    player_prior_points: float = DEFAULT_PLAYER_PRIOR_POINTS,
    surface_prior_points: float = DEFAULT_SURFACE_PRIOR_POINTS,
) -> TennisFit:
    """The rates from matches known at or before `as_of` (nothing later is read).

    Every player of a known match is rated, including those whose matches have no statistics
    (walkovers, unpublished stats): with no points of their own they sit at the tour mean."""
    if xi < 0 or player_prior_points <= 0 or surface_prior_points <= 0:
        raise ValueError("xi must be >= 0 and the prior weights > 0")
    known = [m for m in matches if m.known_at <= as_of]
    observed = [m for m in known if m.has_stats]
    if not observed:
        raise NoTrainingData(f"no match with statistics known by {as_of.isoformat()}")
    names: dict[str, str] = {}
    for m in known:
        names.setdefault(participant_id(m.winner_name), m.winner_name)
        names.setdefault(participant_id(m.loser_name), m.loser_name)
    players = tuple(sorted(names))
    index = {p: i for i, p in enumerate(players)}
    n, n_surfaces = len(players), len(SURFACES)
    surface_index = {s: k for k, s in enumerate(SURFACES)}

    # Columns: d_S (surface mean offsets), a_i, b_i, a_i,S, b_i,S.
    col_a, col_b = n_surfaces, n_surfaces + n
    col_as, col_bs = n_surfaces + 2 * n, n_surfaces + 2 * n + n_surfaces * n
    size = n_surfaces + 2 * n + 2 * n_surfaces * n

    rows_y: list[float] = []
    rows_w: list[float] = []
    cols: list[list[int]] = []
    signs = [1.0, 1.0, 1.0, -1.0, -1.0]
    for m in observed:
        w_decay = decay(m.known_at, as_of, xi)
        k = surface_index[m.surface]
        winner, loser = index[participant_id(m.winner_name)], index[participant_id(m.loser_name)]
        sides = (
            (winner, loser, m.w_svpt, m.w_svpt_won),
            (loser, winner, m.l_svpt, m.l_svpt_won),
        )
        for server, returner, played, won in sides:
            assert played is not None and won is not None  # has_stats
            rows_y.append(won / played)
            rows_w.append(played * w_decay)
            cols.append(
                [
                    k,
                    col_a + server,
                    col_as + k * n + server,
                    col_b + returner,
                    col_bs + k * n + returner,
                ]
            )
    y = np.array(rows_y)
    w = np.array(rows_w)
    overall = float(np.average(y, weights=w))
    obs = len(rows_y)
    design = coo_matrix(
        (
            np.tile(signs, obs),
            (np.repeat(np.arange(obs), len(signs)), np.array(cols).ravel()),
        ),
        shape=(obs, size),
    ).tocsr()
    penalty = np.concatenate(
        [
            np.full(n_surfaces, _SURFACE_MEAN_PRIOR_POINTS),
            np.full(2 * n, player_prior_points),
            np.full(2 * n_surfaces * n, surface_prior_points),
        ]
    )
    weighted = design.T.multiply(w).tocsr()
    normal = (weighted @ design + diags(penalty)).tocsr()
    theta = _solve(normal, np.asarray(weighted @ (y - overall), dtype=np.float64))

    d = theta[:n_surfaces]
    a, b = theta[col_a:col_b], theta[col_b:col_as]
    a_s = theta[col_as:col_bs].reshape(n_surfaces, n)
    b_s = theta[col_bs:].reshape(n_surfaces, n)
    serve: dict[str, Array] = {}
    return_: dict[str, Array] = {}
    serve_mean: dict[str, float] = {}
    return_shift: dict[str, float] = {}
    for s, k in surface_index.items():
        b_total = b + b_s[k]
        # Refer the return level to the plain mean over these players (the pricing's r_avg):
        # b -> b + c with mu -> mu + c leaves every p_AB unchanged.
        c = -float(b_total.mean())
        mu = overall + float(d[k]) + c
        serve[s] = mu + a + a_s[k]
        return_[s] = 1.0 - mu + b_total + c
        serve_mean[s] = mu
        return_shift[s] = c
    points = np.zeros(n)
    for m in observed:
        w_decay = decay(m.known_at, as_of, xi)
        assert m.w_svpt is not None and m.l_svpt is not None
        points[index[participant_id(m.winner_name)]] += m.w_svpt * w_decay
        points[index[participant_id(m.loser_name)]] += m.l_svpt * w_decay
    return TennisFit(
        players,
        tuple(names[p] for p in players),
        serve,
        return_,
        serve_mean,
        return_shift,
        points,
        as_of,
        xi,
    )


def _solve(normal: csr_matrix, rhs: Array) -> Array:
    """The ridge normal equations by preconditioned conjugate gradients: symmetric positive
    definite (every column has its prior) and sparse, where a direct sparse solve fills in
    (0.6 s against 0.08 s for the whole season)."""
    jacobi = diags(1.0 / normal.diagonal())
    theta, info = cg(normal, rhs, rtol=1e-12, atol=0.0, M=jacobi, maxiter=10 * len(rhs))
    if info != 0:
        raise ArithmeticError(f"the rating equations did not converge (cg info {info})")
    return np.asarray(theta, dtype=np.float64)


def fit_snapshot(
    fit: TennisFit,
    surface: str,
    training_data_digest: str = "",
    pricing_policy: snapshot_pb2.PricingPolicy | None = None,
) -> snapshot_pb2.ModelSnapshot:
    """The snapshot for one surface: ATP rules (tiebreak at 6-6, a 7-point one in the final
    set; Grand Slams play a 10-point one there, which a Slam's own snapshot would set)."""
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}; one of {', '.join(SURFACES)}")
    fitted_at = Timestamp()
    fitted_at.FromDatetime(fit.as_of)
    return snapshot_pb2.ModelSnapshot(
        sport=sport_pb2.SPORT_TENNIS,
        model=MODEL_NAME,
        fitted_at=fitted_at,
        training_data_digest=training_data_digest,
        pricing_policy=pricing_policy or default_pricing_policy(),
        tennis=snapshot_pb2.TennisParameters(
            players=[
                snapshot_pb2.PlayerRating(
                    participant_id=pid,
                    name=name,
                    serve_point_win=float(fit.serve[surface][i]),
                    return_point_win=float(fit.return_[surface][i]),
                )
                for i, (pid, name) in enumerate(zip(fit.players, fit.names, strict=True))
            ],
            tiebreak_at_games=6,
            final_set_tiebreak=True,
            final_set_tiebreak_points=7,
            surface=SURFACE_ENUM[surface],
            time_decay_xi=fit.xi,
        ),
    )


def fit_tennis_snapshots(
    matches: Sequence[TennisMatch],
    as_of: datetime,
    xi: float = DEFAULT_XI,
    *,
    training_data_digest: str = "",
    player_prior_points: float = DEFAULT_PLAYER_PRIOR_POINTS,
    surface_prior_points: float = DEFAULT_SURFACE_PRIOR_POINTS,
) -> dict[str, snapshot_pb2.ModelSnapshot]:
    """One snapshot per surface (hard, clay, grass) from the matches known by `as_of`."""
    fit = fit_rates(matches, as_of, xi, player_prior_points, surface_prior_points)
    return {s: fit_snapshot(fit, s, training_data_digest) for s in SURFACES}


def shipped_as_of(matches: Sequence[TennisMatch]) -> datetime:
    """Every match of the file known: midnight after the last tournament's last day."""
    return max(m.known_at for m in matches)


def fit_shipped_surfaces() -> dict[str, snapshot_pb2.ModelSnapshot]:
    """The shipped ATP 2022 set fitted as of its end, one snapshot per surface."""
    matches, digest = read_matches(SHIPPED_MATCHES)
    return fit_tennis_snapshots(matches, shipped_as_of(matches), training_data_digest=digest)


def fit_shipped() -> snapshot_pb2.ModelSnapshot:
    """The hard-court snapshot of the shipped set (most of the tour, and the season's end, is on
    hard courts): a fixture naming no surface prices from it; `fit_shipped_all` has them all."""
    return fit_shipped_surfaces()["hard"]


def fit_shipped_all() -> list[snapshot_pb2.ModelSnapshot]:
    """Every surface's snapshot of the shipped set, stored at a replica's start so that a clay
    or grass fixture prices from its own surface's fit; the hard-court one last (the newest)."""
    surfaces = fit_shipped_surfaces()
    return [surfaces[s] for s in SURFACES if s != "hard"] + [surfaces["hard"]]

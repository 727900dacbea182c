"""Football, second engine: the Dixon-Coles score grid evaluated directly, markets from marginals.

Specification (shared with the reference engine, `football.py` / `football_markets.py` /
`inplay.py`): home goals ~ Poisson(exp(attack_h + defence_a + advantage)), away goals ~
Poisson(exp(attack_a + defence_h)), each truncated at max_goals, the joint cell (i, j)
multiplied by Dixon-Coles' tau(i, j) and the grid renormalised to 1. In play the rates are
scaled by the share of regular time left and by 0.70 / 1.20 per red card (own / opponent),
rho applies to the remaining goals, and a side whose rate is 0 scores no more (no tau then,
each pmf renormalised on its own); the final grid is the remaining one shifted by the score.
Each selection's effective probability is gain / (gain + loss) over its settlement outcomes
(half stakes on quarter lines), 0 when it cannot gain.

How this engine computes it (independently of the reference): pmfs by the product recursion,
the grid as nested Python lists, then the marginals of goal difference, total goals and each
side's goals, from which every line market is settled as a 1-D sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from service_runtime.errors import FailedPrecondition
from services.quotes.domain.markets import MarketProbabilities, SelectionProbability

MT = market_pb2.MarketType
RED_OWN, RED_OPPONENT = 0.70, 1.20
REGULATION = 90 * 60
CORRECT_SCORE_CAP = 5
TOTAL_LINES = range(50, 551, 25)
HANDICAP_LINES = range(-300, 301, 25)
TEAM_LINES = (50, 150, 250, 350)

Grid = list[list[float]]


def poisson_pmf(rate: float, top: int) -> list[float]:
    """P(N = k), k = 0..top, by p(k) = p(k-1) * rate / k."""
    values = [math.exp(-rate)]
    for k in range(1, top + 1):
        values.append(values[-1] * rate / k)
    return values


def _tau(i: int, j: int, home: float, away: float, rho: float) -> float:
    if i == 0 and j == 0:
        return 1.0 - home * away * rho
    if i == 0 and j == 1:
        return 1.0 + home * rho
    if i == 1 and j == 0:
        return 1.0 + away * rho
    if i == 1 and j == 1:
        return 1.0 - rho
    return 1.0


def score_grid(home: float, away: float, rho: float, top: int) -> Grid:
    if home > 0.0 and away > 0.0:
        # A negative tau is a negative "probability": the parameters are outside the model's
        # domain and are refused, as the reference engine refuses them (never clipped).
        if min(_tau(i, j, home, away, rho) for i in (0, 1) for j in (0, 1)) < 0.0:
            raise FailedPrecondition(
                "INVALID_SCORE_GRID",
                f"rho {rho:.6g} with expected goals {home:.6g} and {away:.6g} makes a "
                "Dixon-Coles score probability negative",
            )
        ph, pa = poisson_pmf(home, top), poisson_pmf(away, top)
        grid = [
            [ph[i] * pa[j] * _tau(i, j, home, away, rho) for j in range(top + 1)]
            for i in range(top + 1)
        ]
        total = math.fsum(math.fsum(row) for row in grid)
        return [[cell / total for cell in row] for row in grid]

    def alone(rate: float) -> list[float]:
        if rate <= 0.0:
            return [1.0] + [0.0] * top
        pmf = poisson_pmf(rate, top)
        total = math.fsum(pmf)
        return [x / total for x in pmf]

    ph, pa = alone(home), alone(away)
    return [[ph[i] * pa[j] for j in range(top + 1)] for i in range(top + 1)]


def time_left(state: game_state_pb2.GameState) -> float:
    regulation = float(state.football.regulation_seconds or REGULATION)
    if state.period == 0:
        return 1.0
    if state.period > 2:
        return 0.0
    # The current half's window of the game clock; the clock is read clamped into it.
    start, end = (0.0, regulation / 2) if state.period == 1 else (regulation / 2, regulation)
    clock = min(max(float(state.elapsed_seconds), start), end)
    return (regulation - clock) / regulation


def final_grid(
    home: float, away: float, rho: float, top: int, state: game_state_pb2.GameState | None
) -> Grid:
    if state is None:
        return score_grid(home, away, rho, top)
    left = time_left(state)
    s = state.football
    home_left = home * left * RED_OWN**s.home_red_cards * RED_OPPONENT**s.away_red_cards
    away_left = away * left * RED_OWN**s.away_red_cards * RED_OPPONENT**s.home_red_cards
    rest = score_grid(home_left, away_left, rho, top)
    h, a = s.home_goals, s.away_goals
    if h == 0 and a == 0:
        return rest
    size = top + 1 + max(h, a)
    grid = [[0.0] * size for _ in range(size)]
    for i in range(top + 1):
        for j in range(top + 1):
            grid[h + i][a + j] = rest[i][j]
    return grid


def _line_text(line_e2: int, signed: bool = False) -> str:
    sign = "-" if line_e2 < 0 else ("+" if signed and line_e2 > 0 else "")
    whole, frac = divmod(abs(line_e2), 100)
    return sign + (str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0"))


def _over(marginal: dict[int, float], line_e2: int) -> tuple[float, float]:
    """Gain and loss weights of backing value > line, half a stake on each half line."""
    halves = (line_e2 - 25, line_e2 + 25) if line_e2 % 50 == 25 else (line_e2, line_e2)
    gain = loss = 0.0
    for half in halves:
        gain += 0.5 * math.fsum(p for v, p in marginal.items() if v * 100 > half)
        loss += 0.5 * math.fsum(p for v, p in marginal.items() if v * 100 < half)
    return gain, loss


def _effective(gain: float, loss: float) -> float:
    return gain / (gain + loss) if gain > 0.0 else 0.0


def _two(
    market_type: MT.ValueType,
    title: str,
    ids: tuple[str, str],
    names: tuple[str, str],
    gain: float,
    loss: float,
    line_e2: int | None = None,
    side: sport_pb2.Side.ValueType = sport_pb2.SIDE_UNSPECIFIED,
) -> MarketProbabilities:
    return MarketProbabilities(
        market_type,
        title,
        [
            SelectionProbability(ids[0], names[0], _effective(gain, loss)),
            SelectionProbability(ids[1], names[1], _effective(loss, gain)),
        ],
        line_e2,
        side,
    )


def markets_from_grid(
    grid: Grid, home_name: str, away_name: str, wanted: Sequence[MT.ValueType]
) -> list[MarketProbabilities]:
    size = len(grid)
    cells = [(i, j, grid[i][j]) for i in range(size) for j in range(size)]
    difference: dict[int, float] = {}
    total: dict[int, float] = {}
    home_goals: dict[int, float] = {}
    away_goals: dict[int, float] = {}
    for i, j, p in cells:
        difference[i - j] = difference.get(i - j, 0.0) + p
        total[i + j] = total.get(i + j, 0.0) + p
        home_goals[i] = home_goals.get(i, 0.0) + p
        away_goals[j] = away_goals.get(j, 0.0) + p
    mass = math.fsum(p for _, _, p in cells)
    home_win = math.fsum(p for d, p in difference.items() if d > 0)
    away_win = math.fsum(p for d, p in difference.items() if d < 0)
    draw = difference.get(0, 0.0)
    out: list[MarketProbabilities] = []
    want = set(wanted)

    def plain(p: float) -> float:
        return _effective(p, mass - p)

    if market_pb2.MARKET_TYPE_MATCH_RESULT in want:
        out.append(
            MarketProbabilities(
                market_pb2.MARKET_TYPE_MATCH_RESULT,
                "Match result",
                [
                    SelectionProbability("home", home_name, plain(home_win)),
                    SelectionProbability("draw", "Draw", plain(draw)),
                    SelectionProbability("away", away_name, plain(away_win)),
                ],
            )
        )
    if market_pb2.MARKET_TYPE_DOUBLE_CHANCE in want:
        out.append(
            MarketProbabilities(
                market_pb2.MARKET_TYPE_DOUBLE_CHANCE,
                "Double chance",
                [
                    SelectionProbability("1X", f"{home_name} or draw", plain(home_win + draw)),
                    SelectionProbability(
                        "12", f"{home_name} or {away_name}", plain(home_win + away_win)
                    ),
                    SelectionProbability("X2", f"Draw or {away_name}", plain(draw + away_win)),
                ],
                extra={"probability_sum": "2"},
            )
        )
    if market_pb2.MARKET_TYPE_DRAW_NO_BET in want:
        out.append(
            _two(
                market_pb2.MARKET_TYPE_DRAW_NO_BET,
                "Draw no bet",
                ("home", "away"),
                (home_name, away_name),
                home_win,
                away_win,
            )
        )
    if market_pb2.MARKET_TYPE_TOTAL_GOALS in want:
        for line in TOTAL_LINES:
            text = _line_text(line)
            gain, loss = _over(total, line)
            out.append(
                _two(
                    market_pb2.MARKET_TYPE_TOTAL_GOALS,
                    f"Total goals {text}",
                    ("over", "under"),
                    (f"Over {text}", f"Under {text}"),
                    gain,
                    loss,
                    line,
                )
            )
    if market_pb2.MARKET_TYPE_BOTH_TEAMS_TO_SCORE in want:
        both = math.fsum(p for i, j, p in cells if i > 0 and j > 0)
        out.append(
            MarketProbabilities(
                market_pb2.MARKET_TYPE_BOTH_TEAMS_TO_SCORE,
                "Both teams to score",
                [
                    SelectionProbability("yes", "Yes", plain(both)),
                    SelectionProbability("no", "No", plain(mass - both)),
                ],
            )
        )
    if market_pb2.MARKET_TYPE_ASIAN_HANDICAP in want:
        for line in HANDICAP_LINES:
            # Home covers when difference + line > 0, i.e. difference > -line.
            gain, loss = _over(difference, -line)
            signed, opposite = _line_text(line, True), _line_text(-line, True)
            out.append(
                _two(
                    market_pb2.MARKET_TYPE_ASIAN_HANDICAP,
                    f"Asian handicap {signed}",
                    ("home", "away"),
                    (f"{home_name} {signed}", f"{away_name} {opposite}"),
                    gain,
                    loss,
                    line,
                )
            )
    if market_pb2.MARKET_TYPE_CORRECT_SCORE in want:
        cap = min(CORRECT_SCORE_CAP, size - 1)
        selections = [
            SelectionProbability(f"{i}-{j}", f"{i}-{j}", plain(grid[i][j]))
            for i in range(cap + 1)
            for j in range(cap + 1)
        ]
        other = math.fsum(p for i, j, p in cells if i > cap or j > cap)
        selections.append(SelectionProbability("other", "Any other score", plain(other)))
        out.append(
            MarketProbabilities(market_pb2.MARKET_TYPE_CORRECT_SCORE, "Correct score", selections)
        )
    if market_pb2.MARKET_TYPE_TEAM_TOTAL_GOALS in want:
        for side, goals, team in (
            (sport_pb2.SIDE_HOME, home_goals, home_name),
            (sport_pb2.SIDE_AWAY, away_goals, away_name),
        ):
            for line in TEAM_LINES:
                text = _line_text(line)
                gain, loss = _over(goals, line)
                out.append(
                    _two(
                        market_pb2.MARKET_TYPE_TEAM_TOTAL_GOALS,
                        f"{team} total goals {text}",
                        ("over", "under"),
                        (f"Over {text}", f"Under {text}"),
                        gain,
                        loss,
                        line,
                        side,
                    )
                )
    return out


def model(
    fixture: sport_pb2.Fixture,
    snapshot: snapshot_pb2.ModelSnapshot,
    home: snapshot_pb2.TeamRating,
    away: snapshot_pb2.TeamRating,
    top: int,
    wanted: Sequence[MT.ValueType],
    state: game_state_pb2.GameState | None,
) -> list[MarketProbabilities]:
    params = snapshot.football
    advantage = 0.0 if fixture.neutral_venue else params.home_advantage
    home_rate = math.exp(home.attack + away.defence + advantage)
    away_rate = math.exp(away.attack + home.defence)
    grid = final_grid(home_rate, away_rate, params.rho, top, state)
    return markets_from_grid(
        grid, fixture.home.name or home.name, fixture.away.name or away.name, wanted
    )
